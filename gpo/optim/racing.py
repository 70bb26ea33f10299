"""How a step's candidates are scored: all on the whole eval split, or raced on slices of it.

The paper scores every candidate on every eval example. Racing (beyond the paper, opt-in)
scores the live candidates slice by slice, on one seeded order of the eval examples
shared by all of them, so that their scores stay paired; after each slice a candidate is
dropped once a paired bound says it cannot beat the current leader over the whole split.
The leader and every candidate still in contention are scored on the whole split, so the
scores that reach selection and the trajectory mean what they mean without racing; a
dropped candidate keeps its mean on the examples it saw and how many they were.

The bound treats the seen examples as a simple random sample, without replacement, of
the split (which the seeded order makes them): a one-sided Student-t bound on the mean
paired difference with the finite-population correction, so that on the whole split it
is the exact comparison. Zero sample variance on a few examples is not taken at its
word: the variance counts two pseudo-differences, +1 and -1. A candidate is also dropped
when it could not catch up even by winning every remaining example.

References:
    Maron & Moore (1997): The Racing Algorithm: Model Selection for Lazy Learners.
    Artificial Intelligence Review 11.
    Birattari, Stützle, Paquete & Varrentrapp (2002): A Racing Algorithm for Configuring
    Metaheuristics (F-Race). GECCO 2002.
    Zehle, Schlager, Heiß & Feurer (2025): CAPO: Cost-Aware Prompt Optimization.
    arXiv:2504.16005 (races prompt candidates on blocks of examples with paired tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, Sequence

from gpo.errors import ConfigError
from gpo.optim.parts import register_part
from gpo.seeding import rng_for

if TYPE_CHECKING:
    from gpo.optim.objective import Objective

__all__ = ["FullEvaluation", "Racing", "RaceOutcome", "paired_lower_bound", "race", "race_order", "slice_ends"]

Scores = list[Optional[float]]
"""One candidate's scores on the examples in race order (``None``: the call failed)."""


def race_order(n: int, seed: int, step: int) -> list[int]:
    """The order in which a step's race visits the eval examples: a seeded permutation.

    >>> sorted(race_order(5, 0, 1)) == list(range(5)), race_order(5, 0, 1) == race_order(5, 0, 1)
    (True, True)
    """
    order = list(range(n))
    rng_for(seed, step, "race").shuffle(order)
    return order


def slice_ends(total: int, min_slice: int) -> list[int]:
    """How many examples every live candidate has seen after each slice.

    >>> slice_ends(20, 8), slice_ends(5, 8)
    ([8, 16, 20], [5])
    """
    return list(range(min(min_slice, total), total, min_slice)) + [total] if total else []


def _t_quantile(confidence: float, df: int) -> float:
    try:
        from scipy.stats import t
    except ImportError as exc:  # pragma: no cover - scipy ships with the racing extra
        raise ConfigError("racing needs scipy", hint="pip install 'gpo[racing]'") from exc
    return float(t.ppf(confidence, df))


def paired_lower_bound(diffs: Sequence[float], total: int, confidence: float) -> float:
    """A lower bound on the mean paired difference over all ``total`` examples.

    ``diffs`` are the leader's minus a candidate's scores (each in [-1, 1]) on the first
    ``n`` examples of a random order. The bound is the larger of a one-sided Student-t
    bound with the finite-population correction ``(total - n) / (total - 1)`` (variance
    with two pseudo-differences, +1 and -1) and the certain bound that the remaining
    differences are at least -1. At ``n == total`` it is the exact mean.

    >>> paired_lower_bound([1.0, 0.0], 2, 0.95)
    0.5
    >>> paired_lower_bound([1.0] * 8, 48, 0.95) > 0 > paired_lower_bound([1.0, 0.0, 0.0, 0.0] * 2, 48, 0.95)
    True
    """
    n = len(diffs)
    if n == 0:
        return -1.0
    mean = sum(diffs) / n
    if n >= total:
        return mean
    certain = (n * mean - (total - n)) / total
    squares = sum((d - mean) ** 2 for d in diffs) + (1 - mean) ** 2 + (1 + mean) ** 2
    spread = math.sqrt(squares / (n + 1) / n * (total - n) / (total - 1))
    return max(certain, mean - _t_quantile(confidence, max(1, n - 1)) * spread)


def _mean(scores: Scores) -> float:
    ok = [s for s in scores if s is not None]
    return sum(ok) / len(ok) if ok else 0.0


def leader_of(live: Sequence[int], scores: Sequence[Scores]) -> int:
    """The live candidate with the best mean so far; ties go to the earliest."""
    return min(live, key=lambda i: (-_mean(scores[i]), i))


