"""Exact dry runs (call counts before spending) and offline replay of recorded runs."""

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gpo.api import optimize, replay
from gpo.testing.server import OpenAICompatServer

FIXTURE = Path(__file__).parent / "fixtures" / "recorded_gpo_run"


from gpo.protocol import PROTOCOLS

PAPER_SELECTION = PROTOCOLS["paper"].beyond_paper  # the quick protocol's sizes, the paper's mechanisms


def test_dry_run_counts_every_call_of_the_protocol():
    r = optimize("synthetic/boolean_expressions", dry_run=True, run_dir=False, **PAPER_SELECTION)
    u = r.summary["usage"]
    # p0 on 12 eval + 2 steps x 3 candidates x 12 eval + p0 and best on 24 test, one round.
    assert u["task"]["requests"] == 12 + 2 * 3 * 12 + 2 * 24
    assert u["optimizer"]["requests"] == 2
    r = optimize("synthetic/boolean_expressions", dry_run=True, run_dir=False, two_round=True, **PAPER_SELECTION)
    assert r.summary["usage"]["task"]["requests"] == 2 * (12 + 2 * 3 * 12 + 2 * 24)
    # The quick protocol breaks ties on 12 more examples: what that costs depends on the answers.
    r = optimize("synthetic/boolean_expressions", dry_run=True, run_dir=False)
    u = r.summary["usage"]
    assert 2 <= u["optimizer"]["requests"] <= 2 * 2
    assert 12 + 2 * 3 * 12 + 2 * 24 <= u["task"]["requests"] <= 12 + 2 * 6 * 12 + 2 * 6 * 12 + 2 * 24


def test_dry_run_of_the_paper_protocol(data_dir):
    r = optimize("bbh/navigate", dry_run=True, protocol="paper", data_dir=data_dir, run_dir=False)
    s = r.summary
    assert s["total_steps"] == 18
    assert s["usage"]["task"]["requests"] == 2 * (48 + 18 * 8 * 48 + 2 * 144)
    assert s["usage"]["optimizer"]["requests"] == 18


def test_dry_run_prices_the_real_model_and_caps_outputs():
    r = optimize("synthetic/word_sorting", dry_run=True, model="openai:gpt-4o-mini", steps=1, run_dir=False, **PAPER_SELECTION)
    u = r.summary["usage"]
    assert r.summary["models"]["task"] == "dry-run:openai:gpt-4o-mini"
    assert u["task"]["output_tokens"] == u["task"]["requests"] * 48  # the answer cap
    assert u["optimizer"]["output_tokens"] == 3 * 512  # n = 3 samples at the optimizer cap
    expected = (u["task"]["input_tokens"] * 0.15 + u["task"]["output_tokens"] * 0.60) / 1e6
    assert u["task"]["cost_usd"] == pytest.approx(expected)
    local = optimize("synthetic/word_sorting", dry_run=True, model="local:qwen2.5-coder-0.5b", steps=1, run_dir=False)
    assert local.summary["usage"]["task"]["cost_usd"] == 0.0


def test_dry_run_counts_match_a_real_run_with_distinct_candidates(tmp_path):
    from test_resume import responder

    dry = optimize("synthetic/navigate", dry_run=True, steps=3, run_dir=False, embedder="lexical", **PAPER_SELECTION)
    with OpenAICompatServer(responder=responder) as server:
        real = optimize(
            "synthetic/navigate", model=f"openai:m@{server.url}", steps=3, run_dir=False, embedder="lexical",
            **PAPER_SELECTION,
        )
        sent = len(server.requests)
    for role in ("task", "optimizer"):
        assert real.summary["usage"][role]["requests"] == dry.summary["usage"][role]["requests"]
    assert sent == dry.summary["usage"]["task"]["requests"] + dry.summary["usage"]["optimizer"]["requests"]


def test_cli_dry_run_prints_the_estimate(capsys):
    from gpo.cli import main

    try:
        main(["optimize", "-t", "synthetic/navigate", "--dry-run", "-m", "openai:gpt-4o-mini", "--steps", "1", "-q"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "no model was called" in out and "optimizer" in out and "$" in out


@pytest.mark.skipif(not FIXTURE.exists(), reason="recorded fixture missing")
def test_recorded_local_run_replays_offline(tmp_path, monkeypatch):
    # No local model, no network: every answer must come from the record.
    monkeypatch.setenv("GPO_LLAMA_SERVER", "/nonexistent")
    result = replay(FIXTURE, tmp_path / "replayed")
    assert (tmp_path / "replayed" / "trajectory.jsonl").read_text() == (FIXTURE / "trajectory.jsonl").read_text()
    recorded = json.loads((FIXTURE / "summary.json").read_text())
    assert result.summary["best_prompt"] == recorded["best_prompt"]
    assert result.summary["scores"] == recorded["scores"]
    assert result.summary["usage"]["task"]["requests"] == recorded["usage"]["task"]["requests"]


@pytest.mark.skipif(not FIXTURE.exists(), reason="recorded fixture missing")
def test_replay_fails_loudly_on_an_unrecorded_request(tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(FIXTURE, copy)
    con = sqlite3.connect(copy / "responses.db")
    con.execute("DELETE FROM responses WHERE key = (SELECT key FROM responses ORDER BY created DESC LIMIT 1)")
    con.commit()
    con.close()
    done = subprocess.run(
        [sys.executable, "-m", "gpo.cli", "replay", str(copy), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "no recorded response" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("extra", [[], ["--dry-run"]], ids=["fake-model", "dry-run"])
def test_a_run_of_a_fake_model_replays_by_running_it_again(capsys, tmp_path, extra):
    """`gpo replay` of a `-m fake:` run failed: a fake model records none of its answers."""
    from test_cli import run

    run_dir = tmp_path / "run"
    code, _, err = run(capsys, "optimize", "synthetic/navigate", "-m", "fake:", "--steps", "1", "--run-dir", str(run_dir), "--json", *extra)
    assert code == 0, err
    code, out, err = run(capsys, "replay", str(run_dir))
    assert code == 0, err
    assert (run_dir / "replay" / "trajectory.jsonl").read_text() == (run_dir / "trajectory.jsonl").read_text()
    assert out.splitlines()[-2:] == [
        "replay: trajectory identical to the recorded run",
        "replay: the task and optimizer models' answers were computed again (a fake model records none)",
    ]
