"""Staff needed to meet a service level at a forecast demand (#16): Erlang C, from the textbook formula.

The M/M/c queue (Erlang 1917; any queueing text, e.g. Gross & Harris): work items arrive at rate λ, each
takes on average `h` of a person's time, `c` people work one queue. With offered load a = λh (in
Erlangs), the probability an item has to wait is

    C(c, a) = (a^c / c! · c / (c - a)) / (Σ_{k<c} a^k / k! + a^c / c! · c / (c - a)),   for c > a,

the share answered within `t` is 1 - C(c, a) · e^{-(c - a) t / h}, and the mean wait is
C(c, a) h / (c - a).
With c ≤ a the queue grows without bound: every item eventually breaches.

How the centre maps onto it (each figure an editable, stated assumption, see `Assumptions`):
* the queue runs in working hours (`open_hours` a week); a target of T elapsed hours allows
  T · open_hours / 168 working hours of waiting;
* each FTE is one server who spends `productive_share` of their hours on this queue's work, so an item
  of m minutes occupies them for m / productive_share minutes;
* arrivals are the forecast's weekly items spread over the working week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOURS_A_WEEK = 168.0
MAX_STAFF = 1000


def erlang_c(servers: int, load: float) -> float:
    """The probability an arrival waits, C(servers, load); 1.0 where the queue is unstable."""
    if load <= 0:
        return 0.0
    if servers <= load:
        return 1.0
    # The terms a^k/k! built one from the last (no factorials, no overflow).
    term = 1.0
    total = 1.0
    for k in range(1, servers):
        term *= load / k
        total += term
    term *= load / servers
    top = term * servers / (servers - load)
    return top / (total + top)


def service_level(servers: int, load: float, wait: float, handle: float) -> float:
    """Share of arrivals that wait no longer than `wait` (same time unit as `handle`)."""
    if load <= 0:
        return 1.0
    if servers <= load:
        return 0.0
    return 1.0 - erlang_c(servers, load) * math.exp(-(servers - load) * wait / handle)


def mean_wait(servers: int, load: float, handle: float) -> float:
    if servers <= load:
        return math.inf
    return erlang_c(servers, load) * handle / (servers - load)


@dataclass(frozen=True)
class Target:
    """`share` of a stage's items done within `hours` (elapsed) of arriving."""

    stage: str
    share: float
    hours: float

    def problem(self) -> str | None:
        """Why no staffing can meet it, or None."""
        if not 0 < self.share < 1:
            return (
                f"{self.share:.0%} of {self.stage} items within {self.hours:g} h cannot be promised: a queue "
                "with random arrivals always has some chance of a long wait, so the share must be above 0% "
                "and below 100%"
            )
        if self.hours <= 0:
            return (
                f"{self.stage} within {self.hours:g} h: nothing is done the moment it arrives; "
                "give more than 0 hours"
            )
        return None


@dataclass(frozen=True)
class Assumptions:
    open_hours: float = 45.0  # Monday to Friday, 08:00 to 17:00
    productive_share: float = 0.65  # of a contracted FTE's hours, on case work

    def queue(self, items_a_week: float, minutes: float, target: Target) -> tuple[float, float, float]:
        """(offered load in Erlangs, handle time in working hours, allowed wait in working hours)."""
        handle = minutes / 60 / self.productive_share
        rate = items_a_week / self.open_hours
        return rate * handle, handle, target.hours * self.open_hours / HOURS_A_WEEK


def needed(items_a_week: float, minutes: float, target: Target, assumptions: Assumptions) -> int:
    """The fewest FTE meeting `target` for this demand and effort (0 when there is no demand)."""
    if items_a_week <= 0 or minutes <= 0:
        return 0
    load, handle, wait = assumptions.queue(items_a_week, minutes, target)
    staff = max(1, math.floor(load) + 1)
    while service_level(staff, load, wait, handle) < target.share:
        staff += 1
        if staff > MAX_STAFF:
            break
    return staff


def attainment(
    staff: int, items_a_week: float, minutes: float, target: Target, assumptions: Assumptions
) -> float:
    """Share of items meeting the target's time with `staff` FTE."""
    if items_a_week <= 0 or minutes <= 0:
        return 1.0
    load, handle, wait = assumptions.queue(items_a_week, minutes, target)
    return service_level(staff, load, wait, handle)
