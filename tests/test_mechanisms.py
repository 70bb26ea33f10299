"""What makes the optimizers work with small models: clipping, hygiene, mistakes, diverse demonstrations, tie-breaks."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from gpo.api import load_run_config, optimize
from gpo.evaluate import EvalResult, ExampleResult
from gpo.optim import prompts as P
from gpo.optim.candidates import make_candidates
from gpo.optim.direction import CurrentInfo
from gpo.optim.edits import clip_edits, word_edit_distance
from gpo.optim.hygiene import copies_example, echoes_text, rule_line, strip_preamble, strip_score_echo
from gpo.optim.momentum import TrajectoryView
from gpo.optim.optimizer import draw_demonstrations
from gpo.optim.selection import ElitistSelection, PaperSelection, TieBreak
from gpo.optim.state import TrajectoryEntry
from gpo.optim.update import Update, render_meta_prompt
from gpo.protocol import PROTOCOLS, RunConfig
from gpo.tasks.base import Example

COMPLETIONS = Path(__file__).parent / "fixtures" / "completions"


def test_clipping_keeps_every_change_within_the_budget():
    rng = random.Random(7)
    words = "think step by step answer the first letter of word only".split()
    for _ in range(2000):
        parent = " ".join(rng.choice(words) for _ in range(rng.randint(0, 10)))
        cand = " ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        budget = rng.randint(0, 8)
        out = clip_edits(parent, cand, budget)
        assert word_edit_distance(parent, out) <= budget
        if word_edit_distance(parent, cand) <= budget:
            assert out == cand


def test_an_over_budget_candidate_is_clipped_and_remembers_its_proposal():
    proposal = "Let's think step by step. Be careful with the spelling. Answer in lower case."
    (c,) = make_candidates(
        [f"<START>{proposal}<END>"], current="Let's think step by step.", seen=set(), budget=4, clip_over_budget=True,
    )
    assert c.ok and not c.over_budget and c.edit_distance <= 4
    assert c.prompt == "Let's think step by step. Answer in lower case."  # whole sentences only
    assert c.clipped_from == proposal
    assert "clipped_from" in c.to_dict()
    (w,) = make_candidates(
        ["<START>Write only the first letter of the given word, in lower case.<END>"],
        current="Let's think step by step.", seen=set(), budget=4, clip_over_budget=True,
    )
    assert w.rejected == "no whole sentence of its change fits the edit budget (4 words)" and not w.scored
    (d,) = make_candidates(["<START>Think.<END>"], current="Think.", seen=set(), budget=4)
    assert "clipped_from" not in d.to_dict()  # rows of runs without clipping are unchanged


def test_preambles_copies_and_echoes_are_found_by_similarity():
    assert strip_preamble("Change the prompt to:\nLet's think about step by step.") == "Let's think about step by step."
    assert strip_preamble("**Here is my revised version:**\nAnswer with one letter.") == "Answer with one letter."
    assert strip_preamble("Steps:\n1. Read.") == "Steps:\n1. Read."  # no word about the prompt
    assert strip_score_echo("Name it. Its score is 100.") == "Name it."
    assert strip_score_echo("Its score is 0.") == "Its score is 0."  # nothing else: left for the checks
    assert strip_score_echo("A score of 90 is good.") == "A score of 90 is good."
    # In markdown, as a 1.5B optimizer wrote it at the head of an OPRO candidate.
    assert strip_score_echo("**Score:** 75. For each input, write its first letter.") == "For each input, write its first letter."
    assert strip_score_echo("_Score_: 3. Name it.") == "Name it."
    assert strip_score_echo("Name it.\n**Score: 80**") == "Name it."
    # Only a sentence that is nothing but a score: a rule that starts with one is kept.
    assert strip_score_echo("Score: 5 points for each right answer. Answer with one letter.").startswith("Score: 5 points")
    demos = [("( True and not False ) or False", "True"), ("classroom", "c")]
    assert copies_example("Input: ( True and not False ) or False. Output: True", demos)
    assert copies_example("classrooms", demos)
    assert not copies_example("Evaluate the boolean expression and answer True or False.", demos)
    meta = P.TASK_INTRO + "\n\n" + P.GENERATION_REQUEST
    assert echoes_text("You write instructions for a language model. An instruction is put in place of the placeholder.", meta)
    assert not echoes_text("Evaluate the boolean expression and answer True or False only.", meta)


def test_hygiene_on_completions_sampled_from_the_local_models():
    """Completions the packaged models really wrote for ii/first_word_letter meta-prompts."""
    checked = 0
    for path in sorted(COMPLETIONS.glob("*.json")):
        for item in json.loads(path.read_text()):
            demos = item.get("demos") or [("classroom", "c"), ("mercury", "m"), ("genre", "g")]
            clean = Update._hygiene([tuple(d) for d in demos], item["meta_prompt"])
            with_h = make_candidates(item["completions"], current=item.get("current", "Let's think step by step."), seen=set(), budget=None, hygiene=clean)
            without = make_candidates(item["completions"], current=item.get("current", "Let's think step by step."), seen=set(), budget=None)
            for a, b, raw in zip(with_h, without, item["completions"]):
                checked += 1
                if a.ok:  # what hygiene keeps is an instruction: no demonstration, no meta-prompt text
                    assert not copies_example(a.prompt, [tuple(d) for d in demos]), raw
                    assert not echoes_text(a.prompt, item["meta_prompt"]), raw
                    assert not a.prompt.lower().startswith(("change the prompt", "here is")), raw
                elif b.ok:
                    assert a.rejected in ("copies a demonstration", "echoes the meta-prompt"), (a.rejected, raw)
            for expected in item.get("expected", []):
                got = with_h[expected["index"]]
                assert (got.rejected, got.prompt) == (expected["rejected"], expected["prompt"]), item["completions"][expected["index"]]
    assert checked >= 4


def test_a_prompt_that_leaves_out_its_stated_rule_gets_it():
    raw = "Rule: The output is the first letter of the given word.\n\nNew prompt: <START>Let's think step by step.<END>"
    p0 = "Let's think step by step."
    (c,) = make_candidates([raw], current=p0, seen={p0}, budget=30, rule_of=rule_line)
    assert c.prompt == "Let's think step by step. The output is the first letter of the given word." and c.ok
    (same,) = make_candidates([raw.replace("<START>Let's think step by step.", "<START>Give the first letter of the word.")],
                              current=p0, seen=set(), budget=30, rule_of=rule_line)
    assert same.prompt == "Give the first letter of the word."  # it already carries the rule
    (off,) = make_candidates([raw], current=p0, seen={p0}, budget=30)
    assert off.duplicate and off.prompt == p0  # without rule_of: the paper's parsing
    # Over the budget: the current prompt plus the rule, when that fits, before any clipping.
    long = raw.replace("<START>Let's think step by step.", "<START>" + "Read the word slowly and carefully. " * 4)
    (r,) = make_candidates([long], current=p0, seen={p0}, budget=10, rule_of=rule_line, clip_over_budget=True)
    assert r.prompt == "Let's think step by step. The output is the first letter of the given word." and r.clipped_from


def test_rules_stated_by_the_local_model_reach_the_candidates():
    """Real 1.5B completions on synthetic/first_letter: the right rule, then a prompt without it."""
    item = json.loads((COMPLETIONS / "qwen1.5b_first_letter_rule_carried.json").read_text())[1]
    demos = [tuple(d) for d in item["demos"]]
    cands = make_candidates(item["completions"], current=item["current"], seen=set(), budget=None,
                            hygiene=Update._hygiene(demos, item["meta_prompt"]), rule_of=rule_line)
    prompts = [c.prompt for c in cands if c.ok]
    assert "The output should be a single letter representing the first letter of the given word." in prompts
    assert all("first letter" in p for p in prompts)
    plain = make_candidates(item["completions"], current=item["current"], seen=set(), budget=None)
    assert not any("first letter" in (c.prompt or "") for c in plain if c.ok and len(c.prompt) < 120)


def test_a_rule_on_the_prompt_line_and_echoed_scores_from_the_local_model():
    """Real 1.5B completions: "Rule: … <START>…" on one line, and "Its score is 0." in prompts."""
    item = json.loads((COMPLETIONS / "qwen1.5b_first_letter_rule_same_line.json").read_text())[0]
    assert P.ANSWER_FORM_NOTE.format(counted="all 3 of these wrong answers") in item["meta_prompt"]
    demos = [tuple(d) for d in item["demos"]]
    cands = make_candidates(item["completions"], current=item["current"], seen={item["current"]}, budget=30,
                            clip_over_budget=True, hygiene=Update._hygiene(demos, item["meta_prompt"]),
                            rule_of=rule_line)
    prompts = [c.prompt for c in cands if c.ok]
    assert ("Which letter does this word start with? "
            "The model should output only the starting letter of the input word.") in prompts
    assert not any("score is" in p.lower() for p in prompts)
    assert all(word_edit_distance(item["current"], p) <= 30 for p in prompts)


def test_the_meta_prompt_says_when_wrong_answers_hold_the_expected_output():
    wrapped = (("agent", 'The word "agent" starts with the letter "a".', "a"),
               ("inside", "The letter is i.", "i"), ("behave", "c", "b"))
    text = render_meta_prompt("generation", CurrentInfo("Think.", 0.0, mistakes=wrapped), TrajectoryView(), [],
                              "Q_begin", 10, plain_examples=True, answer_notes=True)
    note = P.ANSWER_FORM_NOTE.format(counted="2 of these 3 wrong answers")
    assert note in text and text.index("Expected output: b") < text.index(note) < text.index("Change at most")
    wrong = (("agent", "The word is e.", "a"), ("inside", "x", "i"))
    text = render_meta_prompt("generation", CurrentInfo("Think.", 0.0, mistakes=wrong), TrajectoryView(), [],
                              "Q_begin", 10, plain_examples=True, answer_notes=True)
    assert "inside a longer answer" not in text
    ran_on = (("4685", "To convert the number 4685 into its decimal equivalent, we can follow these steps: …",
               "four thousand, six hundred and eighty-five"),)
    assert "wrote far more" not in render_meta_prompt(  # measured to hurt: see gpo.optim.diagnosis
        "generation", CurrentInfo("Think.", 0.0, mistakes=ran_on), TrajectoryView(), [], "Q_begin", 10,
        answer_notes=True)
    assert "inside a longer answer" not in render_meta_prompt(
        "generation", CurrentInfo("Think.", 0.0, mistakes=wrapped), TrajectoryView(), [], "Q_begin", 10)
    for method in ("gpo", "ape", "apo", "opro", "pe2"):  # every method alike
        assert RunConfig.build("synthetic/first_letter", method, protocol="quick").optimizer.update.answer_notes
        assert not RunConfig.build("synthetic/first_letter", method, protocol="paper").optimizer.update.answer_notes
    old = RunConfig.build("synthetic/first_letter", "gpo", protocol="quick").to_dict()
    old["optimizer"]["update"].pop("answer_notes")  # a run recorded before the setting existed
    assert not RunConfig.from_dict(old).optimizer.update.answer_notes


def test_mistakes_are_shown_after_the_current_prompt():
    info = CurrentInfo("Think.", 0.0, mistakes=(("classroom", "The word starts with c.", "c"),))
    text = render_meta_prompt("generation", info, TrajectoryView(), [Example("genre", "g")], "Q_end", 10)
    assert text.index("The current prompt is") < text.index(P.MISTAKES_SECTION) < text.index(P.APPLICATION)
    assert "Model's answer:\nThe word starts with c.\nExpected output:\nc" in text


def test_plain_examples_say_where_the_prompt_goes_instead_of_a_placeholder():
    info = CurrentInfo("Think.", 0.0, mistakes=(("classroom", "The word starts with c.", "c"),))
    plain = render_meta_prompt("generation", info, TrajectoryView(), [Example("genre", "g")], "Q_begin", 10, plain_examples=True)
    assert "<Prompt>" not in plain
    assert "reads the instruction (the prompt) and then one input" in plain
    assert "Input: classroom\nModel's answer: The word starts with c.\nExpected output: c" in plain
    assert "Input: genre\nOutput: g" in plain
    marked = render_meta_prompt("generation", info, TrajectoryView(), [Example("genre", "g")], "Q_begin", 10)
    assert "Input:\n<Prompt>\nclassroom\nModel's answer:" in marked and "Input:\n<Prompt>\ngenre\nOutput:\ng" in marked
    for placement, words in P.PLACEMENT_WORDS.items():
        assert words in render_meta_prompt("generation", info, TrajectoryView(), [], placement, None, plain_examples=True)
    quick = RunConfig.build("synthetic/navigate", "gpo", protocol="quick").optimizer.update
    paper = RunConfig.build("synthetic/navigate", "gpo", protocol="paper").optimizer.update
    assert quick.plain_examples and not paper.plain_examples


def test_diverse_demonstrations_cover_the_outputs():
    outputs = ["Yes"] * 9 + ["No"]
    for seed in range(20):
        assert {outputs[i] for i in draw_demonstrations(outputs, 3, seed, diverse=True)} == {"Yes", "No"}
    assert draw_demonstrations(outputs, 3, 1, diverse=False) == draw_demonstrations(outputs, 3, 1, diverse=False)


class TieObjective:
    """Scores prompts on the extra examples by a table."""

    def __init__(self, extra_scores):
        self.extra_scores = extra_scores
        self.asked = []

    def more_examples(self, n):
        return [Example(f"x{i}", "y") for i in range(n)]

    async def score_on_many(self, prompts, examples, split):
        self.asked.append(list(prompts))
        return [EvalResult(p, self.extra_scores[p], [], split=split) for p in prompts]


async def test_ties_are_broken_by_more_examples_and_separated_scores_are_not():
    history = [TrajectoryEntry(0, "p0", 0.5)]
    pool = [("a", 0.7), ("b", 0.7), ("c", 0.2)]
    objective = TieObjective({"a": 0.1, "b": 0.9})
    assert await TieBreak(PaperSelection(), 8).choose(pool, history, objective) == "b"
    assert objective.asked == [["a", "b"]]
    # No tie at the top: nothing is scored, and the rule chooses as before.
    objective = TieObjective({})
    assert await TieBreak(PaperSelection(), 8).choose([("a", 0.9), ("b", 0.7)], history, objective) == "a"
    assert objective.asked == []
    # Elitist: a tie that does not beat the current prompt keeps it.
    assert await TieBreak(ElitistSelection(), 8).choose([("a", 0.5), ("b", 0.5)], history, TieObjective({"a": 0, "b": 1})) == "p0"


class NearMissObjective(TieObjective):
    """Every prompt answers each example with its own text; scores on the extra examples by a table."""

    def __init__(self, extra_scores, answers):
        super().__init__(extra_scores)
        self.answers = answers

    def _results(self, prompt, n, split):
        rows = [ExampleResult(i, f"{split}{i}", "72 10", ["62"], None, 0.0, self.answers[prompt]) for i in range(n)]
        return EvalResult(prompt, 0.0, rows, split=split)

    async def results_of(self, prompt):
        return self._results(prompt, 4, "eval")

    async def score_on_many(self, prompts, examples, split):
        self.asked.append(list(prompts))
        return [dataclasses.replace(self._results(p, len(examples), split), score=self.extra_scores[p]) for p in prompts]


async def test_ties_that_remain_go_to_the_answers_right_in_substance_and_wrong_in_form():
    history = [TrajectoryEntry(0, "p0", 0.0)]
    pool = [("a", 0.0), ("b", 0.0), ("c", 0.0)]
    answers = {"a": "To subtract, we first look at a.", "b": "The result of subtracting 10 from 72 is 62.",
               "c": "62 is a number, and so is 10."}
    flat = NearMissObjective({"a": 0.0, "b": 0.0, "c": 0.0}, answers)
    # Without near misses the earliest wins; with them, b and c (every answer ends or begins
    # with 62) rank above a, and of those the earlier, b.
    assert await TieBreak(PaperSelection(), 2).choose(pool, history, flat) == "a"
    assert await TieBreak(PaperSelection(), 2, near_misses=True).choose(pool, history, flat) == "b"
    answers["b"] = "Sixty-two."
    assert await TieBreak(PaperSelection(), 2, near_misses=True).choose(pool, history, flat) == "c"
    # More examples decide first: near misses only order what they leave tied.
    ahead = NearMissObjective({"a": 0.5, "b": 0.0, "c": 0.0}, answers)
    assert await TieBreak(PaperSelection(), 2, near_misses=True).choose(pool, history, ahead) == "a"
    # With no extra examples, near misses alone order the tie, at no cost.
    none = NearMissObjective({}, answers)
    none.more_examples = lambda n: []
    assert await TieBreak(PaperSelection(), 0, near_misses=True).choose(pool, history, none) == "c"
    assert none.asked == []


def test_the_paper_protocol_switches_every_addition_off_and_quick_on():
    paper = RunConfig.build("synthetic/navigate", "gpo", protocol="paper", steps=1).optimizer
    quick = RunConfig.build("synthetic/navigate", "gpo", protocol="quick").optimizer
    d_paper, d_quick = paper.describe(), quick.describe()
    assert (paper.information.mistakes, paper.diverse_examples, paper.update.hygiene, paper.update.clip_over_budget) == (0, False, False, False)
    assert (paper.update.reject_over_budget, d_paper["selection"]) == (False, "paper")
    assert (quick.information.mistakes, quick.diverse_examples, quick.update.hygiene, quick.update.clip_over_budget) == (3, True, True, True)
    assert d_quick["selection"] == "paper+tie-break(12, near misses)"
    assert (paper.update.fill_candidates, quick.update.fill_candidates) == (False, True)
    # Each addition can be switched off one by one.
    off = RunConfig.build("synthetic/navigate", "gpo", mistakes=0, hygiene=False, tie_break=0, near_misses=False).optimizer
    assert (off.information.mistakes, off.update.hygiene, off.selection.describe()) == (0, False, "paper")
    misses_only = RunConfig.build("synthetic/navigate", "gpo", tie_break=0).optimizer
    assert misses_only.selection.describe() == "paper+tie-break(0, near misses)"
    assert PROTOCOLS["paper"].beyond_paper["mistakes"] == 0


def test_a_run_reports_how_well_the_budget_held(tmp_path, capsys):
    from gpo.cli import main

    main(["optimize", "-t", "synthetic/word_sorting", "--dry-run", "--steps", "3", "--run-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    eb = summary["edit_budget"]
    assert eb["scored"] > 0 and eb["rate"] == 1.0  # resampled once, then clipped
    assert f"edit budget: {eb['within']} of {eb['scored']} scored candidates within it" in out
    html = (tmp_path / "r" / "report.html").read_text() if (tmp_path / "r" / "report.html").exists() else ""
    if html:
        assert 'id="budget-adherence"' in html
    config = load_run_config(tmp_path / "r")
    assert config.optimizer.update.clip_over_budget


def test_rule_first_asks_for_the_rule_before_the_prompt():
    info = CurrentInfo("Think.", 0.0)
    plain = render_meta_prompt("generation", info, TrajectoryView(), [Example("genre", "g")], "Q_end", 10)
    ruled = render_meta_prompt("generation", info, TrajectoryView(), [Example("genre", "g")], "Q_end", 10, rule_first=True)
    assert plain.endswith(P.OUTPUT_FORMAT) and ruled.endswith(P.OUTPUT_FORMAT_RULE_FIRST)
    assert plain[: -len(P.OUTPUT_FORMAT)] == ruled[: -len(P.OUTPUT_FORMAT_RULE_FIRST)]


def test_a_candidate_that_keeps_the_current_prompt_is_no_echo_whatever_the_order_of_the_shown_prompts():
    # The current prompt extends p0, as GPO's edits do. Cutting p0 out of the meta-prompt
    # first left the rest of the current prompt behind as the meta-prompt's "own wording",
    # so a candidate that kept the current prompt was rejected as an echo in about half of
    # all processes (set order follows the string hash seed): seen on ii/num_to_verbal.
    from gpo.optim.hygiene import hygiene_reason, own_wording

    p0 = "Let's think step by step."
    current = p0 + " The model should convert the given number to its decimal equivalent and then write it in the specified format."
    view = TrajectoryView((TrajectoryEntry(0, p0, 0.0), TrajectoryEntry(1, current, 0.0)))
    text = render_meta_prompt("generation", CurrentInfo(current, 0.0), view, [Example("4853", "four thousand")],
                              "Q_begin", 10, rule_first=True, plain_examples=True)
    candidate = current + " Write the number in English words."
    for order in ([p0, current], [current, p0]):
        assert hygiene_reason(candidate, examples=[("4853", "four thousand")],
                              meta_prompt_template=own_wording(text, order)) is None
    leftover = text.replace(p0, " ").replace(current, " ")  # the order that rejected it
    assert echoes_text(candidate, leftover)


def test_only_wrong_answers_that_hold_the_expected_output_are_shown_when_asked():
    # A wrong answer that misreads the task ("decimal equivalent") is wording a small optimizer
    # copies into its rule; one that holds the expected output shows a form problem.
    mistakes = (("4685", "To convert the number 4685 into its decimal equivalent, we can follow these steps: …",
                 "four thousand, six hundred and eighty-five"),
                ("12", "The number 12 in words is twelve.", "twelve"))
    info = CurrentInfo("Think.", 0.0, mistakes=mistakes)
    text = render_meta_prompt("generation", info, TrajectoryView(), [], "Q_begin", 10, plain_examples=True,
                              wrapped_answers_only=True)
    assert "decimal equivalent" not in text and "The number 12 in words is twelve." in text
    assert "Input: 4685\nExpected output: four thousand, six hundred and eighty-five" in text
    assert P.MISTAKES_SECTION_SOME_ANSWERS in text and P.MISTAKES_SECTION not in text
    every = render_meta_prompt("generation", info, TrajectoryView(), [], "Q_begin", 10, plain_examples=True)
    assert "decimal equivalent" in every and P.MISTAKES_SECTION in every
    # When every wrong answer holds its expected output, nothing changes: the same meta-prompt.
    wrapped = CurrentInfo("Think.", 0.0, mistakes=mistakes[1:])
    assert render_meta_prompt("generation", wrapped, TrajectoryView(), [], "Q_begin", 10, plain_examples=True,
                              wrapped_answers_only=True) == render_meta_prompt(
        "generation", wrapped, TrajectoryView(), [], "Q_begin", 10, plain_examples=True)
    for method in ("gpo", "ape", "apo", "opro", "pe2"):  # every method alike
        assert RunConfig.build("synthetic/first_letter", method, protocol="quick").optimizer.update.wrapped_answers_only
        assert not RunConfig.build("synthetic/first_letter", method, protocol="paper").optimizer.update.wrapped_answers_only
    assert not RunConfig.build("synthetic/first_letter", "gpo", wrapped_answers_only=False).optimizer.update.wrapped_answers_only
    old = RunConfig.build("synthetic/first_letter", "gpo", protocol="quick").to_dict()
    old["optimizer"]["update"].pop("wrapped_answers_only")  # a run recorded before the setting existed
    assert not RunConfig.from_dict(old).optimizer.update.wrapped_answers_only


class ScriptedRounds:
    """A step's optimizer calls that answer each round from a script and record what was asked."""

    step = 1

    def __init__(self, rounds):
        self.rounds, self.asked = list(rounds), []

    async def sample(self, messages, *, n, temperature, max_tokens, round_):
        self.asked.append((round_, n))
        return self.rounds[round_][:n], f"s1-update-{round_}"


