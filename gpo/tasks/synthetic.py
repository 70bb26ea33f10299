"""Synthetic tasks generated from a seed, so a job has data with no download.

Each task imitates a BIG-Bench Hard subtask: the question is built by code and
its answer is computed by code from the same structure (never by ``eval`` of a
string). Generation is deterministic: the random generator of each split is
seeded with an integer derived by SHA-256 from the task name, the seed and the
split name, so the same seed gives the same examples in every process and on
every Python version. Inputs are never repeated within or across splits.

Tasks (``synthetic/<name>``):

* ``boolean_expressions``: ``not ( True ) and False is`` -> ``False`` (``true_false``).
* ``multistep_arithmetic``: ``((-1 + 2 * 3) - (4 - -5)) =`` -> ``-2`` (``number``).
* ``word_sorting``: sort a list of common English words (``word_sort``).
* ``object_counting``: ``I have a violin, two apples ... How many fruits do I have?`` (``number``).
* ``navigate``: does a walk return to its start? (``yes_no``).

>>> task = load_synthetic("multistep_arithmetic", sizes={"train": 2, "eval": 0, "test": 0, "format": 0, "few_shot": 0})
>>> task.sizes()["train"]
2
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from gpo.errors import ConfigError
from gpo.tasks.base import Example, Placement, Task
from gpo.tasks.word_rules import make_first_letter, make_last_letter
from gpo.tasks.words import WORDS

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


# ---------------------------------------------------------------- boolean expressions

BoolNode = tuple[Any, ...]
"""("lit", bool) | ("not", node) | ("and"|"or", left, right) | ("group", node)."""

_BOOL_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "lit": 4, "group": 4}


def bool_value(node: BoolNode) -> bool:
    """The truth value of a Boolean expression tree.

    >>> bool_value(("and", ("not", ("lit", False)), ("lit", True)))
    True
    """
    kind = node[0]
    if kind == "lit":
        return bool(node[1])
    if kind == "group":
        return bool_value(node[1])
    if kind == "not":
        return not bool_value(node[1])
    if kind == "and":
        return bool_value(node[1]) and bool_value(node[2])
    if kind == "or":
        return bool_value(node[1]) or bool_value(node[2])
    raise ValueError(f"unknown node {kind!r}")


def bool_text(node: BoolNode) -> str:
    """Writes a tree in BIG-Bench Hard style, with the brackets precedence needs.

    Python precedence (``not`` > ``and`` > ``or``) is assumed by the reader, so
    brackets are added wherever it would regroup the tree.

    >>> bool_text(("not", ("or", ("lit", True), ("lit", False))))
    'not ( True or False )'
    """
    kind = node[0]
    if kind == "lit":
        return "True" if node[1] else "False"
    if kind == "group":
        return f"( {bool_text(node[1])} )"
    if kind == "not":
        inner = node[1]
        text = bool_text(inner)
        return f"not {text}" if _BOOL_PRECEDENCE[inner[0]] >= 3 else f"not ( {text} )"
    level = _BOOL_PRECEDENCE[kind]
    left, right = bool_text(node[1]), bool_text(node[2])
    if _BOOL_PRECEDENCE[node[1][0]] < level:
        left = f"( {left} )"
    if _BOOL_PRECEDENCE[node[2][0]] <= level:
        right = f"( {right} )"
    return f"{left} {kind} {right}"


def _bool_tree(rng: random.Random, literals: int) -> BoolNode:
    if literals == 1:
        node: BoolNode = ("lit", rng.random() < 0.5)
    else:
        left = rng.randrange(1, literals)
        node = (rng.choice(("and", "or")), _bool_tree(rng, left), _bool_tree(rng, literals - left))
    roll = rng.random()
    if roll < 0.25:
        node = ("not", node)
    elif roll < 0.32:
        node = ("not", ("not", node))
    if rng.random() < 0.2:
        node = ("group", node)
    return node


def make_boolean_expression(rng: random.Random) -> tuple[str, str]:
    """One question like ``not ( True ) and ( False ) is`` and its answer, ``True`` or ``False``."""
    want = rng.random() < 0.5
    while True:
        tree = _bool_tree(rng, rng.choice((2, 3, 3, 4)))
        if bool_value(tree) == want:
            return f"{bool_text(tree)} is", str(want)


# ---------------------------------------------------------------- multistep arithmetic


def arithmetic_value(numbers: list[int], operators: list[str]) -> int:
    """Value of ``n0 op1 n1 op2 n2 ...`` with ``*`` before ``+`` and ``-``.

    >>> arithmetic_value([2, 3, 4], ["-", "*"])
    -10
    """
    terms = [numbers[0]]
    for op, number in zip(operators, numbers[1:]):
        if op == "*":
            terms[-1] *= number
        elif op == "+":
            terms.append(number)
        elif op == "-":
            terms.append(-number)
        else:
            raise ValueError(f"unknown operator {op!r}")
    return sum(terms)


def _arithmetic_group(rng: random.Random) -> tuple[str, int]:
    count = rng.choice((2, 3, 4, 4))
    numbers = [rng.randrange(-9, 10) for _ in range(count)]
    operators = [rng.choice("+-*") for _ in range(count - 1)]
    parts = [str(numbers[0])]
    for op, number in zip(operators, numbers[1:]):
        parts += [op, str(number)]
    return " ".join(parts), arithmetic_value(numbers, operators)


def make_multistep_arithmetic(rng: random.Random) -> tuple[str, str]:
    """One question like ``((-1 + 2 * 3) - (4 - -5)) =`` and its integer answer."""
    left_text, left = _arithmetic_group(rng)
    right_text, right = _arithmetic_group(rng)
    op = rng.choice("+-*")
    value = left + right if op == "+" else left - right if op == "-" else left * right
    return f"(({left_text}) {op} ({right_text})) =", str(value)


# ---------------------------------------------------------------- word sorting

def make_word_sorting(rng: random.Random) -> tuple[str, str]:
    """One list of 5 to 16 distinct words and the same words sorted alphabetically."""
    words = rng.sample(WORDS, rng.randrange(5, 17))
    return (
        f"Sort the following words alphabetically: List: {' '.join(words)}",
        " ".join(sorted(words)),
    )


# ---------------------------------------------------------------- object counting

COUNTABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "fruits": (
        ("apple", "apples"), ("banana", "bananas"), ("strawberry", "strawberries"),
        ("peach", "peaches"), ("orange", "oranges"), ("plum", "plums"),
        ("raspberry", "raspberries"), ("grape", "grapes"), ("nectarine", "nectarines"),
        ("blackberry", "blackberries"),
    ),
    "vegetables": (
        ("carrot", "carrots"), ("potato", "potatoes"), ("yam", "yams"),
        ("cauliflower", "cauliflowers"), ("cabbage", "cabbages"), ("onion", "onions"),
        ("head of broccoli", "heads of broccoli"), ("stalk of celery", "stalks of celery"),
        ("lettuce head", "lettuce heads"),
    ),
    "musical instruments": (
        ("piano", "pianos"), ("flute", "flutes"), ("trombone", "trombones"),
        ("violin", "violins"), ("accordion", "accordions"), ("clarinet", "clarinets"),
        ("drum", "drums"), ("trumpet", "trumpets"),
    ),
    "animals": (
        ("cow", "cows"), ("goat", "goats"), ("chicken", "chickens"), ("fish", "fish"),
        ("snake", "snakes"), ("mouse", "mice"), ("rabbit", "rabbits"), ("frog", "frogs"),
        ("pig", "pigs"), ("duck", "ducks"), ("cat", "cats"), ("donkey", "donkeys"),
        ("snail", "snails"), ("bear", "bears"),
    ),
    "objects": (
        ("car", "cars"), ("oven", "ovens"), ("chair", "chairs"), ("table", "tables"),
        ("lamp", "lamps"), ("couch", "couches"), ("bed", "beds"), ("fridge", "fridges"),
        ("stove", "stoves"), ("microwave", "microwaves"), ("toaster", "toasters"),
    ),
}
"""Things to count, by the category a question asks about: (singular, plural) names."""

NUMBER_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five")
"""Quantities as words, by value."""


def _phrase(quantity: int, singular: str, plural: str) -> str:
    if quantity == 1:
        return f"{'an' if singular[0] in 'aeiou' else 'a'} {singular}"
    return f"{NUMBER_WORDS[quantity]} {plural}"


def _english_list(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return f"{parts[0]} and {parts[1]}"
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


def make_object_counting(rng: random.Random) -> tuple[str, str]:
    """One inventory with distractors, a question about one category, and the count.

    Questions about ``objects`` list only household objects, so that nothing
    else could be counted as an object.
    """
    category = rng.choice(tuple(COUNTABLES))
    own = COUNTABLES[category]
    kinds = rng.randrange(3, 11)
    if category == "objects":
        asked = min(kinds, len(own))
        distractors = 0
    else:
        asked = rng.randrange(1, min(kinds, len(own)) + 1)
        distractors = kinds - asked
    others = [item for name, items in COUNTABLES.items() if name not in (category, "objects") for item in items]
    others += list(COUNTABLES["objects"])
    chosen = [(item, True) for item in rng.sample(own, asked)]
    chosen += [(item, False) for item in rng.sample(others, distractors)]
    rng.shuffle(chosen)
    total = 0
    parts = []
    for (singular, plural), counted in chosen:
        quantity = 1 if rng.random() < 0.65 else rng.randrange(2, len(NUMBER_WORDS))
        parts.append(_phrase(quantity, singular, plural))
        total += quantity if counted else 0
    return f"I have {_english_list(parts)}. How many {category} do I have?", str(total)


# ---------------------------------------------------------------- navigate

_FACING_FORWARD = {"forward": (0, 1), "backward": (0, -1), "left": (-1, 0), "right": (1, 0)}
_HEADINGS = ((0, 1), (1, 0), (0, -1), (-1, 0))  # north, east, south, west; turning right adds 1
_TURNS = {"right": 1, "around": 2, "left": 3}

Move = tuple[str, ...]
"""("step", n, direction) with a fixed facing, ("take", n) along the heading, or ("turn", side)."""


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def move_text(move: Move) -> str:
    """One instruction as a sentence, e.g. ``Take 3 steps left.``."""
    if move[0] == "step":
        return f"Take {_steps(int(move[1]))} {move[2]}."
    if move[0] == "take":
        return f"Take {_steps(int(move[1]))}."
    return "Turn around." if move[1] == "around" else f"Turn {move[1]}."


def walk(moves: list[Move]) -> tuple[int, int, int]:
    """Follows the instructions from (0, 0) facing north: final x, y and heading."""
    x = y = heading = 0
    for move in moves:
        if move[0] == "turn":
            heading = (heading + _TURNS[move[1]]) % 4
            continue
        dx, dy = _FACING_FORWARD[move[2]] if move[0] == "step" else _HEADINGS[heading]
        x += dx * int(move[1])
        y += dy * int(move[1])
    return x, y, heading


def _chunks(total: int) -> list[int]:
    out = []
    while total > 0:
        out.append(min(total, 10))
        total -= out[-1]
    return out


def _facing_forward_walk(rng: random.Random, home: bool) -> list[Move]:
    moves: list[Move] = [
        ("step", rng.randrange(1, 11), rng.choice(tuple(_FACING_FORWARD))) for _ in range(rng.randrange(1, 5))
    ]
    if home:
        x, y, _ = walk(moves)
        moves += [("step", n, "left" if x > 0 else "right") for n in _chunks(abs(x))]
        moves += [("step", n, "backward" if y > 0 else "forward") for n in _chunks(abs(y))]
        rng.shuffle(moves)
    else:
        moves += [("step", rng.randrange(1, 11), rng.choice(tuple(_FACING_FORWARD))) for _ in range(rng.randrange(1, 4))]
    return moves


def _turning_walk(rng: random.Random, home: bool) -> list[Move]:
    moves: list[Move] = []
    for _ in range(rng.randrange(2, 6)):
        if rng.random() < 0.6:
            moves.append(("take", rng.randrange(1, 11)))
        else:
            moves.append(("turn", rng.choice(tuple(_TURNS))))
    if home:
        x, y, heading = walk(moves)
        for distance, facing in ((x, 3 if x > 0 else 1), (y, 2 if y > 0 else 0)):
            if distance == 0:
                continue
            turn = (facing - heading) % 4
            if turn:
                moves.append(("turn", {1: "right", 2: "around", 3: "left"}[turn]))
                heading = facing
            moves += [("take", n) for n in _chunks(abs(distance))]
        if rng.random() < 0.3:
            moves.append(("turn", rng.choice(tuple(_TURNS))))
    return moves


def make_navigate(rng: random.Random) -> tuple[str, str]:
    """One walk (facing forward throughout, or with turns) and whether it ends at the start."""
    home = rng.random() < 0.5
    forward = rng.random() < 0.5
    while True:
        moves = _facing_forward_walk(rng, home) if forward else _turning_walk(rng, home)
        x, y, _ = walk(moves)
        back = (x, y) == (0, 0)
        if back == home and 2 <= len(moves) <= 10 and any(m[0] != "turn" for m in moves):
            break
    lead = "Always face forward. " if forward else ""
    text = " ".join(move_text(m) for m in moves)
    question = (
        "If you follow these instructions, do you return to the starting point? "
        f"{lead}{text}\nOptions:\n- Yes\n- No"
    )
    return question, "Yes" if back else "No"


# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class SyntheticTask:
    """A generator of one synthetic task.

    Attributes:
        name: The name after ``synthetic/``.
        answer_format: Name of the answer format in :mod:`gpo.scoring`.
        description: One line for listings.
        make: Draws one (question, answer) pair from a random generator.
    """

    name: str
    answer_format: str
    description: str
    make: Callable[[random.Random], tuple[str, str]]


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
        ),
        SyntheticTask(
            "last_letter", "ii_exact",
            "generated, instruction-induction style: a word in, its last letter out", make_last_letter,
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
    placement: Placement = "Q_end",
    answer_format: str | None = None,
) -> Task:
    """A synthetic task as a :class:`~gpo.tasks.base.Task`.

    Args:
        name: The task's name (without ``synthetic/``).
        seed: Any integer; the same seed gives the same data.
        sizes: Examples per split; missing splits keep their default size.
        placement: Where the instruction goes in each question.
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
        placement=placement,
        description=task.description,
        source=f"generated by gpo.tasks.synthetic (seed {seed}; {sizes_text})",
    )
