"""Options and helpers that several ``gpo`` commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

__all__ = ["console", "data_dir_option", "model_option"]


def console():
    """A rich console for tables (made when a command prints one)."""
    from rich.console import Console

    return Console()


def data_dir_option(f):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="GPO_DATA_DIR",
        help="Data folder: gpo-splits, instruction-induction, or a folder holding them (default: $GPO_DATA_DIR).",
    )(f)


def _set_timeout(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> None:
    if value is not None:  # every model this command builds reads it (see gpo.lm.limits)
        import os

        os.environ["GPO_TIMEOUT"] = repr(value)


def model_option(f):
    f = click.option(
        "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, expose_value=False,
        callback=_set_timeout, metavar="SECONDS",
        help="Seconds one model request may take before it fails and is retried (default: $GPO_TIMEOUT, else 600).",
    )(f)
    return click.option(
        "-m",
        "--model",
        default=None,
        help="Task model spec (default: $GPO_MODEL, else local:qwen2.5-coder-0.5b).",
    )(f)
