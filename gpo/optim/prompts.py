"""The meta-prompts: every text the optimizer model reads, as named templates.

A meta-prompt is assembled from these pieces in the order the method specifies: the task,
the trajectory (earlier prompts with their scores, or a running summary), the current
prompt (with its score and a reflection on its mistakes when those are used), how the prompt
is applied, the demonstration examples, the request (write a new prompt, or edit the current
one), the edit limit, and the output format.

References:
    GPO (Tang et al., 2025), section 4 and appendix: meta-prompt structure.
"""

from __future__ import annotations

TASK_INTRO = (
    "You write instructions for a language model. An instruction (a prompt) is put in place "
    "of the placeholder <Prompt> in each input below, and the model should then produce the "
    "given output."
)

# Without the <Prompt> placeholder (plain examples): the placement said in words, the
# examples as input/output pairs. Small models read "<Prompt>" as text to replace.
TASK_INTRO_PLAIN = (
    "You write instructions for a language model. The model reads the instruction (the "
    "prompt) {where}, and must then answer with exactly the expected output."
)
PLACEMENT_WORDS = {
    "Q_begin": "and then one input",
    "Q_end": "after one input",
    "A_begin": "at the start of its answer to one input",
    "system": "as its system message, and then one input",
}

TRAJECTORY_SCORED = (
    "Earlier prompts and their scores (from 0 to 100; higher is better):"
)
TRAJECTORY_UNSCORED = "Earlier prompts:"
TRAJECTORY_ITEM_SCORED = "Prompt: {prompt}\nScore: {score}"
TRAJECTORY_ITEM_UNSCORED = "Prompt: {prompt}"

SUMMARY_SECTION = "What has been learned from earlier prompts:\n{summary}"

CURRENT_SCORED = "The current prompt is:\n{prompt}\nIts score is {score}."
CURRENT_UNSCORED = "The current prompt is:\n{prompt}"

REFLECTION_SECTION = "Why the current prompt fails on some examples:\n{reflection}"

MISTAKES_SECTION = (
    "With the current prompt, the model got these examples wrong (its answer, then the output "
    "that was expected). A better prompt tells the model what to do with the input and in "
    "exactly what form to answer:"
)
MISTAKES_SECTION_SOME_ANSWERS = (
    "With the current prompt, the model got these examples wrong (the output that was expected, "
    "and the model's answer where it held that output inside a longer answer). A better prompt "
    "tells the model what to do with the input and in exactly what form to answer:"
)
MISTAKE = "Input:\n{input}\nModel's answer:\n{output}\nExpected output:\n{target}"
MISTAKE_PLAIN = "Input: {input}\nModel's answer: {output}\nExpected output: {target}"
MISTAKE_WITHOUT_ANSWER = "Input:\n{input}\nExpected output:\n{target}"
MISTAKE_WITHOUT_ANSWER_PLAIN = "Input: {input}\nExpected output: {target}"
ANSWER_FORM_NOTE = (
    "In {counted} the expected output is there, but inside a longer answer. The new prompt "
    "should make the model answer with the output alone, with no other words."
)

APPLICATION = (
    "The prompt replaces <Prompt> in every input. When the model's answer differs from the "
    "given output, it counts as wrong. Some examples:"
)
EXAMPLE = "Input:\n{input}\nOutput:\n{output}"
APPLICATION_PLAIN = "When the model's answer differs from the expected output, it counts as wrong. Some examples:"
EXAMPLE_PLAIN = "Input: {input}\nOutput: {output}"

GENERATION_REQUEST = (
    "Look at what the prompts above do well and what they do badly. Then write a new prompt "
    "that will score higher."
)
EDITING_REQUEST = (
    "Look at the weaknesses of the current prompt. Then modify the current prompt so that it "
    "will score higher."
)
EDIT_LIMIT = "Change at most {n_words} words of the current prompt."
OUTPUT_FORMAT = "Write the new prompt between <START> and <END>, and nothing else."
OUTPUT_FORMAT_RULE_FIRST = (
    "First, in one line that starts with \"Rule:\", say what turns each input into its output. "
    "Then write the new prompt between <START> and <END>. The prompt must tell the model the "
    "rule and the exact form of the answer."
)

# -- reflection (the "R" of P+M+R): one call at temperature 0 ---------------------------------

REFLECTION_PROMPT = (
    "A language model was given the prompt below, placed in each input instead of <Prompt>, "
    "and it answered the following examples wrongly.\n\n"
    "Prompt:\n{prompt}\n\n"
    "{examples}\n\n"
    "For these mistakes, think about how the prompt may have misled the model or failed to "
    "help it. Then list, in a few short points, the problems of the prompt and how to fix "
    "them."
)
REFLECTION_EXAMPLE = "Input:\n{input}\nModel's answer:\n{output}\nCorrect output:\n{target}"
NO_MISTAKES = "The current prompt answered every example of the last batch correctly."

# -- summary trajectory (momentum as a running, LLM-merged record) ----------------------------

SUMMARY_PROMPT = (
    "You keep notes on how to improve a prompt for a language model.\n\n"
    "Notes so far:\n{summary}\n\n"
    "Latest prompt (score {score}):\n{prompt}\n"
    "{reflection}\n"
    "Update the notes: merge the new observations into the old ones, keep what still holds, "
    "drop repetitions, and stay under 150 words. Write only the notes."
)
NO_SUMMARY_YET = "(none yet)"
SUMMARY_REFLECTION = "Observed problems:\n{reflection}\n"
