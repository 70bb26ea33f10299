"""Tests of the task loaders: the paper's splits, users' files, the registry."""

from __future__ import annotations

from conftest import SHARED_DATA
import csv
import json
import os
import re
from pathlib import Path

import pytest

from gpo.errors import ConfigError, DataError
from gpo.tasks import (
    BBH_ANSWER_FORMATS,
    BBH_TASKS,
    LITE_BBH,
    MMLU_SUBJECTS,
    Example,
    Task,
    TaskInfo,
    expand_tasks,
    list_tasks,
    load_task,
)
from gpo.tasks.files import parse_split

PAPER_DATA = Path(os.environ.get("GPO_DATA_DIR") or SHARED_DATA)
needs_paper_data = pytest.mark.skipif(
    not (PAPER_DATA / "BIG-Bench-Hard").is_dir(), reason=f"paper splits not found at {PAPER_DATA}"
)


def first_record(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return json.loads(handle.readline())


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def fake_bbh(root: Path, name: str = "navigate", n: int = 4) -> Path:
    """A tiny data folder with one BBH subtask laid out like gpo-splits."""
    folder = root / "BIG-Bench-Hard" / name
    for split in ("train", "eval", "test", "format", "few_shot_examples"):
        write_jsonl(folder / f"{split}.jsonl", [{"input": f"{split} q{i}", "target": "Yes"} for i in range(n)])
    return folder


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("GPO_DATA_DIR", raising=False)


# ------------------------------------------------------------------ the paper's splits


@needs_paper_data
def test_bbh_navigate_has_paper_sizes_and_yes_no_targets():
    task = load_task("bbh/navigate", data_dir=PAPER_DATA)
    assert task.sizes() == {"train": 48, "eval": 48, "test": 144, "format": 5, "few_shot": 5}
    assert task.answer_format == "yes_no"
    assert task.name == "bbh/navigate"
    assert {e.target for e in task.split("test")} == {"Yes", "No"}
    raw = first_record(PAPER_DATA / "BIG-Bench-Hard/navigate/train.jsonl")
    assert task.split("train")[0].input == raw["input"]
    assert task.split("train")[0].target == raw["target"]


@needs_paper_data
def test_data_dir_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("GPO_DATA_DIR", str(PAPER_DATA))
    assert load_task("bbh/navigate").sizes()["test"] == 144


@needs_paper_data
def test_mmlu_anatomy():
    task = load_task("mmlu/anatomy", data_dir=PAPER_DATA)
    assert task.sizes() == {"train": 20, "eval": 20, "test": 60, "format": 5, "few_shot": 4}
    assert task.answer_format == "multiple_choice"
    assert all(re.fullmatch(r"\([A-D]\)", e.target) for e in task.split("test"))
    assert "(A)" in task.split("train")[0].input


@needs_paper_data
def test_gsm8k_integer_answers_become_text_and_solutions_stay_in_meta():
    task = load_task("gsm8k", data_dir=PAPER_DATA)
    assert task.sizes() == {"train": 100, "eval": 100, "test": 300, "format": 5, "few_shot": 5}
    assert task.answer_format == "number"
    raw = first_record(PAPER_DATA / "reasoning/GSM8K/train.jsonl")
    first = task.split("train")[0]
    assert first.target == str(raw["output"])
    assert first.meta["solution"] == raw["solution"]
    for example in task.split("test"):
        assert isinstance(example.target, str) and re.fullmatch(r"-?\d+", example.target)


@needs_paper_data
def test_wsc():
    task = load_task("wsc", data_dir=PAPER_DATA)
    assert task.sizes() == {"train": 50, "eval": 50, "test": 150, "format": 10, "few_shot": 10}
    assert {e.target for e in task.split("test")} == {"(A)", "(B)"}


@needs_paper_data
def test_webnlg_targets_are_tuples_of_references():
    task = load_task("webnlg", data_dir=PAPER_DATA)
    assert task.answer_format == "rouge_l"
    assert task.sizes()["test"] == 300
    raw = first_record(PAPER_DATA / "common-nlp/WebNLG/train.jsonl")
    first = task.split("train")[0]
    assert first.target == tuple(raw["output"])
    assert first.meta["id"] == raw["id"]
    assert all(isinstance(e.target, tuple) and e.target for e in task.split("test"))


@needs_paper_data
def test_constant_task_names_match_the_data_folders():
    assert set(BBH_TASKS) == {p.name for p in (PAPER_DATA / "BIG-Bench-Hard").iterdir()}
    assert set(MMLU_SUBJECTS) == {p.name for p in (PAPER_DATA / "MMLU").iterdir()}
    assert all(info.available for info in list_tasks(PAPER_DATA) if not info.name.startswith("ii/"))


@needs_paper_data
@pytest.mark.parametrize("name", BBH_TASKS)
def test_bbh_targets_fit_the_answer_format(name):
    task = load_task(f"bbh/{name}", data_dir=PAPER_DATA)
    patterns = {
        "multiple_choice": r"\([A-R]\)",
        "yes_no": r"(?i)yes|no",
        "true_false": r"True|False",
        "valid_invalid": r"valid|invalid",
        "number": r"-?\d+",
        "dyck": r"[\]\)\}>]( [\]\)\}>])*",
        "word_sort": r"[^ ]+( [^ ]+)*",
    }
    # Upstream BBH defects kept as they are: options containing commas were cut
    # apart, and the target is the option text instead of a letter.
    known_defects = {
        "movie_recommendation": {"Monsters, Inc"},
        "ruin_names": {"rita, sue and bob poo", "dearth, wind, & fire"},
    }
    pattern = patterns[BBH_ANSWER_FORMATS[name]]
    misfits = {
        example.target
        for split in ("train", "eval", "test", "format", "few_shot")
        for example in task.split(split)
        if not re.fullmatch(pattern, example.target)
    }
    assert misfits == known_defects.get(name, set())


@needs_paper_data
def test_placement_option_in_spec_and_keyword():
    example = load_task("bbh/navigate", data_dir=PAPER_DATA).split("test")[0]
    task = load_task("bbh/navigate?placement=system", data_dir=PAPER_DATA)
    assert task.placement == "system"
    assert task.messages("Think.", example)[0] == {"role": "system", "content": "Think."}
    assert load_task("gsm8k", data_dir=PAPER_DATA, placement="A_begin").placement == "A_begin"
    assert load_task("gsm8k", data_dir=PAPER_DATA).placement == "Q_end"


# ------------------------------------------------------------------ registry and errors


def test_bbh_answer_formats_follow_the_data_readme():
    assert len(BBH_TASKS) == 27 and len(set(BBH_TASKS)) == 27
    assert len(MMLU_SUBJECTS) == 57 and len(set(MMLU_SUBJECTS)) == 57
    assert BBH_ANSWER_FORMATS["navigate"] == "yes_no"
    assert BBH_ANSWER_FORMATS["causal_judgement"] == "yes_no"
    assert BBH_ANSWER_FORMATS["boolean_expressions"] == "true_false"
    assert BBH_ANSWER_FORMATS["formal_fallacies"] == "valid_invalid"
    assert BBH_ANSWER_FORMATS["multistep_arithmetic_two"] == "number"
    assert BBH_ANSWER_FORMATS["dyck_languages"] == "dyck"
    assert BBH_ANSWER_FORMATS["word_sorting"] == "word_sort"
    assert BBH_ANSWER_FORMATS["date_understanding"] == "multiple_choice"
    assert sum(f == "multiple_choice" for f in BBH_ANSWER_FORMATS.values()) == 27 - 10


def test_every_task_uses_an_answer_format_that_scoring_knows(no_env):
    from gpo.scoring import ANSWER_FORMATS

    used = {info.answer_format for info in list_tasks()}
    assert used <= set(ANSWER_FORMATS)
    assert used >= {"multiple_choice", "yes_no", "true_false", "valid_invalid", "number", "dyck", "word_sort", "rouge_l"}


def test_lite_bbh_and_groups(no_env):
    assert LITE_BBH == ("navigate", "movie_recommendation", "object_counting", "word_sorting")
    assert expand_tasks("bbh/lite") == [f"bbh/{n}" for n in LITE_BBH]
    assert len(expand_tasks("bbh")) == 27
    assert len(expand_tasks("mmlu")) == 57
    assert expand_tasks("bbh/lite?placement=system")[0] == "bbh/navigate?placement=system"
    assert expand_tasks("gsm8k") == ["gsm8k"]
    assert len(expand_tasks("ii")) == 24 and expand_tasks("ii")[0] == "ii/active_to_passive"
    with pytest.raises(ConfigError, match="group of 4 tasks"):
        load_task("bbh/lite")
    with pytest.raises(ConfigError, match="group of 24 tasks"):
        load_task("ii")


def test_list_tasks_without_data_marks_paper_tasks_unavailable(no_env):
    infos = list_tasks()
    assert all(isinstance(i, TaskInfo) for i in infos)
    names = [i.name for i in infos]
    assert len(names) == 27 + 57 + 3 + 24 + 7 and len(set(names)) == len(names)
    assert {"bbh/navigate", "mmlu/anatomy", "gsm8k", "wsc", "webnlg", "synthetic/word_sorting"} <= set(names)
    by_name = {i.name: i for i in infos}
    assert not by_name["bbh/navigate"].available
    assert not by_name["ii/first_word_letter"].available
    assert by_name["ii/synonyms"].answer_format == "ii_contains"
    assert by_name["synthetic/word_sorting"].available
    assert by_name["bbh/word_sorting"].answer_format == "word_sort"
    assert by_name["webnlg"].answer_format == "rouge_l"
    assert all(i.description for i in infos)


def test_list_tasks_marks_only_present_folders_available(tmp_path, no_env):
    folder = fake_bbh(tmp_path)
    by_name = {i.name: i for i in list_tasks(tmp_path)}
    assert by_name["bbh/navigate"].available
    assert by_name["bbh/navigate"].source == str(folder)
    assert not by_name["bbh/snarks"].available
    assert not by_name["gsm8k"].available


def test_data_dir_may_hold_gpo_splits(tmp_path, no_env):
    folder = fake_bbh(tmp_path / "gpo-splits")
    assert load_task("bbh/navigate", data_dir=tmp_path).source == str(folder)
    assert {i.name: i for i in list_tasks(tmp_path)}["bbh/navigate"].source == str(folder)


def test_fake_data_dir_loads(tmp_path, no_env):
    fake_bbh(tmp_path)
    task = load_task("bbh/navigate", data_dir=tmp_path)
    assert isinstance(task, Task)
    assert task.sizes() == {"train": 4, "eval": 4, "test": 4, "format": 4, "few_shot": 4}
    assert task.split("few_shot")[0] == Example("few_shot_examples q0", "Yes")
    assert task.source == str(tmp_path / "BIG-Bench-Hard" / "navigate")


def test_missing_data_dir_says_how_to_set_it(no_env):
    with pytest.raises(DataError) as info:
        load_task("bbh/navigate")
    assert "no data folder set for task bbh/navigate" in info.value.message
    assert "GPO_DATA_DIR" in info.value.hint and "--data-dir" in info.value.hint


def test_nonexistent_data_dir_is_named(tmp_path, no_env):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(str(missing))):
        load_task("bbh/navigate", data_dir=missing)


