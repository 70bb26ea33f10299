"""A whole `gpo optimize`, in its own process, against a server that fails 20 % and 50 % of requests.

The server answers deterministically and draws its faults (429, 500, hangs, truncated and
HTML bodies with status 200, dropped connections) from a seed, so the run must finish
unattended with exactly the result of a run against a clean server, and its summary must
account for every request the server saw.
"""

import json
import os
import subprocess
import sys

import pytest

from gpo.testing.server import OpenAICompatServer, optimization_reply

MIX = (429, 500, "hang", "truncate", "html", "drop")


def optimize(url, run_dir, home, *extra):
    """Runs `gpo optimize` in a process; returns (exit status, stdout, stderr)."""
    env = {**os.environ, "GPO_HOME": str(home)}
    for var in ("GPO_MODEL", "GPO_TIMEOUT", "GPO_RETRIES"):
        env.pop(var, None)
    args = [
        "optimize", "synthetic/boolean_expressions", "-m", f"openai:m@{url}", "--embedder", "lexical",
        "--steps", "2", "--candidates", "3", "--eval-limit", "6", "--test-limit", "6",
        "--run-dir", str(run_dir), "--json", *extra,
    ]
    done = subprocess.run([sys.executable, "-m", "gpo.cli", *args], env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def requests_on_record(summary):
    """Requests answered and requests failed, over every role of the summary's usage."""
    usage = summary["usage"].values()
    return sum(u["requests"] for u in usage), sum(u["failed_requests"] for u in usage), sum(u["retries"] for u in usage)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clean")
    with OpenAICompatServer(responder=optimization_reply) as server:
        code, out, err = optimize(server.url, tmp / "run", tmp / "home")
        seen = len(server.requests)
    assert code == 0, err
    summary = json.loads((tmp / "run" / "summary.json").read_text())
    assert requests_on_record(summary) == (seen, 0, 0)
    return {"trajectory": (tmp / "run" / "trajectory.jsonl").read_text(), "summary": summary, "requests": seen}


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_a_run_through_a_faulty_server_ends_as_a_clean_one_and_counts_every_request(clean, tmp_path, rate):
    run_dir = tmp_path / "run"
    with OpenAICompatServer(responder=optimization_reply, fault_rate=rate, faults=MIX, fault_seed=3, hang_s=30) as server:
        # A hang costs one --timeout; the default retries (8) outlast a server that fails half the time.
        code, out, err = optimize(server.url, run_dir, tmp_path / "home", "--timeout", "1")
        seen, dealt = len(server.requests), server.faults.dealt
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and "gpo: error" not in err
    assert json.loads(out)["stopped_reason"] == clean["summary"]["stopped_reason"]
    # The same result, to the byte: every step, candidate and score.
    assert (run_dir / "trajectory.jsonl").read_text() == clean["trajectory"]
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("best_prompt", "best_step", "scores", "steps_completed"):
        assert summary[key] == clean["summary"][key], key
    # Every request the server saw is on record: answered once each, as against the clean
    # server, and every fault as a failed request that was sent again.
    answered, failed, retries = requests_on_record(summary)
    assert answered == clean["requests"]
    assert failed == sum(dealt.values()) == retries == seen - answered
    assert len(dealt) >= 4 and set(dealt) <= set(MIX)
    assert 0.5 * rate < failed / seen < 2 * rate


def test_a_runs_concurrency_is_what_the_server_holds_at_once(tmp_path):
    """`gpo optimize --concurrency 12`: the task and optimizer models share the server, and
    it holds at most 12 of their requests at once, and 12 while a step's 3 candidates are
    scored on 6 examples (18 requests), not the model's default cap of 8."""
    with OpenAICompatServer(responder=optimization_reply, delay=0.1) as server:
        code, out, err = optimize(server.url, tmp_path / "run", tmp_path / "home", "--concurrency", "12")
        peak = server.peak_in_flight
    assert code == 0, err[-3000:]
    assert peak == 12
