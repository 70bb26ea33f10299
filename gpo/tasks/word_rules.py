"""Synthetic tasks in the style of Instruction Induction: the input does not say what to do.

A bare word goes in and one letter of it comes out. Without an instruction that states the
rule and the answer's form, a model answers in sentences and scores near zero; with one,
even a 0.5B model does well. That makes these tasks show what an optimizer adds, with
answers of a few tokens, on a CPU, without a data folder.

References:
    Honovich, Shaham, Bowman, Levy, 2022. Instruction Induction: From Few Examples to
    Natural Language Task Descriptions. arXiv:2205.10782 (the first_word_letter task).
"""

from __future__ import annotations

import random

from gpo.tasks.words import WORDS

__all__ = ["make_first_letter", "make_last_letter"]


def make_first_letter(rng: random.Random) -> tuple[str, str]:
    """A common word and its first letter.

    >>> make_first_letter(random.Random(0))
    ('oasis', 'o')
    """
    word = rng.choice(WORDS)
    return word, word[0]


def make_last_letter(rng: random.Random) -> tuple[str, str]:
    """A common word and its last letter.

    >>> make_last_letter(random.Random(0))
    ('oasis', 's')
    """
    word = rng.choice(WORDS)
    return word, word[-1]
