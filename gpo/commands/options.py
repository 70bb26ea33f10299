"""Options and helpers that several ``gpo`` commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import click

__all__ = ["console", "data_dir_option", "mlflow_options", "model_option", "request_options", "task_argument", "one_task", "SectionedCommand"]


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


def mlflow_options(f):
    """``--mlflow [TRACKING_URI]`` and ``--mlflow-experiment NAME`` (see :mod:`gpo.sweep.tracking`)."""
    f = click.option("--mlflow-experiment", default="gpo", show_default=True, help="The MLflow experiment of --mlflow.")(f)
    return click.option(
        "--mlflow", "mlflow_uri", is_flag=False, flag_value="", default=None, metavar="[TRACKING_URI]",
        help="Log to MLflow (the mlflow extra); without a URI, MLflow's default ($MLFLOW_TRACKING_URI).",
    )(f)


def _set_timeout(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> None:
    if value is not None:  # every model this command builds reads it (see gpo.lm.limits)
        import os

        os.environ["GPO_TIMEOUT"] = repr(value)


def _set_retries(ctx: click.Context, param: click.Parameter, value: Optional[int]) -> None:
    if value is not None:  # every model this command builds reads it (see gpo.lm.limits)
        import os

        os.environ["GPO_RETRIES"] = str(value)


def _set_threads(ctx: click.Context, param: click.Parameter, value: Optional[int]) -> None:
    if value is not None:  # local servers this command starts read it (see gpo.lm.llama_server)
        import os

        os.environ["GPO_THREADS"] = str(value)


def request_options(f):
    """``--timeout`` and ``--retries``: how patient every model request of the command is."""
    f = click.option(
        "--retries", type=click.IntRange(min=0, max=100), default=None, expose_value=False, callback=_set_retries,
        help="Retries of a failed request: rate limits, 5xx, time-outs, malformed answers (default: $GPO_RETRIES, else 8).",
    )(f)
    return click.option(
        "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, expose_value=False,
        callback=_set_timeout, metavar="SECONDS",
        help="Seconds one model request may take before it fails and is retried (default: $GPO_TIMEOUT, else 600).",
    )(f)


def model_option(f):
    f = click.option(
        "--threads", type=click.IntRange(min=1), default=None, expose_value=False, callback=_set_threads,
        help="CPU threads of a local model's server (default: $GPO_THREADS, else the cores idle when it starts).",
    )(f)
    f = request_options(f)
    return click.option(
        "-m",
        "--model",
        default=None,
        help="Task model spec (default: $GPO_MODEL, else local:qwen2.5-coder-0.5b).",
    )(f)


def task_argument(f):
    """The task, as the first argument (``gpo optimize TASK``) or as ``--task``/``-t``."""
    f = click.option(
        "--task", "-t", "task_option", default=None, metavar="TASK",
        help="Task spec (see `gpo tasks`); the same as giving TASK as the first argument.",
    )(f)
    return click.argument("task_spec", required=False, metavar="[TASK]")(f)


def one_task(task_spec: Optional[str], task_option: Optional[str]) -> str:
    """The task given as an argument or with ``--task``: one of them, or both alike.

    Raises:
        click.UsageError: No task, or two different ones.
    """
    if task_spec and task_option and task_spec != task_option:
        raise click.UsageError(f"two tasks given, {task_spec!r} and --task {task_option!r}: give one")
    task = task_spec or task_option
    if not task:
        raise click.UsageError("no task given: write it as the first argument or with --task (`gpo tasks` lists them)")
    return task


class SectionedCommand(click.Command):
    """A command whose ``--help`` lists its options in titled sections.

    Args:
        sections: ``(title, options)`` in the order to print, each option named by its
            parameter name or one of its flags (``--help``); options in no section are
            listed last under "Other options".
        **kwargs: Those of :class:`click.Command`.
    """

    def __init__(self, *args: Any, sections: Sequence[tuple[str, Sequence[str]]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections = [(title, tuple(names)) for title, names in sections]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        placed: set[str] = set()
        for title, names in self.sections:
            rows = [
                record for name in names for p in options
                if name in (p.name, *p.opts) and (record := p.get_help_record(ctx)) is not None
            ]
            placed.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [
            record for p in options
            if placed.isdisjoint((p.name, *p.opts)) and (record := p.get_help_record(ctx)) is not None
        ]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)
