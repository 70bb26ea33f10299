"""Tests of gpo.scoring: answer extraction from chatty outputs, scoring, ROUGE-L, edit distance."""

from __future__ import annotations

from conftest import SHARED_DATA
import json
import os
from pathlib import Path

import pytest

from gpo.optim.edits import word_edit_distance

from gpo.errors import ConfigError
from gpo.scoring import (
    ANSWER_FORMATS,
    AnswerFormat,
    get_answer_format,
    rouge_l_f1,
    score_output,
)

DATE_Q = (
    "Today is Christmas Eve of 1937. What is the date tomorrow in MM/DD/YYYY?\n"
    "Options:\n(A) 12/11/1937\n(B) 12/25/1937\n(C) 01/04/1938\n(D) 12/04/1937\n"
    "(E) 12/25/2006\n(F) 07/25/1937"
)
MMLU_Q = (
    "Statement 1 | A factor group of a non-Abelian group is non-Abelian. Statement 2 | If K is a "
    "normal subgroup of H and H is a normal subgroup of G, then K is a normal subgroup of G.\n"
    "(A) True, True\n(B) False, False\n(C) True, False\n(D) False, True"
)
WSC_Q = (
    'John hired Bill to take care of him . What does the pronoun "him" refer to?\n(A) John\n(B) Bill'
)
DYCK_Q = (
    "Complete the rest of the sequence, making sure that the parentheses are closed properly. "
    "Input: < { < ( )"
)
SORT_Q = "Sort the following words alphabetically: List: syndrome therefrom apple o'connell"
SORTED = "apple o'connell syndrome therefrom"


def extract(name: str, text: str, question: str = "") -> str | None:
    return get_answer_format(name).extract(text, question)


# ---------------------------------------------------------------------------
# Registry and interface
# ---------------------------------------------------------------------------


def test_registry_has_exactly_the_documented_formats() -> None:
    assert set(ANSWER_FORMATS) == {
        "multiple_choice",
        "yes_no",
        "true_false",
        "valid_invalid",
        "number",
        "dyck",
        "word_sort",
        "exact",
        "rouge_l",
        "ii_exact",
        "ii_contains",
        "ii_f1",
        "ii_set",
    }
    for name, fmt in ANSWER_FORMATS.items():
        assert isinstance(fmt, AnswerFormat)
        assert fmt.name == name
        assert fmt.description and "\n" not in fmt.description


def test_unknown_format_raises_config_error_with_hint() -> None:
    with pytest.raises(ConfigError) as info:
        get_answer_format("multiple-choice")
    assert "unknown answer format" in info.value.message
    assert "multiple_choice" in (info.value.hint or "")
    assert "rouge_l" in (info.value.hint or "")


def test_score_output_accepts_names_and_formats() -> None:
    assert score_output("number", "There are twelve items.", "12") == ("12", 1.0)
    fmt = get_answer_format("multiple_choice")
    assert score_output(fmt, "The answer is (C).", "(B)", MMLU_Q) == ("(C)", 0.0)


@pytest.mark.parametrize("name", sorted(ANSWER_FORMATS))
@pytest.mark.parametrize("text", ["", "   \n  "])
def test_empty_output_gives_none_and_zero(name: str, text: str) -> None:
    fmt = get_answer_format(name)
    assert fmt.extract(text, "question?") is None
    assert fmt.score(None, "anything") == 0.0


# ---------------------------------------------------------------------------
# Follow-up messages
# ---------------------------------------------------------------------------


def test_follow_up_lists_the_options_of_the_question() -> None:
    mc = get_answer_format("multiple_choice")
    assert "(A), (B), (C) or (D)" in mc.follow_up(MMLU_Q)
    assert "(A), (B), (C), (D), (E) or (F)" in mc.follow_up(DATE_Q)
    assert "(A) or (B)" in mc.follow_up(WSC_Q)
    assert "(C)" not in mc.follow_up(WSC_Q)


