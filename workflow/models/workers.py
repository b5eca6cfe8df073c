"""Which workers are alive: one row per worker process, its beat rewritten every pass (the readiness check
reads it). A row, not a thread or a file, so every API process on every host sees the same answer."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workflow.models.columns import utc_timestamp


class WorkerHeartbeat(SQLModel, table=True):
    __tablename__ = "worker_heartbeat"

    name: str = Field(primary_key=True, max_length=128, description="host:pid of the worker process")
    started_at: datetime = utc_timestamp()
    beat_at: datetime = utc_timestamp(index=True)
    passes: int = 0
