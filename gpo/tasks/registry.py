"""Finding tasks by spec: ``load_task("bbh/navigate")`` and ``list_tasks()``.

Spec strings:

* ``bbh/<subtask>`` (27), ``mmlu/<subject>`` (57), ``gsm8k``, ``wsc``, ``webnlg``:
  the GPO paper's splits, read from the data folder (``data_dir`` or
  ``GPO_DATA_DIR``).
* ``ii/<task>`` (the benchmark's 24, and any other folder of their layout): Instruction
  Induction, read from the ``instruction-induction`` folder, which is the data folder
  itself or a folder inside it.
* ``synthetic/<name>``: generated from a seed, no data needed.
* ``jsonl:PATH`` and ``csv:PATH``: your own data (a file or a folder of splits).

Options go after a ``?`` as a query string, or as keyword arguments (which win
over the query string). Every task takes:

* ``placement``: where the instruction goes (``Q_end``, ``Q_begin``, ``A_begin``, ``system``).
* ``answer_format``: overrides the task's answer format.
* ``seed``: changes the data of ``synthetic/`` tasks and how a single
  ``jsonl:``/``csv:`` file is split; fixed splits ignore it.

``jsonl:``/``csv:`` also take ``input_field`` (in a query string ``input``;
default ``input``), ``target_field`` (``target``; default ``targets``, else
``target``, else ``output``, else ``answer``), ``answer_format`` (also ``format``;
default ``exact``; ``ii_exact``, ``ii_contains``, ``ii_set`` or ``ii_f1`` for the
Instruction Induction metric) and, for a single file, ``split`` (``0.3,0.3,0.4`` or ``20,20,60``).
``synthetic/`` tasks also take ``sizes`` (a dict), in a query string
``train=``, ``eval=``, ``test=``, ``format=``, ``few_shot=``.

Example: ``jsonl:data.jsonl?input=question&target=answer&format=number&seed=1``.

Groups (``bbh``, ``bbh/lite``, ``mmlu``, ``ii``, ``synthetic``) are expanded by
:func:`expand_tasks`; ``ii`` stands for the ``ii/`` tasks whose folders the data folder
holds, or for the benchmark's 24 when no data folder is set.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl

from gpo.errors import ConfigError
import gpo.tasks.files as files
import gpo.tasks.induction as induction
import gpo.tasks.splits as splits
import gpo.tasks.synthetic as synthetic
from gpo.tasks.base import PLACEMENTS, Task

GROUPS: dict[str, Callable[[], list[str]]] = {
    "bbh": lambda: [f"bbh/{name}" for name in splits.BBH_TASKS],
    "bbh/lite": lambda: [f"bbh/{name}" for name in splits.LITE_BBH],
    "mmlu": lambda: [f"mmlu/{name}" for name in splits.MMLU_SUBJECTS],
    "ii": lambda: [f"ii/{name}" for name in induction.II_TASKS],
    "synthetic": lambda: [f"synthetic/{name}" for name in synthetic.SYNTHETIC_TASKS],
}
"""Names that stand for several tasks."""

_COMMON_OPTIONS = ("placement", "answer_format", "seed")
_FILE_OPTIONS = _COMMON_OPTIONS + ("input_field", "target_field", "split")
_SYNTHETIC_OPTIONS = _COMMON_OPTIONS + ("sizes",)
_FILE_ALIASES = {"input": "input_field", "target": "target_field", "format": "answer_format"}


def data_tasks(data_dir: str | os.PathLike[str] | None = None) -> dict[str, splits.PaperTask]:
    """Every task read from the data folder by spec: the paper's, then ``ii/``, then the
    folders of the Instruction Induction layout that the data folder (``data_dir``, else
    ``GPO_DATA_DIR``; none: no file access) holds beyond the benchmark's."""
    tasks = {**splits.paper_tasks(), **induction.induction_tasks()}
    root = splits.configured_data_dir(data_dir)
    if root is not None and root.is_dir():
        tasks.update(induction.folder_tasks(root))
    return tasks


def _induction_group(data_dir: str | os.PathLike[str] | None) -> list[str]:
    """``ii``: the tasks whose folders the data folder holds, else the benchmark's."""
    tasks = {name: info for name, info in data_tasks(data_dir).items() if name.startswith("ii/")}
    root = splits.configured_data_dir(data_dir)
    if root is None or not root.is_dir():
        return list(tasks)
    base = splits.collection_dir(root, induction.FOLDER)
    present = [name for name, info in tasks.items() if (base / info.folder).is_dir()]
    return present or list(tasks)