def test_follow_up_finds_inline_options_and_falls_back_to_generic_wording() -> None:
    mc = get_answer_format("multiple_choice")
    assert "(A), (B) or (C)" in mc.follow_up("Pick one: (A) red (B) green (C) blue")
    generic = mc.follow_up("What is the capital of France?")
    assert "parentheses" in generic
    assert "(B)" not in generic


@pytest.mark.parametrize(
    "name, words",
    [
        ("yes_no", ["Yes", "No"]),
        ("true_false", ["True", "False"]),
        ("valid_invalid", ["valid", "invalid"]),
        ("number", ["number"]),
        ("dyck", ["closing brackets"]),
        ("word_sort", ["alphabetical"]),
        ("ii_exact", ["one line", "no explanation"]),
        ("ii_contains", ["one line", "no explanation"]),
        ("ii_set", ["one line", "commas"]),
    ],
)
def test_follow_up_names_the_expected_answer_form(name: str, words: list[str]) -> None:
    message = get_answer_format(name).follow_up("Some question?\nWith two lines.")
    assert "final answer" in message
    for word in words:
        assert word in message


# ---------------------------------------------------------------------------
# Multiple choice
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The answer is (B) because Christmas Day is 12/25.", "(B)"),
        ("The answer is (B). (A) is too early and (E) is the wrong year.", "(B)"),
        (
            "Sure! Let's think step by step.\nChristmas Eve is 12/24/1937, so tomorrow is "
            "12/25/1937.\n\n**Answer: (B)**",
            "(B)",
        ),
        (
            "Let's look at each option:\n(A) 12/11/1937 - incorrect\n(B) 12/25/1937 - correct\n"
            "(C) 01/04/1938 - incorrect\n(D) 12/04/1937 - incorrect",
            "(B)",
        ),
        (
            "Options (A), (C) and (D) are in the wrong month. Comparing the rest, tomorrow is "
            "12/25/1937, so (B) is the correct answer, not (E) or (F).",
            "(B)",
        ),
        (
            "The options are:\n(A) 12/11/1937\n(B) 12/25/1937\n(C) 01/04/1938\n"
            "Christmas Eve is the 24th, so the next day is option (B).",
            "(B)",
        ),
        ("B", "(B)"),
        ("B.", "(B)"),
        ("b", "(B)"),
        ("(b)", "(B)"),
        ("B) 12/25/1937", "(B)"),
        ("The answer is B.", "(B)"),
        ("The answer is B because the day after the 24th is the 25th.", "(B)"),
        ("Answer: option b", "(B)"),
        ("I think the correct option is B) 12/25/1937.", "(B)"),
        ("I would go with option B.", "(B)"),
        ("The final answer is $\\boxed{B}$", "(B)"),
        ("The answer is:\n\n- (F) 07/25/1937", "(F)"),
        ("Tomorrow is Christmas, 12/25/1937.\nThe answer is: (d)", "(D)"),
        ("12/25/1937", "(B)"),
        ("The answer is 12/25/1937.", "(B)"),
        ("The answer is (X).", None),
        ("I'm not sure which date is right.", None),
        ("A careful reading is needed here.", None),
        ("The answer is A bit tricky to see; I am not certain.", None),
    ],
)
def test_multiple_choice_extraction(text: str, expected: str | None) -> None:
    assert extract("multiple_choice", text, DATE_Q) == expected


def test_multiple_choice_maps_option_text_only_with_the_question() -> None:
    assert extract("multiple_choice", "Answer: False, True", MMLU_Q) == "(D)"
    assert extract("multiple_choice", "Bill", WSC_Q) == "(B)"
    assert extract("multiple_choice", "Bill", "") is None


def test_multiple_choice_letters_after_r_are_not_options() -> None:
    assert extract("multiple_choice", "The answer is (S).") is None
    geo_q = "This SVG path draws a\nOptions:\n" + "\n".join(f"({c}) shape {c}" for c in "ABCDEFGHIJK")
    assert extract("multiple_choice", "The answer is (K).", geo_q) == "(K)"


