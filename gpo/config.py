"""Where ``gpo`` keeps its files, read from the environment when asked (never on import)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_LOCAL_MODEL = "local:qwen2.5-coder-0.5b"


def gpo_home() -> Path:
    """The folder for the response cache, model files and runs: ``GPO_HOME`` or ``~/.cache/gpo``."""
    value = os.environ.get("GPO_HOME")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "gpo"


def default_model() -> str:
    """The task model used when none is given: ``GPO_MODEL``, else the embedded local model."""
    return os.environ.get("GPO_MODEL") or DEFAULT_LOCAL_MODEL
