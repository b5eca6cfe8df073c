"""deploy/ stays true to the code: the example environment names every setting, and nothing else;
the units start commands and options the CLI has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from api.cli import app
from workflow.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NOT_OURS = {"PROMETHEUS_MULTIPROC_DIR"}  # prometheus-client's own variable, documented beside ours


def test_the_example_environment_lists_every_setting_once() -> None:
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (DEPLOY / "sctac.env.example").read_text(), re.MULTILINE)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    expected = {f"SCTAC_{field.upper()}" for field in Settings.model_fields}
    assert set(names) - NOT_OURS == expected


def test_the_example_environment_is_a_valid_configuration(tmp_path: Path) -> None:
    values = dict(
        line.split("=", 1)
        for line in (DEPLOY / "sctac.env.example").read_text().splitlines()
        if line.startswith("SCTAC_")
    )
    fields = {k.removeprefix("SCTAC_").lower(): v for k, v in values.items()}
    settings = Settings(**fields)  # type: ignore[arg-type]
    assert settings.database_url.startswith("postgresql://") and len(settings.secret_key) >= 32


def _exec_start(unit: str) -> list[str]:
    line = next(x for x in (DEPLOY / unit).read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_units_start_commands_the_cli_has() -> None:
    cli = typer.main.get_command(app)
    commands = cli.commands  # type: ignore[attr-defined]
    for unit in ("sctac-api.service", "sctac-worker@.service"):
        words = _exec_start(unit)
        assert words[0].endswith("/sctac")
        command = commands[words[1]]
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        given = {w for w in words[2:] if w.startswith("--")}
        assert given <= known, (unit, given - known)
        assert "EnvironmentFile=/etc/sctac/sctac.env" in (DEPLOY / unit).read_text()
