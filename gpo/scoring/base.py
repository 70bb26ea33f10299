"""The answer format interface, and the plain format that compares short answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from gpo.scoring.parsing import _clean_phrase, _first_line, _last_line, _marker_parts, _strip_markdown
from gpo.tasks.base import Target


def _as_references(target: Target) -> tuple[str, ...]:
    if isinstance(target, (tuple, list)):
        return tuple(str(t) for t in target)
    return (str(target),)


@dataclass(frozen=True)
class AnswerFormat:
    """How the answers of one kind of task are asked for, parsed and scored.

    Attributes:
        name: Registry key (e.g. ``multiple_choice``).
        description: One line for listings.
        request: The wording of the follow-up message.
    """

    name: str
    description: str
    request: str = "Now give only your final answer, with no explanation."

    def follow_up(self, question: str) -> str:
        """The second-round user message, asking only for the final answer.

        Args:
            question: The example's input (multiple choice lists its options).
        """
        return self.request

    def extract(self, text: str, question: str = "") -> Optional[str]:
        """Parses a model output into a normalized prediction.

        Args:
            text: The model output (first or second round).
            question: The example's input, used as data only.

        Returns:
            The normalized prediction, or ``None`` when no answer is found.
        """
        if not text or not text.strip():
            return None
        cleaned = _strip_markdown(text)
        for part in _marker_parts(cleaned):
            found = self._parse(part, question, after_marker=True)
            if found is not None:
                return found
        return self._parse(cleaned, question, after_marker=False)

    def score(self, prediction: Optional[str], target: Target) -> float:
        """Scores a prediction against a target (the best over several references).

        Args:
            prediction: The result of :meth:`extract`; ``None`` scores 0.
            target: The reference answer, or a tuple of accepted ones.

        Returns:
            A score in ``[0, 1]``.
        """
        if prediction is None:
            return 0.0
        return max((self._score_one(prediction, ref) for ref in _as_references(target)), default=0.0)

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        line = _first_line(part) if after_marker else _last_line(part)
        line = line.rstrip(" .")
        return line or None

    def _score_one(self, prediction: str, reference: str) -> float:
        return float(_clean_phrase(prediction) == _clean_phrase(reference))


@dataclass(frozen=True)
class ExactFormat(AnswerFormat):
    """Any short answer; equal after lowercasing and trimming punctuation."""
