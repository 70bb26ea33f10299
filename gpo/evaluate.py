"""Scoring one prompt on a set of examples with the task model.

Concurrent (async, bounded), memoized per (prompt, example), results in input order
whatever the concurrency. Failed calls are counted, never scored as wrong answers: past
``max_error_rate`` the evaluation stops with :class:`gpo.errors.EvaluationError`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional, Sequence

from gpo.concurrency import gather_all
from gpo.errors import ConfigError, EvaluationError, LMError
from gpo.lm.base import LM
from gpo.scoring import AnswerFormat, get_answer_format
from gpo.tasks.base import Example, Message, Task


@dataclass
class ExampleResult:
    """The outcome of one example.

    Attributes:
        index: Position in the evaluated list.
        example_id: The example's stable id.
        input: The question.
        target: The reference answer(s).
        prediction: The parsed answer (``None`` when nothing could be parsed).
        score: In [0, 1]; 0 for failed calls, which are excluded from the mean.
        output: The model's first-round answer.
        final_output: The answer to the follow-up question (two-round mode).
        error: The failure of the model call, if any.
    """

    index: int
    example_id: str
    input: str
    target: Any
    prediction: Optional[str]
    score: float
    output: str = ""
    final_output: Optional[str] = None
    error: Optional[str] = None

    @property
    def answer(self) -> str:
        """The answer that was parsed: the follow-up's in two-round mode, else the first."""
        return self.final_output or self.output

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(self.target, tuple):
            d["target"] = list(self.target)
        return d


@dataclass
class EvalResult:
    """A prompt's score on a list of examples, with every example's outcome.

    Attributes:
        prompt: The instruction evaluated.
        score: Mean score over the examples whose calls succeeded.
        results: Per-example outcomes, in input order.
        n_errors: Examples whose model calls failed.
        split: The split's name, when the examples came from one.
        seconds: Wall time.
    """

    prompt: str
    score: float
    results: list[ExampleResult]
    n_errors: int = 0
    split: Optional[str] = None
    seconds: float = 0.0

    @property
    def n(self) -> int:
        return len(self.results)

    @property
    def wrong(self) -> list[ExampleResult]:
        """The examples answered wrongly (not partly right, and not failed calls), in order."""
        return [r for r in self.results if not r.error and r.score < 1.0]

    def to_dict(self, with_results: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "prompt": self.prompt,
            "split": self.split,
            "score": self.score,
            "n": self.n,
            "n_errors": self.n_errors,
            "seconds": round(self.seconds, 3),
        }
        if with_results:
            d["results"] = [r.to_dict() for r in self.results]
        return d


