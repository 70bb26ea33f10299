"""Driving a sweep: open or create its directory, hand the unfinished runs to an executor,
and keep ``manifest.json`` up to date as they begin and end.

Running the same sweep again is how it resumes: finished runs are skipped, interrupted ones
resume from their checkpoint, failed and pending ones start (again). A sweep directory holds
one plan: another plan in the same directory is refused with the difference named, since
its runs would not be comparable (with the shared response cache a new directory repeats
the common runs at no model cost).
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Optional

from gpo.errors import ConfigError, RunInterrupted
from gpo.sweep.executor import Executor
from gpo.sweep.manifest import Manifest
from gpo.sweep.plan import SweepPlan
from gpo.sweep.worker import RunOutcome

__all__ = ["SweepProgress", "check_plan", "open_sweep", "run_sweep"]

_CHECK_EXAMPLES = 2


def check_plan(plan: SweepPlan) -> None:
    """Raises, before anything is written, the error a run of the plan would raise at once.

    Each task (with the first method variant) and each method variant (with the first task)
    goes through :func:`gpo.api.optimize` as a dry run of one step on two examples: the
    fake model, no run directory, no cache. Unknown tasks, missing data, unknown methods,
    bad part values and malformed model specs all surface here.

    Raises:
        ConfigError: What is wrong, prefixed with the method and task that showed it.
        DataError: A task's data is missing or malformed (prefixed the same way).
    """
    import gpo.api
    from gpo.errors import DataError, GPOError
    from gpo.sweep.worker import one_line_error

    variants = plan.variants()
    checks = [(task, variants[0]) for task in plan.tasks] + [(plan.tasks[0], v) for v in variants[1:]]
    options = {k: v for k, v in plan.options.items() if v is not None and k not in ("budget", "dry_run")}
    limits = {
        "steps": 0 if options.get("steps") == 0 else 1,
        "eval_limit": min(_CHECK_EXAMPLES, options.get("eval_limit") or _CHECK_EXAMPLES),
        "test_limit": min(_CHECK_EXAMPLES, options.get("test_limit") or _CHECK_EXAMPLES),
    }
    for task, (label, preset, parts) in checks:
        try:
            gpo.api.optimize(
                task, preset, **{**options, **parts, **limits}, dry_run=True, run_dir=False, report=False, cache=False
            )
        except GPOError as exc:
            kind = DataError if isinstance(exc, DataError) else ConfigError
            raise kind(f"{label} on {task}: {exc.message}", hint=exc.hint) from exc
        except Exception as exc:  # a value the run's parts reject (e.g. a bad --grid value)
            raise ConfigError(f"{label} on {task}: {one_line_error(exc)}") from exc


def open_sweep(out: Path, plan: Optional[SweepPlan]) -> Manifest:
    """The manifest of the sweep in ``out``: read back, or new for ``plan`` (not saved yet).

    Args:
        out: The sweep directory.
        plan: The plan to run; ``None`` continues the plan recorded in ``out``.

    Raises:
        ConfigError: ``out`` holds another plan, holds no sweep when no plan is given, or is
            a non-empty folder that is not a sweep directory.
        DataError: The manifest is damaged.
    """
    out = Path(out)
    if Manifest.exists(out):
        manifest = Manifest.load(out)
        if plan is not None:
            diff = plan.difference(manifest.plan)
            if diff:
                raise ConfigError(
                    f"{out} holds another sweep ({diff.replace('in the other', 'recorded')})",
                    hint=f"continue it with `gpo sweep --out {out}`, or choose another --out",
                )
        manifest.refresh()
        return manifest
    if plan is None:
        raise ConfigError(f"{out} holds no sweep", hint="plan one with --tasks, --methods and --seeds")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not a sweep directory", hint="choose a new or empty --out folder")
    return Manifest.new(out, plan)


@dataclass
class SweepProgress:
    """What one invocation did.

    Attributes:
        total: Runs in the plan.
        already_finished: Runs finished before this invocation (not executed).
        executed: Outcomes of the runs executed now, in the order they ended.
    """

    total: int
    already_finished: int
    executed: list[RunOutcome] = field(default_factory=list)

    def count(self, *, action: Optional[str] = None, status: Optional[str] = None) -> int:
        return sum(
            1 for o in self.executed if (action is None or o.action == action) and (status is None or o.status == status)
        )


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turns SIGTERM into ``KeyboardInterrupt`` while the sweep runs (main thread only)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_sweep(
    manifest: Manifest,
    executor: Executor,
    *,
    run_reports: bool = True,
    on_event: Optional[Callable[[str, dict], None]] = None,
) -> SweepProgress:
    """Executes every unfinished run of a sweep and records each in the manifest.

    Args:
        manifest: The sweep (from :func:`open_sweep`); saved before any run begins.
        executor: Where the runs execute.
        run_reports: Write each run's ``report.html`` (needs the ``report`` extra).
        on_event: Called with ``("running" | "finished" | "failed", manifest entry)``.

    Returns:
        What was executed.

    Raises:
        RunInterrupted: Ctrl-C or SIGTERM; the runs in progress keep their last checkpoint.
    """
    specs = manifest.specs()
    statuses = {r["name"]: r["status"] for r in manifest.runs}
    todo = [s for s in specs if statuses[s.name] != "finished"]
    if not run_reports:
        todo = [replace(s, options={**s.options, "report": False}) for s in todo]
    progress = SweepProgress(total=len(specs), already_finished=len(specs) - len(todo))
    manifest.save()

    def on_start(name: str, host: str, pid: int, started: float, node: Optional[str] = None) -> None:
        manifest.mark_running(name, host, pid, started, node)
        manifest.save()
        if on_event:
            on_event("running", manifest.entry(name))

    def on_done(outcome: RunOutcome) -> None:
        manifest.mark_done(outcome)
        manifest.save()
        progress.executed.append(outcome)
        if on_event:
            on_event(outcome.status, manifest.entry(outcome.name))

    try:
        with _sigterm_as_interrupt():
            if todo:
                executor.run(todo, on_start, on_done)
    except KeyboardInterrupt:
        for r in manifest.runs:
            manifest.mark_pending(r["name"])
        manifest.save()
        raise RunInterrupted(
            "sweep interrupted", hint=f"run the same command again, or `gpo sweep --out {manifest.root}`, to continue"
        ) from None
    return progress
