"""Retention and redaction (issue 14): review dates from closing dates, decisions recorded, a disposal
that redacts the history while `audit verify` still passes (reporting it as redacted), a hand edit that
still fails, and a disposal that names no decision refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

import rules
from rules.retention import Period, load_retention
from tests.factories import case_in, unchecked
from workflow import audit, redaction, service
from workflow.errors import GuardFailed, InvalidInput
from workflow.principals import Principal
from workflow.tables import ASSESSMENT, CASE, EVENT, RETENTION

RECORDS = Principal(username="records1", roles=frozenset({"records_officer"}), clearance="OFFICIAL-SENSITIVE")
CLOSED_AT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def _close_p4(session: Session, at: datetime = CLOSED_AT) -> int:
    """A case scored P4 by the default matrix (the factories' default inputs), closed at `at`."""
    reviewed = case_in(session, "reviewed")
    closed = service.fire(
        session,
        case_id=reviewed.case_id,
        trigger="close",
        by=unchecked("owner.east"),
        data={"outcome": "disrupted"},
        now=at,
    )
    return closed.case_id


def _case(session: Session, case_id: int) -> dict[str, object]:
    return dict(session.execute(select(CASE).where(CASE.c.id == case_id)).mappings().one())


def test_review_date_follows_the_closing_date_and_the_group(session: Session) -> None:
    case_id = _close_p4(session)
    case = _case(session, case_id)
    # rules/default/retention.yaml: a closed P4 falls in mopi-3-closed-p4, reviewed after 3 years.
    assert case["band"] == "P4"
    assert (case["retention_group"], case["retention_review_at"]) == (
        "mopi-3-closed-p4",
        datetime(2029, 3, 10, 9, 30, tzinfo=UTC),
    )


def test_a_rejected_request_is_reviewed_after_two_years(session: Session) -> None:
    rejected = case_in(session, "rejected")
    case = _case(session, rejected.case_id)
    assert case["retention_group"] == "mopi-3-not-taken-up"
    assert case["retention_review_at"].year - case["updated_at"].year == 2  # type: ignore[attr-defined]


def test_retain_records_the_decision_and_moves_the_review(session: Session) -> None:
    case_id = _close_p4(session)
    service.fire(
        session,
        case_id=case_id,
        trigger="retain",
        by=RECORDS,
        data={"reason": "Linked to an open OCG investigation", "next_review": "2031-01-15"},
        now=datetime(2029, 3, 11, tzinfo=UTC),
    )
    decision = session.execute(select(RETENTION)).mappings().one()
    assert (decision["decision"], decision["reason"], decision["decided_by"]) == (
        "retain",
        "Linked to an open OCG investigation",
        "records1",
    )
    assert decision["next_review_at"] == datetime(2031, 1, 15, tzinfo=UTC)
    assert _case(session, case_id)["retention_review_at"] == datetime(2031, 1, 15, tzinfo=UTC)


def test_retain_needs_a_reason_and_a_future_date(session: Session) -> None:
    case_id = _close_p4(session)
    with pytest.raises(GuardFailed) as needs:
        service.fire(session, case_id=case_id, trigger="retain", by=RECORDS, data={})
    assert [p.field for p in needs.value.problems] == ["reason", "next_review"]
    with pytest.raises(InvalidInput) as err:
        service.fire(
            session,
            case_id=case_id,
            trigger="retain",
            by=RECORDS,
            data={"reason": "x", "next_review": "2020-01-01"},
        )
    assert [p.field for p in err.value.problems] == ["next_review"]
    assert session.execute(select(RETENTION)).first() is None  # nothing half-written


def test_disposal_redacts_and_the_audit_says_so(engine: object, session: Session) -> None:
    case_id = _close_p4(session)
    with session.bind.begin() as conn:  # type: ignore[union-attr]
        # The assessment's rationale (kept beside the chain, in the assessment row) names a person.
        conn.execute(
            update(ASSESSMENT).where(ASSESSMENT.c.case_id == case_id).values(rationale="Nominal: J. Doe")
        )
    at = datetime(2029, 4, 1, 10, 0, tzinfo=UTC)
    done = service.fire(
        session,
        case_id=case_id,
        trigger="dispose",
        by=RECORDS,
        data={"reason": "Past review; no link"},
        now=at,
    )
    submit = session.execute(
        select(EVENT.c.payload).where(EVENT.c.case_id == case_id, EVENT.c.seq == 1)
    ).scalar_one()
    assert submit["request"]["target_name"] == "[redacted]"
    assert submit["request"]["summary"] == "[redacted]"
    assert submit["request"]["requesting_unit"] == "NE"  # not personal: kept
    case = _case(session, case_id)
    assert (case["target_name"], case["title"], case["disposed_at"]) == ("[redacted]", "[redacted]", at)
    rationales = session.execute(
        select(ASSESSMENT.c.rationale).where(ASSESSMENT.c.case_id == case_id)
    ).scalars()
    assert all(r in (None, "[redacted]") for r in rationales)
    decision = session.execute(select(RETENTION)).mappings().one()
    assert (decision["decision"], decision["event_seq"]) == ("dispose", done.event_seq)

    report = audit.verify(session)
    assert report.ok, report.breaks
    ref = done.reference
    assert [str(r) for r in report.redacted] == [
        f"{ref} event 1: redacted by records1 on 2029-04-01 under decision {decision['id']}"
    ]
    # A disposed case is not offered for disposal again.
    with pytest.raises(Exception, match="already disposed"):
        service.fire(session, case_id=case_id, trigger="dispose", by=RECORDS, data={"reason": "again"})


def test_a_hand_edit_after_a_disposal_still_fails(engine: object, session: Session) -> None:
    case_id = _close_p4(session)
    service.fire(session, case_id=case_id, trigger="dispose", by=RECORDS, data={"reason": "Past review"})
    with session.bind.begin() as conn:  # type: ignore[union-attr]
        row = conn.execute(
            select(EVENT.c.id, EVENT.c.payload).where(EVENT.c.case_id == case_id, EVENT.c.seq == 2)
        ).one()
        conn.execute(
            update(EVENT).where(EVENT.c.id == row.id).values(payload={**row.payload, "note": "approved"})
        )
    report = audit.verify(session)
    assert [(b.seq, b.problem) for b in report.breaks] == [
        (2, "reason or payload does not match its sealed digest (row altered)")
    ]


def test_a_redacted_payload_edited_again_is_altered(engine: object, session: Session) -> None:
    case_id = _close_p4(session)
    service.fire(session, case_id=case_id, trigger="dispose", by=RECORDS, data={"reason": "Past review"})
    with session.bind.begin() as conn:  # type: ignore[union-attr]
        row = conn.execute(
            select(EVENT.c.id, EVENT.c.payload).where(EVENT.c.case_id == case_id, EVENT.c.seq == 1)
        ).one()
        payload = {**row.payload, "request": {**row.payload["request"], "target_name": "someone else"}}
        conn.execute(update(EVENT).where(EVENT.c.id == row.id).values(payload=payload))
    report = audit.verify(session)
    assert [(b.seq, b.problem) for b in report.breaks] == [
        (1, "reason or payload does not match its sealed digest (row altered)")
    ]


def test_erasing_without_a_recorded_decision_is_refused(session: Session) -> None:
    case_id = _close_p4(session)
    with pytest.raises(InvalidInput) as err:
        redaction.redact_events(
            session, case_id=case_id, decision_id=None, paths=[("request", "summary")], before_seq=99
        )
    assert [(p.field, p.message) for p in err.value.problems] == [
        ("decision", "a disposal must name the recorded decision it carries out")
    ]
    with pytest.raises(InvalidInput) as err:
        redaction.redact_events(
            session, case_id=case_id, decision_id=12345, paths=[("request", "summary")], before_seq=99
        )
    assert err.value.problems[0].field == "decision"
    with pytest.raises(GuardFailed) as needs:
        service.fire(session, case_id=case_id, trigger="dispose", by=RECORDS, data={})
    assert [p.field for p in needs.value.problems] == ["reason"]


def test_attachments_are_removed_after_the_commit_with_their_digests_kept(session: Session) -> None:
    digest = "ab" * 32
    removed: list[str] = []
    # An attachment as the notes' store records it: the file named by its digest in the payload.
    assert list(redaction.blobs_in({"attachment": {"sha256": digest, "name": "a.pdf"}, "n": [1]})) == [digest]
    remover = redaction.register_blob_remover(removed.append)
    try:
        session.info["sctac_blobs_to_remove"] = {digest}
        session.rollback()
        assert removed == []  # a rollback keeps the file
        session.info["sctac_blobs_to_remove"] = {digest}
        session.commit()
        assert removed == [digest]
    finally:
        redaction.unregister_blob_remover(remover)


def test_retention_file_errors_name_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "retention.yaml"
    bad.write_text(
        "retention_groups:\n"
        "  - name: g1\n"
        "    when: {band: P9}\n"
        "    review_after: {years: -1}\n"
        "retention_default: {name: d, review_after: {weeks: 2}}\n"
        "retention_redact: {payload: [request.summary], case: [reference]}\n",
        encoding="utf-8",
    )
    with pytest.raises(rules.RuleFileErrors) as err:
        load_retention(bad)
    lines = [str(e).replace(str(bad), "F") for e in err.value.errors]
    assert lines == [
        'F:3:18: retention_groups[0].when.band: unknown band "P9" (allowed: P1, P2, P3, P4)',
        "F:4:27: retention_groups[0].review_after.years: must be at least 0, got -1",
        "F:5:45: retention_default.review_after.weeks: unknown field (allowed: days, months, years)",
        "F:6:55: retention_redact.case[0]: not a case column disposal may blank (allowed: title, summary,"
        " target_name, awaiting_reason, deferred_reason)",
    ]
    assert rules.check(tmp_path).errors  # `sctac rules check` sees them too
    shipped = load_retention(rules.DEFAULT_RULESET_PATH / "retention.yaml")
    assert shipped.group_for({"state": "closed", "band": "P4"}).review_after.years == 3
    assert Period(years=1).after(datetime(2024, 2, 29, tzinfo=UTC)).date() == date(2025, 2, 28)


def test_disposal_redacts_free_text_reasons_too(engine: object, session: Session) -> None:
    rejected = case_in(session, "rejected")
    done = service.fire(
        session, case_id=rejected.case_id, trigger="dispose", by=RECORDS, data={"reason": "Past review"}
    )
    reasons = session.execute(
        select(EVENT.c.seq, EVENT.c.reason).where(EVENT.c.case_id == rejected.case_id).order_by(EVENT.c.seq)
    ).all()
    # The rejection's reason is redacted; the disposal's own reason is the decision's record.
    assert [tuple(r) for r in reasons] == [(1, None), (2, "[redacted]"), (3, "Past review")]
    report = audit.verify(session)
    assert report.ok, report.breaks
    assert [(r.reference, r.seq) for r in report.redacted] == [(done.reference, 1), (done.reference, 2)]
