"""The worker: fire due timers, dispatch the outbox, send deliveries; then sleep, and again.

Every piece of work is a row claimed under a lease and settled in its own transaction, so the worker
keeps no state worth losing: kill it at any moment and the next one (or the same one restarted) carries
on where the rows say, once the dead worker's lease has lapsed (``SCTAC_LEASE_SECONDS``, 15 s by
default; a live worker keeps its lease with a heartbeat however long its batch takes). Several workers
may run against PostgreSQL (claims skip each other's locked rows); run one against SQLite. What a kill
can and cannot cause at the mail server and webhook receivers: notifications.delivery.

    python -m notifications.worker [--once | --drain] [--interval S]

``sctac worker`` runs the same loop, and ``sctac serve`` runs it in a background thread
(:func:`start_background_worker`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifications import crashpoints, delivery, dispatch
from notifications.delivery import Channels
from workflow import checkpoints, heartbeats, timers
from workflow.db import make_engine, utcnow
from workflow.leases import Heartbeat
from workflow.settings import get_settings

log = logging.getLogger("sctac.worker")


@dataclass(frozen=True)
class Limits:
    """Batch sizes of one pass, and the leases a claim takes (None: ``SCTAC_LEASE_SECONDS``)."""

    timer_batch: int = 500
    event_batch: int = 500
    delivery_batch: int = 200
    timer_lease: timedelta | None = None
    delivery_lease: timedelta | None = None


@dataclass
class BatchReport:
    timers: Counter[str] = field(default_factory=Counter)
    events: int = 0
    created: int = 0
    sent: delivery.SendReport = field(default_factory=delivery.SendReport)
    full: bool = False  # some claim came back full: more is waiting, so do not sleep

    @property
    def idle(self) -> bool:
        return not self.timers and not self.events and not self.sent.total

    def line(self) -> str:
        fired = ", ".join(f"{n} {what}" for what, n in sorted(self.timers.items())) or "0"
        s = self.sent
        return (
            f"timers: {fired}; outbox: {self.events} events -> {self.created} deliveries; "
            f"sent {s.sent}, failed {s.failed}, dead {s.dead}"
        )


def run_once(
    engine: Engine, *, channels: Channels, now: datetime | None = None, limits: Limits | None = None
) -> BatchReport:
    """One pass: timers, then the outbox they (and everyone else) filled, then the deliveries."""
    lim = limits or Limits()
    report = BatchReport()
    with Session(engine, expire_on_commit=False) as session:
        # workflow.timers.run_due, spelled out so the lease is ours to set, kept alive by a heartbeat while
        # the batch fires, and one bad timer is only logged.
        at = now or utcnow()
        claim = timers.lease_due(session, now=at, limit=lim.timer_batch, lease=lim.timer_lease)
        ids = claim.ids
        crashpoints.reach("timers.claimed")
        with Heartbeat(engine, claim), _commits_reach(session, "timers.commit"):
            for timer_id in ids:
                try:
                    report.timers[timers.fire_timer(session, timer_id=timer_id, now=at).result] += 1
                except Exception:
                    # fire_timer has recorded the error on the row; its lease lets a later pass try again.
                    log.exception("timer %s failed", timer_id)
                    report.timers["error"] += 1
        at = now or utcnow()
        with _commits_reach(session, "dispatch.commit"):
            done = dispatch.dispatch(
                session, email_enabled=channels.email is not None, now=at, limit=lim.event_batch
            )
        report.events, report.created = done.events, done.deliveries
        report.sent = delivery.send_due(
            session,
            channels=channels,
            now=now or utcnow(),
            limit=lim.delivery_batch,
            lease=lim.delivery_lease,
        )
        # Anchor the event chains now and then (workflow/checkpoints.py): one stat of a file when not due.
        checkpoints.checkpoint_if_due(session, now=now)
        # Wall-clock time, whatever `now` a test passes: readiness asks whether a worker is alive now.
        heartbeats.beat(session, name=heartbeats.worker_name())
        report.full = (
            len(ids) >= lim.timer_batch
            or done.events >= lim.event_batch
            or report.sent.total >= lim.delivery_batch
        )
    for error in report.sent.errors:
        log.warning("%s", error)
    return report


@contextmanager
def _commits_reach(session: Session, point: str) -> Iterator[None]:
    """While armed for the crash test, make every commit of `session` in this block a crash point."""
    if not crashpoints.armed(point):
        yield
        return

    def before_commit(_session: Session) -> None:
        crashpoints.reach(point)

    event.listen(session, "before_commit", before_commit)
    try:
        yield
    finally:
        event.remove(session, "before_commit", before_commit)


def run_forever(
    engine: Engine,
    *,
    channels: Channels,
    interval: float,
    stop: threading.Event,
    limits: Limits | None = None,
    until_idle: bool = False,
) -> None:
    """Pass after pass until `stop` is set (or, with `until_idle`, until a pass finds nothing to do)."""
    while not stop.is_set():
        try:
            report = run_once(engine, channels=channels, limits=limits)
        except Exception:
            # The database went away, say: the rows are intact, so log it and try again after a pause.
            log.exception("worker pass failed")
            stop.wait(interval)
            continue
        if report.idle:
            log.debug("idle")
            if until_idle:
                return
        else:
            log.info("%s", report.line())
        if not report.full:
            stop.wait(interval)


@dataclass
class WorkerHandle:
    thread: threading.Thread
    stop_event: threading.Event
    channels: Channels

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the worker to stop after its current row and wait for it."""
        self.stop_event.set()
        self.thread.join(timeout)
        self.channels.close()


def start_background_worker(
    engine: Engine, *, interval: float, channels: Channels | None = None, limits: Limits | None = None
) -> WorkerHandle:
    """Run the worker loop in a daemon thread of this process (``sctac serve``): the work is in rows,
    so a thread that dies with the process loses nothing."""
    chans = channels or Channels.from_settings(get_settings())
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        kwargs={"engine": engine, "channels": chans, "interval": interval, "stop": stop, "limits": limits},
        name="sctac-worker",
        daemon=True,
    )
    thread.start()
    return WorkerHandle(thread, stop, chans)


def serve(
    *, once: bool = False, drain: bool = False, interval: float | None = None, lease: float | None = None
) -> int:
    """Run the worker in the foreground with the settings' database and channels; stops on SIGTERM/SIGINT."""
    settings = get_settings()
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    channels = Channels.from_settings(settings)
    limits = Limits()
    if lease is not None:
        limits = Limits(timer_lease=timedelta(seconds=lease), delivery_lease=timedelta(seconds=lease))
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after the current row", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            log.info("%s", run_once(engine, channels=channels, limits=limits).line())
        else:
            every = interval if interval is not None else settings.worker_interval
            log.info("worker started (every %.1f s%s)", every, ", until idle" if drain else "")
            run_forever(engine, channels=channels, interval=every, stop=stop, limits=limits, until_idle=drain)
            log.info("worker stopped")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        channels.close()
        engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notifications.worker", description="Fire timers, dispatch and send notifications."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass, then exit")
    mode.add_argument("--drain", action="store_true", help="pass after pass until nothing is due, then exit")
    parser.add_argument("--interval", type=float, default=None, help="seconds between idle passes")
    parser.add_argument("--lease", type=float, default=None, help="seconds a claim holds its rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    return serve(once=args.once, drain=args.drain, interval=args.interval, lease=args.lease)


if __name__ == "__main__":
    sys.exit(main())
