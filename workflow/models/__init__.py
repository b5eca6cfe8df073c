"""Instances: the rows sctac keeps (reference data, cases, their events and assessments).

Definitions (the lifecycle, rule files, MoRiLE matrices) live elsewhere; these tables hold only what
happened to which case. Cases change only through workflow.service, which compare-and-sets the version.
Importing this package registers every table on SQLModel.metadata (Alembic relies on that).
"""

from workflow.models.access import AccountLock, ApiToken, CaseRead, IdempotencyRecord, SignInAttempt
from workflow.models.cases import Assessment, Case, CaseEvent, Decision
from workflow.models.links import CaseLink, TargetKey, TargetName
from workflow.models.reference import Hub, Unit, User
from workflow.models.refusals import Refusal
from workflow.models.rulesets import RulesetVersion
from workflow.models.timers import Escalation, EventOutbox, Timer

__all__ = [
    "AccountLock",
    "ApiToken",
    "Assessment",
    "Case",
    "CaseEvent",
    "CaseLink",
    "CaseRead",
    "Decision",
    "Escalation",
    "EventOutbox",
    "Hub",
    "IdempotencyRecord",
    "Refusal",
    "RulesetVersion",
    "SignInAttempt",
    "TargetKey",
    "TargetName",
    "Timer",
    "Unit",
    "User",
]
