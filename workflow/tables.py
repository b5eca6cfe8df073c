"""The Core `Table` of every workflow model, for the statements written with SQLAlchemy Core.

SQLModel declares `__table__` at runtime only, so type checkers cannot see it; naming each table once
here keeps that one `type: ignore` in one place instead of in every module that writes Core statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from workflow.models import (
    ApiToken,
    Assessment,
    Case,
    CaseEvent,
    CaseLink,
    CaseRead,
    Decision,
    Escalation,
    EventOutbox,
    Hub,
    HubCapacity,
    HubTeam,
    IdempotencyRecord,
    ImportedRow,
    Refusal,
    RetentionDecision,
    RulesetVersion,
    StrategyVersion,
    SubjectAccess,
    SubjectKey,
    SubjectToken,
    TargetKey,
    TargetName,
    Timer,
    Unit,
    User,
    WorkerHeartbeat,
)


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


CASE = table_of(Case)
EVENT = table_of(CaseEvent)
OUTBOX = table_of(EventOutbox)
ASSESSMENT = table_of(Assessment)
DECISION = table_of(Decision)
REFUSAL = table_of(Refusal)
TIMER = table_of(Timer)
ESCALATION = table_of(Escalation)
UNIT = table_of(Unit)
HUB = table_of(Hub)
USER = table_of(User)
VERSION = table_of(RulesetVersion)
STRATEGY = table_of(StrategyVersion)
TOKEN = table_of(ApiToken)
READ = table_of(CaseRead)
RECORD = table_of(IdempotencyRecord)
HEARTBEAT = table_of(WorkerHeartbeat)
SUBJECT_TOKEN = table_of(SubjectToken)
SUBJECT_KEY = table_of(SubjectKey)
SUBJECT_ACCESS = table_of(SubjectAccess)
IMPORTED = table_of(ImportedRow)
RETENTION = table_of(RetentionDecision)
HUB_CAPACITY = table_of(HubCapacity)
HUB_TEAM = table_of(HubTeam)
TARGET_NAME = table_of(TargetName)
TARGET_KEY = table_of(TargetKey)
LINK = table_of(CaseLink)
