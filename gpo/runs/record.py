"""The run record: the layout of a run directory, how a step is appended, how a run is read.

Layout::

    config.json          the run's configuration (``RunConfig``, the optimizer as its own data)
    checkpoint.json      the state after the last finished step, and how many rows of the
                         two files below belong to it (replaced atomically)
    trajectory.jsonl     one line per candidate prompt of every step (appended)
    meta_prompts.jsonl   every optimizer call: messages and completions (appended)
    usage.jsonl          one line per model call, as it finishes (see ``gpo.runs.session``)
    responses.db         every response the run used
    results/*.jsonl      per-example test results of the initial and the final prompt
    summary.json         the outcome; written last, so its presence means "finished"
    report.html          the report

Every reader goes through here: :meth:`RunRecord.restore` strictly (resume: anything past
the last checkpoint is cut away, damage is an error) and :meth:`RunRecord.read` leniently
(reports of running, interrupted or damaged runs: what is missing becomes a note).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from gpo.errors import DataError
from gpo.optim.state import Candidate, MetaPromptRecord, OptimizerState, TrajectoryEntry
from gpo.runs.rundir import RunDir

__all__ = ["RunRecord", "RecordedRun", "CONFIG", "CHECKPOINT", "TRAJECTORY", "META_PROMPTS", "SUMMARY"]

CONFIG = "config.json"
CHECKPOINT = "checkpoint.json"
TRAJECTORY = "trajectory.jsonl"
META_PROMPTS = "meta_prompts.jsonl"
USAGE = "usage.jsonl"
RESPONSES = "responses.db"
SUMMARY = "summary.json"
RESULTS = ("initial_test", "best_test")
CHECKPOINT_VERSION = 2
RUN_FILES = (CONFIG, CHECKPOINT, SUMMARY)


@dataclass
class RecordedRun:
    """What a run directory holds, read leniently (see :meth:`RunRecord.read`)."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    summary: Optional[dict[str, Any]] = None
    history: list[TrajectoryEntry] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    meta_prompts: list[MetaPromptRecord] = field(default_factory=list)
    usage: list[Any] = field(default_factory=list)
    initial_test: Optional[list[dict[str, Any]]] = None
    best_test: Optional[list[dict[str, Any]]] = None
    checkpoint_step: Optional[int] = None
    notes: list[str] = field(default_factory=list)


