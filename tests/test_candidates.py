"""Tests of gpo.optim.candidates: parsing optimizer completions into candidate prompts.

Completions marked "sampled" were produced by Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, local
llama.cpp, temperature 1.0) from GPO-style meta-prompts for a navigation task and kept
verbatim. The others are written in the style of Qwen2.5-Coder-1.5B-Instruct, which
complies more often but adds markdown, labels and chatter.
"""

from __future__ import annotations

import doctest
import json

import pytest

import gpo.optim.candidates as candidates_module
from gpo.optim.candidates import (
    FALLBACK_MAX_WORDS,
    Candidate,
    check_candidate,
    extract_prompt,
    make_candidates,
    normalize_prompt,
)

CURRENT = "Read the question carefully and answer with the option letter."

# -- sampled from Qwen2.5-Coder-0.5B-Instruct -----------------------------------------------

SAMPLED_EXAMPLE_ECHO = """<START>
Let's think step by step.
Replace the current prompt with:
Let's consider the possibility that one of the following actions might be taken next? Take 5 steps. Turn around. Take 3 steps.

Output:
Replace the current prompt with:
Let's consider the possibility that one of the following actions might be taken next? Always face forward. Take 3 steps.

Input:
Q: If you follow these instructions, do you return to the starting point? Always face forward. Take 2 steps left. Take 4 steps right.
Replace the current prompt with:
Let's consider the possibility that one of the following actions might be taken next? Always face forward. Take 3 steps.

Output:
Let's consider the possibility that one of the following actions might be taken next? Take 5 steps. Turn around. Take 3 steps.

<END>"""

SAMPLED_PLACEHOLDER = """<START>
Please replace <Prompt> in each input with your prompt, then read the input and give an output. We say your output is wrong if it is different from the given output.
<END>"""

SAMPLED_END_TAGS_AFTER = """<START>
To improve the prompt for the task examples, you can consider the following changes:

<END>
Q: If you follow these instructions, do you return to the starting point? Take 3 steps. Turn around. Take 3 steps.
Options:
- Yes
- No
<END>

Q: If you follow these instructions, do you return to the starting point? Always face forward. Take 2 steps left. Take 4 steps right.
Options:
- Yes
- No
<END>"""

SAMPLED_REPLACE_WITH = """<START>

Replace the prompt with:

Read the question carefully and answer with the option letter.

<END>"""

SAMPLED_REPLACE_QUOTED = """<START>
Replace <Prompt> with "Write the question carefully and answer with the correct option letter."
<END>"""

SAMPLED_REPEATED_STARTS = (
    "<START>Read the question carefully and answer with the option letter. Score: 47\n\n"
    + "Replace the previous prompt <Prompt> with:\n"
    + "<START>Read the question carefully and answer with the option letter. Score: 47\n\n"
    + "Replace the previous prompt <Prompt> with:\n" * 1
    + "<START>Read the question carefully and answer with the option letter. Score: 47\n\n"
    + "Replace the previous prompt <Prompt> with"
)

SAMPLED_CHATTER_AROUND = """Certainly! Here's an improved instruction:

<START>
What is a good navigation question?
<END>

This instruction prompts the user to think through a step-by-step navigation question. The user is given a brief answer and is encouraged to think through a more detailed answer that fits the context."""

SAMPLED_TEXT_BEFORE = """Let's think step by step. Score of the current instruction: 42 out of 100.
<START>
Can you tell me if a given sentence starts with a capital letter? <END>"""

SAMPLED_NO_END = "<START>Can you explain how to calculate the sum of the digits of a given number?"

SAMPLED_NUMBERED_LIST = """<START>
Here's a revised instruction to address your navigation questions:

1. **Current instruction:**
   "Let's think step by step."
   - **Score:** 42 out of 100

2. **Improved instruction:**
   "Let's think through the question step by step."
   - **Score:** 45 out of 100

Both instructions aim to clarify your navigation questions, but one is more straightforward and focuses on thinking through the question, while the other is more detailed."""

SAMPLED_ASKS_BACK = "Please provide the instruction you would like me to improve."

SAMPLED_RUNAWAY = "<START> Answer: Yes/no navigation questions. " + " ".join(
    ["Can you describe the question in a simple, fluent way that a non-native speaker can "
     "understand? Can you give examples of navigation questions that you'd like to test?"] * 8
)

