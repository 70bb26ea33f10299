"""Tests of the synthetic tasks: determinism, sizes, disjoint splits, correct answers.

Answers are recomputed here without the generator's own evaluators: Python's
``ast`` for expressions, ``sorted`` for words, text parsing for counting and
walking.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from gpo.errors import ConfigError
from gpo.tasks import SYNTHETIC_TASKS, load_task, synthetic
from gpo.tasks.synthetic import COUNTABLES, DEFAULT_SIZES, WORDS, derive_seed, generate_splits, resolve_sizes

NAMES = list(SYNTHETIC_TASKS)
FORMATS = {
    "boolean_expressions": "true_false",
    "multistep_arithmetic": "number",
    "word_sorting": "word_sort",
    "object_counting": "number",
    "navigate": "yes_no",
    "first_letter": "ii_exact",
    "last_letter": "ii_exact",
}


def all_examples(task):
    return [e for split in task.splits.values() for e in split]


def digest(task) -> str:
    payload = {k: [[e.input, e.target] for e in v] for k, v in task.splits.items()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def test_the_required_tasks_exist():
    assert set(FORMATS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_default_sizes_and_answer_format(name):
    task = load_task(f"synthetic/{name}")
    assert task.sizes() == {"train": 48, "eval": 48, "test": 144, "format": 5, "few_shot": 5}
    assert task.answer_format == FORMATS[name]
    assert task.name == f"synthetic/{name}"
    assert "seed 0" in task.source


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_data_other_seed_other_data(name):
    a = load_task(f"synthetic/{name}?seed=3")
    assert a.splits == load_task(f"synthetic/{name}", seed=3).splits
    assert [e.input for e in a.split("test")] == [e.input for e in load_task(f"synthetic/{name}?seed=3").split("test")]
    b = load_task(f"synthetic/{name}?seed=4")
    assert [e.input for e in a.split("test")] != [e.input for e in b.split("test")]
    assert [e.input for e in load_task(f"synthetic/{name}").split("train")] == [
        e.input for e in load_task(f"synthetic/{name}?seed=0").split("train")
    ]


def test_same_data_in_another_process_with_other_hash_seed():
    here = {name: digest(load_task(f"synthetic/{name}?seed=5")) for name in NAMES}
    code = (
        "import hashlib, json\n"
        "from gpo.tasks import load_task, SYNTHETIC_TASKS\n"
        "out = {}\n"
        "for name in SYNTHETIC_TASKS:\n"
        "    t = load_task(f'synthetic/{name}?seed=5')\n"
        "    p = {k: [[e.input, e.target] for e in v] for k, v in t.splits.items()}\n"
        "    out[name] = hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(result.stdout) == here


def test_pinned_first_examples_guard_cross_version_stability():
    # Changing a generator changes everyone's synthetic data: update these on purpose only.
    first = {name: load_task(f"synthetic/{name}").split("train")[0] for name in NAMES}
    assert (first["multistep_arithmetic"].input, first["multistep_arithmetic"].target) == (
        "((-1 - -3 - 8 - 9) + (3 + -7 + 9 * -5)) =",
        "-64",
    )
    assert first["boolean_expressions"].input == "( False or False and ( not True ) ) is"
    assert first["word_sorting"].input.startswith("Sort the following words alphabetically: List: column letter travel")


def test_derive_seed_is_sha256_of_the_parts():
    expected = int.from_bytes(hashlib.sha256("word_sorting\x1f0\x1ftrain".encode()).digest()[:8], "big")
    assert derive_seed("word_sorting", 0, "train") == expected
    assert derive_seed("word_sorting", 0, "train") != derive_seed("word_sorting", 1, "train")


@pytest.mark.parametrize("name", NAMES)
def test_no_input_is_shared_within_or_across_splits(name):
    task = load_task(f"synthetic/{name}?seed=11")
    inputs = [e.input for e in all_examples(task)]
    assert len(inputs) == sum(DEFAULT_SIZES.values())
    assert len(set(inputs)) == len(inputs)


def test_sizes_from_spec_and_keyword():
    task = load_task("synthetic/word_sorting?seed=3&train=10&eval=7&test=20")
    assert task.sizes() == {"train": 10, "eval": 7, "test": 20, "format": 5, "few_shot": 5}
    task = load_task("synthetic/word_sorting", seed=3, sizes={"test": 2, "few_shot": 0})
    assert task.sizes() == {"train": 48, "eval": 48, "test": 2, "format": 5, "few_shot": 0}
    with pytest.raises(Exception, match="empty"):
        task.split("few_shot")
    merged = load_task("synthetic/word_sorting?test=9", sizes={"train": 4})
    assert merged.sizes()["test"] == 9 and merged.sizes()["train"] == 4


def test_later_split_sizes_do_not_change_earlier_splits():
    small = generate_splits("navigate", 2, {"test": 10})
    large = generate_splits("navigate", 2, {"test": 300})
    assert small["train"] == large["train"] and small["eval"] == large["eval"]
    assert large["test"][:10] == small["test"]


def test_bad_sizes_and_options():
    with pytest.raises(ConfigError, match="unknown split"):
        resolve_sizes({"dev": 3})
    with pytest.raises(ConfigError, match="between 0"):
        resolve_sizes({"test": -1})
    with pytest.raises(ConfigError, match="whole number"):
        load_task("synthetic/navigate?test=ten")
    with pytest.raises(ConfigError, match="does not take option"):
        load_task("synthetic/navigate?input=question")
    with pytest.raises(ConfigError, match="did you mean synthetic/navigate"):
        load_task("synthetic/navigation")


def test_an_exhausted_generator_fails_instead_of_looping(monkeypatch):
    stuck = synthetic.SyntheticTask("stuck", "exact", "always the same", lambda rng: ("same", "x"))
    monkeypatch.setitem(synthetic.SYNTHETIC_TASKS, "stuck", stuck)
    with pytest.raises(ConfigError, match="could only make 1 new distinct"):
        generate_splits("stuck", 0, {"train": 2})


def test_placement_and_answer_format_options():
    task = load_task("synthetic/navigate?placement=Q_begin&answer_format=exact")
    assert task.placement == "Q_begin" and task.answer_format == "exact"
    example = task.split("train")[0]
    assert task.messages("Go.", example)[0]["content"].startswith("Go.\n")


# ------------------------------------------------------------------ answers, recomputed


def eval_ast(node: ast.AST):
    """A tiny independent evaluator for bool/int expressions parsed by Python."""
    if isinstance(node, ast.Expression):
        return eval_ast(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int)):
        return node.value
    if isinstance(node, ast.BoolOp):
        values = [eval_ast(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not eval_ast(node.operand)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -eval_ast(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = eval_ast(node.left), eval_ast(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
    raise AssertionError(f"unexpected syntax: {ast.dump(node)}")


def test_boolean_expressions_are_correct_and_balanced():
    task = load_task("synthetic/boolean_expressions?seed=1")
    for example in all_examples(task):
        assert example.input.endswith(" is")
        expression = example.input[: -len(" is")]
        assert set(expression.split()) <= {"True", "False", "not", "and", "or", "(", ")"}
        value = eval_ast(ast.parse(expression, mode="eval"))
        assert example.target == str(value), example.input
    counts = Counter(e.target for e in task.split("test"))
    assert set(counts) == {"True", "False"} and min(counts.values()) >= 0.3 * 144


def test_multistep_arithmetic_is_correct():
    task = load_task("synthetic/multistep_arithmetic?seed=2")
    shape = re.compile(r"\(\((-?\d [-+*] )+-?\d\) [-+*] \((-?\d [-+*] )+-?\d\)\) =")
    for example in all_examples(task):
        assert shape.fullmatch(example.input), example.input
        assert example.target == str(eval_ast(ast.parse(example.input[:-2], mode="eval"))), example.input
    assert len({e.target for e in task.split("test")}) > 40


def test_word_sorting_is_correct():
    task = load_task("synthetic/word_sorting?seed=4")
    prefix = "Sort the following words alphabetically: List: "
    for example in all_examples(task):
        assert example.input.startswith(prefix)
        words = example.input[len(prefix):].split(" ")
        assert 5 <= len(words) <= 16 and len(set(words)) == len(words)
        assert example.target == " ".join(sorted(words))
        assert words != sorted(words)  # overwhelmingly likely; a sorted list would be a giveaway


def test_word_list_is_a_few_hundred_plain_words():
    assert len(WORDS) >= 300
    assert len(set(WORDS)) == len(WORDS)
    assert all(re.fullmatch(r"[a-z]+", w) for w in WORDS)


def test_object_counting_is_correct():
    numbers = {"a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    kind_of = {}
    for category, items in COUNTABLES.items():
        for singular, plural in items:
            kind_of[singular] = kind_of[plural] = category
    task = load_task("synthetic/object_counting?seed=5")
    pattern = re.compile(r"I have (.+)\. How many (fruits|vegetables|musical instruments|animals|objects) do I have\?")
    for example in all_examples(task):
        match = pattern.fullmatch(example.input)
        assert match, example.input
        items = re.split(r", and |, | and ", match.group(1))
        total = 0
        for item in items:
            word, thing = item.split(" ", 1)
            if word in ("a", "an"):
                assert word == ("an" if thing[0] in "aeiou" else "a"), item
            if kind_of[thing] == match.group(2):
                total += numbers[word]
        assert example.target == str(total), example.input
        assert total >= 1


def walk_text(text: str) -> bool:
    """Whether the walk described in a navigate question ends at the start."""
    body = text.split("starting point? ", 1)[1].split("\nOptions:")[0]
    fixed = body.startswith("Always face forward. ")
    if fixed:
        body = body[len("Always face forward. "):]
    x = y = 0
    dx, dy = 0, 1
    for sentence in body.rstrip(".").split(". "):
        words = sentence.split()
        if words[0] == "Turn":
            if words[1] == "right":
                dx, dy = dy, -dx
            elif words[1] == "left":
                dx, dy = -dy, dx
            else:
                assert words[1] == "around"
                dx, dy = -dx, -dy
            assert not fixed
            continue
        assert words[0] == "Take" and words[2] in ("step", "steps")
        count = int(words[1])
        assert (words[2] == "step") == (count == 1)
        if fixed:
            mx, my = {"forward": (0, 1), "backward": (0, -1), "left": (-1, 0), "right": (1, 0)}[words[3]]
        else:
            assert len(words) == 3
            mx, my = dx, dy
        x += mx * count
        y += my * count
    return (x, y) == (0, 0)


def test_navigate_is_correct_and_balanced():
    task = load_task("synthetic/navigate?seed=6")
    for example in all_examples(task):
        assert example.input.endswith("\nOptions:\n- Yes\n- No")
        assert example.target == ("Yes" if walk_text(example.input) else "No"), example.input
    counts = Counter(e.target for e in task.split("test"))
    assert min(counts["Yes"], counts["No"]) >= 0.3 * 144
    styles = Counter("Always face forward." in e.input for e in task.split("test"))
    assert min(styles.values()) >= 0.3 * 144


def test_letter_tasks_need_an_instruction_to_be_answered():
    from gpo.scoring import score_output
    from gpo.tasks import load_task

    for name, pick in (("first_letter", lambda w: w[0]), ("last_letter", lambda w: w[-1])):
        task = load_task(f"synthetic/{name}")
        assert task.answer_format == "ii_exact"
        for ex in task.split("test"):
            assert ex.input in WORDS and ex.target == pick(ex.input)
        ex = task.split("eval")[0]
        assert score_output(task.answer_format, ex.target.upper(), ex.target)[1] == 1.0
        assert score_output(task.answer_format, f"The word {ex.input} ends with it.", ex.target)[1] == 0.0
