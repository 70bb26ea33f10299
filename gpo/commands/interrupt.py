"""Running a command's coroutine so that Ctrl-C and SIGTERM stop it at once."""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType
from typing import Any, Awaitable, Optional, TypeVar

__all__ = ["run_interruptibly"]

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 0.5
"""Seconds the event loop has to take a stop in hand before the computation is stopped where it is."""

_ASYNCIO = os.path.dirname(asyncio.__file__)


def _in_asyncio(frame: Optional[FrameType]) -> bool:
    return frame is not None and frame.f_code.co_filename.startswith(_ASYNCIO)


def run_interruptibly(coro: Awaitable[T]) -> T:
    """Runs a coroutine; the first Ctrl-C or SIGTERM cancels it, even in the middle of a computation.

    The signal schedules the cancellation, which the event loop delivers at once when the
    run waits for models. When the loop has not taken it in hand within :data:`GRACE`
    seconds, the run's own code is computing (scoring, records, a report) and holds the
    loop: the cancellation is then raised right in that code (never inside asyncio's own),
    so long synchronous work cannot delay it. The runner keeps its last checkpoint and
    raises :class:`gpo.errors.RunInterrupted` with the resume command. A second signal
    stops at once (:class:`KeyboardInterrupt`), and so does a stop before the run began.

    Args:
        coro: The command's work (``optimize_async``, ``resume_async``, …).

    Returns:
        What the coroutine returns.

    Raises:
        RunInterrupted: From the runner, when a run was stopped.
        KeyboardInterrupt: Stopped outside a run, or by a second signal.
    """

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(coro)
        this = asyncio.current_task()
        stopping = delivered = False

        def cancel() -> None:
            nonlocal delivered
            delivered = True
            task.cancel()

        def on_signal(signum: int, frame: Optional[FrameType]) -> None:
            nonlocal stopping
            if stopping:
                raise KeyboardInterrupt
            stopping = True
            loop.call_soon_threadsafe(cancel)
            if hasattr(signal, "setitimer"):
                signal.setitimer(signal.ITIMER_REAL, GRACE)

        def on_alarm(signum: int, frame: Optional[FrameType]) -> None:
            if delivered:
                return
            if asyncio.current_task(loop) not in (None, this) and not _in_asyncio(frame):
                raise asyncio.CancelledError  # the run's own computation holds the loop: stop it here
            signal.setitimer(signal.ITIMER_REAL, 0.05)  # not in the run's code now: look again shortly

        handlers: dict[int, Any] = {sig: on_signal for sig in SIGNALS}
        if hasattr(signal, "SIGALRM"):
            handlers[signal.SIGALRM] = on_alarm
        previous = {}
        for sig, handler in handlers.items():
            try:
                previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread: signals stay as they are
                pass
        try:
            return await task
        except asyncio.CancelledError:
            if stopping:  # cancelled before a runner could say how to resume
                raise KeyboardInterrupt from None
            raise
        finally:
            if signal.SIGALRM in previous:
                signal.setitimer(signal.ITIMER_REAL, 0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    return asyncio.run(main())
