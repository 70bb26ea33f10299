"""A prompt optimizer composed of parts, and the loop that runs it.

One step reads like a gradient step: choose the direction (current information and
trajectory), size the step (the learning-rate schedule), propose (sample the optimizer
model), evaluate (the task model on the eval split), select the next prompt, record.

References:
    GPO (Tang et al., 2025): Unleashing the Potential of Large Language Models as Prompt
    Optimizers: Analogical Analysis with Gradient-based Model Optimizers. AAAI 2025,
    arXiv:2402.17564.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from gpo.errors import BudgetExceeded, ConfigError, DataError, RunInterrupted
from gpo.evaluate import EvalResult, Evaluator
from gpo.lm.base import LM, current_step
from gpo.lm.ledger import Ledger, summarize_by_step
from gpo.optim.candidates import make_candidates
from gpo.optim.direction import CurrentInformation
from gpo.optim.learning_rate import make_schedule
from gpo.optim.momentum import Momentum, RelevanceMomentum
from gpo.optim.selection import check_selection, select_elitist, select_paper
from gpo.optim.state import CandidateRecord, MetaPromptRecord, OptimizerState, TrajectoryEntry
from gpo.optim.update import REFINEMENTS, render_meta_prompt
from gpo.runs.rundir import RunDir
from gpo.seeding import derive_seed, rng_for
from gpo.tasks.base import Task

log = logging.getLogger(__name__)

Event = dict[str, Any]


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Steps in one epoch: ``floor(n / B)``, plus one when the remainder is at least ``B / 2``.

    >>> steps_per_epoch(48, 8), steps_per_epoch(20, 8), steps_per_epoch(35, 8)
    (6, 3, 4)
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    full, rest = divmod(n_train, batch_size)
    return max(1, full + (1 if rest >= batch_size / 2 else 0))


@dataclass
class LearningRate:
    """The edit-budget schedule: ``none``, ``constant``, ``linear`` or ``cosine`` (+ warm-up)."""

    kind: str = "cosine"
    init_value: int = 50
    end_value: int = 10
    warmup_steps: int = 0

    def build(self, total_steps: int):
        return make_schedule(
            self.kind,
            init_value=self.init_value,
            end_value=self.end_value,
            steps=max(1, total_steps),
            warmup_steps=self.warmup_steps,
        )

    def describe(self) -> str:
        if self.kind == "none":
            return "none"
        if self.kind == "constant":
            text = f"constant({self.init_value})"
        else:
            text = f"{self.kind}({self.init_value}→{self.end_value})"
        return text + (f"+warmup({self.warmup_steps})" if self.warmup_steps else "")


@dataclass
class PromptOptimizer:
    """An LLM prompt optimizer = current information × trajectory × update × schedule × selection.

    Attributes:
        information: What the meta-prompt says about the current prompt (P, P+M, P+M+R…).
        momentum: Which past prompts the meta-prompt shows.
        refinement: ``generation`` (write a new prompt) or ``editing`` (modify the current one).
        learning_rate: The edit budget per step.
        selection: ``paper`` (best candidate not yet a step winner) or ``elitist``.
        num_candidates: Samples drawn from the optimizer per step.
        num_format_examples: Demonstrations shown in the meta-prompt.
        temperature: Sampling temperature of the optimizer.
        max_tokens: Cap on each optimizer sample.
        reject_over_budget: Reject and resample candidates that change more words than allowed.
        max_resample_rounds: Resampling rounds per step when rejecting over budget.
        evaluation_only: Do not optimize; only score the initial prompt (CoT, Empty).
        initial_prompt: The method's own starting prompt, when it has one.
        name: The preset's name (``custom`` when built by hand).
    """

    information: CurrentInformation = field(default_factory=CurrentInformation)
    momentum: Momentum = field(default_factory=lambda: RelevanceMomentum(3))
    refinement: str = "generation"
    learning_rate: LearningRate = field(default_factory=LearningRate)
    selection: str = "paper"
    num_candidates: int = 8
    num_format_examples: int = 3
    temperature: float = 1.0
    max_tokens: int = 512
    reject_over_budget: bool = False
    max_resample_rounds: int = 2
    evaluation_only: bool = False
    initial_prompt: Optional[str] = None
    name: str = "custom"

    def __post_init__(self) -> None:
        if self.refinement not in REFINEMENTS:
            raise ConfigError(f"unknown refinement {self.refinement!r}", hint="use generation or editing")
        check_selection(self.selection)
        if self.num_candidates < 1:
            raise ConfigError(f"num_candidates must be at least 1, got {self.num_candidates}")
        if self.num_format_examples < 0:
            raise ConfigError("num_format_examples cannot be negative")

    def to_overrides(self) -> tuple[str, dict[str, Any]]:
        """A preset name and part overrides that rebuild this optimizer (see ``build_optimizer``)."""
        lr = self.learning_rate
        base = self.name if self.name in ("gpo", "ape", "apo", "opro", "pe2", "sgdm", "cot", "empty") else (
            "cot" if self.evaluation_only else "gpo"
        )
        return base, {
            "information": self.information.name,
            "batch_size": self.information.batch_size,
            "trajectory": self.momentum.name,
            "k": getattr(self.momentum, "k", 0) or 3,
            "refinement": self.refinement,
            "schedule": lr.kind,
            "lr_init": lr.init_value,
            "lr_end": lr.end_value,
            "warmup_steps": lr.warmup_steps,
            "selection": self.selection,
            "reject_over_budget": self.reject_over_budget,
            "num_candidates": self.num_candidates,
            "num_format_examples": self.num_format_examples,
            "optimizer_temperature": self.temperature,
            "optimizer_max_tokens": self.max_tokens,
        }

    def describe(self) -> dict[str, Any]:
        """The optimizer's settings as plain data."""
        return {
            "name": self.name,
            "information": self.information.name,
            "batch_size": self.information.batch_size,
            "trajectory": self.momentum.describe(),
            "refinement": self.refinement,
            "learning_rate": self.learning_rate.describe(),
            "selection": self.selection,
            "num_candidates": self.num_candidates,
            "num_format_examples": self.num_format_examples,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "reject_over_budget": self.reject_over_budget,
            "evaluation_only": self.evaluation_only,
        }


