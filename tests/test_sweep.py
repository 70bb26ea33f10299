"""``gpo sweep``: the plan, the manifest, real sweeps through the CLI, resume after SIGKILL,
a worker pool, a shared response cache, and bad input."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from markupsafe import escape as html_escape  # as the page template escapes
from click.testing import CliRunner
from test_cli import assert_one_line_error
from test_cli import run as run_main

from gpo.cli import cli
from gpo.errors import ConfigError
from gpo.sweep.aggregate import summarize
from gpo.sweep.manifest import Manifest
from gpo.sweep.plan import SweepPlan, parse_grid, parse_list, parse_seeds, safe_name
from gpo.testing.server import OpenAICompatServer, optimization_reply

TASKS = "synthetic/boolean_expressions,synthetic/navigate"


def sweep_args(out, *extra, tasks=TASKS, methods="gpo,opro", seeds="0,1", steps="1", model="fake:"):
    return [
        "sweep", "--tasks", tasks, "--methods", methods, "--seeds", seeds, "--out", str(out),
        "-m", model, "--steps", steps, "--embedder", "lexical", "--no-run-reports", *extra,
    ]


def invoke(args, **env):
    return CliRunner().invoke(cli, args, env={"COLUMNS": "80", **env}, catch_exceptions=False)


@pytest.fixture
def slow_server():
    """A model server that answers every request after 20 ms, so that runs take a while."""
    with OpenAICompatServer(delay=0.02, responder=optimization_reply) as server:
        yield server


# -- the plan ------------------------------------------------------------------------------------


def test_plan_expands_tasks_variants_and_seeds_with_safe_names(tmp_path):
    plan = SweepPlan(
        tasks=("synthetic/navigate", "jsonl:/data/my set.jsonl?input=q"),
        methods=("gpo", "cot"),
        seeds=(0, 1),
        grid=parse_grid(["schedule=cosine,linear", "k=1,3"]),
    )
    labels = [v[0] for v in plan.variants()]
    assert labels == [
        "gpo[schedule=cosine,k=1]", "gpo[schedule=cosine,k=3]", "gpo[schedule=linear,k=1]", "gpo[schedule=linear,k=3]", "cot",
    ]
    runs = plan.runs(str(tmp_path))
    assert len(runs) == 2 * 5 * 2
    assert runs[0].name == "synthetic-navigate__gpo_schedule=cosine,k=1__s0"
    assert runs[0].parts == {"schedule": "cosine", "k": 1} and runs[0].preset == "gpo"
    assert runs[-1].name == "jsonl_-data-my_set.jsonl_input=q__cot__s1"
    assert len({r.name for r in runs}) == len(runs)
    for r in runs:
        assert Path(r.run_dir).parent == tmp_path / "runs"
        assert "/" not in r.name and " " not in r.name
    kwargs = runs[1].optimize_kwargs()
    assert kwargs["seed"] == 1 and kwargs["k"] == 1 and kwargs["run_dir"] == runs[1].run_dir


def test_names_that_would_collide_are_kept_apart():
    plan = SweepPlan(tasks=("a/b", "a-b", "x" * 120), methods=("gpo",), seeds=(0,))
    names = [r.name for r in plan.runs()]
    assert len(set(names)) == 3
    assert names[0].startswith("a-b-") and names[1].startswith("a-b-") and len(names[2]) < 100
    assert safe_name("gpo[schedule=linear]") == "gpo_schedule=linear"


def test_plan_parsing_errors():
    with pytest.raises(ConfigError, match="listed twice"):
        parse_list("a,b,a", "task")
    with pytest.raises(ConfigError, match="empty task"):
        parse_list("a,,b", "task")
    with pytest.raises(ConfigError, match="not an integer"):
        parse_seeds("0,x")
    with pytest.raises(ConfigError, match="not a part setting"):
        parse_grid(["colour=red"])
    with pytest.raises(ConfigError, match="not an integer"):
        parse_grid(["k=1,three"])
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["k=1", "k=3"])
    assert parse_grid(["reject-over-budget=true,false"]) == {"reject_over_budget": [True, False]}
    a = SweepPlan(("t",), ("gpo",), (0,), options={"steps": 1})
    assert a.difference(SweepPlan(("t",), ("gpo",), (0,), options={"steps": 2})) == "steps: 1 here, 2 in the other"
    assert a.difference(SweepPlan.from_dict(a.to_dict())) is None


# -- a real sweep through the CLI ------------------------------------------------------------------


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_sweep_runs_writes_and_prints_the_table(tmp_path):
    out = tmp_path / "sweep"
    result = invoke(sweep_args(out))
    assert result.exit_code == 0, result.output
    assert "executed 8 of 8 runs (8 started, 0 resumed, 0 failed; 0 finished before)" in result.stderr

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == 1
    assert manifest["plan"]["tasks"] == TASKS.split(",") and manifest["plan"]["seeds"] == [0, 1]
    assert manifest["plan"]["options"]["model"] == "fake:" and manifest["plan"]["options"]["steps"] == 1
    assert len(manifest["runs"]) == 8
    for r in manifest["runs"]:
        assert r["status"] == "finished" and r["action"] == "started" and r["error"] is None
        assert r["host"] and isinstance(r["pid"], int) and r["pid"] != os.getpid()
        assert r["started"] and r["ended"] and r["seconds"] >= 0 and r["attempts"] == 1
        assert (out / r["dir"] / "summary.json").exists() and r["dir"].startswith("runs/")
    assert [r["name"] for r in manifest["runs"][:2]] == [
        "synthetic-boolean_expressions__gpo__s0", "synthetic-boolean_expressions__gpo__s1",
    ]

    # The table's numbers, recomputed from the runs' own summaries.
    finals: dict = {}
    for r in manifest["runs"]:
        s = json.loads((out / r["dir"] / "summary.json").read_text())
        assert s["seed"] == r["seed"] and s["task"] == r["task"] and s["method"] == r["method"]
        finals.setdefault((r["method"], r["task"]), []).append(s["scores"]["best"]["test"])
    table = read_csv(out / "table.csv")
    assert table[0] == [
        "method",
        "synthetic/boolean_expressions", "synthetic/boolean_expressions sd", "synthetic/boolean_expressions n",
        "synthetic/navigate", "synthetic/navigate sd", "synthetic/navigate n",
        "mean", "mean sd", "gain",
    ]
    printed_rows: dict = {}
    for line in result.stdout.splitlines():  # the first table's rows come first
        if line.split()[:1] in (["gpo"], ["opro"]):
            printed_rows.setdefault(line.split()[0], line.split())
    for row in table[1:]:
        method = row[0]
        cells = [summarize(finals[(method, t)]) for t in TASKS.split(",")]
        assert row[1] == f"{cells[0].mean * 100:.2f}" and row[2] == f"{cells[0].sd * 100:.2f}" and row[3] == "2"
        assert row[4] == f"{cells[1].mean * 100:.2f}" and row[6] == "2"
        assert row[7] == f"{(cells[0].mean + cells[1].mean) / 2 * 100:.2f}"
        # What the terminal shows: one decimal, mean±sd.
        assert printed_rows[method][1] == f"{cells[0].mean * 100:.1f}±{cells[0].sd * 100:.1f}"
    assert max(len(line) for line in result.stdout.splitlines() if not line.startswith("files:")) <= 80
    assert "Paired tests: gpo − method" in result.stdout and "Calls per method" in result.stdout

    tests = read_csv(out / "tests.csv")
    assert tests[1][:3] == ["gpo", "opro", "4"]
    calls = read_csv(out / "calls.csv")
    assert [row[:2] for row in calls[1:]] == [["gpo", "4"], ["opro", "4"]]
    data = json.loads((out / "aggregate.json").read_text())
    assert data["methods"] == ["gpo", "opro"] and len(data["runs"]) == 8
    html = (out / "sweep.html").read_text()
    assert "<script" not in html and "synthetic/navigate" in html and "Paired tests" in html
    assert "runs/synthetic-navigate__opro__s1" in html
    assert "2 tasks × 2 methods × 2 seeds: 8 runs finished, 0 failed, 0 not run" in html
    # Each run's final prompt, as its summary has it, in runs.csv and on the page.
    runs = read_csv(out / "runs.csv")
    assert runs[0][-1] == "final_prompt" and len(runs) == 9
    for row in runs[1:]:
        best = json.loads((out / row[runs[0].index("run_dir")] / "summary.json").read_text())["best_prompt"]
        assert row[-1] == best and str(html_escape(best[:40])) in html

    # Again: nothing runs, nothing changes.
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/summary.json")}
    table_bytes = (out / "table.csv").read_bytes()
    again = invoke(sweep_args(out))
    assert again.exit_code == 0
    assert "executed 0 of 8 runs (0 started, 0 resumed, 0 failed; 8 finished before)" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/summary.json")} == stamps
    assert (out / "table.csv").read_bytes() == table_bytes

    # Re-aggregating only, and continuing with the directory alone.
    only = invoke(["sweep", "--out", str(out), "--table"])
    assert only.exit_code == 0 and "executed" not in only.stderr
    assert [l for l in only.stdout.splitlines() if l.startswith("gpo ")] == [l for l in result.stdout.splitlines() if l.startswith("gpo ")]
    cont = invoke(["sweep", "--out", str(out)])
    assert cont.exit_code == 0 and "executed 0 of 8 runs" in cont.stderr

    # A reader that stops reading (`gpo sweep --table | head -3`) does not stop the files.
    for name in ("table.csv", "aggregate.json"):
        (out / name).unlink()
    proc = gpo_process(["sweep", "--out", str(out), "--table"], tmp_path / "home")
    proc.stdout.close()
    proc.wait(timeout=120)
    assert (out / "table.csv").read_bytes() == table_bytes and (out / "aggregate.json").exists()


def test_two_workers_give_the_same_table_as_one(tmp_path, slow_server):
    # Runs slow enough that the second worker is up before the first has done them all,
    # and a response cache of their own for each sweep.
    args = lambda out, n: sweep_args(out, "--workers", n, "--test-limit", "6", model=f"openai:m@{slow_server.url}")  # noqa: E731
    one = invoke(args(tmp_path / "one", "1"), GPO_HOME=str(tmp_path / "home1"))
    two = invoke(args(tmp_path / "two", "2"), GPO_HOME=str(tmp_path / "home2"))
    assert one.exit_code == two.exit_code == 0, two.output
    for name in ("table.csv", "tests.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    # Calls made are the same; which were paid depends on which run asked the shared cache first.
    calls = [[row[:4] + row[5:] for row in read_csv(tmp_path / d / "calls.csv")] for d in ("one", "two")]
    assert calls[0] == calls[1]
    tables = lambda text: text.split("Calls per method")[0]  # noqa: E731
    assert tables(one.stdout) == tables(two.stdout)
    assert "gpo   " in tables(one.stdout) and "Paired tests" in tables(one.stdout)
    pids = {r["pid"] for r in json.loads((tmp_path / "two" / "manifest.json").read_text())["runs"]}
    assert len(pids) == 2  # both workers ran runs


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "sweep"
    args = sweep_args(out, tasks="synthetic/navigate", methods="opro")
    assert invoke(args).exit_code == 0
    broken = out / "runs" / "synthetic-navigate__opro__s1"
    (broken / "summary.json").unlink()
    (broken / "checkpoint.json").write_text("{not json")
    result = invoke(args)
    assert result.exit_code == 1
    assert "executed 1 of 2 runs (0 started, 1 resumed, 1 failed; 1 finished before)" in result.stderr
    entry = Manifest.load(out).entry("synthetic-navigate__opro__s1")
    assert entry["status"] == "failed" and entry["action"] == "resumed"
    assert "checkpoint.json" in entry["error"] and "\n" not in entry["error"] and entry["attempts"] == 2
    assert "failed: synthetic-navigate__opro__s1:" in result.stderr
    assert read_csv(out / "table.csv")[1][1:4][2] == "1"  # the other seed is still in the table
    page = (out / "sweep.html").read_text()
    assert "Failures" in page and "1 task × 1 method × 2 seeds: 1 run finished, 1 failed, 0 not run" in page


def test_grid_variants_are_rows(tmp_path):
    out = tmp_path / "grid"
    result = invoke(sweep_args(out, "--grid", "k=1,2", tasks="synthetic/navigate", methods="gpo,cot", seeds="0"))
    assert result.exit_code == 0, result.output
    rows = [row[0] for row in read_csv(out / "table.csv")[1:]]
    assert rows == ["gpo[k=1]", "gpo[k=2]", "cot"]
    printed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith(("gpo", "cot"))]
    assert printed[:3] == rows  # names print as they are, not as markup
    config = json.loads((out / "runs" / "synthetic-navigate__gpo_k=2__s0" / "config.json").read_text())
    assert config["run"]["optimizer"]["momentum"]["k"] == 2
    assert read_csv(out / "tests.csv")[1][:2] == ["gpo[k=1]", "gpo[k=2]"]

    # `gpo compare --table` on the same runs names the variants from their configs and
    # prints the same rows (in the paper's order: references first).
    from gpo.report.commands import compare_command

    compared = CliRunner().invoke(compare_command, [str(out / "runs"), "--table", "--html", str(tmp_path / "c.html")], env={"COLUMNS": "80"})
    assert compared.exit_code == 0, compared.output
    table = lambda text: [line for line in text.split("Paired tests")[0].splitlines() if line.startswith(("gpo", "cot"))]  # noqa: E731
    assert table(compared.stdout) == [table(result.stdout)[i] for i in (2, 0, 1)]
    assert "gpo[k=2]" in (tmp_path / "c.html").read_text()


def test_without_the_report_extra_the_table_still_prints(tmp_path, monkeypatch):
    import gpo.report.extra
    import gpo.sweep.paired

    monkeypatch.setattr(gpo.sweep.paired, "available", lambda: False)
    monkeypatch.setattr(gpo.report.extra, "missing_packages", lambda: ["jinja2", "scipy"])
    out = tmp_path / "sweep"
    result = invoke(sweep_args(out, tasks="synthetic/navigate", methods="gpo,cot", seeds="0"))
    assert result.exit_code == 0, result.output
    assert any(line.split()[:1] == ["cot"] for line in result.stdout.splitlines())
    assert "note: paired tests need SciPy and NumPy: pip install 'gpo[report]'" in result.stdout
    assert "no HTML page: the report extra is not installed (pip install 'gpo[report]')" in result.stderr
    assert not (out / "sweep.html").exists() and (out / "table.csv").exists()
    assert read_csv(out / "tests.csv") == [read_csv(out / "tests.csv")[0]]


def test_sweep_modules_import_without_the_report_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('scipy', 'numpy', 'jinja2', 'matplotlib'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import gpo.cli, gpo.sweep.command, gpo.sweep.runner, gpo.sweep.aggregate, gpo.sweep.output, gpo.sweep.display\n"
        "from gpo.sweep.aggregate import aggregate\n"
        "from gpo.sweep.records import RunRecord\n"
        "agg = aggregate([RunRecord('A', 'gpo', 0, 0.5, 0.75)], with_tests=False)\n"
        "print(agg.rows[0].cells['A'].mean, agg.notes)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("0.75") and "pip install 'gpo[report]'" in out.stdout


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--tasks", "synthetic/navigat"], ["unknown task", "synthetic/navigat"]),
        (["--methods", "gpo,sgd"], ["sgd", "unknown method"]),
        (["--grid", "schedule=cosine,wobbly"], ["gpo[schedule=wobbly]"]),
        (["--grid", "colour=red"], ["colour", "not a part setting"]),
        (["--seeds", "0,0"], ["listed twice"]),
        (["-m", "gpt-4"], ["unknown model spec"]),
        (["--reference", "opro"], ["--reference 'opro'", "gpo"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, extra, fragments):
    out = tmp_path / "sweep"
    args = sweep_args(out, tasks="synthetic/navigate", methods="gpo", seeds="0")
    for i in range(0, len(extra), 2):
        flag = extra[i]
        if flag in args:
            args[args.index(flag) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2]
    code, out_text, err = run_main(capsys, *args)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists()


def test_another_plan_in_the_same_directory_is_refused(capsys, tmp_path):
    out = tmp_path / "sweep"
    args = sweep_args(out, tasks="synthetic/navigate", methods="cot", seeds="0")
    assert invoke(args).exit_code == 0
    before = (out / "manifest.json").read_bytes()
    code, _, err = run_main(capsys, *sweep_args(out, tasks="synthetic/navigate", methods="cot", seeds="0,1"))
    assert_one_line_error(code, err, "holds another sweep", "seeds: 0,1 here, 0 recorded", f"gpo sweep --out {out}")
    assert (out / "manifest.json").read_bytes() == before
    code, _, err = run_main(capsys, "sweep", "--out", str(out), "--table", "--steps", "2")
    assert_one_line_error(code, err, "--table", "--steps")
    code, _, err = run_main(capsys, "sweep", "--out", str(tmp_path / "nothing"), "--table")
    assert_one_line_error(code, err, "not a sweep directory")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    code, _, err = run_main(capsys, *sweep_args(tmp_path / "other", tasks="synthetic/navigate", methods="cot", seeds="0"))
    assert_one_line_error(code, err, "not a sweep directory")


# -- processes: SIGKILL and resume, a shared cache -------------------------------------------------


def gpo_process(args, home, **kw):
    env = {**os.environ, "GPO_HOME": str(home), "COLUMNS": "80"}
    env.pop("GPO_MODEL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gpo.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


def finished_runs(out):
    return sorted(p.parent.name for p in out.glob("runs/*/summary.json"))


def interrupted_runs(out):
    return sorted(p.parent.name for p in out.glob("runs/*/checkpoint.json") if not (p.parent / "summary.json").exists())


def test_sigkill_then_the_same_command_resumes_and_matches(tmp_path, slow_server):
    model = f"openai:m@{slow_server.url}"
    args = lambda out: sweep_args(out, "--eval-limit", "6", "--test-limit", "6", tasks="synthetic/navigate", steps="3", model=model)  # noqa: E731
    ref = gpo_process(args(tmp_path / "ref"), tmp_path / "home-ref")
    _, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err

    out = tmp_path / "killed"
    proc = gpo_process(args(out), tmp_path / "home", start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        try:
            runs = json.loads((out / "manifest.json").read_text())["runs"]
        except (FileNotFoundError, ValueError):
            runs = []
        # Kill once a run has finished and another is between two checkpoints.
        if any(r["status"] == "finished" for r in runs) and interrupted_runs(out):
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-run
    proc.wait(timeout=30)
    done, interrupted = finished_runs(out), interrupted_runs(out)
    assert 1 <= len(done) < 4 and interrupted, (done, interrupted)
    stamps = {name: (out / "runs" / name / "summary.json").stat().st_mtime_ns for name in done}

    again = gpo_process(args(out), tmp_path / "home")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    todo = 4 - len(done)
    counts = f"({todo - len(interrupted)} started, {len(interrupted)} resumed, 0 failed; {len(done)} finished before)"
    assert f"executed {todo} of 4 runs {counts}" in err, err
    assert {name: (out / "runs" / name / "summary.json").stat().st_mtime_ns for name in done} == stamps
    assert all(r["status"] == "finished" for r in json.loads((out / "manifest.json").read_text())["runs"])
    for name in ("table.csv", "tests.csv"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name
    for name in finished_runs(out):
        a = json.loads((out / "runs" / name / "summary.json").read_text())
        b = json.loads((tmp_path / "ref" / "runs" / name / "summary.json").read_text())
        assert (a["best_prompt"], a["scores"]) == (b["best_prompt"], b["scores"]), name


@pytest.mark.parametrize("workers, group", [("2", False), ("1", True), ("2", True)])
def test_sigterm_stops_the_workers_and_says_how_to_continue(tmp_path, slow_server, workers, group):
    """SIGTERM to the sweep alone, or to every process of it (as a batch system stops a job)."""
    out = tmp_path / "sweep"
    args = sweep_args(out, tasks="synthetic/navigate", methods="gpo", seeds="0,1", steps="30", model=f"openai:m@{slow_server.url}")
    proc = gpo_process([*args, "--workers", workers], tmp_path / "home", start_new_session=group)
    deadline = time.monotonic() + 120
    while not interrupted_runs(out):  # a run is under way and has a checkpoint
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    pids = {r["pid"] for r in json.loads((out / "manifest.json").read_text())["runs"] if r["status"] == "running"}
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "gpo: sweep interrupted; progress is saved" in err and f"gpo sweep --out {out}" in err, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert pids
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert {r["status"] for r in json.loads((out / "manifest.json").read_text())["runs"]} == {"pending"}


def test_an_interrupted_pool_leaves_no_management_thread_behind(tmp_path, slow_server):
    """Python wakes a pool's management thread at exit without its lock; a thread still
    running then can close its pipe under that call and print a traceback (EBADF)."""
    import threading
    from concurrent.futures.process import _ExecutorManagerThread

    from gpo.sweep.executor import LocalPool
    from gpo.sweep.plan import RunSpec

    spec = RunSpec("r", "synthetic/navigate", "gpo", "gpo", {}, 0, str(tmp_path / "r"),
                   {"model": f"openai:m@{slow_server.url}", "steps": 30, "eval_limit": 6, "test_limit": 6, "report": False})

    def on_start(*_):
        raise KeyboardInterrupt  # as SIGTERM or Ctrl-C in the driving process

    with pytest.raises(KeyboardInterrupt):
        LocalPool(1).run([spec], on_start, lambda outcome: None)
    assert not [t for t in threading.enumerate() if isinstance(t, _ExecutorManagerThread)]


def test_workers_share_one_response_cache(tmp_path):
    with OpenAICompatServer(responder=optimization_reply) as server:
        spec = f"openai:m@{server.url}"
        args = lambda out: sweep_args(  # noqa: E731
            out, "--eval-limit", "4", "--test-limit", "4", "--workers", "2",
            tasks="synthetic/boolean_expressions", methods="opro,cot", model=spec,
        )
        first = invoke(args(tmp_path / "first"))
        assert first.exit_code == 0, first.output
        sent = len(server.requests)
        assert sent > 0
        assert (Path(os.environ["GPO_HOME"]) / "cache.db").exists()
        second = invoke(args(tmp_path / "second"))
        assert second.exit_code == 0, second.output
        assert len(server.requests) == sent  # every answer came from the cache both workers wrote
    assert (tmp_path / "first" / "table.csv").read_bytes() == (tmp_path / "second" / "table.csv").read_bytes()
    paid = [row[4] for row in read_csv(tmp_path / "second" / "calls.csv")[1:]]
    assert paid == ["0", "0"]
