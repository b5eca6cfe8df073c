"""Mutation testing of the core modules with mutmut 3 (`make mutation`; not part of `make test`).

Each target below is one row of TARGETS: the package mutmut copies, the modules in it to mutate, and
the tests that exercise them. A target runs in its own staging folder (mutation/.work/NAME/, links
to the repository plus a generated setup.cfg), so targets do not share mutmut's state and the
working tree is never touched. Adding a target is adding a row.

Printed at the end, one line per module and one per target::

    rules/morile/scoring.py: 402/410 = 98.0% (3 equivalent excluded)

Killed counts what a test caught (failure, timeout, crash); the total leaves out the equivalent mutants
listed in mutation/equivalents.txt (no behaviour change, one line each with its reason). Survivors,
with their diffs, are written to mutation/out/survivors.txt; the figures to mutation/out/scores.txt.

    python mutation/run.py [TARGET ...] [--max-children N] [--keep] [--report]

``--keep`` reuses a previous run's mutants folder (mutmut then only re-tests what changed); without it
every run starts afresh, which is what the printed time measures. ``--report`` runs nothing and prints
the last run's figures again, counted against mutation/equivalents.txt as it is now.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
OUT = HERE / "out"
EQUIVALENTS = HERE / "equivalents.txt"
# Everything a test may import: linked into each staging folder (mutmut copies it into mutants/).
PROJECT = ("rules", "workflow", "notifications", "api", "migrations", "tests", "pyproject.toml")
# cold_caches (mutation/cold_caches.py) empties module-level caches as each mutant's run starts.
# no:unraisableexception: that plugin ends every session with gc.collect() calls over the whole heap the
# forked run inherits, 0.5-0.9 s a mutant here, longer than most mutants' tests.
PYTEST_ARGS = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "cold_caches", "-q", "-x")
# mutmut's exit codes that mean a test noticed the mutant (see mutmut/stats.py).
KILLED = {1, 3, 24, -24, 152, 255, 36, -11, -9, 37}


@dataclass(frozen=True)
class Target:
    name: str
    package: str  # the top-level folder mutmut copies (its non-mutated modules are still importable)
    modules: tuple[str, ...]  # globs of the files to mutate, relative to the repository root
    tests: tuple[str, ...]  # pytest paths or node ids that exercise them
    deselect: tuple[str, ...] = ()  # slow tests that test something else (e.g. durable_rules' memory)


TARGETS: tuple[Target, ...] = (
    Target(
        name="morile",
        package="rules",
        modules=("rules/morile/*",),
        tests=(
            "tests/rules/test_morile.py",
            "tests/rules/test_matrix_files.py",
            "tests/rules/test_matrix_file_fields.py",
            "tests/rules/test_rule_files.py",
        ),
    ),
    Target(
        name="rules-engines",
        package="rules",
        modules=("rules/compiler.py", "rules/conditions.py", "rules/engine.py", "rules/engine_native.py"),
        tests=(
            "tests/rules/test_condition_table.py",
            "tests/rules/test_engines.py",
            "tests/rules/test_decisions.py",
            "tests/rules/test_durable_traps.py",
            "tests/rules/test_rule_files.py",
            "tests/rules/test_rules_compiled.py",
        ),
        # durable_rules' own memory, threads and cache: tens of seconds each, nothing of the compiled form
        deselect=(
            "tests/rules/test_durable_traps.py::test_five_thousand_evaluations_never_leak_sessions",
            "tests/rules/test_durable_traps.py::test_recompiling_versions_reuses_them_and_memory_stays_flat",
            "tests/rules/test_durable_traps.py::test_cache_is_bounded",
            "tests/rules/test_durable_traps.py::test_threads_get_the_same_decisions_as_serial",
        ),
    ),
    # The lifecycle: the trigger definitions' guards and conditions, every view derived from them, and the
    # clocks they name. The definitions themselves are data (mutmut mutates function bodies): the literal
    # tables in test_lifecycle.py (transitions) and test_trigger_table.py (who may fire, clocks, notices,
    # needs) hold that data to what it must be.
    Target(
        name="lifecycle",
        package="workflow",
        modules=("workflow/lifecycle.py", "workflow/triggers.py", "workflow/clocks.py"),
        tests=(
            "tests/workflow/test_lifecycle.py",
            "tests/workflow/test_triggers.py",
            "tests/workflow/test_trigger_table.py",
            "tests/workflow/test_lifecycle_views.py",
            "tests/workflow/test_clock_plan.py",
            "tests/workflow/test_timers.py",
            "tests/workflow/test_dst.py",
        ),
    ),
    # The service's write path: who may act, the compare-and-set, the event, clocks and effects. (Who
    # sees what is held by test_need_to_know.py's table here; tests/api/test_access.py walks the same
    # policy through every endpoint, at four times the cost per mutant, and is left to `make test`.)
    Target(
        name="service",
        package="workflow",
        modules=("workflow/service.py", "workflow/effects.py", "workflow/access.py"),
        tests=(
            "tests/workflow/test_write_path.py",
            "tests/workflow/test_effects.py",
            "tests/workflow/test_trigger_table.py",
            "tests/workflow/test_lifecycle.py",
            "tests/workflow/test_acting.py",
            "tests/workflow/test_submit.py",
            "tests/workflow/test_timers.py",
            "tests/workflow/test_transfer.py",
            "tests/workflow/test_capacity.py",
            "tests/workflow/test_retention.py",
            "tests/workflow/test_need_to_know.py",
            "tests/workflow/test_service_records.py",
            "tests/workflow/test_effect_records.py",
        ),
        # The sctac CLI in a subprocess (8 s each): what it calls is tested in-process above.
        deselect=(
            "tests/workflow/test_acting.py::test_the_cli_acts_as_the_named_account_and_is_refused_like_it",
            "tests/workflow/test_capacity.py::test_the_cli_loads_a_capacity_file_or_names_every_error_and_changes_nothing",
        ),
    ),
)


def _equivalents() -> dict[str, str]:
    """mutant name -> why it changes nothing (lines ``name  # reason``; blank lines and # lines skipped)."""
    out: dict[str, str] = {}
    if not EQUIVALENTS.exists():
        return out
    for raw in EQUIVALENTS.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            raise SystemExit(f"{EQUIVALENTS.name}: {name.strip()}: give a one-line reason after '#'")
        out[name.strip()] = reason.strip()
    return out


def _pythonpath() -> str:
    """This folder first, so pytest finds the cold_caches plugin."""
    return os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)


