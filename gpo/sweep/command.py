"""The ``gpo sweep`` command (registered by :mod:`gpo.cli`).

Importing this module imports click and the table of run sizes only; the sweep's machinery
loads when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import click
from click.core import ParameterSource

from gpo.commands.options import mlflow_options
from gpo.sizes import most

__all__ = ["sweep_command"]

# Options that shape the plan (given only when planning, never with --table).
_PLAN_OPTIONS = (
    "tasks", "methods", "seeds", "grid", "data_dir", "model", "optimizer_model", "embedder", "protocol", "steps",
    "eval_limit", "test_limit", "dry_run", "max_calls", "max_tokens", "max_cost", "initial_prompt",
    "two_round", "answer_tokens", "num_candidates", "optimizer_max_tokens", "role_budgets", "concurrency",
)


def _given(ctx: click.Context, names) -> list[str]:
    return [n for n in names if ctx.get_parameter_source(n) == ParameterSource.COMMANDLINE]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1.

    >>> _counted(1, "seed"), _counted(3, "seed")
    ('1 seed', '3 seeds')
    """
    return f"{n} {noun}{'' if n == 1 else 's'}"


def build_plan(tasks: str, methods: Optional[str], seeds: Optional[str], grid: tuple[str, ...], **run: Any):
    """The plan the command line describes (pure parsing; nothing is checked against data)."""
    from gpo.config import default_model
    from gpo.sweep.plan import SweepPlan, parse_grid, parse_list, parse_seeds

    from gpo.commands.run import parse_budget

    budget = parse_budget(run["max_calls"], run["max_tokens"], run["max_cost"], run.get("role_budgets") or ())
    options = {
        "protocol": run["protocol"],
        "model": run["model"] or default_model(),
        "optimizer_model": run["optimizer_model"],
        "embedder": run["embedder"],
        "steps": run["steps"],
        "eval_limit": run["eval_limit"],
        "test_limit": run["test_limit"],
        "data_dir": str(Path(run["data_dir"]).resolve()) if run["data_dir"] else None,
        "initial_prompt": run["initial_prompt"],
        "two_round": run["two_round"],
        "answer_tokens": run["answer_tokens"],
        "dry_run": bool(run["dry_run"]),
        "budget": budget or None,
    }
    for name in ("num_candidates", "optimizer_max_tokens", "concurrency"):
        if run.get(name) is not None:
            options[name] = run[name]
    from gpo.tasks import expand_tasks

    groups = [expand_tasks(spec, options["data_dir"]) for spec in parse_list(tasks, "task")]
    return SweepPlan(
        tasks=tuple(dict.fromkeys(t for members in groups for t in members)),
        methods=tuple(m.lower() for m in parse_list(methods or "gpo", "method")),
        seeds=tuple(parse_seeds(seeds or "0")),
        grid=parse_grid(grid),
        options=options,
    )