def propose(update, rounds, *, current="Think.", budget=None):
    import asyncio

    calls = ScriptedRounds(rounds)
    out = asyncio.run(update.propose("meta", calls=calls, current=current, seen={current}, budget=budget, examples=[]))
    return calls.asked, out


ROUNDS = [
    ["<START>Name the letter.<END>", "<START>Name the letter.<END>", "Sure!"],  # one new, a repeat, nothing
    ["<START>Think.<END>", "<START>Write the first letter only.<END>"],  # the current prompt again, one new
    ["<START>Answer with one lowercase letter.<END>"],
]


def test_filling_samples_again_until_the_step_has_its_new_prompts():
    asked, out = propose(Update(num_candidates=3, fill_candidates=True), ROUNDS)
    assert asked == [(0, 3), (1, 2), (2, 1)]
    new = [c.prompt for c in out if c.scored and not c.duplicate]
    assert new == ["Name the letter.", "Write the first letter only.", "Answer with one lowercase letter."]
    assert [c.index for c in out] == list(range(6)) and [c.meta_prompt_id for c in out][-1] == "s1-update-2"


def test_filling_stops_at_the_resampling_rounds_and_is_off_by_default():
    asked, out = propose(Update(num_candidates=3, fill_candidates=True, max_resample_rounds=1), ROUNDS)
    assert asked == [(0, 3), (1, 2)] and sum(c.scored and not c.duplicate for c in out) == 2
    asked, _ = propose(Update(num_candidates=3), ROUNDS)
    assert asked == [(0, 3)]
    asked, _ = propose(Update(num_candidates=2, fill_candidates=True), [["<START>A b.<END>", "<START>C d.<END>"]])
    assert asked == [(0, 2)]  # nothing missing: no second round


def test_filling_clips_every_round_when_over_budget_candidates_are_not_rejected():
    update = Update(num_candidates=2, fill_candidates=True, clip_over_budget=True)
    long = "<START>Think. Be brief. Then write the first letter of the word and nothing else.<END>"
    asked, out = propose(update, [[long, "Sure!"], ["<START>Think. Answer briefly.<END>"]], budget=2)
    assert asked == [(0, 2), (1, 1)]
    assert [c.prompt for c in out if c.scored] == ["Think. Be brief.", "Think. Answer briefly."]
    assert all(c.edit_distance <= 2 for c in out if c.scored)
    # Rejecting over budget (then clipping the last round) and filling work together.
    both = dataclasses.replace(update, reject_over_budget=True, max_resample_rounds=1)
    asked, out = propose(both, [[long, "Sure!"], [long, long]], budget=2)
    assert asked == [(0, 2), (1, 2)]
    assert [c.rejected is not None for c in out[:2]] == [True, True]
    assert [(c.prompt, c.duplicate) for c in out[2:]] == [("Think. Be brief.", False), ("Think. Be brief.", True)]
    assert all(c.edit_distance <= 2 for c in out[2:])
