"""The GPO paper's data splits: BIG-Bench Hard, MMLU, GSM8K, WSC and WebNLG.

The splits are read from a folder laid out like ``gpo-splits``::

    DATA_DIR/BIG-Bench-Hard/<subtask>/{train,eval,test,format,few_shot_examples}.jsonl
    DATA_DIR/MMLU/<subject>/...
    DATA_DIR/reasoning/GSM8K/...
    DATA_DIR/common-nlp/WSC/...
    DATA_DIR/common-nlp/WebNLG/...

The folder is the ``data_dir`` argument, else the ``GPO_DATA_DIR`` environment
variable; it may also be a folder that holds ``gpo-splits/`` (and, beside it,
``instruction-induction/`` for the ``ii/`` tasks of :mod:`gpo.tasks.induction`).
Task names and answer formats are constants here, so tasks can be listed without
any data.

References:
    GPO (Tang et al., 2025), arXiv:2402.17564, section "Experimental setup".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gpo.errors import DataError
from gpo.tasks.base import Example, Placement, Task
from gpo.tasks.files import read_jsonl, records_to_examples

DATA_DIR_ENV = "GPO_DATA_DIR"
"""Environment variable naming the folder of the paper's splits."""

SPLIT_FILES: dict[str, str] = {
    "train": "train.jsonl",
    "eval": "eval.jsonl",
    "test": "test.jsonl",
    "format": "format.jsonl",
    "few_shot": "few_shot_examples.jsonl",
}
"""File name of each split inside a task folder."""

BBH_DESCRIPTIONS: dict[str, str] = {
    "boolean_expressions": "evaluate an expression of True, False, not, and, or",
    "causal_judgement": "answer how a typical person judges causation in a story",
    "date_understanding": "work out a date from a short description",
    "disambiguation_qa": "find what a pronoun refers to, or call it ambiguous",
    "dyck_languages": "close the brackets left open in a sequence",
    "formal_fallacies": "decide whether an argument is deductively valid",
    "geometric_shapes": "name the shape an SVG path draws",
    "hyperbaton": "pick the sentence whose adjectives are in the right order",
    "logical_deduction_five_objects": "order five objects from clues",
    "logical_deduction_seven_objects": "order seven objects from clues",
    "logical_deduction_three_objects": "order three objects from clues",
    "movie_recommendation": "pick the film most like a list of films",
    "multistep_arithmetic_two": "evaluate nested integer arithmetic",
    "navigate": "decide whether a walk ends where it started",
    "object_counting": "count the items of one kind in a list",
    "penguins_in_a_table": "answer a question about a table of penguins",
    "reasoning_about_colored_objects": "answer a question about coloured items on a table",
    "ruin_names": "pick the humorous edit of an artist or film name",
    "salient_translation_error_detection": "name the kind of error in a German-English translation",
    "snarks": "pick the sarcastic one of two statements",
    "sports_understanding": "decide whether a sentence about sport is plausible",
    "temporal_sequences": "find when someone could have gone somewhere",
    "tracking_shuffled_objects_five_objects": "track five objects through pairwise swaps",
    "tracking_shuffled_objects_seven_objects": "track seven objects through pairwise swaps",
    "tracking_shuffled_objects_three_objects": "track three objects through pairwise swaps",
    "web_of_lies": "decide who tells the truth along a chain of claims",
    "word_sorting": "sort a list of words alphabetically",
}

BBH_TASKS: tuple[str, ...] = tuple(BBH_DESCRIPTIONS)
"""The 27 BIG-Bench Hard subtasks, in alphabetical order."""

BBH_ANSWER_FORMATS: dict[str, str] = {
    **{name: "multiple_choice" for name in BBH_TASKS},
    "causal_judgement": "yes_no",
    "navigate": "yes_no",
    "sports_understanding": "yes_no",
    "web_of_lies": "yes_no",
    "boolean_expressions": "true_false",
    "formal_fallacies": "valid_invalid",
    "object_counting": "number",
    "multistep_arithmetic_two": "number",
    "dyck_languages": "dyck",
    "word_sorting": "word_sort",
}
"""Answer format of each BIG-Bench Hard subtask (multiple choice unless listed)."""

LITE_BBH: tuple[str, ...] = ("navigate", "movie_recommendation", "object_counting", "word_sorting")
"""The four BIG-Bench Hard subtasks of the paper's ablations ("lite BBH")."""

MMLU_SUBJECTS: tuple[str, ...] = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
)
"""The 57 MMLU subjects."""


@dataclass(frozen=True)
class PaperTask:
    """Where one of the paper's tasks lives and how it is answered.

    Attributes:
        name: The task's spec, e.g. ``bbh/navigate``.
        folder: The task's folder relative to the data folder.
        target_field: The record field holding the reference answer.
        answer_format: Name of the answer format in :mod:`gpo.scoring`.
        description: One line for listings.
        collection: The folder the task folder is in: the data folder itself, or
            its subfolder of that name when there is one (see :func:`collection_dir`).
        placement: Where the instruction goes unless a run says otherwise.
    """

    name: str
    folder: str
    target_field: str
    answer_format: str
    description: str
    collection: str = "gpo-splits"
    placement: Placement = "Q_end"


