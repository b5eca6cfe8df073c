"""Stopping a report part-way: the reader went away, the server is shutting down, or it ran too long.

The scan checks a `Cancel` between fetches (every `BATCH` rows, a fraction of a second of work), so a
report stops soon after it is asked to and never costs a check per row. Whoever runs the report (the API
in a worker thread, the CLI in its own process) owns the `Cancel` and sets it from outside.
"""

from __future__ import annotations

import threading
import time

from workflow.errors import DomainError


class ReportCancelled(DomainError):
    """The report was stopped before it finished; nothing was written, so it can simply be asked again."""

    kind = "report-stopped"
    status = 503
    title = "Report stopped"
    page_title = "The report was stopped"


class Cancel:
    """A flag another thread may set, with an optional deadline (seconds from now, monotonic clock)."""

    def __init__(self, *, deadline_seconds: float | None = None) -> None:
        self._event = threading.Event()
        self._reason = ""
        self.deadline_seconds = deadline_seconds
        self._deadline = time.monotonic() + deadline_seconds if deadline_seconds is not None else None

    def set(self, reason: str) -> None:
        if not self._event.is_set():
            self._reason = reason
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def check(self) -> None:
        """Raise ReportCancelled if the report should stop now."""
        if self._deadline is not None and not self._event.is_set() and time.monotonic() > self._deadline:
            self.set(
                f"the report took longer than {self.deadline_seconds:g} s and was stopped: "
                "choose a shorter period, or use `sctac report` for the whole log"
            )
        if self._event.is_set():
            raise ReportCancelled(self._reason)
