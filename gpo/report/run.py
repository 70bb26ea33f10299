"""A run directory read back for reporting, whole or partial.

A run writes ``config.json`` first, a checkpoint after every step, and ``summary.json`` and
the per-example test results only at the end; a run stopped by its budget may have no test
results, and a dry run's scores come from a fake model. :func:`load_run` reads whatever is
there and :class:`RunData` says what is missing instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from gpo.errors import DataError
from gpo.optim.state import CandidateRecord, MetaPromptRecord, TrajectoryEntry
from gpo.runs.rundir import RunDir

__all__ = ["RunData", "load_run"]


@dataclass
class RunData:
    """Everything a report shows about one run.

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

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    summary: Optional[dict[str, Any]] = None
    history: list[TrajectoryEntry] = field(default_factory=list)
    candidates: list[CandidateRecord] = field(default_factory=list)
    meta_prompts: list[MetaPromptRecord] = field(default_factory=list)
    usage: list[Any] = field(default_factory=list)
    initial_test: Optional[list[dict[str, Any]]] = None
    best_test: Optional[list[dict[str, Any]]] = None
    checkpoint_step: Optional[int] = None
    notes: list[str] = field(default_factory=list)

    # -- what the run is --------------------------------------------------------------------

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.config.get("args") or {})

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

    @property
    def optimizer_settings(self) -> dict[str, Any]:
        return dict((self.summary or {}).get("optimizer") or self.config.get("optimizer") or {})

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


def _read_json(rd: RunDir, name: str, notes: list[str]) -> Optional[Any]:
    if not rd.file(name).exists():
        return None
    try:
        return rd.read_json(name)
    except DataError as exc:
        notes.append(str(exc))
        return None


def _read_jsonl(rd: RunDir, name: str, notes: list[str]) -> Optional[list[Any]]:
    """JSON lines, skipping damaged ones (a run may be writing the file right now)."""
    path = rd.file(name)
    if not path.exists():
        return None
    rows, bad = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            bad += 1
    if bad:
        notes.append(f"{path.name}: skipped {bad} damaged line(s)")
    return rows


def _rows(rd: RunDir, name: str, count: Any, notes: list[str]) -> list[Any]:
    rows = _read_jsonl(rd, name, notes) or []
    return rows[:count] if isinstance(count, int) else rows


def load_run(path: Union[str, Path]) -> RunData:
    """Reads a run directory, complete or not.

    Args:
        path: The run directory.

    Raises:
        DataError: The folder does not exist or holds no run (no config, checkpoint or summary).
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"no run directory at {path}", hint="give the folder that `gpo optimize` wrote")
    names = ("config.json", "checkpoint.json", "summary.json")
    if not any((path / n).exists() for n in names):
        raise DataError(f"{path} is not a gpo run directory (no {', '.join(names)})")
    rd = RunDir(path)
    data = RunData(path=path)
    notes = data.notes
    data.config = _read_json(rd, "config.json", notes) or {}
    data.summary = _read_json(rd, "summary.json", notes)
    checkpoint = _read_json(rd, "checkpoint.json", notes) or {}
    state = checkpoint.get("state") or {}
    try:
        data.history = [TrajectoryEntry.from_dict(e) for e in state.get("history") or []]
        # Checkpoints of version 1 held every record; later ones count the rows of the
        # append-only files that belong to the last finished step.
        cands = state.get("candidates")
        if not isinstance(cands, list):
            cands = _rows(rd, "trajectory.jsonl", checkpoint.get("candidates"), notes)
        data.candidates = [CandidateRecord.from_dict(c) for c in cands]
        metas = checkpoint.get("meta_prompts")
        if not isinstance(metas, list):
            metas = _rows(rd, "meta_prompts.jsonl", metas, notes)
        data.meta_prompts = [MetaPromptRecord.from_dict(m) for m in metas]
    except (TypeError, AttributeError, KeyError) as exc:
        raise DataError(f"the records of {path} are damaged: {exc}") from exc
    if checkpoint.get("step") is not None:
        data.checkpoint_step = int(checkpoint["step"])
    if not data.history and data.summary:
        # No checkpoint: rebuild the two ends of the trajectory from the summary.
        s = data.summary
        scores = s.get("scores") or {}
        data.history = [TrajectoryEntry(0, s.get("initial_prompt") or "", float((scores.get("initial") or {}).get("eval") or 0.0))]
        if s.get("best_step"):
            data.history.append(
                TrajectoryEntry(int(s["best_step"]), s.get("best_prompt") or "", float((scores.get("best") or {}).get("eval") or 0.0))
            )
        notes.append("checkpoint.json is missing: the trajectory shows only the initial and the final prompt")
    from gpo.lm.types import Usage

    data.usage = [Usage.from_dict(u) for u in _read_jsonl(rd, "usage.jsonl", notes) or [] if isinstance(u, dict)]
    data.initial_test = _read_jsonl(rd, "results/initial_test.jsonl", notes)
    data.best_test = _read_jsonl(rd, "results/best_test.jsonl", notes)
    if data.summary is None:
        notes.append("summary.json is missing: the run has not finished, so there are no test scores yet")
    elif data.best_test is None:
        notes.append("no per-example test results: the run stopped before scoring on test")
    return data
