"""records: the chain hashes each payload's digest (so a redaction keeps it verifiable); retention
groups, review dates and decisions; imported rows

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 14:00:00.000000

Schema: `case_event.payload_digest`; `case.retention_group`, `case.retention_review_at`,
`case.disposed_at`; tables `retention_decision` and `imported_row`.

Data: cases already ended get their retention group and review date from when they ended (the
schedule in the rules folder, workflow/retention.py); each chain that checks out under the previous keyed scheme (payload in the hashed body) is
re-sealed with the payload's digest in its place (workflow/chain.py), its case head moved, and the
signed checkpoint's heads re-signed to the new hashes of the same events (workflow/checkpoints.py). A
chain already broken keeps its old hashes from the break on, so the audit still names it, and a
checkpointed head whose event did not check out keeps its old hash, so that is named too. Downgrade
re-seals the old way, but only where no payload was redacted (a redacted payload cannot be hashed inline).
"""
from typing import Any, Callable, Sequence, Union

from alembic import context, op
import sqlalchemy as sa
import sqlmodel
import workflow.db


revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BATCH = 500  # cases per round trip

_event = sa.table(
    'case_event',
    sa.column('id', sa.Integer),
    sa.column('case_id', sa.Integer),
    sa.column('seq', sa.Integer),
    sa.column('trigger', sa.String),
    sa.column('from_state', sa.String),
    sa.column('to_state', sa.String),
    sa.column('actor', sa.String),
    sa.column('reason', sa.Text),
    sa.column('payload', sa.JSON),
    sa.column('payload_digest', sa.String),
    sa.column('created_at', workflow.db.UTCDateTime(timezone=True)),
    sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String),
)
_case = sa.table('case', sa.column('id', sa.Integer), sa.column('last_event_hash', sa.String))

Hasher = Callable[..., str]


def _fields(ev: Any, prev_hash: str) -> dict[str, Any]:
    return dict(
        case_id=ev.case_id, seq=ev.seq, trigger=ev.trigger, from_state=ev.from_state, to_state=ev.to_state,
        actor=ev.actor, reason=ev.reason, payload=ev.payload, created_at=ev.created_at, prev_hash=prev_hash,
    )


def _reseal(conn: sa.Connection, events: list[Any], head: str, check: Hasher, seal: Hasher, digests: bool,
            wanted: set[tuple[int, int]], moved: dict[tuple[int, int, str], str]) -> None:
    from workflow.chain import payload_digest

    old_prev = new_prev = '0' * 64
    updates = []
    intact = True
    for expected, ev in enumerate(events, start=1):
        if ev.seq != expected or ev.prev_hash != old_prev or check(**_fields(ev, ev.prev_hash)) != ev.hash:
            intact = False
            break
        new = seal(**_fields(ev, new_prev))
        updates.append({'p_id': ev.id, 'p_prev': new_prev, 'p_hash': new,
                        'p_digest': payload_digest(ev.payload, reason=ev.reason) if digests else None})
        if (ev.case_id, ev.seq) in wanted:
            moved[(ev.case_id, ev.seq, ev.hash)] = new
        old_prev, new_prev = ev.hash, new
    if updates:
        conn.execute(
            _event.update().where(_event.c.id == sa.bindparam('p_id')).values(
                prev_hash=sa.bindparam('p_prev'), hash=sa.bindparam('p_hash'),
                payload_digest=sa.bindparam('p_digest'),
            ),
            updates,
        )
    if intact and head == old_prev:
        conn.execute(_case.update().where(_case.c.id == events[0].case_id).values(last_event_hash=new_prev))


def _reseal_all(check: Callable[[], Hasher], seal: Callable[[], Hasher], *, digests: bool) -> None:
    if context.is_offline_mode():
        raise RuntimeError('migration retention re-hashes the event chains: run it online (`sctac db upgrade`)')
    conn = op.get_bind()
    case_ids = list(conn.execute(sa.select(_event.c.case_id).distinct().order_by(_event.c.case_id)).scalars())
    if not case_ids:
        return  # nothing hashed yet: no key needed
    check_fn, seal_fn = check(), seal()
    path, checkpoint = _checkpoint(conn)
    wanted = {(cid, seq) for cid, (seq, _) in checkpoint.heads.items()} if checkpoint is not None else set()
    moved: dict[tuple[int, int, str], str] = {}
    for start in range(0, len(case_ids), _BATCH):
        chunk = case_ids[start:start + _BATCH]
        heads = dict(conn.execute(sa.select(_case.c.id, _case.c.last_event_hash).where(_case.c.id.in_(chunk))).all())
        rows = conn.execute(
            sa.select(_event).where(_event.c.case_id.in_(chunk)).order_by(_event.c.case_id, _event.c.seq)
        ).all()
        by_case: dict[int, list[Any]] = {}
        for row in rows:
            by_case.setdefault(row.case_id, []).append(row)
        for case_id, events in by_case.items():
            _reseal(conn, events, heads.get(case_id, ''), check_fn, seal_fn, digests, wanted, moved)
    if path is not None and checkpoint is not None:
        from workflow.checkpoints import reseal_heads

        reseal_heads(path, moved)


