"""Instruction Induction: the ``ii/<task>`` group, its data folder, and the benchmark's metric."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import find_ii_data
from test_cli import run

from gpo.cli import cli
from gpo.errors import ConfigError, DataError
from gpo.evaluate import Evaluator
from gpo.lm import ScriptedLM
from gpo.scoring import ANSWER_FORMATS, InductionFormat, get_answer_format, score_output
from gpo.scoring.ii_metric import contains_match, exact_match, exact_set_match, f1_score, normalize, score_any
from gpo.tasks import II_ANSWER_FORMATS, II_TASKS, expand_tasks, list_tasks, load_task
from gpo.tasks.base import Example, Task, display_target, render_messages

II_DATA = find_ii_data()
needs_ii_data = pytest.mark.skipif(
    not II_DATA.is_dir(), reason=f"instruction-induction splits not found at {II_DATA}"
)

SIZES = {"train": 40, "eval": 40, "format": 5, "test": 100}
PRESENT = [name for name in II_TASKS if (II_DATA / name).is_dir()] or list(II_TASKS)
"""The benchmark's tasks the shared splits hold (all of them when the splits are missing: those tests skip)."""


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("GPO_DATA_DIR", raising=False)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def make_task_folder(folder: Path, rows: dict[str, list[tuple[str, list[str]]]]) -> Path:
    """A task folder in the instruction-induction layout: ``{split}.jsonl`` with ``targets`` lists."""
    for split, items in rows.items():
        write_jsonl(
            folder / f"{split}.jsonl",
            [{"input": q, "target": answers[0], "targets": answers} for q, answers in items],
        )
    return folder


def tiny_rows() -> dict[str, list[tuple[str, list[str]]]]:
    words = ["place", "family", "image", "job", "consultant", "river"]
    return {
        split: [(w, [w[0]]) for w in words[:n]]
        for split, n in (("train", 4), ("eval", 3), ("format", 2), ("test", 6))
    }


# ------------------------------------------------------------------ the benchmark's normalization


@pytest.mark.parametrize(
    "text, expected",
    [
        ("well-known", "well known"),
        ("Well-Known!", "well known"),
        ("one hundred and twenty-two", "one hundred twenty two"),
        ("Bread And butter", "bread and butter"),  # " and " is replaced before lowercasing, as upstream
        ("andante", "andante"),
        ("p. Because the word starts with p.", "p"),
        ("p\nThe first letter is p", "p"),
        ("\n\n  p  \nmore", "p"),
        ("(p)", "p"),
        ('"p"', "p"),
        ("p !", "p"),
        ("3 - probably", "3   probably"),
        ("3.5", "3"),  # the text before the first period, even inside a number
        ("Sentence 1: a man Sentence 2: a dog", "a man   a dog"),
        ("\u00abp\u00bb", "\u00abp\u00bb"),  # only ASCII punctuation is dropped, as upstream
        ("", ""),
    ],
)
def test_normalize_follows_the_benchmark(text, expected):
    assert normalize(text) == expected


def test_exact_match_edge_cases():
    assert exact_match("well-known", "well known")
    assert exact_match("Well known.", "well-known")
    assert not exact_match("wellknown", "well known")
    assert exact_match("one hundred and twenty-two", "one hundred twenty-two")
    assert exact_match("ninety-four", "Ninety four.")
    assert exact_match("P", "p")
    assert exact_match("p. It is the first letter.", "p")
    assert exact_match("p\nbecause place starts with p", "p")
    assert not exact_match("The first letter is p", "p")
    assert exact_match("The artist was mentioned by the professor.", "The artist was mentioned by the professor.")
    assert not exact_match("3 - probably", "3")


def test_exact_set_ignores_order_and_repeats_only():
    target = "beetle, bear, kangaroo, bird"
    assert exact_set_match("bird, bear, beetle, kangaroo", target)
    assert exact_set_match("bird, bear, bear, beetle and kangaroo.", target)
    assert exact_set_match("Bird Bear Beetle Kangaroo", target)
    assert not exact_set_match("bird, bear, beetle", target)
    assert not exact_set_match("bird, bear, beetle, kangaroo, bike", target)
    assert not exact_set_match("bird, bear\nbeetle, kangaroo", target)  # the first line only


