"""Expressions to evaluate: Boolean expressions and multistep integer arithmetic.

Each question is written from a structure (a tree, or numbers and operators) and its answer
computed from the same structure, never by ``eval`` of the text.
"""

from __future__ import annotations

import random
from typing import Any


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
