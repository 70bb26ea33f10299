"""The optimizer loop with scripted models: meta-prompts, retrieval, schedules, selection, records."""

import json

import pytest

from gpo.api import optimize, optimize_async
from gpo.optim.presets import build_optimizer
from gpo.embed import LexicalEmbedder
from gpo.evaluate import Evaluator
from gpo.lm import FakeLM, ScriptedLM
from gpo.optim import prompts as P
from gpo.optim.direction import CurrentInfo, minibatch, parse_information
from gpo.optim.learning_rate import cosine_decay_schedule
from gpo.optim.momentum import TrajectoryView, importance, recency, relevance
from gpo.optim.objective import Objective
from gpo.protocol import RunConfig, steps_per_epoch
from gpo.runs.record import RunRecord
from gpo.runs.runner import Runner
from gpo.optim.presets import GPO, OPRO, SGDM, get_preset
from gpo.optim.state import OptimizerState, TrajectoryEntry
from gpo.optim.update import render_meta_prompt
from gpo.optim.edits import word_edit_distance
from gpo.tasks.base import Example, Task


def even_task(n=8):
    ex = [Example(f"Is {i} even?", "Yes" if i % 2 == 0 else "No") for i in range(n)]
    test = [Example(f"Is {i} even?", "Yes" if i % 2 == 0 else "No") for i in range(10, 10 + n)]
    return Task("demo/even", {"train": ex, "eval": ex, "test": test, "format": ex[:3]}, "yes_no")


def task_answer(request):
    """A task model that is right only when the instruction mentions 'parity'."""
    text = request.messages[0]["content"]
    n = int(text.split()[1])
    truth = "Yes" if n % 2 == 0 else "No"
    if "parity" in text:
        return truth
    if "divide" in text:
        return truth if n < 4 else ("No" if truth == "Yes" else "Yes")
    return "Yes"


def tagged(*prompts):
    return [f"Sure!\n<START>{p}<END>" for p in prompts]


class Harness:
    """An optimizer, its objective and a runner over scripted models (what gpo.optimize assembles)."""

    def __init__(self, optimizer, task, evaluator, opt_lm, embedder, *, steps, seed, run_dir):
        opt_lm.ledger = evaluator.lm.ledger
        self.optimizer = optimizer
        self.objective = Objective(task, evaluator, opt_lm, task.split("eval"), seed, make_embedder=lambda spec: embedder)
        config = RunConfig(task=task.name, optimizer=optimizer, steps=steps, initial_prompt="Answer.", seed=seed)
        self.runner = Runner(
            optimizer, self.objective, config=config,
            record=RunRecord(run_dir) if run_dir is not None else None, ledger=evaluator.lm.ledger,
        )

    async def run(self):
        return await self.runner.run()

    @property
    def state(self):
        return self.runner.state

    @property
    def meta_prompts(self):
        return self.runner.state.meta_prompts

    @property
    def timings(self):
        return self.runner.timings

    def restore(self):
        return self.runner.restore()

    def save(self):
        self.runner.save()


def make_run(optimizer, opt_replies, *, steps, task=None, embedder=None, run_dir=None, seed=0):
    task = task or even_task()
    task_lm = ScriptedLM(default=task_answer, concurrency=4)
    opt_lm = ScriptedLM(opt_replies)
    ev = Evaluator(task, task_lm, two_round=False)
    run = Harness(optimizer, task, ev, opt_lm, embedder or LexicalEmbedder(), steps=steps, seed=seed, run_dir=run_dir)
    return run, task_lm, opt_lm


# -- meta-prompts -----------------------------------------------------------------------------


def sections_order(text, *markers):
    positions = [text.index(m) for m in markers]
    assert positions == sorted(positions), positions


