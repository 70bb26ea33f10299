"""Every answer format by name, and scoring a model output with one."""

from __future__ import annotations

from typing import Optional

from gpo.errors import ConfigError
from gpo.scoring.base import AnswerFormat, ExactFormat
from gpo.scoring.boolean import BooleanFormat
from gpo.scoring.choice import ChoiceFormat
from gpo.scoring.dyck import DyckFormat
from gpo.scoring.induction import InductionFormat
from gpo.scoring.numeric import NumberFormat
from gpo.scoring.rouge import RougeFormat
from gpo.scoring.word_sort import WordSortFormat
from gpo.tasks.base import Target

_ASK = "Now give only your final answer"

ANSWER_FORMATS: dict[str, AnswerFormat] = {
    f.name: f
    for f in (
        ChoiceFormat(
            "multiple_choice",
            "one option letter, e.g. (C)",
            f"{_ASK}: the letter of the correct option, written in parentheses like (X).",
        ),
        BooleanFormat(
            "yes_no",
            "Yes or No",
            f"{_ASK}: Yes or No.",
            positive="Yes",
            negative="No",
            synonyms=(
                ("true", True), ("correct", True), ("plausible", True),
                ("false", False), ("incorrect", False), ("implausible", False),
            ),
        ),
        BooleanFormat(
            "true_false",
            "True or False",
            f"{_ASK}: True or False.",
            positive="True",
            negative="False",
            synonyms=(("correct", True), ("incorrect", False)),
        ),
        BooleanFormat(
            "valid_invalid",
            "valid or invalid (deductive validity)",
            f"{_ASK}: valid or invalid.",
            positive="valid",
            negative="invalid",
            synonyms=(("fallacious", False),),
        ),
        NumberFormat(
            "number",
            "a single number, compared numerically",
            f"{_ASK} as a single number, without units or words.",
        ),
        DyckFormat(
            "dyck",
            "the closing brackets that complete a sequence",
            f"{_ASK}: only the closing brackets that complete the sequence, separated by spaces.",
        ),
        WordSortFormat(
            "word_sort",
            "the words in alphabetical order",
            f"{_ASK}: the words in alphabetical order, separated by spaces, with nothing else.",
        ),
        ExactFormat(
            "exact",
            "a short answer, equal after normalizing case and punctuation",
            f"{_ASK}, with no explanation.",
        ),
        RougeFormat(
            "rouge_l",
            "free text, scored by ROUGE-L F1 against the references",
            "Now give only the final text, with no introduction or explanation.",
        ),
        InductionFormat(
            "ii_exact",
            "a few words, equal to an accepted answer after the Instruction Induction normalization",
            f"{_ASK}, in the form asked for, on one line, with no explanation or label.",
            metric="exact",
        ),
        InductionFormat(
            "ii_contains",
            "a few words that contain an accepted answer as a whole word (Instruction Induction)",
            f"{_ASK}, in the form asked for, on one line, with no explanation or label.",
            metric="contains",
        ),
        InductionFormat(
            "ii_set",
            "words whose set equals an accepted answer's (Instruction Induction)",
            f"{_ASK}, in the form asked for, on one line (several items separated by commas), "
            "with no explanation or label.",
            metric="set",
        ),
        InductionFormat(
            "ii_f1",
            "free-form words, scored by word-overlap F1 with the closest accepted answer (Instruction Induction)",
            f"{_ASK}, in the form asked for, on one line, with no explanation or label.",
            metric="f1",
        ),
    )
}
"""Every answer format by name."""


def get_answer_format(name: str) -> AnswerFormat:
    """Looks up an answer format by name.

    Raises:
        ConfigError: No format has that name.

    >>> get_answer_format("yes_no").name
    'yes_no'
    """
    try:
        return ANSWER_FORMATS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown answer format {name!r}",
            hint=f"use one of {', '.join(ANSWER_FORMATS)}",
        ) from None


def score_output(
    fmt: AnswerFormat | str, text: str, target: Target, question: str = ""
) -> tuple[Optional[str], float]:
    """Parses a model output and scores it.

    Args:
        fmt: An answer format or its name.
        text: The model output.
        target: The reference answer(s).
        question: The example's input.

    Returns:
        The prediction (``None`` if none was found) and its score.

    >>> score_output("number", "There are twelve items.", "12")
    ('12', 1.0)
    """
    if isinstance(fmt, str):
        fmt = get_answer_format(fmt)
    prediction = fmt.extract(text, question)
    return prediction, fmt.score(prediction, target)