def _stage(target: Target, keep: bool) -> Path:
    stage = WORK / target.name
    if stage.exists() and not keep:
        shutil.rmtree(stage)
    stage.mkdir(parents=True, exist_ok=True)
    for name in PROJECT:
        link = stage / name
        if not link.exists():
            link.symlink_to(ROOT / name)
    also = [p for p in PROJECT if p not in (target.package, "tests", "pyproject.toml")]
    selection = [*target.tests, *(f"--deselect={t}" for t in target.deselect)]
    lines = [
        "[mutmut]",
        f"source_paths = {target.package}",
        "only_mutate =",
        *(f"    {m}" for m in target.modules),
        "also_copy =",
        *(f"    {p}" for p in also),
        "pytest_add_cli_args =",
        *(f"    {a}" for a in PYTEST_ARGS),
        "pytest_add_cli_args_test_selection =",
        *(f"    {t}" for t in selection),
        "use_git_change_detection = false",
        "",
    ]
    (stage / "setup.cfg").write_text("\n".join(lines))
    return stage


def _results(folder: Path) -> dict[str, dict[str, int | None]]:
    """module path -> {mutant name: exit code}, read from mutmut's own .meta files."""
    out: dict[str, dict[str, int | None]] = {}
    for meta in sorted((folder / "mutants").rglob("*.py.meta")):
        module = str(meta.relative_to(folder / "mutants"))[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            out[module] = codes
    return out


def _diffs(folder: Path, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    script = (
        "import json, sys\n"
        "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
        "print(json.dumps({n: get_diff_for_mutant(n) for n in json.load(sys.stdin)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=folder,
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def _expand(patterns: tuple[str, ...]) -> list[str]:
    """The files a target's module globs name, relative to the repository root."""
    return sorted(
        str(p.relative_to(ROOT)) for pattern in patterns for p in ROOT.glob(pattern) if p.suffix == ".py"
    )


def _line(label: str, killed: int, total: int, excluded: int) -> str:
    score = 100.0 * killed / total if total else 100.0
    return f"{label}: {killed}/{total} = {score:.1f}% ({excluded} equivalent excluded)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"default: all ({', '.join(t.name for t in TARGETS)})")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="reuse the previous mutants folder")
    parser.add_argument(
        "--report",
        action="store_true",
        help="run nothing: the figures of the last run, counted against the equivalents listed now",
    )
    args = parser.parse_args(argv)
    known = {t.name: t for t in TARGETS}
    unknown = [n for n in args.targets if n not in known]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)} (known: {', '.join(known)})")
    chosen = [known[n] for n in args.targets] or list(TARGETS)
    equivalents = _equivalents()
    mutmut = Path(sys.executable).with_name("mutmut")
    OUT.mkdir(exist_ok=True)
    score_lines: list[str] = []
    survivor_text: list[str] = []
    seen_equivalents: set[str] = set()
    spent = 0.0  # the targets' run times: measured now, or (--report) as their last runs recorded
    for target in chosen:
        t0 = time.monotonic()
        stage = WORK / target.name
        seconds = stage / "seconds.txt"  # the wall time of the stage's last run
        if args.report:
            if not seconds.exists():
                print(f"{target.name}: not run yet (python mutation/run.py {target.name})", file=sys.stderr)
                return 2
        else:
            stage = _stage(target, args.keep)
            log = OUT / f"{target.name}.log"
            with log.open("w") as handle:
                run = subprocess.run(
                    [str(mutmut), "run", "--max-children", str(args.max_children)],
                    cwd=stage,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": _pythonpath()},
                )
            if run.returncode != 0:
                print(f"{target.name}: mutmut failed (exit {run.returncode}); see {log}", file=sys.stderr)
                return run.returncode
            seconds.write_text(f"{time.monotonic() - t0:.0f}\n")
        took = float(seconds.read_text())
        spent += took
        all_killed = all_total = all_excluded = 0
        survivors: list[str] = []
        for module, codes in _results(stage).items():
            excluded = [n for n in codes if n in equivalents]
            seen_equivalents.update(excluded)
            counted = {n: c for n, c in codes.items() if n not in equivalents}
            killed = sum(1 for c in counted.values() if c in KILLED)
            survivors += sorted(n for n, c in counted.items() if c not in KILLED)
            score_lines.append(_line(module, killed, len(counted), len(excluded)))
            all_killed, all_total = all_killed + killed, all_total + len(counted)
            all_excluded += len(excluded)
        score_lines.append(
            _line(f"{target.name} (all)", all_killed, all_total, all_excluded) + f" in {took:.0f} s"
        )
        print(score_lines[-1], flush=True)
        for name, diff in _diffs(stage, survivors).items():
            survivor_text.append(f"# {target.name}: {name}\n{diff.rstrip()}\n")
    # A listed name whose module was mutated in this run but that no mutant bears any more.
    mutated = {m.removesuffix(".py").replace("/", ".") for t in chosen for m in _expand(t.modules)}
    stale = sorted(n for n in equivalents if n not in seen_equivalents and n.rsplit(".", 1)[0] in mutated)
    score_lines.append(f"total time: {spent / 60:.1f} min ({spent:.0f} s) for {len(chosen)} target(s)")
    (OUT / "scores.txt").write_text("\n".join(score_lines) + "\n")
    (OUT / "survivors.txt").write_text("\n".join(survivor_text) or "no survivors\n")
    print()
    print("\n".join(score_lines))
    print(f"survivors: {OUT / 'survivors.txt'}")
    if stale:
        print(f"note: {len(stale)} listed equivalent(s) no longer exist: {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
