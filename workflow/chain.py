"""The tamper-evident hash chain over each case's events, keyed with a secret held outside the database.

Each event's hash covers its own fields and the previous event's hash, so altering, deleting or
reordering any row breaks every hash after it. The canonical form is explicit (sorted-key JSON, UTC
timestamps with microseconds) so SQLite and PostgreSQL give byte-identical input.

The hash is an HMAC-SHA256 under the *chain key* (`SCTAC_CHAIN_KEY`, or a key file): someone who can
write to the database but does not hold the key cannot recompute a chain after forging a row, because
the hash function alone is not enough. Before migration 0008 the chain was a plain SHA-256 of the same
input (`unkeyed_event_hash`); that migration re-sealed every intact chain under the key, and the audit
names any event still hashed the unkeyed way as forged (see workflow/audit.py for what each measure
defends against).

The chain covers each event's reason and payload through their digest (`payload_digest`, SHA-256 of
their canonical JSON, stored beside them), not the text itself: a redaction under a recorded retention
decision (workflow/redaction.py) removes personal data from them while the event keeps its place, its
digest and its hash, so the audit can tell "redacted under decision R" from "altered". Before
migration 0015 the payload itself was in the hashed body (`inline_event_hash`); that migration
re-sealed every intact chain the digest way and re-signed the checkpoint's heads.

Where the key comes from (`key_from_settings`):
- `SCTAC_CHAIN_KEY`: the key itself (at least 32 characters), e.g. from the deployment's secret store;
- else `SCTAC_CHAIN_KEY_FILE`: a file holding it, which must exist and be readable by its owner only;
- else, for a SQLite database only, the file `<database>.chain-key` beside it, created with a new
  random key (mode 0600) on first use, so `make run` works on a fresh machine. PostgreSQL deployments
  run several processes, often on several machines, that must share one key: there it must be set.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from workflow.errors import ConfigError
from workflow.settings import Settings, get_settings

GENESIS = "0" * 64
SCHEME = "hmac-sha256"
MIN_KEY_LENGTH = 32
KEY_FILE_SUFFIX = ".chain-key"

# One key, several uses: derive a separate subkey for each, so a MAC made for one purpose (an event,
# a checkpoint) can never be replayed as the other.
_EVENT_PURPOSE = b"sctac event chain v1"
_CHECKPOINT_PURPOSE = b"sctac checkpoint v1"
_KEY_ID_PURPOSE = b"sctac key id v1"


class ChainKey:
    """The secret the chain is keyed with, and where it was read from (never the secret itself in repr)."""

    __slots__ = ("_checkpoint", "_event", "key_id", "source")

    def __init__(self, secret: bytes, *, source: str) -> None:
        if len(secret) < MIN_KEY_LENGTH:
            raise ConfigError(f"chain key from {source} is too short: at least {MIN_KEY_LENGTH} characters")
        self.source = source
        self._event = hmac.new(_derive(secret, _EVENT_PURPOSE), digestmod=hashlib.sha256)
        self._checkpoint = _derive(secret, _CHECKPOINT_PURPOSE)
        # Names the key in checkpoints so "signed with another key" can be told from "altered".
        self.key_id = _derive(secret, _KEY_ID_PURPOSE).hex()[:16]

    def __repr__(self) -> str:
        return f"ChainKey(key_id={self.key_id!r}, source={self.source!r})"

    def event_mac(self, prev_hash: str, body: bytes) -> str:
        mac = self._event.copy()  # the keyed inner state is computed once; a copy per event is cheap
        mac.update(prev_hash.encode("ascii"))
        mac.update(body)
        return mac.hexdigest()

    def sign(self, data: bytes) -> str:
        return hmac.new(self._checkpoint, data, hashlib.sha256).hexdigest()

    def signature_matches(self, data: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(data), signature)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def payload_digest(payload: Mapping[str, Any], *, reason: str | None) -> str:
    """SHA-256 of the canonical JSON of the event's free content, its reason and its payload: what the
    chain hashes in their place (both can hold personal data, so both can be redacted)."""
    return hashlib.sha256(_canonical([reason, payload])).hexdigest()


def _body(
    case_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    payload: Any,
    created_at: datetime,
) -> bytes:
    # `payload` is the payload's digest (the current scheme) or, for the older schemes, the payload.
    return _canonical(
        [case_id, seq, trigger, from_state, to_state, actor, reason, payload, canonical_time(created_at)]
    )


def event_hash(
    *,
    case_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    payload: Mapping[str, Any],
    created_at: datetime,
    prev_hash: str,
    key: ChainKey | None = None,
    digest: str | None = None,
) -> str:
    """The event's keyed hash over the digest of its reason and payload (`digest`, else computed from
    them); without `key`, under the key this process is configured with."""
    covered = digest if digest is not None else payload_digest(payload, reason=reason)
    # The reason's place holds None: the digest covers it.
    body = _body(case_id, seq, trigger, from_state, to_state, actor, None, covered, created_at)
    return (key or chain_key()).event_mac(prev_hash, body)


def inline_event_hash(
    *,
    case_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    payload: Mapping[str, Any],
    created_at: datetime,
    prev_hash: str,
    key: ChainKey | None = None,
) -> str:
    """The keyed hash before migration 0015, over the payload itself (no redaction could keep it).

    Kept for that migration's check and its downgrade, and so the audit can name an event still
    sealed this way.
    """
    body = _body(case_id, seq, trigger, from_state, to_state, actor, reason, payload, created_at)
    return (key or chain_key()).event_mac(prev_hash, body)


def unkeyed_event_hash(
    *,
    case_id: int,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    reason: str | None,
    payload: Mapping[str, Any],
    created_at: datetime,
    prev_hash: str,
) -> str:
    """The chain's hash before migration 0008: anyone can compute it, so it proves nothing on its own.

    Kept so the migration can check a chain before re-sealing it, and so the audit can say that a
    forged event was hashed this way rather than just "does not match".
    """
    body = _body(case_id, seq, trigger, from_state, to_state, actor, reason, payload, created_at)
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def sqlite_sibling(database_url: str | URL, suffix: str) -> Path | None:
    """`<database file><suffix>` for a SQLite file database; None for PostgreSQL or in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + suffix)


