"""`sctac records ...` end to end in a real process: note, attach, list, get, search, subject and its log;
a bad file is one line on stderr naming the field, never a traceback."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import submit
from tests.workflow.test_audit_cli import run


def test_the_records_commands(engine: Engine, session: Session, tmp_path: Path) -> None:
    case = submit(session, protective_marking="OFFICIAL")
    ref = case.reference
    added = run(engine, "records", "note", ref, "Spoke to Jonathan Smyth at the front counter.")
    assert added.returncode == 0, added.stderr
    assert f"{ref}: note added" in added.stdout
    doc = tmp_path / "statement.txt"
    doc.write_bytes(b"Statement of Jonathan Smyth.\n")
    attached = run(engine, "records", "attach", ref, str(doc))
    digest = hashlib.sha256(doc.read_bytes()).hexdigest()
    assert attached.returncode == 0, attached.stderr
    assert f"sha256={digest}" in attached.stdout
    listed = run(engine, "records", "list", ref).stdout.splitlines()
    assert [line.split()[4] for line in listed] == ["note", "attachment"]
    out = tmp_path / "copy.txt"
    got = run(engine, "records", "get", ref, digest, "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == doc.read_bytes()
    found = run(engine, "records", "search", "jonathon smith")
    assert found.returncode == 0 and found.stdout.split("\t")[:3] == [ref, "event 2", "note"]
    by_name = run(engine, "records", "search", "statment")  # the document's name, misspelt
    assert by_name.stdout.split("\t")[:3] == [ref, "event 3", "attachment"]
    subject = run(engine, "records", "subject", "Jonathon Smith")
    assert {(i["reference"], i["kind"]) for i in json.loads(subject.stdout)} == {(ref, "note")}
    pdf = tmp_path / "bundle.pdf"
    exported = run(engine, "records", "subject", "Jonathon Smith", "--export", "pdf", "-o", str(pdf))
    assert exported.returncode == 0, exported.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    log = run(engine, "records", "subject-log").stdout.splitlines()
    assert [line.split()[3] for line in log] == ["export-pdf", "search"]


def test_a_bad_file_is_one_line_naming_the_field(engine: Engine, session: Session, tmp_path: Path) -> None:
    case = submit(session, protective_marking="OFFICIAL")
    page = tmp_path / "page.txt"
    page.write_bytes(b"<html><body><script>alert(1)</script></body></html>")
    refused = run(engine, "records", "attach", case.reference, str(page))
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1 and "file:" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = run(engine, "records", "attach", case.reference, str(tmp_path / "nope.pdf"))
    assert missing.returncode != 0 and "nope.pdf" in missing.stderr and "Traceback" not in missing.stderr