def test_generation_meta_prompt_structure():
    info = CurrentInfo("Be careful.", score=0.5)
    view = TrajectoryView((TrajectoryEntry(0, "Answer.", 0.25), TrajectoryEntry(1, "Be careful.", 0.5)))
    ex = [Example("Is 2 even?", "Yes")]
    text = render_meta_prompt("generation", info, view, ex, "Q_end", 17)
    sections_order(
        text,
        P.TASK_INTRO,
        "Prompt: Answer.\nScore: 25",
        "Prompt: Be careful.\nScore: 50",
        "The current prompt is:\nBe careful.\nIts score is 50.",
        P.APPLICATION,
        "Input:\nIs 2 even?\n<Prompt>\nOutput:\nYes",
        P.GENERATION_REQUEST,
        "Change at most 17 words",
        "<START> and <END>",
    )
    assert P.EDITING_REQUEST not in text


def test_editing_unscored_reflection_and_no_budget():
    info = CurrentInfo("Be careful.", score=None, reflection="- It ignores odd numbers.")
    text = render_meta_prompt("editing", info, TrajectoryView(), [Example("Q?", "A")], "Q_begin", None)
    assert "Score" not in text and "score is" not in text
    sections_order(text, "The current prompt is:\nBe careful.", "- It ignores odd numbers.", "<Prompt>\nQ?", P.EDITING_REQUEST)
    assert "Change at most" not in text


def test_summary_view_replaces_the_list():
    text = render_meta_prompt("editing", CurrentInfo("p", 0.1), TrajectoryView(summary="NOTES"), [], "Q_end", None)
    assert "What has been learned from earlier prompts:\nNOTES" in text and "Earlier prompts" not in text


# -- retrieval ----------------------------------------------------------------------------------


def hist(*pairs):
    return [TrajectoryEntry(i, p, s) for i, (p, s) in enumerate(pairs)]


def test_recency_importance_relevance_orders():
    h = hist(("a", 0.1), ("b", 0.9), ("c", 0.5), ("d", 0.3))
    assert [e.prompt for e in recency(h, 3)] == ["b", "c", "d"]
    assert [e.prompt for e in importance(h, 3)] == ["d", "c", "b"]
    # relevance: current 'd' plus the 2 most similar of a, b, c (similarities given in order)
    assert [e.prompt for e in relevance(h, 3, [0.2, 0.9, 0.5])] == ["c", "b", "d"]
    # early steps show fewer
    assert [e.prompt for e in relevance(hist(("a", 0.1), ("b", 0.2)), 3, [0.3])] == ["a", "b"]


async def test_relevance_retrieval_in_the_meta_prompt():
    # History: four distinct prompts; the current one shares words with one earlier prompt.
    run, _, opt_lm = make_run(GPO(num_candidates=1), tagged("unused"), steps=1)
    history = hist(
        ("Count apples and pears carefully.", 0.2),
        ("Decide the parity of the number.", 0.4),
        ("Write a poem about the sea.", 0.1),
        ("Decide the parity of the given number step by step.", 0.5),
    )
    state = OptimizerState(total_steps=1, history=history, scores={e.prompt: e.score for e in history})
    after = await run.optimizer.step(state, run.objective)
    assert state.history == history and after.history[:-1] == history  # the given state is left as it was
    meta = opt_lm.history[0].messages[0]["content"]
    shown = [line[len("Prompt: "):] for line in meta.splitlines() if line.startswith("Prompt: ")]
    assert shown[-1] == "Decide the parity of the given number step by step."
    # Shown in ascending similarity, the current prompt last; the prompt sharing no word is left out.
    assert shown == [
        "Write a poem about the sea.",
        "Decide the parity of the number.",
        "Decide the parity of the given number step by step.",
    ]


# -- a whole run ---------------------------------------------------------------------------------


