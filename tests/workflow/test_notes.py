"""Case log notes and attachments in the service: in the chain, under need-to-know and per-note marking,
files stored by digest and refused with the field named when they are too big, not allowed or not what
they claim."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.factories import submit, unchecked
from workflow import audit, blobs, queries, records
from workflow.errors import FileTooLarge, InvalidInput, NotFound, UnsupportedFile
from workflow.principals import Principal
from workflow.reads import read_events
from workflow.reads.records import attachment_file, case_records, search_records
from workflow.tables import EVENT, READ, REFUSAL

OFFICIAL, SENSITIVE = "OFFICIAL", "OFFICIAL-SENSITIVE"
# Known values, stated apart from the code: a 1x1 PNG and its SHA-256 computed here.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def person(
    name: str, *roles: str, unit: str | None = None, hub: str | None = None, clearance: str = SENSITIVE
):
    return Principal(username=name, roles=frozenset(roles), unit_code=unit, hub_code=hub, clearance=clearance)


REQUESTER_NE = person("req.ne", "requester", unit="NE")
REQUESTER_OTHER = person("req.as", "requester", unit="AS")
UNCLEARED_OWNER = person("owner.east", "case_owner", hub="EAST", clearance=OFFICIAL)
ANALYST = person("analyst.centre", "analyst")


def test_a_note_is_an_event_in_the_chain_and_the_history(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    done = records.add_note(
        session, case_id=case.case_id, by=REQUESTER_NE, text="Phone seized from Jon Smith."
    )
    assert done.case.state == "submitted" and done.version == case.version + 1
    last = queries.history(session, case_id=case.case_id)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.actor) == (
        "note",
        "submitted",
        "submitted",
        "req.ne",
    )
    assert last.payload["note"] == "Phone seized from Jon Smith."
    assert last.payload["note_marking"] == OFFICIAL
    assert audit.verify(session).ok


def test_notes_are_written_by_anyone_involved_and_nobody_else(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    records.add_note(session, case_id=case.case_id, by=ANALYST, text="Centre: scored next week.")
    with pytest.raises(NotFound):  # another unit's requester: the case does not exist for them
        records.add_note(session, case_id=case.case_id, by=REQUESTER_OTHER, text="hello")
    with pytest.raises(NotFound):
        case_records(session, who=REQUESTER_OTHER, case_id=case.case_id)
    refused = session.execute(select(REFUSAL.c.username, REFUSAL.c.action)).all()
    assert ("req.as", "fire:note") in refused and ("req.as", "read:records") in refused


def test_a_note_above_the_readers_clearance_shows_it_exists_not_its_text(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    records.add_note(
        session, case_id=case.case_id, by=ANALYST, text="CHIS reports Jon Smith armed.", marking=SENSITIVE
    )
    records.add_note(session, case_id=case.case_id, by=ANALYST, text="Plain update.")
    for reader in (UNCLEARED_OWNER, person("req.ne.o", "requester", unit="NE", clearance=OFFICIAL)):
        seen = case_records(session, who=reader, case_id=case.case_id)
        assert [(r.kind, r.marking, r.withheld, r.text) for r in seen] == [
            ("note", SENSITIVE, True, None),
            ("note", OFFICIAL, False, "Plain update."),
        ]
        history = read_events(session, who=reader, case_id=case.case_id)
        assert "CHIS" not in repr([e.payload for e in history])
        assert [e.payload.get("note_marking") for e in history if e.trigger == "note"] == [
            SENSITIVE,
            OFFICIAL,
        ]
        assert search_records(session, who=reader, q="armed") == []
    # The stored event is untouched (the copy shown was withheld, not the row) and the chain holds.
    assert (
        queries.history(session, case_id=case.case_id)[-2].payload["note"] == "CHIS reports Jon Smith armed."
    )
    assert audit.verify(session).ok
    cleared = case_records(session, who=REQUESTER_NE, case_id=case.case_id)
    assert cleared[0].text == "CHIS reports Jon Smith armed."


def test_a_note_may_not_be_marked_below_its_case_or_above_its_author(session: Session) -> None:
    case = submit(session, protective_marking=SENSITIVE)
    with pytest.raises(InvalidInput) as low:
        records.add_note(session, case_id=case.case_id, by=ANALYST, text="x", marking=OFFICIAL)
    assert [p.field for p in low.value.problems] == ["note_marking"]
    official = submit(session, protective_marking=OFFICIAL)
    with pytest.raises(InvalidInput) as high:
        records.add_note(session, case_id=official.case_id, by=UNCLEARED_OWNER, text="x", marking=SENSITIVE)
    assert [p.field for p in high.value.problems] == ["note_marking"]
    with pytest.raises(InvalidInput) as long:
        records.add_note(session, case_id=official.case_id, by=ANALYST, text="x" * 8001)
    assert [p.field for p in long.value.problems] == ["note"]
    assert (
        session.execute(select(func.count()).select_from(EVENT).where(EVENT.c.trigger == "note")).scalar()
        == 0
    )


def _store(session: Session) -> Path:
    return blobs.store_for(session)


def test_an_attachment_round_trip_keeps_its_digest(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    done = records.attach(
        session,
        case_id=case.case_id,
        by=REQUESTER_NE,
        stream=io.BytesIO(PNG),
        name="scene.png",
        declared_type="image/png",
    )
    digest = hashlib.sha256(PNG).hexdigest()
    event = queries.history(session, case_id=case.case_id)[-1]
    assert done.version == case.version + 1
    assert event.trigger == "attach"
    assert event.payload["attachment"] == {
        "sha256": digest,
        "size": len(PNG),
        "media_type": "image/png",
        "name": "scene.png",
        "marking": OFFICIAL,
    }
    got = attachment_file(session, who=ANALYST, case_id=case.case_id, sha256=digest)
    assert got.path.read_bytes() == PNG and hashlib.sha256(got.path.read_bytes()).hexdigest() == digest
    assert got.path == _store(session) / digest[:2] / digest[2:4] / digest
    reads = session.execute(select(READ.c.username, READ.c.what).where(READ.c.case_id == case.case_id)).all()
    assert ("analyst.centre", "attachment") in reads
    assert audit.verify(session).ok


def test_a_hostile_file_name_is_shown_safely(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    hostile = "../../etc/\u202egnp.exe\x00\r\n.png"
    records.attach(session, case_id=case.case_id, by=ANALYST, stream=io.BytesIO(PNG), name=hostile)
    name = queries.history(session, case_id=case.case_id)[-1].payload["attachment"]["name"]
    assert name == "gnp.exe.png"


@pytest.mark.parametrize(
    ("content", "name", "declared", "error", "says"),
    [
        (b"<html><script>alert(1)</script></html>", "note.html", "text/html", UnsupportedFile, "text/html"),
        (b"<html><body>hi</body></html>", "report.pdf", "application/pdf", UnsupportedFile, "text/html"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
            "a.svg",
            None,
            UnsupportedFile,
            "svg",
        ),
        (PNG, "photo.jpg", None, UnsupportedFile, "image/jpeg"),
        (PNG, "photo.png", "application/pdf", UnsupportedFile, "application/pdf"),
        (b"", "empty.txt", None, UnsupportedFile, "empty"),
    ],
)
def test_disallowed_or_mismatching_files_are_refused_and_nothing_is_kept(
    session: Session, content: bytes, name: str, declared: str | None, error: type[Exception], says: str
) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    before = sorted(p.name for p in _store(session).rglob("*")) if _store(session).exists() else []
    with pytest.raises(error) as refused:
        records.attach(
            session,
            case_id=case.case_id,
            by=ANALYST,
            stream=io.BytesIO(content),
            name=name,
            declared_type=declared,
        )
    assert isinstance(refused.value, InvalidInput)
    assert [p.field for p in refused.value.problems] == ["file"] and says in str(refused.value)
    after = sorted(p.name for p in _store(session).rglob("*")) if _store(session).exists() else []
    assert after == before
    assert queries.history(session, case_id=case.case_id)[-1].trigger == "submit"


def test_an_oversized_file_is_refused_as_it_streams(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow.settings import get_settings

    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 64)
    case = submit(session, protective_marking=OFFICIAL)
    with pytest.raises(FileTooLarge) as big:
        records.attach(
            session, case_id=case.case_id, by=ANALYST, stream=io.BytesIO(b"a" * 65), name="big.txt"
        )
    assert big.value.status == 413 and [p.field for p in big.value.problems] == ["file"]
    assert not any(p.is_file() for p in _store(session).rglob("*")) or all(
        p.name != hashlib.sha256(b"a" * 65).hexdigest() for p in _store(session).rglob("*")
    )


def test_an_uncleared_reader_sees_an_attachment_exists_but_cannot_fetch_it(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    records.attach(
        session,
        case_id=case.case_id,
        by=ANALYST,
        stream=io.BytesIO(b"Jon Smith statement\n"),
        name="smith statement.txt",
        marking=SENSITIVE,
    )
    digest = hashlib.sha256(b"Jon Smith statement\n").hexdigest()
    seen = case_records(session, who=UNCLEARED_OWNER, case_id=case.case_id)
    assert [(r.kind, r.withheld, r.file) for r in seen] == [("attachment", True, None)]
    from workflow.errors import Forbidden

    with pytest.raises(Forbidden):
        attachment_file(session, who=UNCLEARED_OWNER, case_id=case.case_id, sha256=digest)
    assert search_records(session, who=UNCLEARED_OWNER, q="statement") == []
    found = search_records(session, who=ANALYST, q="statment")  # misspelt
    assert [(f.reference, f.record.kind) for f in found] == [(case.reference, "attachment")]


def test_an_aborted_attachment_leaves_an_orphan_that_the_sweep_removes(session: Session) -> None:
    case = submit(session, protective_marking=OFFICIAL)
    kept = records.attach(session, case_id=case.case_id, by=ANALYST, stream=io.BytesIO(PNG), name="kept.png")
    assert kept.version == case.version + 1
    stale = case.version  # a version that is no longer current: the firing is refused after the upload
    from workflow.errors import Conflict

    orphan = b"orphan text\n"
    with pytest.raises(Conflict):
        records.attach(
            session,
            case_id=case.case_id,
            by=ANALYST,
            stream=io.BytesIO(orphan),
            name="o.txt",
            expected_version=stale,
        )
    orphan_path = blobs.blob_path(_store(session), hashlib.sha256(orphan).hexdigest())
    assert orphan_path.exists()
    removed = records.sweep_orphans(session, older_than_seconds=0)
    assert hashlib.sha256(orphan).hexdigest() in removed
    assert not orphan_path.exists()
    assert blobs.blob_path(_store(session), hashlib.sha256(PNG).hexdigest()).exists()


def test_notes_are_searchable_under_need_to_know(session: Session) -> None:
    mine = submit(session, protective_marking=OFFICIAL)
    other = submit(session, protective_marking=OFFICIAL, requesting_unit="AS")
    records.add_note(session, case_id=mine.case_id, by=ANALYST, text="Met Jonathan Smyth at the garage.")
    records.add_note(session, case_id=other.case_id, by=ANALYST, text="Jonathan Smyth seen in Lewisham.")
    found = search_records(session, who=REQUESTER_NE, q="jonathon smith")
    assert [f.case_id for f in found] == [mine.case_id]
    staff = search_records(session, who=unchecked("sys"), q="Jonathan Smyth")
    assert sorted(f.case_id for f in staff) == sorted([mine.case_id, other.case_id])
