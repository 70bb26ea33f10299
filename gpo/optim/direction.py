"""The update direction: what the meta-prompt says about the current prompt.

Gradient descent moves along the gradient at the current point; an LLM optimizer reads
"current information": the prompt (P), its score (M), and a reflection on its mistakes (R)
written by the optimizer model over the wrong answers of a training mini-batch.

References:
    GPO (Tang et al., 2025), section 4.2 "Update direction", current information.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable, Optional, Sequence

from gpo.errors import ConfigError
from gpo.optim import prompts as P
from gpo.optim.parts import register_part
from gpo.seeding import rng_for
from gpo.tasks.base import Example, display_target, first_line, render_placeholder

if TYPE_CHECKING:
    from gpo.optim.objective import Objective

Ask = Callable[[str, str], Awaitable[str]]
"""One greedy optimizer call: ``await ask(text, kind)`` returns the completion."""


def minibatch(train: Sequence[Example], batch_size: int, step: int, seed: int) -> list[Example]:
    """The training mini-batch of a step: epochs walk a seeded permutation of ``train``.

    Step ``t`` (1-based) takes batch ``(t − 1) mod n_batches`` of the permutation of its
    epoch, so each epoch sees every example once.

    >>> ex = [Example(str(i), str(i)) for i in range(16)]
    >>> a, b = minibatch(ex, 8, 1, 0), minibatch(ex, 8, 2, 0)
    >>> len(a), len(set(e.id for e in a + b))
    (8, 16)
    """
    if not train:
        return []
    n_batches = max(1, -(-len(train) // batch_size))
    epoch, index = divmod(step - 1, n_batches)
    order = list(range(len(train)))
    rng_for(seed, epoch, "minibatch").shuffle(order)
    chosen = order[index * batch_size : (index + 1) * batch_size]
    return [train[i] for i in chosen]


@dataclass(frozen=True)
class CurrentInfo:
    """What the meta-prompt shows of the current prompt.

    Attributes:
        prompt: The current prompt.
        score: Its eval score, when shown.
        reflection: The optimizer model's reflection on its mistakes, when used.
        mistakes: Eval examples it got wrong, as ``(input, model's answer, target)``; the
            meta-prompt shows where the prompt goes in the input.
    """

    prompt: str
    score: Optional[float] = None
    reflection: Optional[str] = None
    mistakes: tuple[tuple[str, str, str], ...] = ()


@register_part("information")
@dataclass(frozen=True)
class CurrentInformation:
    """P, P+M, P+R or P+M+R: whether to show the score and a reflection.

    Args:
        score: Show the current prompt's eval score (M).
        reflection: Write and show a reflection on its mistakes (R).
        batch_size: Size B of the training mini-batch the reflection looks at.
        max_shown: At most this many wrong examples go into the reflection call.
        mistakes: Show this many eval examples the current prompt got wrong, with the
            task model's answers (0: none, as in the paper). The answers were already
            paid for when the prompt was scored.
    """

    score: bool = True
    reflection: bool = False
    batch_size: int = 8
    max_shown: int = 4
    mistakes: int = 0

    @property
    def name(self) -> str:
        return "P" + ("+M" if self.score else "") + ("+R" if self.reflection else "")

    async def gather(self, prompt: str, score: float, *, step: int, objective: "Objective", ask: Ask) -> CurrentInfo:
        """The current information of a step (a reflection costs a mini-batch and a call)."""
        reflection = await self.reflect(prompt, step=step, objective=objective, ask=ask) if self.reflection else None
        mistakes: tuple = ()
        if self.mistakes > 0:
            result = await objective.results_of(prompt)
            wrong = result.wrong[: self.mistakes]
            mistakes = tuple(
                (r.input, first_line(r.answer), display_target(r.target)) for r in wrong
            )
        return CurrentInfo(prompt=prompt, score=score if self.score else None, reflection=reflection, mistakes=mistakes)

    async def reflect(self, prompt: str, *, step: int, objective: "Objective", ask: Ask) -> str:
        """Scores ``prompt`` on the step's mini-batch and asks why the wrong ones failed."""
        batch = minibatch(objective.task.split("train"), self.batch_size, step, objective.seed)
        result = await objective.score_on(prompt, batch, split="train")
        wrong = result.wrong[: self.max_shown]
        if not wrong:
            return P.NO_MISTAKES
        placement = objective.task.placement
        examples = "\n\n".join(
            P.REFLECTION_EXAMPLE.format(
                input=render_placeholder(r.input, placement),
                output=r.answer.strip(),
                target=display_target(r.target),
            )
            for r in wrong
        )
        text = P.REFLECTION_PROMPT.format(prompt=prompt, examples=examples)
        return (await ask(text, "reflection")).strip()


def parse_information(name: str, batch_size: int = 8) -> CurrentInformation:
    """``P``, ``P+M``, ``P+R`` or ``P+M+R`` as a :class:`CurrentInformation`."""
    parts = name.upper().replace(" ", "").split("+")
    if not parts or parts[0] != "P" or not set(parts[1:]) <= {"M", "R"} or len(set(parts)) != len(parts):
        raise ConfigError(
            f"unknown current information {name!r}", hint="use P, P+M, P+R or P+M+R"
        )
    return CurrentInformation(score="M" in parts, reflection="R" in parts, batch_size=batch_size)
