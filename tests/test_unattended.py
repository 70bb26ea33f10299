"""Unattended runs and bad input: budgets, absurd sizes, failed starts, accounting.

Each bad input must give one line (``gpo: error: …``), exit status 2 and leave no run
directory behind; a budget stop is a normal end with a summary.
"""

import json
import math

import pytest
from test_cli import run

from gpo.errors import ConfigError

TASK = "synthetic/boolean_expressions"


def assert_one_line_error(code, err, *fragments):
    """Exit status 2 and nothing on stderr but one ``gpo: error:`` line."""
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gpo: error: "), err
    for f in fragments:
        assert f in lines[0], lines[0]


def snapshot(folder):
    """Every file of a folder with its bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


# ---------------------------------------------------------------------------- budgets


@pytest.mark.parametrize("args,fragment", [
    (["--max-cost", "nan"], "--max-cost must be a finite number, at least 0; got nan"),
    (["--max-cost", "inf"], "--max-cost must be a finite number, at least 0; got inf"),
    (["--budget", "task.cost=nan"], "--budget task.cost must be a finite number, at least 0; got nan"),
    (["--budget", "optimizer.calls=inf"], "--budget optimizer.calls must be a finite number, at least 0; got inf"),
    (["--budget", "task.tokens=-5"], "--budget task.tokens must be a finite number, at least 0; got -5"),
])
def test_a_budget_that_would_remove_the_cap_is_refused(capsys, tmp_path, args, fragment):
    code, _, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", "--run-dir", str(tmp_path / "run"), *args)
    assert_one_line_error(code, err, fragment, "leave the budget out for no limit")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("budget,fragment", [
    ({"cost": math.nan}, "budget cost must be a finite number"),
    ({"calls": math.inf}, "budget calls must be a finite number"),
    ({"optimizer": {"tokens": -1}}, "budget optimizer.tokens must be a finite number"),
    ({"task": {"cost": "2"}}, "budget task.cost must be a number, got '2'"),
    ({"task": {"money": 2}}, "unknown budget metric task.money"),
])
def test_the_python_api_refuses_the_same_budgets(tmp_path, budget, fragment):
    import gpo

    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        gpo.optimize(TASK, model="fake:", budget=budget, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_budget_object_refuses_them_too():
    from gpo.lm.budget import Budget, Limit

    for value in (math.nan, math.inf, -1.0):
        with pytest.raises(ConfigError, match="finite number"):
            Budget([Limit("cost", value, role="task")])


def test_a_budget_reached_in_the_initial_evaluation_ends_the_run_normally(capsys, caplog, tmp_path):
    run_dir = tmp_path / "run"
    code, out, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", "--max-calls", "3",
                         "--run-dir", str(run_dir), "--json")
    assert code == 0, err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert json.loads(out)["stopped_reason"] == summary["stopped_reason"] == "budget reached: 3 model requests (spent 3)"
    assert summary["best_prompt"] == summary["initial_prompt"] == "Let's think step by step."
    assert (summary["best_step"], summary["steps_completed"], summary["total_steps"]) == (0, 0, 2)
    assert summary["scores"] == {"initial": {"eval": None, "test": None}, "best": {"eval": None, "test": None}}
    assert summary["usage"]["task"]["requests"] == 3
    assert "during the initial evaluation; stopping before any step" in caplog.text
    assert not (run_dir / "checkpoint.json").exists()  # no step, no state to resume from
    before = snapshot(run_dir)
    code, out, err = run(capsys, "resume", str(run_dir), "--json")
    assert code == 0, err
    assert json.loads(out)["stopped_reason"] == summary["stopped_reason"]
    assert snapshot(run_dir) == before  # a finished run's resume changes nothing


# ---------------------------------------------------------------------------- accounting


def test_requests_in_flight_at_a_stop_count_as_failed():
    import asyncio
    import time

    from gpo.lm import get_lm
    from gpo.testing.server import OpenAICompatServer

    with OpenAICompatServer(delay=30) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False)

        async def main():
            calls = [asyncio.ensure_future(lm([{"role": "user", "content": f"q{i}"}])) for i in range(3)]
            deadline = time.monotonic() + 20
            while len(server.requests) < 3:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            for c in calls:
                c.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            await lm.aclose()

        asyncio.run(main())
        sent = len(server.requests)
    usage = lm.ledger.summary()["task"]
    assert (usage["calls"], usage["requests"], usage["failed_requests"], usage["retries"]) == (3, 0, 3, 0)
    assert usage["requests"] + usage["failed_requests"] == sent


def test_time_and_failed_requests_add_up_over_invocations(capsys, tmp_path, monkeypatch):
    """A run stopped after step 1 and resumed: its summary counts both invocations."""
    from gpo.api import resume
    from gpo.runs import runner as runner_module

    run_dir = tmp_path / "run"
    real_step = runner_module.Runner._step

    async def stop_at_step_2(self):
        if self.state.step == 1:
            import asyncio

            raise asyncio.CancelledError  # as Ctrl-C does, once step 1 is saved
        await real_step(self)

    monkeypatch.setattr(runner_module.Runner, "_step", stop_at_step_2)
    code, _, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", "--run-dir", str(run_dir), "--json")
    assert code == 130 and f"gpo resume {run_dir}" in err
    first = json.loads((run_dir / "checkpoint.json").read_text())["timings"]["invocations"]
    assert len(first) == 1 and first[0] >= 0
    # Failed requests of the first invocation, as the model layer records them.
    with open(run_dir / "usage.jsonl", "a") as f:
        f.write(json.dumps({"role": "task", "model": "fake:default", "calls": 0, "samples": 1,
                            "failed_requests": 2, "retries": 1, "latency_s": 7.5}) + "\n")
    monkeypatch.setattr(runner_module.Runner, "_step", real_step)
    monkeypatch.setattr(runner_module.time, "time", lambda: 1000.0)  # the first invocation is what is measured
    monkeypatch.setattr(runner_module.Runner, "__init__", _started_at(runner_module.Runner.__init__, 990.0))
    result = resume(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["timings"]["invocations"] == [first[0], 10.0]
    assert summary["timings"]["last_invocation"] == 10.0
    assert summary["seconds"] == round(first[0] + 10.0, 2)
    assert summary["usage"]["task"]["failed_requests"] == 2 and summary["usage"]["optimizer"]["failed_requests"] == 0
    from gpo.commands.run import _report

    _report(result, as_json=False)
    out = capsys.readouterr().out
    assert f"in 2 invocations (this one 10 s)" in out
    header = next(line for line in out.splitlines() if "role" in line)
    task_row = next(line for line in out.splitlines() if line.startswith("│ task"))
    cells = [c.strip() for c in task_row.split("│")[1:-1]]
    names = [c.strip() for c in header.split("┃")[1:-1]]
    assert cells[names.index("failed")] == "2"
    # Every request sent: the answered ones and the failed ones; a call answered from the
    # record or the cache sent none.
    paid = sum(u["requests"] for u in summary["usage"].values())
    assert f"failed requests: 2 of {paid + 2} sent; 1 of them sent again" in out.splitlines()
    task = summary["usage"]["task"]
    assert f"calls: task {task['requests']} paid + {task['cached_calls']} cached, " in out


def _started_at(init, when):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.started = when

    return patched


# ---------------------------------------------------------------------------- failed starts


@pytest.mark.parametrize("args,fragment", [
    (["-m", "ftp:x"], "unknown model spec 'ftp:x'"),
    (["-m", "openai:m@ftp://host/v1"], "base URL 'ftp://host/v1' in 'openai:m@ftp://host/v1' is not an http(s) URL"),
    (["-m", "openai:m@http://10.0.0.5:8000/v1"], "no API key for http://10.0.0.5:8000/v1"),
    (["-m", "fake:", "--optimizer-model", "openai:m@http://10.0.0.5:8000/v1"], "set GPO_API_KEY_10_0_0_5_8000"),
])
@pytest.mark.parametrize("where", ["new", "nested", "existing", "default"])
def test_a_run_that_cannot_start_leaves_nothing_behind(capsys, tmp_path, monkeypatch, _isolated_home, args, fragment, where):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    folder = {"new": tmp_path / "run", "nested": tmp_path / "a" / "b" / "run", "existing": tmp_path / "mine"}.get(where)
    if where == "existing":
        folder.mkdir()
        (folder / "notes.txt").write_text("kept")
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run(capsys, "optimize", "-t", TASK, *args, *(["--run-dir", str(folder)] if folder else []))
    assert_one_line_error(code, err, fragment)
    assert out == ""
    assert sorted(tmp_path.rglob("*")) == before
    assert not (_isolated_home / "runs").exists()  # the shared cache may be there; no run folder is


def test_gpo_home_that_is_a_file_is_one_clear_line(capsys, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("GPO_HOME", str(home))
    for extra in ([], ["--run-dir", str(tmp_path / "run")]):
        code, _, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", *extra)
        assert_one_line_error(code, err, f"GPO_HOME {home} is a file, not a folder", "set GPO_HOME to a folder")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    code, _, err = run(capsys, "resume", str(tmp_path / "run"))
    assert_one_line_error(code, err, "no run directory at")


def test_a_run_that_fails_after_it_started_stays_resumable(capsys, tmp_path):
    from gpo.testing.server import OpenAICompatServer

    with OpenAICompatServer(statuses=[400] * 100) as server:  # every request refused
        code, _, err = run(capsys, "optimize", "-t", TASK, "-m", f"openai:m@{server.url}", "--run-dir", str(tmp_path / "run"))
    assert code == 2 and err.splitlines()[-1].startswith("gpo: error: 12 of 12 examples failed")
    assert (tmp_path / "run" / "config.json").exists()  # what was sent stays on record
    usage = [json.loads(line) for line in (tmp_path / "run" / "usage.jsonl").read_text().splitlines()]
    assert sum(u["failed_requests"] for u in usage) == 12


def test_a_resume_that_cannot_start_changes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    run_dir = tmp_path / "run"
    code, _, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", "--run-dir", str(run_dir), "--json")
    assert code == 0, err
    (run_dir / "summary.json").unlink()  # as if it had been stopped before its end
    config = json.loads((run_dir / "config.json").read_text())
    config["run"]["model"] = "openai:m@http://10.0.0.5:8000/v1"
    (run_dir / "config.json").write_text(json.dumps(config))
    before = snapshot(run_dir)
    code, _, err = run(capsys, "resume", str(run_dir))
    assert_one_line_error(code, err, "no API key for http://10.0.0.5:8000/v1")
    assert snapshot(run_dir) == before


# ---------------------------------------------------------------------------- absurd sizes, signals


@pytest.mark.parametrize("args,fragment", [
    (["--candidates", "100000000"], "Invalid value for '--candidates': 100000000 is not in the range 1<=x<=128"),
    (["--steps", "1000000"], "Invalid value for '--steps': 1000000 is not in the range 0<=x<=10000"),
    (["--epochs", "1000"], "'--epochs': 1000 is not in the range 1<=x<=100"),
    (["--eval-limit", "1000000"], "'--eval-limit': 1000000 is not in the range 1<=x<=100000"),
    (["--test-limit", "1000000"], "'--test-limit': 1000000 is not in the range 1<=x<=100000"),
    (["--concurrency", "100000"], "'--concurrency': 100000 is not in the range 1<=x<=1024"),
    (["--max-resample-rounds", "1000"], "'--max-resample-rounds': 1000 is not in the range 0<=x<=10"),
])
def test_absurd_sizes_are_refused_at_once_and_the_help_says_the_bounds(capsys, tmp_path, args, fragment):
    import time

    started = time.monotonic()
    code, _, err = run(capsys, "optimize", "-t", TASK, "-m", "fake:", "--run-dir", str(tmp_path / "run"), *args)
    assert time.monotonic() - started < 5
    assert_one_line_error(code, err, fragment, "(see `gpo optimize --help`)")
    assert not (tmp_path / "run").exists()
    bound = fragment.rsplit("range ", 1)[1]
    help_text = " ".join(run(capsys, "optimize", "--help")[1].split())
    assert f"{args[0]} INTEGER RANGE" in help_text and f"[{bound}]" in help_text


@pytest.mark.parametrize("options,fragment", [
    ({"num_candidates": 100_000_000}, "num_candidates=100000000 is more than 128, the most a run allows (the paper samples 8 per step)"),
    ({"steps": 20_000}, "steps=20000 is more than 10000"),
    ({"eval_limit": 10**9}, "eval_limit=1000000000 is more than 100000"),
    ({"concurrency": 5000}, "concurrency=5000 is more than 1024"),
])
def test_the_python_api_refuses_absurd_sizes_too(tmp_path, options, fragment):
    import gpo

    with pytest.raises(ConfigError) as info:
        gpo.optimize(TASK, model="fake:", run_dir=tmp_path / "run", **options)
    assert str(info.value).startswith(fragment)
    assert not (tmp_path / "run").exists()


def test_a_built_optimizer_with_absurd_candidates_is_refused(tmp_path):
    import gpo
    from gpo.optim.update import GenerationUpdate

    with pytest.raises(ConfigError, match="num_candidates=100000 is more than 128"):
        gpo.optimize(TASK, gpo.GPO(update=GenerationUpdate(num_candidates=100_000)), model="fake:", run_dir=False)


BUSY = """
import sys, time
import gpo.cli
import gpo.runs.runner as runner

