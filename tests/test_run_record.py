"""The optimizer as data and the run as a record: round trips, crashes at every write, finished runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpo.api import load_run_config, optimize, resume
from gpo.optim.direction import CurrentInformation
from gpo.optim.edit_budget import TabulatedSchedule
from gpo.optim.momentum import ImportanceMomentum
from gpo.optim.optimizer import PromptOptimizer
from gpo.optim.parts import part_from_dict, part_to_dict, register_part
from gpo.optim.selection import Selection, select_paper
from gpo.optim.update import EditingUpdate
from gpo.runs import rundir, session

TASK = "synthetic/boolean_expressions"


@register_part("tests.shortest_selection")
@dataclass(frozen=True)
class ShortestSelection(Selection):
    """A user's own rule: the best candidate, ties to the shortest prompt."""

    margin: float = 0.0
    name = "shortest"

    def select(self, pool, history):
        if not pool:
            return history[-1].prompt
        top = max(score for _, score in pool)
        near = [(p, s) for p, s in pool if s >= top - self.margin]
        return min(near, key=lambda ps: (len(ps[0]), pool.index(ps)))[0] if near else select_paper(pool, history[-1].prompt, set())


def custom_optimizer() -> PromptOptimizer:
    return PromptOptimizer(
        information=CurrentInformation(score=True, reflection=True, batch_size=4, max_shown=2),
        momentum=ImportanceMomentum(k=2),
        update=EditingUpdate(num_candidates=2, temperature=0.7, max_tokens=64, reject_over_budget=True, max_resample_rounds=1),
        learning_rate=lambda t: 12 if t == 1 else 6,  # a Python schedule, saved as its table
        selection=ShortestSelection(margin=0.05),
        num_format_examples=2,
        initial_prompt="Evaluate the expression.",
        name="mine",
    )


def test_every_part_round_trips_through_the_registry():
    opt = custom_optimizer().resolve(3)
    assert opt.learning_rate == TabulatedSchedule((12, 6, 6))
    data = json.loads(json.dumps(opt.to_dict()))
    assert PromptOptimizer.from_dict(data) == opt
    assert part_from_dict(part_to_dict(ShortestSelection(0.2))) == ShortestSelection(0.2)


def test_an_unregistered_part_says_how_to_register_it():
    from gpo.errors import ConfigError

    @dataclass(frozen=True)
    class Loose(Selection):
        pass

    with pytest.raises(ConfigError, match="register_part"):
        PromptOptimizer(selection=Loose()).to_dict()


def test_shortcuts_reach_the_parts_and_survive_a_run(tmp_path):
    from gpo.optim.presets import GPO

    opt = GPO(initial_prompt="Be exact.", max_resample_rounds=5, num_candidates=2)
    optimize(TASK, opt, model="fake:", steps=1, run_dir=tmp_path / "r", report=False)
    back = load_run_config(tmp_path / "r").optimizer
    assert back == opt and back.initial_prompt == "Be exact." and back.update.max_resample_rounds == 5


def files_of(run: Path) -> dict[str, str]:
    """What a user reads in a run directory, less what measures time."""
    out = {}
    for name in ("trajectory.jsonl", "meta_prompts.jsonl", "results/initial_test.jsonl", "results/best_test.jsonl"):
        out[name] = (run / name).read_text()
    ck = json.loads((run / "checkpoint.json").read_text())
    ck.pop("timings")
    out["checkpoint.json"] = json.dumps(ck, sort_keys=True)
    summary = json.loads((run / "summary.json").read_text())
    for key in ("seconds", "timings", "usage", "usage_by_step"):
        summary.pop(key)
    out["summary.json"] = json.dumps(summary, sort_keys=True)
    return out


