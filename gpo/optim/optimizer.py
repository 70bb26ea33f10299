"""A prompt optimizer: a composition of parts with ``init`` and ``step``.

One step reads like a gradient step: choose the direction (current information and
trajectory), size the step (the learning-rate schedule), propose (the update samples the
optimizer model), evaluate (the task model on the eval split), select the next prompt.
``step(state, objective)`` returns the next state and writes no file; the runner
(:mod:`gpo.runs.runner`) records it.

References:
    GPO (Tang et al., 2025): Unleashing the Potential of Large Language Models as Prompt
    Optimizers: Analogical Analysis with Gradient-based Model Optimizers. AAAI 2025,
    arXiv:2402.17564.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from gpo.errors import ConfigError
from gpo.optim.direction import CurrentInformation
from gpo.optim.edit_budget import LearningRate, as_learning_rate
from gpo.optim.hygiene import own_wording
from gpo.optim.momentum import Momentum, RelevanceMomentum
from gpo.optim.objective import Objective, StepCalls
from gpo.optim.parts import part_from_dict, part_to_dict
from gpo.optim.racing import Evaluation, FullEvaluation
from gpo.optim.selection import PaperSelection, Selection, TieBreak, make_selection
from gpo.optim.state import OptimizerState, TrajectoryEntry
from gpo.optim.update import GenerationUpdate, Update, make_update
from gpo.seeding import rng_for
from gpo.tasks.base import display_target

__all__ = ["PromptOptimizer", "LearningRate"]

_PARTS = ("information", "momentum", "update", "learning_rate", "selection")
_UPDATE_SETTINGS = (
    "num_candidates", "temperature", "max_tokens", "reject_over_budget", "max_resample_rounds",
    "clip_over_budget", "hygiene", "rule_first", "plain_examples", "answer_notes", "wrapped_answers_only",
    "fill_candidates",
)


@dataclass
class PromptOptimizer:
    """An LLM prompt optimizer = current information × trajectory × update × schedule × selection.

    Attributes:
        information: What the meta-prompt says about the current prompt (P, P+M, P+M+R…).
        momentum: Which past prompts the meta-prompt shows (a retriever; relevance
            carries its embedder).
        update: Renders the meta-prompt, samples the optimizer and parses candidates
            (``generation`` or ``editing``; candidates, temperature, token cap).
        learning_rate: The edit budget per step: words, ``None``, a :class:`LearningRate`,
            a function of the step or a factory of the run length.
        selection: Which prompt the next step continues from.
        evaluation: How a step's new candidates are scored: all on the whole eval split
            (the paper), or raced on slices of it (:class:`gpo.optim.racing.Racing`).
        num_format_examples: Demonstrations shown in the meta-prompt.
        diverse_examples: Draw demonstrations with different outputs where the pool has
            them (the paper draws them at random). Beyond the paper.
        evaluation_only: Do not optimize; only score the initial prompt (CoT, Empty).
        initial_prompt: The method's own starting prompt, when it has one.
        name: The preset's name (``custom`` when built by hand).

    Shortcuts accepted as keywords and applied to the parts: ``refinement``
    (``generation``/``editing``), ``num_candidates``, ``temperature``, ``max_tokens``,
    ``reject_over_budget``, ``max_resample_rounds``; ``selection`` may be a name.
    """

    information: CurrentInformation = field(default_factory=CurrentInformation)
    momentum: Momentum = field(default_factory=lambda: RelevanceMomentum(3))
    update: Update = field(default_factory=GenerationUpdate)
    learning_rate: Any = field(default_factory=LearningRate)
    selection: Any = field(default_factory=PaperSelection)
    evaluation: Evaluation = field(default_factory=FullEvaluation)
    num_format_examples: int = 3
    diverse_examples: bool = False
    evaluation_only: bool = False
    initial_prompt: Optional[str] = None
    name: str = "custom"

    def __post_init__(self) -> None:
        self.learning_rate = as_learning_rate(self.learning_rate)
        if isinstance(self.selection, str):
            self.selection = make_selection(self.selection)
        if isinstance(self.update, str):
            self.update = make_update(self.update)
        if self.num_format_examples < 0:
            raise ConfigError("num_format_examples cannot be negative")

    @classmethod
    def compose(cls, **settings: Any) -> "PromptOptimizer":
        """An optimizer from parts and shortcut settings (see the class docstring)."""
        return cls().with_settings(**settings)

    def with_settings(self, **settings: Any) -> "PromptOptimizer":
        """A copy with parts or settings replaced; shortcuts change the update part."""
        update_changes = {k: settings.pop(k) for k in _UPDATE_SETTINGS if k in settings}
        refinement = settings.pop("refinement", None)
        unknown = set(settings) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"an optimizer has no setting {', '.join(sorted(unknown))}")
        out = dataclasses.replace(self, **settings)
        update = out.update
        if refinement is not None and refinement != update.refinement:
            kept = {f.name: getattr(update, f.name) for f in dataclasses.fields(update)}
            update = make_update(refinement, **kept)
        if update_changes:
            update = dataclasses.replace(update, **update_changes)
        if update is not out.update:
            out = dataclasses.replace(out, update=update)
        return out

    # -- settings as data --------------------------------------------------------------------

    def resolve(self, total_steps: int) -> "PromptOptimizer":
        """This optimizer with a schedule written in Python replaced by its values over the run."""
        lr = self.learning_rate.resolve(total_steps) if hasattr(self.learning_rate, "resolve") else self.learning_rate
        return self if lr is self.learning_rate else dataclasses.replace(self, learning_rate=lr)

    def to_dict(self) -> dict[str, Any]:
        """The optimizer as JSON data: every part through the part registry."""
        data: dict[str, Any] = {name: part_to_dict(getattr(self, name)) for name in _PARTS}
        if self.evaluation != FullEvaluation():  # absent: the paper's (configs written before racing)
            data["evaluation"] = part_to_dict(self.evaluation)
        data.update(
            num_format_examples=self.num_format_examples,
            diverse_examples=self.diverse_examples,
            evaluation_only=self.evaluation_only,
            initial_prompt=self.initial_prompt,
            name=self.name,
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PromptOptimizer":
        """Rebuilds an optimizer from :meth:`to_dict` output."""
        try:
            parts = {name: part_from_dict(data[name]) for name in _PARTS}
            evaluation = part_from_dict(data["evaluation"]) if "evaluation" in data else FullEvaluation()
            return cls(
                **parts,
                evaluation=evaluation,
                num_format_examples=int(data["num_format_examples"]),
                diverse_examples=bool(data.get("diverse_examples", False)),
                evaluation_only=bool(data["evaluation_only"]),
                initial_prompt=data.get("initial_prompt"),
                name=str(data.get("name", "custom")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a saved optimizer: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        """The optimizer's settings in words, for summaries and reports."""
        u = self.update
        return {
            "name": self.name,
            "information": self.information.name,
            "batch_size": self.information.batch_size,
            "trajectory": self.momentum.describe(),
            "refinement": u.name,
            "learning_rate": self.learning_rate.describe(),
            "selection": self.selection.describe(),
            "evaluation": self.evaluation.describe(),
            "num_candidates": u.num_candidates,
            "num_format_examples": self.num_format_examples,
            "diverse_examples": self.diverse_examples,
            "temperature": u.temperature,
            "max_tokens": u.max_tokens,
            "reject_over_budget": u.reject_over_budget,
            "evaluation_only": self.evaluation_only,
        }

    def beyond_paper(self) -> dict[str, Any]:
        """The settings that go beyond the paper (see :attr:`gpo.protocol.Protocol.beyond_paper`),
        read from the parts: what lets small optimizer models work, and racing."""
        u = self.update
        return {
            "mistakes": self.information.mistakes,
            "diverse_examples": self.diverse_examples,
            "hygiene": u.hygiene,
            "reject_over_budget": u.reject_over_budget,
            "max_resample_rounds": u.max_resample_rounds,
            "clip_over_budget": u.clip_over_budget,
            "fill_candidates": u.fill_candidates,
            "tie_break": self.selection.examples if isinstance(self.selection, TieBreak) else 0,
            "near_misses": self.selection.near_misses if isinstance(self.selection, TieBreak) else False,
            "rule_first": u.rule_first,
            "plain_examples": u.plain_examples,
            "answer_notes": u.answer_notes,
            "wrapped_answers_only": u.wrapped_answers_only,
            "racing": self.evaluation != FullEvaluation(),
        }

    # -- the algorithm -----------------------------------------------------------------------

    async def init(self, objective: Objective, initial_prompt: str, total_steps: int) -> OptimizerState:
        """Draws the demonstrations and scores the initial prompt on the eval split."""
        pool = objective.format_pool()
        indices = draw_demonstrations(
            [display_target(ex.target) for ex in pool], self.num_format_examples, objective.seed, self.diverse_examples
        )
        (result,) = await objective.score([initial_prompt])
        return OptimizerState(
            total_steps=0 if self.evaluation_only else total_steps,
            history=[TrajectoryEntry(0, initial_prompt, result.score)],
            scores={initial_prompt: result.score},
            format_indices=indices,
        )

    async def step(self, state: OptimizerState, objective: Objective) -> OptimizerState:
        """Runs step ``state.step + 1`` and returns the state with its winner appended."""
        t = state.step + 1
        calls = StepCalls(objective, t, self.update.max_tokens)
        current = state.current
        info = await self.information.gather(current.prompt, current.score, step=t, objective=objective, ask=calls.ask)
        view = await self.momentum.view(state.history, state.summary, objective)
        budget = self.learning_rate.build(max(1, state.total_steps))(t)
        pool = objective.format_pool()
        examples = [pool[i] for i in state.format_indices]
        text = self.update.render(info, view, examples, objective.task.placement, budget)
        shown = [ex.input for ex in examples] + [m[0] for m in info.mistakes]
        targets = [display_target(ex.target) for ex in examples] + [m[2] for m in info.mistakes]
        echo_source = own_wording(text, [current.prompt, *(e.prompt for e in view.entries)])
        candidates = await self.update.propose(
            text,
            calls=calls,
            current=current.prompt,
            seen=state.scores,
            budget=budget,
            examples=list(zip(shown, targets)),
            echo_source=echo_source,
        )
        fresh = list(dict.fromkeys(c.prompt for c in candidates if c.scored and c.prompt not in state.scores))
        scored = await self.evaluation.score(fresh, objective, t)
        scores = scored.scores
        known = {**state.scores, **scores}
        for c in candidates:
            if c.scored and c.prompt in known:
                c.eval_score = known[c.prompt]
            elif c.scored:  # dropped by a race: not a contender
                c.eval_score, c.dropped_after = scored.dropped[c.prompt]
        chosen = await self.selection.choose(
            [(c.prompt, c.eval_score) for c in candidates if c.scored and c.dropped_after is None],
            state.history,
            objective,
        )
        for c in candidates:
            if c.scored and c.prompt == chosen:
                c.selected = True
                break
        entry = TrajectoryEntry(t, chosen, known[chosen])
        parent = dataclasses.replace(current, reflection=info.reflection) if info.reflection else current
        history = [*state.history[:-1], parent, entry]
        summary = await self.momentum.after_step(history, state.summary, info.reflection, calls.ask)
        return state.advance(history, candidates, calls.records, scores, summary)


def draw_demonstrations(outputs: list[str], m: int, seed: int, diverse: bool) -> list[int]:
    """Which of a pool's examples the meta-prompt shows: ``m`` indices, sorted.

    The paper's draw is uniform (seeded). ``diverse`` first takes one example of each
    distinct output, in a seeded order, then fills up uniformly.

    >>> outputs = ["Yes", "Yes", "Yes", "No"]
    >>> sorted(outputs[i] for i in draw_demonstrations(outputs, 2, 0, diverse=True))
    ['No', 'Yes']
    """
    m = min(m, len(outputs))
    rng = rng_for(seed, "format")
    if not diverse:
        return sorted(rng.sample(range(len(outputs)), m))
    order = list(range(len(outputs)))
    rng.shuffle(order)
    chosen: list[int] = []
    seen: set[str] = set()
    for i in order:
        if outputs[i] not in seen and len(chosen) < m:
            seen.add(outputs[i])
            chosen.append(i)
    chosen += [i for i in order if i not in chosen][: m - len(chosen)]
    return sorted(chosen)
