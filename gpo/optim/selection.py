"""Choosing the next prompt from a step's candidates, and the final prompt of a run.

References:
    GPO (Tang et al., 2025), section 2 of the method: selection without elitism.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

from gpo.errors import ConfigError
from gpo.optim.parts import register_part
from gpo.optim.state import TrajectoryEntry

if TYPE_CHECKING:
    from gpo.optim.objective import Objective

SELECTIONS = ("paper", "elitist")


def select_paper(
    candidates: Sequence[tuple[str, float]], current: str, winners: set[str]
) -> str:
    """The best candidate that has not already been a step winner (no elitism).

    The pool is the candidates plus the current prompt scored 0; it is ranked by score, ties
    going to the earliest generated candidate. When every candidate was a winner before,
    the current prompt stays.

    >>> select_paper([("a", .5), ("b", .7), ("c", .7)], "cur", {"cur"})
    'b'
    >>> select_paper([("a", .9), ("b", .1)], "cur", {"cur", "a"})
    'b'
    >>> select_paper([("cur", .9)], "cur", {"cur"})
    'cur'
    """
    pool = list(candidates) + [(current, 0.0)]
    order = sorted(range(len(pool)), key=lambda i: (-pool[i][1], i))
    for i in order:
        if pool[i][0] not in winners:
            return pool[i][0]
    return current


def select_elitist(
    candidates: Sequence[tuple[str, float]], current: str, current_score: float
) -> str:
    """The best candidate if it beats the current prompt, else the current prompt.

    >>> select_elitist([("a", .5)], "cur", .6)
    'cur'
    >>> select_elitist([("a", .5), ("b", .8), ("c", .8)], "cur", .6)
    'b'
    """
    best: Optional[tuple[str, float]] = None
    for prompt, score in candidates:
        if best is None or score > best[1]:
            best = (prompt, score)
    if best is not None and best[1] > current_score:
        return best[0]
    return current


class Selection:
    """Base of the selection rules: which prompt a step continues from."""

    name = "selection"

    def select(self, pool: Sequence[tuple[str, float]], history: Sequence[TrajectoryEntry]) -> str:
        """The next prompt, from the step's scored candidates and the trajectory so far."""
        raise NotImplementedError

    async def choose(
        self, pool: Sequence[tuple[str, float]], history: Sequence[TrajectoryEntry], objective: "Objective"
    ) -> str:
        """Like :meth:`select`; a rule that needs more evidence may score prompts here."""
        return self.select(pool, history)

    def describe(self) -> str:
        return self.name


@register_part("selection.paper")
@dataclass(frozen=True)
class PaperSelection(Selection):
    """The best candidate not yet a step winner (no elitism), as the paper does."""

    name = "paper"

    def select(self, pool, history) -> str:
        return select_paper(pool, history[-1].prompt, {e.prompt for e in history})


@register_part("selection.elitist")
@dataclass(frozen=True)
class ElitistSelection(Selection):
    """Keep the current prompt unless a candidate beats it."""

    name = "elitist"

    def select(self, pool, history) -> str:
        return select_elitist(pool, history[-1].prompt, history[-1].score)


@register_part("selection.tie_break")
@dataclass(frozen=True)
class TieBreak(Selection):
    """Breaks ties at the top of a step's pool with more evidence, then lets a rule choose.

    On a small eval split several candidates often share the best score, and the rule
    alone would take the earliest generated. Here the tied candidates are scored on up
    to ``examples`` more examples (the eval split's examples beyond the run's limit, then
    the train split) and reordered by that score, best first. With ``near_misses``, ties
    that remain are then ordered by the wrong answers, on all those examples, that begin
    or end with the expected output (:func:`gpo.optim.diagnosis.near_miss`), most first:
    when every candidate scores 0 on exact match, a prompt whose answers are right but
    wrapped in a sentence is the one a next step can fix by the answer's form. It costs
    no call (the answers are already there). Ties that remain keep their order. Eval
    scores are not changed.

    Args:
        selection: The rule that chooses from the reordered pool.
        examples: How many more examples the tied candidates are scored on.
        near_misses: Then prefer the candidate with the most near-miss answers.
    """

    selection: Selection = field(default_factory=lambda: PaperSelection())
    examples: int = 20
    near_misses: bool = False

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.selection.name

    def describe(self) -> str:
        return f"{self.selection.describe()}+tie-break({self.examples}{', near misses' if self.near_misses else ''})"

    def select(self, pool, history) -> str:
        return self.selection.select(pool, history)

    async def choose(self, pool, history, objective) -> str:
        pool = list(pool)
        if pool and (self.examples > 0 or self.near_misses):
            top = max(score for _, score in pool)
            tied = list(dict.fromkeys(p for p, score in pool if score == top))
            extra = objective.more_examples(self.examples)
            if len(tied) > 1 and (extra or self.near_misses):
                results = await objective.score_on_many(tied, extra, split="tie-break") if extra else []
                rank = {p: r.score for p, r in zip(tied, results)}
                misses = await self._near_misses(tied, results, objective) if self.near_misses else {}
                order = sorted(range(len(pool)), key=lambda i: (
                    -pool[i][1], -rank.get(pool[i][0], 0.0), -misses.get(pool[i][0], 0), i
                ))
                pool = [pool[i] for i in order]
        return await self.selection.choose(pool, history, objective)

    @staticmethod
    async def _near_misses(tied: list[str], extra_results: Sequence, objective: "Objective") -> dict[str, int]:
        """Each tied prompt's near-miss answers on the eval examples and the extra ones."""
        from gpo.optim.diagnosis import near_miss
        from gpo.tasks.base import display_target

        out = {}
        for i, prompt in enumerate(tied):
            wrong = (await objective.results_of(prompt)).wrong + (extra_results[i].wrong if i < len(extra_results) else [])
            out[prompt] = sum(near_miss(r.answer, display_target(r.target)) for r in wrong)
        return out


def make_selection(name: str) -> Selection:
    """A selection rule by name: ``paper`` or ``elitist``."""
    check_selection(name)
    return PaperSelection() if name == "paper" else ElitistSelection()


def check_selection(name: str) -> str:
    if name not in SELECTIONS:
        raise ConfigError(f"unknown selection {name!r}", hint=f"use one of {', '.join(SELECTIONS)}")
    return name