@dataclass
class StepContext:
    """What the parts of an optimizer may use during one step."""

    run: "OptimizationRun"
    step: int

    @property
    def state(self) -> OptimizerState:
        return self.run.state

    @property
    def task(self) -> Task:
        return self.run.task

    @property
    def evaluator(self) -> Evaluator:
        return self.run.evaluator

    @property
    def embedder(self):
        return self.run.embedder

    @property
    def seed(self) -> int:
        return self.run.seed

    async def ask_optimizer(self, text: str, *, kind: str) -> str:
        """One greedy optimizer call (reflections, summaries), recorded with the step."""
        messages = [{"role": "user", "content": text}]
        out = await self.run.optimizer_lm(
            messages,
            temperature=0.0,
            max_tokens=self.run.optimizer.max_tokens,
            seed=derive_seed(self.seed, self.step, kind),
            role="optimizer",
        )
        self.run.record_meta_prompt(self.step, kind, messages, out.texts)
        return out.text


@dataclass
class RunResult:
    """The outcome of a run: its summary, its state and where it was written."""

    summary: dict[str, Any]
    state: OptimizerState
    run_dir: Optional[RunDir]
    initial_test: Optional[EvalResult] = None
    best_test: Optional[EvalResult] = None
    report_path: Optional[Any] = None

    @property
    def best_prompt(self) -> str:
        return self.summary["best_prompt"]


