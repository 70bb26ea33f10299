"""``gpo sweep --backend ray`` on a real local Ray cluster (started and stopped here): the same
table as the local pool, run directories back on the driver, the driver's cache, a worker
killed mid-run, a driver killed mid-sweep, the sweep's request cap and budget."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from test_cli import assert_one_line_error
from test_cli import run as run_main
from test_sweep import finished_runs, gpo_process, interrupted_runs, invoke, read_csv, sweep_args

from gpo.testing.server import OpenAICompatServer, optimization_reply

ray = pytest.importorskip("ray")

TASKS = "synthetic/boolean_expressions,synthetic/navigate"


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs on 127.0.0.1, no dashboard; its GCS address.

    Sweeps run in this process find it initialised and use it; sweeps in a subprocess join
    it with --address. The fixture stops it.
    """
    temp = tempfile.mkdtemp(prefix="gpo-ray-", dir="/tmp")  # short: Ray puts sockets here
    home = os.environ.get("GPO_HOME")
    os.environ["GPO_HOME"] = os.path.join(temp, "home")  # what the cluster's workers inherit
    try:
        ray.init(
            address="local", num_cpus=2, include_dashboard=False, _temp_dir=temp, _node_ip_address="127.0.0.1",
            logging_level="WARNING",
        )
    finally:
        if home is None:
            os.environ.pop("GPO_HOME")
        else:
            os.environ["GPO_HOME"] = home
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


class CountingServer(OpenAICompatServer):
    """The test server, counting the requests it is answering at once."""

    def __init__(self, **kw):
        super().__init__(responder=optimization_reply, **kw)
        self.in_flight = 0
        self.peak = 0

    async def _answer(self, *args):
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await super()._answer(*args)
        finally:
            self.in_flight -= 1


@pytest.fixture
def server():
    with CountingServer(delay=0.02) as s:
        yield s


def manifest_runs(out):
    try:
        return json.loads((out / "manifest.json").read_text())["runs"]
    except (FileNotFoundError, ValueError):
        return []


def wait_for(proc, condition, what, timeout=180):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def summaries(out):
    return {
        name: json.loads((out / "runs" / name / "summary.json").read_text()) for name in finished_runs(out)
    }


# -- the same sweep on both backends ----------------------------------------------------------------


