"""Notes, documents and subject access over HTTP: need-to-know, downloads that never render, bad files
refused with the field named, the DPO's search and bundle (JSON and PDF read back), and the log of it."""

from __future__ import annotations

import hashlib
import io

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import SENSITIVE, add_cast, app_client, assert_problem, auth, make_case
from tests.factories import add_people
from tests.web.pages import visitor

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
TEXT = b"Statement of Jonathan Smyth, taken 3 May.\n"


@pytest.fixture
def cast(engine: Engine) -> Engine:
    add_cast(engine)
    with Session(engine, expire_on_commit=False) as s:
        add_people(s, [("dpo", ["dpo"], None, None, SENSITIVE)])
        add_people(s, [("dpo.official", ["dpo"], None, None, "OFFICIAL")])
        add_people(s, [("owner.east.official", ["case_owner"], None, "EAST", "OFFICIAL")])
    return engine


def _note(client, engine, who, case_id, text, marking=None):
    body = {"text": text} if marking is None else {"text": text, "marking": marking}
    return client.post(f"/api/v1/cases/{case_id}/notes", json=body, headers=auth(engine, who))


def _upload(client, engine, who, case_id, content, name, mime, marking=None):
    data = {} if marking is None else {"marking": marking}
    return client.post(
        f"/api/v1/cases/{case_id}/attachments",
        files={"file": (name, io.BytesIO(content), mime)},
        data=data,
        headers=auth(engine, who),
    )


def test_notes_under_need_to_know(cast: Engine) -> None:
    client = app_client(cast)
    case = make_case(cast, "tasked", protective_marking="OFFICIAL")
    made = _note(client, cast, "req.ne", case.id, "Informant says the line moved to Jon Smith.", SENSITIVE)
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "note" and made.json()["marking"] == SENSITIVE
    # Another unit's requester: no such case, for reading or writing.
    assert_problem(_note(client, cast, "req.cs", case.id, "hello"), 404)
    assert_problem(client.get(f"/api/v1/cases/{case.id}/records", headers=auth(cast, "req.cs")), 404)
    # An owner not cleared for the note: it exists, its text does not reach them anywhere.
    for url in (f"/api/v1/cases/{case.id}/records", f"/api/v1/cases/{case.id}/events"):
        got = client.get(url, headers=auth(cast, "owner.east.official"))
        assert got.status_code == 200 and "Jon Smith" not in got.text and SENSITIVE in got.text
    search = client.get(
        "/api/v1/records/search", params={"q": "jon smith"}, headers=auth(cast, "owner.east.official")
    )
    assert search.status_code == 200 and search.json() == []
    page = visitor(cast, "owner.east.official").get(f"/cases/{case.id}")
    assert (
        page.status_code == 200
        and "Jon Smith" not in page.text
        and "your clearance does not cover it" in page.text
    )
    # A cleared reader sees it on the page and in the search.
    cleared = visitor(cast, "sup.east2").get(f"/cases/{case.id}")
    assert "Informant says the line moved to Jon Smith." in cleared.text
    found = client.get(
        "/api/v1/records/search", params={"q": "jon smyth"}, headers=auth(cast, "sup.east2")
    ).json()
    assert [(f["reference"], f["record"]["kind"]) for f in found] == [(case.reference, "note")]


def test_an_attachment_round_trip_with_its_digest_and_safe_download(cast: Engine) -> None:
    client = app_client(cast)
    case = make_case(cast, "submitted", protective_marking="OFFICIAL")
    hostile = "..\\..\\\u202etxt.exe\u202c.txt"  # (control characters: tests/workflow/test_notes.py)
    made = _upload(client, cast, "analyst.centre", case.id, TEXT, hostile, "text/plain")
    assert made.status_code == 201, made.text
    digest = hashlib.sha256(TEXT).hexdigest()
    assert made.json()["file"] == {
        "sha256": digest,
        "size": len(TEXT),
        "media_type": "text/plain",
        "name": "txt.exe.txt",
    }
    got = client.get(f"/api/v1/cases/{case.id}/attachments/{digest}", headers=auth(cast, "req.ne"))
    assert got.status_code == 200 and got.content == TEXT
    assert hashlib.sha256(got.content).hexdigest() == digest
    assert got.headers["content-disposition"].startswith("attachment;")
    assert (
        "\u202e" not in got.headers["content-disposition"] and ".." not in got.headers["content-disposition"]
    )
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    reads = client.get("/api/v1/admin/reads", params={"case_id": case.id}, headers=auth(cast, "admin"))
    assert reads.status_code == 200
    assert any(r["what"] == "attachment" and r["username"] == "req.ne" for r in reads.json()["items"])
    # Another unit's requester cannot fetch it, even knowing the digest.
    assert_problem(
        client.get(f"/api/v1/cases/{case.id}/attachments/{digest}", headers=auth(cast, "req.cs")), 404
    )


def test_an_html_upload_is_refused_and_never_served(cast: Engine) -> None:
    client = app_client(cast)
    case = make_case(cast, "submitted", protective_marking="OFFICIAL")
    for name, mime in (
        ("page.html", "text/html"),
        ("innocent.txt", "text/plain"),
        ("scan.pdf", "application/pdf"),
    ):
        refused = _upload(client, cast, "analyst.centre", case.id, HTML, name, mime)
        body = assert_problem(refused, 415)
        assert "file" in body["detail"] and "text/html" in body["detail"]
    records = client.get(f"/api/v1/cases/{case.id}/records", headers=auth(cast, "analyst.centre")).json()
    assert records == []
    digest = hashlib.sha256(HTML).hexdigest()
    assert_problem(
        client.get(f"/api/v1/cases/{case.id}/attachments/{digest}", headers=auth(cast, "analyst.centre")), 404
    )


