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


def clip_edits(parent: str, candidate: str, budget: int) -> str:
    """The candidate's change to ``parent`` cut to at most ``budget`` word edits.

    The learning rate's projection: like clipping a gradient step to a trust region, the
    word-level changes from ``parent`` to ``candidate`` are applied from the start of the
    text, and those beyond the budget are left out, so the result keeps the first
    ``budget`` word edits of the proposal and the rest of the parent.

    Args:
        parent: The current prompt.
        candidate: The proposed prompt.
        budget: Most word edits allowed (``>= 0``).

    Returns:
        A prompt within ``budget`` word edits of ``parent`` (``candidate`` itself when it
        already is).

    >>> clip_edits("a b c d", "x y c d", 1)
    'x b c d'
    >>> clip_edits("Think.", "Write the first letter of the word.", 3)
    'Write the first'
    >>> clip_edits("one two", "one two three", 5)
    'one two three'
    """
    import difflib

    if budget < 0:
        raise ValueError(f"budget must be non-negative, got {budget}")
    if word_edit_distance(parent, candidate) <= budget:
        return candidate
    old, new = parent.split(), candidate.split()
    out: list[str] = []
    left = budget
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(old[i1:i2])
            continue
        n_old, n_new = i2 - i1, j2 - j1
        take = min(left, max(n_old, n_new))
        # Replace the first words pairwise, then insert or delete the remainder, in order.
        paired = min(take, n_old, n_new)
        out.extend(new[j1 : j1 + paired])
        extra = take - paired
        if n_new > n_old:
            out.extend(new[j1 + paired : j1 + paired + extra])
            out.extend(old[i1 + paired : i2])
        else:
            out.extend(old[i1 + paired + extra : i2])
        left -= take
    clipped = " ".join(out)
    while word_edit_distance(parent, clipped) > budget and out:  # alignment may differ from Levenshtein's
        out.pop()
        clipped = " ".join(out)
    return clipped
