"""Racing a step's candidates: the bound, constructed races, determinism, the run record, crashes."""

from __future__ import annotations

import asyncio
import json
import random
import signal

import pytest

from gpo.api import load_run_config, optimize, resume
from gpo.optim.optimizer import PromptOptimizer
from gpo.optim.racing import FullEvaluation, Racing, paired_lower_bound, race, race_order, slice_ends
from gpo.protocol import RunConfig

TASK = "synthetic/boolean_expressions"


def run_race(matrix, *, confidence=0.9, min_slice=8, seed=0):
    """Races the rows of ``matrix`` (candidate × example scores) in a seeded order."""
    order = race_order(len(matrix[0]), seed, 1)
    asked = []

    async def score_slice(live, start, end):
        asked.append((list(live), start, end))
        return [[matrix[i][order[j]] for j in range(start, end)] for i in live]

    outcome = asyncio.run(race(len(matrix), len(order), score_slice, confidence=confidence, min_slice=min_slice))
    return outcome, asked


def full_winner(matrix):
    means = [sum(row) / len(row) for row in matrix]
    return min(range(len(matrix)), key=lambda i: (-means[i], i))


# -- the bound --------------------------------------------------------------------------------


def test_the_bound_is_exact_on_the_whole_split_and_wider_on_less():
    assert paired_lower_bound([1, 0, 0, -1], 4, 0.9) == 0.0
    assert paired_lower_bound([1, 1, 0, 0], 4, 0.99) == 0.5
    few, more = paired_lower_bound([1, 0] * 4, 48, 0.9), paired_lower_bound([1, 0] * 16, 48, 0.9)
    assert few < more < 0.5
    assert paired_lower_bound([1, 0] * 16, 48, 0.99) < paired_lower_bound([1, 0] * 16, 48, 0.8)
    # Zero sample variance on few examples is not taken at its word.
    assert paired_lower_bound([1.0, 1.0], 48, 0.9) < 0
    # A lead the remaining examples cannot undo drops at any confidence.
    assert paired_lower_bound([1.0] * 30, 48, 0.999999) > 0


def test_slices_cover_the_split_once():
    for total in (1, 7, 8, 48, 50):
        ends = slice_ends(total, 8)
        assert ends[-1] == total and ends == sorted(set(ends))


# -- constructed races ------------------------------------------------------------------------


def test_a_candidate_never_behind_on_the_race_order_is_never_dropped():
    """Where the winner's lead exceeds the bound on every prefix (here: it is never behind), it
    cannot be dropped, whatever the others do."""
    rng = random.Random(7)
    for trial in range(200):
        n, k = rng.choice([12, 24, 48]), rng.randint(2, 8)
        others = [[float(rng.random() < rng.random()) for _ in range(n)] for _ in range(k - 1)]
        best = [max(col) for col in zip(*others)]  # at least every other on every example
        matrix = others[: trial % k] + [best] + others[trial % k :]
        outcome, _ = run_race(matrix, min_slice=rng.choice([2, 4, 8]), confidence=rng.choice([0.6, 0.9]), seed=trial)
        assert full_winner(matrix) in outcome.alive


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_separated_winners_survive_and_clear_losers_stop_early(confidence):
    """A winner at 90 % against candidates at 40 % (a gap of 50 points, beyond the bound at
    8 examples) is never dropped in 300 random races, and the losers cost far less than the
    whole split."""
    rng = random.Random(1)
    spent, full = 0, 0
    for trial in range(300):
        k, n = 8, 48
        matrix = [[float(rng.random() < (0.9 if i == 0 else 0.4)) for _ in range(n)] for i in range(k)]
        if full_winner(matrix) != 0:  # the draw made another candidate the best: not this case
            continue
        outcome, asked = run_race(matrix, confidence=confidence, seed=trial)
        assert 0 in outcome.alive, trial
        assert outcome.seen[0] == n
        spent += sum(outcome.seen)
        full += k * n
    assert spent < 0.6 * full


def test_dropped_candidates_were_behind_the_leader_and_the_rest_see_everything():
    rng = random.Random(3)
    for trial in range(100):
        matrix = [[float(rng.random() < p) for _ in range(24)] for p in (0.2, 0.5, 0.8, 0.5)]
        outcome, asked = run_race(matrix, min_slice=4, seed=trial)
        for i in range(4):
            if i in outcome.alive:
                assert outcome.seen[i] == 24
            else:
                assert outcome.seen[i] < 24
        # Every slice asked for the live candidates in order, on consecutive positions.
        assert [a[1] for a in asked] == [0] + [a[2] for a in asked[:-1]]


