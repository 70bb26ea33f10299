"""Tasks: examples in named splits, plus how to ask and how to score.

>>> from gpo.tasks import load_task
>>> task = load_task("synthetic/boolean_expressions?seed=1")
>>> task.answer_format, task.sizes()["train"]
('true_false', 48)
"""

from gpo.tasks.base import PLACEMENTS, SPLITS, Example, Placement, Task, render_messages, seeded_split
from gpo.tasks.induction import II_ANSWER_FORMATS, II_TASKS
from gpo.tasks.registry import TaskInfo, expand_tasks, list_tasks, load_task
from gpo.tasks.splits import BBH_ANSWER_FORMATS, BBH_TASKS, DATA_DIR_ENV, LITE_BBH, MMLU_SUBJECTS
from gpo.tasks.synthetic import SYNTHETIC_TASKS

__all__ = [
    "BBH_ANSWER_FORMATS",
    "BBH_TASKS",
    "DATA_DIR_ENV",
    "Example",
    "II_ANSWER_FORMATS",
    "II_TASKS",
    "LITE_BBH",
    "MMLU_SUBJECTS",
    "PLACEMENTS",
    "Placement",
    "SPLITS",
    "SYNTHETIC_TASKS",
    "Task",
    "TaskInfo",
    "expand_tasks",
    "list_tasks",
    "load_task",
    "render_messages",
    "seeded_split",
]
