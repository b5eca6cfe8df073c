"""Every trigger a person can fire, each defined once: its edges, input, guards, who may fire it, what it
does to the clocks, who is told, the facts it records for reports, and how the pages present it.

Everything else is derived from `REGISTRY`: the `transitions` machine and the legal moves
(`workflow.lifecycle`), the permission table (`workflow.access`), the fields each trigger accepts
(`workflow.schemas`), the notification map and clock effects (the service reads them from here), the
report's event facts (`workflow.facts`) and weekly counts, and the case page's buttons and forms. Adding
a trigger is adding one `TriggerSpec` below (and a template if its form needs more than fields); a test
holds every spec complete, and another defines a test-only trigger and finds it everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from workflow import effects, localtime, notes
from workflow.clocks import Clock
from workflow.deconfliction import decisions as link_decisions
from workflow.effects import Effect
from workflow.errors import FieldProblem
from workflow.facts import DECIDING_FACTS, SCORING_FACTS
from workflow.principals import Grant
from workflow.states import CLOCKED, OUTCOMES, TERMINAL, State

# A guard looks at the case (as a mapping of its columns) and the caller's input, and returns every
# problem it finds, so a person sees all that is missing at once.
Guard = Callable[[Mapping[str, Any], Mapping[str, Any]], list[FieldProblem]]
# A condition looks at the case alone: a trigger whose condition fails is not offered at all.
Condition = Callable[[Mapping[str, Any]], FieldProblem | None]


@dataclass(frozen=True)
class Need:
    """An input field the trigger cannot do without, and what to tell a person who left it out."""

    field: str
    message: str


@dataclass(frozen=True)
class Page:
    """How the pages present a trigger."""

    label: str
    # The fields of its form, in order (the MoRiLE fields have a form of their own: `form="assessment"`).
    fields: tuple[str, ...] = ()
    # Said once it is done; `{reference}` is the case's reference.
    confirm: str = "{reference} updated."
    # "records": shown by the case page's notes and attachments panel, not as an action form.
    # "link": one form per candidate link, drawn by the case page's links section (_case_links.html).
    form: Literal["action", "assessment", "records", "link"] = "action"
    # What the `reason` box is called on this form, where "Reason" is not what it holds.
    reason_label: str = "Reason"


@dataclass(frozen=True)
class TriggerSpec:
    name: str
    # Where it may be fired from, and where it takes the case (None: it stays where it is).
    sources: tuple[State, ...]
    dest: State | None
    # Who may fire it (any one grant suffices), on top of seeing the case.
    grants: tuple[Grant, ...]
    page: Page
    # The input fields it accepts (of workflow.schemas.TransitionInput).
    fields: frozenset[str] = frozenset({"reason"})
    needs: tuple[Need, ...] = ()
    guards: tuple[Guard, ...] = ()
    conditions: tuple[Condition, ...] = ()
    effect: Effect | None = None
    clock: Clock = Clock.FOLLOW
    # Roles told of it (notifications/ turns them into people and channels).
    notify: tuple[str, ...] = ()
    # Event facts for the evaluation report: fact column -> path into the event's payload.
    facts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Counted per week in the report's throughput table.
    counted: bool = False

    @property
    def required(self) -> frozenset[str]:
        """Fields its form marks as required."""
        return frozenset(n.field for n in self.needs)

    def problems(self, case: Mapping[str, Any], data: Mapping[str, Any]) -> list[FieldProblem]:
        """Every reason it cannot be fired with this input now (conditions, needs, then guards)."""
        found = [p for c in self.conditions if (p := c(case)) is not None]
        found += [
            FieldProblem(n.field, n.message) for n in self.needs if data.get(n.field) in (None, "", [], {})
        ]
        for guard in self.guards:
            found.extend(guard(case, data))
        return found

    def offered(self, case: Mapping[str, Any]) -> bool:
        """Whether to offer it on a case in this condition (its input aside)."""
        return all(c(case) is None for c in self.conditions)


# -- guards and conditions ------------------------------------------------------------------------------


def _has_hub(case: Mapping[str, Any], data: Mapping[str, Any]) -> list[FieldProblem]:
    if data.get("hub") or case.get("hub"):
        return []
    return [FieldProblem("hub", "a hub is required to task a case (the rules routed it nowhere)")]


def _override_has_reason(case: Mapping[str, Any], data: Mapping[str, Any]) -> list[FieldProblem]:
    if data.get("override") and not data.get("reason"):
        return [FieldProblem("reason", "an override of the hub's capacity needs a reason")]
    return []


def _not_awaiting(case: Mapping[str, Any]) -> FieldProblem | None:
    since = case.get("awaiting_since")
    if since is None:
        return None
    return FieldProblem("state", f"already awaiting information since {localtime.moment(since)}")


def _not_disposed(case: Mapping[str, Any]) -> FieldProblem | None:
    if case.get("disposed_at") is None:
        return None
    return FieldProblem("state", f"already disposed of on {localtime.moment(case['disposed_at'])}")


def _awaiting(case: Mapping[str, Any]) -> FieldProblem | None:
    if case.get("awaiting_since") is not None:
        return None
    return FieldProblem("state", "the case is not awaiting information")


_ENDED = (State.CLOSED, State.REJECTED, State.WITHDRAWN)
_RECORDS_OFFICER = Grant("records_officer")
# Where a link between two cases may be decided: open cases and closed ones (deconfliction matches
# cases closed in the last SCTAC_DECONFLICTION_DAYS).
LINKABLE = (*(s for s in State if s not in TERMINAL), State.CLOSED)
_ASSESSMENT_FIELDS = frozenset({"assessment", "rationale", "reason"})
# Minutes spent on a step, optional (#16: the FBC staffing model reads them as measured effort).
_EFFORT = frozenset({"minutes"})
_EFFORT_FACTS: Mapping[str, tuple[str, ...]] = {"minutes": ("minutes",)}
_OWNER = Grant("case_owner", "owner")
_SUPERVISOR = Grant("supervisor")
# Who is involved in a case they can see: its requesting unit and every member of staff (hub or centre).
_INVOLVED = (Grant("requester", "unit"), Grant("analyst"), Grant("case_owner"), _SUPERVISOR)

# Which roles may fire which triggers. Analysts score; supervisors (hub leads, the tasking chair)
# prioritise, defer and task; the case's owner reviews, continues, reassesses and closes it, with
# supervisors able to act for an absent owner; requesters submit and withdraw their own unit's requests,
# and a supervisor may withdraw one on the unit's behalf. Admins run the system and act on no case.
SPECS: tuple[TriggerSpec, ...] = (
    # The first event of every case (workflow.service.submit_case): no source, so not a machine edge.
    TriggerSpec(
        name="submit",
        sources=(),
        dest=State.SUBMITTED,
        grants=(Grant("requester", "unit"),),
        page=Page("Submit a request", confirm="{reference} submitted."),
        fields=frozenset(),
        clock=Clock.REPLAN,
        notify=("requester",),
        facts={
            "unit": ("request", "requesting_unit"),
            "themes": ("request", "themes"),
            "capabilities": ("request", "capabilities"),
            **DECIDING_FACTS,
        },
        counted=True,
    ),
    TriggerSpec(
        name="assess",
        sources=(State.SUBMITTED,),
        dest=State.ASSESSED,
        grants=(Grant("analyst"),),
        page=Page("Assess (score with MoRiLE)", form="assessment", confirm="{reference} assessed."),
        fields=_ASSESSMENT_FIELDS | _EFFORT,
        needs=(Need("assessment", "a complete MoRiLE assessment is required to assess a case"),),
        effect=effects.score,
        notify=("requester",),
        facts={**SCORING_FACTS, **_EFFORT_FACTS},
        counted=True,
    ),
    TriggerSpec(
        name="prioritise",
        sources=(State.ASSESSED,),
        dest=State.PRIORITISED,
        grants=(_SUPERVISOR,),
        page=Page("Prioritise", ("reason", "minutes"), confirm="{reference} prioritised."),
        fields=frozenset({"reason"}) | _EFFORT,
        facts=_EFFORT_FACTS,
        effect=effects.rank,
        counted=True,
    ),
    TriggerSpec(
        name="task",
        sources=(State.PRIORITISED,),
        dest=State.TASKED,
        grants=(_SUPERVISOR,),
        page=Page(
            "Task to a hub and owner",
            ("hub", "owner", "team", "override", "reason", "minutes"),
            confirm="{reference} tasked.",
        ),
        fields=frozenset({"hub", "team", "owner", "override", "reason"}) | _EFFORT,
        needs=(Need("owner", "an owner is required to task a case"),),
        guards=(_has_hub, _override_has_reason),
        effect=effects.task,
        clock=Clock.NEW_CYCLE,
        notify=("owner", "requester"),
        facts={"hub": ("hub",), "owner": ("owner",), **_EFFORT_FACTS},
        counted=True,
    ),
    TriggerSpec(
        name="review",
        sources=(State.TASKED,),
        dest=State.REVIEWED,
        grants=(_OWNER, _SUPERVISOR),
        page=Page(
            "Record a review",
            ("strands", "progress", "reason", "minutes"),
            confirm="{reference}: review recorded.",
        ),
        fields=frozenset({"progress", "strands", "reason"}) | _EFFORT,
        needs=(Need("progress", "a review records the progress made"),),
        effect=effects.review,
        facts={"strands": ("strands",), **_EFFORT_FACTS},
        counted=True,
    ),
    TriggerSpec(
        name="continue",
        sources=(State.REVIEWED,),
        dest=State.TASKED,
        grants=(_OWNER, _SUPERVISOR),
        page=Page("Continue (next review cycle)", ("reason",), confirm="{reference} continues."),
        clock=Clock.NEW_CYCLE,
    ),
    TriggerSpec(
        name="reassess",
        sources=(State.TASKED, State.REVIEWED),
        dest=State.ASSESSED,
        grants=(_OWNER, _SUPERVISOR),
        page=Page(
            "Reassess (new intelligence)", ("reason",), confirm="{reference} sent back for assessment."
        ),
        fields=_ASSESSMENT_FIELDS,
        needs=(Need("reason", "say what new intelligence or change calls for reassessment"),),
        effect=effects.score,
        clock=Clock.RESTART,
        facts=SCORING_FACTS,
    ),
    TriggerSpec(
        name="close",
        sources=(State.REVIEWED,),
        dest=State.CLOSED,
        grants=(_OWNER, _SUPERVISOR),
        page=Page("Close with an outcome", ("outcome", "strands", "reason"), confirm="{reference} closed."),
        fields=frozenset({"outcome", "strands", "reason"}),
        needs=(Need("outcome", f"an outcome is required to close a case ({', '.join(OUTCOMES)})"),),
        effect=effects.close,
        notify=("requester", "hub_supervisor"),
        facts={"outcome": ("outcome",), "strands": ("strands",)},
        counted=True,
    ),
    TriggerSpec(
        name="reject",
        sources=(State.SUBMITTED, State.ASSESSED),
        dest=State.REJECTED,
        grants=(Grant("analyst"), _SUPERVISOR),
        page=Page("Reject", ("reason",), confirm="{reference} rejected."),
        needs=(Need("reason", "a reason is required to reject a request"),),
        notify=("requester",),
        counted=True,
    ),
    TriggerSpec(
        name="withdraw",
        sources=(State.SUBMITTED, State.ASSESSED, State.PRIORITISED),
        dest=State.WITHDRAWN,
        grants=(Grant("requester", "unit"), _SUPERVISOR),
        page=Page("Withdraw", ("reason",), confirm="{reference} withdrawn."),
        needs=(Need("reason", "a reason is required to withdraw a request"),),
        counted=True,
    ),
    TriggerSpec(
        name="rescore",
        sources=(State.ASSESSED, State.PRIORITISED, State.TASKED, State.REVIEWED),
        dest=None,
        grants=(Grant("analyst"), _OWNER),
        page=Page("Re-score", form="assessment", confirm="{reference} re-scored."),
        fields=_ASSESSMENT_FIELDS | _EFFORT,
        needs=(Need("assessment", "a complete MoRiLE assessment is required to re-score a case"),),
        effect=effects.score,
        clock=Clock.REPLAN,
        facts={**SCORING_FACTS, **_EFFORT_FACTS},
    ),
    # Story 6: the centre asks the requesting unit for missing information (pausing the SLA clock) and
    # the unit, or whoever took the answer by phone, records that it arrived.
    TriggerSpec(
        name="await_information",
        sources=CLOCKED,
        dest=None,
        grants=(Grant("analyst"), _OWNER, _SUPERVISOR),
        page=Page(
            "Ask the requester for information (pauses the SLA)",
            ("reason",),
            confirm="{reference}: the requester has been asked; the SLA clock is paused.",
            reason_label="What the centre needs from the requester",
        ),
        needs=(Need("reason", "say what the centre is waiting for from the requester"),),
        conditions=(_not_awaiting,),
        effect=effects.await_information,
        clock=Clock.REPLAN,
        notify=("requester",),
    ),
    # Story 4: the tasking meeting puts a case off, saying why; it stays on the tasking list, ranked as
    # before (a deferred P1 must not sink), and its SLA clock keeps running.
    TriggerSpec(
        name="defer",
        sources=(State.ASSESSED, State.PRIORITISED),
        dest=None,
        grants=(_SUPERVISOR,),
        page=Page(
            "Defer (stays on the tasking list)",
            ("reason",),
            confirm="{reference} deferred; the requester is told why.",
            reason_label="Why the meeting deferred it",
        ),
        needs=(Need("reason", "say why the meeting deferred it (the requester is told)"),),
        effect=effects.defer,
        notify=("requester",),
        counted=True,
    ),
    TriggerSpec(
        name="information_received",
        sources=CLOCKED,
        dest=None,
        grants=(Grant("requester", "unit"), Grant("analyst"), _OWNER, _SUPERVISOR),
        page=Page(
            "Information received (resumes the SLA)",
            ("reason",),
            confirm="{reference}: information received; the SLA clock runs again.",
            reason_label="What the requester sent",
        ),
        conditions=(_awaiting,),
        effect=effects.information_received,
        clock=Clock.REPLAN,
    ),
    # -- records: case log notes and attachments (issue 14; workflow/notes.py) ----------------------------
    # Append-only entries in the case's own chain, in any state (a closed case still gathers notes),
    # by anyone involved who can see the case: the requesting unit, the hub's staff, the centre. Each
    # has its own marking; readers not cleared for it see that it exists, not what it says. Nobody is
    # notified (a notification would have to carry or hint at the text).
    TriggerSpec(
        name="note",
        sources=tuple(State),
        dest=None,
        grants=_INVOLVED,
        page=Page("Add a note", ("note", "note_marking"), confirm="{reference}: note added.", form="records"),
        fields=frozenset({"note", "note_marking"}),
        needs=(Need("note", "write the note"),),
        effect=notes.note,
    ),
    TriggerSpec(
        name="attach",
        sources=tuple(State),
        dest=None,
        grants=_INVOLVED,
        page=Page(
            "Attach a document", ("attachment",), confirm="{reference}: document attached.", form="records"
        ),
        fields=frozenset({"attachment"}),
        needs=(Need("attachment", "choose a file to attach"),),
        effect=notes.attach,
    ),
    # Retention review (workflow/retention.py): an ended case falls due after its group's period; the
    # records officer keeps it until a next review, or disposes of it, which redacts its history under
    # the recorded decision (workflow/redaction.py) while the chain still verifies.
    TriggerSpec(
        name="retain",
        sources=_ENDED,
        dest=None,
        grants=(_RECORDS_OFFICER,),
        page=Page(
            "Retain (retention review)",
            ("reason", "next_review"),
            confirm="{reference} retained until its next review.",
            reason_label="Why it is kept",
        ),
        fields=frozenset({"reason", "next_review"}),
        needs=(
            Need("reason", "a decision to retain records its reason"),
            Need("next_review", "a decision to retain sets the next review date"),
        ),
        conditions=(_not_disposed,),
        effect=effects.retain,
    ),
    TriggerSpec(
        name="dispose",
        sources=_ENDED,
        dest=None,
        grants=(_RECORDS_OFFICER,),
        page=Page(
            "Dispose (retention review: redacts personal data)",
            ("reason",),
            confirm="{reference} disposed of: its personal data is redacted, its history still verifies.",
            reason_label="The decision to dispose, and why",
        ),
        needs=(Need("reason", "a disposal records the decision and its reason"),),
        conditions=(_not_disposed,),
        effect=effects.dispose,
    ),
    # -- hub transfer (issue 13, story 13) ---------------------------------------------------------------
    # A supervisor who can see the case (its hub's, or the chair) moves a tasked case to another hub,
    # saying why. The owner must be one the new hub may task (kept if they are, else a new one is
    # chosen), the team one of its teams; its load moves with it, so a full hub needs an override. The
    # timers and open escalations are the case's and follow it; the old hub's staff stop seeing it.
    # Before tasking, the task decision itself picks the hub, so only tasked work is transferred.
    TriggerSpec(
        name="transfer",
        sources=(State.TASKED, State.REVIEWED),
        dest=None,
        grants=(_SUPERVISOR,),
        page=Page(
            "Transfer to another hub",
            ("hub", "owner", "team", "override", "reason"),
            confirm="{reference} transferred; both hubs' supervisors are told.",
            reason_label="Why it moves",
        ),
        fields=frozenset({"hub", "owner", "team", "override", "reason"}),
        needs=(
            Need("hub", "say which hub the case moves to"),
            Need("reason", "a reason is required to transfer a case"),
        ),
        guards=(_override_has_reason,),
        effect=effects.transfer,
        notify=("hub_supervisor", "previous_hub_supervisor", "owner"),
        facts={"hub": ("hub",), "owner": ("owner",)},
    ),
    # -- deconfliction (issue 13) ------------------------------------------------------------------------
    # An analyst or supervisor decides a candidate link between two cases whose targets matched
    # (workflow/deconfliction): one event on each case, in one transaction. Open or recently closed cases
    # alike (a closed case's work still informs a new one; rejected and withdrawn requests were no work and
    # are never matched). Requesters are never told (need-to-know).
    TriggerSpec(
        name="confirm_link",
        sources=LINKABLE,
        dest=None,
        grants=(Grant("analyst"), _SUPERVISOR),
        page=Page(
            "Confirm the link (same target)",
            ("link", "lead_case", "hub", "reason"),
            confirm="{reference}: link confirmed; both cases record it.",
            form="link",
            reason_label="Why they are the same target",
        ),
        fields=frozenset({"link", "lead_case", "hub", "reason"}),
        needs=(
            Need("link", "say which candidate link is confirmed"),
            Need("reason", "say why the two cases are the same target"),
        ),
        effect=link_decisions.confirm,
    ),
    TriggerSpec(
        name="dismiss_link",
        sources=LINKABLE,
        dest=None,
        grants=(Grant("analyst"), _SUPERVISOR),
        page=Page(
            "Dismiss the link (different targets)",
            ("link", "reason"),
            confirm="{reference}: link dismissed; both cases record it.",
            form="link",
            reason_label="Why they are different targets",
        ),
        fields=frozenset({"link", "reason"}),
        needs=(
            Need("link", "say which candidate link is dismissed"),
            Need("reason", "say why the two cases are different targets"),
        ),
        effect=link_decisions.dismiss,
    ),
)

REGISTRY: dict[str, TriggerSpec] = {s.name: s for s in SPECS}

# Bumped whenever REGISTRY changes, so views derived from it (workflow.lifecycle.derived) rebuild.
_generation = [0]


def generation() -> int:
    return _generation[0]


def spec(name: str) -> TriggerSpec | None:
    return REGISTRY.get(name)


def fireable() -> list[TriggerSpec]:
    """Triggers a person fires on an existing case (everything but the submission), in lifecycle order."""
    return [s for s in REGISTRY.values() if s.sources]


@contextmanager
def registered(extra: TriggerSpec) -> Iterator[TriggerSpec]:
    """Add a trigger for the length of a block (tests: a test-only trigger must appear everywhere)."""
    if extra.name in REGISTRY:
        raise ValueError(f"trigger {extra.name!r} is already defined")
    REGISTRY[extra.name] = extra
    _generation[0] += 1
    try:
        yield extra
    finally:
        del REGISTRY[extra.name]
        _generation[0] += 1
