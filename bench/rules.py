"""Rule evaluation throughput: our native and durable_rules backends beside GoRules zen-engine.

Run: .venv/bin/python bench/rules.py [--n 100000] [--seed 7]

Every engine decides the same thing for each case: the route (first match), every escalation rule and
every policy rule that matches. Ours also resolves levels and policy fields and builds the trace; zen
runs the same conditions as three decision tables (first / collect / collect) in its fastest mode,
``ZenEngine.evaluate_batch`` with a static loader and no trace.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules import compile_rules, default_matrix, durable_available, load_ruleset, score
from rules.compiler import to_ir
from rules.preview import preview

ROOT = Path(__file__).resolve().parents[1]


def make_cases(n: int, seed: int, ruleset: Any) -> list[dict[str, Any]]:
    """Realistic open cases: BCU-heavy demand, 1-3 themes, 1-2 capabilities, most of them scored."""
    rnd = random.Random(seed)
    matrix = default_matrix()
    units = [u for u in ruleset.units.values()]
    weights = [5 if u.kind == "bcu" else 1 for u in units]
    themes, caps = list(ruleset.themes), list(ruleset.capabilities)
    stages = ["submitted", "assessed", "prioritised", "tasked", "reviewed"]
    cases = []
    for _ in range(n):
        unit = rnd.choices(units, weights)[0]
        stage = rnd.choices(stages, [2, 2, 1, 4, 1])[0]
        facts: dict[str, Any] = {
            "unit": unit.code,
            "themes": rnd.sample(themes, rnd.randint(1, 3)),
            "capabilities": rnd.sample(caps, rnd.choice([1, 1, 2])),
            "target_type": rnd.choice(list(ruleset.target_types)),
            "marking": rnd.choice(["OFFICIAL", "OFFICIAL-SENSITIVE"]),
            "tags": [],
            "stage": stage,
        }
        if stage != "submitted":
            s = score(
                matrix,
                {
                    "harm": {d: rnd.choices(range(5), [3, 4, 4, 2, 1])[0] for d in matrix.dimensions},
                    "scope": rnd.choice([1, 2, 2, 3, 4]),
                    "likelihood": rnd.randint(1, 5),
                    "vulnerability": rnd.randint(0, 4),
                    "capacity": rnd.randint(1, 4),
                    "capability": rnd.randint(1, 4),
                    "intelligence": {
                        "source": rnd.choice("123"),
                        "grade": rnd.choice("ABCDE"),
                        "handling": rnd.choice("PC"),
                    },
                },
            )
            facts.update(s.facts())
        cases.append(facts)
    return cases


# -- zen-engine: the same conditions as JDM decision tables ----------------------------------------------


def zen_expr(cond: dict[str, Any]) -> str:
    if "all" in cond:
        return "(" + " and ".join(zen_expr(c) for c in cond["all"]) + ")" if cond["all"] else "true"
    if "any" in cond:
        return "(" + " or ".join(zen_expr(c) for c in cond["any"]) + ")"
    if "not" in cond:
        return f"not ({zen_expr(cond['not'])})"
    name, op, value = cond["fact"], cond["op"], cond.get("value")
    if op == "exists":
        return f"{name} != null"
    if op == "in":
        return f"{name} in {json.dumps(value)}"
    if op == "contains":
        return f"contains({name}, {json.dumps(value)})"
    return f"({name} != null and {name} {op} {json.dumps(value)})"


def zen_decision(ir: dict[str, Any]) -> dict[str, Any]:
    def table(section: str, hit: str) -> dict[str, Any]:
        rules = sorted((r for r in ir["rules"] if r["section"] == section), key=lambda r: r["rank"])
        return {
            "id": section,
            "name": section,
            "type": "decisionTableNode",
            "position": {"x": 0, "y": 0},
            "content": {
                "hitPolicy": hit,
                "inputs": [{"id": "when", "name": "when"}],
                "outputs": [{"id": "rule", "name": "rule", "field": "rule"}],
                "rules": [
                    {"_id": f"r{r['id']}", "when": zen_expr(r["when"]), "rule": json.dumps(r["name"])}
                    for r in rules
                ],
                "passThrough": False,
                "inputField": None,
                "outputPath": section,
                "executionMode": "single",
            },
        }

    nodes = [{"id": "in", "name": "in", "type": "inputNode", "position": {"x": 0, "y": 0}}]
    edges = []
    for section, hit in (("routing", "first"), ("escalation", "collect"), ("policy", "collect")):
        nodes.append(table(section, hit))
        edges += [
            {"id": f"a-{section}", "type": "edge", "sourceId": "in", "targetId": section},
            {"id": f"b-{section}", "type": "edge", "sourceId": section, "targetId": "out"},
        ]
    nodes.append({"id": "out", "name": "out", "type": "outputNode", "position": {"x": 0, "y": 0}})
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def zen_context(facts: dict[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = dict.fromkeys(
        (
            "unit",
            "unit_kind",
            "target_type",
            "marking",
            "stage",
            "band",
            "risk",
            "harm_total",
            "likelihood_total",
            "harm_floor",
            "org_grade",
            "confidence",
            "response_level",
        ),
    )
    ctx.update({"themes": [], "capabilities": [], "tags": []})
    ctx.update(facts)
    return ctx


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--uncached-sample", type=int, default=10_000, help="cases for the slow uncached durable run"
    )
    args = parser.parse_args()

    ruleset = load_ruleset(ROOT / "rules" / "default")
    ir = to_ir(ruleset)
    t0 = time.perf_counter()
    cases = make_cases(args.n, args.seed, ruleset)
    counts = {s: sum(r["section"] == s for r in ir["rules"]) for s in ("routing", "escalation", "policy")}
    print(
        f"cases: {len(cases)} generated (seed {args.seed}) in {time.perf_counter() - t0:.1f} s; ruleset "
        f"{ruleset.version}: {counts['routing']} routing (incl. default), {counts['escalation']} escalation, "
        f"{counts['policy']} policy rules"
    )

    results: dict[str, float] = {}

    native = compile_rules(ruleset, "native")
    t = time.perf_counter()
    native_out = native.evaluate_many(cases)
    results["native"] = rate(len(cases), time.perf_counter() - t)
    print(f"native   evaluate_many, trace on (no cache):            {results['native']:>10,.0f} decisions/s")

    default_backend = compile_rules(ruleset).backend
    if durable_available():
        durable = compile_rules(ruleset, "durable")
        sample = cases[: args.uncached_sample]
        t = time.perf_counter()
        uncached = durable.evaluate_many(sample, cache=False)
        results["durable-uncached"] = rate(len(sample), time.perf_counter() - t)
        print(
            f"durable  evaluate_many, trace on, UNCACHED ({len(sample)} cases): "
            f"{results['durable-uncached']:>10,.0f} decisions/s  (every case asserted as a fact)"
        )
        t = time.perf_counter()
        durable_out = durable.evaluate_many(cases)
        results["durable"] = rate(len(cases), time.perf_counter() - t)
        print(
            f"durable  evaluate_many, trace on, CACHED per class:      "
            f"{results['durable']:>10,.0f} decisions/s  "
            "(batch API: durable_rules is asked once per class of cases no rule can tell apart, per "
            "section; decisions and traces are built per case)"
        )
        same = sum(a == b for a, b in zip(native_out, durable_out, strict=True))
        same_uncached = sum(a == b for a, b in zip(native_out, uncached, strict=False))
        print(
            f"agreement: durable cached == native on {same}/{len(cases)}, "
            f"uncached on {same_uncached}/{len(sample)}"
        )
    else:
        print("durable  skipped: durable_rules cannot be imported on this Python")

    import zen

    content = zen_decision(ir)
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"sctac": content}}})
    # zen gets the same typed facts our engines see (unit_kind filled in, lists normalised).
    requests = [{"key": "sctac", "context": zen_context(native.type_facts(c))} for c in cases]
    t = time.perf_counter()
    zen_out = engine.evaluate_batch(requests)
    results["zen-batch"] = rate(len(cases), time.perf_counter() - t)
    print(
        f"zen-engine evaluate_batch, static loader, no trace:     {results['zen-batch']:>10,.0f} decisions/s"
    )
    agree = 0
    for ours, theirs in zip(native_out, zen_out, strict=True):
        res = theirs["data"]["result"] if theirs.get("success") else {}
        esc = [r["rule"] for r in res.get("escalation", [])]
        pol = [r["rule"] for r in res.get("policy", [])]
        mine_esc = list(ours.escalation.rules) if ours.escalation else []
        mine_pol = [f.rule for f in ours.trace if f.section == "policy"]
        agree += res.get("routing", {}).get("rule") == ours.route.rule and esc == mine_esc and pol == mine_pol
    print(f"agreement: zen-engine matched the same rules on {agree}/{len(cases)} cases")
    decision = engine.get_decision("sctac")
    few = requests[:5000]
    t = time.perf_counter()
    for r in few:
        decision.evaluate(r["context"])
    results["zen-single"] = rate(len(few), time.perf_counter() - t)
    print(
        f"zen-engine ZenDecision.evaluate one at a time ({len(few)}):  "
        f"{results['zen-single']:>10,.0f} decisions/s"
    )

    zen_best = max(results["zen-batch"], results["zen-single"])
    for name in ("native", "durable-uncached", "durable"):
        if name in results:
            print(f"ratio {name} / zen-engine best: {results[name] / zen_best:.2f}")

    candidate_routing = ROOT / "tests" / "golden" / "rules" / "story8" / "routing.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        # The story-8 candidate: the default ruleset with the knife-crime routing rule added.
        for f in (ROOT / "rules" / "default").glob("*.yaml"):
            shutil.copy(f, tmp)
        shutil.copy(candidate_routing, tmp)
        candidate = compile_rules(load_ruleset(tmp), default_backend)
        current = compile_rules(ruleset, default_backend)
        t = time.perf_counter()
        result = preview(
            current=current, candidate=candidate, cases=((f"SCT-{i:06d}", c) for i, c in enumerate(cases))
        )
        elapsed = time.perf_counter() - t
        print(
            f"preview over {len(cases)} open cases ({default_backend}): {elapsed:.2f} s (goal < 10 s): "
            f"{result.summary()}"
        )

    best = results.get(default_backend, results["native"])
    print(f"default backend ({default_backend}) vs zen-engine best: ratio {best / zen_best:.2f}")


if __name__ == "__main__":
    main()