# -- written in the style of Qwen2.5-Coder-1.5B-Instruct -----------------------------------

STYLE_BOLD_LABEL = """Based on the scores, the prompts that mention the option letter do better.

**New Prompt:** Track your position after each instruction, then answer Yes or No.

This keeps the instruction short."""

STYLE_FENCE = """Here is the improved prompt:

```
Follow each move, keep count of your position, and answer with Yes or No.
```

It should improve accuracy."""

STYLE_PYTHON_FENCE = """Here is a function that solves it:

```python
def returns_to_start(moves):
    return sum(moves) == 0
```"""

STYLE_HERE_IS = """Here is the new prompt:

Think about where you stand after every step, then answer with the option letter.

This prompt encourages the model to track its position."""

STYLE_RESTATES_REQUEST = """I will wrap the new prompt in <START> and <END> as requested.

<START>Visualize each step on a grid, then choose the option letter.<END>"""

STYLE_TWO_BLOCKS = """The current prompt is:
<START>Read the question carefully and answer with the option letter.<END>

My improved prompt:
<START>Read the question carefully, track every step, and answer with the option letter.<END>"""

STYLE_MISSING_START = """Sure! Here's the new prompt:

Count the steps in each direction and answer with the option letter. <END>"""

STYLE_HEADING = """### Improved Prompt
Check whether the moves cancel out, then answer Yes or No."""


def cands(raws, **kwargs):
    kwargs.setdefault("current", CURRENT)
    kwargs.setdefault("seen", [CURRENT])
    kwargs.setdefault("budget", None)
    return make_candidates(raws, **kwargs)


# -- extract_prompt: tags -------------------------------------------------------------------


def test_plain_tags():
    assert extract_prompt("<START>Answer with the option letter.<END>") == (
        "Answer with the option letter."
    )


def test_tags_with_chatter_before_and_after():
    assert extract_prompt(SAMPLED_CHATTER_AROUND) == "What is a good navigation question?"
    assert extract_prompt(SAMPLED_TEXT_BEFORE) == (
        "Can you tell me if a given sentence starts with a capital letter?"
    )


@pytest.mark.parametrize(
    "raw",
    [
        "<START>Answer Yes or No after tracing the path.</START>",
        "<start>Answer Yes or No after tracing the path.<end>",
        "[START]Answer Yes or No after tracing the path.[END]",
        "<PROMPT>Answer Yes or No after tracing the path.</PROMPT>",
        "<new_prompt>\nAnswer Yes or No after tracing the path.\n</new_prompt>",
        "<Improved Prompt>Answer Yes or No after tracing the path.</Improved Prompt>",
        "<instruction>Answer Yes or No after tracing the path.</instruction>",
        "<<START>> Answer Yes or No after tracing the path. <<END>>",
        "< START >Answer Yes or No after tracing the path.< END >",
        "<BEGIN>Answer Yes or No after tracing the path.<END>",
        "New prompt:\n<START>Answer Yes or No after tracing the path.</END>\nDone.",
    ],
)
def test_other_tag_names(raw):
    assert extract_prompt(raw) == "Answer Yes or No after tracing the path."


def test_last_complete_pair_wins():
    assert extract_prompt(STYLE_TWO_BLOCKS) == (
        "Read the question carefully, track every step, and answer with the option letter."
    )


def test_restated_request_is_not_a_prompt():
    assert extract_prompt(STYLE_RESTATES_REQUEST) == (
        "Visualize each step on a grid, then choose the option letter."
    )
    only_restated = "I will wrap it in <START> and <END>.\n\nTrace the path and answer Yes or No."
    assert extract_prompt(only_restated) == "Trace the path and answer Yes or No."


def test_missing_end_tag_takes_the_rest():
    assert extract_prompt(SAMPLED_NO_END) == (
        "Can you explain how to calculate the sum of the digits of a given number?"
    )
    assert extract_prompt("Sure.\n<START>\nTrace the path.\nThen answer.\n") == (
        "Trace the path.\nThen answer."
    )


def test_missing_end_tag_prefers_a_label_in_the_tail():
    assert extract_prompt(SAMPLED_NUMBERED_LIST) == (
        "Let's think through the question step by step."
    )


