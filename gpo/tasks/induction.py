"""Instruction Induction: tasks whose input alone does not say what to do.

``ii/<task>`` reads ``<task>/{train,eval,format,test}.jsonl`` from the
``instruction-induction`` folder (Honovich et al., 2022, arXiv:2205.10782, as
redistributed by APE, Zhou et al., ICLR 2023). The data folder (``--data-dir`` or
``GPO_DATA_DIR``) may be that folder itself or a folder holding it, e.g. beside
``gpo-splits``. Each record carries ``targets``, every accepted answer (``target`` is
the first); an example's target is that tuple, and any of them counts.

The benchmark's 24 tasks are known by name, each scored with the benchmark's metric
(:mod:`gpo.scoring.ii_metric`): ``ii_set`` for orthography_starts_with and taxonomy_animal,
``ii_contains`` for synonyms, ``ii_f1`` for common_concept and informal_to_formal, and
``ii_exact`` for the rest. Any other folder of the same layout whose records have
``targets`` is a task too (``ii/<folder>``, scored ``ii_exact`` unless ``answer_format``
says otherwise), so a user's own tasks join the group.

The instruction comes before the input (``Q_begin``), as in the benchmark's own template
(instruction, then input, then output); ``--placement`` changes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from gpo.tasks.splits import PaperTask, collection_dir

FOLDER = "instruction-induction"
"""Name of the folder holding the tasks, looked for inside the data folder."""

II_DESCRIPTIONS: dict[str, str] = {
    "active_to_passive": "rewrite a sentence in the passive voice",
    "antonyms": "give a word of opposite meaning",
    "cause_and_effect": "tell which of two sentences is the cause",
    "common_concept": "say what a list of things has in common",
    "diff": "subtract the second number from the first",
    "first_word_letter": "give the first letter of a word",
    "informal_to_formal": "rewrite an informal sentence formally",
    "larger_animal": "name the larger of two animals",
    "letters_list": "spell a word with a space between its letters",
    "negation": "state the negation of a sentence",
    "num_to_verbal": "write a number in words",
    "orthography_starts_with": "list the words of a sentence that start with a given letter",
    "rhymes": "give a word that rhymes with a word",
    "second_word_letter": "give the second letter of a word",
    "sentence_similarity": "rate how alike two sentences are, from 0 - definitely not to 5 - perfectly",
    "sentiment": "say whether a movie review is positive or negative",
    "singular_to_plural": "give the plural of a noun",
    "sum": "add two numbers",
    "synonyms": "give a synonym of a word",
    "taxonomy_animal": "list the animals among some words",
    "translation_en-de": "translate an English word into German",
    "translation_en-es": "translate an English word into Spanish",
    "translation_en-fr": "translate an English word into French",
    "word_in_context": "say whether a word means the same in two sentences",
}

II_TASKS: tuple[str, ...] = tuple(II_DESCRIPTIONS)
"""The benchmark's 24 tasks, in alphabetical order."""

II_ANSWER_FORMATS: dict[str, str] = {
    **{name: "ii_exact" for name in II_TASKS},
    "orthography_starts_with": "ii_set",
    "taxonomy_animal": "ii_set",
    "synonyms": "ii_contains",
    "common_concept": "ii_f1",
    "informal_to_formal": "ii_f1",
}
"""Answer format of each task: the benchmark's metric for it."""


def _task(name: str, answer_format: str, description: str) -> PaperTask:
    return PaperTask(
        name=f"ii/{name}",
        folder=name,
        target_field="targets",
        answer_format=answer_format,
        description=description,
        collection=FOLDER,
        placement="Q_begin",
    )


def induction_tasks() -> dict[str, PaperTask]:
    """The benchmark's ``ii/<task>`` tasks by spec, in listing order (no file access)."""
    return {
        f"ii/{name}": _task(name, II_ANSWER_FORMATS[name], f"Instruction Induction: {II_DESCRIPTIONS[name]}")
        for name in II_TASKS
    }


def folder_tasks(root: Path) -> dict[str, PaperTask]:
    """Tasks in the Instruction Induction layout under the data folder ``root`` that the
    benchmark does not name: each subfolder of its ``instruction-induction`` folder (or of
    ``root`` itself) with a ``train``, ``eval`` or ``test`` JSONL file whose first record
    has ``targets``.
    """
    base = collection_dir(root, FOLDER)
    if not base.is_dir():
        return {}
    found: dict[str, PaperTask] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in II_DESCRIPTIONS):
        if _has_targets(folder):
            found[f"ii/{folder.name.lower()}"] = _task(
                folder.name, "ii_exact", "your task in the Instruction Induction layout (scored ii_exact)"
            )
    return found


def _has_targets(folder: Path) -> bool:
    for split in ("train", "eval", "test"):
        path = folder / f"{split}.jsonl"
        if path.is_file():
            try:
                with path.open(encoding="utf-8") as handle:
                    first = next((line for line in handle if line.strip()), "")
                record = json.loads(first) if first else None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                return False
            return isinstance(record, dict) and "targets" in record and "input" in record
    return False