def test_missing_task_folder_is_named(tmp_path, no_env):
    fake_bbh(tmp_path)
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "BIG-Bench-Hard" / "snarks"))):
        load_task("bbh/snarks", data_dir=tmp_path)


def test_malformed_json_names_file_and_line(tmp_path):
    folder = fake_bbh(tmp_path)
    path = folder / "eval.jsonl"
    path.write_text('{"input": "a", "target": "Yes"}\n\n{"input": "b", "target": \n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_task("bbh/navigate", data_dir=tmp_path)
    assert info.value.message.startswith(f"{path}:3: not valid JSON (")


def test_non_object_line_is_an_error(tmp_path):
    folder = fake_bbh(tmp_path)
    (folder / "test.jsonl").write_text('["input", "target"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"test\.jsonl:1: expected a JSON object"):
        load_task("bbh/navigate", data_dir=tmp_path)


def test_missing_field_names_file_line_field_and_fields_present(tmp_path):
    folder = fake_bbh(tmp_path)
    write_jsonl(folder / "train.jsonl", [{"input": "a", "target": "No"}, {"input": "b", "output": "No"}])
    with pytest.raises(DataError) as info:
        load_task("bbh/navigate", data_dir=tmp_path)
    message = info.value.message
    assert f"{folder / 'train.jsonl'}:2:" in message
    assert "'target'" in message and "input, output" in message


def test_empty_split_file_fails_only_when_requested(tmp_path):
    folder = fake_bbh(tmp_path)
    (folder / "eval.jsonl").write_text("", encoding="utf-8")
    task = load_task("bbh/navigate", data_dir=tmp_path)
    assert task.split("train")
    with pytest.raises(DataError, match="empty"):
        task.split("eval")


def test_missing_split_file_is_left_out(tmp_path):
    folder = fake_bbh(tmp_path)
    (folder / "few_shot_examples.jsonl").unlink()
    task = load_task("bbh/navigate", data_dir=tmp_path)
    assert "few_shot" not in task.splits
    with pytest.raises(DataError, match="no split 'few_shot'"):
        task.split("few_shot")


def test_folder_without_any_main_split_is_an_error(tmp_path):
    folder = fake_bbh(tmp_path)
    for split in ("train", "eval", "test"):
        (folder / f"{split}.jsonl").unlink()
    with pytest.raises(DataError, match="none of train.jsonl"):
        load_task("bbh/navigate", data_dir=tmp_path)


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [
        ("bbh/navigat", "bbh/navigate"),
        ("navigate", "bbh/navigate"),
        ("mmlu/anatomyy", "mmlu/anatomy"),
        ("gsm8", "gsm8k"),
        ("synthetic/word_sort", "synthetic/word_sorting"),
    ],
)
def test_unknown_task_suggests_a_name(spec, suggestion):
    with pytest.raises(ConfigError) as info:
        load_task(spec)
    assert f"did you mean {suggestion}" in info.value.message
    assert "gpo tasks" in info.value.hint


def test_unknown_option_and_bad_values_are_config_errors(tmp_path):
    fake_bbh(tmp_path)
    with pytest.raises(ConfigError, match="does not take option"):
        load_task("bbh/navigate?shots=3", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="placement"):
        load_task("bbh/navigate", data_dir=tmp_path, placement="middle")
    with pytest.raises(ConfigError, match="did you mean number"):
        load_task("bbh/navigate?answer_format=numbr", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="twice"):
        load_task("bbh/navigate?placement=system&placement=Q_end", data_dir=tmp_path)


def test_answer_format_can_be_overridden(tmp_path):
    fake_bbh(tmp_path)
    assert load_task("bbh/navigate?answer_format=exact", data_dir=tmp_path).answer_format == "exact"
    assert load_task("bbh/navigate", data_dir=tmp_path, answer_format="exact").answer_format == "exact"


def test_keyword_options_win_over_the_spec(tmp_path):
    fake_bbh(tmp_path)
    task = load_task("bbh/navigate?placement=system", data_dir=tmp_path, placement="Q_begin")
    assert task.placement == "Q_begin"


# ------------------------------------------------------------------ users' files


def qa_records(n: int = 40) -> list[dict]:
    return [{"question": f"What is {i} + {i}?", "answer": 2 * i, "topic": "sums"} for i in range(n)]


def ids(examples: list[Example]) -> list[str]:
    return [e.id for e in examples]


def test_jsonl_file_with_spec_options(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", qa_records())
    task = load_task(f"jsonl:{path}?input=question&target=answer&format=number&seed=1")
    assert task.name == f"jsonl:{path}"
    assert task.answer_format == "number"
    assert task.sizes() == {"train": 10, "eval": 10, "test": 20, "format": 5, "few_shot": 5}
    main = task.split("train") + task.split("eval") + task.split("test")
    assert sorted(e.input for e in main) == sorted(r["question"] for r in qa_records())
    assert len(set(ids(main))) == 40
    assert set(ids(task.split("format"))) <= set(ids(task.split("train")))
    assert set(ids(task.split("few_shot"))) <= set(ids(task.split("train")))
    assert not set(ids(task.split("format"))) & set(ids(task.split("few_shot")))
    example = task.split("test")[0]
    assert example.target == str(2 * int(example.input.split()[2]))
    assert example.meta == {"topic": "sums"}


def test_keyword_options_equal_spec_options(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", qa_records())
    by_spec = load_task(f"jsonl:{path}?input=question&target=answer&seed=1")
    by_kwargs = load_task(f"jsonl:{path}", input_field="question", target_field="answer", seed=1)
    assert by_spec.splits == by_kwargs.splits
    assert by_kwargs.answer_format == "exact"


def test_seeded_split_is_deterministic(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", qa_records())
    spec = f"jsonl:{path}?input=question&target=answer"
    first = load_task(spec, seed=7)
    assert first.splits == load_task(spec, seed=7).splits
    assert ids(first.split("test")) != ids(load_task(spec, seed=8).split("test"))
    assert ids(load_task(spec).split("test")) == ids(load_task(spec, seed=0).split("test"))


def test_split_option(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", qa_records())
    spec = f"jsonl:{path}?input=question&target=answer"
    assert load_task(spec + "&split=0.5,0.25,0.25").sizes() == {
        "train": 20, "eval": 10, "test": 10, "format": 5, "few_shot": 5,
    }
    assert load_task(spec, split="5,5,10").sizes()["test"] == 10
    assert load_task(spec, split=(0.3, 0.3, 0.4)).sizes()["train"] == 12
    with pytest.raises(ConfigError, match="add up to 1.5"):
        load_task(spec + "&split=0.5,0.5,0.5")
    with pytest.raises(ConfigError, match="asks for 60"):
        load_task(spec, split="20,20,20")
    with pytest.raises(ConfigError, match="3 values"):
        load_task(spec, split="0.5,0.5")


def test_parse_split():
    assert parse_split("0.3, 0.3, 0.4") == {"train": 0.3, "eval": 0.3, "test": 0.4}
    assert parse_split({"train": 1, "eval": 2, "test": 3}) == {"train": 1, "eval": 2, "test": 3}
    with pytest.raises(ConfigError):
        parse_split("a,b,c")
    with pytest.raises(ConfigError):
        parse_split("-1,2,3")


def test_target_falls_back_to_output_and_lists_become_tuples(tmp_path):
    records = [{"input": f"q{i}", "output": [f"a{i}", f"b{i}"]} for i in range(8)]
    task = load_task(f"jsonl:{write_jsonl(tmp_path / 'refs.jsonl', records)}")
    targets = {e.input: e.target for name in ("train", "eval", "test") for e in task.split(name)}
    assert targets["q3"] == ("a3", "b3")


def test_target_falls_back_to_answer(tmp_path):
    records = [{"input": f"q{i}", "answer": 1.5 * i} for i in range(4)]
    task = load_task(f"jsonl:{write_jsonl(tmp_path / 'num.jsonl', records)}")
    targets = {e.input: e.target for name in ("train", "eval", "test") for e in task.split(name)}
    assert targets == {"q0": "0", "q1": "1.5", "q2": "3", "q3": "4.5"}


def test_file_without_target_field(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"input": "q", "label": "a"}])
    with pytest.raises(DataError, match=r"d\.jsonl:1: record has no target field .*fields: input, label"):
        load_task(f"jsonl:{path}")
    assert load_task(f"jsonl:{path}?target=label&split=0,0,1").split("test")[0].target == "a"


def test_missing_input_field_in_user_file(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"input": "q", "target": "a"}, {"text": "q2", "target": "b"}])
    with pytest.raises(DataError, match=r"d\.jsonl:2: record has no field 'input' \(fields: text, target\)"):
        load_task(f"jsonl:{path}")


def test_malformed_user_jsonl_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"input": "q", "target": "a"}\n{"input": "q2" "target": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}:2: not valid JSON")):
        load_task(f"jsonl:{path}")


