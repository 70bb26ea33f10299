"""What a run tells its listeners as it goes: typed events.

Each event is a frozen dataclass with a ``type`` name. Listeners written against the
earlier dict events keep working: an event also answers ``event["field"]`` and
``event.get("field")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

__all__ = ["Event", "RunStarted", "InitialScored", "CandidateScored", "StepFinished", "RunFinished"]


class Event:
    """Base of the run events."""

    type: ClassVar[str] = "event"

    def __getitem__(self, key: str) -> Any:
        if key == "type":
            return self.type
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


@dataclass(frozen=True)
class RunStarted(Event):
    """The run begins, or resumes after ``resumed_from`` steps."""

    type: ClassVar[str] = "start"
    total: int
    n_eval: int
    resumed_from: Optional[int]
    task: str
    method: str
    num_candidates: int
    ledger: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class InitialScored(Event):
    """The initial prompt's eval score."""

    type: ClassVar[str] = "initial"
    prompt: str
    eval: float


@dataclass(frozen=True)
class CandidateScored(Event):
    """A new candidate's eval score."""

    type: ClassVar[str] = "candidate"
    step: int
    prompt: str
    eval: float


@dataclass(frozen=True)
class StepFinished(Event):
    """A step's candidates and the prompt it chose.

    Attributes:
        candidates: ``(prompt, eval score, rejected reason, duplicate, dropped after)`` of each
            candidate; the last is the number of eval examples after which racing dropped
            it (its score is then partial), else ``None``.
    """

    type: ClassVar[str] = "step"
    step: int
    total: int
    budget: Optional[int]
    candidates: list
    chosen: str
    score: float
    best: float


@dataclass(frozen=True)
class RunFinished(Event):
    """The run's summary (as written to ``summary.json``)."""

    type: ClassVar[str] = "final"
    summary: dict