def test_contains_needs_a_whole_word_or_phrase():
    assert contains_match("journal", "journal")
    assert contains_match("A good synonym is journal, I think.", "journal")
    assert contains_match("the cat sat", "cat")
    assert not contains_match("category", "cat")
    assert not contains_match("bobcat", "cat")
    assert contains_match("I like ice cream a lot", "ice cream")
    assert not contains_match("I like cream, ice", "ice cream")
    assert contains_match("I like ice and cream", "ice cream")  # " and " became a space
    assert contains_match("it is well known", "well-known")
    assert not contains_match("The word. journal", "journal")  # after the first period
    assert not contains_match("anything", "...")  # an answer that normalizes to nothing


def test_any_accepted_answer_counts():
    answers = ["Platz", "Stelle", "Ort"]
    assert score_any("exact", "stelle", answers) == 1.0
    assert score_any("exact", "Stellen", answers) == 0.0
    assert score_any("contains", "Der Ort", answers) == 1.0
    assert score_any("set", "ort", answers) == 1.0
    fmt = get_answer_format("ii_exact")
    assert fmt.score("Stelle", tuple(answers)) == 1.0
    assert fmt.score("Haus", tuple(answers)) == 0.0
    assert fmt.score("ort", "Ort") == 1.0  # a single target is one accepted answer
    assert fmt.score(None, tuple(answers)) == 0.0


def test_f1_counts_shared_words_after_the_same_normalization():
    # Worked by hand: precision = shared / predicted words, recall = shared / answer words.
    assert f1_score("involve oceans", "involve oceans") == 1.0
    assert f1_score("They involve oceans.", "involve oceans") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert f1_score("Involve-Oceans", "involve oceans") == 1.0  # "-" is a space, case is ignored
    assert f1_score("the the sea", "the sea sea") == pytest.approx(2 / 3)  # repeats count once per match
    assert f1_score("nothing shared", "involve oceans") == 0.0
    assert f1_score("Could you please send it?", "Please send it. Thank you.") == pytest.approx(2 * (3 / 5) * 1 / (3 / 5 + 1))
    assert f1_score("", "anything") == 0.0 and f1_score("anything", "...") == 0.0
    # The best accepted answer counts, not the first.
    assert score_any("f1", "they are all fruits", ["things", "are fruits"]) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert score_any("f1", "x", []) == 0.0
    assert score_output("ii_f1", "The answer is: are fruits", ("things", "are fruits")) == ("are fruits", 1.0)


# ------------------------------------------------------------------ the answer formats


def test_formats_are_registered_with_their_metric():
    names = ("ii_exact", "ii_contains", "ii_set", "ii_f1")
    assert {name: ANSWER_FORMATS[name].metric for name in names} == {
        "ii_exact": "exact",
        "ii_contains": "contains",
        "ii_set": "set",
        "ii_f1": "f1",
    }
    assert all(isinstance(ANSWER_FORMATS[n], InductionFormat) for n in names)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("p", "p"),
        ("  P.  ", "P."),
        ("The answer is p.", "p."),
        ("Let me see. place starts with p.\nAnswer: p", "p"),
        ("Answer: p\nExplanation: place starts with p.", "p"),
        ("**Answer:** `p`", "p"),
        ("Sure! Here is the first letter:\n\np", "p"),
        ("Output: Platz", "Platz"),
        ("The first letter is p.", "The first letter is p."),
        ("The answer is 3 - probably", "3 - probably"),
        ("", None),
        ("  \n ", None),
    ],
)
def test_extraction_keeps_the_answer_as_written(text, expected):
    assert get_answer_format("ii_exact").extract(text, "place") == expected


