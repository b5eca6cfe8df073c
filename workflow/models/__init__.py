"""Instances: the rows sctac keeps (reference data, cases, their events and assessments).

Definitions (the lifecycle, rule files, MoRiLE matrices) live elsewhere; these tables hold only what
happened to which case. Cases change only through workflow.service, which compare-and-sets the version.
Importing this package registers every table on SQLModel.metadata (Alembic relies on that).
"""

from workflow.models.access import AccountLock, ApiToken, CaseRead, IdempotencyRecord, SignInAttempt
from workflow.models.capacity import HubCapacity, HubTeam
from workflow.models.cases import Assessment, Case, CaseEvent, Decision
from workflow.models.links import CaseLink, TargetKey, TargetName
from workflow.models.records import SubjectAccess, SubjectKey, SubjectToken
from workflow.models.reference import Hub, Unit, User
from workflow.models.refusals import Refusal
from workflow.models.retention import ImportedRow, RetentionDecision
from workflow.models.rulesets import RulesetVersion
from workflow.models.strategy import StrategyVersion
from workflow.models.timers import Escalation, EventOutbox, Timer
from workflow.models.workers import WorkerHeartbeat

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
    "HubCapacity",
    "HubTeam",
    "IdempotencyRecord",
    "ImportedRow",
    "Refusal",
    "RetentionDecision",
    "RulesetVersion",
    "SignInAttempt",
    "StrategyVersion",
    "SubjectAccess",
    "SubjectKey",
    "SubjectToken",
    "TargetKey",
    "TargetName",
    "Timer",
    "Unit",
    "User",
    "WorkerHeartbeat",
]
