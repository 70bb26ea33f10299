"""What the current prompt's wrong answers have in common, said in one sentence.

A small optimizer model shown a few wrong answers rarely notices on its own that the model
had the right output but wrapped it in a sentence ("The word "agent" starts with the letter
"a"." where ``a`` was expected). Counting that in the answers it is shown and saying it in
the meta-prompt is a fact about the data, not advice about the task, so every method whose
meta-prompt shows mistakes gets the same sentence. Beyond the paper (the paper shows no
mistakes, so its protocol never renders it).
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from gpo.optim import prompts as P

__all__ = ["answer_form_note", "near_miss", "wrapped_answer"]

_NON_WORD = re.compile(r"[^\w]+")


def _words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text.lower()).split()


def _longer(answer: str, expected: str) -> Optional[tuple[list[str], list[str]]]:
    """The words of the expected output and of the answer, when the answer has more."""
    want, got = _words(expected), _words(answer)
    return (want, got) if want and len(got) > len(want) else None


def wrapped_answer(answer: str, expected: str) -> bool:
    """Whether the expected output occurs, as whole words, inside a longer answer.

    Case and punctuation are ignored; an answer equal to the expected output (up to them)
    is not wrapped.

    >>> wrapped_answer('The word "agent" starts with the letter "a".', "a")
    True
    >>> wrapped_answer("agent", "a")
    False
    >>> wrapped_answer("A.", "a")
    False
    >>> wrapped_answer("The number 12 in words is twelve.", "twelve")
    True
    >>> wrapped_answer("The number in words is two thousand.", "two thousand five")
    False
    """
    pair = _longer(answer, expected)
    if pair is None:
        return False
    want, got = pair
    return any(got[i : i + len(want)] == want for i in range(len(got) - len(want) + 1))


def near_miss(answer: str, expected: str) -> bool:
    """Whether a longer answer begins or ends with the expected output: right in substance,
    wrong in form.

    Case and punctuation are ignored. Stricter than :func:`wrapped_answer`: an output that
    occurs only in the middle of an answer (a one-letter output inside any sentence, an
    option named while reasoning) does not count.

    >>> near_miss("The result of subtracting 10 from 72 is 62.", "62")
    True
    >>> near_miss('"a" is the first letter of "agent".', "a")
    True
    >>> near_miss("To find a difference, we take the first number.", "a")
    False
    >>> near_miss("62", "62")
    False
    """
    pair = _longer(answer, expected)
    if pair is None:
        return False
    want, got = pair
    return got[: len(want)] == want or got[-len(want) :] == want


def _counted(hits: int, total: int) -> str:
    if total == 1:
        return "this wrong answer"
    if hits == total:
        return f"all {hits} of these wrong answers"
    return f"{hits} of these {total} wrong answers"


def answer_form_note(mistakes: Sequence[tuple[str, str, str]]) -> Optional[str]:
    """A sentence for the meta-prompt when most wrong answers hold the expected output.

    Only this fault is said. Saying also that answers ran on until cut off was measured and
    dropped: on ``ii/first_word_letter`` the 1.5B optimizer then wrote rules about answering
    "directly, without explanation" instead of inducing the first-letter rule, and every
    method scored lower.

    Args:
        mistakes: The wrong answers shown, as ``(input, model's answer, expected output)``.

    Returns:
        The sentence when at least half of ``mistakes`` are wrapped answers
        (:func:`wrapped_answer`), else ``None``.

    >>> answer_form_note([("agent", 'The word "agent" starts with "a".', "a"), ("inside", "i", "n")])
    'In 1 of these 2 wrong answers the expected output is there, but inside a longer answer. The new prompt should make the model answer with the output alone, with no other words.'
    >>> answer_form_note([("12", "To write 12 in words, we first look at the digits and then …", "twelve")]) is None
    True
    """
    if not mistakes:
        return None
    wrapped = sum(wrapped_answer(answer, expected) for _, answer, expected in mistakes)
    if 2 * wrapped < len(mistakes):
        return None
    return P.ANSWER_FORM_NOTE.format(counted=_counted(wrapped, len(mistakes)))
