"""Optimizer state as plain data: the trajectory, every candidate, every meta-prompt.

Everything here is JSON-serializable through ``to_dict``/``from_dict``, so a run directory
holds the whole state of a run. A step never changes a state it was given: it returns a
new one (:meth:`OptimizerState.advance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Optional


def _from_dict(cls, data: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class TrajectoryEntry:
    """One step of the optimization trajectory: the prompt chosen at that step.

    Attributes:
        step: 0 for the initial prompt, then 1…T.
        prompt: The prompt.
        score: Its eval score in [0, 1].
        reflection: The reflection written on it, when the method uses reflections.
        test_score: Its test score, when per-step test scoring is on.
    """

    step: int
    prompt: str
    score: float
    reflection: Optional[str] = None
    test_score: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # fields hold JSON values; no deep copy needed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrajectoryEntry":
        return _from_dict(cls, data)


@dataclass
class Candidate:
    """One candidate prompt proposed at one step (a line of ``trajectory.jsonl``).

    Attributes:
        step: The step that proposed it.
        index: Its sample index within the step (counting every resampling round).
        prompt: The parsed prompt in canonical form (``None`` when nothing could be parsed).
        parent: The current prompt it was proposed from.
        raw: The optimizer's raw completion.
        eval_score: Its eval score (``None`` when rejected).
        edit_budget: The schedule's word budget at this step (``None``: no limit).
        edit_distance: Words changed relative to the parent.
        duplicate: An exact repeat of a prompt already evaluated in this run.
        over_budget: It changed more words than the edit budget allowed.
        rejected: Why it was rejected, if it was.
        selected: Chosen as the step's next prompt.
        meta_prompt_id: The id of the meta-prompt in ``meta_prompts.jsonl``.
        clipped_from: The proposal before its change was clipped to the edit budget
            (written only when that happened).
        dropped_after: Racing dropped it after this many eval examples; its
            ``eval_score`` is its mean on them (written only when that happened).
    """

    step: int
    index: int
    prompt: Optional[str]
    parent: str
    raw: str
    eval_score: Optional[float] = None
    edit_budget: Optional[int] = None
    edit_distance: Optional[int] = None
    duplicate: bool = False
    over_budget: bool = False
    rejected: Optional[str] = None
    selected: bool = False
    meta_prompt_id: Optional[str] = None
    clipped_from: Optional[str] = None
    dropped_after: Optional[int] = None

    @property
    def ok(self) -> bool:
        """Whether the candidate was accepted (it may still be a duplicate)."""
        return self.rejected is None

    @property
    def scored(self) -> bool:
        """Whether the candidate holds a prompt that was (or will be) scored."""
        return bool(self.prompt) and self.rejected is None

    @property
    def fresh(self) -> bool:
        """Whether the candidate holds a prompt the run scores for the first time (not a repeat)."""
        return self.scored and not self.duplicate

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))  # fields hold JSON values; no deep copy needed
        for key in ("clipped_from", "dropped_after"):
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Candidate":
        return _from_dict(cls, data)


@dataclass
class MetaPromptRecord:
    """An optimizer call: what it was for, the messages sent and the completions returned."""

    id: str
    step: int
    kind: str  # "update", "reflection" or "summary"
    messages: list[dict[str, str]]
    completions: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # fields hold JSON values; no deep copy needed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MetaPromptRecord":
        return _from_dict(cls, data)


@dataclass
class OptimizerState:
    """Everything a run has decided so far.

    Attributes:
        step: Steps completed.
        total_steps: T.
        history: The trajectory (initial prompt first, one winner per step).
        candidates: Every candidate of every step.
        scores: Eval score of every prompt evaluated in the run.
        summary: The running summary (summary trajectory only).
        format_indices: Which ``format`` examples the meta-prompt shows.
        meta_prompts: Every optimizer call of every step (messages and completions).
    """

    step: int = 0
    total_steps: int = 0
    history: list[TrajectoryEntry] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    summary: Optional[str] = None
    format_indices: list[int] = field(default_factory=list)
    meta_prompts: list[MetaPromptRecord] = field(default_factory=list)

    @property
    def current(self) -> TrajectoryEntry:
        return self.history[-1]

    def best(self) -> TrajectoryEntry:
        """The trajectory entry with the highest eval score; ties go to the earliest."""
        return best_entry(self.history)

    def advance(
        self,
        history: list[TrajectoryEntry],
        candidates: list[Candidate],
        meta_prompts: list[MetaPromptRecord],
        scores: dict[str, float],
        summary: Optional[str],
    ) -> "OptimizerState":
        """A new state one step further; this one is left as it was.

        Args:
            history: The new trajectory: this state's, with the step's winner appended
                (and the parent entry carrying the step's reflection, if any).
            candidates: The step's candidates.
            meta_prompts: The step's optimizer calls.
            scores: Eval scores of the prompts the step scored.
            summary: The running note after the step.
        """
        return replace(
            self,
            step=history[-1].step,
            history=history,
            candidates=[*self.candidates, *candidates],
            meta_prompts=[*self.meta_prompts, *meta_prompts],
            scores={**self.scores, **scores},
            summary=summary,
        )

    def to_dict(self, with_records: bool = True) -> dict[str, Any]:
        """The state as JSON data.

        Args:
            with_records: Include the candidates, scores and meta-prompts (a checkpoint
                leaves them out: they live in ``trajectory.jsonl`` and
                ``meta_prompts.jsonl``, and the scores are rebuilt from the candidates).
        """
        data: dict[str, Any] = {
            "step": self.step,
            "total_steps": self.total_steps,
            "history": [e.to_dict() for e in self.history],
            "summary": self.summary,
            "format_indices": list(self.format_indices),
        }
        if with_records:
            data["candidates"] = [c.to_dict() for c in self.candidates]
            data["scores"] = dict(self.scores)
            data["meta_prompts"] = [m.to_dict() for m in self.meta_prompts]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OptimizerState":
        candidates = [Candidate.from_dict(c) for c in data.get("candidates", [])]
        if "scores" in data:
            scores = {str(k): float(v) for k, v in data["scores"].items()}
        else:  # every evaluated prompt is p0 or a candidate that carries its score
            first = data["history"][0]
            scores = {first["prompt"]: float(first["score"])}
            for c in candidates:  # a candidate dropped by racing has no whole-split score
                if c.scored and c.eval_score is not None and c.dropped_after is None:
                    scores.setdefault(c.prompt, float(c.eval_score))
        return cls(
            step=int(data["step"]),
            total_steps=int(data.get("total_steps", 0)),
            history=[TrajectoryEntry.from_dict(e) for e in data["history"]],
            candidates=candidates,
            scores=scores,
            summary=data.get("summary"),
            format_indices=list(data.get("format_indices", [])),
            meta_prompts=[MetaPromptRecord.from_dict(m) for m in data.get("meta_prompts", [])],
        )


def best_entry(history: list[TrajectoryEntry]) -> TrajectoryEntry:
    """The entry with the highest eval score; ties go to the earliest.

    >>> best_entry([TrajectoryEntry(0, "a", .5), TrajectoryEntry(1, "b", .7), TrajectoryEntry(2, "c", .7)]).prompt
    'b'
    """
    best = history[0]
    for entry in history[1:]:
        if entry.score > best.score:
            best = entry
    return best