@click.command("sweep")
@click.option("--tasks", default=None, help="Task specs or groups (ii, bbh/lite, ...), comma-separated (see `gpo tasks`).")
@click.option("--methods", default=None, help="Presets, comma-separated: gpo, ape, apo, opro, pe2, sgdm, cot, empty (default: gpo).")
@click.option("--seeds", default=None, help="Seeds, comma-separated (default: 0).")
@click.option("--grid", multiple=True, metavar="NAME=V1,V2", help="Vary a part setting over its values, e.g. schedule=cosine,linear or k=1,3 (repeatable: every combination).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="The sweep directory.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Runs executed at once (local processes).")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where runs execute: local processes, or a Ray cluster (the ray extra).")
@click.option("--address", default=None, help="Ray: the cluster's address (default: $RAY_ADDRESS, else a local cluster for the sweep).")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True, help="Ray: restarts of a run whose worker is lost.")
@click.option("--run-cpus", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True, help="Ray: CPUs each run reserves.")
@click.option("--endpoint-concurrency", type=click.IntRange(min=1), default=None, help="Ray: requests in flight at once to one model endpoint, over the whole sweep.")
@click.option("--sweep-max-calls", type=click.IntRange(min=0), default=None, help="Ray: budget of this invocation of the sweep, all runs together: paid model requests.")
@click.option("--sweep-max-tokens", type=click.IntRange(min=0), default=None, help="Ray: budget of the sweep: tokens (in + out).")
@click.option("--sweep-max-cost", type=click.FloatRange(min=0), default=None, help="Ray: budget of the sweep: USD.")
@mlflow_options
@click.option("--table", "table_only", is_flag=True, help="Only re-aggregate the finished runs of the sweep in --out; run nothing.")
@click.option("--reference", default=None, help="Method the paired tests compare every other method with (default: gpo).")
@click.option("--run-reports/--no-run-reports", default=True, show_default=True, help="Write each run's report.html.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="GPO_DATA_DIR", help="Folder laid out like gpo-splits (default: $GPO_DATA_DIR).")
@click.option("-m", "--model", default=None, help="Task model spec (default: $GPO_MODEL, else local:qwen2.5-coder-0.5b).")
@click.option("--optimizer-model", default=None, help="Optimizer model spec (default: the task model).")
@click.option("--embedder", default=None, help="Embedder for relevance: auto, local, lexical, st:MODEL, openai:MODEL[@URL] (default: auto).")
@click.option("--protocol", default="quick", show_default=True, type=click.Choice(["quick", "paper"]))
@click.option("--steps", type=click.IntRange(min=0, max=most("steps")), default=None, help="Number of steps T of every run.")
@click.option("--eval-limit", type=click.IntRange(min=1, max=most("eval_limit")), default=None, help="Use the first N eval examples.")
@click.option("--test-limit", type=click.IntRange(min=1, max=most("test_limit")), default=None, help="Use the first N test examples.")
@click.option("--initial-prompt", default=None, help="p0 of every run, cot and empty included (default: each preset's own).")
@click.option("--two-round/--one-round", default=None, help="Answer extraction mode (default: the protocol's).")
@click.option("--answer-tokens", type=click.IntRange(min=1), default=None, help="Cap on the task model's first answer.")
@click.option("--max-calls", type=click.IntRange(min=0), default=None, help="Budget of each run: paid model requests.")
@click.option("--max-tokens", type=click.IntRange(min=0), default=None, help="Budget of each run: tokens (in + out).")
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, help="Budget of each run: USD.")
@click.option("--budget", "role_budgets", multiple=True, metavar="ROLE.METRIC=VALUE", help="Budget of one role in each run, e.g. task.calls=400 (repeatable).")
@click.option("--candidates", "num_candidates", type=click.IntRange(min=1, max=most("num_candidates")), default=None, help="Candidates sampled per step in every run.")
@click.option("--optimizer-max-tokens", type=click.IntRange(min=1), default=None, help="Cap on each optimizer sample in every run.")
@click.option("--concurrency", type=click.IntRange(min=1, max=most("concurrency")), default=None, help="Requests in flight to each model in each run (default: a local model's slots, else 8).")
@click.option("--dry-run", is_flag=True, help="Every run offline with the fake model (counts calls and cost).")
@click.pass_context
def sweep_command(
    ctx: click.Context, out: Path, workers: int, table_only: bool, reference: Optional[str], run_reports: bool,
    backend: str, address: Optional[str], retries: int, run_cpus: float, endpoint_concurrency: Optional[int],
    sweep_max_calls: Optional[int], sweep_max_tokens: Optional[int], sweep_max_cost: Optional[float],
    mlflow_uri: Optional[str], mlflow_experiment: str, **opts: Any,
) -> None:
    """Run tasks × methods × seeds, then print and write the methods × tasks table.

    \b
    Each run is an ordinary run directory in OUT/runs/. Running the same command again
    continues the sweep: finished runs are skipped, interrupted ones resume from their
    checkpoint, failed ones start again. `gpo sweep --out OUT` alone continues the plan
    recorded in OUT/manifest.json; another plan in the same OUT is refused. Every run
    shares the response cache under $GPO_HOME; budgets (--max-*) apply to each run.
    The exit status is 1 when a run failed.

    \b
    --backend ray runs each run as a Ray task on the cluster at --address (or a local
    one). The driver keeps OUT: run directories travel to and from the workers, and
    the workers' model calls use the driver's response cache. --endpoint-concurrency
    and --sweep-max-* hold for all runs together; a spent sweep budget stops the runs
    at their last checkpoint, to continue when the same command runs again.

    \b
    Writes OUT/table.csv (methods × tasks, mean ± sd over seeds, in percent), tests.csv
    (paired tests against --reference), calls.csv, runs.csv, aggregate.json and sweep.html.

    \b
    Examples:
      gpo sweep --tasks bbh/navigate,gsm8k --methods gpo,opro,cot --seeds 0,1,2 --out sweeps/main --data-dir DATA
      gpo sweep --tasks bbh/navigate --methods gpo --grid schedule=cosine,linear --seeds 0,1 --out sweeps/lr --workers 2
      gpo sweep --out sweeps/main --table
      gpo sweep --out sweeps/main --backend ray --address auto --endpoint-concurrency 64 --mlflow
    """
    from gpo.errors import ConfigError
    from gpo.sweep.coordinator import SweepLimits
    from gpo.sweep.manifest import Manifest
    from gpo.sweep.runner import check_plan, open_sweep, run_sweep

    given = _given(ctx, _PLAN_OPTIONS)
    if table_only:
        if given:
            raise ConfigError(f"--table only re-aggregates the sweep in {out}; it takes no {_flag(given[0])}", hint="drop the planning options")
        tracker = _tracker(mlflow_uri, mlflow_experiment)
        manifest = Manifest.load(out)
        manifest.refresh()
        failed = _finish(manifest, reference, tracker)
        ctx.exit(1 if failed else 0)
    if opts["tasks"] is None:
        if given:
            raise ConfigError(f"{_flag(given[0])} needs --tasks", hint=f"plan a sweep with --tasks, or continue the one in {out} with `gpo sweep --out {out}` alone")
        plan = None
    else:
        plan = build_plan(**opts)
    _check_backend(ctx, backend)
    limits = SweepLimits(endpoint_concurrency, sweep_max_calls, sweep_max_tokens, sweep_max_cost)
    tracker = _tracker(mlflow_uri, mlflow_experiment)
    manifest = open_sweep(out, plan)
    labels = [label for label, _, _ in manifest.plan.variants()]
    if reference is not None and reference not in labels:
        raise ConfigError(f"--reference {reference!r} is not a method of this sweep", hint=f"use one of {', '.join(labels)}")
    if plan is not None and not Manifest.exists(out):
        check_plan(plan)
    n = len(manifest.runs)
    counts = manifest.counts()
    where = "a Ray cluster" if backend == "ray" else f"{workers} worker{'s' if workers > 1 else ''}"
    click.echo(f"sweep {out}: {n} runs, {counts['finished']} finished, {n - counts['finished']} to run on {where}", err=True)
    done = [counts["finished"]]

    def on_event(kind: str, entry: dict) -> None:
        if kind == "running":
            return
        done[0] += 1
        what = f"{entry['task']} · {entry['method']} · seed {entry['seed']}"
        tail = f"{entry['action']}, {entry['seconds']:.1f} s" if entry.get("seconds") is not None else entry.get("action") or ""
        line = f"[{done[0]}/{n}] {kind} {what} ({tail})"
        if kind in ("failed", "stopped"):
            line += f": {entry['error']}"
        if entry.get("retries"):
            line += f" after {entry['retries']} lost worker{'s' if entry['retries'] > 1 else ''}"
        click.echo(line, err=True)
        if tracker is not None and kind == "finished":
            tracker.log_run(manifest, entry)

    executor = _executor(backend, workers, address, retries, run_cpus, limits, dry_run=bool(manifest.plan.options.get("dry_run")))
    progress = run_sweep(manifest, executor, run_reports=run_reports, on_event=on_event)
    click.echo(
        f"executed {len(progress.executed)} of {progress.total} runs "
        f"({progress.count(action='started')} started, {progress.count(action='resumed')} resumed, "
        f"{progress.count(status='failed')} failed; {progress.already_finished} finished before)",
        err=True,
    )
    stopped = progress.count(status="stopped")
    if stopped:
        click.echo(f"the sweep's budget is spent: {stopped} runs stopped at their last checkpoint; "
                   "raise --sweep-max-* and run the same command to continue them", err=True)
    failed = _finish(manifest, reference, tracker)
    ctx.exit(1 if failed else 0)


