"""Where ``gpo`` keeps its files, read from the environment when asked (never on import)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_LOCAL_MODEL = "local:qwen2.5-coder-0.5b"


def gpo_home() -> Path:
    """The folder for the response cache, model files and runs: ``GPO_HOME`` or ``~/.cache/gpo``.

    Raises:
        ConfigError: The path exists and is not a folder.
    """
    value = os.environ.get("GPO_HOME")
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "gpo"
    if path.exists() and not path.is_dir():
        from gpo.errors import ConfigError

        raise ConfigError(
            f"{'GPO_HOME' if value else 'the gpo folder'} {path} is a file, not a folder",
            hint="set GPO_HOME to a folder",
        )
    return path


def default_model() -> str:
    """The task model used when none is given: ``GPO_MODEL``, else the embedded local model."""
    return os.environ.get("GPO_MODEL") or DEFAULT_LOCAL_MODEL