def test_missing_start_tag():
    assert extract_prompt(STYLE_MISSING_START) == (
        "Count the steps in each direction and answer with the option letter."
    )
    assert extract_prompt("Trace the path.\n\nAnswer Yes or No.[END]") == "Answer Yes or No."


def test_end_tags_after_a_complete_pair_do_not_override_it():
    assert extract_prompt(SAMPLED_END_TAGS_AFTER) == (
        "To improve the prompt for the task examples, you can consider the following changes:"
    )


def test_empty_tags_give_an_empty_string():
    assert extract_prompt("<START><END>") == ""
    assert extract_prompt("<START>\n  \n</START>") == ""
    assert extract_prompt("Here you go:\n<START> ** ** <END>") == ""


def test_empty_tags_followed_by_chatter_are_empty_not_missing():
    assert extract_prompt("<START><END>\nThanks for asking!") == ""
    assert extract_prompt("<START><END>\nNew prompt: Trace the path.") == "Trace the path."


def test_placeholder_before_an_end_tag_is_not_its_opening_tag():
    raw = (
        "Input:\nQ: Take 3 steps. Turn around. Take 3 steps.\n<Prompt>\nOutput:\nYes\n\n"
        "Picture the moves, then answer Yes or No.<END>"
    )
    assert extract_prompt(raw) == "Picture the moves, then answer Yes or No."


def test_placeholder_inside_a_block_stays_text():
    assert extract_prompt(SAMPLED_PLACEHOLDER).startswith("Please replace <Prompt> in each input")


def test_placeholder_in_an_echo_is_not_an_opening_tag():
    raw = (
        "Input:\nQ: Take 3 steps. Turn around. Take 3 steps.\n<Prompt>\nOutput:\nYes\n\n"
        "<START>Picture the moves, then answer Yes or No.<END>"
    )
    assert extract_prompt(raw) == "Picture the moves, then answer Yes or No."


def test_replace_with_colon_and_quoted_forms():
    assert extract_prompt(SAMPLED_REPLACE_WITH) == CURRENT
    assert extract_prompt(SAMPLED_REPLACE_QUOTED) == (
        "Write the question carefully and answer with the correct option letter."
    )


def test_placeholder_in_prose_without_tags():
    assert extract_prompt("Replace <Prompt> with: Trace the path, then answer.") == (
        "Trace the path, then answer."
    )
    echo = "Input:\nQ: Take 3 steps.\n<Prompt>\nOutput:\nYes\n\nNew prompt: Trace the path."
    assert extract_prompt(echo) == "Trace the path."


def test_trailing_score_copied_from_the_trajectory_is_dropped():
    assert extract_prompt("<START>Answer with the option letter. Score: 47<END>") == (
        "Answer with the option letter."
    )


# -- extract_prompt: markdown and labels -----------------------------------------------------


def test_bold_label_in_chatter():
    assert extract_prompt(STYLE_BOLD_LABEL) == (
        "Track your position after each instruction, then answer Yes or No."
    )


@pytest.mark.parametrize(
    "raw",
    [
        "Prompt: Trace the path and answer Yes or No.",
        "New prompt: Trace the path and answer Yes or No.",
        "Improved prompt: Trace the path and answer Yes or No.",
        "**Improved Prompt:** Trace the path and answer Yes or No.",
        "**New prompt**: Trace the path and answer Yes or No.",
        "New prompt: **Trace the path and answer Yes or No.**",
        "Here's an improved version of the prompt:\n\n\"Trace the path and answer Yes or No.\"",
        "The new instruction is: `Trace the path and answer Yes or No.`",
        "<START>New prompt: Trace the path and answer Yes or No.<END>",
        "<START>\n**Trace the path and answer Yes or No.**\n<END>",
        '<START>"Trace the path and answer Yes or No."<END>',
        "<START>“Trace the path and answer Yes or No.”<END>",
    ],
)
def test_labels_bold_code_and_quotes_are_removed(raw):
    assert extract_prompt(raw) == "Trace the path and answer Yes or No."


def test_here_is_the_new_prompt_takes_one_paragraph():
    assert extract_prompt(STYLE_HERE_IS) == (
        "Think about where you stand after every step, then answer with the option letter."
    )