def test_multiple_choice_last_marker_wins_and_earlier_marker_is_a_fallback() -> None:
    text = "My first guess: the answer is (A). On reflection, the answer is (C)."
    assert extract("multiple_choice", text, DATE_Q) == "(C)"
    text = "The answer is (E). I hope this answer is helpful!"
    assert extract("multiple_choice", text, DATE_Q) == "(E)"


def test_multiple_choice_question_with_newlines_and_regex_characters() -> None:
    question = "What is ((1 + 2) * [3])?\nOptions:\n(A) 9?\n(B) 6 + [x]\n(C) a.*b"
    assert extract("multiple_choice", "6 + [x]", question) == "(B)"
    assert extract("multiple_choice", "a.*b", question) == "(C)"
    echo = f"{question}\nInstruction:\nThink step by step.\n\nSo the answer is (A)."
    assert extract("multiple_choice", echo, question) == "(A)"


@pytest.mark.parametrize(
    "prediction, target, expected",
    [("(C)", "(C)", 1.0), ("(C)", "(c)", 1.0), ("(C)", "C", 1.0), ("(B)", "(C)", 0.0), (None, "(C)", 0.0)],
)
def test_multiple_choice_score(prediction: str | None, target: str, expected: float) -> None:
    assert get_answer_format("multiple_choice").score(prediction, target) == expected


# ---------------------------------------------------------------------------
# Booleans
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("**Answer: No**", "No"),
        ("No, you do not return to the starting point.", "No"),
        ("Yes.", "Yes"),
        ("yes", "Yes"),
        (
            "Let's think. There is no evidence that he meant to do it. Still, most people "
            "would say his action caused it. Yes, he caused it.",
            "Yes",
        ),
        ("The sentence is plausible.", "Yes"),
        ("The sentence is not plausible, since Elias Lindholm is a hockey player.", "No"),
        ("The sentence is implausible.", "No"),
        ("Is it Yes or No? After checking each step, I think the answer is no.", "No"),
        ("To see whether the answer is yes or no, track each person. Elanor lies. No.", "No"),
        ("Answer: yes, since Bob tells the truth.", "Yes"),
        ("Elanor tells the truth. So the answer is Yes.", "Yes"),
        ("Hmm, no idea.", None),
        ("Should the answer be Yes or No? I need more information.", None),
        ("Yes/No: it depends on the wording.", None),
        ("I cannot determine this.", None),
    ],
)
def test_yes_no_extraction(text: str, expected: str | None) -> None:
    assert extract("yes_no", text, "Does Elanor tell the truth?\nOptions:\n- Yes\n- No") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("not ( True ) and ( True ) evaluates to False.", "False"),
        ("The answer is True.", "True"),
        ("False", "False"),
        ("Step 1: not True = False.\nStep 2: False and True = False.\nSo the expression is False.", "False"),
        ("The final answer is: **True**", "True"),
        ("That statement is not true.", "False"),
        ("The expression is correct.", "True"),
    ],
)
def test_true_false_extraction(text: str, expected: str) -> None:
    assert extract("true_false", text, "not ( True ) and ( True ) is") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The argument is invalid.", "invalid"),
        ("invalid", "invalid"),
        ("The argument is deductively valid.", "valid"),
        ("Is the argument valid or invalid? The argument is not valid.", "invalid"),
        ("The argument isn't deductively valid.", "invalid"),
        ("Answer: invalid", "invalid"),
        ("The conclusion does not follow, so the argument is fallacious.", "invalid"),
        ("valid", "valid"),
        ("Valid or invalid? Let's see... Each premise holds, so it is valid.", "valid"),
        ("The answer is: the argument is invalid, because the premises do not entail it.", "invalid"),
        ("The argument is not invalid.", "valid"),
        ("Valid or invalid? I would need to see more premises.", None),
    ],
)
def test_valid_invalid_extraction(text: str, expected: str | None) -> None:
    question = "Is the argument, given the explicitly stated premises, deductively valid or invalid?\nOptions:\n- valid \n- invalid"
    assert extract("valid_invalid", text, question) == expected