@pytest.mark.parametrize(
    "text",
    [
        "p",
        "P!",
        "well-known fact",
        "one hundred and twenty-two.\nmore",
        "3 - probably",
        "bird, dog and cow",
        "Bread And butter, etc.",
    ],
)
def test_extraction_does_not_change_the_benchmark_score(text):
    """Without a marker, label or lead-in, the format scores exactly as the benchmark would the raw text."""
    for name, metric in (("ii_exact", "exact"), ("ii_contains", "contains"), ("ii_set", "set")):
        for reference in (text, "p", "well known", "bird dog cow", "one hundred twenty two", "bread and butter"):
            _, score = score_output(name, text, reference)
            assert score == score_any(metric, text, [reference]), (name, text, reference)


def test_follow_up_asks_for_only_the_answer_on_one_line():
    for name in ("ii_exact", "ii_contains", "ii_set"):
        message = get_answer_format(name).follow_up("place")
        assert "final answer" in message and "one line" in message and "no explanation" in message
    assert "commas" in get_answer_format("ii_set").follow_up("cow, dog, bike")


def test_two_round_evaluation_sends_the_follow_up_and_scores_any_answer():
    task = Task("demo", {"eval": [Example("place", ("Platz", "Stelle"))]}, "ii_exact")
    lm = ScriptedLM(["In German, 'place' can be Platz or Stelle.", "Stelle"])
    result = asyncio.run(Evaluator(task, lm).evaluate("Translate into German.", split="eval"))
    assert result.score == 1.0 and result.results[0].prediction == "Stelle"
    follow_up = lm.history[1].messages[-1]["content"]
    assert follow_up == get_answer_format("ii_exact").follow_up("place")
    lm = ScriptedLM(["The answer is Ort.\nIt means a spot."])
    result = asyncio.run(Evaluator(task, lm, two_round=False).evaluate("Translate.", split="eval"))
    assert result.score == 0.0 and result.results[0].prediction == "Ort."


# ------------------------------------------------------------------ the task group


def test_every_task_has_the_benchmark_metric(no_env):
    # The benchmark's own table (its TASK_TO_METRIC): everything else is exact match.
    assert len(II_TASKS) == 24
    assert II_ANSWER_FORMATS["orthography_starts_with"] == II_ANSWER_FORMATS["taxonomy_animal"] == "ii_set"
    assert II_ANSWER_FORMATS["synonyms"] == "ii_contains"
    assert II_ANSWER_FORMATS["common_concept"] == II_ANSWER_FORMATS["informal_to_formal"] == "ii_f1"
    assert sum(f == "ii_exact" for f in II_ANSWER_FORMATS.values()) == 19
    assert expand_tasks("ii") == [f"ii/{t}" for t in II_TASKS]


def test_unknown_task_suggests_the_closest(no_env):
    with pytest.raises(ConfigError, match=r"unknown task 'ii/first_word_leter'; did you mean ii/first_word_letter"):
        load_task("ii/first_word_leter")
    with pytest.raises(ConfigError, match="did you mean ii/synonyms"):
        load_task("bbh/synonyms")


def test_unknown_task_is_one_line_on_the_command_line(capsys, tmp_path):
    code, _, err = run(capsys, "evaluate", "-t", "ii/rhyme", "-m", "fake:", "--data-dir", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.startswith("gpo:")]
    assert len(lines) == 1 and "did you mean ii/rhymes" in lines[0]


@pytest.mark.parametrize("nested", [False, True], ids=["folder-itself", "parent-folder"])
def test_loads_from_the_folder_or_its_parent(tmp_path, no_env, nested):
    ii = tmp_path / "instruction-induction" if nested else tmp_path / "mine"
    folder = make_task_folder(ii / "first_word_letter", tiny_rows())
    data_dir = tmp_path if nested else ii
    task = load_task("ii/first_word_letter", data_dir=data_dir)
    assert task.sizes() == {"train": 4, "eval": 3, "format": 2, "test": 6}
    assert task.answer_format == "ii_exact" and task.source == str(folder)
    assert task.split("test")[0].target == ("p",)
    infos = {i.name: i for i in list_tasks(data_dir)}
    assert infos["ii/first_word_letter"].available and infos["ii/first_word_letter"].source == str(folder)
    assert not infos["ii/rhymes"].available


