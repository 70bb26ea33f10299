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
* ``first_letter`` / ``last_letter``: a word in, its first or last letter out, in the style
  of Instruction Induction (``ii_exact``; see :mod:`gpo.tasks.word_rules`).

The generators live in :mod:`~gpo.tasks.synthetic.expressions`,
:mod:`~gpo.tasks.synthetic.word_sorting`, :mod:`~gpo.tasks.synthetic.object_counting` and
:mod:`~gpo.tasks.synthetic.navigate`; seeding, sizes and the registry in
:mod:`~gpo.tasks.synthetic.generate`. This package re-exports their names.

>>> task = load_synthetic("multistep_arithmetic", sizes={"train": 2, "eval": 0, "test": 0, "format": 0, "few_shot": 0})
>>> task.sizes()["train"]
2
"""

from __future__ import annotations

from gpo.tasks.synthetic.expressions import (
    BoolNode,
    arithmetic_value,
    bool_text,
    bool_value,
    make_boolean_expression,
    make_multistep_arithmetic,
)
from gpo.tasks.synthetic.generate import (
    DEFAULT_SIZES,
    MAX_REPEATS,
    MAX_SPLIT_SIZE,
    SYNTHETIC_TASKS,
    SyntheticTask,
    derive_seed,
    generate_splits,
    load_synthetic,
    resolve_sizes,
)
from gpo.tasks.synthetic.navigate import Move, make_navigate, move_text, walk
from gpo.tasks.synthetic.object_counting import COUNTABLES, NUMBER_WORDS, make_object_counting
from gpo.tasks.synthetic.word_sorting import make_word_sorting
from gpo.tasks.word_rules import make_first_letter, make_last_letter
from gpo.tasks.words import WORDS

__all__ = [
    "COUNTABLES",
    "DEFAULT_SIZES",
    "MAX_REPEATS",
    "MAX_SPLIT_SIZE",
    "NUMBER_WORDS",
    "SYNTHETIC_TASKS",
    "WORDS",
    "BoolNode",
    "Move",
    "SyntheticTask",
    "arithmetic_value",
    "bool_text",
    "bool_value",
    "derive_seed",
    "generate_splits",
    "load_synthetic",
    "make_boolean_expression",
    "make_first_letter",
    "make_last_letter",
    "make_multistep_arithmetic",
    "make_navigate",
    "make_object_counting",
    "make_word_sorting",
    "move_text",
    "resolve_sizes",
    "walk",
]