async def test_gpo_run_records_budget_distance_duplicates_and_selection(tmp_path):
    replies = (
        tagged("Decide whether the number divides by two.", "Answer.", "Check the parity.")  # step 1
        + tagged("Check the parity.", "State the parity of the number.", "   ")  # step 2
        + tagged("Reply Yes or No.", "Reply Yes or No.", "Check the parity of it.")  # step 3
    )
    run, task_lm, opt_lm = make_run(GPO(num_candidates=3), replies, steps=3, run_dir=tmp_path)
    result = await run.run()
    cands = run.state.candidates
    sched = cosine_decay_schedule(50, 3, 10)
    assert [c.edit_budget for c in cands] == [sched(1)] * 3 + [sched(2)] * 3 + [sched(3)] * 3
    for c in cands:
        if c.prompt:
            assert c.edit_distance == word_edit_distance(c.parent, c.prompt)
    # "Answer." is p0 (already evaluated): a duplicate; step 2 repeats "Check the parity.".
    assert cands[1].duplicate and cands[3].duplicate
    assert cands[5].rejected  # empty
    assert cands[7].duplicate  # repeated within step 3
    # Step 1: parity prompt scores 1.0 and wins; step 2: "Check the parity." was a winner, so
    # the best non-winner ("State the parity of the number.", 1.0) is chosen.
    assert [e.prompt for e in run.state.history] == [
        "Answer.",
        "Check the parity.",
        "State the parity of the number.",
        "Check the parity of it.",
    ]
    assert run.state.history[0].score == 0.5 and run.state.history[1].score == 1.0
    assert sum(c.selected for c in cands) == 3
    # Final prompt: highest eval score, ties to the earliest.
    assert result.summary["best_prompt"] == "Check the parity." and result.summary["best_step"] == 1
    # Each distinct prompt was evaluated once on 8 eval examples (+ p0 and best on test).
    distinct = {c.prompt for c in cands if c.prompt and not c.rejected} | {"Answer."}
    assert len(task_lm.history) == 8 * len(distinct) + 8 * 2
    # Files
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("task", "method", "seed", "initial_prompt", "best_prompt", "scores", "steps_completed", "stopped_reason", "usage"):
        assert key in summary
    assert summary["scores"]["initial"] == {"eval": 0.5, "test": 0.5}
    assert summary["scores"]["best"] == {"eval": 1.0, "test": 1.0}
    assert summary["usage"]["optimizer"]["calls"] == 3
    lines = [json.loads(x) for x in (tmp_path / "trajectory.jsonl").read_text().splitlines()]
    assert len(lines) == 9
    for key in ("step", "prompt", "parent", "eval_score", "edit_budget", "edit_distance", "duplicate", "selected", "raw", "meta_prompt_id"):
        assert key in lines[0]
    metas = {json.loads(x)["id"]: json.loads(x) for x in (tmp_path / "meta_prompts.jsonl").read_text().splitlines()}
    assert metas[lines[0]["meta_prompt_id"]]["completions"][0] == replies[0]
    # The optimizer was asked for n = 3 samples in one request at temperature 1.
    assert all(r.n == 3 and r.temperature == 1.0 and r.max_tokens == 512 for r in opt_lm.history)

    # A fresh run object restores the same state from the checkpoint and the appended rows.
    restored, _, _ = make_run(GPO(num_candidates=3), [], steps=3, run_dir=tmp_path)
    assert restored.restore()
    assert restored.state.to_dict() == run.state.to_dict()
    assert [m.to_dict() for m in restored.meta_prompts] == [m.to_dict() for m in run.meta_prompts]


async def test_rows_of_an_unfinished_step_are_cut_away_on_restore(tmp_path):
    """A crash after a step appended its rows but before its checkpoint was written."""
    replies = tagged("Check the parity.", "Say Yes.") + tagged("State the parity.", "Say No.")
    run, _, _ = make_run(GPO(num_candidates=2), replies, steps=2, run_dir=tmp_path)
    await run.run()
    checkpoint = json.loads((tmp_path / "checkpoint.json").read_text())
    assert checkpoint["version"] == 2 and checkpoint["candidates"] == 4 and "candidates" not in checkpoint["state"]
    trajectory = (tmp_path / "trajectory.jsonl").read_text()
    extra = json.dumps(json.loads(trajectory.splitlines()[0]) | {"step": 3}) + "\n"
    with open(tmp_path / "trajectory.jsonl", "a") as f:
        f.write(extra + '{"step": 3, "ind')  # one whole row, one cut short
    with open(tmp_path / "meta_prompts.jsonl", "a") as f:
        f.write('{"id": "s3-update-0", "step": 3, "kind": "update", "messages": [], "completions": []}\n')
    restored, _, _ = make_run(GPO(num_candidates=2), [], steps=2, run_dir=tmp_path)
    assert restored.restore()
    assert len(restored.state.candidates) == 4 and len(restored.meta_prompts) == 2
    assert restored.state.scores == run.state.scores
    assert (tmp_path / "trajectory.jsonl").read_text() == trajectory  # the file is cut back too


