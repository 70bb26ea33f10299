"""``gpo sweep --mlflow``: a sweep and its runs in a real MLflow file store, read back through
MLflow's client: parameters, step metrics, artifacts, nesting, and no key anywhere."""

import json
from pathlib import Path

import pytest
from test_sweep import invoke, sweep_args

from gpo.sweep.tracking import redact, run_metrics
from gpo.testing.server import OpenAICompatServer, optimization_reply

mlflow = pytest.importorskip("mlflow")

KEY = "sk-gpo-test-7f3a9c1e5b"


def test_redact_masks_url_credentials_query_keys_and_key_like_environment_values():
    env = {"OPENAI_API_KEY": KEY, "GPO_API_KEY_HOST": "tok-1234567890", "HOME": "/home/someone-long"}
    text = f"openai:m@https://me:pw@host/v1?key=abc&n=1 {KEY} tok-1234567890 /home/someone-long"
    assert redact(text, env) == "openai:m@https://***@host/v1?key=***&n=1 *** *** /home/someone-long"


def test_run_metrics_per_step():
    from types import SimpleNamespace as E

    history = [E(step=0, score=0.5), E(step=1, score=0.25), E(step=2, score=0.75)]
    cands = [E(step=1, eval_score=0.25, duplicate=False, edit_budget=10, edit_distance=4),
             E(step=1, eval_score=0.2, duplicate=False, edit_budget=10, edit_distance=8),
             E(step=2, eval_score=None, duplicate=False, edit_budget=5, edit_distance=30)]
    usage = {"setup": {"task": {"calls": 4, "input_tokens": 10, "output_tokens": 2, "cost_usd": 0.5}},
             "1": {"optimizer": {"calls": 1, "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.25}}}
    summary = {"usage_by_step": usage, "scores": {"best": {"eval": 0.75, "test": 0.5}}, "steps_completed": 2}
    metrics = run_metrics(summary, history, cands)
    by = lambda key: [(v, s) for k, v, s in metrics if k == key]  # noqa: E731
    assert by("best_eval_score") == [(0.5, 0), (0.5, 1), (0.75, 2)]
    assert by("edit_budget") == [(10.0, 1)] and by("edit_distance") == [(6.0, 1)]
    assert by("calls") == [(4.0, 0), (5.0, 1), (5.0, 2)] and by("tokens")[-1] == (132.0, 2)
    assert by("cost_usd")[1] == (0.75, 1)
    assert by("best_test") == [(0.5, 2)] and by("steps_completed") == [(2.0, 2)]


def test_a_sweep_and_its_runs_are_logged_nested_and_read_back(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps file stores behind this
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    uri = (tmp_path / "mlruns").as_uri()
    out = tmp_path / "sweep"
    with OpenAICompatServer(responder=optimization_reply, api_key=KEY) as server:
        args = sweep_args(out, "--test-limit", "6", "--mlflow", uri, "--mlflow-experiment", "sweeps",
                          tasks="synthetic/navigate", methods="gpo,cot", seeds="0,1", steps="2",
                          model=f"openai:m@{server.url}")
        args[args.index("--no-run-reports")] = "--run-reports"
        result = invoke(args)
        assert result.exit_code == 0, result.output
        # Again: nothing new runs, and nothing is logged twice.
        assert invoke(args).exit_code == 0

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("sweeps")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("gpo.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("gpo.kind") == "run"]
    assert len(parents) == 1 and len(children) == 4
    parent = parents[0]
    assert parent.data.tags["gpo.sweep"] == str(out.resolve()) and parent.info.status == "FINISHED"
    assert json.loads(parent.data.params["methods"]) == ["gpo", "cot"]
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {"table.csv", "tests.csv", "aggregate.json"}
    assert parent.data.metrics["runs_finished"] == 4

    manifest = {r["name"]: r for r in json.loads((out / "manifest.json").read_text())["runs"]}
    for run in children:
        name = run.data.tags["gpo.run"]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id and run.info.run_name == name
        p = run.data.params
        assert (p["task"], p["method"], p["seed"], p["protocol"]) == ("synthetic/navigate", manifest[name]["method"], str(manifest[name]["seed"]), "quick")
        assert p["task_model"].startswith("openai:m") and json.loads(p["parts"]) == {}
        summary = json.loads((out / manifest[name]["dir"] / "summary.json").read_text())
        assert run.data.metrics["best_test"] == pytest.approx(summary["scores"]["best"]["test"])
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"summary.json", "trajectory.jsonl", "report.html"} <= artifacts
        best = client.get_metric_history(run.info.run_id, "best_eval_score")
        calls = client.get_metric_history(run.info.run_id, "calls")
        if manifest[name]["method"] == "gpo":
            assert [m.step for m in best] == [0, 1, 2]
            assert [m.value for m in best] == sorted(m.value for m in best)  # best so far never falls
            assert best[-1].value == pytest.approx(summary["scores"]["best"]["eval"])
            assert [m.step for m in client.get_metric_history(run.info.run_id, "edit_budget")] == [1, 2]
            assert client.get_metric_history(run.info.run_id, "edit_distance")
        assert calls and calls[-1].value == sum(u["calls"] for u in summary["usage"].values())

    # No key in any logged value: parameters, tags, metrics' names, or artifact contents.
    texts = []
    for run in runs:
        texts += [*run.data.params.values(), *run.data.tags.values(), *run.data.metrics]
        folder = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, tracking_uri=uri, dst_path=str(tmp_path / "dl" / run.info.run_id)))
        texts += [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
    assert texts and not any(KEY in t for t in texts)
    assert server.requests and all(r["headers"].get("authorization") == f"Bearer {KEY}" for r in server.requests)


def test_gpo_optimize_logs_its_run_alone(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    run_dir = tmp_path / "run"
    result = invoke(["optimize", "--task", "synthetic/navigate", "-m", "fake:", "--steps", "2", "--embedder", "lexical",
                     "--run-dir", str(run_dir), "--mlflow", uri, "-q"])
    assert result.exit_code == 0, result.output
    run_id = result.stderr.split("mlflow run: ")[1].split()[0]
    run = MlflowClient(uri).get_run(run_id)
    assert "mlflow.parentRunId" not in run.data.tags and run.data.tags["gpo.run"] == "run"
    assert run.data.params["method"] == "gpo" and run.data.params["seed"] == "0"
    history = MlflowClient(uri).get_metric_history(run_id, "best_eval_score")
    assert [m.step for m in history] == [0, 1, 2]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert history[-1].value == pytest.approx(summary["scores"]["best"]["eval"])
    assert {"summary.json", "trajectory.jsonl"} <= {a.path for a in MlflowClient(uri).list_artifacts(run_id)}