def test_prose_fence():
    assert extract_prompt(STYLE_FENCE) == (
        "Follow each move, keep count of your position, and answer with Yes or No."
    )
    assert extract_prompt("```text\nAnswer Yes or No.\n```") == "Answer Yes or No."


def test_code_fence_is_not_a_prompt():
    assert extract_prompt(STYLE_PYTHON_FENCE) is None


def test_heading_label():
    assert extract_prompt(STYLE_HEADING) == (
        "Check whether the moves cancel out, then answer Yes or No."
    )


def test_heading_marks_are_removed():
    assert extract_prompt("<START>\n## Check whether the moves cancel out.\n<END>") == (
        "Check whether the moves cancel out."
    )


def test_bold_line_among_chatter():
    raw = (
        "The earlier prompts were vague.\n\n**Trace every move before you answer.**\n\n"
        "I hope this helps improve the score on the task."
    )
    assert extract_prompt(raw) == "Trace every move before you answer."


def test_quotes_that_do_not_wrap_the_whole_prompt_stay():
    assert extract_prompt('<START>"Valid" or "invalid"<END>') == '"Valid" or "invalid"'
    assert extract_prompt("<START>Let's answer step by step.<END>") == (
        "Let's answer step by step."
    )


def test_newlines_kept_inside_and_ends_stripped():
    raw = "<START>\n  First, trace the path.  \r\n\tThen answer   Yes or No.\n\n<END>"
    assert extract_prompt(raw) == "First, trace the path.\nThen answer Yes or No."


# -- extract_prompt: fallback ---------------------------------------------------------------


def test_short_untagged_instruction_is_taken():
    assert extract_prompt("Answer with the option letter only.\n") == (
        "Answer with the option letter only."
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   \n ",
        SAMPLED_ASKS_BACK,
        "Sure, I can help with that. Let me know the task.",
        "I think the prompt is fine as it is.",
        "Based on the scores, shorter prompts work better.",
        "Input: Q: Take 3 steps.\nOutput: Yes",
    ],
)
def test_chatter_and_empty_completions_give_none(raw):
    assert extract_prompt(raw) is None


def test_fallback_word_limit():
    words = ["trace"] * FALLBACK_MAX_WORDS
    assert extract_prompt(" ".join(words)) == " ".join(words)
    assert extract_prompt(" ".join(words + ["again"])) is None
    assert extract_prompt("Trace.\nCount.\nCompare.\nAnswer.") is None  # four lines


# -- check_candidate ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, reason",
    [
        (None, "no prompt found"),
        ("", "empty"),
        ("  \n", "empty"),
        ("Replace <Prompt> with a better prompt.", "contains the <Prompt> placeholder"),
        ("Replace < prompt > here.", "contains the <Prompt> placeholder"),
        ("Trace the path. <END>", "contains the <START>/<END> markers"),
        ("[START] Trace the path.", "contains the <START>/<END> markers"),
        ("Input: Q: Take 3 steps.\nOutput: Yes", "echoes the examples"),
        ("word " * 201, "too long (201 words)"),
    ],
)
def test_check_candidate_reasons(text, reason):
    assert check_candidate(text, current=CURRENT) == reason


def test_check_candidate_accepts_and_limits():
    assert check_candidate(CURRENT, current=CURRENT) is None
    assert check_candidate("word " * 200, current=CURRENT) is None
    assert check_candidate("Output: Yes or No only.", current=CURRENT) is None
    assert check_candidate("one two three four", current="x", max_words=3) == (
        "too long (4 words)"
    )


def test_check_candidate_ratio():
    current = "Think step by step."  # 4 words
    assert check_candidate("a " * 12, current=current, max_ratio=3) is None
    assert check_candidate("a " * 13, current=current, max_ratio=3) == (
        "too long (13 words, over 3x the current prompt)"
    )
    assert check_candidate("a b c", current="", max_ratio=2) == (
        "too long (3 words, over 2x the current prompt)"
    )


# -- make_candidates ------------------------------------------------------------------------


