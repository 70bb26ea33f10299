"""``gpo.optimize``: one call from a task spec to an optimized prompt and a run directory."""

from __future__ import annotations

import asyncio
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from gpo.errors import ConfigError
from gpo.optim.optimizer import (
    LearningRate,
    OptimizationRun,
    PromptOptimizer,
    RunResult,
    steps_per_epoch,
)
from gpo.optim.presets import COT_PROMPT, get_preset

if TYPE_CHECKING:
    from gpo.lm.base import LM


@dataclass(frozen=True)
class Protocol:
    """How a run is budgeted and how the task model is queried.

    ``paper`` is the paper's protocol; ``quick`` fits a 2-core CPU in a few minutes with the
    packaged local model (2 steps of 3 candidates, 12 eval and 24 test examples, one-round
    answers capped at 48 tokens). Every field can be overridden.
    """

    steps: Optional[int] = None
    epochs: Optional[int] = 3
    batch_size: int = 8
    num_candidates: int = 8
    num_format_examples: int = 3
    two_round: bool = True
    max_tokens: int = 256
    follow_up_max_tokens: int = 100
    eval_limit: Optional[int] = None
    test_limit: Optional[int] = None
    initial_prompt: str = COT_PROMPT


PROTOCOLS: dict[str, Protocol] = {
    "paper": Protocol(),
    "quick": Protocol(
        steps=2,
        epochs=None,
        num_candidates=3,
        two_round=False,
        max_tokens=48,
        eval_limit=12,
        test_limit=24,
    ),
}


def lighter_than_paper(args: dict[str, Any]) -> list[str]:
    """How a run's settings make it cheaper than the paper's protocol, in words.

    Args:
        args: The run's arguments (``config.json`` ``args``).

    Returns:
        One phrase per setting that differs from ``--protocol paper`` in a way that lowers
        cost and fidelity (fewer examples, steps or candidates, shorter or one-round
        answers); empty for a paper-protocol run.

    >>> lighter_than_paper({"eval_limit": 12, "two_round": False, "answer_tokens": 48})
    ['eval on the first 12 examples (paper: the whole eval split)', 'one-round answers (paper: a follow-up asks for the final answer)', 'first answers capped at 48 tokens (paper: 256)']
    """
    paper = PROTOCOLS["paper"]
    out = []
    for split in ("eval", "test"):
        if args.get(f"{split}_limit"):
            out.append(f"{split} on the first {args[f'{split}_limit']} examples (paper: the whole {split} split)")
    if args.get("two_round") is False:
        out.append("one-round answers (paper: a follow-up asks for the final answer)")
    if args.get("answer_tokens") and args["answer_tokens"] < paper.max_tokens:
        out.append(f"first answers capped at {args['answer_tokens']} tokens (paper: {paper.max_tokens})")
    if args.get("steps") is not None:
        out.append(f"{args['steps']} steps (paper: {paper.epochs} epochs of {paper.batch_size}-example mini-batches)")
    if args.get("num_candidates") and args["num_candidates"] < paper.num_candidates:
        out.append(f"{args['num_candidates']} candidates per step (paper: {paper.num_candidates})")
    return out