def test_boolean_scores_are_case_insensitive_and_strict() -> None:
    yes_no = get_answer_format("yes_no")
    assert yes_no.score("No", "no") == 1.0  # sports_understanding targets are lowercase
    assert yes_no.score("Yes", "no") == 0.0
    vi = get_answer_format("valid_invalid")
    assert vi.score("invalid", "invalid") == 1.0
    assert vi.score("valid", "invalid") == 0.0
    assert vi.score("invalid", "valid") == 0.0
    tf = get_answer_format("true_false")
    assert tf.score("False", "False") == 1.0
    assert tf.score("True", "False") == 0.0


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("There are twelve items.", "12"),
        ("$1,234", "1234"),
        ("Final answer: 7 apples", "7"),
        ("The answer is 3 + 4 = 7.", "7"),
        ("The answer is 5, since 10 = 2 x 5.", "5"),
        ("Let's count: a flute (1), a piano (2), a trombone (3). So I have 8 instruments.", "8"),
        ("I have twenty-one instruments in total.", "21"),
        ("The answer is -3.", "-3"),
        ("((-1 + 2 + 9 * 5) - (-2 + -4 + -4 * -7)) = 46 - 22 = 24", "24"),
        ("The temperature is -3 degrees.", "-3"),
        ("45%", "45"),
        ("3 km", "3"),
        ("The total is $1,234.50.", "1234.5"),
        ("She pays 3 * 20 = 60 dollars.\n#### 60", "60"),
        ("The answer is \\boxed{18}.", "18"),
        ("one hundred and five", "105"),
        ("It costs two thousand three hundred forty-five dollars.", "2345"),
        ("I have 8 instruments, counting each one.", "8"),
        ("He ends up with 7 apples (10 - 3).", "7"),
        ("The answer is 12.0", "12"),
        ("The answer is:\n\n-24", "-24"),
        ("**Final Answer:** 1,000,000 people", "1000000"),
        ("Final answer: two three-legged stools", "2"),
        ("Answer: ninety nine", "99"),
        ("I cannot tell from the question.", None),
    ],
)
def test_number_extraction(text: str, expected: str | None) -> None:
    assert extract("number", text) == expected


@pytest.mark.parametrize(
    "prediction, target, expected",
    [
        ("12", "12", 1.0),
        ("12.0", "12", 1.0),
        ("12", "12.00", 1.0),
        ("-3", "-3", 1.0),
        ("3", "-3", 0.0),
        ("12.5", "12", 0.0),
        ("1234", "1,234", 1.0),
    ],
)
def test_number_score_is_numeric(prediction: str, target: str, expected: float) -> None:
    assert get_answer_format("number").score(prediction, target) == expected


# ---------------------------------------------------------------------------
# Dyck languages
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("> } >", "> } >"),
        (">}>", "> } >"),
        ("The answer is > } >.", "> } >"),
        (
            "We have < { < ( ) still open. The ( is already closed by ). To close the rest "
            "(the '<', '{' and '<') we need > } >",
            "> } >",
        ),
        ("The completed sequence is < { < ( ) > } >", "> } >"),
        ("Answer: > } >\n\nThis closes the < { < opened earlier (see the input).", "> } >"),
        ("The answer is:\n```\n> } >\n```", "> } >"),
        ("I don't know.", None),
    ],
)
def test_dyck_extraction(text: str, expected: str | None) -> None:
    assert extract("dyck", text, DYCK_Q) == expected


def test_dyck_score_ignores_whitespace() -> None:
    dyck = get_answer_format("dyck")
    assert dyck.score("> } >", ">}>") == 1.0
    assert dyck.score("> }", "> } >") == 0.0


# ---------------------------------------------------------------------------
# Word sorting
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        SORTED,
        "Sure! Here are the words sorted alphabetically:\n\n1. apple\n2. o'connell\n"
        "3. syndrome\n4. therefrom\n\nI hope this helps!",
        "The answer is: apple, o'connell, syndrome, therefrom.",
        "The words are: syndrome therefrom apple o'connell\nSorted: apple o'connell syndrome therefrom",
        "- apple\n- o'connell\n- syndrome\n- therefrom",
        "apple\no'connell\nsyndrome\ntherefrom",
        "Sorted list apple o'connell syndrome therefrom",
        "**Apple**, **O'Connell**, **Syndrome**, **Therefrom**",
    ],
)
def test_word_sort_extraction(text: str) -> None:
    prediction = extract("word_sort", text, SORT_Q)
    assert prediction == SORTED
    assert get_answer_format("word_sort").score(prediction, SORTED) == 1.0