async def test_a_checkpoint_counting_missing_rows_is_damaged(tmp_path):
    from gpo.errors import DataError
    run, _, _ = make_run(GPO(num_candidates=2), tagged("Check the parity.", "Say Yes."), steps=1, run_dir=tmp_path)
    await run.run()
    lines = (tmp_path / "trajectory.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "trajectory.jsonl").write_text(lines[0])
    restored, _, _ = make_run(GPO(num_candidates=2), [], steps=1, run_dir=tmp_path)
    with pytest.raises(DataError, match="1 complete rows where the checkpoint counts 2"):
        restored.restore()


async def test_elitist_keeps_the_current_prompt_unless_beaten():
    replies = tagged("Say Yes.", "Say Yes always.") + tagged("Check the parity.", "Say No.")
    run, _, _ = make_run(GPO(num_candidates=2, selection="elitist"), replies, steps=2)
    await run.run()
    assert [e.prompt for e in run.state.history] == ["Answer.", "Answer.", "Check the parity."]


async def test_paper_selection_moves_even_to_a_worse_prompt():
    replies = tagged("Say Yes.")  # scores 0.5 like p0, but p0 is a winner already
    run, _, _ = make_run(GPO(num_candidates=1), replies, steps=1)
    await run.run()
    assert run.state.history[-1].prompt == "Say Yes."


async def test_sgdm_reflection_then_update_then_summary_calls():
    replies = [
        "- The prompt does not say how to decide parity.",  # reflection, step 1
        "<START>Answer. Consider whether it divides by two.<END>",  # update (editing), n=1
        "NOTES-1",  # summary after step 1
        "- It fails for numbers from 4 on.",  # reflection, step 2 (mistakes remain)
        "<START>Answer. Consider the parity well.<END>",
        "NOTES-2",
    ]
    run, task_lm, opt_lm = make_run(SGDM(num_candidates=1), replies, steps=2)
    await run.run()
    kinds = [m.kind for m in run.meta_prompts]
    assert kinds == ["reflection", "update", "summary", "reflection", "update", "summary"]
    refl, upd, summ, refl2, upd2 = opt_lm.history[:5]
    assert refl.temperature == 0.0 and summ.temperature == 0.0 and upd.temperature == 1.0
    # The reflection shows the wrong training examples with the placeholder and the target.
    text = refl.messages[0]["content"]
    assert "Prompt:\nAnswer." in text and "<Prompt>" in text and "Correct output:\nNo" in text
    # The editing meta-prompt carries the reflection and the score; no edit limit (schedule none).
    u = upd.messages[0]["content"]
    assert P.EDITING_REQUEST in u and "does not say how to decide parity" in u and "Change at most" not in u
    # The summary of step 1 replaces the trajectory in step 2.
    assert "NOTES-1" in upd2.messages[0]["content"]
    assert "NOTES-1" in summ.messages[0]["content"] or "(none yet)" in summ.messages[0]["content"]
    assert run.state.summary == "NOTES-2"
    # With no mistakes left in the batch, no reflection call is made.
    run3, _, opt3 = make_run(SGDM(num_candidates=1), ["<START>Check the parity.<END>", "N1", "<START>x<END>", "N2"], steps=2)
    opt3.queue.appendleft("- says nothing about parity")  # step 1 reflects on "Answer."
    await run3.run()
    assert [m.kind for m in run3.meta_prompts] == ["reflection", "update", "summary", "update", "summary"]
    assert run3.state.history[0].reflection == "- says nothing about parity"
    assert run3.state.history[1].reflection == P.NO_MISTAKES
    assert P.NO_MISTAKES in opt3.history[3].messages[0]["content"]


def test_minibatches_cover_the_train_split_each_epoch():
    ex = [Example(str(i), str(i)) for i in range(48)]
    epoch1 = [e.id for t in range(1, 7) for e in minibatch(ex, 8, t, seed=3)]
    assert sorted(epoch1) == sorted(e.id for e in ex)
    assert minibatch(ex, 8, 7, 3) != minibatch(ex, 8, 1, 3)
    assert steps_per_epoch(48, 8) * 3 == 18 and steps_per_epoch(20, 8) * 3 == 9


def test_presets_match_the_method_table():
    rows = {name: get_preset(name).describe() for name in ("gpo", "ape", "apo", "opro", "pe2", "sgdm")}
    assert (rows["gpo"]["information"], rows["gpo"]["trajectory"], rows["gpo"]["learning_rate"], rows["gpo"]["refinement"]) == ("P+M", "relevance(k=3)", "cosine(50→10)", "generation")
    assert (rows["ape"]["information"], rows["ape"]["trajectory"], rows["ape"]["learning_rate"], rows["ape"]["refinement"]) == ("P", "none", "none", "generation")
    assert (rows["apo"]["information"], rows["apo"]["refinement"]) == ("P+R", "editing")
    assert (rows["opro"]["information"], rows["opro"]["trajectory"]) == ("P+M", "recency(k=3)")
    assert (rows["pe2"]["information"], rows["pe2"]["trajectory"], rows["pe2"]["learning_rate"]) == ("P+M+R", "recency(k=3)", "constant(30)")
    assert (rows["sgdm"]["information"], rows["sgdm"]["trajectory"], rows["sgdm"]["refinement"]) == ("P+M+R", "summary", "editing")
    ablation = build_optimizer("gpo", trajectory="importance", schedule="linear", lr_init=40, warmup_steps=2, refinement="editing", information="P+M+R")
    d = ablation.describe()
    assert (d["trajectory"], d["learning_rate"], d["refinement"], d["information"]) == ("importance(k=3)", "linear(40→10)+warmup(2)", "editing", "P+M+R")
    with pytest.raises(Exception, match="current information"):
        parse_information("M+P")


# -- determinism, dry run, API --------------------------------------------------------------------


def test_dry_run_is_deterministic_whatever_the_concurrency(tmp_path):
    a = optimize("synthetic/boolean_expressions", dry_run=True, steps=3, seed=5, run_dir=tmp_path / "a", concurrency=1)
    b = optimize("synthetic/boolean_expressions", dry_run=True, steps=3, seed=5, run_dir=tmp_path / "b", concurrency=16)
    ta = (tmp_path / "a" / "trajectory.jsonl").read_text()
    tb = (tmp_path / "b" / "trajectory.jsonl").read_text()
    assert ta == tb and a.summary["best_prompt"] == b.summary["best_prompt"]
    c = optimize("synthetic/boolean_expressions", dry_run=True, steps=3, seed=6, run_dir=False)
    assert [e.prompt for e in c.state.history] != [e.prompt for e in a.state.history]


def test_epochs_give_the_paper_step_count():
    r = optimize("synthetic/navigate", dry_run=True, protocol="paper", epochs=1, run_dir=False, eval_limit=4, test_limit=4)
    assert r.summary["total_steps"] == 6  # 48 train / B = 8
    r = optimize("synthetic/navigate", "cot", dry_run=True, run_dir=False)
    assert r.summary["steps_completed"] == 0 and r.summary["best_prompt"] == "Let's think step by step."
    r = optimize("synthetic/navigate", "empty", dry_run=True, run_dir=False)
    assert r.summary["initial_prompt"] == ""


async def test_every_preset_runs_offline():
    for name in ("gpo", "ape", "apo", "opro", "pe2", "sgdm"):
        r = await optimize_async("synthetic/word_sorting", name, dry_run=True, steps=2, run_dir=False)
        assert r.summary["steps_completed"] == 2, name
        assert r.summary["usage"]["optimizer"]["calls"] >= 2


def test_cli_runs_an_ablation_with_flags(capsys, tmp_path):
    from gpo.cli import main

    try:
        main([
            "optimize", "-t", "synthetic/object_counting", "--dry-run", "--steps", "2",
            "--trajectory", "importance", "--schedule", "linear", "--lr-init", "30", "--lr-end", "5",
            "--information", "P+M+R", "--refinement", "editing", "--candidates", "3",
            "--run-dir", str(tmp_path), "--json",
        ])
    except SystemExit as exc:
        assert exc.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["optimizer"]["trajectory"] == "importance(k=3)"
    assert out["optimizer"]["learning_rate"] == "linear(30→5)"
    lines = [json.loads(x) for x in (tmp_path / "trajectory.jsonl").read_text().splitlines()]
    assert {x["step"]: x["edit_budget"] for x in lines} == {1: 17, 2: 5}
    # Candidates over the budget are resampled once, then clipped: every scored one is within it.
    assert all(x["edit_distance"] <= x["edit_budget"] for x in lines if x["prompt"] and not x["rejected"])


def test_a_hand_built_optimizer_runs_and_round_trips(tmp_path):
    from gpo.api import load_run_config
    from gpo.optim.momentum import ImportanceMomentum
    from gpo.optim.optimizer import LearningRate

    opt = GPO(momentum=ImportanceMomentum(k=4), learning_rate=LearningRate("linear", 40, 5), selection="elitist", num_candidates=2)
    r = optimize("synthetic/word_sorting", opt, dry_run=True, steps=2, run_dir=tmp_path / "run")
    d = r.summary["optimizer"]
    assert (d["trajectory"], d["learning_rate"], d["selection"], d["num_candidates"]) == ("importance(k=4)", "linear(40→5)", "elitist", 2)
    config = load_run_config(tmp_path / "run")
    assert config.optimizer == opt and config.optimizer.to_dict() == opt.to_dict()


async def test_the_summary_times_each_phase_and_a_resume_keeps_earlier_steps_times(tmp_path):
    run, _, _ = make_run(GPO(num_candidates=2), tagged("Check the parity.", "Say Yes.") + tagged("State it.", "Say No."), steps=2, run_dir=tmp_path)
    result = await run.run()
    t = result.summary["timings"]
    assert set(t["steps"]) == {"1", "2"} and all(v >= 0 for v in t["steps"].values())
    assert t["initial"] >= 0 and t["test"] >= 0
    assert t["mean_step"] == round(sum(t["steps"].values()) / 2, 3)
    restored, _, _ = make_run(GPO(num_candidates=2), [], steps=2, run_dir=tmp_path)
    assert restored.restore() and restored.timings["steps"] == t["steps"]


async def test_a_version_1_checkpoint_still_resumes(tmp_path):
    """Version 1 kept every record inside checkpoint.json; restoring it rewrites the files once."""
    replies = tagged("Check the parity.", "Say Yes.") + tagged("State the parity.", "Say No.")
    run, _, _ = make_run(GPO(num_candidates=2), replies, steps=2, run_dir=tmp_path)
    await run.run()
    v1 = {
        "version": 1,
        "step": run.state.step,
        "state": run.state.to_dict(),
        "meta_prompts": [m.to_dict() for m in run.meta_prompts],
        "random_state": {"seed": 0, "derivation": "sha256(seed, step, purpose)"},
    }
    (tmp_path / "checkpoint.json").write_text(json.dumps(v1))
    trajectory = (tmp_path / "trajectory.jsonl").read_text()
    (tmp_path / "trajectory.jsonl").write_text(trajectory + trajectory)  # a stale copy
    restored, _, _ = make_run(GPO(num_candidates=2), [], steps=2, run_dir=tmp_path)
    assert restored.restore()
    assert restored.state.to_dict() == run.state.to_dict()
    assert (tmp_path / "trajectory.jsonl").read_text() == trajectory
    restored.save()  # now version 2, appending nothing new
    assert json.loads((tmp_path / "checkpoint.json").read_text())["version"] == 2
    assert (tmp_path / "trajectory.jsonl").read_text() == trajectory


async def test_a_checkpoint_without_history_is_damaged_not_a_crash(tmp_path):
    from gpo.errors import DataError
    (tmp_path / "checkpoint.json").write_text(json.dumps(
        {"version": 2, "step": 0, "state": {"step": 0, "history": []}, "candidates": 0, "meta_prompts": 0}
    ))
    run, _, _ = make_run(GPO(num_candidates=2), [], steps=1, run_dir=tmp_path)
    with pytest.raises(DataError, match="damaged"):
        run.restore()
