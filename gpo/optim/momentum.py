"""Momentum: which part of the optimization trajectory the meta-prompt shows.

Gradient descent with momentum adds past update directions to the current one; an LLM
optimizer sees past prompts. Variants: none, ``recency(k)`` (the k newest), ``importance(k)``
(the k best-scoring), ``relevance(k)`` (the current prompt and the k − 1 earlier prompts most
similar to it; GPO's choice) and ``summary`` (a running note merged by the optimizer model).

The ranking rules are pure functions; the retrievers are small objects that call them.

References:
    GPO (Tang et al., 2025), section 4.2 "Update direction", momentum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

from gpo.errors import ConfigError
from gpo.optim import prompts as P
from gpo.optim.parts import register_part
from gpo.optim.state import TrajectoryEntry

if TYPE_CHECKING:
    from gpo.optim.direction import Ask
    from gpo.optim.objective import Objective


def _unique_by_prompt(entries: Sequence[TrajectoryEntry]) -> list[TrajectoryEntry]:
    """Keeps the latest entry of each distinct prompt, in trajectory order."""
    last: dict[str, int] = {e.prompt: i for i, e in enumerate(entries)}
    return [e for i, e in enumerate(entries) if last[e.prompt] == i]


def recency(history: Sequence[TrajectoryEntry], k: int) -> list[TrajectoryEntry]:
    """The ``k`` newest entries, oldest first.

    >>> h = [TrajectoryEntry(i, f"p{i}", i / 10) for i in range(5)]
    >>> [e.prompt for e in recency(h, 3)]
    ['p2', 'p3', 'p4']
    """
    return list(_unique_by_prompt(history)[-k:]) if k > 0 else []


def importance(history: Sequence[TrajectoryEntry], k: int) -> list[TrajectoryEntry]:
    """The ``k`` best-scoring entries, shown in ascending score (best last, nearest the request).

    Ties are broken toward the earlier entry.

    >>> h = [TrajectoryEntry(0, "a", .5), TrajectoryEntry(1, "b", .9), TrajectoryEntry(2, "c", .1)]
    >>> [e.prompt for e in importance(h, 2)]
    ['a', 'b']
    """
    unique = _unique_by_prompt(history)
    order = sorted(range(len(unique)), key=lambda i: (-unique[i].score, i))[:k]
    chosen = [unique[i] for i in order]
    return sorted(chosen, key=lambda e: e.score)


def relevance(
    history: Sequence[TrajectoryEntry], k: int, similarities: Sequence[float]
) -> list[TrajectoryEntry]:
    """The current (last) entry and the ``k − 1`` earlier entries most similar to it.

    Args:
        history: The trajectory; its last entry is the current prompt.
        k: How many entries to show in all.
        similarities: Similarity of each *earlier* distinct prompt to the current one, in
            the order of :func:`earlier_prompts`.

    Returns:
        The chosen earlier entries in ascending similarity, then the current entry.

    >>> h = [TrajectoryEntry(0, "x", .1), TrajectoryEntry(1, "y", .2), TrajectoryEntry(2, "z", .3)]
    >>> [e.prompt for e in relevance(h, 2, [0.9, 0.1])]
    ['x', 'z']
    """
    if not history or k <= 0:
        return []
    current = history[-1]
    earlier = earlier_entries(history)
    if len(similarities) != len(earlier):
        raise ValueError(f"{len(similarities)} similarities for {len(earlier)} earlier prompts")
    order = sorted(range(len(earlier)), key=lambda i: (-similarities[i], -i))[: k - 1]
    chosen = sorted(order, key=lambda i: (similarities[i], i))
    return [earlier[i] for i in chosen] + [current]


def earlier_entries(history: Sequence[TrajectoryEntry]) -> list[TrajectoryEntry]:
    """Distinct earlier prompts (not the current one), latest entry of each."""
    if not history:
        return []
    current = history[-1].prompt
    return [e for e in _unique_by_prompt(history[:-1]) if e.prompt != current]


@dataclass(frozen=True)
class TrajectoryView:
    """What the meta-prompt shows of the past: entries, or a summary, or nothing."""

    entries: tuple[TrajectoryEntry, ...] = ()
    summary: Optional[str] = None


class Momentum:
    """Base of the trajectory retrievers.

    A retriever reads the trajectory and returns what the meta-prompt shows; one that
    keeps a running note returns the new note from :meth:`after_step`. Neither changes
    the state it is given.
    """

    name = "none"
    k = 0

    async def view(self, history: Sequence[TrajectoryEntry], summary: Optional[str], objective: "Objective") -> TrajectoryView:
        """The part of the trajectory to show at this step."""
        return TrajectoryView()

    async def after_step(
        self,
        history: Sequence[TrajectoryEntry],
        summary: Optional[str],
        reflection: Optional[str],
        ask: "Ask",
    ) -> Optional[str]:
        """The running note once the step's winner is the last entry of ``history``."""
        return summary

    def describe(self) -> str:
        return self.name if not self.k else f"{self.name}(k={self.k})"


