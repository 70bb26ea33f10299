"""One run of a sweep, executed wherever a backend puts it (a pool process, a cluster node).

:func:`execute_run` looks at the run directory first: ``summary.json`` means the run is
finished and is skipped; ``checkpoint.json`` means it was interrupted and is resumed with
:func:`gpo.api.resume`; otherwise it starts with :func:`gpo.api.optimize`. A failure is
returned as an outcome with a one-line message, never raised, so one bad run does not stop
the sweep. A run stopped by the sweep's shared budget (:class:`gpo.errors.SweepBudgetExceeded`)
ends ``stopped``: unfinished, at its last checkpoint, to resume when the sweep continues.

Every run reads and writes the shared response cache (``$GPO_HOME/cache.db``, SQLite in
write-ahead-log mode with a busy time-out), which several processes can use at once; each
process opens its own connection.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from gpo.sweep.plan import RunSpec

__all__ = ["RunOutcome", "execute_run", "one_line_error", "where"]


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended.

    Attributes:
        name: The run's name in the sweep.
        status: ``finished``, ``failed`` or ``stopped`` (by the sweep's budget).
        action: ``skipped`` (already finished), ``resumed`` or ``started``.
        error: The failure in one line (``None`` when finished).
        stopped_reason: The run's own stop reason (``completed``, a budget, …).
        host: Where it ran.
        pid: The process that ran it.
        started: Start time (seconds since the epoch).
        ended: End time.
        node: The cluster node (``None`` on the local pool).
        attempts: Times the run was started in this sweep invocation (more than one when
            its worker was lost and the run was retried).
    """

    name: str
    status: str
    action: Optional[str]
    error: Optional[str]
    stopped_reason: Optional[str]
    host: str
    pid: int
    started: float
    ended: float
    node: Optional[str] = None
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def where() -> tuple[str, int]:
    """This process's host name and process id."""
    return socket.gethostname(), os.getpid()


def one_line_error(exc: BaseException) -> str:
    """An exception as one line: gpo's own errors as they read, others with their type.

    >>> one_line_error(ValueError("bad\\nvalue"))
    'ValueError: bad value'
    """
    from gpo.errors import GPOError

    text = str(exc) if isinstance(exc, GPOError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def execute_run(spec: RunSpec, on_event: Optional[Callable[[Any], None]] = None) -> RunOutcome:
    """Skips, resumes or starts one run, and says how it ended (never raises ``Exception``).

    Args:
        spec: The run.
        on_event: The run's progress listener (see :mod:`gpo.runs.events`).
    """
    import asyncio

    import gpo.api
    from gpo.errors import SweepBudgetExceeded

    host, pid = where()
    started = time.time()
    run_dir = Path(spec.run_dir)
    action: Optional[str] = None
    try:
        if (run_dir / "summary.json").exists():
            action = "skipped"
        elif (run_dir / "checkpoint.json").exists():
            action = "resumed"
            asyncio.run(gpo.api.resume_async(run_dir, on_event=on_event))
        else:
            action = "started"
            gpo.api.optimize(spec.task, spec.preset, **spec.optimize_kwargs(), on_event=on_event)
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        return RunOutcome(spec.name, "finished", action, None, summary.get("stopped_reason"), host, pid, started, time.time())
    except SweepBudgetExceeded as exc:
        return RunOutcome(spec.name, "stopped", action, one_line_error(exc), None, host, pid, started, time.time())
    except Exception as exc:  # recorded in the manifest; the sweep goes on
        return RunOutcome(spec.name, "failed", action, one_line_error(exc), None, host, pid, started, time.time())
