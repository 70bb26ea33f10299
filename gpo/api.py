"""``gpo.optimize``: build a run's configuration, then run it.

``optimize`` turns a task, a method and options into a :class:`gpo.protocol.RunConfig`
(the only way options become a run), and :func:`run_config` runs a configuration: it makes
the models, the objective and the runner, and writes the run directory. ``resume`` and
``replay`` read the configuration back from ``config.json``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from gpo.errors import ConfigError, DataError
from gpo.optim.optimizer import PromptOptimizer
from gpo.optim.presets import build_optimizer
from gpo.departures import lighter_than_paper
from gpo.protocol import PROTOCOLS, RunConfig, budget_options
from gpo.runs.record import RunRecord
from gpo.runs.runner import RunResult

if TYPE_CHECKING:
    from gpo.lm.base import LM

__all__ = [
    "optimize", "optimize_async", "run_config", "resume", "resume_async", "replay", "replay_async",
    "load_run_config", "build_optimizer", "PROTOCOLS", "RunConfig", "RunResult", "lighter_than_paper",
    "budget_options",
]

ModelArg = Union[str, "LM", None]


def _spec(model: ModelArg) -> Optional[str]:
    if model is None or isinstance(model, str):
        return model or None
    return getattr(model, "real_spec", model.spec)


async def optimize_async(
    task: str,
    method: Union[str, PromptOptimizer] = "gpo",
    *,
    model: ModelArg = None,
    optimizer_model: ModelArg = None,
    run_dir: Union[str, Path, None, bool] = None,
    report: bool = True,
    on_event: Optional[Callable[[Any], None]] = None,
    **options: Any,
) -> RunResult:
    """Async form of :func:`optimize`."""
    from gpo.lm.spec import parse_spec

    for spec in (model, optimizer_model):
        if isinstance(spec, str) and spec:
            parse_spec(spec)  # a malformed spec fails here, before anything is made
    config = RunConfig.build(task, method, model=_spec(model), optimizer_model=_spec(optimizer_model), **options)
    task_lm = None if model is None or isinstance(model, str) else model
    opt_lm = None if optimizer_model is None or isinstance(optimizer_model, str) else optimizer_model
    return await run_config(config, run_dir=run_dir, task_lm=task_lm, optimizer_lm=opt_lm, report=report, on_event=on_event)


def _open_record(config: RunConfig, run_dir: Union[str, Path, None, bool], resume: bool) -> Optional[RunRecord]:
    from gpo.runs.rundir import default_run_dir

    if run_dir is False:
        return None
    record = RunRecord(run_dir if run_dir else default_run_dir(config.task, config.method, dry_run=config.dry_run))
    if not resume and record.started:
        raise ConfigError(
            f"{record.path} already holds a run",
            hint=f"continue it with `gpo resume {record.path}`, or choose another --run-dir",
        )
    return record


async def run_config(
    config: RunConfig,
    *,
    run_dir: Union[str, Path, None, bool] = None,
    task_lm: Optional["LM"] = None,
    optimizer_lm: Optional["LM"] = None,
    resume: bool = False,
    report: bool = True,
    on_event: Optional[Callable[[Any], None]] = None,
) -> RunResult:
    """Runs a configuration and writes its run directory.

    Args:
        config: The run.
        run_dir: Where to write it (``None``: a new folder under ``$GPO_HOME/runs``;
            ``False``: nowhere).
        task_lm: A task model object to use instead of ``config.model``'s spec.
        optimizer_lm: An optimizer model object to use instead of ``config.optimizer_model``.
        resume: Continue from the directory's checkpoint.
        report: Write ``report.html`` when the ``report`` extra is installed.
        on_event: Progress listener.

    A run that cannot start (a bad model spec, a missing API key, an unusable
    ``GPO_HOME``) raises and leaves no file behind: what its start made is removed.
    Once the run has started, its directory stays, and ``gpo resume`` continues it.
    """
    from gpo.lm.budget import Budget
    from gpo.runs.rundir import undo_footprint
    from gpo.runs.runner import Runner
    from gpo.runs.session import RunSession
    from gpo.tasks import load_task

    task = load_task(config.task, data_dir=config.data_dir, **({"placement": config.placement} if config.placement else {}))
    budget = Budget.from_options(**budget_options(config.budget))
    record = _open_record(config, run_dir, resume)
    undo = undo_footprint(record.path) if record is not None else None
    session = objective = None
    models: list = []
    started = False
    try:
        session = RunSession(
            record.dir if record is not None else None, budget=budget, shared_cache=config.cache and not config.dry_run
        )
        t_lm, o_lm = _models(config, session, budget, task_lm, optimizer_lm)
        models = [t_lm] if o_lm is t_lm else [t_lm, o_lm]
        objective = _objective(config, task, t_lm, o_lm, session)
        if record is not None and not (resume and record.file("config.json").exists()):
            import gpo

            identities = {"task": t_lm.identity(), "optimizer": o_lm.identity()}
            record.write_config({
                "gpo_version": gpo.__version__,
                "run": config.to_dict(),
                "answer_format": task.answer_format,  # how answers are read and scored
                "identities": identities,
            })
        runner = Runner(config.optimizer, objective, config=config, record=record, ledger=session.ledger, on_event=on_event)
        started = True
        result = await runner.run()
        if report and record is not None:
            result.report_path = await _write_report(record.path)
        return result
    finally:
        for lm in models:
            await lm.aclose()
        if objective is not None:
            await objective.aclose()
        if session is not None:
            session.close()
        if not started and undo is not None:  # the run could not start: leave nothing behind
            undo()


async def _write_report(path: Path) -> Optional[Path]:
    """Writes a finished run's report; a cancellation here leaves the run finished."""
    from gpo.errors import RunInterrupted
    from gpo.report import maybe_write_report

    try:
        return maybe_write_report(path)
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM in the middle of the drawing
        raise RunInterrupted(
            "interrupted while writing the report", hint=f"the run is finished; write it with `gpo report {path}`"
        ) from None


