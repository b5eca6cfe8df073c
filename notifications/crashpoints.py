"""Test-only barriers: stop the worker at a chosen point of a batch, so a test can kill it right there.

The crash test (tests/notifications/test_worker_crash.py) starts ``python -m notifications.worker``
with two variables in its environment:

    SCTAC_TEST_CRASHPOINT=<point>:<n>   the point to stop at, and on which arrival there (1 = the first)
    SCTAC_TEST_CRASHPOINT_FD=<fd>       a pipe the test reads (passed to the process with pass_fds)

On the n-th arrival at that point the worker writes ``<point>\\n`` to the pipe and blocks for good; the
test, which was waiting on the pipe (not on a clock), kills it with SIGKILL. Unset (always, outside that
test) every call here is one dictionary lookup. These are not settings: nothing in a deployment sets them.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

# point -> where the worker is when it stops there (what a kill at that moment must not lose or repeat)
POINTS = {
    "timers.claimed": "a batch of due timers is leased (committed); none fired yet",
    "timers.commit": "a timer's firing (row settled, event, effect) is written but not committed",
    "dispatch.commit": "a batch of outbox events' deliveries is written but not committed",
    "delivery.sending": "an e-mail or webhook attempt is recorded (committed); the message has not left",
    "delivery.sent": "the mail server or receiver accepted the message; its row is not yet marked sent",
}

_arrivals: Counter[str] = Counter()


def _armed() -> tuple[str, int] | None:
    spec = os.environ.get("SCTAC_TEST_CRASHPOINT")
    if not spec:
        return None
    point, _, nth = spec.partition(":")
    if point not in POINTS:
        raise ValueError(f"SCTAC_TEST_CRASHPOINT: unknown point {point!r}; known: {', '.join(POINTS)}")
    return point, int(nth or 1)


ARMED = _armed()


def armed(point: str) -> bool:
    return ARMED is not None and ARMED[0] == point


def reach(point: str) -> None:
    """Mark an arrival at `point`; on the armed arrival, signal the test and wait to be killed."""
    if ARMED is None or ARMED[0] != point:
        return
    _arrivals[point] += 1
    if _arrivals[point] != ARMED[1]:
        return
    os.write(int(os.environ["SCTAC_TEST_CRASHPOINT_FD"]), f"{point}\n".encode())
    threading.Event().wait()  # until SIGKILL: no clean-up, no last commit
