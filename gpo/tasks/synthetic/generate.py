"""The synthetic tasks by name, and their splits drawn from a seed."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Callable, Mapping

from gpo.errors import ConfigError
from gpo.tasks.base import Example, Placement, Task
from gpo.tasks.synthetic.expressions import make_boolean_expression, make_multistep_arithmetic
from gpo.tasks.synthetic.navigate import make_navigate
from gpo.tasks.synthetic.object_counting import make_object_counting
from gpo.tasks.synthetic.word_sorting import make_word_sorting
from gpo.tasks.word_rules import make_first_letter, make_last_letter

DEFAULT_SIZES: dict[str, int] = {"train": 48, "eval": 48, "test": 144, "format": 5, "few_shot": 5}
"""Split sizes of a synthetic task unless told otherwise (the paper's BBH sizes)."""

MAX_SPLIT_SIZE = 100_000
"""Largest split a synthetic task will generate."""

MAX_REPEATS = 1000
"""Repeated inputs drawn in a row before a generator is deemed exhausted."""


def derive_seed(*parts: object) -> int:
    """A 64-bit integer seed from any values, stable across processes and Python versions.

    >>> derive_seed("word_sorting", 0, "train") == derive_seed("word_sorting", 0, "train")
    True
    """
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class SyntheticTask:
    """A generator of one synthetic task.

    Attributes:
        name: The name after ``synthetic/``.
        answer_format: Name of the answer format in :mod:`gpo.scoring`.
        description: One line for listings.
        make: Draws one (question, answer) pair from a random generator.
        placement: Where the instruction goes unless a run says otherwise: after the
            question as in the paper's BBH, before it for the instruction-induction-style
            tasks, as that benchmark's template does.
    """

    name: str
    answer_format: str
    description: str
    make: Callable[[random.Random], tuple[str, str]]
    placement: Placement = "Q_end"


SYNTHETIC_TASKS: dict[str, SyntheticTask] = {
    task.name: task
    for task in (
        SyntheticTask(
            "boolean_expressions", "true_false",
            "generated: evaluate an expression of True, False, not, and, or", make_boolean_expression,
        ),
        SyntheticTask(
            "multistep_arithmetic", "number",
            "generated: evaluate nested integer arithmetic", make_multistep_arithmetic,
        ),
        SyntheticTask(
            "word_sorting", "word_sort",
            "generated: sort a list of common English words", make_word_sorting,
        ),
        SyntheticTask(
            "object_counting", "number",
            "generated: count the items of one kind in a list", make_object_counting,
        ),
        SyntheticTask(
            "navigate", "yes_no",
            "generated: decide whether a walk ends where it started", make_navigate,
        ),
        SyntheticTask(
            "first_letter", "ii_exact",
            "generated, instruction-induction style: a word in, its first letter out", make_first_letter,
            placement="Q_begin",
        ),
        SyntheticTask(
            "last_letter", "ii_exact",
            "generated, instruction-induction style: a word in, its last letter out", make_last_letter,
            placement="Q_begin",
        ),
    )
}
"""The synthetic tasks by name (``synthetic/<name>``)."""


def resolve_sizes(sizes: Mapping[str, int | str] | None = None) -> dict[str, int]:
    """The default split sizes, updated by ``sizes``.

    >>> resolve_sizes({"test": 10})["test"], resolve_sizes()["train"]
    (10, 48)

    Raises:
        ConfigError: An unknown split name, or a size that is not a whole
            number from 0 to ``MAX_SPLIT_SIZE``.
    """
    out = dict(DEFAULT_SIZES)
    for split, value in (sizes or {}).items():
        if split not in out:
            raise ConfigError(
                f"unknown split {split!r} in sizes", hint=f"use {', '.join(DEFAULT_SIZES)}"
            )
        try:
            if isinstance(value, bool) or isinstance(value, float):
                raise ValueError
            count = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"size of split {split!r} must be a whole number, got {value!r}") from None
        if not 0 <= count <= MAX_SPLIT_SIZE:
            raise ConfigError(f"size of split {split!r} must be between 0 and {MAX_SPLIT_SIZE}, got {count}")
        out[split] = count
    return out


def _get(name: str) -> SyntheticTask:
    try:
        return SYNTHETIC_TASKS[name]
    except KeyError:
        raise ConfigError(
            f"unknown synthetic task {name!r}",
            hint=f"use one of {', '.join(SYNTHETIC_TASKS)}",
        ) from None


def generate_splits(
    name: str, seed: int = 0, sizes: Mapping[str, int | str] | None = None
) -> dict[str, list[Example]]:
    """Generates the splits of a synthetic task.

    Splits are drawn in the order train, eval, test, format, few_shot, each
    from its own generator, skipping any input already drawn; so the size of a
    later split never changes the examples of an earlier one.

    Args:
        name: The task's name (without ``synthetic/``).
        seed: Any integer; the same seed gives the same splits.
        sizes: Examples per split (defaults: :data:`DEFAULT_SIZES`).

    Raises:
        ConfigError: Unknown task, bad sizes, or more examples asked for than
            the generator can make distinct.
    """
    task = _get(name)
    wanted = resolve_sizes(sizes)
    seen: set[str] = set()
    splits: dict[str, list[Example]] = {}
    for split, count in wanted.items():
        rng = random.Random(derive_seed("gpo.tasks.synthetic", name, seed, split))
        examples: list[Example] = []
        misses = 0
        while len(examples) < count:
            question, answer = task.make(rng)
            if question in seen:
                misses += 1
                if misses > MAX_REPEATS:
                    raise ConfigError(
                        f"synthetic/{name} could only make {len(examples)} new distinct examples for split {split!r}",
                        hint="ask for fewer examples",
                    )
                continue
            misses = 0
            seen.add(question)
            examples.append(Example(question, answer))
        splits[split] = examples
    return splits


def load_synthetic(
    name: str,
    *,
    seed: int = 0,
    sizes: Mapping[str, int | str] | None = None,
    placement: Placement | None = None,
    answer_format: str | None = None,
) -> Task:
    """A synthetic task as a :class:`~gpo.tasks.base.Task`.

    Args:
        name: The task's name (without ``synthetic/``).
        seed: Any integer; the same seed gives the same data.
        sizes: Examples per split; missing splits keep their default size.
        placement: Where the instruction goes in each question (default: the task's).
        answer_format: Overrides the task's answer format.

    Raises:
        ConfigError: Unknown task or bad sizes.
    """
    task = _get(name)
    splits = generate_splits(name, seed, sizes)
    sizes_text = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    return Task(
        name=f"synthetic/{name}",
        splits=splits,
        answer_format=answer_format or task.answer_format,
        placement=placement or task.placement,
        description=task.description,
        source=f"generated by gpo.tasks.synthetic (seed {seed}; {sizes_text})",
    )
