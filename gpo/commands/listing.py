"""The task list of ``gpo tasks``, laid out to be read in a terminal of any width.

Tasks come in families (``bbh/``, ``mmlu/``, ...). Each family gets a header line with what
its tasks share, then one line per task: its whole name, answer format and what is left of
its description, cut at the terminal's width. A family whose tasks differ only in their
name (MMLU's subjects) lists the names as running text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

__all__ = ["task_lines", "wrapped"]

MIN_DESCRIPTION = 30
"""Narrowest description column: a task whose name leaves less has its description on the next line."""


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when something was cut.

    >>> _cut("evaluate an expression", 12)
    'evaluate an…'
    """
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def _split(description: str) -> tuple[str, str]:
    """A description's topic (before the first ``": "``) and the rest.

    >>> _split("BIG-Bench Hard: sort a list of words")
    ('BIG-Bench Hard', 'sort a list of words')
    """
    topic, sep, rest = description.partition(": ")
    return (topic, rest) if sep else ("", description)


def wrapped(text: str, width: int, indent: int) -> list[str]:
    """``text`` wrapped to ``width``, its later lines indented by ``indent`` spaces.

    >>> wrapped("one two three four five six", 20, 2)
    ['one two three four', '  five six']
    """
    return textwrap.wrap(text, max(width, 20), subsequent_indent=" " * indent, break_on_hyphens=False)


def _family(name: str) -> str:
    return name.split("/", 1)[0] if "/" in name else name


def task_lines(rows: Sequence[Any], width: int) -> list[str]:
    """The lines that list ``rows`` (objects with ``name``, ``answer_format``,
    ``description`` and ``available``), none longer than ``width``.

    >>> from types import SimpleNamespace as T
    >>> rows = [T(name="x/a", answer_format="exact", description="X: do a", available=True),
    ...         T(name="x/b", answer_format="number", description="X: do b", available=False)]
    >>> print("\\n".join(task_lines(rows, 60)))
    x  X · 2 tasks, 1 without data
      x/a  exact   do a
      x/b  number  do b (no data)
    """
    width = max(width, 40)
    families: dict[str, list[Any]] = {}
    for row in rows:
        families.setdefault(_family(row.name), []).append(row)
    lines: list[str] = []
    for family, members in families.items():
        if lines:
            lines.append("")
        lines.extend(_family_lines(family, members, width))
    return lines


def _family_lines(family: str, members: list[Any], width: int) -> list[str]:
    parts = [_split(m.description) for m in members]
    topics = {topic for topic, _ in parts}
    rests = {rest for _, rest in parts}
    formats = {m.answer_format for m in members}
    missing = sum(not m.available for m in members)
    prefix = f"{family}/" if any("/" in m.name for m in members) else ""
    shared = next(iter(topics)) if len(topics) == 1 else ""
    count = f"{len(members)} task{'s' if len(members) > 1 else ''}"
    if missing:
        count += ", no data" if missing == len(members) else f", {missing} without data"
    if len(members) > 3 and len(rests) == 1 and len(formats) == 1:  # only the names differ
        words = next(iter(topics)).split()[:1] if len(topics) > 1 else [shared]
        header = f"{prefix}SUBJECT  {' '.join(words)} · {count} · {next(iter(formats))}: {next(iter(rests))}"
        names = ", ".join(m.name[len(prefix):] for m in members)
        body = textwrap.wrap(names, width - 2, break_on_hyphens=False)
        return [_cut(header, width), *("  " + line for line in body)]
    header = f"{family}  " + " · ".join(x for x in (shared, count) if x)
    names = [m.name for m in members]  # whole, to copy into a command
    fmt_w = max(map(len, formats))
    fits = [len(n) for n in names if len(n) <= width - 6 - fmt_w - MIN_DESCRIPTION]
    name_w = max(fits or [0])  # a longer name puts its description on the next line
    room = width - 2 - name_w - 2 - fmt_w - 2
    lines = [_cut(header, width)]
    for member, name, (_, rest) in zip(members, names, parts):
        text = (member.description if not shared else rest) + ("" if member.available or missing == len(members) else " (no data)")
        if len(name) <= name_w:
            lines.append(f"  {name:<{name_w}}  {member.answer_format:<{fmt_w}}  {_cut(text, room)}")
        else:  # a long name: the description on a line of its own
            lines.extend([_cut(f"  {name}  {member.answer_format}", width), "      " + _cut(text, width - 6)])
    return lines
