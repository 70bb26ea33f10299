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
