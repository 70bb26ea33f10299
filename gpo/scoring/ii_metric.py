"""The Instruction Induction benchmark's metric (Honovich et al., 2022, arXiv:2205.10782).

The benchmark normalizes a prediction and each accepted answer the same way, then compares
them with one of four metrics; a prediction is right when it matches ANY accepted answer
(for F1, its score is the best over the accepted answers).
This module is that metric and nothing else (pure functions of two strings); the answer
formats ``ii_exact``, ``ii_contains``, ``ii_set`` and ``ii_f1`` in :mod:`gpo.scoring` first extract the
answer from a chatty model output, then score it here.

Normalization, in the benchmark's order (its ``normalize_prediction``, as redistributed in
the APE repository):

1. replace ``" and "`` with a space (case-sensitive, before lowercasing), and
   ``"Sentence 1:"`` / ``"Sentence 2:"`` with a space;
2. strip, keep the first line, keep the text before the first period;
3. lowercase, turn ``-`` into a space, drop ASCII punctuation (``string.punctuation``);
4. strip (the benchmark's code leaves trailing spaces; stripping them only forgives
   ``"p !"`` against ``"p"``).

Metrics:

* ``exact``: the normalized texts are equal;
* ``contains``: the normalized answer occurs in the normalized prediction as a whole word or
  phrase (``\\b...\\b``), so ``cat`` is not found in ``category``;
* ``set``: the sets of words are equal (order and repeats do not matter);
* ``f1``: word-overlap F1 of the normalized texts (the benchmark scores ``common_concept`` and
  ``informal_to_formal`` so: a free-form answer earns partial credit).

>>> normalize("Well-known, and loved.")
'well known loved'
>>> exact_match("The artist was mentioned by the professor.", "the artist was mentioned by the professor")
True
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Callable, Iterable

__all__ = ["METRICS", "contains_match", "exact_match", "exact_set_match", "f1_score", "normalize", "score_any"]

_DROP_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize(text: str) -> str:
    """The benchmark's normalization of a prediction or an accepted answer.

    >>> normalize("  One hundred and twenty-two.\\nsecond line")
    'one hundred twenty two'
    >>> normalize("3 - probably")
    '3   probably'
    """
    text = text.replace(" and ", " ")
    text = text.replace("Sentence 1:", " ").replace("Sentence 2:", " ")
    text = text.strip()
    text = text.split("\n")[0]
    text = text.split(".")[0]
    text = text.lower()
    text = text.replace("-", " ")
    text = text.translate(_DROP_PUNCTUATION)
    return text.strip()


def exact_match(prediction: str, answer: str) -> bool:
    """Equal after normalization.

    >>> exact_match("P.", "p")
    True
    """
    return normalize(prediction) == normalize(answer)


def contains_match(prediction: str, answer: str) -> bool:
    """The normalized answer appears as a whole word or phrase in the normalized prediction.

    An answer that normalizes to nothing matches nothing.

    >>> contains_match("A close synonym is journal, I think.", "journal")
    True
    >>> contains_match("category", "cat")
    False
    """
    needle = normalize(answer)
    if not needle:
        return False
    return re.search(rf"\b({re.escape(needle)})\b", normalize(prediction)) is not None


def exact_set_match(prediction: str, answer: str) -> bool:
    """The normalized texts have the same set of words.

    >>> exact_set_match("bird, dog and cow, dog", "dog, cow, bird")
    True
    """
    return set(normalize(prediction).split()) == set(normalize(answer).split())


def f1_score(prediction: str, answer: str) -> float:
    """Harmonic mean of word precision and recall between the normalized texts
    (words counted with their repeats); 0 when no word is shared.

    >>> f1_score("They involve oceans.", "involve oceans")
    0.8
    >>> f1_score("", "anything")
    0.0
    """
    predicted, expected = normalize(prediction).split(), normalize(answer).split()
    shared = sum((Counter(predicted) & Counter(expected)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(expected)
    return 2 * precision * recall / (precision + recall)


METRICS: dict[str, Callable[[str, str], float]] = {
    "exact": exact_match,
    "contains": contains_match,
    "set": exact_set_match,
    "f1": f1_score,
}
"""The benchmark's metrics by name (a match counts 1, F1 its value)."""


def score_any(metric: str, prediction: str, answers: Iterable[str]) -> float:
    """The best score of the prediction against any accepted answer under ``metric``:
    1.0 or 0.0 for a match, the highest F1 for ``f1``.

    >>> score_any("exact", "Stelle", ["Platz", "Stelle"])
    1.0
    >>> score_any("f1", "a formal letter", ["formal", "a letter"])
    0.8
    """
    match = METRICS[metric]
    return max((float(match(prediction, answer)) for answer in answers), default=0.0)
