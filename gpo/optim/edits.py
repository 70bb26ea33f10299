"""How far a candidate moved from its parent: the word edit distance.

The learning rate of GPO is a budget of changed words; this is how the change is counted.

References:
    GPO (Tang et al., 2025), section 4: the edit distance as the step size.
"""

from __future__ import annotations

__all__ = ["word_edit_distance"]


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
