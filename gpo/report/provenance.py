"""Where each sentence of the final prompt came from.

For every sentence of the final prompt, the earliest prompt of the run that already held
it: the initial prompt, a candidate proposed at some step, or a trajectory entry. Texts are
compared after collapsing whitespace and case, so a sentence that only moved or changed
case keeps its origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from gpo.optim.edits import split_sentences

__all__ = ["Origin", "SourcePrompt", "normalize_text", "split_sentences", "sentence_origins"]

def normalize_text(text: str) -> str:
    """Lower case with runs of whitespace collapsed to one space.

    >>> normalize_text("  Think\\n step  BY step. ")
    'think step by step.'
    """
    return " ".join((text or "").split()).casefold()


@dataclass(frozen=True)
class SourcePrompt:
    """A prompt seen during the run, in the order it was seen.

    Attributes:
        step: The step that produced it (0: the initial prompt).
        label: Where it was seen, for people (e.g. ``step 3, candidate 2``).
        text: The prompt.
        anchor: An id in the report to link to (``None``: no link).
    """

    step: int
    label: str
    text: str
    anchor: Optional[str] = None


@dataclass(frozen=True)
class Origin:
    """The first appearance of one sentence of the final prompt.

    Attributes:
        sentence: The sentence as written in the final prompt.
        source: The earliest prompt that held it (``None``: not found in the run's records).
    """

    sentence: str
    source: Optional[SourcePrompt]

    @property
    def step(self) -> Optional[int]:
        return self.source.step if self.source else None


def _contains(haystack: str, needle: str) -> bool:
    # Whole words only: "step." must not match inside "one-step." or "steps.".
    if not needle:
        return False
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack) is not None


def sentence_origins(final_prompt: str, sources: Iterable[SourcePrompt]) -> list[Origin]:
    """For each sentence of ``final_prompt``, the earliest source prompt containing it.

    Args:
        final_prompt: The prompt whose sentences to trace.
        sources: Prompts of the run. The earliest step wins; within a step, the first given.

    Returns:
        One :class:`Origin` per sentence, in the order of the final prompt.

    >>> srcs = [SourcePrompt(0, "initial", "Think step by step."),
    ...         SourcePrompt(2, "step 2", "Read the question. think  STEP by step.")]
    >>> [(o.sentence, o.step) for o in sentence_origins("Read the question. Think step by step.", srcs)]
    [('Read the question.', 2), ('Think step by step.', 0)]
    """
    ordered: Sequence[SourcePrompt] = sorted(enumerate(sources), key=lambda p: (p[1].step, p[0]))
    normalized = [(src, normalize_text(src.text)) for _, src in ordered]
    origins = []
    for sentence in split_sentences(final_prompt):
        needle = normalize_text(sentence)
        found = next((src for src, text in normalized if _contains(text, needle)), None)
        origins.append(Origin(sentence, found))
    return origins
