"""How `sctac serve` runs: one uvicorn process, or uvicorn's own multi-process mode (`--workers N`, a
supervisor that starts N fresh interpreters and restarts any that dies).

Several processes only make sense on PostgreSQL (SQLite has one writer, and each process would queue on
its own lock), and only with keys every process shares: the page sessions' signing key (else a cookie
made by one process is refused by the next) and the audit chain key (else processes would write chains
the others cannot verify).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from workflow.errors import ConfigError
from workflow.settings import Settings

MIN_SECRET = 32
# Named here, not imported from api.metrics: prometheus-client decides at import whether it runs in
# multi-process mode, so nothing may import it in this process before the variable is set.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def check_processes(settings: Settings, workers: int) -> None:
    """Refuse, with one line, a process count this configuration cannot run."""
    if workers <= 1:
        return
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        raise ConfigError(
            f"--workers {workers} needs PostgreSQL (SCTAC_DATABASE_URL=postgresql://...): SQLite takes one "
            "writer at a time, so run one process on it (--workers 1)"
        )
    if len(settings.secret_key) < MIN_SECRET:
        raise ConfigError(
            f"--workers {workers} needs SCTAC_SECRET_KEY (at least {MIN_SECRET} characters, e.g. "
            "`openssl rand -hex 32`) shared by every process, or a sign-in made by one is refused by the next"
        )
    if settings.chain_key is None and settings.chain_key_file is None:
        raise ConfigError(
            f"--workers {workers} needs SCTAC_CHAIN_KEY or SCTAC_CHAIN_KEY_FILE, the same for every process "
            "and worker, so each can verify the others' event chains"
        )


def metrics_dir_set() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def ensure_metrics_dir() -> None:
    """For a process that only adds its figures (a `sctac worker`): the folder must exist to be written."""
    if metrics_dir_set():
        Path(os.environ[MULTIPROC_ENV]).mkdir(mode=0o700, parents=True, exist_ok=True)


def prepare_metrics_dir() -> tuple[Path, bool]:
    """The folder prometheus-client's multi-process mode keeps each process's figures in: the one in
    PROMETHEUS_MULTIPROC_DIR (emptied: figures of processes from an earlier start would be added in),
    else a new private one (True: ours to remove at the end). Set in the environment, so the processes
    uvicorn starts inherit it."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder, False
    folder = Path(tempfile.mkdtemp(prefix="sctac-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder, True


def forget_metrics_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
