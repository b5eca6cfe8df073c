"""Deconfliction as people read it: a case's candidate and confirmed links (case page, API), counts for
the assessment queue, and groups of linked cases with their lead case and co-ordinating hub (tasking
list). Need-to-know holds throughout (workflow.deconfliction.need_to_know): a requester learns only
that the centre co-ordinates their request; staff see the other case's details only where they may see
that case, and otherwise that a case outside their view is linked."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from workflow import access
from workflow.deconfliction.need_to_know import COORDINATING, sees_links
from workflow.principals import Principal
from workflow.reads import _find, _log
from workflow.tables import CASE, LINK, TARGET_NAME

# The other side of a reason, hidden from a reader who may not see the other case.
_OTHER_SIDE = ("other_field", "other_name", "other_normalised")


@dataclass(frozen=True)
class OtherCase:
    """The other case of a link, as far as the reader may see it (None: outside their view)."""

    id: int
    reference: str
    title: str
    target_type: str
    target_name: str
    requesting_unit: str
    hub: str | None
    state: str


@dataclass(frozen=True)
class LinkView:
    id: int
    status: str  # candidate, confirmed, dismissed
    score: float
    reasons: list[dict[str, Any]]
    other: OtherCase | None
    raised_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    lead_case_id: int | None
    coordinating_hub: str | None
    may_decide: bool


@dataclass(frozen=True)
class CaseLinks:
    """What a reader is told of a case's links: every link (staff) or only whether it is co-ordinated."""

    case_id: int
    coordinated: bool
    links: list[LinkView]
    note: str | None = None  # for a requester: COORDINATING, when it is
    # The target's other names and places as the request gave them (the reader may see the case).
    names: tuple[str, ...] = ()
    staff: bool = False  # told of links (not only of co-ordination)

    @property
    def candidates(self) -> list[LinkView]:
        return [v for v in self.links if v.status == "candidate"]

    @property
    def confirmed(self) -> list[LinkView]:
        return [v for v in self.links if v.status == "confirmed"]


def _touching(case_ids: Collection[int]) -> Any:
    return or_(LINK.c.older_case_id.in_(case_ids), LINK.c.newer_case_id.in_(case_ids))


def _other(row: Mapping[str, Any], case_id: int) -> int:
    return int(row["newer_case_id"] if row["older_case_id"] == case_id else row["older_case_id"])


def links_of(
    session: Session, *, who: Principal, case_id: int, now: datetime | None = None, log: bool = True
) -> CaseLinks:
    """A case's links as `who` may know them (NotFound if they may not see the case). The read is logged
    unless the caller logged its own read of the case (the case page)."""
    _find(session, who, case_id, "links")
    rows = [
        dict(r)
        for r in session.execute(
            select(LINK).where(_touching([case_id])).order_by(LINK.c.score.desc(), LINK.c.id)
        ).mappings()
    ]
    coordinated = any(r["status"] == "confirmed" for r in rows)
    names = tuple(
        session.execute(
            select(TARGET_NAME.c.name)
            .where(TARGET_NAME.c.case_id == case_id, TARGET_NAME.c.field != "target_name")
            .order_by(TARGET_NAME.c.id)
        ).scalars()
    )
    if log:
        _log(session, who, case_id, "links", now)
    if not sees_links(who):
        return CaseLinks(case_id, coordinated, [], COORDINATING if coordinated else None, names)
    wanted = {_other(r, case_id) for r in rows}
    others = {r["id"]: dict(r) for r in session.execute(select(CASE).where(CASE.c.id.in_(wanted))).mappings()}
    decides = access.may(who, "confirm_link", {})
    views = []
    for r in rows:
        o = others[_other(r, case_id)]
        seen = access.can_see(who, o)
        views.append(
            LinkView(
                id=r["id"],
                status=r["status"],
                score=r["score"],
                reasons=[
                    {k: v for k, v in reason.items() if seen or k not in _OTHER_SIDE}
                    for reason in r["reasons"]
                ],
                other=OtherCase(
                    o["id"],
                    o["reference"],
                    o["title"],
                    o["target_type"],
                    o["target_name"],
                    o["requesting_unit"],
                    o["hub"],
                    o["state"],
                )
                if seen
                else None,
                raised_at=r["raised_at"],
                decided_by=r["decided_by"],
                decided_at=r["decided_at"],
                decision_reason=r["decision_reason"] if seen else None,
                lead_case_id=r["lead_case_id"] if seen else None,
                coordinating_hub=r["coordinating_hub"],
                may_decide=seen and decides,
            )
        )
    return CaseLinks(case_id, coordinated, views, None, names, staff=True)


