"""The README's Python examples run as written (those that need no local model)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_hand_built_optimizer_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = python_blocks()[0]
    assert "written anew:" in first
    code = "import gpo\n" + first.split("written anew:\n", 1)[1]  # the part that runs offline (dry run)
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    result = scope["result"]
    assert result.run_dir is not None and (result.run_dir / "config.json").exists()
    config = __import__("gpo.api", fromlist=["load_run_config"]).load_run_config(result.run_dir)
    assert config.optimizer.selection == scope["BestOrShortest"]()
    assert config.optimizer.update.num_candidates == 4


def test_the_evaluator_example_runs_with_a_fake_model(tmp_path, monkeypatch, capsys):
    import warnings

    monkeypatch.chdir(tmp_path)
    block = next(b for b in python_blocks() if "Evaluator(task, lm)" in b)
    assert 'get_lm("local:qwen2.5-coder-0.5b")' in block
    code = block.replace('get_lm("local:qwen2.5-coder-0.5b")', 'get_lm("fake:")')  # no local model here
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, str(README), "exec"), {})
    score, usage = capsys.readouterr().out.split(" ", 1)
    assert 0.0 <= float(score) <= 1.0 and "'task'" in usage


def test_the_own_data_example_runs_verbatim(tmp_path):
    """A new user can follow the README's own-data example word for word (here with GPO_MODEL=fake:)."""
    import json
    import subprocess

    block = next(b for b in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S) if "reviews/train.jsonl" in b)
    work = tmp_path / "work"
    work.mkdir()
    env = {**_gpo_on_path(tmp_path), "GPO_MODEL": "fake:"}
    done = subprocess.run(["bash", "-e", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "/ 4 examples)" in done.stdout  # gpo evaluate scored the eval split
    runs = list((tmp_path / "home" / "runs").glob("*-jsonl_reviews_format=exact-gpo"))
    assert len(runs) == 1, list((tmp_path / "home" / "runs").iterdir())
    config = json.loads((runs[0] / "config.json").read_text())
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert config["answer_format"] == summary["answer_format"] == "exact"
    assert summary["initial_prompt"] == "Is this movie review positive or negative? Answer with one word."
    assert summary["steps_completed"] == 3
    assert f"run directory: {runs[0]}" in done.stdout


def _gpo_on_path(tmp_path):
    """A folder with a `gpo` that runs this checkout, and the environment that puts it first."""
    import os
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gpo").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gpo.cli "$@"\n')
    (bin_dir / "gpo").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPO_", "OPENAI_"))}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "GPO_HOME": str(tmp_path / "home"),
            "PYTHONPATH": str(README.parent), "COLUMNS": "80"}


def test_the_error_examples_are_the_real_messages(tmp_path):
    import subprocess

    section = README.read_text(encoding="utf-8").split("## Errors", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S).group(1)
    pairs = re.findall(r"^\$ (.+)\n(gpo: error: .+)$", block, re.M)
    assert len(pairs) == block.count("\n$ ") + block.startswith("$ ") >= 5
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "notes.txt").write_text("my notes")
    env = _gpo_on_path(tmp_path)
    for command, expected in pairs:
        done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stderr.strip()) == (2, expected), command


def test_the_cluster_and_serving_commands_use_options_that_exist():
    """Every `gpo` command of the Ray, tracking and serving sections names real options."""
    from gpo.cli import cli

    text = README.read_text(encoding="utf-8")
    section = text[text.index("### On a Ray cluster") : text.index("## In Python")]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("gpo "):
                commands.append(line.split())
    assert {c[1] for c in commands} == {"sweep", "optimize"} and len(commands) == 3
    for words in commands:
        command = cli.commands[words[1]]
        options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        used = [w for w in words[2:] if w.startswith("--")]
        assert used and all(w in options for w in used), [w for w in used if w not in options]
