"""Instruction Induction: thirteen tasks whose input alone does not say what to do.

``ii/<task>`` reads ``<task>/{train,eval,format,test}.jsonl`` from the
``instruction-induction`` folder (Honovich et al., 2022, arXiv:2205.10782, as
redistributed by APE, Zhou et al., ICLR 2023). The data folder (``--data-dir`` or
``GPO_DATA_DIR``) may be that folder itself or a folder holding it, e.g. beside
``gpo-splits``. Each record carries ``targets``, every accepted answer (``target`` is
the first); an example's target is that tuple, and any of them counts.

Each task is scored with the benchmark's metric (:mod:`gpo.scoring.ii_metric`): ``ii_set``
for orthography_starts_with and taxonomy_animal, ``ii_contains`` for synonyms and
``ii_exact`` for the rest.

The instruction comes before the input (``Q_begin``), as in the benchmark's own template
(instruction, then input, then output); ``--placement`` changes it.
"""

from __future__ import annotations

from gpo.tasks.splits import PaperTask

FOLDER = "instruction-induction"
"""Name of the folder holding the tasks, looked for inside the data folder."""

II_DESCRIPTIONS: dict[str, str] = {
    "active_to_passive": "rewrite a sentence in the passive voice",
    "diff": "subtract the second number from the first",
    "first_word_letter": "give the first letter of a word",
    "letters_list": "spell a word with a space between its letters",
    "num_to_verbal": "write a number in words",
    "orthography_starts_with": "list the words of a sentence that start with a given letter",
    "rhymes": "give a word that rhymes with a word",
    "second_word_letter": "give the second letter of a word",
    "sentence_similarity": "rate how alike two sentences are, from 0 - definitely not to 5 - perfectly",
    "synonyms": "give a synonym of a word",
    "taxonomy_animal": "list the animals among some words",
    "translation_en-de": "translate an English word into German",
    "translation_en-es": "translate an English word into Spanish",
}

II_TASKS: tuple[str, ...] = tuple(II_DESCRIPTIONS)
"""The thirteen tasks, in alphabetical order."""

II_ANSWER_FORMATS: dict[str, str] = {
    **{name: "ii_exact" for name in II_TASKS},
    "orthography_starts_with": "ii_set",
    "taxonomy_animal": "ii_set",
    "synonyms": "ii_contains",
}
"""Answer format of each task: the benchmark's metric for it."""


def induction_tasks() -> dict[str, PaperTask]:
    """The ``ii/<task>`` tasks by spec, in listing order (no file access)."""
    return {
        f"ii/{name}": PaperTask(
            name=f"ii/{name}",
            folder=name,
            target_field="targets",
            answer_format=II_ANSWER_FORMATS[name],
            description=f"Instruction Induction: {II_DESCRIPTIONS[name]}",
            collection=FOLDER,
            placement="Q_begin",
        )
        for name in II_TASKS
    }