def test_subject_search_is_for_the_dpo_only_and_finds_a_misspelt_name(cast: Engine) -> None:
    client = app_client(cast)
    one = make_case(cast, "tasked", protective_marking="OFFICIAL", target_name="The Deptford crew")
    two = make_case(cast, "submitted", requesting_unit="AS", target_name="Jonathan Smyth")
    assert (
        _note(
            client, cast, "sup.east2", one.id, "Seen with Jonathan Smyth and Kelly Ames at the car wash."
        ).status_code
        == 201
    )
    assert _note(client, cast, "sup.east2", one.id, "Nothing about anyone.").status_code == 201
    for who in ("analyst.centre", "admin", "req.ne"):
        assert_problem(
            client.get("/api/v1/dpo/subjects", params={"name": "Jonathon Smith"}, headers=auth(cast, who)),
            403,
        )
    found = client.get("/api/v1/dpo/subjects", params={"name": "Jonathon Smith"}, headers=auth(cast, "dpo"))
    assert found.status_code == 200, found.text
    items = {(i["reference"], i["kind"]): i for i in found.json()}
    assert set(items) == {(one.reference, "note"), (two.reference, "case")}
    note = items[(one.reference, "note")]
    assert note["matched"] == {"jonathon": "jonathan", "smith": "smyth"}
    assert note["content"]["text"].startswith("Seen with Jonathan Smyth")
    assert any("Kelly Ames" in r for r in note["review"])  # a third party, marked for review
    assert any("OFFICIAL-SENSITIVE" in r for r in items[(two.reference, "case")]["review"])
    # A DPO not cleared for OFFICIAL-SENSITIVE learns where, not what.
    official = client.get(
        "/api/v1/dpo/subjects", params={"name": "Jonathon Smith"}, headers=auth(cast, "dpo.official")
    )
    case_item = next(i for i in official.json() if i["kind"] == "case")
    assert case_item["content"] == {} and "above your clearance" in case_item["review"][0]


def test_the_disclosure_bundle_as_json_and_pdf_and_every_search_logged(cast: Engine) -> None:
    client = app_client(cast)
    case = make_case(cast, "submitted", protective_marking="OFFICIAL", target_name="Marek Nowak")
    _note(client, cast, "analyst.centre", case.id, "Marek Nowak rang the desk about his car.")
    bundle = client.get(
        "/api/v1/dpo/subjects/export", params={"name": "Marek Nowak"}, headers=auth(cast, "dpo")
    )
    assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/json"
    assert bundle.headers["content-disposition"].startswith("attachment;")
    body = bundle.json()
    assert body["subject"] == "Marek Nowak" and body["counts"]["items"] == 2
    pdf = client.get(
        "/api/v1/dpo/subjects/export",
        params={"name": "Marek Nowak", "format": "pdf"},
        headers=auth(cast, "dpo"),
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Subject access: Marek Nowak" in text and "rang the desk about his car" in text
    assert "WITHHOLD FOR REVIEW" in text or "No withholding reason" in text
    client.get("/api/v1/dpo/subjects", params={"name": "Someone Else"}, headers=auth(cast, "dpo"))
    log = client.get("/api/v1/admin/subject-access", headers=auth(cast, "admin"))
    assert log.status_code == 200
    assert [(r["username"], r["action"], r["query"], r["matches"]) for r in log.json()] == [
        ("dpo", "search", "Someone Else", 0),
        ("dpo", "export-pdf", "Marek Nowak", 2),
        ("dpo", "export-json", "Marek Nowak", 2),
    ]
    assert_problem(client.get("/api/v1/admin/subject-access", headers=auth(cast, "dpo")), 403)


def test_bad_uploads_name_the_field_and_write_nothing(cast: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.settings import get_settings

    client = app_client(cast)
    case = make_case(cast, "submitted", protective_marking="OFFICIAL")
    limit = get_settings().attachment_max_bytes
    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 16)
    big = assert_problem(
        _upload(client, cast, "analyst.centre", case.id, b"x" * 17, "big.txt", "text/plain"), 413
    )
    assert big["detail"].startswith("file:")
    # A body over the upload allowance (the file limit plus framing, never below 1 MiB) is refused unread.
    huge = _upload(client, cast, "analyst.centre", case.id, b"x" * 1_100_000, "huge.txt", "text/plain")
    assert assert_problem(huge, 413)["detail"] == "the request body is over 1,048,576 bytes"
    monkeypatch.setattr(get_settings(), "attachment_max_bytes", limit)  # (not undo(): the store stays put)
    # Documents larger than the 1 MiB every other request is held to are accepted up to their own limit.
    two_mib = b"line of a long statement\n" * 84_000
    assert (
        _upload(client, cast, "analyst.centre", case.id, two_mib, "long.txt", "text/plain").status_code == 201
    )
    low = _upload(
        client,
        cast,
        "analyst.centre",
        make_case(cast, "submitted").id,
        TEXT,
        "a.txt",
        "text/plain",
        "OFFICIAL",
    )
    assert "marking" in assert_problem(low, 422)["detail"]
    events = client.get(f"/api/v1/cases/{case.id}/events", headers=auth(cast, "analyst.centre")).json()
    assert [e["trigger"] for e in events] == ["submit", "attach"]  # the refused ones wrote nothing
