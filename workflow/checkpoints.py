"""Signed checkpoints of every case's chain head, kept in a file outside the database.

A keyed chain stops someone without the key from *recomputing* hashes, but not from deleting the last
events of a case and rewinding its row (state, version, head) to the event before: what is left is a
perfectly valid, shorter chain. A checkpoint anchors each chain: it records (case id, last event seq,
that event's hash) for every case, signed with the chain key, in a file the database cannot reach.
`sctac audit verify` then requires every chain to still contain its checkpointed head, so a tail
deleted before the latest checkpoint is named even if everything in the database was made consistent.

The file is one JSON object, replaced atomically: `format`, `written_at`, `key_id` (which key signed
it), `heads` ([case id, seq, hash], by case id) and `signature` (HMAC-SHA256, under a subkey of the
chain key, of the canonical JSON of the rest). Writing one refuses to replace a checkpoint that does
not verify, or to anchor a database in which a checkpointed head has gone (see `write_checkpoint`).

Who writes them: `sctac audit checkpoint` (after a full verify), and the worker through
`checkpoint_if_due` (at most every `SCTAC_CHECKPOINT_INTERVAL` seconds; one grouped query).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.engine import URL
from sqlmodel import Session

from workflow.chain import ChainKey, chain_key, sqlite_sibling
from workflow.db import utcnow
from workflow.errors import DomainError
from workflow.settings import Settings, get_settings
from workflow.tables import EVENT

FORMAT = "sctac-checkpoint/1"
SUFFIX = ".checkpoint"
_LOOKUP_CHUNK = 400  # (case id, seq) pairs per query when checking moved heads

log = logging.getLogger(__name__)


class CheckpointInvalid(DomainError):
    """The checkpoint file cannot be trusted: unreadable, not a checkpoint, or its signature fails."""

    title = "Checkpoint does not verify"


class CheckpointRefused(DomainError):
    """Writing a checkpoint now would anchor a database that has lost checkpointed events."""

    title = "Checkpoint refused"

    def __init__(self, problems: list[HeadProblem]) -> None:
        self.problems = problems
        super().__init__(
            f"not writing a checkpoint: {len(problems)} chain(s) lost events since the last one; "
            + "; ".join(str(p) for p in problems[:5])
        )


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    written_at: datetime
    key_id: str
    heads: dict[int, tuple[int, str]]  # case id -> (seq, hash) of its last event

    @property
    def when(self) -> str:
        return f"{self.written_at:%Y-%m-%d %H:%M:%S}Z"

    @property
    def events(self) -> int:
        return sum(seq for seq, _ in self.heads.values())


@dataclass(frozen=True)
class HeadProblem:
    case_id: int
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"case {self.case_id} event {self.seq}: {self.problem}"


def head_problem(
    checkpoint: Checkpoint, *, case_id: int, last_seq: int, hash_at_seq: str | None
) -> HeadProblem | None:
    """How a case's stored chain disagrees with its checkpointed head (None if it still contains it).

    `last_seq` is the case's last stored event (0 when none), `hash_at_seq` the stored hash of the
    event at the checkpointed seq (None when that event is gone).
    """
    head = checkpoint.heads.get(case_id)
    if head is None:
        return None
    seq, digest = head
    if last_seq < seq:
        where = f"the database ends at event {last_seq}" if last_seq else "the database holds none of them"
        return HeadProblem(
            case_id,
            last_seq + 1,
            f"removed since the checkpoint of {checkpoint.when} (it holds this case up to event {seq};"
            f" {where})",
        )
    if hash_at_seq != digest:
        return HeadProblem(
            case_id,
            seq,
            f"differs from the checkpoint of {checkpoint.when} (the chain was rewritten up to here)",
        )
    return None


def checkpoint_path(
    settings: Settings | None = None, *, database_url: str | URL | None = None
) -> Path | None:
    """Where checkpoints are kept: the setting, else beside the SQLite database, else nowhere.

    `database_url` names the database in hand (a session's bind) when it may not be the configured one.
    """
    settings = settings or get_settings()
    if settings.checkpoint_path is not None:
        return settings.checkpoint_path
    return sqlite_sibling(database_url if database_url is not None else settings.database_url, SUFFIX)


def _signed_part(doc: dict[str, Any]) -> bytes:
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def read_checkpoint(path: Path, *, key: ChainKey | None = None) -> Checkpoint | None:
    """The checkpoint in `path` after checking its signature; None if there is no file yet.

    Parsed once per version of the file (its size and modification time), so a case page that
    compares one case against it does not re-read a large file each time.
    """
    key = key or chain_key()
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CheckpointInvalid(f"{path}: cannot read the checkpoint: {exc.strerror}") from None
    return _read_cached(path, info.st_mtime_ns, info.st_size, key)


@lru_cache(maxsize=4)
def _read_cached(path: Path, _mtime_ns: int, _size: int, key: ChainKey) -> Checkpoint:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointInvalid(f"{path}: cannot read the checkpoint: {exc}") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointInvalid(
            f"{path}:{exc.lineno}:{exc.colno}: not a sctac checkpoint: malformed JSON ({exc.msg})"
        ) from None
    problem = _shape_problem(doc)
    if problem:
        raise CheckpointInvalid(f"{path}: not a sctac checkpoint: {problem}")
    if doc["key_id"] != key.key_id:
        raise CheckpointInvalid(
            f"{path}: signed with another chain key (key id {doc['key_id']}; this process holds"
            f" {key.key_id}): the key was changed, or the file was replaced"
        )
    if not key.signature_matches(_signed_part(doc), doc["signature"]):
        raise CheckpointInvalid(f"{path}: its signature does not match its contents (the file was altered)")
    try:
        written = datetime.strptime(doc["written_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise CheckpointInvalid(f"{path}: not a sctac checkpoint: bad written_at") from None
    heads = {int(c): (int(s), str(h)) for c, s, h in doc["heads"]}
    return Checkpoint(path=path, written_at=written, key_id=doc["key_id"], heads=heads)


def _shape_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "not a JSON object"
    if doc.get("format") != FORMAT:
        return f"format is not {FORMAT!r}"
    for name in ("written_at", "key_id", "signature"):
        if not isinstance(doc.get(name), str):
            return f"{name} missing or not text"
    heads = doc.get("heads")
    if not isinstance(heads, list):
        return "heads missing or not a list"
    for n, head in enumerate(heads):
        if not (
            isinstance(head, list)
            and len(head) == 3
            and all(type(x) is int for x in head[:2])
            and isinstance(head[2], str)
        ):
            return f"heads[{n}] is not [case id, seq, hash]"
    return None


def current_heads(session: Session) -> dict[int, tuple[int, str]]:
    """Each case's last stored event (seq, hash), from the event table itself, in one statement.

    Read from the events, not the case rows: a row rewound by hand must not become the anchor.
    """
    last = select(EVENT.c.case_id, func.max(EVENT.c.seq).label("seq")).group_by(EVENT.c.case_id).subquery()
    rows = session.execute(
        select(EVENT.c.case_id, EVENT.c.seq, EVENT.c.hash).join(
            last, and_(EVENT.c.case_id == last.c.case_id, EVENT.c.seq == last.c.seq)
        )
    )
    return {int(cid): (int(seq), str(digest)) for cid, seq, digest in rows}


def lost_since(
    session: Session, previous: Checkpoint, heads: dict[int, tuple[int, str]]
) -> list[HeadProblem]:
    """Every checkpointed head that the database no longer holds (without walking whole chains)."""
    problems: list[HeadProblem] = []
    moved: list[tuple[int, int]] = []
    for case_id, (seq, _digest) in sorted(previous.heads.items()):
        last_seq, last_hash = heads.get(case_id, (0, None))
        if last_seq > seq:
            moved.append((case_id, seq))  # grew since: its old head must still be there, unchanged
            continue
        found = head_problem(
            previous, case_id=case_id, last_seq=last_seq, hash_at_seq=last_hash if last_seq == seq else None
        )
        if found:
            problems.append(found)
    for start in range(0, len(moved), _LOOKUP_CHUNK):
        chunk = moved[start : start + _LOOKUP_CHUNK]
        stored = {
            (int(cid), int(seq)): str(digest)
            for cid, seq, digest in session.execute(
                select(EVENT.c.case_id, EVENT.c.seq, EVENT.c.hash).where(
                    tuple_(EVENT.c.case_id, EVENT.c.seq).in_(chunk)
                )
            )
        }
        for case_id, seq in chunk:
            found = head_problem(
                previous,
                case_id=case_id,
                last_seq=heads[case_id][0],
                hash_at_seq=stored.get((case_id, seq)),
            )
            if found:
                problems.append(found)
    return sorted(problems, key=lambda p: (p.case_id, p.seq))


def write_checkpoint(
    session: Session, *, path: Path, key: ChainKey | None = None, now: datetime | None = None
) -> Checkpoint:
    """Sign the current head of every chain into `path`, replacing the previous checkpoint atomically.

    Refuses (CheckpointInvalid) when the existing file does not verify — it is evidence, not to be
    overwritten — and (CheckpointRefused) when any head it anchors is gone or changed, so a deletion
    cannot be laundered by the next checkpoint. It does not re-walk the chains: `sctac audit checkpoint`
    runs a full verify first; the worker's periodic call relies on verify being run on its own.
    """
    key = key or chain_key()
    at = now or utcnow()
    previous = read_checkpoint(path, key=key)
    heads = current_heads(session)
    if previous is not None:
        problems = lost_since(session, previous, heads)
        if problems:
            raise CheckpointRefused(problems)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "written_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "key_id": key.key_id,
        "heads": [[cid, seq, digest] for cid, (seq, digest) in sorted(heads.items())],
    }
    doc["signature"] = key.sign(_signed_part(doc))
    _replace_atomically(path, json.dumps(doc, separators=(",", ":")) + "\n")
    return Checkpoint(path=path, written_at=at.astimezone(UTC), key_id=key.key_id, heads=heads)


def _replace_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # readers see the old checkpoint or the new one, never half of one
    except OSError as exc:
        raise CheckpointInvalid(f"{path}: cannot write the checkpoint: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def checkpoint_if_due(session: Session, *, now: datetime | None = None) -> Checkpoint | None:
    """For the worker's pass: write a checkpoint when the last is older than SCTAC_CHECKPOINT_INTERVAL.

    Cheap when not due (one stat of the file). Never raises for a refused or unreadable checkpoint:
    the worker must keep delivering; it logs the refusal, and `sctac audit verify` names the loss.
    """
    settings = get_settings()
    path = checkpoint_path(settings, database_url=session.get_bind().engine.url)
    if path is None:
        return None
    at = now or utcnow()
    try:
        age = at.timestamp() - path.stat().st_mtime
    except FileNotFoundError:
        age = float("inf")
    except OSError as exc:
        log.error("audit checkpoint not written: %s: %s", path, exc.strerror)
        return None
    if age < settings.checkpoint_interval:
        return None
    try:
        return write_checkpoint(session, path=path, now=at)
    except DomainError as exc:
        log.error("audit checkpoint not written: %s", exc.detail)
        return None


def reseal_heads(path: Path, moved: dict[tuple[int, int, str], str], *, key: ChainKey | None = None) -> int:
    """Re-sign the checkpoint in `path` after a migration re-hashed intact chains (0015).

    `moved` maps (case id, seq, old hash) to the new hash of that same event; a head not in it (its
    chain was already broken, or is gone) keeps its old hash, so the audit still names it. The time the
    anchor was taken is kept. Returns how many heads moved; an absent file is left absent, and a file
    that does not verify is left as it is (it is evidence) and raises CheckpointInvalid.
    """
    key = key or chain_key()
    previous = read_checkpoint(path, key=key)
    if previous is None:
        return 0
    heads: dict[int, tuple[int, str]] = {}
    count = 0
    for cid, (seq, digest) in previous.heads.items():
        new = moved.get((cid, seq, digest))
        count += new is not None
        heads[cid] = (seq, new or digest)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "written_at": previous.written_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "key_id": key.key_id,
        "heads": [[cid, seq, digest] for cid, (seq, digest) in sorted(heads.items())],
    }
    doc["signature"] = key.sign(_signed_part(doc))
    _replace_atomically(path, json.dumps(doc, separators=(",", ":")) + "\n")
    return count