def test_empty_user_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no records"):
        load_task(f"jsonl:{path}")
    csv_path = tmp_path / "empty.csv"
    csv_path.write_text("input,target\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no records"):
        load_task(f"csv:{csv_path}")


def test_missing_user_file(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_task(f"jsonl:{tmp_path / 'nope.jsonl'}")


def test_jsonl_folder_with_its_own_splits(tmp_path):
    for split, n in (("train", 6), ("eval", 3), ("test", 4), ("format", 2)):
        write_jsonl(tmp_path / "mine" / f"{split}.jsonl", [{"input": f"{split}{i}", "target": "x"} for i in range(n)])
    task = load_task(f"jsonl:{tmp_path / 'mine'}?format=exact", placement="system")
    assert task.sizes() == {"train": 6, "eval": 3, "test": 4, "format": 2}
    assert [e.input for e in task.split("eval")] == ["eval0", "eval1", "eval2"]
    assert task.placement == "system"
    with pytest.raises(ConfigError, match="single file"):
        load_task(f"jsonl:{tmp_path / 'mine'}?split=0.5,0.25,0.25")


def test_folder_without_split_files(tmp_path):
    (tmp_path / "other.jsonl").write_text('{"input": "a", "target": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="none of train.jsonl"):
        load_task(f"jsonl:{tmp_path}")


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_file_with_quoted_cells(tmp_path):
    rows = [[f"Is {i}, or {i + 1}, bigger?", str(i + 1), "note"] for i in range(20)]
    path = write_csv(tmp_path / "d.csv", ["prompt", "answer", "extra"], rows)
    task = load_task(f"csv:{path}?input=prompt&format=number&seed=3")
    assert task.answer_format == "number"
    assert task.sizes() == {"train": 5, "eval": 5, "test": 10, "format": 5, "few_shot": 5}
    for name in ("train", "eval", "test"):
        for example in task.split(name):
            number = int(example.input.split()[1].rstrip(","))
            assert example.target == str(number + 1)
            assert example.meta == {"extra": "note"}
    assert task.splits == load_task(f"csv:{path}", input_field="prompt", answer_format="number", seed=3).splits


def test_csv_row_with_wrong_cell_count(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("input,target\na,b\nc,d,e\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.csv:3: row has 3 cells but the header has 2"):
        load_task(f"csv:{path}")


def test_csv_folder(tmp_path):
    for split in ("train", "eval", "test"):
        write_csv(tmp_path / f"{split}.csv", ["input", "target"], [[f"{split}-q", "a"]])
    task = load_task(f"csv:{tmp_path}")
    assert task.sizes() == {"train": 1, "eval": 1, "test": 1}
    assert task.split("test")[0] == Example("test-q", "a")
    with pytest.raises(DataError, match="none of train.jsonl"):
        load_task(f"jsonl:{tmp_path}")


def test_file_task_option_errors(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", qa_records())
    with pytest.raises(ConfigError, match="does not take option"):
        load_task(f"jsonl:{path}?columns=2")
    with pytest.raises(ConfigError, match="whole number"):
        load_task(f"jsonl:{path}?seed=abc")
    with pytest.raises(ConfigError, match="needs a path"):
        load_task("jsonl:")
