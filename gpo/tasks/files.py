"""Users' own data: JSON Lines and CSV files, one example per record.

Two layouts are understood:

* **A folder** with ``train``, ``eval`` and ``test`` files (``.jsonl`` for a
  ``jsonl:`` spec, ``.csv`` for a ``csv:`` spec), and optionally ``format`` and
  ``few_shot`` (or ``few_shot_examples``) files. Each file is one split.
* **One file**, shuffled with ``seed`` and cut into train / eval / test
  (fractions 0.25 / 0.25 / 0.5 unless ``split`` says otherwise). Because the
  optimizer shows ``format`` examples in its meta-prompt, they must never come
  from eval or test: ``format`` is the first 5 train examples and ``few_shot``
  the last 5 train examples (the two overlap when train has fewer than 10).

Targets that are lists (several accepted references) become tuples; numbers
become strings. Unless a target field is named, ``targets`` is read when the
records have it (a list of every accepted answer, as in the Instruction
Induction layout), else ``target``, ``output`` or ``answer``. Every field other
than the input and target is kept in ``Example.meta``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from gpo.errors import ConfigError, DataError
from gpo.tasks.base import Example, Placement, Target, Task, seeded_split

Record = tuple[int, dict[str, Any]]
"""A record and the line number where it starts in its file."""

TARGET_FALLBACKS: tuple[str, ...] = ("targets", "target", "output", "answer")
"""Fields tried in order for the target when no target field is named."""

DEFAULT_SPLIT: dict[str, float] = {"train": 0.25, "eval": 0.25, "test": 0.5}
"""How one file is cut into splits unless ``split`` is given."""

FORMAT_SIZE = 5
"""How many train examples a one-file task uses as ``format`` and as ``few_shot``."""

_OPTIONAL_SPLIT_FILES: dict[str, tuple[str, ...]] = {
    "format": ("format",),
    "few_shot": ("few_shot", "few_shot_examples"),
}


def read_jsonl(path: str | Path) -> list[Record]:
    """Reads a JSON Lines file: one JSON object per line, blank lines skipped.

    Raises:
        DataError: The file cannot be read, or a line is not a JSON object.
    """
    path = Path(path)
    records: list[Record] = []
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})",
                        hint="each line must be one JSON object",
                    ) from None
                if not isinstance(value, dict):
                    raise DataError(
                        f"{path}:{number}: expected a JSON object, got {type(value).__name__}",
                        hint='each line must be one JSON object, e.g. {"input": "...", "target": "..."}',
                    )
                records.append((number, value))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})", hint="save the file as UTF-8") from None
    return records


def read_csv(path: str | Path) -> list[Record]:
    """Reads a CSV file with a header row; each later row is a record.

    Raises:
        DataError: The file cannot be read, has no header, or a row has more
            or fewer cells than the header.
    """
    path = Path(path)
    records: list[Record] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            try:
                header = reader.fieldnames
                if not header:
                    return []
                for row in reader:
                    line = reader.line_num
                    extra = row.pop(None, None)  # type: ignore[call-overload]
                    if extra is not None or any(value is None for value in row.values()):
                        cells = sum(value is not None for value in row.values()) + len(extra or [])
                        raise DataError(
                            f"{path}:{line}: row has {cells} cells but the header has {len(header)}",
                            hint="quote cells that contain commas or line breaks",
                        )
                    records.append((line, dict(row)))
            except csv.Error as exc:
                raise DataError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})", hint="save the file as UTF-8") from None
    return records


def _as_text(value: Any, where: str, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise DataError(
        f"{where}: field {field!r} must be text or a number, got {type(value).__name__}"
    )


def _as_target(value: Any, where: str, field: str) -> Target:
    if isinstance(value, list):
        if not value:
            raise DataError(f"{where}: field {field!r} is an empty list", hint="give at least one reference")
        return tuple(_as_text(item, where, field) for item in value)
    return _as_text(value, where, field)


def pick_target_field(records: Sequence[Record], path: str | Path) -> str:
    """The first of ``targets``, ``target``, ``output``, ``answer`` that the first record has.

    Raises:
        DataError: The first record has none of them.
    """
    if not records:
        return TARGET_FALLBACKS[0]
    line, record = records[0]
    for name in TARGET_FALLBACKS:
        if name in record:
            return name
    raise DataError(
        f"{path}:{line}: record has no target field (tried {', '.join(TARGET_FALLBACKS)}; "
        f"fields: {', '.join(record) or 'none'})",
        hint="name the target field, e.g. `?target=FIELD` or target_field=FIELD",
    )


def records_to_examples(
    records: Iterable[Record],
    path: str | Path,
    *,
    input_field: str = "input",
    target_field: str = "target",
) -> list[Example]:
    """Turns records into examples.

    Args:
        records: Records with their line numbers (from :func:`read_jsonl` or :func:`read_csv`).
        path: The file they came from (for error messages).
        input_field: The field holding the question.
        target_field: The field holding the reference answer.

    Raises:
        DataError: A record lacks a field, or a value has the wrong type.
    """
    examples = []
    for line, record in records:
        where = f"{path}:{line}"
        for field in (input_field, target_field):
            if field not in record or record[field] is None:
                raise DataError(
                    f"{where}: record has no field {field!r} (fields: {', '.join(record) or 'none'})",
                    hint=f"fix the record, or name the right {'input' if field == input_field else 'target'} field",
                )
        meta = {k: v for k, v in record.items() if k not in (input_field, target_field)}
        examples.append(
            Example(
                input=_as_text(record[input_field], where, input_field),
                target=_as_target(record[target_field], where, target_field),
                meta=meta,
            )
        )
    return examples


def parse_split(value: str | Sequence[float | int] | Mapping[str, float | int]) -> dict[str, float | int]:
    """Reads the ``split`` option: train / eval / test fractions or counts.

    Fractions must add up to 1; whole numbers are counts (examples beyond
    their sum are left out).

    >>> parse_split("0.3,0.3,0.4")
    {'train': 0.3, 'eval': 0.3, 'test': 0.4}
    >>> parse_split("10,10,30")
    {'train': 10, 'eval': 10, 'test': 30}

    Raises:
        ConfigError: Not three non-negative numbers, or fractions not summing to 1.
    """
    hint = 'give train,eval,test fractions that add up to 1 (e.g. "0.25,0.25,0.5") or counts (e.g. "20,20,60")'
    if isinstance(value, Mapping):
        unknown = set(value) - set(DEFAULT_SPLIT)
        if unknown or len(value) != 3:
            raise ConfigError(f"split needs exactly the keys train, eval, test, got {sorted(value)}", hint=hint)
        raw: list[Any] = [value[name] for name in DEFAULT_SPLIT]
    elif isinstance(value, str):
        raw = [part.strip() for part in value.split(",")]
    else:
        raw = list(value)
    if len(raw) != 3:
        raise ConfigError(f"split needs 3 values (train, eval, test), got {value!r}", hint=hint)
    numbers: list[float | int] = []
    for item in raw:
        try:
            if isinstance(item, bool):
                raise ValueError
            if isinstance(item, (int, float)):
                number: float | int = item
            elif "." in item or "e" in item.lower():
                number = float(item)
            else:
                number = int(item)
        except (TypeError, ValueError):
            raise ConfigError(f"split value {item!r} is not a number", hint=hint) from None
        if not math.isfinite(number) or number < 0:
            raise ConfigError(f"split value {item!r} must be a non-negative number", hint=hint)
        numbers.append(number)
    if any(isinstance(n, float) for n in numbers):
        if abs(sum(numbers) - 1.0) > 1e-6:
            raise ConfigError(f"split fractions add up to {sum(numbers):g}, not 1", hint=hint)
        numbers = [float(n) for n in numbers]
    return dict(zip(DEFAULT_SPLIT, numbers))


def _read(path: Path, kind: str) -> list[Record]:
    return read_jsonl(path) if kind == "jsonl" else read_csv(path)


def _split_file(folder: Path, stems: Sequence[str], kind: str) -> Path | None:
    found = [folder / f"{stem}.{kind}" for stem in stems if (folder / f"{stem}.{kind}").is_file()]
    if len(found) > 1:
        raise DataError(
            f"{folder} has both {found[0].name} and {found[1].name}",
            hint="keep one file per split",
        )
    return found[0] if found else None


def load_file_task(
    kind: str,
    location: str,
    *,
    input_field: str = "input",
    target_field: str | None = None,
    answer_format: str = "exact",
    seed: int = 0,
    placement: Placement = "Q_end",
    split: str | Sequence[float | int] | Mapping[str, float | int] | None = None,
) -> Task:
    """Loads a task from a user's JSON Lines or CSV data.

    Args:
        kind: ``"jsonl"`` or ``"csv"``.
        location: A file, or a folder with one file per split.
        input_field: The field holding the question.
        target_field: The field holding the reference answer; default: the
            first of ``targets``, ``target``, ``output``, ``answer`` present.
        answer_format: Name of the answer format in :mod:`gpo.scoring`.
        seed: Seed of the shuffle that splits a single file.
        placement: Where the instruction goes in each question.
        split: Train / eval / test fractions or counts for a single file
            (see :func:`parse_split`); not allowed for a folder.

    Raises:
        ConfigError: Bad options.
        DataError: The file or folder is missing, empty or malformed.
    """
    if kind not in ("jsonl", "csv"):
        raise ConfigError(f"unknown data file kind {kind!r}", hint="use jsonl:PATH or csv:PATH")
    if not location:
        raise ConfigError(f"{kind}: needs a path", hint=f"write {kind}:PATH, e.g. {kind}:data.{kind}")
    path = Path(location).expanduser()
    name = f"{kind}:{location}"
    if path.is_dir():
        if split is not None:
            raise ConfigError(
                f"option split applies to a single file, but {path} is a folder with its own splits",
                hint="drop the split option, or point at one file",
            )
        splits = _load_folder(path, kind, input_field, target_field)
        source = str(path)
    elif path.is_file():
        splits = _load_single_file(path, kind, input_field, target_field, seed, split)
        cut = parse_split(split) if split is not None else DEFAULT_SPLIT
        source = f"{path} (seed {seed}, split {','.join(f'{v:g}' for v in cut.values())})"
    else:
        raise DataError(f"no such file or folder: {path}", hint=f"check the path in {name}")
    return Task(
        name=name,
        splits=splits,
        answer_format=answer_format,
        placement=placement,
        description=f"your data from {path}",
        source=source,
    )


def _examples(path: Path, kind: str, input_field: str, target_field: str | None) -> list[Example]:
    records = _read(path, kind)
    field = target_field or pick_target_field(records, path)
    return records_to_examples(records, path, input_field=input_field, target_field=field)


def _load_folder(
    folder: Path, kind: str, input_field: str, target_field: str | None
) -> dict[str, list[Example]]:
    splits: dict[str, list[Example]] = {}
    stems: dict[str, tuple[str, ...]] = {s: (s,) for s in DEFAULT_SPLIT}
    stems.update(_OPTIONAL_SPLIT_FILES)
    for split, names in stems.items():
        path = _split_file(folder, names, kind)
        if path is not None:
            splits[split] = _examples(path, kind, input_field, target_field)
    if not any(s in splits for s in DEFAULT_SPLIT):
        other = "csv" if kind == "jsonl" else "jsonl"
        raise DataError(
            f"{folder} has none of train.{kind}, eval.{kind}, test.{kind}",
            hint=f"name the split files train/eval/test.{kind} (or use {other}:{folder} for .{other} files)",
        )
    return splits


def _load_single_file(
    path: Path,
    kind: str,
    input_field: str,
    target_field: str | None,
    seed: int,
    split: str | Sequence[float | int] | Mapping[str, float | int] | None,
) -> dict[str, list[Example]]:
    examples = _examples(path, kind, input_field, target_field)
    if not examples:
        raise DataError(f"{path} has no records", hint="add one example per line (JSONL) or per row (CSV)")
    cut = parse_split(split) if split is not None else dict(DEFAULT_SPLIT)
    if all(isinstance(v, int) for v in cut.values()) and sum(cut.values()) > len(examples):
        raise ConfigError(
            f"split asks for {sum(cut.values())} examples but {path} has {len(examples)}",
            hint="lower the counts or use fractions",
        )
    splits = seeded_split(examples, seed, cut)
    train = splits["train"]
    splits["format"] = train[:FORMAT_SIZE]
    splits["few_shot"] = train[-FORMAT_SIZE:] if train else []
    return splits