class OptimizationRun:
    """One optimization run of one task: initial evaluation, T steps, final test scores.

    Args:
        optimizer: The composed optimizer.
        task: The task.
        evaluator: Scores prompts with the task model.
        optimizer_lm: The optimizer model.
        embedder: Embedder for relevance retrieval (may be ``None`` for other methods).
        steps: T, the number of steps.
        initial_prompt: p0.
        seed: Seed of every random choice.
        eval_limit: Use the first N eval examples (``None``: all).
        test_limit: Use the first N test examples (``None``: all).
        test_every_step: Also score every step's winner on test (for curves; costs calls).
        run_dir: Where to write the run (``None``: nowhere).
        config: The run's configuration, written to ``config.json``.
        ledger: The usage ledger; both models are pointed at it (default: the task model's).
        on_event: Called with progress events (dicts with a ``type``).
        patience: Stop after this many steps without a better eval score (``None``: never).
    """

    CHECKPOINT = "checkpoint.json"
    CHECKPOINT_VERSION = 2
    TRAJECTORY = "trajectory.jsonl"
    META_PROMPTS = "meta_prompts.jsonl"

    def __init__(
        self,
        optimizer: PromptOptimizer,
        task: Task,
        evaluator: Evaluator,
        optimizer_lm: LM,
        embedder: Any,
        *,
        steps: int,
        initial_prompt: str,
        seed: int = 0,
        eval_limit: Optional[int] = None,
        test_limit: Optional[int] = None,
        test_every_step: bool = False,
        run_dir: Optional[RunDir] = None,
        config: Optional[dict[str, Any]] = None,
        ledger: Optional[Ledger] = None,
        on_event: Optional[Callable[[Event], None]] = None,
        patience: Optional[int] = None,
    ) -> None:
        if steps < 0:
            raise ConfigError(f"steps cannot be negative, got {steps}")
        self.optimizer = optimizer
        self.task = task
        self.evaluator = evaluator
        self.optimizer_lm = optimizer_lm
        self.embedder = embedder
        self.seed = seed
        self.initial_prompt = initial_prompt
        self.eval_examples = task.split("eval", eval_limit)
        self.test_limit = test_limit
        self.test_every_step = test_every_step
        self.run_dir = run_dir
        self.config = config or {}
        # One ledger collects the usage of both models (and the embedder, when given one).
        self.ledger = ledger or evaluator.lm.ledger
        evaluator.lm.ledger = self.ledger
        optimizer_lm.ledger = self.ledger
        self.on_event = on_event or (lambda event: None)
        self.state = OptimizerState(total_steps=0 if optimizer.evaluation_only else steps)
        self.schedule = optimizer.learning_rate.build(max(1, self.state.total_steps))
        self.meta_prompts: list[MetaPromptRecord] = []
        self.patience = patience
        self.started = time.time()
        self._saved = (0, 0)  # candidates and meta-prompts already in the run directory
        # Wall seconds of the initial evaluation, of each step and of the test scoring.
        self.timings: dict[str, Any] = {"initial": None, "steps": {}, "test": None}

    # -- records -------------------------------------------------------------------------

    def record_meta_prompt(self, step: int, kind: str, messages: list, completions: list[str]) -> str:
        mp_id = f"s{step}-{kind}-{sum(1 for m in self.meta_prompts if m.step == step and m.kind == kind)}"
        self.meta_prompts.append(MetaPromptRecord(mp_id, step, kind, list(messages), list(completions)))
        return mp_id

    def save(self) -> None:
        """Checkpoints the run after a step, in time independent of the run's length.

        Candidates and meta-prompts never change once their step is over, so each step
        appends its new ones to ``trajectory.jsonl`` and ``meta_prompts.jsonl`` (flushed to
        disk), and then ``checkpoint.json`` is replaced atomically with the small rest of the
        state and how many rows of each file belong to it. A crash between the two leaves
        rows that the next resume cuts away. Usage records are appended to ``usage.jsonl``
        as calls finish (see :mod:`gpo.runs.session`). Random choices need no saved state:
        each comes from ``(seed, step, purpose)``.
        """
        if self.run_dir is None:
            return
        new_candidates = self.state.candidates[self._saved[0] :]
        new_metas = self.meta_prompts[self._saved[1] :]
        self.run_dir.append_jsonl(self.TRAJECTORY, [c.to_dict() for c in new_candidates])
        self.run_dir.append_jsonl(self.META_PROMPTS, [m.to_dict() for m in new_metas])
        self._saved = (len(self.state.candidates), len(self.meta_prompts))
        self.run_dir.write_json(
            self.CHECKPOINT,
            {
                "version": self.CHECKPOINT_VERSION,
                "step": self.state.step,
                "state": self.state.to_dict(with_candidates=False),
                "candidates": self._saved[0],
                "meta_prompts": self._saved[1],
                "random_state": {"seed": self.seed, "derivation": "sha256(seed, step, purpose)"},
                "timings": self.timings,
            },
        )

    def timing_summary(self) -> dict[str, Any]:
        """Wall seconds: initial evaluation, each step, their mean, and the test scoring."""
        steps = self.timings["steps"]
        return {
            "initial": self.timings["initial"],
            "steps": dict(steps),
            "mean_step": round(sum(steps.values()) / len(steps), 3) if steps else None,
            "test": self.timings["test"],
        }

    def restore(self) -> bool:
        """Loads the last checkpoint of the run directory; ``False`` when there is none.

        Raises:
            DataError: The checkpoint is damaged or from another version.
        """
        if self.run_dir is None or not self.run_dir.file(self.CHECKPOINT).exists():
            return False
        data = self.run_dir.read_json(self.CHECKPOINT)
        try:
            version = data.get("version")
            if version == 1:  # every record inside the checkpoint; the files were copies
                state = OptimizerState.from_dict(data["state"])
                metas = [MetaPromptRecord.from_dict(m) for m in data["meta_prompts"]]
                self.run_dir.write_jsonl(self.TRAJECTORY, [c.to_dict() for c in state.candidates])
                self.run_dir.write_jsonl(self.META_PROMPTS, [m.to_dict() for m in metas])
                counts = len(state.candidates), len(metas)
            elif version == self.CHECKPOINT_VERSION:
                counts = int(data["candidates"]), int(data["meta_prompts"])
                candidates = self.run_dir.read_jsonl_prefix(self.TRAJECTORY, counts[0])
                metas = [MetaPromptRecord.from_dict(m) for m in self.run_dir.read_jsonl_prefix(self.META_PROMPTS, counts[1])]
                state = OptimizerState.from_dict({**data["state"], "candidates": candidates})
            else:
                raise ValueError(f"version {version!r}")
            if not state.history:
                raise ValueError("no trajectory")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(
                f"the checkpoint {self.run_dir.file(self.CHECKPOINT)} is damaged: {exc}",
                hint="the run cannot resume from it; start a new run",
            ) from exc
        self.state = state
        self.meta_prompts = metas
        self._saved = counts
        saved = data.get("timings") or {}
        self.timings = {"initial": saved.get("initial"), "steps": dict(saved.get("steps") or {}), "test": None}
        return True

    # -- the loop ------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Draws the format examples and scores p0 on the eval split."""
        started = time.perf_counter()
        current_step.set(0)
        fmt = self._format_pool()
        m = min(self.optimizer.num_format_examples, len(fmt))
        self.state.format_indices = sorted(rng_for(self.seed, "format").sample(range(len(fmt)), m))
        result = await self.evaluator.evaluate(self.initial_prompt, self.eval_examples, split="eval")
        self.state.scores[self.initial_prompt] = result.score
        entry = TrajectoryEntry(0, self.initial_prompt, result.score)
        if self.test_every_step:
            entry.test_score = (await self._test(self.initial_prompt)).score
        self.state.history.append(entry)
        self.timings["initial"] = round(time.perf_counter() - started, 3)
        self.save()
        self.on_event({"type": "initial", "prompt": self.initial_prompt, "eval": result.score})

    def _format_pool(self):
        """Where demonstrations come from: the ``format`` split, else ``train``."""
        return self.task.splits.get("format") or self.task.splits.get("train") or []

    def format_examples(self):
        """The demonstrations drawn for this run's meta-prompts."""
        fmt = self._format_pool()
        return [fmt[i] for i in self.state.format_indices]

    async def step(self, t: int) -> TrajectoryEntry:
        """Runs step ``t`` (1-based) and appends its winner to the trajectory."""
        started = time.perf_counter()
        current_step.set(t)
        opt = self.optimizer
        ctx = StepContext(self, t)
        current = self.state.current
        info = await opt.information.gather(ctx)
        view = await opt.momentum.view(ctx)
        budget = self.schedule(t)
        text = render_meta_prompt(
            opt.refinement, info, view, self.format_examples(), self.task.placement, budget
        )
        messages = [{"role": "user", "content": text}]

        records: list[CandidateRecord] = []
        seen = set(self.state.scores)
        want, round_, start = opt.num_candidates, 0, 0
        while True:
            out = await self.optimizer_lm(
                messages,
                n=want,
                temperature=opt.temperature,
                max_tokens=opt.max_tokens,
                seed=derive_seed(self.seed, t, "update", round_),
                role="optimizer",
            )
            mp_id = self.record_meta_prompt(t, "update", messages, out.texts)
            cands = make_candidates(
                out.texts,
                current=current.prompt,
                seen=seen | {r.prompt for r in records if r.prompt and not r.rejected},
                budget=budget,
                reject_over_budget=opt.reject_over_budget,
                start_index=start,
                examples=[ex.input for ex in self.format_examples()],
            )
            for c in cands:
                records.append(
                    CandidateRecord(
                        step=t,
                        index=c.index,
                        prompt=c.text,
                        parent=current.prompt,
                        raw=c.raw,
                        edit_budget=budget,
                        edit_distance=c.edit_distance,
                        duplicate=c.duplicate,
                        over_budget=c.over_budget,
                        rejected=c.rejected,
                        meta_prompt_id=mp_id,
                    )
                )
            over = [c for c in cands if c.rejected and c.rejected.startswith("over edit budget")]
            if not (opt.reject_over_budget and over) or round_ >= opt.max_resample_rounds:
                break
            want, start, round_ = len(over), start + len(cands), round_ + 1

        fresh = list(dict.fromkeys(r.prompt for r in records if r.prompt and not r.rejected and r.prompt not in self.state.scores))
        if fresh:
            results = await self.evaluator.evaluate_many(fresh, self.eval_examples, split="eval")
            for prompt, res in zip(fresh, results):
                self.state.scores[prompt] = res.score
                self.on_event({"type": "candidate", "step": t, "prompt": prompt, "eval": res.score})
        for r in records:
            if r.prompt and not r.rejected:
                r.eval_score = self.state.scores[r.prompt]

        pool = [(r.prompt, r.eval_score) for r in records if r.prompt and not r.rejected]
        if opt.selection == "elitist":
            chosen = select_elitist(pool, current.prompt, current.score)
        else:
            winners = {e.prompt for e in self.state.history}
            chosen = select_paper(pool, current.prompt, winners)
        for r in records:
            if r.prompt == chosen and not r.rejected:
                r.selected = True
                break
        entry = TrajectoryEntry(t, chosen, self.state.scores[chosen])
        if self.test_every_step:
            entry.test_score = (await self._test(chosen)).score
        self.state.candidates.extend(records)
        self.state.history.append(entry)
        await opt.momentum.after_step(ctx)
        self.state.step = t
        self.timings["steps"][str(t)] = round(time.perf_counter() - started, 3)
        self.save()
        self.on_event(
            {
                "type": "step",
                "step": t,
                "total": self.state.total_steps,
                "budget": budget,
                "candidates": [(r.prompt, r.eval_score, r.rejected, r.duplicate) for r in records],
                "chosen": chosen,
                "score": entry.score,
                "best": self.state.best().score,
            }
        )
        return entry

    async def _test(self, prompt: str) -> EvalResult:
        return await self.evaluator.evaluate(prompt, split="test", limit=self.test_limit)

    async def finalize(self, stopped_reason: str) -> RunResult:
        """Scores the initial and the best prompt on test and writes the summary."""
        current_step.set(None)
        started = time.perf_counter()
        initial = self.state.history[0]
        best = self.state.best()
        initial_test = best_test = None
        try:
            initial_test = await self._test(initial.prompt)
            best_test = initial_test if best.prompt == initial.prompt else await self._test(best.prompt)
        except BudgetExceeded as exc:
            log.warning("no budget left to score on test: %s", exc)
        self.timings["test"] = round(time.perf_counter() - started, 3)
        if self.run_dir is not None:
            for name, res in (("initial_test", initial_test), ("best_test", best_test)):
                if res is not None:
                    self.run_dir.write_jsonl(f"results/{name}.jsonl", [r.to_dict() for r in res.results])
        usage = self.ledger.summary()
        for role in ("task", "optimizer", "embedding"):
            usage.setdefault(role, {"calls": 0, "cached_calls": 0, "requests": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0})
        summary = {
            "task": self.task.name,
            "method": self.optimizer.name,
            "seed": self.seed,
            "initial_prompt": initial.prompt,
            "best_prompt": best.prompt,
            "best_step": best.step,
            "scores": {
                "initial": {"eval": initial.score, "test": initial_test.score if initial_test else None},
                "best": {"eval": best.score, "test": best_test.score if best_test else None},
            },
            "n_eval": len(self.eval_examples),
            "n_test": initial_test.n if initial_test else 0,
            "steps_completed": self.state.step,
            "total_steps": self.state.total_steps,
            "stopped_reason": stopped_reason,
            "optimizer": self.optimizer.describe(),
            "models": {
                "task": self.evaluator.lm.spec,
                "optimizer": self.optimizer_lm.spec,
                "embedder": getattr(self.embedder, "name", None),
            },
            "usage": usage,
            "usage_by_step": summarize_by_step(self.ledger.records),
            "dry_run": bool(self.config.get("dry_run")),
            "seconds": round(time.time() - self.started, 2),
            "timings": self.timing_summary(),
        }
        self.save()
        if self.run_dir is not None:
            self.run_dir.write_json("summary.json", summary)
        self.on_event({"type": "final", "summary": summary})
        return RunResult(summary, self.state, self.run_dir, initial_test, best_test)

    async def run(self) -> RunResult:
        """Runs the optimization from the start, or from the run directory's checkpoint.

        Raises:
            RunInterrupted: The run was cancelled (Ctrl-C, SIGTERM); the last completed step
                is saved and ``gpo resume`` continues from it.
        """
        resumed = self.restore()
        self.on_event(
            {
                "type": "start",
                "total": self.state.total_steps,
                "n_eval": len(self.eval_examples),
                "resumed_from": self.state.step if resumed else None,
                "ledger": self.ledger,
                "task": self.task.name,
                "method": self.optimizer.name,
                "num_candidates": self.optimizer.num_candidates,
            }
        )
        reason = "completed"
        try:
            if not resumed:
                await self.initialize()
            for t in range(self.state.step + 1, self.state.total_steps + 1):
                await self.step(t)
                if self.patience is not None and t - self.state.best().step >= self.patience:
                    reason = f"no improvement in {self.patience} steps"
                    break
        except BudgetExceeded as exc:
            if not self.state.history:
                raise
            reason = str(exc)
            log.warning("%s; stopping after step %d", exc, self.state.step)
        except asyncio.CancelledError:
            where = self.run_dir.path if self.run_dir is not None else None
            raise RunInterrupted(
                f"interrupted after step {self.state.step} of {self.state.total_steps}",
                hint=f"resume with: gpo resume {where}" if where else None,
            ) from None
        return await self.finalize(reason)
