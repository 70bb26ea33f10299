"""How far a candidate moved from its parent: the word edit distance.

The learning rate of GPO is a budget of changed words; this is how the change is counted.

References:
    GPO (Tang et al., 2025), section 4: the edit distance as the step size.
"""

from __future__ import annotations

import re

__all__ = ["word_edit_distance", "clip_edits", "split_sentences"]


def word_edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two texts, counted in whitespace-separated words.

    Insertions, deletions and substitutions of whole words each cost one.

    Args:
        a: The first text.
        b: The second text.

    Returns:
        The smallest number of word edits that turns ``a`` into ``b``.

    >>> word_edit_distance("think step by step", "think carefully step by step")
    1
    >>> word_edit_distance("a b c", "c b a")
    2
    >>> word_edit_distance("", "two words")
    2
    """
    x, y = a.split(), b.split()
    if len(x) < len(y):
        x, y = y, x
    previous = list(range(len(y) + 1))
    for i, wx in enumerate(x, 1):
        current = [i]
        for j, wy in enumerate(y, 1):
            current.append(
                min(
                    previous[j] + 1,
                    current[j - 1] + 1,
                    previous[j - 1] + (wx != wy),
                )
            )
        previous = current
    return previous[-1]


# A sentence ends at ., ! or ? (optionally followed by closing quotes or brackets) before
# whitespace, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Splits a prompt into sentences (and lines), dropping empty ones.

    >>> split_sentences("Read carefully. Think step by step!\\nAnswer: yes or no?")
    ['Read carefully.', 'Think step by step!', 'Answer: yes or no?']
    """
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text or ""):
        parts.append(text[start : m.start()] + m.group(0).rstrip())
        start = m.end()
    parts.append((text or "")[start:])
    return [p.strip() for p in parts if p.strip()]


def _units(old: list[str], new: list[str]) -> list[tuple[list[str], list[str]]]:
    """Aligns two sentence lists into units ``(old sentences, new sentences)``, equal ones included.

    A replaced run of sentences is paired one to one from its start, and the rest of the
    longer side becomes insertions or deletions of single sentences.
    """
    import difflib

    units: list[tuple[list[str], list[str]]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            units.append((old[i1:i2], new[j1:j2]))
            continue
        a, b = old[i1:i2], new[j1:j2]
        for k in range(max(len(a), len(b))):
            units.append((a[k : k + 1], b[k : k + 1]))
    return units


def clip_edits(parent: str, candidate: str, budget: int) -> str:
    """The candidate's change to ``parent`` cut to at most ``budget`` word edits, by whole sentences.

    The learning rate's projection: like clipping a gradient step to a trust region. Both
    texts are cut into sentences (:func:`split_sentences`) and aligned; each changed
    sentence (replaced, inserted or deleted) costs its word edit distance. Going from the start, a change is
    applied when it fits in what is left of the budget and skipped otherwise (the parent's
    sentence stays), so the result never holds half a sentence. When no change fits, the
    result is ``parent`` itself.

    Args:
        parent: The current prompt.
        candidate: The proposed prompt.
        budget: Most word edits allowed (``>= 0``).

    Returns:
        A prompt within ``budget`` word edits of ``parent`` (``candidate`` itself when it
        already is).

    >>> clip_edits("Think step by step.", "Think step by step. Give the first letter of the word. Use lower case.", 5)
    'Think step by step. Use lower case.'
    >>> clip_edits("Think.", "Write the first letter of the word.", 3)
    'Think.'
    >>> clip_edits("one two", "one two three", 5)
    'one two three'
    """
    if budget < 0:
        raise ValueError(f"budget must be non-negative, got {budget}")
    if word_edit_distance(parent, candidate) <= budget:
        return candidate
    out: list[str] = []
    left = budget
    for old, new in _units(split_sentences(parent), split_sentences(candidate)):
        cost = word_edit_distance(" ".join(old), " ".join(new)) if old != new else 0
        if cost <= left:
            out.extend(new)
            left -= cost
        else:
            out.extend(old)
    return " ".join(out)