def paper_tasks() -> dict[str, PaperTask]:
    """All of the paper's tasks by spec, in listing order (no file access)."""
    tasks: dict[str, PaperTask] = {}
    for name in BBH_TASKS:
        tasks[f"bbh/{name}"] = PaperTask(
            name=f"bbh/{name}",
            folder=f"BIG-Bench-Hard/{name}",
            target_field="target",
            answer_format=BBH_ANSWER_FORMATS[name],
            description=f"BIG-Bench Hard: {BBH_DESCRIPTIONS[name]}",
        )
    for subject in MMLU_SUBJECTS:
        tasks[f"mmlu/{subject}"] = PaperTask(
            name=f"mmlu/{subject}",
            folder=f"MMLU/{subject}",
            target_field="output",
            answer_format="multiple_choice",
            description=f"MMLU {subject.replace('_', ' ')}: four-option multiple choice",
        )
    tasks["gsm8k"] = PaperTask(
        name="gsm8k",
        folder="reasoning/GSM8K",
        target_field="output",
        answer_format="number",
        description="GSM8K: grade-school maths word problems with a numeric answer",
    )
    tasks["wsc"] = PaperTask(
        name="wsc",
        folder="common-nlp/WSC",
        target_field="output",
        answer_format="multiple_choice",
        description="Winograd Schema Challenge: what a pronoun refers to, (A) or (B)",
    )
    tasks["webnlg"] = PaperTask(
        name="webnlg",
        folder="common-nlp/WebNLG",
        target_field="output",
        answer_format="rouge_l",
        description="WebNLG: write RDF triples as English text (ROUGE-L against references)",
    )
    return tasks


def layout_hint(collection: str = "gpo-splits") -> str:
    """How to point at the data folder of a collection of tasks."""
    if collection == "gpo-splits":
        return (
            "pass --data-dir DIR or set GPO_DATA_DIR to a folder laid out like gpo-splits "
            "(or one holding gpo-splits/)"
        )
    return f"pass --data-dir DIR or set GPO_DATA_DIR to the {collection} folder or a folder holding it"


def collection_dir(root: Path, collection: str) -> Path:
    """Where a collection's task folders are: ``root/collection`` if that is a folder, else ``root``.

    So the data folder may be ``gpo-splits`` (or ``instruction-induction``) itself, or
    a folder that holds them side by side.
    """
    inner = root / collection
    return inner if inner.is_dir() else root


def configured_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The data folder from the argument, else from ``GPO_DATA_DIR``; None if neither is set."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else None


def resolve_data_dir(
    data_dir: str | os.PathLike[str] | None, task_name: str, collection: str = "gpo-splits"
) -> Path:
    """The data folder for ``task_name``, checked to exist.

    Raises:
        DataError: No folder is configured, or the configured one does not exist.
    """
    folder = configured_data_dir(data_dir)
    hint = layout_hint(collection)
    if folder is None:
        raise DataError(f"no data folder set for task {task_name}", hint=hint)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist (needed by task {task_name})", hint=hint)
    return folder


def load_paper_task(
    info: PaperTask,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    placement: Placement | None = None,
    answer_format: str | None = None,
) -> Task:
    """Reads one of the paper's tasks from its folder.

    A split whose file is missing is left out of ``Task.splits``; an empty file
    gives an empty split (``Task.split`` raises when it is asked for).

    Args:
        info: The task, from :func:`paper_tasks`.
        data_dir: The data folder (default: ``GPO_DATA_DIR``).
        placement: Where the instruction goes in each question (default: the task's).
        answer_format: Overrides the task's answer format.

    Raises:
        DataError: The data folder, the task folder or its train/eval/test files
            are missing, or a record is malformed.
    """
    root = collection_dir(resolve_data_dir(data_dir, info.name, info.collection), info.collection)
    folder = root / info.folder
    if not folder.is_dir():
        hint = f"check that {root} is laid out like {info.collection} ({info.folder}/train.jsonl, ...)"
        if (root.parent / info.collection / info.folder).is_dir():
            hint += f", or pass --data-dir {root.parent}, which holds {info.collection}/"
        raise DataError(f"no data for task {info.name}: folder {folder} does not exist", hint=hint)
    splits: dict[str, list[Example]] = {}
    for split, filename in SPLIT_FILES.items():
        path = folder / filename
        if path.is_file():
            splits[split] = records_to_examples(
                read_jsonl(path), path, input_field="input", target_field=info.target_field
            )
    if not any(name in splits for name in ("train", "eval", "test")):
        raise DataError(
            f"no data for task {info.name}: {folder} has none of train.jsonl, eval.jsonl, test.jsonl",
            hint=f"check that {root} is laid out like {info.collection}",
        )
    return Task(
        name=info.name,
        splits=splits,
        answer_format=answer_format or info.answer_format,
        placement=placement or info.placement,
        description=info.description,
        source=str(folder),
    )
