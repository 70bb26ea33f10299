"""The runner: the loop around an optimizer, its checkpoints, timings, events and summary.

The optimizer decides (``init``, ``step``); the runner records each state in the run
record, keeps time, tells listeners, stops on a budget or on patience, scores the initial
and the final prompt on test and writes the summary.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from gpo.errors import BudgetExceeded, RunInterrupted
from gpo.evaluate import EvalResult
from gpo.lm.base import current_step
from gpo.lm.ledger import Ledger, empty_totals, summarize_by_step
from gpo.optim.objective import Objective
from gpo.optim.optimizer import PromptOptimizer
from gpo.optim.state import OptimizerState, TrajectoryEntry
from gpo.protocol import RunConfig
from gpo.runs.events import CandidateScored, Event, InitialScored, RunFinished, RunStarted, StepFinished
from gpo.runs.record import RunRecord
from gpo.runs.significance import paired_test

log = logging.getLogger(__name__)

__all__ = ["Runner", "RunResult", "Scores"]

ROLES = ("task", "optimizer", "embedding")


@dataclass(frozen=True)
class Scores:
    """Eval and test scores of the initial and the final prompt (``None``: not scored)."""

    initial_eval: Optional[float]
    initial_test: Optional[float]
    best_eval: Optional[float]
    best_test: Optional[float]

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> "Scores":
        s = summary.get("scores") or {}
        i, b = s.get("initial") or {}, s.get("best") or {}
        return cls(i.get("eval"), i.get("test"), b.get("eval"), b.get("test"))


@dataclass
class RunResult:
    """The outcome of a run.

    Attributes:
        best_prompt: The final prompt (best eval score, earliest on ties).
        initial_prompt: p0.
        best_step: The step that chose the final prompt.
        scores: Eval and test scores of both prompts.
        usage: Calls, tokens and cost per role.
        stopped_reason: ``completed``, a budget, patience, …
        run_dir: Where the run was written (``None``: nowhere).
        report_path: The HTML report, when one was written.
        summary: ``summary.json`` as data.
        state: The optimizer's last state (``None`` for a finished run read back).
        initial_test: Per-example test results of p0 (``None``: not scored in this call).
        best_test: Per-example test results of the final prompt.
    """

    best_prompt: str
    initial_prompt: str
    best_step: int
    scores: Scores
    usage: dict[str, Any]
    stopped_reason: str
    run_dir: Optional[Path]
    summary: dict[str, Any]
    state: Optional[OptimizerState] = None
    initial_test: Optional[EvalResult] = None
    best_test: Optional[EvalResult] = None
    report_path: Optional[Path] = None

    @classmethod
    def from_summary(cls, summary: dict[str, Any], run_dir: Optional[Path], **extra: Any) -> "RunResult":
        return cls(
            best_prompt=summary["best_prompt"],
            initial_prompt=summary["initial_prompt"],
            best_step=int(summary.get("best_step") or 0),
            scores=Scores.from_summary(summary),
            usage=dict(summary.get("usage") or {}),
            stopped_reason=str(summary.get("stopped_reason") or "completed"),
            run_dir=run_dir,
            summary=summary,
            **extra,
        )


class Runner:
    """Runs one optimizer on one objective, from the start or from the record's checkpoint.

    Args:
        optimizer: The optimizer.
        objective: The task, models and seed.
        config: The run's configuration (steps, limits, patience, …).
        record: The run directory (``None``: record nothing).
        ledger: The usage ledger of every model of the run.
        on_event: Called with each :class:`gpo.runs.events.Event`.
    """

    def __init__(
        self,
        optimizer: PromptOptimizer,
        objective: Objective,
        *,
        config: RunConfig,
        record: Optional[RunRecord],
        ledger: Ledger,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> None:
        self.optimizer = optimizer
        self.objective = objective
        self.config = config
        self.record = record
        self.ledger = ledger
        self.on_event = on_event or (lambda event: None)
        self.state: Optional[OptimizerState] = None
        self.started = time.time()
        # invocations: wall seconds of each invocation of the run (this one last), up to its
        # last checkpoint for the earlier ones, so a resumed run's time is their sum.
        self.timings: dict[str, Any] = {"initial": None, "steps": {}, "test": None, "invocations": [0.0]}

    def _clock(self) -> None:
        """Sets this invocation's wall time so far (the last entry of ``invocations``)."""
        self.timings["invocations"][-1] = round(time.time() - self.started, 2)

    def save(self) -> None:
        self._clock()
        if self.record is not None and self.state is not None:
            self.record.save(self.state, self.timings, self.config.seed)

    async def _test(self, prompt: str) -> EvalResult:
        return await self.objective.evaluator.evaluate(prompt, split="test", limit=self.config.test_limit)

    async def _initialize(self) -> None:
        started = time.perf_counter()
        current_step.set(0)
        state = await self.optimizer.init(self.objective, self.config.initial_prompt, self.config.steps)
        self.state = state  # scored: a budget reached from here on stops after step 0
        if self.config.test_every_step:
            state.history[0].test_score = (await self._test(state.history[0].prompt)).score
        self.timings["initial"] = round(time.perf_counter() - started, 3)
        self.save()
        self.on_event(InitialScored(state.history[0].prompt, state.history[0].score))

    async def _step(self) -> None:
        started = time.perf_counter()
        assert self.state is not None
        t = self.state.step + 1
        current_step.set(t)
        before = len(self.state.candidates)
        state = await self.optimizer.step(self.state, self.objective)
        entry = state.history[-1]
        if self.config.test_every_step:
            entry.test_score = (await self._test(entry.prompt)).score
        new = state.candidates[before:]
        reported = set(self.state.scores)
        for c in new:
            if c.scored and c.prompt not in reported:
                reported.add(c.prompt)
                self.on_event(CandidateScored(t, c.prompt, c.eval_score))
        self.state = state
        self.timings["steps"][str(t)] = round(time.perf_counter() - started, 3)
        self.save()
        self.on_event(
            StepFinished(
                step=t,
                total=state.total_steps,
                budget=new[0].edit_budget if new else None,
                candidates=[(c.prompt, c.eval_score, c.rejected, c.duplicate, c.dropped_after) for c in new],
                chosen=entry.prompt,
                score=entry.score,
                best=state.best().score,
            )
        )

    def _timing_summary(self) -> dict[str, Any]:
        steps = self.timings["steps"]
        return {
            "initial": self.timings["initial"],
            "steps": dict(steps),
            "mean_step": round(sum(steps.values()) / len(steps), 3) if steps else None,
            "test": self.timings["test"],
            "invocations": list(self.timings["invocations"]),
            "last_invocation": self.timings["invocations"][-1],
        }

    def _total(self) -> int:
        return 0 if self.optimizer.evaluation_only else self.config.steps

    def _endpoints(self) -> tuple[TrajectoryEntry, TrajectoryEntry]:
        """The initial and the best entry of the trajectory.

        A run stopped by its budget during the initial evaluation has no trajectory: p0
        is then both, with no eval score (a partial evaluation gives none).
        """
        if self.state is None:
            p0 = TrajectoryEntry(0, self.config.initial_prompt, None)  # type: ignore[arg-type]
            return p0, p0
        return self.state.history[0], self.state.best()

    def _summary(self, reason: str, initial_test, best_test) -> dict[str, Any]:
        state = self.state
        initial, best = self._endpoints()
        usage = self.ledger.summary()
        for role in ROLES:
            usage.setdefault(role, empty_totals())
        embedders = self.objective.embedder_names or [  # a resumed run with no step left names it from its usage
            r.model for r in self.ledger.records if r.role == "embedding"
        ]
        return {
            "task": self.objective.task.name,
            "method": self.optimizer.name,
            "seed": self.config.seed,
            "answer_format": self.objective.task.answer_format,
            "initial_prompt": initial.prompt,
            "best_prompt": best.prompt,
            "best_step": best.step,
            "scores": {
                "initial": {"eval": initial.score, "test": initial_test.score if initial_test else None},
                "best": {"eval": best.score, "test": best_test.score if best_test else None},
            },
            "paired_test": paired_test(initial_test, best_test),
            "n_eval": len(self.objective.eval_examples),
            "n_test": initial_test.n if initial_test else 0,
            "steps_completed": state.step if state else 0,
            "total_steps": state.total_steps if state else self._total(),
            "stopped_reason": reason,
            "optimizer": self.optimizer.describe(),
            "models": {
                "task": self.objective.evaluator.lm.spec,
                "optimizer": self.objective.optimizer_lm.spec,
                "embedder": embedders[0] if embedders else None,
            },
            "edit_budget": budget_adherence(state.candidates if state else []),
            "usage": usage,
            "usage_by_step": summarize_by_step(self.ledger.records),
            "dry_run": bool(self.config.dry_run),
            "seconds": round(sum(self.timings["invocations"]), 2),  # every invocation's
            "timings": self._timing_summary(),
        }

    async def _finalize(self, reason: str) -> RunResult:
        current_step.set(None)
        started = time.perf_counter()
        initial, best = self._endpoints()
        initial_test = best_test = None
        try:
            initial_test = await self._test(initial.prompt)
            best_test = initial_test if best.prompt == initial.prompt else await self._test(best.prompt)
        except BudgetExceeded as exc:
            log.warning("no budget left to score on test: %s", exc)
        self.timings["test"] = round(time.perf_counter() - started, 3)
        self._clock()
        summary = self._summary(reason, initial_test, best_test)
        if self.record is not None:
            for name, res in (("initial_test", initial_test), ("best_test", best_test)):
                if res is not None:
                    self.record.write_results(name, [r.to_dict() for r in res.results])
            self.save()  # the checkpoint keeps the test time too
            self.record.write_summary(summary)
        self.on_event(RunFinished(summary))
        return RunResult.from_summary(
            summary,
            self.record.path if self.record is not None else None,
            state=self.state,
            initial_test=initial_test,
            best_test=best_test,
        )

    def restore(self) -> bool:
        """Loads the record's last checkpoint; ``False`` when there is none."""
        restored = self.record.restore() if self.record is not None else None
        if restored is None:
            return False
        self.state, timings = restored
        self.timings = {**timings, "invocations": [*timings.get("invocations", []), 0.0]}
        return True

    async def run(self) -> RunResult:
        """Runs the optimization from the start, or from the record's last checkpoint.

        Raises:
            RunInterrupted: The run was cancelled (Ctrl-C, SIGTERM), during a step or while
                scoring on test; the last completed step is saved and ``gpo resume``
                continues from it.
        """
        resumed = self.restore()
        total = self._total()
        self.on_event(
            RunStarted(
                total=total,
                n_eval=len(self.objective.eval_examples),
                resumed_from=self.state.step if resumed and self.state else None,
                task=self.objective.task.name,
                method=self.optimizer.name,
                num_candidates=self.optimizer.update.num_candidates,
                ledger=self.ledger,
            )
        )
        try:
            return await self._finalize(await self._optimize(resumed))
        except asyncio.CancelledError:
            where = self.record.path if self.record is not None else None
            step = self.state.step if self.state else 0
            raise RunInterrupted(
                f"interrupted after step {step} of {total}",
                hint=f"resume with: gpo resume {where}" if where else None,
            ) from None

    async def _optimize(self, resumed: bool) -> str:
        """Runs the steps left; returns why they ended (``completed``, a budget, patience)."""
        patience = self.config.patience
        try:
            if not resumed:
                await self._initialize()
            assert self.state is not None
            while self.state.step < self.state.total_steps:
                await self._step()
                if patience is not None and self.state.step - self.state.best().step >= patience:
                    return f"no improvement in {patience} steps"
        except BudgetExceeded as exc:
            if self.state is None:  # a normal end too: the summary keeps p0, with no eval score
                log.warning("%s during the initial evaluation; stopping before any step", exc)
            else:
                log.warning("%s; stopping after step %d", exc, self.state.step)
            return str(exc)
        return "completed"


def budget_adherence(candidates) -> dict[str, Any]:
    """How well the learning rate bounded the change of the candidates that were scored.

    Returns:
        ``scored`` (new candidates scored under a word budget), ``within`` (of them, those
        whose edit distance is within it), ``clipped`` (of them, those clipped to it) and
        ``rate`` (``within / scored``; ``None`` without a budget).
    """
    bounded = [c for c in candidates if c.fresh and c.edit_budget is not None]
    within = sum(1 for c in bounded if c.edit_distance is not None and c.edit_distance <= c.edit_budget)
    return {
        "scored": len(bounded),
        "within": within,
        "clipped": sum(1 for c in bounded if c.clipped_from is not None),
        "rate": round(within / len(bounded), 4) if bounded else None,
    }