# -- the part in a run ------------------------------------------------------------------------


def test_racing_round_trips_and_is_recorded_in_the_run_configuration(tmp_path):
    opt = PromptOptimizer(evaluation=Racing(confidence=0.8, min_slice=4))
    data = json.loads(json.dumps(opt.to_dict()))
    assert data["evaluation"] == {"part": "evaluation.racing", "confidence": 0.8, "min_slice": 4}
    assert PromptOptimizer.from_dict(data) == opt
    assert "evaluation" not in PromptOptimizer().to_dict()  # the paper's: configs stay as before
    assert PromptOptimizer.from_dict(PromptOptimizer().to_dict()).evaluation == FullEvaluation()
    for protocol in ("paper", "quick"):
        assert RunConfig.build(TASK, "gpo", protocol=protocol, steps=1).optimizer.evaluation == FullEvaluation()
    config = RunConfig.build(TASK, "gpo", steps=1, racing_min_slice=6)
    assert config.optimizer.evaluation == Racing(min_slice=6)
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    optimize(TASK, "gpo", model="fake:", steps=1, eval_limit=12, test_limit=4, run_dir=tmp_path / "r",
             racing=True, racing_confidence=0.75, report=False)
    saved = load_run_config(tmp_path / "r").optimizer
    assert saved.evaluation == Racing(confidence=0.75) and saved.describe()["evaluation"] == "racing(0.75, 4)"
    with pytest.raises(Exception, match="confidence"):
        Racing(confidence=1.0)


def test_a_sweep_can_compare_runs_with_and_without_racing():
    from gpo.sweep.plan import parse_grid
    from gpo.sweep.records import method_of_run

    assert parse_grid(["racing=false,true", "racing_min_slice=4,8"]) == {"racing": [False, True], "racing_min_slice": [4, 8]}
    config = RunConfig.build(TASK, "gpo", steps=1, racing=True).to_dict()
    assert method_of_run("gpo", config) == "gpo[racing=true]"