def _checkpoint(conn: sa.Connection) -> tuple[Any, Any]:
    """The checkpoint to re-sign, if there is one that verifies (one that does not is left as evidence:
    the audit goes on naming it)."""
    import logging

    from workflow.checkpoints import CheckpointInvalid, checkpoint_path, read_checkpoint

    path = checkpoint_path(database_url=conn.engine.url)
    if path is None:
        return None, None
    try:
        return path, read_checkpoint(path)
    except CheckpointInvalid as exc:
        logging.getLogger(__name__).warning("checkpoint not re-signed: %s", exc.detail)
        return path, None


def _inline() -> Hasher:
    from workflow.chain import chain_key, inline_event_hash

    key = chain_key()
    return lambda **fields: inline_event_hash(**fields, key=key)


def _digested() -> Hasher:
    from workflow.chain import chain_key, event_hash

    key = chain_key()
    return lambda **fields: event_hash(**fields, key=key)


def upgrade() -> None:
    op.add_column('case_event', sa.Column('payload_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('case', sa.Column('retention_group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('case', sa.Column('retention_review_at', workflow.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('case', sa.Column('disposed_at', workflow.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_case_retention_review_at'), 'case', ['retention_review_at'], unique=False)
    op.create_table(
        'retention_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('next_review_at', workflow.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('retention_group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('decided_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('event_seq', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_retention_decision_case', 'retention_decision', ['case_id', 'decided_at'], unique=False)
    op.create_table(
        'imported_row',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('file', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('sheet', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('imported_at', workflow.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source_key'),
    )
    op.create_index(op.f('ix_imported_row_case_id'), 'imported_row', ['case_id'], unique=False)
    _reseal_all(check=_inline, seal=_digested, digests=True)
    _schedule_ended_cases()


def _schedule_ended_cases() -> None:
    """Cases that ended before this revision get their retention group and review date, from when they
    ended (their last change), so the records officer's queue holds them too."""
    if context.is_offline_mode():
        return
    from workflow.retention import on_ending, schedule

    conn = op.get_bind()
    table = sa.table(
        'case', sa.column('id', sa.Integer), sa.column('state', sa.String), sa.column('band', sa.String),
        sa.column('outcome', sa.String), sa.column('updated_at', workflow.db.UTCDateTime(timezone=True)),
        sa.column('retention_group', sa.String),
        sa.column('retention_review_at', workflow.db.UTCDateTime(timezone=True)),
    )
    ended = conn.execute(
        sa.select(table.c.id, table.c.state, table.c.band, table.c.outcome, table.c.updated_at)
        .where(table.c.state.in_(('closed', 'rejected', 'withdrawn')))
    ).mappings().all()
    if not ended:
        return
    policy = schedule()
    updates = []
    for row in ended:
        done = on_ending(row, ended_at=row['updated_at'], policy=policy)
        updates.append({'p_id': row['id'], 'p_group': done['retention_group'], 'p_at': done['retention_review_at']})
    conn.execute(
        table.update().where(table.c.id == sa.bindparam('p_id'))
        .values(retention_group=sa.bindparam('p_group'), retention_review_at=sa.bindparam('p_at')),
        updates,
    )


def downgrade() -> None:
    _reseal_all(check=_digested_unredacted, seal=_inline, digests=False)
    op.drop_index(op.f('ix_imported_row_case_id'), table_name='imported_row')
    op.drop_table('imported_row')
    op.drop_index('ix_retention_decision_case', table_name='retention_decision')
    op.drop_table('retention_decision')
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of these tables would break the keys into them.
    op.drop_index(op.f('ix_case_retention_review_at'), table_name='case')
    op.drop_column('case', 'disposed_at')
    op.drop_column('case', 'retention_review_at')
    op.drop_column('case', 'retention_group')
    op.drop_column('case_event', 'payload_digest')


def _digested_unredacted() -> Hasher:
    # Hashing the current payload: a redacted one no longer matches, so its chain stops being re-sealed there.
    return _digested()
