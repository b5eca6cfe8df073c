"""Two people, one case (story 7): exactly one wins, the loser gets a Conflict, the log stays whole."""

from __future__ import annotations

import random
import threading
from collections import Counter

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.factories import DEFAULT_DATA, submit, unchecked
from workflow import audit, queries, service
from workflow.errors import Conflict, IllegalTransition, StaleVersion
from workflow.lifecycle import legal_triggers, replay

THREADS = 8  # 8 threads on SQLite, 8 connections on PostgreSQL (one pooled connection per thread)
CASES = 5
ROUNDS = 15
STEPS = ("assess", "prioritise", "task", "review", "continue", "withdraw")


def test_racing_writers_lose_nothing(engine: Engine) -> None:
    with Session(engine) as s:
        ids = [submit(s).case_id for _ in range(CASES)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        rng = random.Random(n)
        start.wait()
        with Session(engine, expire_on_commit=False) as s:
            for _ in range(ROUNDS):
                case_id = rng.choice(ids)
                seen = queries.get_case(s, case_id=case_id)
                state, version = seen.state, seen.version
                s.rollback()
                options = [t for t in STEPS if t in legal_triggers(state)]
                if not options:
                    continue
                trigger = rng.choice(options)
                data = DEFAULT_DATA[trigger] if trigger != "withdraw" else {"reason": f"duplicate of t{n}"}
                try:
                    # Everyone acts on the version they saw, as a user with a form open would.
                    service.fire(
                        s,
                        case_id=case_id,
                        trigger=trigger,
                        by=unchecked(f"t{n}"),
                        data=data,
                        expected_version=version,
                    )
                    result = "won"
                except (Conflict, StaleVersion):
                    result = "lost"
                except IllegalTransition:  # impossible: a stale view is caught by the version first
                    result = "illegal"
                with lock:
                    outcomes[result] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes["illegal"] == 0
    assert outcomes["won"] > 0 and outcomes["lost"] > 0, outcomes  # they really did collide
    with Session(engine) as s:
        transitions = 0
        for case_id in ids:
            case = queries.get_case(s, case_id=case_id)
            events = queries.history(s, case_id=case_id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))  # gapless
            assert case.version == len(events)  # one version per event: no lost update
            assert replay((e.trigger, e.to_state) for e in events[1:]) == case.state
            transitions += len(events) - 1
        assert transitions == outcomes["won"]  # winners == events written
        assert audit.verify(s).ok
