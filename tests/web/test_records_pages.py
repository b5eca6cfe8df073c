"""The case page's notes and documents panel: add a note, attach a file (multipart, with the CSRF
token), download it as an attachment, see withheld ones as existing only, and search them."""

from __future__ import annotations

import hashlib
import io

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.api.clients import SENSITIVE, add_cast, make_case
from tests.factories import add_people
from tests.web.pages import visitor


def test_notes_and_documents_on_the_case_page(engine: Engine) -> None:
    add_cast(engine)
    with Session(engine, expire_on_commit=False) as s:
        add_people(s, [("owner.east.official", ["case_owner"], None, "EAST", "OFFICIAL")])
    case = make_case(engine, "tasked", protective_marking="OFFICIAL")
    sup = visitor(engine, "sup.east2")
    page = sup.get(f"/cases/{case.id}").text
    assert f'action="/cases/{case.id}/notes"' in page and f'action="/cases/{case.id}/attachments"' in page
    assert f"/cases/{case.id}/actions/note" not in page  # not a generic action form
    note = {"note": "Source meeting set for Friday.", "note_marking": SENSITIVE}
    done = sup.post(f"/cases/{case.id}/notes", note)
    assert done.status_code == 303 and done.headers["location"].startswith(f"/cases/{case.id}?done=note")
    assert "Done: Add a note." in sup.get(done.headers["location"]).text
    body = b"Exhibit list, 4 items.\n"
    up = sup.client.post(
        f"/cases/{case.id}/attachments",
        data={"csrf_token": sup.csrf, "marking": "OFFICIAL"},
        files={"file": ("exhibits.txt", io.BytesIO(body), "text/plain")},
        follow_redirects=False,
    )
    assert up.status_code == 303, up.text
    digest = hashlib.sha256(body).hexdigest()
    page = sup.get(f"/cases/{case.id}").text
    assert "Source meeting set for Friday." in page and f"/cases/{case.id}/attachments/{digest}" in page
    # The case is OFFICIAL, the note it shows is not: the page carries the highest marking it shows.
    assert f'class="marking marking-{SENSITIVE.lower()}"' in page
    got = sup.get(f"/cases/{case.id}/attachments/{digest}")
    assert got.status_code == 200 and got.content == body
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    # An owner not cleared for the note sees that it exists, not what it says.
    uncleared = visitor(engine, "owner.east.official").get(f"/cases/{case.id}").text
    assert "Source meeting" not in uncleared and f"marked {SENSITIVE} exists" in uncleared
    assert 'class="marking marking-official"' in uncleared
    # The search page: misspelt, need-to-know applied.
    found = sup.get("/records/search", params={"q": "exhibts"}).text
    assert case.reference in found and "exhibits.txt" in found
    assert "Nothing found" in visitor(engine, "req.cs").get("/records/search", params={"q": "exhibits"}).text


def test_a_refused_upload_says_why_on_the_page_and_keeps_nothing(engine: Engine) -> None:
    add_cast(engine)
    case = make_case(engine, "submitted", protective_marking="OFFICIAL")
    sup = visitor(engine, "analyst.centre")
    up = sup.client.post(
        f"/cases/{case.id}/attachments",
        data={"csrf_token": sup.csrf},
        files={"file": ("notes.txt", io.BytesIO(b"<html><script>alert(1)</script></html>"), "text/plain")},
        follow_redirects=False,
    )
    assert up.status_code == 415 and "text/html" in up.text and "Nothing was saved" in up.text
    assert "No notes or documents yet." in up.text
    no_csrf = sup.client.post(
        f"/cases/{case.id}/attachments",
        files={"file": ("a.txt", io.BytesIO(b"plain\n"), "text/plain")},
        follow_redirects=False,
    )
    assert no_csrf.status_code in (400, 403)


def test_the_dpo_finds_and_exports_a_subject_on_the_pages(engine: Engine) -> None:
    add_cast(engine)
    with Session(engine, expire_on_commit=False) as s:
        add_people(s, [("dpo", ["dpo"], None, None)])
    case = make_case(engine, "submitted", protective_marking="OFFICIAL", target_name="Aisha Begum")
    dpo = visitor(engine, "dpo")
    home = dpo.get("/").text
    assert 'href="/dpo/subjects"' in home
    page = dpo.get("/dpo/subjects", params={"name": "Aysha Begum"})
    assert page.status_code == 200 and case.reference in page.text and "format=pdf" in page.text
    pdf = dpo.get("/dpo/subjects/export", params={"name": "Aysha Begum", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    analyst = visitor(engine, "analyst.centre")
    assert 'href="/dpo/subjects"' not in analyst.get("/").text
    assert analyst.get("/dpo/subjects").status_code == 403
    assert analyst.get("/dpo/subjects", params={"name": "Aisha Begum"}).status_code == 403
