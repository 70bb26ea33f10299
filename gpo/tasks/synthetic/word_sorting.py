"""Word sorting: a list of common English words, and the same words sorted."""

from __future__ import annotations

import random

from gpo.tasks.words import WORDS


def make_word_sorting(rng: random.Random) -> tuple[str, str]:
    """One list of 5 to 16 distinct words and the same words sorted alphabetically."""
    words = rng.sample(WORDS, rng.randrange(5, 17))
    return (
        f"Sort the following words alphabetically: List: {' '.join(words)}",
        " ".join(sorted(words)),
    )
