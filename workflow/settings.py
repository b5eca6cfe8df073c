"""The one settings object of sctac, read from the environment (prefix ``SCTAC_``) at start-up.

Every layer reads its configuration from here, so a bad value fails fast at start-up with one line
instead of surfacing as a traceback deep inside a request.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import rules
from workflow.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCTAC_", extra="ignore")

    database_url: str = "sqlite:///./sctac.db"
    # Where the active rule files and MoRiLE matrix live; the defaults ship inside the package.
    rules_path: Path = PACKAGE_ROOT / "rules" / "default"
    matrix_path: Path = PACKAGE_ROOT / "rules" / "matrices" / "tactical-default.yaml"
    rules_backend: Literal["durable", "native"] | None = None
    secret_key: str = Field(default="", description="keys page sessions; a new key per process if empty")
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    mail_from: str = "sctac@localhost"
    sql_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r}: use sqlite:// or postgresql://"
            )
        return value

    @field_validator("matrix_path")
    @classmethod
    def _matrix_loads(cls, value: Path) -> Path:
        # Checked here so a bad matrix stops start-up with one line, not the first assessment hours later.
        try:
            rules.load_matrix(value)
        except rules.RuleFileErrors as exc:
            first, more = exc.errors[0], len(exc.errors) - 1
            rest = f" (and {more} more: sctac rules check --matrix {value})" if more else ""
            raise ValueError(f"{first}{rest}") from None
        return value

    # Notifications worker (notifications/worker.py): how often it polls, and how long it waits on a
    # mail server or a webhook receiver before counting the attempt as failed (and retrying later).
    worker_interval: float = Field(default=5.0, gt=0)
    smtp_timeout: float = Field(default=10.0, gt=0)
    webhook_timeout: float = Field(default=10.0, gt=0)


def load_settings() -> Settings:
    """Read settings from the environment, turning validation failures into one readable line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SCTAC_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"bad configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