_RAY_OPTIONS = ("address", "retries", "run_cpus", "endpoint_concurrency", "sweep_max_calls", "sweep_max_tokens", "sweep_max_cost")


def _check_backend(ctx: click.Context, backend: str) -> None:
    """Refuses options of the other backend, and --backend ray without Ray installed."""
    from gpo.errors import ConfigError

    if backend == "local":
        ray_only = _given(ctx, _RAY_OPTIONS)
        if ray_only:
            raise ConfigError(f"{_flag(ray_only[0])} applies to --backend ray", hint="add --backend ray, or drop the option")
        return
    if _given(ctx, ("workers",)):
        raise ConfigError("--workers applies to --backend local", hint="on Ray, --run-cpus sets how many runs share a node's CPUs")
    from gpo.sweep.cluster import require_ray

    require_ray()


def _executor(backend: str, workers: int, address, retries: int, run_cpus: float, limits, *, dry_run: bool):
    """The executor of ``--backend``: a local pool, or a Ray cluster sharing the driver's cache."""
    if backend == "local":
        from gpo.sweep.executor import LocalPool

        return LocalPool(workers)
    from gpo.lm.cache import default_cache
    from gpo.sweep.cluster import RayCluster

    cache = None if dry_run else str(default_cache().path)
    cluster = RayCluster(address, retries=retries, run_cpus=run_cpus, limits=limits, cache_path=cache)
    cluster.connect()  # before the manifest is written: a cluster that cannot be joined leaves nothing
    return cluster


