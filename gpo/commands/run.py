"""``gpo optimize``, ``gpo resume`` and ``gpo replay``, and how a run's result is printed."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import click

from gpo.commands.interrupt import run_interruptibly
from gpo.commands.options import (
    SectionedCommand, console, data_dir_option, mlflow_options, model_option, one_task, request_options, task_argument,
)
from gpo.optim.presets import PRESETS
from gpo.optim.racing import Racing
from gpo.sizes import most

__all__ = ["optimize", "resume", "replay", "parse_budget"]

PRESET_NAMES = list(PRESETS)


def _fmt(score: Optional[float]) -> str:
    return "  –  " if score is None else f"{score:.3f}"


SECTIONS = (
    ("Task", ("task_option", "data_dir", "placement", "initial_prompt")),
    ("Models", ("model", "optimizer_model", "embedder", "timeout", "retries", "threads", "concurrency", "no_cache")),
    ("Method and its parts", (
        "method", "information", "trajectory", "k", "refinement", "schedule", "lr_init", "lr_end", "warmup_steps",
        "selection", "optimizer_temperature", "optimizer_max_tokens",
    )),
    ("Protocol", (
        "protocol", "steps", "epochs", "num_candidates", "batch_size", "num_format_examples", "eval_limit",
        "test_limit", "two_round", "answer_tokens", "seed", "mistakes", "diverse_examples", "rule_first", "plain_examples", "answer_notes", "wrapped_answers_only",
        "hygiene", "clip_over_budget", "reject_over_budget", "fill_candidates", "max_resample_rounds", "tie_break", "near_misses", "racing",
        "racing_confidence", "racing_min_slice", "test_every_step",
    )),
    ("Budget", ("max_calls", "max_tokens", "max_cost", "role_budgets", "patience", "dry_run")),
    ("Output", ("run_dir", "as_json", "quiet", "mlflow_uri", "mlflow_experiment", "--help")),
)
"""The sections of ``gpo optimize --help``, by parameter name."""


@click.command(cls=SectionedCommand, sections=SECTIONS)
@task_argument
@click.option("--method", default="gpo", show_default=True, type=click.Choice(PRESET_NAMES), help="Optimizer preset.")
@click.option("--protocol", default="quick", show_default=True, type=click.Choice(["quick", "paper"]), help="quick: a few minutes on a CPU; paper: the paper's protocol (3 epochs, 8 candidates, two rounds, full splits).")
@click.option("--steps", type=click.IntRange(min=0, max=most("steps")), default=None, help="Number of steps T.")
@click.option("--epochs", type=click.IntRange(min=1, max=most("epochs")), default=None, help="Epochs over the train split (T = epochs × steps per epoch).")
@click.option("--candidates", "num_candidates", type=click.IntRange(min=1, max=most("num_candidates")), default=None, help="Candidates sampled per step.")
@click.option("--eval-limit", type=click.IntRange(min=1, max=most("eval_limit")), default=None, help="Use the first N eval examples.")
@click.option("--test-limit", type=click.IntRange(min=1, max=most("test_limit")), default=None, help="Use the first N test examples.")
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
@click.option("--max-resample-rounds", type=click.IntRange(min=0, max=most("max_resample_rounds")), default=None, help="Resampling rounds per step when rejecting over budget or filling (default 2).")
@click.option("--fill-candidates/--no-fill-candidates", default=None, help="Replace rejected and repeated candidates by new samples (up to --max-resample-rounds more rounds) until a step has --candidates new prompts to score (quick: on).")
@click.option("--concurrency", type=click.IntRange(min=1, max=most("concurrency")), default=None, help="Requests in flight to each model (default: a local model's slots, else 8).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Mini-batch size B (reflections, steps per epoch).")
@click.option("--optimizer-temperature", type=click.FloatRange(min=0), default=None, help="Sampling temperature of the optimizer (default 1.0).")
@click.option("--optimizer-max-tokens", type=click.IntRange(min=1), default=None, help="Cap on each optimizer sample (default 512).")
@click.option("--mistakes", type=click.IntRange(min=0), default=None, help="Wrong eval answers of the current prompt shown to the optimizer (quick: 3; paper: 0).")
@click.option("--diverse-examples/--random-examples", default=None, help="Demonstrations with different outputs (quick), or drawn at random (paper).")
@click.option("--hygiene/--no-hygiene", default=None, help="Reject candidates that copy a demonstration or echo the meta-prompt, by similarity (quick: on).")
@click.option("--clip-over-budget/--no-clip-over-budget", default=None, help="Clip candidates still over the edit budget after resampling to it (quick: on).")
@click.option("--rule-first/--no-rule-first", default=None, help="Ask the optimizer to state the input-to-output rule in one line before the prompt (quick: on).")
@click.option("--plain-examples/--placeholder-examples", default=None, help="Show examples to the optimizer as input/output pairs and say where the prompt goes (quick), or mark its place with <Prompt> (paper).")
@click.option("--answer-notes/--no-answer-notes", default=None, help="Say in the meta-prompt when most wrong answers hold the expected output in a longer answer (quick: on).")
@click.option("--wrapped-answers-only/--all-wrong-answers", "wrapped_answers_only", default=None, help="Show the model's wrong answers only where they hold the expected output in a longer answer; other wrong examples show input and expected output (quick: on).")
@click.option("--tie-break", type=click.IntRange(min=0), default=None, help="Score candidates tied for a step's best on N more examples (quick: 12; 0: earliest wins).")
@click.option("--near-misses/--no-near-misses", default=None, help="Break ties that remain by the wrong answers that begin or end with the expected output, most first (quick: on).")
@click.option("--racing/--no-racing", default=None, help="Race a step's candidates on slices of the eval split and stop scoring those that cannot win (beyond the paper; off by default).")
@click.option("--racing-confidence", type=click.FloatRange(min=0.5, max=1.0, max_open=True), default=None, help=f"Confidence of the paired bound that drops a raced candidate (default {Racing.confidence:g}; turns racing on).")
@click.option("--racing-min-slice", type=click.IntRange(min=2), default=None, help=f"Eval examples per slice of a race; none is dropped before the first (default {Racing.min_slice}; turns racing on).")
@click.option("--format-examples", "num_format_examples", type=click.IntRange(min=0), default=None, help="Examples shown in the meta-prompt.")
@click.option("--two-round/--one-round", default=None, help="Answer extraction mode (default: the protocol's).")
@click.option("--answer-tokens", type=click.IntRange(min=1), default=None, help="Cap on the task model's first answer (default: the protocol's).")
@click.option("--max-calls", type=click.IntRange(min=0), default=None, help="Budget: paid model requests in all.")
@click.option("--max-tokens", type=click.IntRange(min=0), default=None, help="Budget: tokens (in + out) in all.")
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, help="Budget: USD in all (prices: built-in table or GPO_PRICES; local models are free).")
@click.option("--budget", "role_budgets", multiple=True, metavar="ROLE.METRIC=VALUE", help="Budget of one role, e.g. optimizer.calls=40 or task.cost=2.5 (repeatable).")
@click.option("--max-steps-without-improvement", "patience", type=click.IntRange(min=1), default=None, help="Stop after N steps without a better eval score.")
@click.option("--placement", type=click.Choice(["Q_end", "Q_begin", "A_begin", "system"]), default=None, help="Where the instruction goes (default: the task's, Q_end).")
@click.option("--test-every-step", is_flag=True, help="Score each step's prompt on test too (for curves; costs calls).")
@click.option("--dry-run", is_flag=True, help="Run the whole loop offline with the fake model.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the best prompt and its scores (a dry run: its estimate).")
@mlflow_options
def optimize(task_spec, task_option, method, protocol, as_json, quiet, no_cache, num_candidates, model,
             max_calls, max_tokens, max_cost, role_budgets, mlflow_uri, mlflow_experiment, **kw) -> None:
    """Optimize the instruction of TASK with GPO or a baseline, and write a run directory."""
    from gpo.api import optimize_async
    from gpo.sweep.tracking import tracker

    task_spec = one_task(task_spec, task_option)
    if kw.get("steps") is not None and kw.get("epochs") is not None:
        from gpo.errors import ConfigError

        raise ConfigError("give --steps or --epochs, not both")
    from gpo.progress import make_progress

    budget = parse_budget(max_calls, max_tokens, max_cost, role_budgets)
    mlflow = tracker(mlflow_uri, mlflow_experiment)  # before the run: a bad URI fails at once
    progress = make_progress("quiet" if quiet or as_json else "auto")
    try:
        result = run_interruptibly(
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
    _report(result, as_json, quiet)
    if mlflow is not None and result.run_dir is not None:
        click.echo(f"mlflow run: {mlflow.log_directory(result.run_dir)}", err=True)


def parse_budget(max_calls, max_tokens, max_cost, role_budgets) -> dict:
    """CLI budget options as the ``budget`` dict of :func:`gpo.optimize`."""
    from gpo.errors import ConfigError
    from gpo.lm.budget import check_limit

    budget: dict = {}
    for metric, value in (("calls", max_calls), ("tokens", max_tokens), ("cost", max_cost)):
        if value is not None:
            check_limit(value, f"--max-{metric}")
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
        budget.setdefault(role, {})[metric] = check_limit(number, f"--budget {key}")
    return budget


def _usage_table(summary: dict, title: str):
    from rich.table import Table

    dry = summary.get("dry_run")
    table = Table(title=title)
    # failed: requests that got no answer (errors, time-outs, in flight at a stop), retried ones included
    for col in ("role", "requests", "cache hits", "failed", "input tokens" + (" (≈)" if dry else ""),
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
            str(u.get("failed_requests", 0)),
            f"{u.get('input_tokens', 0):,}",
            f"{u.get('output_tokens', 0):,}",
            "unknown price" if cost is None else f"${cost:.4f}",
        )
    return table


def _seconds(summary: dict) -> str:
    """The run's wall time: ``12 s``, or over several invocations ``95 s in 2 invocations (this one 12 s)``."""
    times = (summary.get("timings") or {}).get("invocations") or []
    if len(times) < 2:
        return f"{summary['seconds']:.0f} s"
    return f"{summary['seconds']:.0f} s in {len(times)} invocations (this one {times[-1]:.0f} s)"


