"""What a task is: examples in named splits, how the instruction is placed, how answers score."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence, Union

from gpo.errors import ConfigError, DataError

Target = Union[str, tuple[str, ...]]
"""A reference answer, or several (any of them counts, e.g. WebNLG references)."""



def display_target(target: Target) -> str:
    """The reference answer as shown to a model (the first one when there are several).

    >>> display_target(("a ref", "another"))
    'a ref'
    """
    if isinstance(target, (tuple, list)):
        return str(target[0]) if target else ""
    return str(target)


def first_line(text: str, words: int = 20) -> str:
    """The first line of a text, at most ``words`` words, with "…" where more was left out.

    >>> first_line("a b c", 2)
    'a b …'
    >>> first_line("Sure, let me help." + chr(10) + "1. The word")
    'Sure, let me help. …'
    >>> first_line("")
    ''
    """
    lines = (text or "").strip().splitlines() or [""]
    parts = lines[0].split()
    cut = len(parts) > words or len(lines) > 1
    return " ".join(parts[:words]) + (" …" if cut else "")


Placement = Literal["Q_end", "Q_begin", "A_begin", "system"]
PLACEMENTS: tuple[str, ...] = ("Q_end", "Q_begin", "A_begin", "system")

SPLITS: tuple[str, ...] = ("train", "eval", "test", "format", "few_shot")

Message = dict[str, str]
"""A chat message: ``{"role": ..., "content": ...}``."""


@dataclass(frozen=True)
class Example:
    """One input with its reference answer.

    Attributes:
        input: The question shown to the task model.
        target: The reference answer (a tuple when several are accepted).
        id: Stable identifier: a hash of input and target unless given.
        meta: Anything else the source record had (kept for reports).
    """

    input: str
    target: Target
    id: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.id:
            payload = json.dumps([self.input, self.target], ensure_ascii=False)
            digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
            object.__setattr__(self, "id", digest)


def render_messages(
    instruction: str, question: str, placement: Placement = "Q_end"
) -> list[Message]:
    """Builds the first-round chat messages that put ``instruction`` into ``question``.

    ``Q_end`` puts the question first, so that requests for many candidate
    instructions on the same example share a long common prefix.

    Args:
        instruction: The prompt being evaluated (may be empty: no instruction).
        question: The example's input.
        placement: Where the instruction goes.

    Returns:
        The messages of the first round.

    >>> render_messages("Think.", "2+2?")
    [{'role': 'user', 'content': '2+2?\\nThink.'}]
    >>> render_messages("", "2+2?", "Q_begin")
    [{'role': 'user', 'content': '2+2?'}]
    """
    instruction = instruction.strip()
    if not instruction:
        return [{"role": "user", "content": question}]
    if placement == "Q_end":
        return [{"role": "user", "content": f"{question}\n{instruction}"}]
    if placement == "Q_begin":
        return [{"role": "user", "content": f"{instruction}\n{question}"}]
    if placement == "A_begin":
        return [{"role": "user", "content": f"Q: {question}\nA: {instruction}"}]
    if placement == "system":
        return [
            {"role": "system", "content": instruction},
            {"role": "user", "content": question},
        ]
    raise ConfigError(
        f"unknown instruction placement {placement!r}",
        hint=f"use one of {', '.join(PLACEMENTS)}",
    )


def render_placeholder(question: str, placement: Placement = "Q_end") -> str:
    """Shows where the instruction goes, with ``<Prompt>`` in its place (for meta-prompts)."""
    return "\n".join(m["content"] for m in render_messages("<Prompt>", question, placement))


@dataclass
class Task:
    """A task: named splits of examples plus how to ask and how to score.

    Attributes:
        name: The task's spec, e.g. ``bbh/navigate``.
        splits: Examples by split name (``train``, ``eval``, ``test``, ``format``, ``few_shot``).
        answer_format: Name of the answer format in :mod:`gpo.scoring`.
        placement: Where the instruction goes in each question.
        description: One line for listings.
        source: Where the data came from (a folder, a file, or a generator and seed).
    """

    name: str
    splits: dict[str, list[Example]]
    answer_format: str
    placement: Placement = "Q_end"
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ConfigError(
                f"unknown instruction placement {self.placement!r}",
                hint=f"use one of {', '.join(PLACEMENTS)}",
            )

    def split(self, name: str, limit: int | None = None) -> list[Example]:
        """Returns the examples of one split, the first ``limit`` of them if given.

        Raises:
            DataError: The split is missing or empty.
        """
        examples = self.splits.get(name)
        if examples is None:
            raise DataError(
                f"task {self.name} has no split {name!r}",
                hint=f"available splits: {', '.join(sorted(self.splits)) or 'none'}",
            )
        if not examples:
            raise DataError(f"split {name!r} of task {self.name} is empty", hint=f"check {self.source}")
        if limit is not None:
            if limit < 1:
                raise ConfigError(f"limit must be at least 1, got {limit}")
            examples = examples[:limit]
        return examples

    def messages(self, instruction: str, example: Example) -> list[Message]:
        """The first-round chat messages for one example."""
        return render_messages(instruction, example.input, self.placement)

    def sizes(self) -> dict[str, int]:
        """Number of examples per split."""
        return {k: len(v) for k, v in self.splits.items()}


def seeded_split(
    examples: Sequence[Example],
    seed: int,
    sizes: dict[str, float | int],
) -> dict[str, list[Example]]:
    """Shuffles examples with ``seed`` and cuts them into splits.

    Args:
        examples: All examples.
        seed: Seed of the shuffle (same seed, same splits).
        sizes: Split name to a count (int) or a fraction of the total (float);
            the last split takes the remainder when fractions are used.

    >>> ex = [Example(str(i), str(i)) for i in range(10)]
    >>> {k: len(v) for k, v in seeded_split(ex, 0, {"train": 0.5, "test": 0.5}).items()}
    {'train': 5, 'test': 5}
    """
    import random

    order = list(examples)
    random.Random(seed).shuffle(order)
    total = len(order)
    out: dict[str, list[Example]] = {}
    start = 0
    names = list(sizes)
    for i, name in enumerate(names):
        size = sizes[name]
        count = int(round(size * total)) if isinstance(size, float) else int(size)
        if i == len(names) - 1 and isinstance(size, float):
            count = total - start
        out[name] = order[start : start + count]
        start += count
    return out
