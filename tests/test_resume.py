"""Run management with real processes: kill and resume, Ctrl-C, budgets, no leaked keys, shared caches."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpo.runs import RunDir
from gpo.runs.session import read_usage
from gpo.testing.server import OpenAICompatServer
from gpo.testing.server import optimization_reply as responder


def run_gpo(args, home, *, wait=True, **kw):
    env = {**os.environ, "GPO_HOME": str(home)}
    env.pop("GPO_MODEL", None)
    cmd = [sys.executable, "-m", "gpo.cli", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if wait:
        out, err = proc.communicate(timeout=300)
        return proc.returncode, out, err
    return proc


def optimize_args(url, run_dir, *extra):
    return [
        "optimize", "-t", "synthetic/boolean_expressions", "-m", f"openai:m@{url}",
        "--embedder", "lexical", "--steps", "4", "--candidates", "3",
        "--eval-limit", "6", "--test-limit", "6", "--run-dir", str(run_dir), "--json", *extra,
    ]


def paid_requests(run_dir: Path) -> int:
    return sum(r.calls for r in read_usage(RunDir(run_dir)))


@pytest.fixture
def server():
    with OpenAICompatServer(delay=0.02, responder=responder) as s:
        yield s


@pytest.fixture
def reference(server, tmp_path):
    """An uninterrupted run: its trajectory, summary and number of requests."""
    code, out, err = run_gpo(optimize_args(server.url, tmp_path / "ref"), tmp_path / "home-ref")
    assert code == 0, err
    requests = len(server.requests)
    server.reset()
    return {
        "trajectory": (tmp_path / "ref" / "trajectory.jsonl").read_text(),
        "summary": json.loads((tmp_path / "ref" / "summary.json").read_text()),
        "requests": requests,
    }


def kill_after(server, proc, n_requests, timeout=120):
    deadline = time.monotonic() + timeout
    while len(server.requests) < n_requests:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("fraction", [0.03, 0.3, 0.55, 0.8, 0.97])
def test_sigkill_then_resume_matches_an_uninterrupted_run(server, reference, tmp_path, fraction):
    run_dir, home = tmp_path / "run", tmp_path / "home"
    proc = run_gpo(optimize_args(server.url, run_dir), home, wait=False)
    kill_after(server, proc, max(1, int(reference["requests"] * fraction)))
    assert proc.returncode == -signal.SIGKILL
    before = len(server.requests)
    code, out, err = run_gpo(["resume", str(run_dir), "--json"], home)
    assert code == 0, err
    assert (run_dir / "trajectory.jsonl").read_text() == reference["trajectory"]
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("best_prompt", "initial_prompt", "scores", "steps_completed", "stopped_reason"):
        assert summary[key] == reference["summary"][key]
    # No completed call is paid twice: at most the calls in flight at the kill are repeated.
    in_flight = 8
    total = len(server.requests)
    print(f"killed after {before} requests; {total} in all; uninterrupted {reference['requests']}")
    assert reference["requests"] <= total <= reference["requests"] + in_flight, (before, total)
    assert abs(paid_requests(run_dir) - reference["requests"]) <= in_flight


def test_sigterm_stops_cleanly_and_says_how_to_resume(server, reference, tmp_path):
    run_dir, home = tmp_path / "run", tmp_path / "home"
    proc = run_gpo(optimize_args(server.url, run_dir), home, wait=False)
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoint.json").exists() or len(server.requests) < reference["requests"] // 2:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "gpo resume" in err and str(run_dir) in err and "Traceback" not in err
    code, out, err = run_gpo(["resume", str(run_dir), "--json"], home)
    assert code == 0, err
    assert (run_dir / "trajectory.jsonl").read_text() == reference["trajectory"]


def test_damaged_checkpoint_is_a_clear_error(server, tmp_path):
    run_dir, home = tmp_path / "run", tmp_path / "home"
    code, _, err = run_gpo(optimize_args(server.url, run_dir), home)
    assert code == 0, err
    (run_dir / "summary.json").unlink()  # as if the run had been killed before its end
    ck = run_dir / "checkpoint.json"
    ck.write_text(ck.read_text()[: len(ck.read_text()) // 2])
    code, _, err = run_gpo(["resume", str(run_dir)], home)
    assert code == 2 and "checkpoint.json" in err and "damaged" in err and "Traceback" not in err
    ck.write_text(json.dumps({"version": 99, "state": {}}))
    code, _, err = run_gpo(["resume", str(run_dir)], home)
    assert code == 2 and "damaged" in err
    code, _, err = run_gpo(["resume", str(tmp_path / "nowhere")], home)
    assert code == 2 and "no run directory" in err


def test_budget_stops_gracefully_and_keeps_the_best_prompt(server, tmp_path):
    run_dir, home = tmp_path / "run", tmp_path / "home"
    code, out, err = run_gpo(optimize_args(server.url, run_dir, "--max-calls", "30"), home)
    assert code == 0, err
    s = json.loads(out)
    assert s["stopped_reason"].startswith("budget reached: 30 model requests")
    assert s["steps_completed"] < 4
    paid = sum(s["usage"][r]["requests"] for r in ("task", "optimizer"))
    assert 30 <= paid <= 30 + 8  # never more than the calls in flight over the limit
    # Requests cancelled in flight when the budget stopped the run reached the server unpaid.
    assert paid <= len(server.requests) <= paid + 8
    # Per-role budget: one optimizer request allowed.
    code, out, err = run_gpo(optimize_args(server.url, tmp_path / "run2", "--budget", "optimizer.calls=1"), tmp_path / "home2")
    assert code == 0, err
    s = json.loads(out)
    assert s["usage"]["optimizer"]["requests"] == 1 and s["steps_completed"] == 1
    assert "optimizer model" in s["stopped_reason"]
    code, _, err = run_gpo(optimize_args(server.url, tmp_path / "run3", "--budget", "optimiser.calls=1"), tmp_path / "home2")
    assert code == 2 and "ROLE.METRIC" in err


def test_run_directory_and_cache_never_hold_the_api_key(tmp_path):
    key = "sk-test-SECRET-7f3a9"
    with OpenAICompatServer(responder=responder, api_key=key) as srv:
        var = f"GPO_API_KEY_127_0_0_1_{srv.port}"
        env_home = tmp_path / "home"
        env = {**os.environ, "GPO_HOME": str(env_home), var: key}
        cmd = [sys.executable, "-m", "gpo.cli", *optimize_args(srv.url, tmp_path / "run")]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert srv.requests[0]["headers"]["authorization"] == f"Bearer {key}"
    for folder in (tmp_path / "run", env_home):
        for path in folder.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path


def test_two_processes_share_one_cache(server, tmp_path):
    home = tmp_path / "home"
    procs = [
        run_gpo(optimize_args(server.url, tmp_path / f"run{seed}", "--seed", str(seed)), home, wait=False)
        for seed in (1, 2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    con = sqlite3.connect(home / "cache.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The shared initial evaluation was paid once; later runs with the same seed pay nothing.
    n = len(server.requests)
    code, out, err = run_gpo(optimize_args(server.url, tmp_path / "again", "--seed", "1"), home)
    assert code == 0, err
    assert len(server.requests) == n
    assert json.loads(out)["usage"]["task"]["requests"] == 0


def test_patience_stops_without_improvement(tmp_path):
    from gpo.api import optimize

    r = optimize("synthetic/boolean_expressions", dry_run=True, steps=30, patience=2, run_dir=False)
    assert r.summary["stopped_reason"] == "no improvement in 2 steps"
    assert r.summary["steps_completed"] - r.summary["best_step"] == 2
