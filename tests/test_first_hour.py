"""What a new user reads in the first hour: quiet results, the task as an argument, why
candidates were rejected, evaluate's protocol, and the sections of optimize's help."""

import io
import json
import re

import pytest
from test_cli import run
from test_progress import Clock, rendered, terminal

from gpo.progress import PlainProgress, RunProgress

TASK = "synthetic/boolean_expressions"


# ---------------------------------------------------------------------------- why candidates were rejected


def step_event(reasons):
    return {"type": "step", "step": 2, "total": 4, "budget": 10, "chosen": "p", "score": 0.5, "best": 0.6,
            "candidates": [(f"p{i}", None if r else 0.5, r, False) for i, r in enumerate(reasons)]}


def test_step_lines_say_why_candidates_were_rejected():
    reasons = ["over edit budget (14 > 10 words)", None, "no prompt found", "over edit budget (11 > 10 words)", None]
    line = PlainProgress.line(step_event(reasons))
    assert line == (
        "step 2/4: budget 10 words; 5 candidates (best 0.500, 0 repeats), "
        "3 rejected (2 over edit budget, 1 no prompt found); next prompt 0.500; best so far 0.600"
    )
    assert "0 repeats), 0 rejected; next" in PlainProgress.line(step_event([None, None]))


def test_the_live_panel_shows_the_last_steps_rejections():
    console, _ = terminal()
    progress = RunProgress(console=console, auto_refresh=False, clock=Clock())
    progress({"type": "start", "total": 4, "n_eval": 10, "resumed_from": None, "task": TASK, "method": "gpo",
              "num_candidates": 3, "ledger": None})
    progress({"type": "initial", "prompt": "p0", "eval": 0.4})
    assert "last" not in rendered(progress)
    progress(step_event(["copies a demonstration", "echoes the meta-prompt", "copies a demonstration"]))
    text = rendered(progress)
    assert re.search(r"last +step 2: 3 candidates, 3 rejected \(2 copies a demonstration, 1 echoes the meta-prompt\)", text)
    progress.close()


def test_a_run_prints_the_reasons_of_its_rejections(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("gpo.progress._stderr_is_terminal", lambda: False)
    code, _, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", "--run-dir", str(tmp_path / "run"),
                       "--reject-over-budget", "--no-clip-over-budget", "--lr-init", "0", "--lr-end", "0",
                       "--max-resample-rounds", "0")
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "run" / "trajectory.jsonl").read_text().splitlines()]
    rejected = [r["rejected"] for r in rows if r["step"] == 1 and r["rejected"]]
    assert rejected  # a zero edit budget rejects every changed candidate
    step_line = next(line for line in err.splitlines() if line.startswith("step 1/2:"))
    assert f"{len(rejected)} rejected ({len(rejected)} over edit budget)" in step_line