def test_realistic_step_of_eight_samples():
    raws = [
        "<START>Read the question carefully and answer with the option letter.\n<END>",
        SAMPLED_PLACEHOLDER,
        SAMPLED_EXAMPLE_ECHO,
        "<START>\nYou can use this question to read the question carefully and answer with "
        "the option letter. Choose the correct answer among the provided options.\n\n<END>",
        SAMPLED_REPLACE_WITH,
        "<START>\nLet's think step by step, and answer with the option letter.\n<END>",
        SAMPLED_REPEATED_STARTS,
        SAMPLED_REPLACE_QUOTED,
    ]
    out = cands(raws, budget=10, start_index=8)
    summary = [(c.index, c.rejected, c.edit_distance, c.duplicate, c.over_budget) for c in out]
    assert summary == [
        (8, None, 0, True, False),
        (9, "contains the <Prompt> placeholder", None, False, False),
        (10, "echoes the examples", None, False, False),
        (11, None, 15, False, True),
        (12, None, 0, True, False),
        (13, None, 5, False, False),
        (14, "contains the <Prompt> placeholder", None, False, False),
        (15, None, 2, False, False),
    ]
    assert [c.raw for c in out] == raws
    assert [c.ok for c in out] == [True, False, False, True, True, True, False, True]


@pytest.mark.parametrize(
    "prompt, distance",
    [
        ("Read the question carefully and answer with the option letter.", 0),
        ("Read the question slowly and answer with the option letter.", 1),
        ("Read the question carefully and answer with one option letter.", 1),
        ("Read the question and answer with the option letter.", 1),
        ("First, read the question carefully and answer with the option letter.", 2),
        ("Answer with the option letter.", 6),
        ("Think step by step.", 10),
    ],
)
def test_edit_distance_in_words(prompt, distance):
    [c] = cands([f"<START>{prompt}<END>"], seen=[])
    assert c.edit_distance == distance


def test_duplicates_against_seen_and_within_the_list():
    seen = ["Think  step by step. ", "Answer Yes or No."]
    raws = [
        "<START>Think step by step.<END>",  # seen, modulo spaces
        "<START>Trace the path.<END>",
        "New prompt: Trace   the path.",  # repeats the previous candidate
        "<START>trace the path.<END>",  # case differs: not a duplicate
        "<START>Answer Yes or No.<END>",  # seen
    ]
    out = cands(raws, current="Think step by step.", seen=seen)
    assert [c.duplicate for c in out] == [True, False, True, False, True]
    assert all(c.ok for c in out)
    assert seen == ["Think  step by step. ", "Answer Yes or No."]  # not modified


def test_seen_may_be_any_iterable_and_is_read_once():
    out = cands(["<START>Trace the path.<END>"] * 2, seen=iter(["Trace the path."]))
    assert [c.duplicate for c in out] == [True, True]


def test_rejected_candidates_are_not_duplicates_and_do_not_count_as_seen():
    raws = ["<START>Replace <Prompt> now.<END>", "<START>Replace <Prompt> now.<END>"]
    out = cands(raws)
    assert [(c.rejected is not None, c.duplicate) for c in out] == [(True, False), (True, False)]


def test_over_budget_is_flagged_by_default():
    raws = ["<START>Answer with the option letter.<END>", "<START>Read the question slowly and "
            "answer with the option letter.<END>"]
    out = cands(raws, budget=3)
    assert [(c.ok, c.over_budget, c.edit_distance) for c in out] == [(True, True, 6), (True, False, 1)]


def test_over_budget_rejection_when_asked():
    raws = ["<START>Answer with the option letter.<END>", "<START>Answer with the option letter.<END>"]
    out = cands(raws, budget=3, reject_over_budget=True)
    assert [c.rejected for c in out] == ["over edit budget (6 > 3 words)"] * 2
    assert [c.edit_distance for c in out] == [6, 6]
    assert [c.over_budget for c in out] == [True, True]
    assert [c.duplicate for c in out] == [False, False]


def test_budget_edges():
    same = ["<START>" + CURRENT + "<END>"]
    assert cands(same, budget=0, reject_over_budget=True, seen=[])[0].ok
    one = ["<START>Read the question slowly and answer with the option letter.<END>"]
    assert cands(one, budget=0, reject_over_budget=True)[0].rejected == (
        "over edit budget (1 > 0 words)"
    )
    assert not cands(["<START>Think.<END>"], budget=None)[0].over_budget


