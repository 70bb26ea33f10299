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
    import os
    import subprocess
    import sys

    block = next(b for b in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S) if "reviews/train.jsonl" in b)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gpo").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gpo.cli "$@"\n')
    (bin_dir / "gpo").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GPO_MODEL": "fake:",
        "GPO_HOME": str(tmp_path / "home"), "PYTHONPATH": str(README.parent), "COLUMNS": "80",
    }
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