def _models(config: RunConfig, session, budget, task_lm, optimizer_lm):
    """The run's task and optimizer models (one object when they are the same model)."""
    from gpo.config import default_model
    from gpo.runs.build import make_lm

    task_spec = config.model or default_model()
    opt_spec = config.optimizer_model or task_spec
    if config.dry_run and task_lm is None:
        from gpo.lm.fake import DryRunLM

        task_lm = DryRunLM(task_spec)
        optimizer_lm = task_lm if opt_spec == task_spec else DryRunLM(opt_spec)
    # --concurrency is the requests in flight to each model (one endpoint's models share one cap).
    policy = {"cache": session.cache(), "ledger": session.ledger, "budget": budget, "concurrency": config.concurrency}
    t_lm = make_lm(task_lm if task_lm is not None else task_spec, **policy)
    if optimizer_lm is not None and optimizer_lm is not task_lm:
        return t_lm, make_lm(optimizer_lm, **policy)
    if optimizer_lm is None and opt_spec != task_spec:
        return t_lm, make_lm(opt_spec, **policy)
    return t_lm, t_lm


def _objective(config: RunConfig, task, t_lm, o_lm, session):
    """The objective of a run: its evaluator, optimizer model and embedders (lexical in a dry run)."""
    from gpo.optim.objective import Objective
    from gpo.runs.build import make_evaluator

    def embedder(spec: str):
        from gpo.embed import get_embedder

        return get_embedder("lexical" if config.dry_run else spec, ledger=session.ledger)

    evaluator = make_evaluator(
        task, t_lm, two_round=config.two_round, answer_tokens=config.answer_tokens,
        follow_up_tokens=config.follow_up_tokens,  # examples in progress follow the model's concurrency
    )
    return Objective(task, evaluator, o_lm, task.split("eval", config.eval_limit), config.seed, make_embedder=embedder)


