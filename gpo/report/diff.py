"""Word-level differences between two prompts, for display.

Pure functions over strings: no I/O, no HTML. The page template turns the pieces into
``<ins>``/``<del>`` elements (escaping their text).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = ["DiffPiece", "word_diff", "diff_counts"]

_TOKEN = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class DiffPiece:
    """A run of words that the two texts share, or that only one of them has.

    Attributes:
        op: ``equal``, ``delete`` (only in the old text) or ``insert`` (only in the new one).
        text: The words, with the whitespace that followed each of them.
    """

    op: str
    text: str


def _tokens(text: str) -> list[str]:
    # Each word keeps the whitespace after it, so line breaks survive the diff; leading
    # whitespace of the text is dropped.
    return _TOKEN.findall(text or "")


def word_diff(old: str, new: str) -> list[DiffPiece]:
    """Splits two texts into equal, deleted and inserted runs of words.

    Words are compared without the whitespace around them; a replaced run becomes a
    deletion followed by an insertion. Joining the ``equal`` and ``delete`` pieces gives
    back the old text's words, joining ``equal`` and ``insert`` gives the new text's.

    Args:
        old: The earlier text (e.g. a candidate's parent prompt).
        new: The later text.

    Returns:
        The pieces in reading order; adjacent pieces never share an ``op``.

    >>> [(p.op, p.text) for p in word_diff("think step by step", "think carefully step by step")]
    [('equal', 'think '), ('insert', 'carefully '), ('equal', 'step by step')]
    >>> [(p.op, p.text) for p in word_diff("a b c", "a x c")]
    [('equal', 'a '), ('delete', 'b '), ('insert', 'x '), ('equal', 'c')]
    """
    a, b = _tokens(old), _tokens(new)
    matcher = difflib.SequenceMatcher(None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False)
    pieces: list[DiffPiece] = []

    def add(op: str, words: list[str]) -> None:
        if not words:
            return
        text = "".join(words)
        if pieces and pieces[-1].op == op:
            pieces[-1] = DiffPiece(op, pieces[-1].text + text)
        else:
            pieces.append(DiffPiece(op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", b[j1:j2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return pieces


def diff_counts(pieces: list[DiffPiece]) -> tuple[int, int]:
    """Words deleted and words inserted by a diff.

    >>> diff_counts(word_diff("a b c", "a x y c"))
    (1, 2)
    """
    deleted = sum(len(p.text.split()) for p in pieces if p.op == "delete")
    inserted = sum(len(p.text.split()) for p in pieces if p.op == "insert")
    return deleted, inserted