def paid(run: Path) -> int:
    rows = [json.loads(x) for x in (run / "usage.jsonl").read_text().splitlines()]
    return sum(r.get("requests", 0) for r in rows)


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in the step."""


WRITERS = [(rundir.RunDir, "append_jsonl"), (rundir.RunDir, "write_json"), (rundir.RunDir, "write_jsonl"), (session.RunSession, "_append")]
"""Every way a run writes its directory: records, checkpoint, config, summary, results, usage lines."""


def crash_after_write(monkeypatch, k: int) -> None:
    """Ends the run right after its k-th write to the run directory (usage lines included)."""
    count = {"n": 0}
    for owner, name in WRITERS:
        original = getattr(owner, name)

        def wrapped(self, *args, _original=original, **kwargs):
            out = _original(self, *args, **kwargs)
            count["n"] += 1
            if count["n"] == k:
                raise Crash(f"killed after write {k}")
            return out

        monkeypatch.setattr(owner, name, wrapped)


def run_custom(run_dir: Path):
    return optimize(TASK, custom_optimizer(), model="fake:", steps=3, eval_limit=6, test_limit=6, run_dir=run_dir, report=False)


def test_a_custom_optimizer_saves_loads_and_continues_identically(tmp_path):
    reference = run_custom(tmp_path / "ref")
    config = load_run_config(tmp_path / "ref")
    assert config.optimizer == custom_optimizer().resolve(3)
    # Two steps, then the run is rebuilt from config.json alone and goes on.
    with pytest.MonkeyPatch.context() as mp:
        original = rundir.RunDir.write_json

        def stop_after_step_2(self, name, data):
            out = original(self, name, data)
            if name == "checkpoint.json" and data["step"] == 2:
                raise Crash("killed after step 2")
            return out

        mp.setattr(rundir.RunDir, "write_json", stop_after_step_2)
        with pytest.raises(Crash):
            run_custom(tmp_path / "cut")
    assert json.loads((tmp_path / "cut" / "checkpoint.json").read_text())["step"] == 2
    resumed = resume(tmp_path / "cut")
    assert files_of(tmp_path / "cut") == files_of(tmp_path / "ref")
    assert resumed.best_prompt == reference.best_prompt


def count_writes(run, tmp_path: Path) -> int:
    """How many times ``run(run_dir)`` writes to its run directory."""
    total = {"n": 0}
    with pytest.MonkeyPatch.context() as mp:
        for owner, name in WRITERS:
            original = getattr(owner, name)

            def wrapped(self, *args, _original=original, **kwargs):
                total["n"] += 1
                return _original(self, *args, **kwargs)

            mp.setattr(owner, name, wrapped)
        run(tmp_path / "counted")
    return total["n"]


def assert_resumes_after_crashes(run, tmp_path: Path, points: int = 0) -> int:
    """Crashes ``run(run_dir)`` after its k-th write, resumes it, and compares it with an
    uninterrupted run: the same files, and no answered call paid twice.

    Args:
        run: Runs into a run directory.
        points: About how many crash points, spread over the run (0: after every write).

    Returns:
        How many writes the run makes.
    """
    run(tmp_path / "ref")
    reference, reference_paid = files_of(tmp_path / "ref"), paid(tmp_path / "ref")
    writes = count_writes(run, tmp_path)
    stride = max(1, writes // points) if points else 1
    for k in range(2, writes, stride):  # the first write is config.json: nothing to resume before it
        cut = tmp_path / f"crash-{k}"
        with pytest.MonkeyPatch.context() as mp:
            crash_after_write(mp, k)
            with pytest.raises(Crash):
                run(cut)
        resume(cut)
        assert files_of(cut) == reference, f"crash after write {k}"
        assert paid(cut) == reference_paid, f"crash after write {k}: an answered call was paid twice"
    return writes


def test_resume_after_a_crash_at_every_write_gives_the_uninterrupted_files(tmp_path):
    assert assert_resumes_after_crashes(run_custom, tmp_path) >= 40


def test_resuming_a_finished_run_changes_no_byte(tmp_path):
    from click.testing import CliRunner

    from gpo.cli import cli

    run = tmp_path / "run"
    optimize(TASK, "gpo", model="fake:", steps=2, run_dir=run)
    before = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    result = CliRunner().invoke(cli, ["resume", str(run)])
    assert result.exit_code == 0, result.output
    assert "best prompt" in result.output
    after = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    assert after == before