def build_optimizer(
    method: str,
    *,
    information: Optional[str] = None,
    trajectory: Optional[str] = None,
    k: Optional[int] = None,
    refinement: Optional[str] = None,
    schedule: Optional[str] = None,
    lr_init: Optional[int] = None,
    lr_end: Optional[int] = None,
    warmup_steps: Optional[int] = None,
    selection: Optional[str] = None,
    reject_over_budget: Optional[bool] = None,
    batch_size: Optional[int] = None,
    num_candidates: Optional[int] = None,
    num_format_examples: Optional[int] = None,
    optimizer_temperature: Optional[float] = None,
    optimizer_max_tokens: Optional[int] = None,
) -> PromptOptimizer:
    """A preset with any of its parts replaced (the CLI's part overrides)."""
    from gpo.optim.direction import parse_information
    from gpo.optim.momentum import make_momentum

    opt = get_preset(method)
    if information is not None or batch_size is not None:
        info = parse_information(information or opt.information.name, batch_size or opt.information.batch_size)
        opt = replace(opt, information=info)
    if trajectory is not None or k is not None:
        kind = trajectory or opt.momentum.name
        opt = replace(opt, momentum=make_momentum(kind, k or getattr(opt.momentum, "k", 0) or 3))
    lr = opt.learning_rate
    if schedule is not None or lr_init is not None or lr_end is not None or warmup_steps is not None:
        lr = LearningRate(
            kind=schedule or lr.kind,
            init_value=lr.init_value if lr_init is None else lr_init,
            end_value=lr.end_value if lr_end is None else lr_end,
            warmup_steps=lr.warmup_steps if warmup_steps is None else warmup_steps,
        )
    changes: dict[str, Any] = {"learning_rate": lr}
    for name, value in (
        ("refinement", refinement),
        ("selection", selection),
        ("reject_over_budget", reject_over_budget),
        ("num_candidates", num_candidates),
        ("num_format_examples", num_format_examples),
        ("temperature", optimizer_temperature),
        ("max_tokens", optimizer_max_tokens),
    ):
        if value is not None:
            changes[name] = value
    return replace(opt, **changes)


async def optimize_async(
    task: str,
    method: Union[str, PromptOptimizer] = "gpo",
    *,
    protocol: str = "quick",
    model: Union[str, "LM", None] = None,
    optimizer_model: Union[str, "LM", None] = None,
    embedder: str = "auto",
    steps: Optional[int] = None,
    epochs: Optional[int] = None,
    eval_limit: Optional[int] = None,
    test_limit: Optional[int] = None,
    seed: int = 0,
    run_dir: Union[str, Path, None, bool] = None,
    data_dir: Union[str, Path, None] = None,
    initial_prompt: Optional[str] = None,
    two_round: Optional[bool] = None,
    answer_tokens: Optional[int] = None,
    placement: Optional[str] = None,
    concurrency: Optional[int] = None,
    test_every_step: bool = False,
    budget: Optional[dict] = None,
    patience: Optional[int] = None,
    cache: bool = True,
    dry_run: bool = False,
    resume: bool = False,
    report: bool = True,
    on_event: Optional[Callable[[dict], None]] = None,
    **parts: Any,
) -> RunResult:
    """Async form of :func:`optimize`."""
    from gpo.config import default_model
    from gpo.embed import get_embedder
    from gpo.evaluate import Evaluator
    from gpo.lm import get_lm
    from gpo.lm.base import LM
    from gpo.lm.budget import Budget
    from gpo.runs.rundir import RunDir, default_run_dir
    from gpo.runs.session import RunSession
    from gpo.tasks import load_task

    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}", hint=f"use one of {', '.join(PROTOCOLS)}")
    if steps is not None and epochs is not None:
        raise ConfigError("give steps or epochs, not both")
    proto = PROTOCOLS[protocol]
    parts = {k: v for k, v in parts.items() if v is not None}
    if isinstance(method, PromptOptimizer):
        # A hand-built optimizer becomes a preset plus explicit parts (so the run can resume).
        method, own_parts = method.to_overrides()
        parts = {**own_parts, **parts}
    task_options = {"placement": placement} if placement else {}
    task_obj = load_task(task, data_dir=data_dir, **task_options)

    parts.setdefault("batch_size", proto.batch_size)
    parts.setdefault("num_candidates", proto.num_candidates)
    parts.setdefault("num_format_examples", proto.num_format_examples)
    optimizer = build_optimizer(method, **parts)

    if steps is None:
        if epochs is None and proto.steps is not None:
            steps = proto.steps
        else:
            n_train = len(task_obj.splits.get("train") or [])
            if not n_train:
                raise ConfigError(f"task {task_obj.name} has no train split to count epochs", hint="give --steps")
            steps = (epochs or proto.epochs or 1) * steps_per_epoch(n_train, optimizer.information.batch_size)
    if optimizer.evaluation_only:
        steps = 0
    p0 = initial_prompt if initial_prompt is not None else (
        optimizer.initial_prompt if optimizer.initial_prompt is not None else proto.initial_prompt
    )
    if dry_run:
        from gpo.lm.fake import DryRunLM

        real_task = model if isinstance(model, str) and model else default_model()
        real_opt = optimizer_model if isinstance(optimizer_model, str) and optimizer_model else real_task
        model = DryRunLM(real_task)
        optimizer_model = model if real_opt == real_task else DryRunLM(real_opt)
        embedder = "lexical"
        cache = False
    budget_obj = Budget.from_options(**budget_options(budget))

    rd = None
    if run_dir is not False:
        rd = RunDir(run_dir if run_dir else default_run_dir(task_obj.name, optimizer.name))
        if not resume and rd.file("checkpoint.json").exists():
            raise ConfigError(
                f"{rd.path} already holds a run",
                hint=f"continue it with `gpo resume {rd.path}`, or choose another --run-dir",
            )
    session = RunSession(rd, budget=budget_obj, shared_cache=cache)

    def make_lm(spec_or_lm):
        if isinstance(spec_or_lm, LM):
            spec_or_lm.ledger = session.ledger
            spec_or_lm.budget = budget_obj
            return spec_or_lm
        return get_lm(spec_or_lm, cache=session.cache(), ledger=session.ledger, budget=budget_obj)

    task_lm = make_lm(model or default_model())
    if optimizer_model is None or optimizer_model is model or optimizer_model == model:
        opt_lm = task_lm
    else:
        opt_lm = make_lm(optimizer_model)
    emb = get_embedder(embedder, ledger=session.ledger)
    evaluator = Evaluator(
        task_obj,
        task_lm,
        two_round=proto.two_round if two_round is None else two_round,
        max_tokens=answer_tokens or proto.max_tokens,
        follow_up_max_tokens=proto.follow_up_max_tokens,
        concurrency=concurrency or max(8, getattr(task_lm, "concurrency", 8)),
    )
    args = {
        "task": task,
        "method": method,
        "protocol": protocol,
        "model": getattr(task_lm, "real_spec", task_lm.spec),
        "optimizer_model": getattr(opt_lm, "real_spec", opt_lm.spec),
        "embedder": embedder,
        "steps": steps,
        "eval_limit": proto.eval_limit if eval_limit is None else eval_limit,
        "test_limit": proto.test_limit if test_limit is None else test_limit,
        "seed": seed,
        # Resolved now (GPO_DATA_DIR included) so that resume finds the same data.
        "data_dir": str(Path(data_dir or os.environ.get("GPO_DATA_DIR") or ".").resolve())
        if (data_dir or os.environ.get("GPO_DATA_DIR"))
        else None,
        "initial_prompt": p0,
        "two_round": evaluator.two_round,
        "answer_tokens": evaluator.max_tokens,
        "placement": task_obj.placement,
        "test_every_step": test_every_step,
        "budget": budget,
        "patience": patience,
        "cache": cache,
        **parts,
    }
    config = {
        "gpo_version": __import__("gpo").__version__,
        "args": args,
        "optimizer": optimizer.describe(),
        "identities": {"task": task_lm.identity(), "optimizer": opt_lm.identity()},
        "dry_run": dry_run,
    }
    if rd is not None and not (resume and rd.file("config.json").exists()):
        rd.write_json("config.json", config)
    run = OptimizationRun(
        optimizer,
        task_obj,
        evaluator,
        opt_lm,
        emb,
        steps=steps,
        initial_prompt=p0,
        seed=seed,
        eval_limit=args["eval_limit"],
        test_limit=args["test_limit"],
        test_every_step=test_every_step,
        run_dir=rd,
        config=config,
        ledger=session.ledger,
        on_event=on_event,
        patience=patience,
    )
    try:
        result = await run.run()
        if report and rd is not None:
            from gpo.report import maybe_write_report

            result.report_path = maybe_write_report(rd.path)
        return result
    finally:
        await task_lm.aclose()
        if opt_lm is not task_lm:
            await opt_lm.aclose()
        await emb.aclose()
        session.close()