def dropped_now(live: Sequence[int], scores: Sequence[Scores], total: int, confidence: float) -> list[int]:
    """The live candidates a paired bound says cannot beat the leader on the whole split."""
    lead = leader_of(live, scores)
    out = []
    for i in live:
        if i == lead:
            continue
        diffs = [a - b for a, b in zip(scores[lead], scores[i]) if a is not None and b is not None]
        if paired_lower_bound(diffs, total, confidence) > 0:
            out.append(i)
    return out


@dataclass
class RaceOutcome:
    """What a race found.

    Attributes:
        alive: The candidates still in contention at the end (scored on every example).
        seen: How many examples of the race order each candidate was scored on.
        means: Each candidate's mean on the examples it saw.
    """

    alive: list[int]
    seen: list[int]
    means: list[float]


async def race(
    k: int,
    total: int,
    score_slice: Callable[[list[int], int, int], Awaitable[list[Scores]]],
    *,
    confidence: float,
    min_slice: int,
) -> RaceOutcome:
    """Races ``k`` candidates over ``total`` examples taken in race order.

    Args:
        k: Candidates.
        total: Examples.
        score_slice: ``(candidates, start, end)`` -> each candidate's scores on the
            examples at positions ``start:end`` of the race order.
        confidence: Of the bound that drops a candidate.
        min_slice: Examples of each slice (the first included).

    Returns:
        Who is still in contention, and what each candidate saw.
    """
    scores: list[Scores] = [[] for _ in range(k)]
    live = list(range(k))
    seen = [0] * k
    start = 0
    for end in slice_ends(total, min_slice):
        if start >= total:
            break
        if len(live) == 1:  # the leader alone: the rest of the split at once
            end = total
        for i, new in zip(live, await score_slice(live, start, end)):
            scores[i].extend(new)
            seen[i] = end
        start = end
        if len(live) > 1 and end < total:  # at the end every live candidate has its whole-split score
            out = set(dropped_now(live, scores, total, confidence))
            live = [i for i in live if i not in out]
    return RaceOutcome(live, seen, [_mean(s) for s in scores])


# -- the part -----------------------------------------------------------------------------


@dataclass
class StepScores:
    """Eval scores of a step's new prompts.

    Attributes:
        scores: Whole-split scores of the prompts in contention (every prompt without racing).
        dropped: Prompts a race dropped: their mean on the examples seen, and how many.
    """

    scores: dict[str, float]
    dropped: dict[str, tuple[float, int]] = field(default_factory=dict)


class Evaluation:
    """Base of the evaluation parts: how a step scores its new candidates."""

    name = "evaluation"

    async def score(self, prompts: list[str], objective: "Objective", step: int) -> StepScores:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


@register_part("evaluation.full")
@dataclass(frozen=True)
class FullEvaluation(Evaluation):
    """Every candidate on every eval example, as the paper does."""

    name = "full"

    async def score(self, prompts, objective, step) -> StepScores:
        results = await objective.score(prompts) if prompts else []
        return StepScores({p: r.score for p, r in zip(prompts, results)})


@register_part("evaluation.racing")
@dataclass(frozen=True)
class Racing(Evaluation):
    """Races a step's candidates on slices of the eval split (beyond the paper).

    Args:
        confidence: Confidence of the paired bound that drops a candidate (higher drops
            later and loses the full-evaluation winner less often). The default, 0.93,
            was chosen on a simulated task model and one recorded paper-protocol run,
            and checked on another (``benchmarks/calls.py --racing``; README).
        min_slice: Examples in each slice: no candidate is dropped before it has seen
            this many.
    """

    confidence: float = 0.93
    min_slice: int = 4
    name = "racing"

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1.0:
            raise ConfigError(f"racing confidence must be in [0.5, 1), got {self.confidence:g}")
        if self.min_slice < 2:
            raise ConfigError(f"racing's minimum slice must be at least 2 examples, got {self.min_slice}")

    def describe(self) -> str:
        return f"racing({self.confidence:g}, {self.min_slice})"

    async def score(self, prompts, objective, step) -> StepScores:
        if len(prompts) < 2:
            return await FullEvaluation().score(prompts, objective, step)
        examples = list(objective.eval_examples)
        order = [examples[i] for i in race_order(len(examples), objective.seed, step)]

        async def score_slice(live: list[int], start: int, end: int) -> list[Scores]:
            results = await objective.score_on_many(
                [prompts[i] for i in live], order[start:end], split="eval", check_errors=False
            )
            return [[None if r.error else r.score for r in res.results] for res in results]

        outcome = await race(len(prompts), len(order), score_slice, confidence=self.confidence, min_slice=self.min_slice)
        alive = [prompts[i] for i in outcome.alive]
        full = await FullEvaluation().score(alive, objective, step)  # from the evaluator's memo: no new call
        dropped = {
            p: (outcome.means[i], outcome.seen[i]) for i, p in enumerate(prompts) if i not in outcome.alive
        }
        return StepScores(full.scores, dropped)
