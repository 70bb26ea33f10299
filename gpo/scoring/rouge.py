"""ROUGE-L F1, and the free-text format (WebNLG) it scores."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from gpo.scoring.base import AnswerFormat
from gpo.scoring.parsing import _LABEL, _strip_markdown

_ROUGE_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _rouge_tokens(text: str) -> list[str]:
    """Tokenizes like ``rouge-score``'s default tokenizer (no stemming)."""
    return _ROUGE_NON_ALNUM.sub(" ", text.lower()).split()


def _lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            if x == y:
                current.append(previous[j - 1] + 1)
            else:
                current.append(max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 between two texts, as ``rouge-score`` computes it without stemming.

    Both texts are lowercased, every character other than ``a-z0-9`` becomes a
    space, and the results are split on whitespace. Precision and recall are the
    longest common subsequence's length over the prediction's and the
    reference's token counts.

    Args:
        prediction: The model's text.
        reference: One reference text.

    Returns:
        The F1 score in ``[0, 1]``; ``0.0`` if either text has no tokens.

    >>> rouge_l_f1("The cat sat on the mat.", "the cat is on the mat")
    0.8333333333333334
    >>> rouge_l_f1("", "anything")
    0.0
    """
    pred = _rouge_tokens(prediction)
    ref = _rouge_tokens(reference)
    if not pred or not ref:
        return 0.0
    lcs = _lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(pred)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


_PREAMBLE_LINE = re.compile(r"^\s*(?:sure|certainly|of course|okay|ok|here)\b[^\n]*:\s*\n", re.IGNORECASE)


@dataclass(frozen=True)
class RougeFormat(AnswerFormat):
    """Free text (WebNLG); the score is the best ROUGE-L F1 over the references."""

    def extract(self, text: str, question: str = "") -> Optional[str]:
        if not text:
            return None
        cleaned = _strip_markdown(text).strip()
        cleaned = _PREAMBLE_LINE.sub("", cleaned, count=1).strip()
        cleaned = _LABEL.sub("", cleaned, count=1).strip()
        return cleaned or None

    def _score_one(self, prediction: str, reference: str) -> float:
        return rouge_l_f1(prediction, reference)
