"""The one settings object of sctac, read from the environment (prefix ``SCTAC_``) at start-up.

Every layer reads its configuration from here, so a bad value fails fast at start-up with one line
instead of surfacing as a traceback deep inside a request.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse as parse_rate
from pydantic import Field, SecretStr, ValidationError, field_validator
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
    # How long a worker's claim on due timers and deliveries lasts (SCTAC_LEASE_SECONDS): the delay
    # before a killed worker's rows are taken up by another (or by itself restarted). A live worker
    # keeps its claim with a heartbeat, so a long batch never needs a long lease (workflow/leases.py).
    lease_seconds: float = Field(default=15.0, gt=0, le=3600)
    smtp_timeout: float = Field(default=10.0, gt=0)
    # Deconfliction (issue 13): a new request is matched against open cases and against cases closed in
    # the last this many days (SCTAC_DECONFLICTION_DAYS), of every unit.
    deconfliction_days: int = Field(default=180, ge=0, le=3650)
    webhook_timeout: float = Field(default=10.0, gt=0)

    # Sign-in (issue 12). Throttles count attempts in a moving window, per name and per client address,
    # in `limits` syntax ("5/minute", "30 per 10 minutes"). Their storage is one process's memory unless
    # rate_limit_storage names a shared one (redis://, memcached://); the lock-out counter below lives in
    # the database, so it holds across processes and restarts whatever the storage.
    signin_rate_account: str = "5/minute"
    signin_rate_address: str = "30/minute"
    rate_limit_storage: str = "memory://"
    lockout_after: int = Field(default=10, ge=1, le=1000)
    lockout_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    # Transport: behind a TLS-terminating proxy the app sees plain HTTP, so the cookie's Secure flag is
    # a setting; and X-Forwarded-For/-Proto are believed only from these proxy addresses or networks.
    secure_cookies: bool = False
    trusted_proxies: str = ""

    @field_validator("signin_rate_account", "signin_rate_address")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"not a rate: {value!r}; write e.g. 5/minute or 30 per 10 minutes") from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if not value.partition("://")[1] or scheme not in {
            "memory",
            "redis",
            "rediss",
            "memcached",
            "valkey",
        }:
            raise ValueError(f"not a limits storage URI: {value!r}; e.g. memory:// or redis://host:6379")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in (p.strip() for p in value.split(",")):
            if not item:
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"not an IP address or network: {item!r}; list the proxy's addresses, e.g. 10.0.0.5"
                ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    # The audit (workflow/chain.py, workflow/checkpoints.py). The chain key: the key itself, or a file
    # holding it; with neither, a SQLite database gets `<database>.chain-key` beside it on first use.
    chain_key: SecretStr | None = None
    chain_key_file: Path | None = None
    # Signed checkpoints of every chain head, outside the database; default `<database>.checkpoint`
    # beside a SQLite database (none for PostgreSQL unless set). The worker writes one this often.
    checkpoint_path: Path | None = None
    checkpoint_interval: float = Field(default=3600.0, gt=0)

    # Running it for real (issue 15). Logs: one JSON object per line (json), or plain text for a person
    # watching a terminal (text). /metrics: with a token, only `Authorization: Bearer <token>` reads it;
    # without one, only clients on this host (loopback). /readyz: ready only if some worker finished a
    # pass this recently (0: do not ask, for an API that runs with no worker on purpose).
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_token: SecretStr | None = None
    ready_worker_seconds: float = Field(default=60.0, ge=0)
    # Case attachments (workflow/blobs.py): a content-addressed folder outside the database; default
    # `<database>.attachments/` beside a SQLite file, else `./sctac-attachments`. Types are sniffed from
    # the content (libmagic), never taken from the name or the uploader's Content-Type.
    attachments_path: Path | None = None
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1, le=2**31)
    attachment_types: str = (
        "application/pdf,image/png,image/jpeg,image/gif,text/plain,text/csv,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    @property
    def attachment_type_list(self) -> frozenset[str]:
        return frozenset(t.strip().lower() for t in self.attachment_types.split(",") if t.strip())

    @field_validator("chain_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("the chain key must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value


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