@register_part("momentum.none")
@dataclass(frozen=True)
class NoMomentum(Momentum):
    """Shows no trajectory."""


@register_part("momentum.recency")
@dataclass(frozen=True)
class RecencyMomentum(Momentum):
    """Shows the ``k`` newest prompts (OPRO, PE2)."""

    k: int = 3
    name = "recency"

    async def view(self, history, summary, objective) -> TrajectoryView:
        return TrajectoryView(tuple(recency(history, self.k)))


@register_part("momentum.importance")
@dataclass(frozen=True)
class ImportanceMomentum(Momentum):
    """Shows the ``k`` best-scoring prompts."""

    k: int = 3
    name = "importance"

    async def view(self, history, summary, objective) -> TrajectoryView:
        return TrajectoryView(tuple(importance(history, self.k)))


@register_part("momentum.relevance")
@dataclass(frozen=True)
class RelevanceMomentum(Momentum):
    """Shows the current prompt and the ``k − 1`` earlier prompts most similar to it (GPO).

    Similarity is the cosine of sentence embeddings from the retriever's own embedder.

    Args:
        k: How many prompts to show in all.
        embedder: The embedder's spec (``auto``, ``local``, ``lexical``, ``st:MODEL``,
            ``openai:MODEL[@URL]``); the run makes it once and closes it at the end.
    """

    k: int = 3
    embedder: str = "auto"
    name = "relevance"

    async def view(self, history, summary, objective) -> TrajectoryView:
        earlier = earlier_entries(history)
        if not earlier or self.k <= 1:
            return TrajectoryView((history[-1],))
        embedder = objective.embedder(self.embedder)
        sims = list(await embedder.similarities(history[-1].prompt, [e.prompt for e in earlier]))
        return TrajectoryView(tuple(relevance(history, self.k, sims)))


@register_part("momentum.summary")
@dataclass(frozen=True)
class SummaryMomentum(Momentum):
    """Shows one running note that the optimizer model merges after every step (SGDM).

    The note starts empty; after each step the optimizer model folds the new prompt, its
    score and the step's reflection into it (temperature 0).
    """

    name = "summary"

    async def view(self, history, summary, objective) -> TrajectoryView:
        return TrajectoryView(summary=summary) if summary else TrajectoryView()

    async def after_step(self, history, summary, reflection, ask) -> Optional[str]:
        entry = history[-1]
        text = P.SUMMARY_PROMPT.format(
            summary=summary or P.NO_SUMMARY_YET,
            score=round(entry.score * 100),
            prompt=entry.prompt,
            reflection=P.SUMMARY_REFLECTION.format(reflection=reflection) if reflection else "",
        )
        return (await ask(text, "summary")).strip()


def make_momentum(kind: str, k: int = 3, embedder: str = "auto") -> Momentum:
    """Builds a trajectory retriever by name: none, summary, recency, relevance, importance."""
    kinds = {
        "none": lambda: NoMomentum(),
        "summary": lambda: SummaryMomentum(),
        "recency": lambda: RecencyMomentum(k),
        "relevance": lambda: RelevanceMomentum(k, embedder),
        "importance": lambda: ImportanceMomentum(k),
    }
    if kind not in kinds:
        raise ConfigError(f"unknown trajectory {kind!r}", hint=f"use one of {', '.join(kinds)}")
    if k < 1:
        raise ConfigError(f"trajectory size k must be at least 1, got {k}")
    return kinds[kind]()