def test_ray_sweep_equals_the_local_pool_and_fills_the_drivers_cache(tmp_path, cluster, server):
    model = f"openai:m@{server.url}"
    args = lambda out, *extra: sweep_args(out, "--test-limit", "6", *extra, tasks=TASKS, model=model)  # noqa: E731
    local = invoke(args(tmp_path / "local", "--workers", "2"), GPO_HOME=str(tmp_path / "home-local"))
    assert local.exit_code == 0, local.output
    on_ray = invoke(args(tmp_path / "ray", "--backend", "ray"), GPO_HOME=str(tmp_path / "home-ray"))
    assert on_ray.exit_code == 0, on_ray.output
    assert "8 runs, 0 finished, 8 to run on a Ray cluster" in on_ray.stderr
    assert "executed 8 of 8 runs (8 started, 0 resumed, 0 failed; 0 finished before)" in on_ray.stderr

    # The table and the paired tests, byte for byte, and every run's outcome.
    for name in ("table.csv", "tests.csv"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    tables = lambda text: text.split("Calls per method")[0]  # noqa: E731
    assert tables(on_ray.stdout) == tables(local.stdout)
    a, b = summaries(tmp_path / "ray"), summaries(tmp_path / "local")
    assert len(a) == 8 and a.keys() == b.keys()
    for name in a:
        assert (a[name]["best_prompt"], a[name]["scores"]) == (b[name]["best_prompt"], b[name]["scores"]), name

    # Every run directory came back whole, and the manifest says where each run executed.
    node = ray.get_runtime_context().get_node_id()
    for r in manifest_runs(tmp_path / "ray"):
        run = tmp_path / "ray" / r["dir"]
        local_run = tmp_path / "local" / r["dir"]
        for f in ("config.json", "checkpoint.json", "trajectory.jsonl", "meta_prompts.jsonl", "usage.jsonl", "responses.db"):
            assert (run / f).is_file(), (r["name"], f)
        assert (run / "trajectory.jsonl").read_text() == (local_run / "trajectory.jsonl").read_text()
        assert r["status"] == "finished" and r["node"] == node and r["host"] and r["pid"] != os.getpid()
        assert r["attempts"] == 1 and r["retries"] == 0
    assert not list((tmp_path / "ray" / "runs").glob(".*"))  # no half-swapped copies

    # The workers' responses reached the driver's cache: the same sweep anywhere pays nothing.
    sent = len(server.requests)
    again = invoke(args(tmp_path / "again", "--workers", "2"), GPO_HOME=str(tmp_path / "home-ray"))
    assert again.exit_code == 0, again.output
    assert len(server.requests) == sent
    assert [row[4] for row in read_csv(tmp_path / "again" / "calls.csv")[1:]] == ["0", "0"]
    # ... and on the cluster, whose workers read the driver's cache.
    on_ray_again = invoke(args(tmp_path / "ray-again", "--backend", "ray"), GPO_HOME=str(tmp_path / "home-ray"))
    assert on_ray_again.exit_code == 0, on_ray_again.output
    assert len(server.requests) == sent
    assert (tmp_path / "ray-again" / "table.csv").read_bytes() == (tmp_path / "local" / "table.csv").read_bytes()


# -- failures: a worker, the driver ---------------------------------------------------------------


def ray_args(out, address, model, *extra, methods="gpo", seeds="0,1", steps="3"):
    return [
        *sweep_args(out, "--eval-limit", "6", "--test-limit", "6", *extra, tasks="synthetic/navigate", methods=methods,
                    seeds=seeds, steps=steps, model=model),
        "--backend", "ray", "--address", address,
    ]


def test_a_worker_killed_mid_run_is_retried_and_the_sweep_finishes(tmp_path, cluster):
    with OpenAICompatServer(delay=0.05, responder=optimization_reply) as server:
        model = f"openai:m@{server.url}"
        ref = gpo_process(sweep_args(tmp_path / "ref", "--eval-limit", "6", "--test-limit", "6", tasks="synthetic/navigate",
                                     methods="gpo", seeds="0,1", steps="3", model=model), tmp_path / "home-ref")
        assert ref.wait(timeout=300) == 0, ref.communicate()

        out = tmp_path / "sweep"
        proc = gpo_process(ray_args(out, cluster, model), tmp_path / "home")
        # A run is under way and its driver copy holds a checkpoint: kill the worker running it.
        wait_for(proc, lambda: [r for r in manifest_runs(out) if r["status"] == "running" and r["name"] in interrupted_runs(out)], "a checkpoint")
        victim = next(r for r in manifest_runs(out) if r["status"] == "running" and r["name"] in interrupted_runs(out))
        os.kill(victim["pid"], signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    entry = next(r for r in manifest_runs(out) if r["name"] == victim["name"])
    assert entry["status"] == "finished" and entry["retries"] == 1 and entry["attempts"] == 2, entry
    assert entry["action"] == "resumed" and entry["pid"] != victim["pid"]  # from the pushed checkpoint
    assert "after 1 lost worker" in err and "executed 2 of 2 runs" in err
    assert (out / "table.csv").read_bytes() == (tmp_path / "ref" / "table.csv").read_bytes()
    a, b = summaries(out), summaries(tmp_path / "ref")
    assert {n: (s["best_prompt"], s["scores"]) for n, s in a.items()} == {n: (s["best_prompt"], s["scores"]) for n, s in b.items()}


def test_driver_killed_mid_sweep_then_restarted_reruns_no_finished_run(tmp_path, cluster):
    with OpenAICompatServer(delay=0.03, responder=optimization_reply) as server:
        model = f"openai:m@{server.url}"
        out = tmp_path / "sweep"
        args = ray_args(out, cluster, model, "--run-cpus", "0.5", methods="gpo,opro", seeds="0,1,2")
        proc = gpo_process(args, tmp_path / "home")
        wait_for(proc, lambda: finished_runs(out) and interrupted_runs(out), "a finished run and a checkpoint")
        proc.kill()  # the driver only: Ray ends its tasks and actors
        proc.wait(timeout=30)
        done, interrupted = finished_runs(out), interrupted_runs(out)
        assert 1 <= len(done) < 6 and interrupted, (done, interrupted)
        stamps = {n: (out / "runs" / n / "summary.json").stat().st_mtime_ns for n in done}

        again = gpo_process(args, tmp_path / "home")
        _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"executed {6 - len(done)} of 6 runs" in err and f"{len(done)} finished before)" in err, err
    assert "0 failed" in err
    assert {n: (out / "runs" / n / "summary.json").stat().st_mtime_ns for n in done} == stamps
    runs = manifest_runs(out)
    assert all(r["status"] == "finished" for r in runs)
    resumed = {r["name"] for r in runs if r["action"] == "resumed"}
    assert resumed and resumed <= set(interrupted)  # interrupted runs resumed from their checkpoints


# -- limits across the sweep --------------------------------------------------------------------


def test_endpoint_cap_and_sweep_budget_hold_across_workers(tmp_path, cluster, server):
    model = f"openai:m@{server.url}"
    args = sweep_args(tmp_path / "capped", "--test-limit", "6", "--backend", "ray", "--endpoint-concurrency", "2",
                      tasks=TASKS, methods="gpo", seeds="0,1", model=model)
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert 1 <= server.peak <= 2  # runs allow 8 each; the sweep, 2 for the server

    out = tmp_path / "budget"
    sent = len(server.requests)
    budgeted = sweep_args(out, "--test-limit", "6", "--backend", "ray", "--endpoint-concurrency", "2",
                          tasks=TASKS, methods="gpo,opro", seeds="0,1", model=model)
    result = invoke([*budgeted, "--sweep-max-calls", "60"])
    assert result.exit_code == 0, result.output
    assert 60 <= len(server.requests) - sent <= 62  # at most the requests in flight overshoot
    assert "the sweep's budget is spent" in result.stderr and "sweep budget reached: 60 model requests" in result.stderr
    statuses = [r["status"] for r in manifest_runs(out)]
    assert "stopped" in statuses and "failed" not in statuses

    resumed = invoke(budgeted)  # no sweep budget this time: every run finishes
    assert resumed.exit_code == 0, resumed.output
    assert all(r["status"] == "finished" for r in manifest_runs(out))


# -- options and the extra ---------------------------------------------------------------------------


def test_ray_options_need_the_ray_backend(capsys, tmp_path):
    code, _, err = run_main(capsys, *sweep_args(tmp_path / "s", "--endpoint-concurrency", "4", tasks="synthetic/navigate", methods="cot", seeds="0"))
    assert_one_line_error(code, err, "--endpoint-concurrency", "--backend ray")
    assert not (tmp_path / "s").exists()


BLOCK = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('ray', 'mlflow'):\n"
    "            raise ImportError(name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


@pytest.mark.parametrize("extra, fragments", [
    (["--backend", "ray"], ["--backend ray needs Ray", "pip install 'gpo[ray]'"]),
    (["--mlflow"], ["--mlflow needs MLflow", "pip install 'gpo[mlflow]'"]),
])
def test_without_the_extra_the_cli_says_what_to_install(tmp_path, extra, fragments):
    # Neither package can be imported or found; gpo and its sweep modules still import.
    code = BLOCK + (
        "import importlib.util as u\n"
        "_find = u.find_spec\n"
        "u.find_spec = lambda n, *a: None if n.split('.')[0] in ('ray', 'mlflow') else _find(n, *a)\n"
        "import gpo, gpo.cli, gpo.sweep.cluster, gpo.sweep.tracking, gpo.sweep.coordinator\n"
        f"sys.argv = ['gpo', *{sweep_args(tmp_path / 's', *extra, tasks='synthetic/navigate', methods='cot', seeds='0')!r}]\n"
        "gpo.cli.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and all(f in lines[0] for f in fragments), proc.stderr
    assert not (tmp_path / "s").exists()


def test_workers_is_an_option_of_the_local_pool(capsys, tmp_path):
    code, _, err = run_main(capsys, *sweep_args(tmp_path / "s", "--backend", "ray", "--workers", "2", tasks="synthetic/navigate", methods="cot", seeds="0"))
    assert_one_line_error(code, err, "--workers applies to --backend local", "--run-cpus")