def test_the_environment_names_the_data_folder(tmp_path, monkeypatch):
    make_task_folder(tmp_path / "instruction-induction" / "diff", tiny_rows())
    monkeypatch.setenv("GPO_DATA_DIR", str(tmp_path))
    assert load_task("ii/diff?placement=Q_end").placement == "Q_end"


def test_the_instruction_comes_before_the_input_as_in_the_benchmark(tmp_path):
    make_task_folder(tmp_path / "instruction-induction" / "diff", tiny_rows())
    task = load_task("ii/diff", data_dir=tmp_path)
    assert task.placement == "Q_begin"
    first = task.split("eval")[0]
    assert render_messages("Subtract.", first.input, task.placement)[0]["content"] == f"Subtract.\n{first.input}"


def test_missing_folder_says_where_it_looked_and_how_to_fix(tmp_path, no_env):
    (tmp_path / "gpo-splits").mkdir()
    make_task_folder(tmp_path / "instruction-induction" / "diff", tiny_rows())
    with pytest.raises(DataError) as info:
        load_task("ii/diff", data_dir=tmp_path / "gpo-splits")
    assert str(tmp_path / "gpo-splits" / "diff") in info.value.message
    assert f"--data-dir {tmp_path}" in info.value.hint
    with pytest.raises(DataError) as info:
        load_task("ii/diff")
    assert "instruction-induction folder" in info.value.hint and "GPO_DATA_DIR" in info.value.hint


# ------------------------------------------------------------------ the shared splits


@needs_ii_data
def test_task_names_match_the_data_folders():
    assert {p.name for p in II_DATA.iterdir() if p.is_dir()} == set(PRESENT)
    assert expand_tasks("ii", II_DATA) == expand_tasks("ii", II_DATA.parent) == [f"ii/{t}" for t in PRESENT]
    if (II_DATA.parent / "gpo-splits").is_dir():  # the shared layout: both beside each other
        known = {f"ii/{t}" for t in II_TASKS if t not in PRESENT}  # the benchmark's tasks the splits lack
        assert all(info.available for info in list_tasks(II_DATA.parent) if info.name not in known)