@dataclass(frozen=True)
class TaskInfo:
    """One line of the task listing.

    Attributes:
        name: The spec that loads the task.
        answer_format: Name of the answer format in :mod:`gpo.scoring`.
        description: What the task asks.
        available: Whether it can be loaded now (its data folder exists, or it is generated).
        source: Where its data is (or would be) read from.
    """

    name: str
    answer_format: str
    description: str
    available: bool
    source: str


def list_tasks(data_dir: str | os.PathLike[str] | None = None) -> list[TaskInfo]:
    """Every named task, with whether its data is there.

    The paper's tasks and the ``ii/`` tasks are always listed; they are available
    when their folder exists under ``data_dir`` (default: ``GPO_DATA_DIR``), or
    under its ``gpo-splits`` / ``instruction-induction`` subfolder. Synthetic
    tasks are always available. Never raises for a missing data folder.
    """
    root = splits.configured_data_dir(data_dir)
    infos = []
    for info in data_tasks(data_dir).values():
        folder = splits.collection_dir(root, info.collection) / info.folder if root is not None else None
        infos.append(
            TaskInfo(
                name=info.name,
                answer_format=info.answer_format,
                description=info.description,
                available=folder is not None and folder.is_dir(),
                source=str(folder) if folder is not None else "",
            )
        )
    for task in synthetic.SYNTHETIC_TASKS.values():
        infos.append(
            TaskInfo(
                name=f"synthetic/{task.name}",
                answer_format=task.answer_format,
                description=task.description,
                available=True,
                source="generated (seed option)",
            )
        )
    return infos


def expand_tasks(spec: str, data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The task specs a group stands for; any other spec stands for itself.

    Args:
        spec: A task spec or a group name, optionally with ``?options`` (kept on each member).
        data_dir: The data folder (default: ``GPO_DATA_DIR``); ``ii`` stands for the
            ``ii/`` tasks it holds.

    >>> expand_tasks("bbh/lite")
    ['bbh/navigate', 'bbh/movie_recommendation', 'bbh/object_counting', 'bbh/word_sorting']
    >>> expand_tasks("gsm8k")
    ['gsm8k']
    """
    name, sep, query = spec.strip().partition("?")
    key = name.lower()
    if key not in GROUPS:
        return [spec.strip()]
    members = _induction_group(data_dir) if key == "ii" else GROUPS[key]()
    return [f"{member}{sep}{query}" for member in members]


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Splits ``name?key=value&...`` into the name and its options.

    >>> split_spec("synthetic/word_sorting?seed=3&test=20")
    ('synthetic/word_sorting', {'seed': '3', 'test': '20'})

    Raises:
        ConfigError: The query string is malformed or repeats a key.
    """
    name, _, query = spec.strip().partition("?")
    options: dict[str, str] = {}
    if query:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise ConfigError(
                f"cannot read the options of task spec {spec!r}",
                hint="write options as NAME?key=value&key=value",
            ) from None
        for key, value in pairs:
            if key in options:
                raise ConfigError(f"option {key!r} is given twice in task spec {spec!r}")
            options[key] = value
    return name.strip(), options


def _to_int(value: Any, option: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"option {option} must be a whole number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option {option} must be a whole number, got {value!r}") from None


def _check_options(spec: str, options: dict[str, Any], allowed: tuple[str, ...], aliases: str = "") -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"task {spec} does not take option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            hint=f"its options are {', '.join(allowed)}{aliases}",
        )