def test_word_sort_keeps_mistakes_and_works_without_question() -> None:
    wrong = extract("word_sort", "apple syndrome o'connell therefrom", SORT_Q)
    assert get_answer_format("word_sort").score(wrong, SORTED) == 0.0
    assert extract("word_sort", "Sorted: apple, banana") == "apple banana"
    assert extract("word_sort", "1. apple\n2. banana\n\nDone!") == "apple banana"


def test_word_sort_score_is_token_list_equality() -> None:
    ws = get_answer_format("word_sort")
    assert ws.score("Apple  Banana", "apple banana") == 1.0
    assert ws.score("banana apple", "apple banana") == 0.0
    assert ws.score("apple", "apple banana") == 0.0


# ---------------------------------------------------------------------------
# Exact and free text
# ---------------------------------------------------------------------------


def test_exact_normalizes_case_punctuation_and_whitespace() -> None:
    exact = get_answer_format("exact")
    assert score_output(exact, "The answer is Monsters, Inc.", "monsters, inc")[1] == 1.0
    assert score_output(exact, '  "Paris".  ', "paris")[1] == 1.0
    assert score_output(exact, "Paris, France", "Paris")[1] == 0.0


def test_rouge_l_extraction_strips_labels_and_preambles() -> None:
    rl = get_answer_format("rouge_l")
    assert rl.extract("Answer: Akeem Ayers plays for the Rams.") == "Akeem Ayers plays for the Rams."
    assert rl.extract("Sure! Here is the text:\n\nAkeem Ayers plays for the Rams.") == (
        "Akeem Ayers plays for the Rams."
    )
    assert rl.extract("**Output:** The text.") == "The text."


def test_rouge_l_score_is_best_over_references() -> None:
    rl = get_answer_format("rouge_l")
    refs = ("the cat is on the mat", "a cat sat on the mat")
    prediction = rl.extract("Answer: The cat sat on the mat.")
    # against refs[0]: LCS "the cat on the mat" = 5 of 6 / 6 -> 5/6;
    # against refs[1]: LCS "cat sat on the mat" = 5 of 6 / 6 -> 5/6 as well; a third reference wins.
    assert rl.score(prediction, refs) == pytest.approx(5 / 6)
    assert rl.score(prediction, refs + ("the cat sat on the mat",)) == pytest.approx(1.0)
    assert rl.score(prediction, ("completely different words",)) == 0.0


@pytest.mark.parametrize(
    "prediction, reference, expected",
    [
        ("the cat sat on the mat", "the cat is on the mat", 5 / 6),
        ("police killed the gunman", "the gunman kill police", 0.5),  # LCS 2, P = R = 1/2
        ("a x c", "a b c d e", 0.5),  # LCS 2, P = 2/3, R = 2/5
        ("The Eiffel Tower is in Paris.", "Paris is home to the Eiffel Tower", 6 / 13),  # LCS 3
        ("AKEEM-AYERS, debut!", "akeem ayers debut", 1.0),  # punctuation splits, case folds
        ("café", "caf", 1.0),  # like rouge-score: non a-z0-9 characters become spaces
        ("running", "run", 0.0),  # no stemming
        ("", "anything", 0.0),
        ("...", "...", 0.0),
    ],
)
def test_rouge_l_f1_hand_computed(prediction: str, reference: str, expected: float) -> None:
    assert rouge_l_f1(prediction, reference) == pytest.approx(expected)