def _report(result, as_json: bool, quiet: bool = False) -> None:
    s = result.summary
    if as_json:
        click.echo(json.dumps({**s, "run_dir": str(result.run_dir) if result.run_dir else None}, indent=2))
        return
    sc = s["scores"]
    dry_title = "Dry run: what this run would spend (no model was called)"
    if quiet and s.get("dry_run"):  # a dry run's result is its estimate: the fake model's prompts mean nothing
        console().print(_usage_table(s, dry_title))
        return
    if quiet:  # the result alone
        click.echo(f"best prompt (step {s['best_step']}): {s['best_prompt']!r}")
        click.echo(f"  eval {_fmt(sc['best']['eval'])}   test {_fmt(sc['best']['test'])}")
        return
    click.echo(f"task {s['task']} · method {s['method']} · task model {s['models']['task']} · optimizer {s['models']['optimizer']}")
    click.echo(f"initial prompt: {s['initial_prompt']!r}")
    click.echo(f"  eval {_fmt(sc['initial']['eval'])}   test {_fmt(sc['initial']['test'])}")
    click.echo(f"best prompt (step {s['best_step']}): {s['best_prompt']!r}")
    click.echo(f"  eval {_fmt(sc['best']['eval'])}   test {_fmt(sc['best']['test'])}")
    from gpo.progress.formatting import fmt_calls
    from gpo.runs.significance import describe_paired_test, explain_paired_test

    significance = None if s.get("dry_run") else describe_paired_test(s.get("paired_test"))
    if significance:
        click.echo(significance)
        for line in explain_paired_test(s.get("paired_test")):
            click.echo(line)
    u = s["usage"]
    if s.get("dry_run"):
        console().print(_usage_table(s, dry_title))
        click.echo(
            "Requests are exact for the worst case (every candidate new) without tie-breaks, racing and "
            "resampling (--protocol paper); with them, the counts depend on the answers. Input tokens are "
            "estimated at 4 characters per token, output tokens at each call's cap."
        )
    else:
        console().print(_usage_table(s, "Usage"))
    click.echo(
        f"calls: {fmt_calls('task', u['task'])}, {fmt_calls('optimizer', u['optimizer'])}; "
        f"{s['steps_completed']} steps in {_seconds(s)} ({s['stopped_reason']})"
    )
    failed = sum(r.get("failed_requests", 0) for r in u.values())
    if failed:  # what a flaky server cost: every request it was sent is accounted for
        sent = failed + sum(r.get("requests", 0) for r in u.values())  # answered + failed: every request sent
        retried = sum(r.get("retries", 0) for r in u.values())
        click.echo(f"failed requests: {failed} of {sent} sent; {retried} of them sent again")
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


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the best prompt and its scores (a dry run: its estimate).")
@request_options
def resume(run_dir: Path, as_json: bool, quiet: bool) -> None:
    """Continue an interrupted run from its last checkpoint (no other argument needed)."""
    from gpo.api import resume_async
    from gpo.progress import make_progress

    progress = make_progress("quiet" if quiet or as_json else "auto")
    try:
        result = run_interruptibly(resume_async(run_dir, on_event=progress))
    finally:
        if progress is not None:
            progress.close()
    _report(result, as_json, quiet)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where to write the replayed run (default: RUN_DIR/replay).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def replay(run_dir: Path, out: Optional[Path], as_json: bool) -> None:
    """Rerun a recorded run offline from its own record; fail on any unrecorded request."""
    from gpo.api import recomputed_roles, replay_async
    from gpo.progress import make_progress

    progress = make_progress("quiet" if as_json else "auto")
    try:
        result = run_interruptibly(replay_async(run_dir, out, on_event=progress))
    finally:
        if progress is not None:
            progress.close()
    original = (run_dir / "trajectory.jsonl").read_text() if (run_dir / "trajectory.jsonl").exists() else None
    replayed = (result.run_dir / "trajectory.jsonl").read_text()
    same = original == replayed
    _report(result, as_json)
    if not as_json:
        click.echo("replay: trajectory identical to the recorded run" if same else "replay: trajectory DIFFERS from the recorded run")
        again = recomputed_roles(run_dir)
        if again:
            models = " and ".join(again) + (" models'" if len(again) > 1 else " model's")
            click.echo(f"replay: the {models} answers were computed again (a fake model records none)")
    if not same:
        sys.exit(1)