def _tracker(uri: Optional[str], experiment: str):
    from gpo.sweep.tracking import tracker

    return tracker(uri, experiment)


def _finish(manifest, reference: Optional[str], tracker=None) -> int:
    """Aggregates the finished runs, writes the files, prints the tables; returns failed runs."""
    from rich.console import Console

    from gpo.sweep.aggregate import aggregate
    from gpo.sweep.display import print_aggregate
    from gpo.sweep.output import HTML_FILE, write_outputs, write_page
    from gpo.sweep.paired import REPORT_HINT, available
    from gpo.sweep.records import records_from_sweep

    plan = manifest.plan
    methods = [label for label, _, _ in plan.variants()]
    stats = available()
    agg = aggregate(records_from_sweep(manifest), tasks=list(plan.tasks), methods=methods, reference=reference, with_tests=stats)
    failures = [(r["name"], r["error"] or "failed") for r in manifest.runs if r["status"] == "failed"]
    unfinished = [r["name"] for r in manifest.runs if r["status"] in ("pending", "running", "stopped")]
    if unfinished:
        agg.notes.append(f"{len(unfinished)} runs have not finished; `gpo sweep --out {manifest.root}` continues them")
    # The files first: a reader that stops reading the tables (`| head`) must not stop them.
    paths = write_outputs(agg, manifest.root)
    from gpo.report.extra import missing_packages

    if not missing_packages():
        counts = manifest.counts()
        subtitle = (
            f"{_counted(len(plan.tasks), 'task')} × {_counted(len(methods), 'method')} × {_counted(len(plan.seeds), 'seed')}: "
            f"{_counted(counts['finished'], 'run')} finished, {counts['failed']} failed, "
            f"{counts['pending'] + counts['running'] + counts['stopped']} not run"
        )
        paths.append(
            write_page(
                agg, manifest.root / HTML_FILE, title=f"Sweep {manifest.root.name}", subtitle=subtitle,
                run_root=manifest.root, failures=failures, settings={k: v for k, v in plan.options.items() if v is not None},
            )
        )
    else:
        click.echo(f"no HTML page: the report extra is not installed ({REPORT_HINT})", err=True)
    if tracker is not None:
        tracker.log_sweep(manifest, paths)
    print_aggregate(agg, Console())
    for name, error in failures:
        click.echo(f"failed: {name}: {error}", err=True)
    click.echo("files: " + ", ".join(str(p) for p in paths))
    return len(failures)