real = runner.Runner._step

async def step_after_long_computation(self):
    end = time.monotonic() + 300  # the event loop gets no control for five minutes
    while time.monotonic() < end:
        pass
    await real(self)

runner.Runner._step = step_after_long_computation
gpo.cli.main(sys.argv[1:])
"""


def stop_with_sigterm(args, run_dir, tmp_path, *, busy):
    """Starts ``gpo optimize`` in a process, sends SIGTERM once step 0 is saved; returns (code, stderr, seconds)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-c", BUSY] if busy else [sys.executable, "-m", "gpo.cli"]
    env = {**os.environ, "GPO_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([*cmd, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / "checkpoint.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.5)  # well into step 1
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, err, time.monotonic() - sent


@pytest.mark.parametrize("busy", [False, True], ids=["waiting-on-models", "long-synchronous-work"])
def test_sigterm_stops_a_run_within_seconds_and_says_how_to_resume(tmp_path, busy):
    run_dir = tmp_path / "run"
    args = ["optimize", "-t", f"{TASK}?eval=200", "-m", "fake:", "--embedder", "lexical", "--eval-limit", "200",
            "--candidates", "16", "--steps", "2" if busy else "200", "--run-dir", str(run_dir)]
    code, err, seconds = stop_with_sigterm(args, run_dir, tmp_path, busy=busy)
    assert code == 130, err
    # Here it stops in 0.1 to 1.5 s; the handler it replaces waited out the whole computation.
    assert seconds < 5, f"stopped {seconds:.1f} s after SIGTERM: {err}"
    last = err.splitlines()[-1]
    assert last.startswith("gpo: interrupted after step ") and "Traceback" not in err, err
    assert last.endswith(f"; progress is saved (resume with: gpo resume {run_dir})"), err
    if busy:  # stopped in the middle of step 1's computation; the run goes on from its checkpoint
        assert last.startswith("gpo: interrupted after step 0 of 2;")
        code, out, err = run_cli_process(["resume", str(run_dir), "--json"], tmp_path)
        assert code == 0, err
        assert json.loads(out)["steps_completed"] == 2


def run_cli_process(args, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "GPO_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "gpo.cli", *args], env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr
