"""Protocols (how a run is budgeted and how the task model is queried) and the run's configuration.

A :class:`RunConfig` is everything needed to rebuild a run: the task, the optimizer itself
(as its own data, through the part registry), the models, the protocol's resolved settings,
the seed and the budget. ``config.json`` stores it; ``gpo optimize``'s flags and
``gpo.optimize``'s keywords become one through :meth:`RunConfig.build`, the only way in.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from gpo.errors import ConfigError
from gpo.optim.optimizer import PromptOptimizer
from gpo.optim.presets import COT_PROMPT, build_optimizer
from gpo.sizes import MAX_SIZES, check_size

__all__ = [
    "Protocol", "PROTOCOLS", "RunConfig", "MAX_SIZES", "check_size", "steps_per_epoch", "budget_options",
]


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
    # Beyond the paper: what lets small optimizer models work (every method alike).
    mistakes: int = 0
    diverse_examples: bool = False
    hygiene: bool = False
    reject_over_budget: bool = False
    max_resample_rounds: int = 2
    clip_over_budget: bool = False
    tie_break: int = 0
    near_misses: bool = False
    rule_first: bool = False
    plain_examples: bool = False
    answer_notes: bool = False
    wrapped_answers_only: bool = False
    fill_candidates: bool = False
    racing: bool = False  # race a step's candidates on slices of the eval split (gpo.optim.racing)

    @property
    def beyond_paper(self) -> dict[str, Any]:
        """The settings of this protocol that go beyond the paper, as part options."""
        return {
            "mistakes": self.mistakes,
            "diverse_examples": self.diverse_examples,
            "hygiene": self.hygiene,
            "reject_over_budget": self.reject_over_budget,
            "max_resample_rounds": self.max_resample_rounds,
            "clip_over_budget": self.clip_over_budget,
            "tie_break": self.tie_break,
            "near_misses": self.near_misses,
            "rule_first": self.rule_first,
            "plain_examples": self.plain_examples,
            "answer_notes": self.answer_notes,
            "wrapped_answers_only": self.wrapped_answers_only,
            "fill_candidates": self.fill_candidates,
        }


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
        mistakes=3,
        diverse_examples=True,
        hygiene=True,
        clip_over_budget=True,
        tie_break=12,
        near_misses=True,
        rule_first=True,
        plain_examples=True,
        answer_notes=True,
        wrapped_answers_only=True,
        fill_candidates=True,
    ),
}


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Steps in one epoch: ``floor(n / B)``, plus one when the remainder is at least ``B / 2``.

    >>> steps_per_epoch(48, 8), steps_per_epoch(20, 8), steps_per_epoch(35, 8)
    (6, 3, 4)
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    full, rest = divmod(n_train, batch_size)
    return max(1, full + (1 if rest >= batch_size / 2 else 0))


def epochs_to_steps(task: Any, epochs: int, batch_size: int) -> int:
    """T for a number of epochs over a task's train split."""
    n_train = len(task.splits.get("train") or [])
    if not n_train:
        raise ConfigError(f"task {task.name} has no train split to count epochs", hint="give --steps")
    return epochs * steps_per_epoch(n_train, batch_size)


def budget_options(budget: Optional[dict]) -> dict:
    """``{"calls": N, "tokens": N, "cost": USD, "task": {...}, ...}`` as Budget options.

    Raises:
        ConfigError: An unknown entry, or a value that is not a finite number of at least 0
            (``nan`` and ``inf`` would remove the cap silently).
    """
    from gpo.lm.budget import METRICS, check_limit

    budget = dict(budget or {})
    totals = {f"max_{m}": budget.pop(m, None) for m in METRICS}
    for metric, value in totals.items():
        if value is not None:
            totals[metric] = check_limit(value, f"budget {metric[4:]}")
    per_role: dict[str, dict[str, float]] = {}
    for role, limits in budget.items():
        if role not in ("task", "optimizer", "embedding") or not isinstance(limits, dict):
            raise ConfigError(
                f"unknown budget entry {role!r}",
                hint="use calls, tokens, cost, or task/optimizer/embedding: {metric: value}",
            )
        for metric, value in limits.items():
            if metric not in METRICS:
                raise ConfigError(f"unknown budget metric {role}.{metric}", hint=f"use one of {', '.join(METRICS)}")
            if value is not None:
                per_role.setdefault(role, {})[metric] = check_limit(value, f"budget {role}.{metric}")
    return {**totals, "per_role": per_role}


_PART_OPTIONS = (
    "information", "trajectory", "k", "embedder", "refinement", "schedule", "lr_init", "lr_end",
    "warmup_steps", "selection", "reject_over_budget", "max_resample_rounds", "batch_size",
    "num_candidates", "num_format_examples", "optimizer_temperature", "optimizer_max_tokens",
    "mistakes", "diverse_examples", "hygiene", "clip_over_budget", "tie_break", "near_misses", "rule_first",
    "plain_examples", "answer_notes", "wrapped_answers_only", "fill_candidates",
)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run, resolved (no protocol defaults left to apply).

    Attributes:
        task: The task spec.
        optimizer: The optimizer, parts and all.
        protocol: The protocol the defaults came from.
        model: The task model's spec (``None``: ``$GPO_MODEL`` or the packaged model).
        optimizer_model: The optimizer model's spec (``None``: the task model).
        steps: T.
        epochs: Epochs T was derived from (``None`` when the steps were given).
        eval_limit: First N eval examples (``None``: all).
        test_limit: First N test examples (``None``: all).
        seed: Seed of every random choice.
        data_dir: The data folder, resolved to an absolute path.
        initial_prompt: p0.
        two_round: Ask a follow-up for the final answer.
        answer_tokens: Cap on the first answer.
        follow_up_tokens: Cap on the follow-up answer.
        placement: Where the instruction goes (``None``: the task's).
        concurrency: Requests in flight to each model (``None``: the model's default, a
            local model's slots, else 8); the examples in progress follow it (see
            :func:`gpo.runs.build.default_concurrency`).
        test_every_step: Score every step's winner on test too.
        budget: ``{"calls": N, "tokens": N, "cost": USD, ROLE: {...}}``.
        patience: Stop after this many steps without a better eval score.
        cache: Read and write the shared response cache.
        dry_run: Run with the fake model and count what the real one would cost.
        part_changes: The parts changed by name when the run was built (``trajectory``,
            ``k``, …), kept to name the variant in tables; the optimizer holds their effect.
    """

    task: str
    optimizer: PromptOptimizer
    protocol: str = "quick"
    model: Optional[str] = None
    optimizer_model: Optional[str] = None
    steps: int = 0
    epochs: Optional[int] = None
    eval_limit: Optional[int] = None
    test_limit: Optional[int] = None
    seed: int = 0
    data_dir: Optional[str] = None
    initial_prompt: str = COT_PROMPT
    two_round: bool = False
    answer_tokens: int = 48
    follow_up_tokens: int = 100
    placement: Optional[str] = None
    concurrency: Optional[int] = None
    test_every_step: bool = False
    budget: Optional[dict] = None
    patience: Optional[int] = None
    cache: bool = True
    dry_run: bool = False
    part_changes: Optional[dict] = None

    @property
    def method(self) -> str:
        return self.optimizer.name

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON data (the optimizer as its own dict)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["optimizer"] = self.optimizer.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        """Rebuilds a configuration from :meth:`to_dict` output."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        try:
            values["optimizer"] = PromptOptimizer.from_dict(values["optimizer"])
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"not a run configuration: {exc}") from exc

    @classmethod
    def build(
        cls,
        task: str,
        method: Union[str, PromptOptimizer] = "gpo",
        *,
        protocol: str = "quick",
        model: Optional[str] = None,
        optimizer_model: Optional[str] = None,
        steps: Optional[int] = None,
        epochs: Optional[int] = None,
        eval_limit: Optional[int] = None,
        test_limit: Optional[int] = None,
        seed: int = 0,
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
        racing: Optional[bool] = None,
        racing_confidence: Optional[float] = None,
        racing_min_slice: Optional[int] = None,
        **parts: Any,
    ) -> "RunConfig":
        """Resolves a run from a task, a method and options: protocol defaults, then the options.

        Args:
            task: A task spec.
            method: A preset name, or an optimizer built in Python (kept whole).
            protocol: ``quick`` or ``paper``.
            racing: Race each step's candidates on slices of the eval split (beyond the
                paper; ``None``: the protocol's, or on when a racing setting is given).
            racing_confidence: Confidence of the bound that drops a raced candidate.
            racing_min_slice: Eval examples per slice of a race.
            **parts: Part changes by name (see :func:`gpo.optim.presets.build_optimizer`).

        Raises:
            ConfigError: An unknown protocol, option or part setting, a malformed budget, a
                size over its bound (:data:`gpo.sizes.MAX_SIZES`), or both steps and epochs.
        """
        from gpo.tasks import load_task

        if protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {protocol!r}", hint=f"use one of {', '.join(PROTOCOLS)}")
        if steps is not None and epochs is not None:
            raise ConfigError("give steps or epochs, not both")
        unknown = set(parts) - set(_PART_OPTIONS)
        if unknown:
            raise ConfigError(f"unknown option {', '.join(sorted(unknown))}")
        budget_options(budget)
        for name, value in (("epochs", epochs), ("eval_limit", eval_limit), ("test_limit", test_limit),
                            ("concurrency", concurrency)):
            check_size(name, value)
        proto = PROTOCOLS[protocol]
        parts = {k: v for k, v in parts.items() if v is not None}
        changes = dict(parts)
        if isinstance(method, str):  # a preset takes the protocol's sizes; a built optimizer keeps its own
            parts.setdefault("batch_size", proto.batch_size)
            parts.setdefault("num_candidates", proto.num_candidates)
            parts.setdefault("num_format_examples", proto.num_format_examples)
            for name, value in proto.beyond_paper.items():
                parts.setdefault(name, value)
        optimizer = with_racing(build_optimizer(method, **parts), proto, racing, racing_confidence, racing_min_slice)
        changes.update({k: v for k, v in (("racing", racing), ("racing_confidence", racing_confidence),
                                          ("racing_min_slice", racing_min_slice)) if v is not None})
        task_obj = load_task(task, data_dir=data_dir, **({"placement": placement} if placement else {}))
        if steps is None and (epochs is not None or proto.steps is None):
            epochs = epochs or proto.epochs or 1
            steps = epochs_to_steps(task_obj, epochs, optimizer.information.batch_size)
        elif steps is None:
            steps = proto.steps
        if optimizer.evaluation_only:
            steps = 0
        check_size("steps", steps)
        check_size("num_candidates", optimizer.update.num_candidates)
        check_size("max_resample_rounds", optimizer.update.max_resample_rounds)
        folder = data_dir or os.environ.get("GPO_DATA_DIR")
        p0 = initial_prompt if initial_prompt is not None else (
            optimizer.initial_prompt if optimizer.initial_prompt is not None else proto.initial_prompt
        )
        return cls(
            task=task,
            optimizer=optimizer.resolve(int(steps or 0)),
            protocol=protocol,
            model=model,
            optimizer_model=optimizer_model,
            steps=int(steps or 0),
            epochs=epochs,
            eval_limit=proto.eval_limit if eval_limit is None else eval_limit,
            test_limit=proto.test_limit if test_limit is None else test_limit,
            seed=seed,
            data_dir=str(Path(folder).resolve()) if folder else None,  # so resume finds the same data
            initial_prompt=p0,
            two_round=proto.two_round if two_round is None else two_round,
            answer_tokens=answer_tokens or proto.max_tokens,
            follow_up_tokens=proto.follow_up_max_tokens,
            placement=task_obj.placement,
            concurrency=concurrency,
            test_every_step=test_every_step,
            budget=budget or None,
            patience=patience,
            cache=cache,
            dry_run=dry_run,
            part_changes=changes or None,
        )

    @classmethod
    def from_legacy(cls, args: dict[str, Any], dry_run: bool = False) -> "RunConfig":
        """The configuration of a run recorded before configurations held the optimizer.

        Such a ``config.json`` kept the preset's name and the flags that changed it.
        """
        args = dict(args)
        parts = {**PROTOCOLS["paper"].beyond_paper}  # such runs had none of these
        parts.update({k: args.pop(k) for k in list(args) if k in _PART_OPTIONS})
        keep = {f.name for f in dataclasses.fields(cls)} - {"optimizer", "follow_up_tokens", "placement"}
        options = {k: v for k, v in args.items() if k in keep and k not in ("task", "method")}
        options["placement"] = args.get("placement")
        options["dry_run"] = dry_run or bool(args.get("dry_run"))
        return cls.build(args["task"], args.get("method", "gpo"), **options, **parts)


def with_racing(
    optimizer: PromptOptimizer,
    proto: Protocol,
    racing: Optional[bool],
    confidence: Optional[float],
    min_slice: Optional[int],
) -> PromptOptimizer:
    """The optimizer with its evaluation part set by the racing options.

    Nothing given keeps a built optimizer's own part (and the protocol's choice for a
    preset, which is the paper's full evaluation); a racing setting turns racing on.
    """
    from gpo.optim.racing import FullEvaluation, Racing

    if racing is None and confidence is None and min_slice is None:
        if not proto.racing or isinstance(optimizer.evaluation, Racing):
            return optimizer
    if racing is False:
        return optimizer.with_settings(evaluation=FullEvaluation())
    base = optimizer.evaluation if isinstance(optimizer.evaluation, Racing) else Racing()
    settings = {k: v for k, v in (("confidence", confidence), ("min_slice", min_slice)) if v is not None}
    return optimizer.with_settings(evaluation=dataclasses.replace(base, **settings))