def _common(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "placement" in options:
        if options["placement"] not in PLACEMENTS:
            raise ConfigError(
                f"unknown instruction placement {options['placement']!r}",
                hint=f"use one of {', '.join(PLACEMENTS)}",
            )
        out["placement"] = options["placement"]
    if options.get("answer_format") is not None:
        out["answer_format"] = _check_answer_format(str(options["answer_format"]))
    return out


def _check_answer_format(name: str) -> str:
    from gpo.scoring import ANSWER_FORMATS  # imported late: gpo.scoring imports gpo.tasks.base

    if name not in ANSWER_FORMATS:
        close = difflib.get_close_matches(name, list(ANSWER_FORMATS), n=1)
        raise ConfigError(
            f"unknown answer format {name!r}" + (f"; did you mean {close[0]}?" if close else ""),
            hint=f"use one of {', '.join(ANSWER_FORMATS)}",
        )
    return name


def _unknown_task(name: str, data_dir: str | os.PathLike[str] | None = None) -> ConfigError:
    known = list(data_tasks(data_dir)) + [f"synthetic/{n}" for n in synthetic.SYNTHETIC_TASKS]
    lowered = name.lower()
    same_tail = [k for k in known if k.rsplit("/", 1)[-1] == lowered.rsplit("/", 1)[-1]]
    close = same_tail or difflib.get_close_matches(lowered, known, n=3, cutoff=0.6)
    message = f"unknown task {name!r}"
    if close:
        message += f"; did you mean {' or '.join(close[:3])}?"
    return ConfigError(message, hint="run `gpo tasks` to list tasks, or use jsonl:PATH / csv:PATH for your own data")


def load_task(spec: str, *, data_dir: str | os.PathLike[str] | None = None, **options: Any) -> Task:
    """Loads a task by its spec.

    Args:
        spec: ``bbh/navigate``, ``mmlu/anatomy``, ``gsm8k``, ``wsc``, ``webnlg``,
            ``ii/first_word_letter``, ``synthetic/word_sorting``, ``jsonl:PATH`` or ``csv:PATH``,
            optionally followed by ``?key=value&...`` options.
        data_dir: Folder of the paper's splits and/or ``instruction-induction``
            (default: ``GPO_DATA_DIR``).
        **options: ``placement``, ``answer_format``, ``seed``, and per kind
            ``input_field``, ``target_field``, ``split`` (files) or ``sizes``
            (synthetic). They override options in the spec.

    Returns:
        The task with its splits loaded.

    Raises:
        ConfigError: Unknown task (with a suggestion) or bad options.
        DataError: Missing or malformed data.

    >>> load_task("synthetic/word_sorting?test=3").sizes()["test"]
    3
    """
    name, query = split_spec(spec)
    kind, colon, path = name.partition(":")
    if colon and kind.lower() in ("jsonl", "csv"):
        return _load_file(spec, kind.lower(), path, query, options)
    key = name.lower()
    if key.startswith("synthetic/"):
        return _load_synthetic(spec, key.split("/", 1)[1], query, options)
    info = data_tasks(data_dir).get(key)
    if info is None:
        if key in GROUPS:
            members = expand_tasks(key, data_dir)
            raise ConfigError(
                f"{name} is a group of {len(members)} tasks, not one task",
                hint=f"load one of them, e.g. {members[0]} (gpo.tasks.expand_tasks lists them)",
            )
        raise _unknown_task(name, data_dir)
    merged = {**query, **options}
    _check_options(name, merged, _COMMON_OPTIONS)
    return splits.load_paper_task(info, data_dir, **_common(merged))


def _load_file(spec: str, kind: str, path: str, query: dict[str, str], options: dict[str, Any]) -> Task:
    merged: dict[str, Any] = {_FILE_ALIASES.get(k, k): v for k, v in query.items()}
    merged.update(options)
    alias_text = " (in a spec also input=, target=, format=)"
    _check_options(f"{kind}:{path}", merged, _FILE_OPTIONS, alias_text)
    kwargs = _common(merged)
    kwargs.setdefault("answer_format", "exact")
    if "seed" in merged:
        kwargs["seed"] = _to_int(merged["seed"], "seed")
    for field in ("input_field", "target_field"):
        if merged.get(field) not in (None, ""):
            kwargs[field] = str(merged[field])
        elif field in merged:
            raise ConfigError(f"option {field} is empty", hint="name a field of your records")
    if merged.get("split") is not None:
        kwargs["split"] = merged["split"]
    return files.load_file_task(kind, path.strip(), **kwargs)


def _load_synthetic(spec: str, name: str, query: dict[str, str], options: dict[str, Any]) -> Task:
    if name not in synthetic.SYNTHETIC_TASKS:
        raise _unknown_task(f"synthetic/{name}")
    sizes: dict[str, Any] = {}
    merged: dict[str, Any] = {}
    for key, value in query.items():
        if key in synthetic.DEFAULT_SIZES:
            sizes[key] = _to_int(value, key)
        else:
            merged[key] = value
    merged.update(options)
    alias_text = f" (in a spec also {', '.join(f'{s}=N' for s in synthetic.DEFAULT_SIZES)})"
    _check_options(f"synthetic/{name}", merged, _SYNTHETIC_OPTIONS, alias_text)
    if merged.get("sizes") is not None:
        if not isinstance(merged["sizes"], dict):
            raise ConfigError(
                f"option sizes must be a dict of split sizes, got {merged['sizes']!r}",
                hint='e.g. sizes={"train": 48, "test": 144}',
            )
        sizes.update(merged["sizes"])
    kwargs = _common(merged)
    seed = _to_int(merged["seed"], "seed") if "seed" in merged else 0
    return synthetic.load_synthetic(name, seed=seed, sizes=sizes or None, **kwargs)
