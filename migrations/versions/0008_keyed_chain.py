"""re-seal every intact event chain under the chain key (HMAC-SHA256; was plain SHA-256)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

No schema change: each chain that checks out under the old, unkeyed hash is rewritten under the chain
key (workflow/chain.py), so the database has one scheme and the audit can name any unkeyed hash as a
forgery. A chain already broken keeps its old hashes from the break on, so the audit still names it.
The key comes from the settings of the process migrating (SCTAC_CHAIN_KEY, SCTAC_CHAIN_KEY_FILE, or
the key file beside a SQLite database); a database with no events needs no key. Downgrade re-seals
under the unkeyed hash the same way.
"""
from typing import Any, Callable, Sequence, Union

from alembic import context, op
import sqlalchemy as sa
import sqlmodel  # noqa: F401
import workflow.db


revision: str = '0008'
down_revision: Union[str, None] = '0007'
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


def _reseal(conn: sa.Connection, events: list[Any], head: str, check: Hasher, seal: Hasher) -> None:
    """Re-hash the chain's intact prefix with `seal`; move the case head only if all of it was intact."""
    old_prev = new_prev = '0' * 64
    updates = []
    intact = True
    for expected, ev in enumerate(events, start=1):
        if ev.seq != expected or ev.prev_hash != old_prev or check(**_fields(ev, ev.prev_hash)) != ev.hash:
            intact = False
            break
        new = seal(**_fields(ev, new_prev))
        updates.append({'p_id': ev.id, 'p_prev': new_prev, 'p_hash': new})
        old_prev, new_prev = ev.hash, new
    if updates:
        conn.execute(
            _event.update().where(_event.c.id == sa.bindparam('p_id'))
            .values(prev_hash=sa.bindparam('p_prev'), hash=sa.bindparam('p_hash')),
            updates,
        )
    if intact and head == old_prev:
        conn.execute(_case.update().where(_case.c.id == events[0].case_id).values(last_event_hash=new_prev))


def _reseal_all(check: Callable[[], Hasher], seal: Callable[[], Hasher]) -> None:
    if context.is_offline_mode():
        raise RuntimeError('migration 0008 re-hashes the event chains: run it online (`sctac db upgrade`)')
    conn = op.get_bind()
    case_ids = list(conn.execute(sa.select(_event.c.case_id).distinct().order_by(_event.c.case_id)).scalars())
    if not case_ids:
        return  # nothing hashed yet: no key needed
    check_fn, seal_fn = check(), seal()
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
            _reseal(conn, events, heads.get(case_id, ''), check_fn, seal_fn)


def _keyed() -> Hasher:
    # The keyed scheme of this revision hashed the payload itself (0015 moved the chain to its digest).
    from workflow.chain import chain_key, inline_event_hash

    key = chain_key()
    return lambda **fields: inline_event_hash(**fields, key=key)


def _unkeyed() -> Hasher:
    from workflow.chain import unkeyed_event_hash

    return unkeyed_event_hash


def upgrade() -> None:
    _reseal_all(check=_unkeyed, seal=_keyed)


def downgrade() -> None:
    _reseal_all(check=_keyed, seal=_unkeyed)
