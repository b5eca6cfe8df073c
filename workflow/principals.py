"""Who acts: people signed in, and the named system principals that act for timers, the worker and
the operator's command line. Every service call takes one; the event records its name.

Kept apart from the access policy (`workflow.access`) so that the trigger definitions can say who may
fire them (`Grant`) without importing the policy that is derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass

# `dpo`: the data-protection officer, who answers subject-access requests (workflow/disclosure.py); it
# sees no case through need-to-know and fires no trigger, it searches and exports subjects only.
# `records_officer`: reviews ended cases for retention and decides whether to keep or dispose of them.
ROLES = ("requester", "case_owner", "analyst", "supervisor", "admin", "dpo", "records_officer")
STAFF_ROLES = frozenset({"analyst", "case_owner", "supervisor"})
# The role of system principals only: no account can hold it (accounts take ROLES).
SYSTEM_ROLE = "system"
# Lowest first: a clearance covers its own marking and every one before it.
MARKINGS = ("OFFICIAL", "OFFICIAL-SENSITIVE")


@dataclass(frozen=True)
class Principal:
    """The acting person (built from the user row at each request) or a named system principal."""

    username: str
    roles: frozenset[str]
    unit_code: str | None = None
    hub_code: str | None = None
    clearance: str = "OFFICIAL"

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_system(self) -> bool:
        return SYSTEM_ROLE in self.roles

    @property
    def sees_everything(self) -> bool:
        return self.is_admin or self.is_system or (self.hub_code is None and bool(self.roles & STAFF_ROLES))

    def markings(self) -> tuple[str, ...]:
        """The markings this person's clearance covers (none for an unknown clearance)."""
        if self.clearance not in MARKINGS:
            return ()
        return MARKINGS[: MARKINGS.index(self.clearance) + 1]


def system(name: str) -> Principal:
    """A named system principal: sees every case and may fire every trigger (see access.may).

    Only code that already holds the database and the server's settings runs as one: the timer worker,
    the notification worker, a ruleset publish, the operator's CLI without --as."""
    return Principal(username=name, roles=frozenset({SYSTEM_ROLE}), clearance=MARKINGS[-1])


TIMERS = system("system:timers")
WORKER = system("system:worker")
OPERATOR = system("cli")


@dataclass(frozen=True)
class Grant:
    """One way of being allowed to fire a trigger: holding `role`, within `scope`.

    scope ``any``: on any case the person may see; ``owner``: only on cases they own; ``unit``: only on
    their own unit's requests.
    """

    role: str
    scope: str = "any"

    def describe(self) -> str:
        return {
            "any": self.role,
            "owner": f"{self.role} (as the case's owner)",
            "unit": f"{self.role} (of the requesting unit)",
        }[self.scope]