@dataclass(frozen=True)
class LinkCounts:
    candidates: int = 0
    confirmed: int = 0


def counts_for(session: Session, *, who: Principal, case_ids: Collection[int]) -> dict[int, LinkCounts]:
    """Open candidates and confirmed links per case, for lists (the assessment queue); nothing for a
    reader who is not told of links. The caller has already read the cases through the access policy."""
    if not case_ids or not sees_links(who):
        return {}
    wanted = set(case_ids)
    tally: dict[int, list[int]] = {}
    query = select(LINK.c.older_case_id, LINK.c.newer_case_id, LINK.c.status).where(
        _touching(wanted), LINK.c.status != "dismissed"
    )
    for older, newer, status in session.execute(query):
        for cid in (older, newer):
            if cid in wanted:
                t = tally.setdefault(cid, [0, 0])
                t[0 if status == "candidate" else 1] += 1
    return {cid: LinkCounts(c, f) for cid, (c, f) in tally.items()}


@dataclass(frozen=True)
class Group:
    """Cases confirmed as work on one target: who leads, which hub co-ordinates, who is in it."""

    lead_case_id: int
    coordinating_hub: str | None
    members: tuple[int, ...]  # those the reader may see, lead first when they may see it
    hidden: int  # members outside the reader's view (counted, never named)
    references: Mapping[int, str]  # of the members the reader may see

    @property
    def lead_reference(self) -> str | None:
        """The lead case's reference, where the reader may see the lead."""
        return self.references.get(self.lead_case_id)

    @property
    def size(self) -> int:
        return len(self.members) + self.hidden


def groups_for(session: Session, *, who: Principal, case_ids: Collection[int]) -> dict[int, Group]:
    """The group of every case among `case_ids` that has confirmed links, keyed by case id (cases of one
    group share the Group). The lead is the one last nominated when a link was confirmed, else the
    oldest case; the co-ordinating hub the one last nominated, else the lead's hub."""
    if not case_ids or not sees_links(who):
        return {}
    # Grow the groups out from the cases asked about, link by link (groups are small: a few cases).
    seen: set[int] = set()
    frontier = set(case_ids)
    links: dict[int, Mapping[str, Any]] = {}
    while frontier:
        seen |= frontier
        found = session.execute(
            select(LINK).where(_touching(frontier), LINK.c.status == "confirmed")
        ).mappings()
        fresh = [dict(r) for r in found if r["id"] not in links]
        links.update((r["id"], r) for r in fresh)
        frontier = {c for r in fresh for c in (r["older_case_id"], r["newer_case_id"])} - seen
    parent: dict[int, int] = {}

    def root(c: int) -> int:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    for r in links.values():
        a, b = root(r["older_case_id"]), root(r["newer_case_id"])
        if a != b:
            parent[max(a, b)] = min(a, b)
    components: dict[int, list[int]] = {}
    for c in {c for r in links.values() for c in (r["older_case_id"], r["newer_case_id"])}:
        components.setdefault(root(c), []).append(c)
    members_all = {c for cs in components.values() for c in cs}
    cases = {
        r["id"]: dict(r) for r in session.execute(select(CASE).where(CASE.c.id.in_(members_all))).mappings()
    }
    by_decision = sorted(links.values(), key=lambda r: (r["decided_at"] is None, r["decided_at"], r["id"]))
    out: dict[int, Group] = {}
    for top, cs in components.items():
        mine = [r for r in by_decision if root(r["older_case_id"]) == top]
        leads = [r["lead_case_id"] for r in mine if r["lead_case_id"] is not None]
        hubs = [r["coordinating_hub"] for r in mine if r["coordinating_hub"] is not None]
        lead = leads[-1] if leads else min(cs)
        hub = hubs[-1] if hubs else cases[lead]["hub"]
        visible = sorted((c for c in cs if access.can_see(who, cases[c])), key=lambda c: (c != lead, c))
        refs = {c: str(cases[c]["reference"]) for c in visible}
        group = Group(lead, hub, tuple(visible), len(cs) - len(visible), refs)
        for c in cs:
            if c in case_ids:
                out[c] = group
    return out


__all__: Sequence[str] = (
    "CaseLinks",
    "Group",
    "LinkCounts",
    "LinkView",
    "counts_for",
    "groups_for",
    "links_of",
)
