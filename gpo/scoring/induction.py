"""Instruction Induction answers: found in the output here, scored by :mod:`gpo.scoring.ii_metric`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import gpo.scoring.ii_metric as scoring_ii
from gpo.scoring.base import AnswerFormat
from gpo.scoring.parsing import _LABEL, _marker_parts, _strip_markdown


@dataclass(frozen=True)
class InductionFormat(AnswerFormat):
    """A few words scored by the Instruction Induction benchmark's metric (:mod:`gpo.scoring.ii_metric`).

    Extraction only finds the answer in a chatty output, and keeps its text as written:
    the part after the last answer marker ("the answer is", "Answer:") when there is one,
    else the whole output; then its first line, skipping lines that only introduce the
    answer ("Here is the translation:") and a leading label ("Output:"). Scoring then
    normalizes exactly as the benchmark does and applies its metric against every
    accepted answer.

    Attributes:
        metric: ``exact``, ``contains``, ``set`` or ``f1`` (see :mod:`gpo.scoring.ii_metric`).
    """

    metric: str = "exact"

    def extract(self, text: str, question: str = "") -> Optional[str]:
        if not text or not text.strip():
            return None
        cleaned = _strip_markdown(text)
        for part in _marker_parts(cleaned):
            found = _induction_line(part)
            if found:
                return found
        return _induction_line(cleaned)

    def _score_one(self, prediction: str, reference: str) -> float:
        return scoring_ii.score_any(self.metric, prediction, (reference,))


def _induction_line(part: str) -> Optional[str]:
    """The first line of ``part`` that is not a lead-in ending with a colon, label removed."""
    lines = [ln.strip() for ln in part.split("\n") if ln.strip()]
    while len(lines) > 1 and lines[0].endswith(":"):
        lines.pop(0)
    if not lines:
        return None
    line = _LABEL.sub("", lines[0], count=1).strip() or lines[0]
    return line or None
