"""`sctac records ...`: case notes and documents, the records search, subject access and the orphan sweep."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api import disclosure_render
from api.cli_support import AS_HELP, acting_as, cli_session, fail, guarded, print_json
from workflow import disclosure, queries, records
from workflow.principals import OPERATOR
from workflow.reads import records as record_reads

records_app = typer.Typer(no_args_is_help=True, help="Case notes and documents; subject access (DPO).")
Key = Annotated[str, typer.Argument(help="reference (SCT-2026-000123) or id")]
Actor = Annotated[str | None, typer.Option("--as", help=AS_HELP)]
MarkingOpt = Annotated[str | None, typer.Option(help="OFFICIAL or OFFICIAL-SENSITIVE (default: the case's)")]


@records_app.command("note")
@guarded
def note(
    key: Key,
    text: Annotated[str, typer.Argument(help="the note ('-': read it from stdin)")],
    marking: MarkingOpt = None,
    actor: Actor = None,
) -> None:
    """Add a note to a case's log."""
    body = sys.stdin.read() if text == "-" else text
    with cli_session() as session:
        case = queries.find_case(session, key=key)
        done = records.add_note(
            session, case_id=case.id or 0, by=acting_as(session, actor), text=body.strip(), marking=marking
        )
    typer.echo(f"{done.reference}: note added (event {done.event_seq}, version {done.version})")


@records_app.command("attach")
@guarded
def attach(
    key: Key,
    file: Annotated[Path, typer.Argument(help="the document")],
    marking: MarkingOpt = None,
    actor: Actor = None,
) -> None:
    """Attach a document (its type is read from its content)."""
    try:
        stream = file.open("rb")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    with stream, cli_session() as session:
        case = queries.find_case(session, key=key)
        done = records.attach(
            session,
            case_id=case.id or 0,
            by=acting_as(session, actor),
            stream=stream,
            name=file.name,
            marking=marking,
        )
        event = queries.history(session, case_id=done.case_id)[-1]
    ref = event.payload["attachment"]
    typer.echo(f"{done.reference}: attached {ref['name']} sha256={ref['sha256']} (event {done.event_seq})")


@records_app.command("list")
@guarded
def list_records(key: Key, actor: Actor = None) -> None:
    """A case's notes and documents, oldest first (as --as USER may see them)."""
    with cli_session() as session:
        case = queries.find_case(session, key=key)
        for r in record_reads.case_records(session, who=acting_as(session, actor), case_id=case.id or 0):
            if r.withheld:
                what = f"(withheld: marked {r.marking})"
            elif r.kind == "note":
                what = r.text or "(text removed)"
            else:
                assert r.file is not None
                f = r.file
                what = f"{f['name']} {f['size']} bytes {f['media_type']} sha256={f['sha256']}"
            typer.echo(f"{r.seq:>3}  {r.at:%Y-%m-%d %H:%M}  {r.actor:<16} {r.kind:<10} [{r.marking}] {what}")


@records_app.command("get")
@guarded
def get(
    key: Key,
    sha256: Annotated[str, typer.Argument(help="the document's SHA-256")],
    output: Annotated[Path, typer.Option("-o", help="where to write it")],
    actor: Actor = None,
) -> None:
    """Write a document to a file (logged as a read of the case)."""
    with cli_session() as session:
        case = queries.find_case(session, key=key)
        got = record_reads.attachment_file(
            session, who=acting_as(session, actor), case_id=case.id or 0, sha256=sha256.lower()
        )
    output.write_bytes(got.path.read_bytes())
    typer.echo(f"{output}: {got.size} bytes, {got.media_type}, named {got.name}")


@records_app.command("search")
@guarded
def search(
    words: Annotated[str, typer.Argument(help="words to find in notes and document names")],
    actor: Actor = None,
) -> None:
    """Notes and document names naming these words (fuzzy), in the cases --as USER may see."""
    with cli_session() as session:
        for f in record_reads.search_records(session, who=acting_as(session, actor), q=words):
            typer.echo(f"{f.reference}\tevent {f.record.seq}\t{f.record.kind}\t{f.title}")


@records_app.command("subject")
@guarded
def subject(
    name: Annotated[str, typer.Argument(help="the subject's name")],
    export: Annotated[str | None, typer.Option(help="json or pdf: write the disclosure bundle")] = None,
    output: Annotated[Path | None, typer.Option("-o", help="the bundle's file (with --export)")] = None,
    actor: Actor = None,
) -> None:
    """Subject access: every case, note and document naming a person (logged); --export writes the bundle."""
    if export not in (None, "json", "pdf"):
        raise fail("--export: json or pdf")
    if export is not None and output is None:
        raise fail("--export needs -o FILE")
    with cli_session() as session:
        by = acting_as(session, actor)
        if export is None:
            print_json([i.as_dict() for i in disclosure.search(session, by=by, name=name)])
            return
        bundle = disclosure.bundle(session, by=by, name=name, fmt=export)
    assert output is not None
    output.write_bytes(
        disclosure_render.as_pdf(bundle) if export == "pdf" else disclosure_render.as_json(bundle)
    )
    typer.echo(
        f"{output}: {bundle['counts']['items']} items, {bundle['counts']['for_review']} marked for review"
    )


@records_app.command("subject-log")
@guarded
def subject_log(
    user: Annotated[str | None, typer.Option(help="only this account's")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Every subject search and export, newest first."""
    with cli_session() as session:
        for r in disclosure.access_log(session, by=OPERATOR, username=user, limit=limit):
            typer.echo(f"{r.at:%Y-%m-%d %H:%M:%S}  {r.username:<16} {r.action:<12} {r.matches:>5}  {r.query}")


@records_app.command("sweep")
@guarded
def sweep(
    older_than: Annotated[float, typer.Option(help="seconds an unreferenced file must have lain")] = 3600.0,
) -> None:
    """Delete stored files no event references (uploads whose transaction never committed)."""
    with cli_session() as session:
        removed = records.sweep_orphans(session, older_than_seconds=older_than)
    typer.echo(f"removed {len(removed)} orphaned file(s)")
