"""What racing did in a run, for the report: which candidates it dropped, what that skipped.

With racing (:mod:`gpo.optim.racing`), a candidate that cannot win its step is dropped
before it has seen the whole eval split; its recorded eval score is its mean over the
``dropped_after`` examples it saw. Such a partial score is not comparable with a
whole-split one, so the report marks it wherever it shows it. Every figure here is
counted from the run's records (``trajectory.jsonl``, ``config.json``, ``summary.json``);
what they do not say is ``None``, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from gpo.optim.state import Candidate

__all__ = ["RacingSummary", "raced_out_note", "racing_summary"]


def raced_out_note(seen: int, n_eval: Optional[int]) -> str:
    """How the page says a candidate's eval score is partial.

    Args:
        seen: The eval examples it was scored on before racing dropped it.
        n_eval: The run's eval examples (``None``: the records do not say).

    >>> raced_out_note(4, 16), raced_out_note(4, None)
    ('raced out after 4 of 16 eval examples', 'raced out after 4 eval examples')
    """
    total = f" of {n_eval}" if n_eval is not None else ""
    return f"raced out after {seen}{total} eval examples"


@dataclass(frozen=True)
class RacingSummary:
    """What racing did in a run.

    Attributes:
        setting: The evaluation part in words (e.g. ``racing(0.9, 4)``; ``None``: not recorded).
        scored: Candidates that got an eval score, whole or partial.
        dropped: Candidates racing dropped (each with a partial score).
        skipped_examples: Eval examples the dropped prompts were not scored on, counted
            once per prompt (``None``: the run's eval split size is not recorded).
        requests_per_example: Task-model requests one eval example takes (1, or 2 with
            two-round answers; ``None``: not recorded).
        repeated: Some prompt was raced out at more than one step; those races may have
            shared examples, so ``skipped_examples`` is then an upper bound.
    """

    setting: Optional[str]
    scored: int
    dropped: int
    skipped_examples: Optional[int]
    requests_per_example: Optional[int]
    repeated: bool = False

    @property
    def skipped_requests(self) -> Optional[int]:
        """Task-model requests the skipped examples would have taken (``None``: unknown)."""
        if self.skipped_examples is None or self.requests_per_example is None:
            return None
        return self.skipped_examples * self.requests_per_example


def racing_summary(
    candidates: Iterable["Candidate"],
    setting: Optional[str],
    n_eval: Optional[int],
    two_round: Optional[bool],
) -> Optional[RacingSummary]:
    """What racing did, from a run's candidates (``None``: the run did not race).

    A prompt a race dropped and no later step scored on the whole split skipped the eval
    examples it never saw: ``n_eval`` minus the most it saw in one race. A prompt that
    some step scored whole skipped nothing.

    Args:
        candidates: The run's candidates (:class:`gpo.optim.state.Candidate`).
        setting: The optimizer's evaluation part in words (``racing(…)`` when it raced).
        n_eval: The run's eval examples (``None``: unknown).
        two_round: Whether answers took a follow-up request (``None``: unknown).

    >>> from gpo.optim.state import Candidate
    >>> rows = [Candidate(1, 0, "a", "p", "", .5), Candidate(1, 1, "b", "p", "", .25, dropped_after=4),
    ...         Candidate(2, 0, "c", "a", "", .0, dropped_after=8)]
    >>> s = racing_summary(rows, "racing(0.9, 4)", 16, two_round=True)
    >>> s.dropped, s.skipped_examples, s.skipped_requests
    (2, 20, 40)
    >>> racing_summary(rows[:1], "full", 16, True) is None
    True
    """
    rows = list(candidates)
    dropped = [c for c in rows if c.dropped_after is not None]
    if not dropped and not str(setting or "").startswith("racing"):
        return None
    whole = {c.prompt for c in rows if c.eval_score is not None and c.dropped_after is None}
    most: dict[str, int] = {}
    steps: dict[str, set[int]] = {}
    for c in dropped:
        if c.prompt not in whole:
            most[c.prompt] = max(most.get(c.prompt, 0), c.dropped_after)
            steps.setdefault(c.prompt, set()).add(c.step)
    skipped = None if n_eval is None else sum(max(0, n_eval - seen) for seen in most.values())
    return RacingSummary(
        setting=setting,
        scored=sum(1 for c in rows if c.eval_score is not None),
        dropped=len(dropped),
        skipped_examples=skipped,
        requests_per_example=None if two_round is None else (2 if two_round else 1),
        repeated=any(len(s) > 1 for s in steps.values()),
    )