def test_the_cli_turns_racing_on(tmp_path):
    from click.testing import CliRunner

    from gpo.cli import cli

    result = CliRunner().invoke(cli, ["optimize", "-t", TASK, "-m", "fake:", "--steps", "1", "--eval-limit", "8",
                                      "--test-limit", "4", "--racing", "--racing-min-slice", "4",
                                      "--run-dir", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    assert load_run_config(tmp_path / "r").optimizer.evaluation == Racing(min_slice=4)


def raced(run_dir, concurrency=None, **kw):
    # GPO's relevance momentum, so the crash test also checks that a run resumed with no step
    # left still names its embedder in the summary.
    return optimize(TASK, "gpo", model="fake:", steps=3, eval_limit=16, test_limit=4, run_dir=run_dir,
                    racing=True, racing_min_slice=4, concurrency=concurrency, report=False, **kw)


def test_races_are_deterministic_at_any_concurrency(tmp_path):
    runs = {c: raced(tmp_path / f"c{c}", concurrency=c) for c in (1, 5, 32)}
    files = {c: (tmp_path / f"c{c}" / "trajectory.jsonl").read_text() for c in runs}
    assert files[1] == files[5] == files[32]
    usage = {c: r.summary["usage"]["task"]["requests"] for c, r in runs.items()}
    assert usage[1] == usage[5] == usage[32]
    lines = [json.loads(x) for x in files[1].splitlines()]
    dropped = [x for x in lines if x.get("dropped_after")]
    assert dropped, "the race dropped nothing: it tested nothing"
    # Fewer task calls than scoring every candidate on the whole split.
    full = optimize(TASK, "gpo", model="fake:", steps=3, eval_limit=16, test_limit=4, run_dir=False,
                    trajectory="recency", report=False)
    assert usage[1] < full.summary["usage"]["task"]["requests"]
    # The trajectory holds whole-split scores only.
    scores = {x["prompt"]: x["eval_score"] for x in lines if x.get("eval_score") is not None and not x.get("dropped_after")}
    for entry in runs[1].state.history[1:]:
        assert scores[entry.prompt] == entry.score


def test_resume_after_a_crash_at_every_write_of_a_race_pays_no_call_twice(tmp_path):
    from test_run_record import assert_resumes_after_crashes

    assert_resumes_after_crashes(raced, tmp_path, points=25)


def test_sigkill_in_the_middle_of_a_race_then_resume_repeats_no_answered_call(tmp_path):
    from test_resume import kill_after, optimize_args, paid_requests, run_gpo

    from gpo.testing.server import OpenAICompatServer
    from gpo.testing.server import optimization_reply as responder

    extra = ["--racing", "--racing-min-slice", "3", "--eval-limit", "12", "--candidates", "4"]
    with OpenAICompatServer(delay=0.02, responder=responder) as server:
        code, _, err = run_gpo(optimize_args(server.url, tmp_path / "ref", *extra), tmp_path / "home-ref")
        assert code == 0, err
        reference = len(server.requests)
        trajectory = (tmp_path / "ref" / "trajectory.jsonl").read_text()
        assert "dropped_after" in trajectory
        for fraction in (0.35, 0.7):
            server.reset()
            run_dir, home = tmp_path / f"run{fraction}", tmp_path / f"home{fraction}"
            proc = run_gpo(optimize_args(server.url, run_dir, *extra), home, wait=False)
            kill_after(server, proc, int(reference * fraction))
            assert proc.returncode == -signal.SIGKILL
            code, _, err = run_gpo(["resume", str(run_dir), "--json"], home)
            assert code == 0, err
            assert (run_dir / "trajectory.jsonl").read_text() == trajectory
            in_flight = 8
            assert reference <= len(server.requests) <= reference + in_flight
            assert abs(paid_requests(run_dir) - reference) <= in_flight


def test_a_failed_call_in_a_small_slice_does_not_stop_the_race(tmp_path):
    """One failed example in 24 is within the error rate the whole split allows (5 %); in a
    slice of 4 it would be 25 %, so slices are not checked, the whole split is."""
    from gpo.errors import LMBadRequestError
    from gpo.lm import FakeLM
    from gpo.tasks import load_task

    broken = load_task(TASK).split("eval")[5].input

    class OneBadExample(FakeLM):
        async def _generate(self, request):
            if broken in request.messages[0]["content"]:
                raise LMBadRequestError("this example always fails")
            return await super()._generate(request)

    result = optimize(TASK, "gpo", model=OneBadExample(), optimizer_model="fake:", steps=2, eval_limit=24, test_limit=4,
                      run_dir=False, trajectory="recency", racing=True, racing_min_slice=4, report=False)
    assert result.state.step == 2
    assert any(c.dropped_after for c in result.state.candidates)


# -- replaying races on recorded runs (benchmarks/calls.py --racing --records) ---------------


def _benchmark(name: str):
    """A module of ``benchmarks/`` (the benchmarks are not a package)."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def _racing_replay():
    """``replay`` of ``benchmarks/_racing.py``."""
    return _benchmark("_racing").replay


def test_calls_benchmark_takes_several_confidence_levels_and_refuses_bad_ones():
    import argparse

    confidences = _benchmark("calls").confidences
    assert confidences("0.9,0.93, 0.95") == [0.9, 0.93, 0.95]
    for bad in ("0.9,1", "0.4", "high", ","):
        with pytest.raises(argparse.ArgumentTypeError):
            confidences(bad)


@pytest.mark.parametrize("protocol", ["quick", "paper"])
def test_a_recorded_run_replays_its_own_choices_and_races_them_offline(tmp_path, protocol):
    replay = _racing_replay()
    run = tmp_path / "r"
    optimize(TASK, "opro" if protocol == "quick" else "gpo", model="fake:", protocol=protocol, steps=2, eval_limit=12,
             test_limit=4, run_dir=run, report=False, embedder="lexical")
    from gpo.lm import get_lm

    # The fake model is not cached, so it answers the replay again (deterministically).
    # A bound that can never be met drops nothing: every step is chosen as recorded
    # (replay stops with SystemExit when the run's own rule does not reach its recorded choice).
    loose = replay(run, 0.9999, 12, get_lm("fake:", cache=False))
    assert loose["steps"] == 2 and loose["same_winner"] == 2 and loose["dropped"] == 0
    assert loose["racing_generations"] == loose["generations"] > 0
    tight = replay(run, 0.5, 2, get_lm("fake:", cache=False))
    assert tight["dropped"] > 0 and tight["racing_generations"] < tight["generations"]
    assert tight["same_winner"] + tight["undecided"] <= 2
    # A step whose race chose another prompt says how far below full evaluation's choice it
    # scored on the whole split: never above it, since full evaluation chose from more.
    assert loose["shortfalls"] == []
    assert len(tight["shortfalls"]) == 2 - tight["same_winner"] - tight["undecided"]
    assert all(x >= 0 and x == pytest.approx(round(x)) for x in tight["shortfalls"])  # whole examples


def test_an_interrupted_record_is_raced_on_its_steps_and_its_whole_run_projected(tmp_path):
    replay = _racing_replay()
    from gpo.lm import get_lm

    run = tmp_path / "r"
    optimize(TASK, "gpo", model="fake:", protocol="paper", steps=2, eval_limit=12, test_limit=4, run_dir=run,
             report=False, embedder="lexical")
    finished = replay(run, 0.5, 2, get_lm("fake:", cache=False))
    (run / "summary.json").unlink()  # what a run stopped after its last checkpoint holds
    part = replay(run, 0.5, 2, get_lm("fake:", cache=False))
    assert not finished["interrupted"] and part["interrupted"] and part["total_steps"] == 2
    assert (part["steps"], part["same_winner"], part["dropped"]) == (finished["steps"], finished["same_winner"], finished["dropped"])
    # Both steps are recorded, so the projection is the run itself: two rounds × (p0 and its
    # candidates on 12 eval examples + p0 and the final prompt on 4 test examples).
    assert part["generations"] == finished["generations"] == 2 * 12 + part["candidate_generations"] + 2 * 2 * 4
    assert part["racing_generations"] == finished["racing_generations"] < part["generations"]
    # The projection's interval comes from the spread of the recorded steps and holds the
    # projection itself; a finished run needs none.
    low, high = part["racing_interval"]
    assert low <= part["racing_generations"] <= high and finished["racing_interval"] is None
    # With one of the two steps recorded, the other is projected like it.
    history = json.loads((run / "checkpoint.json").read_text())
    history["state"]["history"] = history["state"]["history"][:2]
    (run / "checkpoint.json").write_text(json.dumps(history))
    half = replay(run, 0.5, 2, get_lm("fake:", cache=False))
    assert half["steps"] == 1 and half["interrupted"]
    assert half["generations"] == 2 * 12 + 2 * half["candidate_generations"] + 2 * 2 * 4
    assert half["racing_generations"] == half["generations"] - 2 * half["saved_generations"]
    assert half["racing_interval"] is None  # one step has no spread


def test_a_kept_score_record_races_like_its_run_directory(tmp_path):
    racing = _benchmark("_racing")
    from gpo.lm import get_lm

    run = tmp_path / "r"
    optimize(TASK, "gpo", model="fake:", protocol="paper", steps=2, eval_limit=12, test_limit=4, run_dir=run,
             report=False, embedder="lexical")

    def kept():
        record = asyncio.run(racing.record_scores(run, get_lm("fake:", cache=False)))
        path = tmp_path / "r.scores.json"
        path.write_text(json.dumps(record))
        return path

    for finished in (True, False):
        if not finished:
            (run / "summary.json").unlink()  # an interrupted run: its record projects the whole run the same way
        path = kept()
        assert racing.protocol_of(path) == racing.protocol_of(run) == "paper"
        for confidence, min_slice in ((0.9999, 12), (0.5, 2)):
            from_dir = racing.replay(run, confidence, min_slice, get_lm("fake:", cache=False))
            assert racing.replay(path, confidence, min_slice) == from_dir
            assert from_dir["interrupted"] is not finished
    record = json.loads(path.read_text())
    assert [s["step"] for s in record["steps"]] == [1, 2] and all(len(r) == 12 for s in record["steps"] for r in s["scores"])
    prompts = [json.loads(line)["prompt"] for line in (run / "trajectory.jsonl").read_text().splitlines()]
    text = path.read_text()
    assert not [p for p in prompts if p and json.dumps(p)[1:-1] in text], "a kept record names prompts, never holds them"
    assert record["history"][0]["prompt"] == racing.prompt_id(json.loads((run / "checkpoint.json").read_text())["state"]["history"][0]["prompt"])


def test_a_score_record_is_refused_where_it_cannot_stand_for_its_run(tmp_path):
    racing = _benchmark("_racing")
    from gpo.lm import get_lm

    run = tmp_path / "q"  # the quick protocol breaks ties with more examples, which a score record does not hold
    optimize(TASK, "opro", model="fake:", protocol="quick", steps=1, eval_limit=12, test_limit=4, run_dir=run,
             report=False, embedder="lexical")
    with pytest.raises(SystemExit, match="race the run directory"):
        asyncio.run(racing.record_scores(run, get_lm("fake:", cache=False)))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(SystemExit, match="not a score record"):
        racing.replay(other, 0.9, 4)
    other.write_text("{not json")
    with pytest.raises(SystemExit, match="not a readable score record"):
        racing.replay(other, 0.9, 4)
