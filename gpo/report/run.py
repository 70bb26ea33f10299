"""A run directory read back for reporting, whole or partial.

A run writes ``config.json`` first, a checkpoint after every step, and ``summary.json`` and
the per-example test results only at the end; a run stopped by its budget may have no test
results, and a dry run's scores come from a fake model. :func:`load_run` reads whatever is
there and :class:`RunData` says what is missing instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Optional, Union

from gpo.optim.state import TrajectoryEntry
from gpo.runs.record import RecordedRun, RunRecord

__all__ = ["RunData", "load_run"]


@dataclass
class RunData(RecordedRun):
    """Everything a report shows about one run (see :class:`gpo.runs.record.RecordedRun`).

    Attributes:
        path: The run directory.
        config: ``config.json`` (empty when missing).
        summary: ``summary.json`` (``None`` while the run has not finished).
        history: The trajectory: initial prompt first, one winner per step.
        candidates: Every candidate of every step (``trajectory.jsonl``).
        meta_prompts: Every optimizer call (``meta_prompts.jsonl``).
        usage: One record per model call (``usage.jsonl``).
        initial_test: Per-example test results of the initial prompt (``None``: not scored).
        best_test: Per-example test results of the final prompt (``None``: not scored).
        checkpoint_step: Steps completed according to the checkpoint.
        notes: What is missing or odd about the directory, for the reader.
    """

    # -- what the run is --------------------------------------------------------------------

    @property
    def args(self) -> dict[str, Any]:
        """The run's configuration as flat data (``run`` in ``config.json``; ``args`` before)."""
        return dict(self.config.get("run") or self.config.get("args") or {})

    @property
    def finished(self) -> bool:
        """Whether the run wrote its summary (it may still have stopped early)."""
        return self.summary is not None

    @property
    def task(self) -> str:
        return str((self.summary or {}).get("task") or self.args.get("task") or "unknown task")

    @property
    def method(self) -> str:
        s = self.summary or {}
        return str(s.get("method") or (self.config.get("optimizer") or {}).get("name") or self.args.get("method") or "?")

    @cached_property
    def saved_optimizer(self) -> Any:
        """The optimizer rebuilt from config.json; ``None`` when it holds none, or when it
        cannot be rebuilt (said once in the notes)."""
        saved = self.args.get("optimizer")
        if not (isinstance(saved, dict) and "update" in saved):
            return None
        from gpo.errors import ConfigError
        from gpo.optim.optimizer import PromptOptimizer

        try:
            return PromptOptimizer.from_dict(saved)
        except ConfigError as exc:
            self.notes.append(f"the optimizer of config.json cannot be rebuilt: {exc}")
            return None

    @property
    def beyond_paper(self) -> list[tuple[str, str]]:
        """The run's settings beyond the paper in words, with their switches (see
        :func:`gpo.departures.beyond_the_paper`); empty when config.json holds no optimizer."""
        from gpo.departures import beyond_the_paper

        return beyond_the_paper(self.saved_optimizer) if self.saved_optimizer is not None else []

    @property
    def optimizer_settings(self) -> dict[str, Any]:
        """The optimizer in words: the summary's, else rebuilt from the configuration."""
        if (self.summary or {}).get("optimizer"):
            return dict(self.summary["optimizer"])
        saved = self.args.get("optimizer")
        if isinstance(saved, dict) and "update" in saved:
            return self.saved_optimizer.describe() if self.saved_optimizer is not None else {}
        return dict(self.config.get("optimizer") or {})

    @property
    def models(self) -> dict[str, Any]:
        models = dict((self.summary or {}).get("models") or {})
        models.setdefault("task", self.args.get("model"))
        models.setdefault("optimizer", self.args.get("optimizer_model"))
        models.setdefault("embedder", self.args.get("embedder"))
        return models

    @property
    def dry_run(self) -> bool:
        return bool(self.config.get("dry_run") or (self.summary or {}).get("dry_run"))

    @property
    def steps_completed(self) -> int:
        if self.summary is not None and self.summary.get("steps_completed") is not None:
            return int(self.summary["steps_completed"])
        if self.checkpoint_step is not None:
            return self.checkpoint_step
        return max((e.step for e in self.history), default=0)

    @property
    def total_steps(self) -> Optional[int]:
        s = self.summary or {}
        value = s.get("total_steps", self.args.get("steps"))
        return None if value is None else int(value)

    @property
    def stopped_reason(self) -> str:
        if self.summary is None:
            return "not finished (running, interrupted or crashed)"
        return str(self.summary.get("stopped_reason") or "completed")

    # -- prompts and scores -------------------------------------------------------------------

    @property
    def initial(self) -> Optional[TrajectoryEntry]:
        return self.history[0] if self.history else None

    @property
    def best(self) -> Optional[TrajectoryEntry]:
        """The final prompt: the summary's best, else the best trajectory entry so far."""
        if not self.history:
            return None
        if self.summary is not None:
            step = self.summary.get("best_step")
            for e in self.history:
                if e.step == step and e.prompt == self.summary.get("best_prompt"):
                    return e
            if self.summary.get("best_prompt") is not None:
                score = ((self.summary.get("scores") or {}).get("best") or {}).get("eval")
                return TrajectoryEntry(int(step or 0), self.summary["best_prompt"], float(score or 0.0))
        best = self.history[0]
        for e in self.history[1:]:
            if e.score > best.score:
                best = e
        return best

    def score(self, which: str, split: str) -> Optional[float]:
        """A headline score: ``which`` is ``initial`` or ``best``, ``split`` is ``eval`` or ``test``."""
        s = ((self.summary or {}).get("scores") or {}).get(which) or {}
        if s.get(split) is not None:
            return float(s[split])
        entry = self.initial if which == "initial" else self.best
        if entry is None:
            return None
        if split == "eval":
            return entry.score
        rows = self.initial_test if which == "initial" else self.best_test
        if rows:
            return sum(float(r.get("score") or 0.0) for r in rows) / len(rows)
        return None

    def meta_prompt(self, mp_id: Optional[str]) -> Optional[MetaPromptRecord]:
        for m in self.meta_prompts:
            if m.id == mp_id:
                return m
        return None

    def steps(self) -> list[int]:
        """Steps that proposed candidates or chose a prompt, in order (without step 0)."""
        return sorted({c.step for c in self.candidates} | {e.step for e in self.history if e.step > 0})


def load_run(path: Union[str, Path]) -> RunData:
    """Reads a run directory, complete or not, through its run record.

    Args:
        path: The run directory.

    Raises:
        DataError: The folder does not exist or holds no run (no config, checkpoint or summary).
    """
    recorded = RunRecord(path).read()
    return RunData(**vars(recorded))