def test_rouge_l_f1_is_symmetric() -> None:
    a, b = "a x c", "a b c d e"
    assert rouge_l_f1(a, b) == pytest.approx(rouge_l_f1(b, a))


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("a b c", "a b c", 0),
        ("a b c", "a c", 1),
        ("a c", "a b c", 1),
        ("a b c", "a x c", 1),
        ("kitten sitting", "sitting kitten", 2),
        ("a  b\nc", "a b c", 0),
        ("x y z", "a b", 3),
        ("", "", 0),
        ("", "one two three", 3),
        ("Think step by step.", "think step by step.", 1),
    ],
)
def test_word_edit_distance(a: str, b: str, expected: int) -> None:
    assert word_edit_distance(a, b) == expected
    assert word_edit_distance(b, a) == expected


# ---------------------------------------------------------------------------
# Real targets from the paper's splits
# ---------------------------------------------------------------------------

DATA_DIR = Path(os.environ.get("GPO_DATA_DIR") or SHARED_DATA)

from gpo.tasks.splits import BBH_ANSWER_FORMATS as BBH_FORMATS  # noqa: E402


def _records(folder: Path, field: str, limit: int) -> list[tuple[str, object]]:
    path = folder / "test.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [(row["input"], row[field]) for row in rows[:limit]]


def _real_cases() -> list[tuple[str, str, str, object]]:
    cases: list[tuple[str, str, str, object]] = []
    bbh = DATA_DIR / "BIG-Bench-Hard"
    if bbh.is_dir():
        for task in sorted(p for p in bbh.iterdir() if p.is_dir()):
            fmt = BBH_FORMATS.get(task.name, "multiple_choice")
            cases += [(task.name, fmt, q, t) for q, t in _records(task, "target", 20)]
    mmlu = DATA_DIR / "MMLU"
    if mmlu.is_dir():
        for subject in sorted(p for p in mmlu.iterdir() if p.is_dir())[:10]:
            cases += [(subject.name, "multiple_choice", q, t) for q, t in _records(subject, "output", 5)]
    for rel, fmt in (("reasoning/GSM8K", "number"), ("common-nlp/WSC", "multiple_choice")):
        cases += [(rel, fmt, q, t) for q, t in _records(DATA_DIR / rel, "output", 30)]
    cases += [
        ("WebNLG", "rouge_l", q, tuple(t))
        for q, t in _records(DATA_DIR / "common-nlp/WebNLG", "output", 30)
    ]
    return cases


@pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"paper splits not found at {DATA_DIR}")
def test_real_targets_score_one_when_stated_as_the_answer() -> None:
    import re

    cases = _real_cases()
    assert len(cases) > 100
    failures = []
    checked = 0
    for task, fmt, question, target in cases:
        if fmt == "multiple_choice" and not re.fullmatch(r"\([A-R]\)", str(target)):
            continue  # a few upstream BBH records have an option's text as target
        if fmt == "rouge_l":
            texts = [f"Answer: {target[0]}", str(target[-1])]
        else:
            texts = [f"The answer is {target}.", f"Let me think.\n{question}\nSo the answer is {target}."]
        for text in texts:
            checked += 1
            prediction, score = score_output(fmt, text, target if fmt == "rouge_l" else str(target), question)
            if score != 1.0:
                failures.append((task, text[-80:], target, prediction))
    assert checked > 200
    assert not failures, failures[:5]


@pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"paper splits not found at {DATA_DIR}")
def test_real_targets_other_answers_score_zero() -> None:
    """A stated answer that differs from the target must not score (guards against parsers that accept anything)."""
    wrong = {"yes_no": ("Yes", "No"), "true_false": ("True", "False"), "valid_invalid": ("valid", "invalid")}
    checked = 0
    for task, fmt, question, target in _real_cases():
        if fmt in wrong:
            a, b = wrong[fmt]
            other = b if str(target).lower() == a.lower() else a
        elif fmt == "multiple_choice" and str(target) in ("(A)", "(B)"):
            other = "(B)" if target == "(A)" else "(A)"
        elif fmt == "number":
            other = str(int(str(target)) + 1)
        else:
            continue
        checked += 1
        assert score_output(fmt, f"The answer is {other}.", str(target), question)[1] == 0.0, (task, target)
    assert checked > 50
