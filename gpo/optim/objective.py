"""What an optimizer step may ask of the world: scores, optimizer samples, similarities.

An optimizer is ``init`` + ``step(state, objective)``. The objective is the problem the
optimizer works on: the task and its eval examples, the evaluator (task model), the
optimizer model and the embedders. Parts receive it with the few values they need, never
the run; nothing here writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from gpo.evaluate import EvalResult, Evaluator
from gpo.lm.base import LM
from gpo.optim.state import MetaPromptRecord
from gpo.seeding import derive_seed
from gpo.tasks.base import Example, Task

__all__ = ["Objective", "StepCalls"]


@dataclass
class Objective:
    """The task, the models and the seed of an optimization.

    Args:
        task: The task (its ``train`` and ``format`` splits feed reflections and
            demonstrations).
        evaluator: Scores prompts with the task model.
        optimizer_lm: The optimizer model.
        eval_examples: The examples a candidate is scored on.
        seed: Seed of every random choice.
        make_embedder: Builds an embedder from a spec (the run gives one that records
            usage; ``None``: :func:`gpo.embed.get_embedder`).
    """

    task: Task
    evaluator: Evaluator
    optimizer_lm: LM
    eval_examples: Sequence[Example]
    seed: int = 0
    make_embedder: Optional[Callable[[str], Any]] = None
    _embedders: dict[str, Any] = field(default_factory=dict, repr=False)
    _results: dict[str, EvalResult] = field(default_factory=dict, repr=False)

    async def score(self, prompts: Sequence[str]) -> list[EvalResult]:
        """Scores prompts on the eval examples (requests grouped by example)."""
        results = await self.evaluator.evaluate_many(list(prompts), self.eval_examples, split="eval")
        self._results.update(zip(prompts, results))
        return results

    async def results_of(self, prompt: str) -> EvalResult:
        """A prompt's per-example eval results (scored again from the cache after a resume)."""
        if prompt not in self._results:
            await self.score([prompt])
        return self._results[prompt]

    def more_examples(self, n: int) -> list[Example]:
        """Up to ``n`` examples beyond the eval examples: the rest of the eval split, then train."""
        seen = {ex.id for ex in self.eval_examples}
        out: list[Example] = []
        for split in ("eval", "train"):
            for ex in self.task.splits.get(split) or []:
                if ex.id not in seen and len(out) < n:
                    seen.add(ex.id)
                    out.append(ex)
        return out

    async def score_on_many(
        self, prompts: Sequence[str], examples: Sequence[Example], split: str, *, check_errors: bool = True
    ) -> list[EvalResult]:
        """Scores several prompts on other examples (a tie-break's extra evidence, a race's
        slice: without the error-rate check, which the whole split gets after the race)."""
        return await self.evaluator.evaluate_many(list(prompts), examples, split=split, check_errors=check_errors)

    async def score_on(self, prompt: str, examples: Sequence[Example], split: str) -> EvalResult:
        """Scores one prompt on other examples (a reflection's mini-batch)."""
        return await self.evaluator.evaluate(prompt, examples, split=split)

    async def complete(
        self, messages: list[dict[str, str]], *, n: int = 1, temperature: float, max_tokens: int, seed: int
    ) -> list[str]:
        """Samples the optimizer model."""
        kwargs: dict[str, Any] = {"n": n} if n != 1 else {}
        out = await self.optimizer_lm(
            messages, temperature=temperature, max_tokens=max_tokens, seed=seed, role="optimizer", **kwargs
        )
        return list(out.texts)

    def embedder(self, spec: str) -> Any:
        """The embedder of a spec, made once per objective."""
        if spec not in self._embedders:
            if self.make_embedder is not None:
                self._embedders[spec] = self.make_embedder(spec)
            else:
                from gpo.embed import get_embedder

                self._embedders[spec] = get_embedder(spec, ledger=self.optimizer_lm.ledger)
        return self._embedders[spec]

    @property
    def embedder_names(self) -> list[str]:
        """Names of the embedders used so far."""
        return [getattr(e, "name", spec) for spec, e in self._embedders.items()]

    def format_pool(self) -> list[Example]:
        """Where demonstrations come from: the ``format`` split, else ``train``."""
        return list(self.task.splits.get("format") or self.task.splits.get("train") or [])

    async def aclose(self) -> None:
        """Closes the embedders this objective made."""
        for e in self._embedders.values():
            await e.aclose()
        self._embedders.clear()


class StepCalls:
    """The optimizer calls of one step, each kept as a :class:`MetaPromptRecord`.

    Args:
        objective: Where the calls go.
        step: The step (it names the records and seeds the calls).
        max_tokens: Cap of a greedy call (reflections, summaries).
    """

    def __init__(self, objective: Objective, step: int, max_tokens: int) -> None:
        self.objective = objective
        self.step = step
        self.max_tokens = max_tokens
        self.records: list[MetaPromptRecord] = []

    def _record(self, kind: str, messages: list[dict[str, str]], completions: list[str]) -> str:
        count = sum(1 for m in self.records if m.kind == kind)
        mp_id = f"s{self.step}-{kind}-{count}"
        self.records.append(MetaPromptRecord(mp_id, self.step, kind, list(messages), list(completions)))
        return mp_id

    async def ask(self, text: str, kind: str) -> str:
        """One greedy call (temperature 0), seeded by ``(seed, step, kind)``."""
        messages = [{"role": "user", "content": text}]
        texts = await self.objective.complete(
            messages,
            temperature=0.0,
            max_tokens=self.max_tokens,
            seed=derive_seed(self.objective.seed, self.step, kind),
        )
        self._record(kind, messages, texts)
        return texts[0] if texts else ""

    async def sample(
        self, messages: list[dict[str, str]], *, n: int, temperature: float, max_tokens: int, round_: int
    ) -> tuple[list[str], str]:
        """``n`` samples of the update's meta-prompt, seeded by ``(seed, step, "update", round)``."""
        texts = await self.objective.complete(
            messages,
            n=n,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=derive_seed(self.objective.seed, self.step, "update", round_),
        )
        return texts, self._record("update", messages, texts)