def load_run_config(run_dir: Union[str, Path]) -> RunConfig:
    """The configuration of a run directory, from its ``config.json``.

    Raises:
        ConfigError: No run directory at ``run_dir``.
        DataError: ``config.json`` is missing or damaged.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"no run directory at {path}")
    doc = RunRecord(path).read_config()
    if "run" in doc:
        return RunConfig.from_dict(doc["run"])
    return RunConfig.from_legacy(doc["args"], dry_run=bool(doc.get("dry_run")))


def _finished(record: RunRecord) -> RunResult:
    report = record.file("report.html")
    return RunResult.from_summary(record.read_summary(), record.path, report_path=report if report.exists() else None)


async def resume_async(run_dir: Union[str, Path], *, on_event=None) -> RunResult:
    """Continues a run from its last checkpoint with its own configuration.

    A run directory is self-describing: nothing but its path is needed. Calls made before
    the interruption are answered from the run's own response record, so none is paid
    twice. A finished run is read back, and no file of it changes.
    """
    config = load_run_config(run_dir)
    record = RunRecord(run_dir)
    if record.finished:
        return _finished(record)
    return await run_config(config, run_dir=run_dir, resume=True, on_event=on_event)


def recomputed_roles(run_dir: Union[str, Path]) -> list[str]:
    """The roles (``task``, ``optimizer``) whose answers a replay computes again.

    A ``fake:`` model, and every model of a dry run, answers offline and the same way every
    time, so a run records none of its answers and a replay runs it again.
    """
    doc = RunRecord(run_dir).read_config()
    ids = doc.get("identities") or {}
    return [role for role in ("task", "optimizer") if doc.get("dry_run") or (ids.get(role) or {}).get("backend") == "fake"]


async def replay_async(run_dir: Union[str, Path], out_dir: Union[str, Path, None] = None, *, on_event=None) -> RunResult:
    """Reruns a recorded run offline: every model answer comes from the run's record.

    Any request that was not recorded raises :class:`gpo.errors.ReplayMiss`. A ``fake:``
    model records nothing (its answers cost nothing and are computed the same way every
    time), so its part of the run, and the whole of a dry run, is computed again.
    """
    import dataclasses

    from gpo.lm.cache import ResponseCache
    from gpo.lm.fake import ReplayLM

    config = load_run_config(run_dir)
    record = Path(run_dir) / "responses.db"
    if not record.exists():
        raise DataError(f"{run_dir} has no recorded responses (responses.db)")
    ids = RunRecord(run_dir).read_config()["identities"]
    store = ResponseCache(record)
    again = recomputed_roles(run_dir)

    def replayed(role: str):
        return None if role in again else ReplayLM(store, identity=ids[role])

    task_lm = replayed("task")
    opt_lm = task_lm if ids["optimizer"] == ids["task"] else replayed("optimizer")
    config = dataclasses.replace(config, cache=False, budget=None)
    out = out_dir if out_dir is not None else Path(run_dir) / "replay"
    return await run_config(config, run_dir=out, task_lm=task_lm, optimizer_lm=opt_lm, on_event=on_event)


def optimize(task: str, method: Union[str, PromptOptimizer] = "gpo", **kwargs: Any) -> RunResult:
    """Optimizes the instruction of a task and writes a run directory.

    Args:
        task: A task spec (``bbh/navigate``, ``synthetic/boolean_expressions``, ``jsonl:…``).
        method: ``gpo``, ``ape``, ``apo``, ``opro``, ``pe2``, ``sgdm``, ``cot`` or ``empty``,
            or a :class:`PromptOptimizer` built from parts (e.g. ``GPO(selection="elitist")``),
            which runs as built (the protocol's candidate count does not replace its own).
        **kwargs: ``protocol`` (``quick`` or ``paper``), ``model``, ``optimizer_model``
            (specs or model objects), ``steps`` or ``epochs``, ``eval_limit``,
            ``test_limit``, ``seed``, ``run_dir`` (``False``: write nothing), ``data_dir``,
            ``initial_prompt``, ``two_round``, ``answer_tokens``, ``placement``,
            ``concurrency``, ``dry_run``, ``budget`` (``{"calls": N, "tokens": N, "cost":
            USD, "optimizer": {"calls": N}, …}``), ``patience`` (steps without improvement
            before stopping), ``report`` (write ``report.html`` when the ``report`` extra
            is installed), and part changes by name (``information``, ``trajectory``,
            ``k``, ``embedder``, ``refinement``, ``schedule``, ``lr_init``, ``lr_end``,
            ``warmup_steps``, ``selection``, ``reject_over_budget``, ``batch_size``,
            ``num_candidates``, ``num_format_examples``).

    Returns:
        The run's result: prompts, scores, usage and paths.

    Example:
        >>> result = optimize("synthetic/boolean_expressions", "gpo", dry_run=True,
        ...                   steps=2, run_dir=False)  # doctest: +SKIP
        >>> result.summary["steps_completed"]  # doctest: +SKIP
        2
    """
    return asyncio.run(optimize_async(task, method, **kwargs))


def resume(run_dir: Union[str, Path]) -> RunResult:
    """Continues an interrupted run (see :func:`resume_async`)."""
    return asyncio.run(resume_async(run_dir))


def replay(run_dir: Union[str, Path], out_dir: Union[str, Path, None] = None) -> RunResult:
    """Reruns a recorded run offline (see :func:`replay_async`)."""
    return asyncio.run(replay_async(run_dir, out_dir))