def budget_options(budget: Optional[dict]) -> dict:
    """``{"calls": N, "tokens": N, "cost": USD, "task": {...}, ...}`` as Budget options."""
    budget = dict(budget or {})
    totals = {f"max_{m}": budget.pop(m, None) for m in ("calls", "tokens", "cost")}
    for role, limits in budget.items():
        if role not in ("task", "optimizer", "embedding") or not isinstance(limits, dict):
            raise ConfigError(
                f"unknown budget entry {role!r}",
                hint="use calls, tokens, cost, or task/optimizer/embedding: {metric: value}",
            )
    return {**totals, "per_role": budget}


def load_run_config(run_dir: Union[str, Path]) -> dict:
    """The ``config.json`` of a run directory (``DataError`` when missing or damaged)."""
    from gpo.runs.rundir import RunDir

    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"no run directory at {path}")
    config = RunDir(path).read_json("config.json")
    if not isinstance(config, dict) or "args" not in config:
        from gpo.errors import DataError

        raise DataError(f"{path / 'config.json'} is not a gpo run configuration")
    return config


async def resume_async(run_dir: Union[str, Path], *, on_event=None) -> RunResult:
    """Continues a run from its last checkpoint with its own configuration.

    A run directory is self-describing: nothing but its path is needed. Calls made before
    the interruption are answered from the run's own response record, so none is paid twice.
    """
    config = load_run_config(run_dir)
    args = dict(config["args"])
    if config.get("dry_run"):
        args["dry_run"] = True
    return await optimize_async(**args, run_dir=run_dir, resume=True, on_event=on_event)


async def replay_async(run_dir: Union[str, Path], out_dir: Union[str, Path, None] = None, *, on_event=None) -> RunResult:
    """Reruns a recorded run offline: every model answer comes from the run's record.

    Any request that was not recorded raises :class:`gpo.errors.ReplayMiss`.
    """
    from gpo.lm.cache import ResponseCache
    from gpo.lm.fake import ReplayLM

    config = load_run_config(run_dir)
    record = Path(run_dir) / "responses.db"
    if not record.exists():
        from gpo.errors import DataError

        raise DataError(f"{run_dir} has no recorded responses (responses.db)")
    store = ResponseCache(record)
    ids = config["identities"]
    task_lm = ReplayLM(store, identity=ids["task"])
    opt_lm = task_lm if ids["optimizer"] == ids["task"] else ReplayLM(store, identity=ids["optimizer"])
    args = dict(config["args"])
    args.update(model=task_lm, optimizer_model=opt_lm, cache=False, budget=None)
    out = out_dir if out_dir is not None else Path(run_dir) / "replay"
    return await optimize_async(**args, run_dir=out, on_event=on_event)


def optimize(task: str, method: Union[str, PromptOptimizer] = "gpo", **kwargs: Any) -> RunResult:
    """Optimizes the instruction of a task and writes a run directory.

    Args:
        task: A task spec (``bbh/navigate``, ``synthetic/boolean_expressions``, ``jsonl:…``).
        method: ``gpo``, ``ape``, ``apo``, ``opro``, ``pe2``, ``sgdm``, ``cot`` or ``empty``,
            or a :class:`PromptOptimizer` built from parts (e.g. ``GPO(selection="elitist")``).
        **kwargs: ``protocol`` (``quick`` or ``paper``), ``model``, ``optimizer_model``,
            ``embedder``, ``steps`` or ``epochs``, ``eval_limit``, ``test_limit``, ``seed``,
            ``run_dir`` (``False``: write nothing), ``data_dir``, ``initial_prompt``,
            ``two_round``, ``answer_tokens``, ``placement``, ``dry_run``, ``budget``
            (``{"calls": N, "tokens": N, "cost": USD, "optimizer": {"calls": N}, …}``),
            ``patience`` (steps without improvement before stopping), ``report`` (write
            ``report.html`` when the ``report`` extra is installed), and part overrides
            (``information``, ``trajectory``, ``k``, ``refinement``, ``schedule``,
            ``lr_init``, ``lr_end``, ``warmup_steps``, ``selection``,
            ``reject_over_budget``, ``batch_size``, ``num_candidates``,
            ``num_format_examples``).

    Returns:
        The run's summary and state.

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