@dataclass
class Evaluator:
    """Scores prompts on a task's examples with a task model.

    Args:
        task: The task (its placement and answer format are used).
        lm: The task model.
        two_round: Ask a follow-up question for the final answer (the paper's protocol
            for chat models); one-round parses the first answer and halves the calls.
        max_tokens: Cap on the first answer.
        follow_up_max_tokens: Cap on the answer to the follow-up.
        concurrency: Examples in progress at once (the model's endpoint limit also
            applies; see :func:`gpo.runs.build.default_concurrency`).
        max_error_rate: Share of failed examples above which evaluation stops.
        role: Ledger role of the calls.

    Example:
        >>> import asyncio
        >>> from gpo.lm import ScriptedLM
        >>> from gpo.tasks.base import Task, Example
        >>> task = Task("demo", {"eval": [Example("Is 4 even?", "Yes")]}, "yes_no")
        >>> ev = Evaluator(task, ScriptedLM(["Yes, it is."]), two_round=False)
        >>> asyncio.run(ev.evaluate("Answer briefly.", split="eval")).score
        1.0
    """

    task: Task
    lm: LM
    two_round: bool = True
    max_tokens: int = 256
    follow_up_max_tokens: int = 100
    concurrency: int = 8
    max_error_rate: float = 0.05
    role: str = "task"
    _memo: dict[tuple[str, str], ExampleResult] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency}")
        if not 0.0 <= self.max_error_rate <= 1.0:
            raise ConfigError(f"max_error_rate must be in [0, 1], got {self.max_error_rate}")
        self.format: AnswerFormat = get_answer_format(self.task.answer_format)

    def follow_up_messages(self, first: list[Message], answer: str, example: Example) -> list[Message]:
        """The second-round conversation: the first round, the answer, and the follow-up."""
        return first + [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": self.format.follow_up(example.input)},
        ]

    async def _one(
        self,
        prompt: str,
        example: Example,
        index: int,
        affinity: Optional[int] = None,
    ) -> ExampleResult:
        key = (prompt, example.id)
        if key in self._memo:
            cached = self._memo[key]
            return ExampleResult(**{**cached.__dict__, "index": index})
        first = self.task.messages(prompt, example)
        final: Optional[str] = None
        try:
            out = (
                await self.lm(first, max_tokens=self.max_tokens, role=self.role, affinity=affinity)
            ).text
            parsed_text = out
            if self.two_round:
                msgs = self.follow_up_messages(first, out, example)
                final = (
                    await self.lm(
                        msgs, max_tokens=self.follow_up_max_tokens, role=self.role, affinity=affinity
                    )
                ).text
                parsed_text = final
        except LMError as exc:
            failed = ExampleResult(
                index, example.id, example.input, example.target, None, 0.0, error=exc.message
            )
            failed._exc = exc  # type: ignore[attr-defined]
            return failed
        prediction = self.format.extract(parsed_text, example.input)
        if prediction is None and final is not None:
            # The follow-up answer had nothing parsable; the first answer may.
            prediction = self.format.extract(out, example.input)
        score = float(self.format.score(prediction, example.target))
        result = ExampleResult(
            index, example.id, example.input, example.target, prediction, score, out, final
        )
        self._memo[key] = result
        return result

    async def evaluate(
        self,
        prompt: str,
        examples: Optional[Sequence[Example]] = None,
        *,
        split: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> EvalResult:
        """Scores ``prompt`` on ``examples`` (or on a split of the task).

        Raises:
            EvaluationError: More than ``max_error_rate`` of the calls failed.
        """
        if examples is None:
            if split is None:
                raise ConfigError("give examples or a split to evaluate on")
            examples = self.task.split(split, limit)
        elif limit is not None:
            examples = list(examples)[:limit]
        started = time.perf_counter()
        examples = list(examples)
        results: list[Optional[ExampleResult]] = [None] * len(examples)
        pending = iter(range(len(examples)))

        async def worker() -> None:  # `concurrency` workers, not a task per example
            for i in pending:  # shared: each example goes to the first free worker
                results[i] = await self._one(prompt, examples[i], i)

        await gather_all(worker() for _ in range(min(self.concurrency, len(examples))))
        return self._result(prompt, results, split, time.perf_counter() - started)  # type: ignore[arg-type]

    def _result(
        self, prompt: str, results: list[ExampleResult], split: Optional[str], seconds: float, check: bool = True
    ) -> EvalResult:
        failed = [r for r in results if r.error]
        if check and results and len(failed) / len(results) > self.max_error_rate:
            cause = getattr(failed[0], "_exc", None)
            raise EvaluationError(
                f"{len(failed)} of {len(results)} examples failed while evaluating a prompt: "
                f"{failed[0].error}",
                hint=(cause.hint if cause is not None and cause.hint else None)
                or "fix the model endpoint, or raise the allowed error rate",
            )
        ok = [r.score for r in results if not r.error]
        return EvalResult(
            prompt=prompt,
            score=sum(ok) / len(ok) if ok else 0.0,
            results=results,
            n_errors=len(failed),
            split=split,
            seconds=seconds,
        )

    async def evaluate_many(
        self,
        prompts: Iterable[str],
        examples: Sequence[Example],
        split: Optional[str] = None,
        *,
        check_errors: bool = True,
    ) -> list[EvalResult]:
        """Scores several prompts on the same examples; results in prompt order.

        ``check_errors=False`` leaves the error-rate check to the caller (a race's slice
        is too small to judge the endpoint by; the whole split is checked after it).

        The requests are scheduled for servers with prompt caches. With the instruction
        after the question (``Q_end``) every prompt's request on one example starts with
        the same text (chat template and question), and a two-round answer starts with
        its first round. So the work is cut into groups, one per example, and each of
        ``concurrency`` workers takes one group at a time and sends its requests one after
        another with the worker's number as routing ``affinity``: the server slot (or
        replica) that computed the question for the first prompt finds it cached for the
        rest. When there are fewer examples than workers, groups are split so that every
        worker has work. The order changes no result.
        """
        prompts = list(prompts)
        started = time.perf_counter()
        k, n = len(prompts), len(examples)
        groups = [[(i, j) for j in range(k)] for i in range(n)]
        if groups and len(groups) < self.concurrency:
            parts = -(-self.concurrency // len(groups))
            size = max(1, -(-k // parts))
            groups = [g[s : s + size] for g in groups for s in range(0, k, size)]
        pending = iter(groups)
        flat: list[Optional[ExampleResult]] = [None] * (n * k)

        async def worker(number: int) -> None:
            for group in pending:  # shared: each group goes to the first free worker
                for i, j in group:
                    flat[i * k + j] = await self._one(prompts[j], examples[i], i, affinity=number)

        await gather_all(worker(w) for w in range(min(self.concurrency, len(groups))))
        seconds = time.perf_counter() - started
        return [
            self._result(p, [flat[i * k + j] for i in range(n)], split, seconds, check_errors)  # type: ignore[misc]
            for j, p in enumerate(prompts)
        ]
