"""Where a sweep's runs execute: one small interface, and a local process pool behind it.

An :class:`Executor` gets the runs to do and two callbacks: ``on_start(name, host, pid,
time[, node])`` when a run begins somewhere, and ``on_done(outcome)`` with its
:class:`~gpo.sweep.worker.RunOutcome`. It knows nothing of plans, manifests or tables, so a
cluster backend (:class:`gpo.sweep.cluster.RayCluster`: a remote
:func:`~gpo.sweep.worker.execute_run` per spec) fits behind the same interface.

:class:`LocalPool` runs each spec in a :class:`concurrent.futures.ProcessPoolExecutor`
worker started with ``spawn`` (a fresh interpreter: no inherited SQLite connection, no
inherited threads). Workers ignore Ctrl-C; the driving process stops them itself.
"""

from __future__ import annotations

import logging
import os
import queue as queue_module
import signal
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Optional, Protocol, Sequence

from gpo.sweep.plan import RunSpec
from gpo.sweep.worker import RunOutcome, execute_run, one_line_error, where

__all__ = ["Executor", "LocalPool", "OnDone", "OnStart"]

log = logging.getLogger(__name__)

OnStart = Callable[..., None]
"""``on_start(name, host, pid, started, node=None)``: a run began (``node``: a cluster node's id)."""

OnDone = Callable[[RunOutcome], None]
"""``on_done(outcome)``: a run ended, finished or failed."""

_POLL_SECONDS = 0.1


class Executor(Protocol):
    """Runs a sweep's runs somewhere and reports as they begin and end."""

    def run(self, specs: Sequence[RunSpec], on_start: OnStart, on_done: OnDone) -> None:
        """Executes every spec; returns when all have ended.

        Every spec gets exactly one ``on_done`` call. ``KeyboardInterrupt`` (Ctrl-C, or
        SIGTERM turned into it by the caller) stops the runs in progress and propagates.
        """
        ...


# -- inside a pool process ----------------------------------------------------------------------

_events: Optional[object] = None


def _init_worker(events) -> None:
    global _events
    _events = events
    # The driving process decides when to stop; a Ctrl-C in the terminal must not kill a
    # run between two files of its checkpoint.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(spec: RunSpec) -> RunOutcome:
    import time

    host, pid = where()
    if _events is not None:
        _events.put((spec.name, host, pid, time.time()))
    return execute_run(spec)


# -- the driving process -------------------------------------------------------------------------


class LocalPool:
    """A pool of ``workers`` local processes.

    Args:
        workers: Runs executed at once.
    """

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers

    def run(self, specs: Sequence[RunSpec], on_start: OnStart, on_done: OnDone) -> None:
        todo = list(specs)
        # A pool breaks when one of its processes dies (killed, out of memory): the runs
        # that were in progress fail, and the ones that never began go to a fresh pool.
        while todo:
            retry = self._run_pool(todo, on_start, on_done)
            if len(retry) == len(todo):  # not one run began: the processes cannot start
                import time

                host, pid = where()
                for spec in retry:
                    now = time.time()
                    on_done(RunOutcome(spec.name, "failed", None, "the worker processes could not start", None, host, pid, now, now))
                return
            todo = retry

    def _run_pool(self, specs: list[RunSpec], on_start: OnStart, on_done: OnDone) -> list[RunSpec]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        events = ctx.Queue()
        began: dict[str, int] = {}
        ended: set[str] = set()
        retry: list[RunSpec] = []

        def drain() -> None:
            while True:
                try:
                    name, host, pid, t = events.get_nowait()
                except queue_module.Empty:
                    return
                if name not in ended:
                    began[name] = pid
                    on_start(name, host, pid, t)

        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(specs)), mp_context=ctx, initializer=_init_worker, initargs=(events,)
        )
        futures: dict[Future, RunSpec] = {}
        try:
            for spec in specs:
                futures[pool.submit(_run_in_worker, spec)] = spec
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                drain()
                for future in sorted(done, key=lambda f: specs.index(futures[f])):
                    spec = futures[future]
                    ended.add(spec.name)
                    outcome = self._outcome(future, spec, began)
                    if outcome is None:
                        retry.append(spec)
                    else:
                        on_done(outcome)
        except BaseException:
            drain()
            for future in futures:  # the runs that have not begun never will
                future.cancel()
            self._stop({pid for name, pid in began.items() if name not in ended})
            raise
        finally:
            # Joins the pool's management thread. An earlier shutdown(wait=False) would
            # leave it running at interpreter exit, where concurrent.futures wakes it without
            # its lock and, when the thread has just closed its pipe, prints a traceback
            # (EBADF) after the sweep's message.
            pool.shutdown(wait=True, cancel_futures=True)
            events.close()
            events.join_thread()
        return retry

    @staticmethod
    def _outcome(future: Future, spec: RunSpec, began: dict[str, int]) -> Optional[RunOutcome]:
        """The run's outcome; ``None`` for a run the broken pool never began."""
        import time

        try:
            return future.result()
        except BrokenProcessPool:
            if spec.name not in began:
                return None
            message = "the worker process died (killed, or out of memory); run the sweep again to resume this run"
        except Exception as exc:  # a spec that cannot be sent to a worker, or a bug
            message = one_line_error(exc)
        host, pid = where()
        now = time.time()
        return RunOutcome(spec.name, "failed", None, message, None, host, began.get(spec.name, pid), now, now)

    @staticmethod
    def _stop(pids: set[int]) -> None:
        """Terminates the pool processes that were running runs (their checkpoints stay)."""
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