@needs_ii_data
@pytest.mark.parametrize("name", PRESENT)
def test_every_task_loads_with_the_documented_sizes(name):
    for data_dir in (II_DATA, II_DATA.parent):
        task = load_task(f"ii/{name}", data_dir=data_dir)
        assert task.sizes() == SIZES
        assert task.answer_format == II_ANSWER_FORMATS[name]
        assert task.source == str(II_DATA / name)
    raw = [json.loads(line) for line in (II_DATA / name / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    examples = task.split("test")
    assert [e.input for e in examples] == [r["input"] for r in raw]
    assert [e.target for e in examples] == [tuple(r["targets"]) for r in raw]
    assert [display_target(e.target) for e in examples] == [r["target"] for r in raw]
    inputs = {split: {e.input for e in task.split(split)} for split in SIZES}
    assert not inputs["test"] & (inputs["train"] | inputs["eval"] | inputs["format"])


@needs_ii_data
@pytest.mark.parametrize("name", PRESENT)
def test_every_accepted_answer_scores_when_stated(name):
    task = load_task(f"ii/{name}", data_dir=II_DATA)
    fmt = get_answer_format(task.answer_format)
    for example in task.split("test") + task.split("eval"):
        for answer in example.target:
            for text in (answer, f"The answer is {answer}", f"Answer: {answer}\nBecause of the rule."):
                prediction, score = score_output(fmt, text, example.target, example.input)
                assert score == 1.0, (name, text, example.target, prediction)


@needs_ii_data
@pytest.mark.parametrize("name", [n for n in PRESENT if II_ANSWER_FORMATS[n] == "ii_exact"])
def test_another_examples_answer_scores_zero(name):
    examples = load_task(f"ii/{name}", data_dir=II_DATA).split("test")
    checked = 0
    for example, other in zip(examples, examples[1:] + examples[:1]):
        wrong = other.target[0]
        if any(normalize(wrong) == normalize(t) for t in example.target):
            continue
        checked += 1
        assert score_output("ii_exact", f"The answer is {wrong}.", example.target)[1] == 0.0
    assert checked > 0


@needs_ii_data
def test_gpo_tasks_lists_the_group():
    result = CliRunner().invoke(cli, ["tasks", "--data-dir", str(II_DATA), "--all", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    ii = {name: row for name, row in rows.items() if name.startswith("ii/")}
    assert set(ii) == {f"ii/{t}" for t in II_TASKS}
    assert {name for name, row in ii.items() if row["available"]} == {f"ii/{t}" for t in PRESENT}
    assert all(row["source"] == str(II_DATA / row["name"][3:]) for row in ii.values())
    assert rows["ii/synonyms"]["answer_format"] == "ii_contains"
    assert rows["ii/taxonomy_animal"]["answer_format"] == "ii_set"
    assert not rows["bbh/navigate"]["available"]

    for data_dir in (II_DATA, II_DATA.parent):
        result = CliRunner().invoke(cli, ["tasks", "--data-dir", str(data_dir)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        for name in PRESENT:
            assert f"ii/{name} " in result.output
        assert "ii_contains" in result.output and "ii_set" in result.output


def test_gpo_tasks_all_lists_the_group_as_missing_without_data(no_env):
    result = CliRunner().invoke(cli, ["tasks", "--all", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output) if r["name"].startswith("ii/")}
    assert len(rows) == 24 and not any(r["available"] for r in rows.values())


@needs_ii_data
@pytest.mark.parametrize("where", ["folder", "parent", "env"])
def test_evaluate_end_to_end_with_a_fake_model(capsys, tmp_path, monkeypatch, where):
    out_file = tmp_path / "res.jsonl"
    args = ["evaluate", "-t", "ii/first_word_letter", "-m", "fake:", "--protocol", "paper", "--limit", "3", "--json",
            "--out", str(out_file)]
    if where == "env":
        monkeypatch.setenv("GPO_DATA_DIR", str(II_DATA.parent))
    else:
        args += ["--data-dir", str(II_DATA if where == "folder" else II_DATA.parent)]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["task"] == "ii/first_word_letter" and payload["n"] == 3 and payload["n_errors"] == 0
    assert payload["usage"]["requests"] == 6  # two rounds per example
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    eval_rows = [json.loads(x) for x in (II_DATA / "first_word_letter" / "eval.jsonl").read_text().splitlines()]
    assert [r["target"] for r in lines] == [r["targets"] for r in eval_rows[:3]]
    assert all(isinstance(r["prediction"], str) and r["final_output"] for r in lines)
    assert sum(r["score"] for r in lines) / 3 == pytest.approx(payload["score"])


@needs_ii_data
def test_evaluate_one_round_human_output(capsys):
    code, out, err = run(
        capsys, "evaluate", "-t", "ii/synonyms", "--data-dir", str(II_DATA), "-m", "fake:",
        "--limit", "3", "--one-round", "--prompt", "Give a synonym.",
    )
    assert code == 0, err
    assert "score:" in out and "3 paid" in out


# ------------------------------------------------------------------ a user's own folder


def test_own_folder_with_targets_lists(tmp_path):
    rows = {
        "train": [("place", ["Platz", "Stelle"]), ("family", ["Familie"])],
        "eval": [("house", ["Haus", "Gebäude"]), ("tree", ["Baum"])],
        "format": [("dog", ["Hund"])],
        "test": [("cat", ["Katze", "Kater"])],
    }
    folder = make_task_folder(tmp_path / "my-ii" / "en-de", rows)
    task = load_task(f"jsonl:{folder}?format=ii_exact")
    assert task.answer_format == "ii_exact"
    assert task.sizes() == {"train": 2, "eval": 2, "format": 1, "test": 1}
    assert task.split("eval")[0].target == ("Haus", "Gebäude")
    assert display_target(task.split("eval")[0].target) == "Haus"
    assert task.split("format")[0].target == ("Hund",)

    lm = ScriptedLM(["The answer is Gebäude.", "Baum"])
    result = asyncio.run(Evaluator(task, lm, two_round=False).evaluate("Translate into German.", split="eval"))
    assert result.score == 1.0

    only_first = load_task(f"jsonl:{folder}?format=ii_exact&target=target")
    assert only_first.split("eval")[0].target == "Haus"

    with pytest.raises(ConfigError, match="unknown answer format 'ii_exat'; did you mean ii_exact"):
        load_task(f"jsonl:{folder}?format=ii_exat")


def test_own_folder_chooses_the_metric(tmp_path):
    rows = {
        "train": [("cow, dog, bike", ["cow, dog"])],
        "eval": [("kangaroo, bike, bear", ["kangaroo, bear"])],
        "test": [("cat, car", ["cat"])],
    }
    folder = make_task_folder(tmp_path / "animals", rows)
    for fmt, expected in (("ii_set", 1.0), ("ii_exact", 0.0), ("ii_contains", 0.0)):
        task = load_task(f"jsonl:{folder}", answer_format=fmt)
        lm = ScriptedLM(["bear and kangaroo"])
        result = asyncio.run(Evaluator(task, lm, two_round=False).evaluate("List the animals.", split="eval"))
        assert result.score == expected, fmt
    task = load_task(f"jsonl:{folder}?format=ii_contains")
    lm = ScriptedLM(["It is a cat, surely."])
    assert asyncio.run(Evaluator(task, lm, two_round=False).evaluate("", split="test")).score == 1.0


def test_a_folder_of_the_layout_is_a_task_of_the_group(tmp_path, no_env):
    # The benchmark's tasks the shared splits lack (antonyms, common_concept) and a user's own
    # task load by folder name; a folder whose records lack ``targets`` is not one.
    ii = tmp_path / "instruction-induction"
    make_task_folder(ii / "antonyms", {"eval": [("hot", ["cold"])], "test": [("up", ["down"])]})
    make_task_folder(ii / "common_concept", {"eval": [("whale, shark", ["live in water", "swim"])]})
    make_task_folder(ii / "capitals", {"eval": [("France", ["Paris"])], "test": [("Peru", ["Lima"])]})
    write_jsonl(ii / "notes" / "eval.jsonl", [{"input": "a", "target": "b"}])
    (tmp_path / "gpo-splits").mkdir()
    assert expand_tasks("ii", tmp_path) == ["ii/antonyms", "ii/common_concept", "ii/capitals"]
    assert load_task("ii/antonyms", data_dir=tmp_path).answer_format == "ii_exact"
    concept = load_task("ii/common_concept", data_dir=tmp_path)
    assert concept.answer_format == "ii_f1" and concept.split("eval")[0].target == ("live in water", "swim")
    own = load_task("ii/capitals", data_dir=tmp_path)
    assert own.answer_format == "ii_exact" and own.source == str(ii / "capitals")
    assert load_task("ii/capitals?answer_format=ii_contains", data_dir=tmp_path).answer_format == "ii_contains"
    with pytest.raises(ConfigError, match="unknown task 'ii/notes'"):
        load_task("ii/notes", data_dir=tmp_path)
    listed = {i.name: i for i in list_tasks(tmp_path)}
    assert listed["ii/capitals"].available and "ii/notes" not in listed
    result = CliRunner().invoke(cli, ["tasks", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "ii/capitals " in result.output and "ii/antonyms " in result.output


def test_a_sweep_expands_task_groups_against_its_data_folder(tmp_path, no_env):
    from gpo.sweep.command import build_plan

    ii = tmp_path / "instruction-induction"
    for name in ("diff", "capitals"):
        make_task_folder(ii / name, tiny_rows())
    run = dict(max_calls=None, max_tokens=None, max_cost=None, protocol="quick", model="fake:", optimizer_model=None,
               embedder=None, steps=1, eval_limit=None, test_limit=None, data_dir=str(tmp_path), initial_prompt=None,
               two_round=None, answer_tokens=None, dry_run=False)
    plan = build_plan("ii,ii/diff,bbh/lite", "gpo", "0", (), **run)
    assert plan.tasks == ("ii/diff", "ii/capitals", "bbh/navigate", "bbh/movie_recommendation",
                          "bbh/object_counting", "bbh/word_sorting")