def test_empty_unparsable_and_very_long_completions():
    long_prompt = "<START>" + "Trace the path carefully. " * 200 + "<END>"
    raws = ["", "   ", "<START></END>", SAMPLED_ASKS_BACK, long_prompt, SAMPLED_RUNAWAY]
    out = cands(raws)
    assert [c.rejected for c in out] == [
        "empty",
        "empty",
        "empty",
        "no prompt found",
        "too long (800 words)",
        "too long (228 words)",
    ]
    assert [c.prompt for c in out[:4]] == [None, None, "", None]
    assert all(c.edit_distance is None for c in out)


def test_max_words_and_ratio_are_passed_through():
    raw = ["<START>Trace the path and then answer with the option letter.<END>"]
    assert cands(raw, max_words=5)[0].rejected == "too long (10 words)"
    assert cands(raw, current="Think.", max_ratio=4)[0].rejected == (
        "too long (10 words, over 4x the current prompt)"
    )


def test_no_completions():
    assert cands([]) == []


def test_texts_are_canonical():
    [c] = cands(["<START>\n  Trace   the path.\t\n\n\n\nThen answer.  <END>"])
    assert c.prompt == "Trace the path.\n\nThen answer."
    assert c.prompt == normalize_prompt(c.prompt)


# -- Candidate and normalize_prompt ----------------------------------------------------------


def test_candidate_round_trips_through_json():
    out = cands(["<START>Trace the path.<END>", SAMPLED_PLACEHOLDER], budget=2)
    for c in out:
        data = json.loads(json.dumps(c.to_dict()))
        assert Candidate.from_dict(data) == c
        assert Candidate.from_dict({**data, "future_field": 1}) == c
    assert out[0].to_dict()["over_budget"] is True


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("  Think step by step.  ", "Think step by step."),
        ("Think\t\tstep  by\u00a0step.", "Think step by step."),
        ("A.\r\nB.\rC.", "A.\nB.\nC."),
        ("A.  \n  B.", "A.\nB."),
        ("A.\n\n\n\nB.", "A.\n\nB."),
        ("Keep CASE, and punctuation!", "Keep CASE, and punctuation!"),
        ("", ""),
    ],
)
def test_normalize_prompt(text, canonical):
    assert normalize_prompt(text) == canonical
    assert normalize_prompt(canonical) == canonical


def test_doctests_pass():
    import gpo.optim.extract as extract_module

    results = [doctest.testmod(m) for m in (candidates_module, extract_module)]
    assert sum(r.attempted for r in results) >= 10
    assert sum(r.failed for r in results) == 0


def test_echoes_of_scores_and_example_inputs_are_rejected():
    from gpo.optim.candidates import check_candidate, make_candidates

    assert check_candidate("Think about it.\nScore: 58\n\nThink.", current="x") == "echoes the trajectory's scores"
    ex = ["False and ( not False and not not True ) is"]
    assert check_candidate("False and ( not False and not not True ) is", current="x", examples=ex) == "copies an example input"
    assert check_candidate("Evaluate the Boolean expression step by step.", current="x", examples=ex) is None
    cands = make_candidates(["<START>False and ( not False and not not True ) is<END>"], current="x", seen=(), budget=None, examples=ex)
    assert cands[0].rejected == "copies an example input"


def test_meta_prompt_echoes_are_cut_off_the_proposal():
    from gpo.optim.candidates import make_candidates

    raws = [
        "Here's a new prompt that scores higher:\n\n<START>\nLet's think step by step.\nScore: 20\n\nInput:\n( False ) is\n<Prompt>\nOutput:\nFalse",
        "Let's think about step by step.\n\nScore: 90\n\nThe current prompt is:\nLet's think step by step.\nIts score is 90.",
        "Let's think step by step.\n\n<START>\nInput:\n( True ) or ( True )\nOutput:\nTrue\n\nScore: 75\n\n<END>",
    ]
    cands = make_candidates(raws, current="Let's think step by step.", seen=set(), budget=None)
    assert cands[0].prompt == "Let's think step by step." and not cands[0].rejected
    assert cands[1].prompt == "Let's think about step by step." and not cands[1].rejected
    assert cands[2].rejected  # nothing but echoed examples inside the tags


def test_a_bold_start_tag_leaves_no_stars_in_the_prompt():
    # Sampled from the packaged 1.5B model on ii/num_to_verbal.
    raw = "**Rule:** The model should take the input number and convert it into words.\n\n**<START>**\nLet's think step by step.\n<END>"
    assert extract_prompt(raw) == "Let's think step by step."
