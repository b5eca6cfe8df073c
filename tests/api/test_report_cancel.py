"""Issue 12 item 1: a report that is still running stops when its client goes away or its request is
cancelled (what uvicorn does to running requests at shutdown), and never outlives the request.

The report's work here is a real worker thread that waits on the real `Cancel` (what the scan does
between fetches); the request is Starlette's own `Request` over an ASGI receive channel that behaves as
uvicorn's does (once the client is gone it answers `http.disconnect` at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import anyio
import anyio.to_thread
import pytest
from starlette.requests import Request

from api.report_render import run_cancellable
from workflow.reports import Cancel, ReportCancelled

SCOPE: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}


class Work:
    """A report stand-in that runs until told to stop, recording that it started and that it ended."""

    def __init__(self, cancel: Cancel) -> None:
        self.cancel = cancel
        self.started = threading.Event()
        self.finished = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        try:
            self.cancel.wait(timeout=60)
            self.cancel.check()
            return "finished"
        finally:
            self.finished.set()


def _request(gone: anyio.Event | None = None) -> Request:
    async def receive() -> dict[str, Any]:
        if gone is not None and gone.is_set():
            return {"type": "http.disconnect"}
        if gone is None:
            await anyio.sleep_forever()
        else:
            await gone.wait()
        return {"type": "http.disconnect"}

    return Request(SCOPE, receive)


def test_the_report_stops_when_the_client_disconnects() -> None:
    cancel = Cancel()
    work = Work(cancel)

    async def main() -> None:
        gone = anyio.Event()

        async def leave_once_started() -> None:
            await anyio.to_thread.run_sync(work.started.wait, 60)
            gone.set()

        async with anyio.create_task_group() as group:
            group.start_soon(leave_once_started)
            with pytest.raises(ReportCancelled, match="client disconnected"):
                await run_cancellable(_request(gone), cancel, work)
            assert work.finished.is_set()  # the thread ended before the request did

    anyio.run(main)


def test_the_report_stops_when_its_request_is_cancelled_at_shutdown() -> None:
    cancel = Cancel()
    work = Work(cancel)

    async def main() -> None:
        task = asyncio.ensure_future(run_cancellable(_request(), cancel, work))
        await anyio.to_thread.run_sync(work.started.wait, 60)
        task.cancel()  # what uvicorn does to running requests when its graceful shutdown times out
        with contextlib.suppress(asyncio.CancelledError, ReportCancelled):
            await task
        assert cancel.is_set() and work.finished.is_set()

    asyncio.run(main())


def test_a_report_that_finishes_returns_its_result() -> None:
    cancel = Cancel()

    async def main() -> None:
        assert await run_cancellable(_request(), cancel, lambda: 42) == 42

    anyio.run(main)