def key_from_settings(settings: Settings) -> ChainKey:
    if settings.chain_key is not None:
        return ChainKey(settings.chain_key.get_secret_value().encode("utf-8"), source="SCTAC_CHAIN_KEY")
    if settings.chain_key_file is not None:
        return ChainKey(_read_key_file(settings.chain_key_file), source=str(settings.chain_key_file))
    beside = sqlite_sibling(settings.database_url, KEY_FILE_SUFFIX)
    if beside is None:
        raise ConfigError(
            "SCTAC_CHAIN_KEY or SCTAC_CHAIN_KEY_FILE must be set for this database: every process that"
            " writes it must hold the same chain key (e.g. `openssl rand -hex 32` into a file, chmod 600)"
        )
    if not beside.exists():
        _create_key_file(beside)
    return ChainKey(_read_key_file(beside), source=str(beside))


@lru_cache(maxsize=1)
def chain_key() -> ChainKey:
    """The key of this process, read once from the settings (creating the default key file if due)."""
    return key_from_settings(get_settings())


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"chain key file {path} can be read by other users: `chmod 600 {path}` (and keep it that way)"
            )
        secret = path.read_bytes().strip()
    except FileNotFoundError:
        raise ConfigError(f"chain key file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"chain key file {path}: {exc.strerror}") from None
    return secret


def _create_key_file(path: Path) -> None:
    """Write a new random key, readable by its owner only, without ever replacing an existing key.

    The key is written to a private temporary file and hard-linked into place: the link fails if another
    process created the key first, and then that key (complete, never half-written) is the one used.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made the key first: use theirs
            os.link(temporary, path)
    except OSError as exc:
        raise ConfigError(f"cannot create the chain key file {path}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