class RunRecord:
    """One run directory.

    Args:
        path: The folder; nothing is created until something is written.
    """

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self._dir: Optional[RunDir] = None
        self._saved = (0, 0)  # candidates and meta-prompts already in the files

    @property
    def dir(self) -> RunDir:
        if self._dir is None:
            self._dir = RunDir(self.path)
        return self._dir

    def file(self, name: str) -> Path:
        return self.path / name

    def is_run(self) -> bool:
        """Whether the folder holds a run (a configuration, a checkpoint or a summary)."""
        return self.path.is_dir() and any(self.file(n).exists() for n in RUN_FILES)

    @property
    def started(self) -> bool:
        return self.file(CHECKPOINT).exists()

    @property
    def finished(self) -> bool:
        return self.file(SUMMARY).exists()

    # -- writing ------------------------------------------------------------------------------

    def write_config(self, doc: dict[str, Any]) -> None:
        self.dir.write_json(CONFIG, doc)

    def save(self, state: OptimizerState, timings: dict[str, Any], seed: int) -> None:
        """Checkpoints a run after a step, in time independent of the run's length.

        Candidates and meta-prompts never change once their step is over, so the rows
        new since the last save are appended (flushed to disk), and then
        ``checkpoint.json`` is replaced atomically with the small rest of the state and
        how many rows of each file belong to it. A crash between the two leaves rows that
        the next :meth:`restore` cuts away.
        """
        n_cand, n_meta = self._saved
        self.dir.append_jsonl(TRAJECTORY, [c.to_dict() for c in state.candidates[n_cand:]])
        self.dir.append_jsonl(META_PROMPTS, [m.to_dict() for m in state.meta_prompts[n_meta:]])
        self._saved = (len(state.candidates), len(state.meta_prompts))
        self.dir.write_json(
            CHECKPOINT,
            {
                "version": CHECKPOINT_VERSION,
                "step": state.step,
                "state": state.to_dict(with_records=False),
                "candidates": self._saved[0],
                "meta_prompts": self._saved[1],
                "random_state": {"seed": seed, "derivation": "sha256(seed, step, purpose)"},
                "timings": timings,
            },
        )

    def write_results(self, name: str, rows: list[dict[str, Any]]) -> None:
        self.dir.write_jsonl(f"results/{name}.jsonl", rows)

    def write_summary(self, summary: dict[str, Any]) -> None:
        self.dir.write_json(SUMMARY, summary)

    # -- reading strictly ---------------------------------------------------------------------

    def read_config(self) -> dict[str, Any]:
        """``config.json`` (``DataError`` when missing or not a run configuration)."""
        if not self.path.is_dir():
            raise DataError(f"no run directory at {self.path}", hint="give the folder that `gpo optimize` wrote")
        config = self.dir.read_json(CONFIG)
        if not isinstance(config, dict) or not ("run" in config or "args" in config):
            raise DataError(f"{self.file(CONFIG)} is not a gpo run configuration")
        return config

    def read_summary(self) -> dict[str, Any]:
        return self.dir.read_json(SUMMARY)

    def restore(self) -> Optional[tuple[OptimizerState, dict[str, Any]]]:
        """The state and timings of the last checkpoint; ``None`` when there is none.

        Rows of ``trajectory.jsonl`` and ``meta_prompts.jsonl`` past the checkpoint were
        written by a step that did not finish; they are cut from the files, so the step
        is redone onto exactly the files it started from.

        Raises:
            DataError: The checkpoint or the files it counts are damaged.
        """
        if not self.started:
            return None
        data = self.dir.read_json(CHECKPOINT)
        try:
            version = data.get("version")
            if version == 1:  # every record inside the checkpoint; the files were copies
                state = OptimizerState.from_dict({**data["state"], "meta_prompts": data["meta_prompts"]})
                self.dir.write_jsonl(TRAJECTORY, [c.to_dict() for c in state.candidates])
                self.dir.write_jsonl(META_PROMPTS, [m.to_dict() for m in state.meta_prompts])
            elif version == CHECKPOINT_VERSION:
                candidates = self.dir.read_jsonl_prefix(TRAJECTORY, int(data["candidates"]))
                metas = self.dir.read_jsonl_prefix(META_PROMPTS, int(data["meta_prompts"]))
                state = OptimizerState.from_dict({**data["state"], "candidates": candidates, "meta_prompts": metas})
            else:
                raise ValueError(f"version {version!r}")
            if not state.history:
                raise ValueError("no trajectory")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(
                f"the checkpoint {self.file(CHECKPOINT)} is damaged: {exc}",
                hint="the run cannot resume from it; start a new run",
            ) from exc
        self._saved = (len(state.candidates), len(state.meta_prompts))
        saved = data.get("timings") or {}
        timings = {
            "initial": saved.get("initial"),
            "steps": dict(saved.get("steps") or {}),
            "test": None,
            "invocations": list(saved.get("invocations") or []),  # none in runs recorded before
        }
        return state, timings

    # -- reading leniently --------------------------------------------------------------------

    def _json(self, name: str, notes: list[str]) -> Optional[Any]:
        if not self.file(name).exists():
            return None
        try:
            return json.loads(self.file(name).read_text(encoding="utf-8"))
        except ValueError as exc:
            notes.append(f"{self.file(name)} is damaged: {exc}")
            return None

    def _jsonl(self, name: str, notes: list[str], count: Any = None) -> Optional[list[Any]]:
        """JSON lines, skipping damaged ones (a run may be writing the file right now)."""
        path = self.file(name)
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
        return rows[:count] if isinstance(count, int) else rows

    def read(self) -> RecordedRun:
        """Reads whatever the directory holds, complete or not; nothing is changed.

        Raises:
            DataError: The folder does not exist or holds no run.
        """
        if not self.path.is_dir():
            raise DataError(f"no run directory at {self.path}", hint="give the folder that `gpo optimize` wrote")
        if not self.is_run():
            raise DataError(f"{self.path} is not a gpo run directory (no {', '.join(RUN_FILES)})")
        out = RecordedRun(path=self.path)
        notes = out.notes
        out.config = self._json(CONFIG, notes) or {}
        out.summary = self._json(SUMMARY, notes)
        checkpoint = self._json(CHECKPOINT, notes) or {}
        state = checkpoint.get("state") or {}
        try:
            out.history = [TrajectoryEntry.from_dict(e) for e in state.get("history") or []]
            cands = state.get("candidates")
            if not isinstance(cands, list):
                cands = self._jsonl(TRAJECTORY, notes, checkpoint.get("candidates")) or []
            out.candidates = [Candidate.from_dict(c) for c in cands]
            metas = checkpoint.get("meta_prompts")
            if not isinstance(metas, list):
                metas = self._jsonl(META_PROMPTS, notes, metas) or []
            out.meta_prompts = [MetaPromptRecord.from_dict(m) for m in metas]
        except (TypeError, AttributeError, KeyError) as exc:
            raise DataError(f"the records of {self.path} are damaged: {exc}") from exc
        if checkpoint.get("step") is not None:
            out.checkpoint_step = int(checkpoint["step"])
        unscored = bool(out.summary) and ((out.summary.get("scores") or {}).get("initial") or {}).get("eval") is None
        if not out.history and out.summary and unscored:  # stopped by its budget before p0 had a score
            notes.append(f"the run stopped during the initial evaluation ({out.summary.get('stopped_reason')}): no prompt was scored")
        elif not out.history and out.summary:
            s = out.summary
            scores = s.get("scores") or {}
            out.history = [TrajectoryEntry(0, s.get("initial_prompt") or "", float((scores.get("initial") or {}).get("eval") or 0.0))]
            if s.get("best_step"):
                out.history.append(
                    TrajectoryEntry(int(s["best_step"]), s.get("best_prompt") or "", float((scores.get("best") or {}).get("eval") or 0.0))
                )
            notes.append("checkpoint.json is missing: the trajectory shows only the initial and the final prompt")
        from gpo.lm.types import Usage

        out.usage = [Usage.from_dict(u) for u in self._jsonl(USAGE, notes) or [] if isinstance(u, dict)]
        out.initial_test = self._jsonl("results/initial_test.jsonl", notes)
        out.best_test = self._jsonl("results/best_test.jsonl", notes)
        if out.summary is None:
            notes.append("summary.json is missing: the run has not finished, so there are no test scores yet")
        elif out.best_test is None:
            notes.append("no per-example test results: the run stopped before scoring on test")
        return out
