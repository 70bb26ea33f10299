"""What the current prompt's wrong answers have in common, said in one sentence.

A small optimizer model shown a few wrong answers rarely notices on its own that the model
had the right output but wrapped it in a sentence ("The word "agent" starts with the letter
"a"." where ``a`` was expected), or that the model ran on, reasoning, until its answer was
cut off. Counting that in the answers it is shown and saying it in the meta-prompt is a fact
about the data, not advice about the task, so every method whose meta-prompt shows mistakes
gets the same sentence. Beyond the paper (the paper shows no
mistakes, so its protocol never renders it).
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from gpo.optim import prompts as P

__all__ = ["answer_form_note", "long_answer", "wrapped_answer"]

_NON_WORD = re.compile(r"[^\w]+")


def _words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text.lower()).split()


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
    want, got = _words(expected), _words(answer)
    if not want or len(got) <= len(want):
        return False
    return any(got[i : i + len(want)] == want for i in range(len(got) - len(want) + 1))


def long_answer(answer: str, expected: str) -> bool:
    """Whether the answer ran on: cut off where it was shown (``…``), or three times longer
    than the expected output and at least five words more.

    >>> long_answer("To convert the number 4685 into words, we can follow these steps: …", "four thousand")
    True
    >>> long_answer("four thousand and six", "four thousand, six hundred")
    False
    """
    got, want = len(answer.split()), len(expected.split())
    return answer.rstrip().endswith("…") or (got >= 3 * want and got >= want + 5)


def _counted(hits: int, total: int) -> str:
    if total == 1:
        return "this wrong answer"
    if hits == total:
        return f"all {hits} of these wrong answers"
    return f"{hits} of these {total} wrong answers"


def answer_form_note(mistakes: Sequence[tuple[str, str, str]]) -> Optional[str]:
    """A sentence for the meta-prompt on what most wrong answers have in common, if anything.

    Two faults are counted, in this order: the expected output inside a longer answer
    (:func:`wrapped_answer`), and an answer that ran on far past the length of the expected
    output (:func:`long_answer`). The first fault found in at least half of ``mistakes`` is
    said; neither is advice about the task itself.

    Args:
        mistakes: The wrong answers shown, as ``(input, model's answer, expected output)``.

    Returns:
        The sentence, else ``None``.

    >>> answer_form_note([("agent", 'The word "agent" starts with "a".', "a"), ("inside", "i", "n")])
    'In 1 of these 2 wrong answers the expected output is there, but inside a longer answer. The new prompt should make the model answer with the output alone, with no other words.'
    >>> answer_form_note([("12", "To write 12 in words, we first look at the digits and then …", "twelve")])
    'In this wrong answer the model wrote far more than the expected output (at most 1 word) and was cut off or never gave it. The new prompt should make the model give the output directly, in the form of the examples, without working or explanation.'
    >>> answer_form_note([("agent", "b", "a")]) is None
    True
    """
    if not mistakes:
        return None
    wrapped = sum(wrapped_answer(answer, expected) for _, answer, expected in mistakes)
    if 2 * wrapped >= len(mistakes):
        return P.ANSWER_FORM_NOTE.format(counted=_counted(wrapped, len(mistakes)))
    long = sum(long_answer(answer, expected) for _, answer, expected in mistakes)
    if 2 * long >= len(mistakes):
        most = max(len(expected.split()) for _, _, expected in mistakes)
        words = "1 word" if most == 1 else f"{most} words"
        return P.LONG_ANSWER_NOTE.format(counted=_counted(long, len(mistakes)), words=words)
    return None
