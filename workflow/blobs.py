"""Attachment files: a content-addressed folder outside the database, named by each file's SHA-256.

An upload is streamed to a temporary file in the store (counted against the size limit as it arrives,
hashed on the way), its type sniffed from the content by libmagic, and only then moved into place as
`ab/cd/<sha256>`; a file already stored is not written twice. The case event that references it is
written afterwards, in its own transaction: if that transaction aborts, the blob is left unreferenced (an
orphan, never a reference to a missing file). `sweep` removes orphans older than a grace period, which
`sctac attachments sweep` runs (from cron, like `sctac audit checkpoint`).

Redaction (another part of the records work) deletes a blob with `delete` while its event keeps the
digest, so the chain still verifies and the history says what was there.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import magic
from sqlalchemy.engine import URL
from sqlmodel import Session

from workflow import spoofing
from workflow.chain import sqlite_sibling
from workflow.errors import FieldProblem, FileTooLarge, UnsupportedFile
from workflow.settings import Settings, get_settings

SUFFIX = ".attachments"
_CHUNK = 1 << 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Never served as themselves, whatever the settings say: a browser would run them (script in HTML/SVG).
NEVER_INLINE = frozenset(
    {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}
)
# What libmagic may call a type that a name or an uploader calls by another name (same content).
_SAME = {
    "text/csv": {"text/plain", "application/csv"},
    "text/plain": {"text/csv"},
}


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    media_type: str
    name: str

    def as_payload(self, marking: str) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "name": self.name,
            "marking": marking,
        }


def store_path(settings: Settings | None = None, *, database_url: str | URL | None = None) -> Path:
    """The folder attachments live in: the setting, else beside the SQLite file, else ./sctac-attachments."""
    settings = settings or get_settings()
    if settings.attachments_path is not None:
        return settings.attachments_path
    beside = sqlite_sibling(database_url if database_url is not None else settings.database_url, SUFFIX)
    return beside if beside is not None else Path.cwd() / "sctac-attachments"


def store_for(session: Session) -> Path:
    """The store of the database `session` is bound to (tests bind to databases of their own)."""
    return store_path(database_url=session.get_bind().engine.url)


def blob_path(store: Path, sha256: str) -> Path:
    if not _HEX64.match(sha256):
        raise ValueError("not a SHA-256 digest")
    return store / sha256[:2] / sha256[2:4] / sha256


def _problem(field: str, message: str) -> list[FieldProblem]:
    return [FieldProblem(field, message)]


def safe_name(raw: str | None) -> str:
    """A file name fit to show and to send back: no folders, no control, invisible or direction-changing
    characters, NFC, at most 200 characters; "attachment" when nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = spoofing.SPOOFING.sub("", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 else name[:200]
    return name or "attachment"


def _agrees(claimed: str, sniffed: str) -> bool:
    return claimed == sniffed or claimed in _SAME.get(sniffed, set())


def put(
    stream: BinaryIO,
    *,
    name: str | None,
    declared_type: str | None = None,
    store: Path,
    max_bytes: int,
    allowed: Iterable[str],
    field: str = "file",
) -> Stored:
    """Store an upload, or raise (naming `field`) leaving nothing behind: over the limit, empty, a type
    not allowed, or content that is not what its name or declared type says."""
    store.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=store)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(_problem(field, f"larger than the limit of {max_bytes:,} bytes"))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UnsupportedFile(_problem(field, "the file is empty"))
        sniffed = magic.from_file(str(tmp), mime=True).lower()
        allowed_types = {t.lower() for t in allowed}
        if sniffed not in allowed_types or sniffed in NEVER_INLINE:
            raise UnsupportedFile(
                _problem(
                    field,
                    f"its content is {sniffed}, which is not accepted ({', '.join(sorted(allowed_types))})",
                )
            )
        shown = safe_name(name)
        by_name = mimetypes.guess_type(shown, strict=False)[0]
        if by_name is not None and not _agrees(by_name.lower(), sniffed):
            raise UnsupportedFile(_problem(field, f"named as {by_name} but its content is {sniffed}"))
        declared = (declared_type or "").split(";")[0].strip().lower()
        if declared and declared != "application/octet-stream" and not _agrees(declared, sniffed):
            raise UnsupportedFile(_problem(field, f"sent as {declared} but its content is {sniffed}"))
        sha = digest.hexdigest()
        final = blob_path(store, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()
            # Fresh again: `sweep` spares files younger than its grace period, so an old orphan now
            # being referenced is not deleted between this upload and its event's commit.
            os.utime(final)
        else:
            os.chmod(tmp, 0o440)
            os.replace(tmp, final)
        return Stored(sha256=sha, size=size, media_type=sniffed, name=shown)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def describe(store: Path, sha256: str) -> tuple[int, str] | None:
    """(size, sniffed type) of a stored blob, or None if the store has no such file."""
    try:
        path = blob_path(store, sha256)
    except ValueError:
        return None
    if not path.is_file():
        return None
    return path.stat().st_size, magic.from_file(str(path), mime=True).lower()


def delete(store: Path, sha256: str) -> bool:
    """Remove a blob (redaction and disposal keep the digest in the event). True if it was there."""
    path = blob_path(store, sha256)
    if not path.exists():
        return False
    path.unlink()
    return True


def sweep(store: Path, *, referenced: set[str], older_than_seconds: float = 3600.0) -> list[str]:
    """Delete blobs no event references (an upload whose transaction aborted) and abandoned temporary
    files, once older than the grace period (an upload still being attached is younger). Returns the
    digests (or temporary names) removed."""
    removed: list[str] = []
    if not store.is_dir():
        return removed
    cutoff = time.time() - older_than_seconds
    for path in store.rglob("*"):
        if not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        if path.name.startswith(".upload-") or (_HEX64.match(path.name) and path.name not in referenced):
            path.unlink()
            removed.append(path.name)
    return removed
