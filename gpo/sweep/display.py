"""An aggregate printed on the terminal, in the console's width (80 columns when not a TTY).

Task names become column headers of at most :data:`CELL_WIDTH` characters: a group prefix
that every task shares is dropped (``synthetic/``), longer names are cut with an ellipsis,
and a legend under the table gives each full name. When the tasks do not fit side by side,
the table is split into several, each with the method column.

Names are printed as plain text, never as Rich markup: ``gpo[k=1]`` stays ``gpo[k=1]``.
"""

from __future__ import annotations

from typing import Optional, Sequence

from gpo.sweep.aggregate import Aggregate, Cell

__all__ = ["CELL_WIDTH", "abbreviate", "cell_text", "print_aggregate"]

CELL_WIDTH = 10
_METHOD_WIDTH = 22


def abbreviate(tasks: Sequence[str], width: int = CELL_WIDTH) -> dict[str, str]:
    """Short, distinct column headers for task names.

    >>> abbreviate(["synthetic/boolean_expressions", "synthetic/navigate"])
    {'synthetic/boolean_expressions': 'boolean_e…', 'synthetic/navigate': 'navigate'}
    >>> abbreviate(["bbh/navigate", "gsm8k"])
    {'bbh/navigate': 'bbh/navig…', 'gsm8k': 'gsm8k'}
    """
    groups = {t.split("/", 1)[0] for t in tasks if "/" in t}
    strip = len(groups) == 1 and all("/" in t for t in tasks)
    out: dict[str, str] = {}
    used: set[str] = set()
    for i, task in enumerate(tasks):
        name = task.split("/", 1)[1] if strip else task
        short = name if len(name) <= width else name[: width - 1] + "…"
        if short in used:
            tag = f"~{i + 1}"
            short = name[: width - len(tag) - 1] + "…" + tag if len(name) + len(tag) > width else name + tag
        used.add(short)
        out[task] = short
    return out


def cell_text(cell: Optional[Cell]) -> str:
    """A cell as ``mean±sd`` in percent, one decimal (``—`` when empty).

    >>> cell_text(Cell(0.4167, 0.0589, 2))
    '41.7±5.9'
    """
    if cell is None:
        return "—"
    if cell.sd is None:
        return f"{cell.mean * 100:.1f}"
    return f"{cell.mean * 100:.1f}±{cell.sd * 100:.1f}"


def _signed(x: Optional[float]) -> str:
    return "—" if x is None else f"{x * 100:+.1f}"


def _p(x: Optional[float]) -> str:
    if x is None:
        return "—"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _say(console, text: str, **kwargs) -> None:
    console.print(text, markup=False, highlight=False, **kwargs)


def _table(console, title: Optional[str], columns: Sequence[tuple[str, dict]]):
    """A borderless table with plain-text headers; its title is a line of its own."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if title:
        console.print()
        _say(console, title, style="bold")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False)
    for name, options in columns:
        table.add_column(Text(name), **options)
    return table


def _add_row(table, cells: Sequence[str]) -> None:
    from rich.text import Text

    table.add_row(*(Text(c) for c in cells))


_LEFT = {"overflow": "fold", "max_width": _METHOD_WIDTH}
_RIGHT = {"justify": "right", "no_wrap": True}


def _chunks(tasks: list[str], per_table: int) -> list[list[str]]:
    return [tasks[i : i + per_table] for i in range(0, len(tasks), per_table)] or [[]]


def print_aggregate(agg: Aggregate, console=None, *, title: str = "Final prompt's test score (%), mean±sd over seeds") -> None:
    """Prints the Table-5 view, the paired tests and the calls per method.

    Args:
        agg: The aggregate.
        console: A :class:`rich.console.Console` (default: stdout; 80 columns unless
            ``COLUMNS`` or the terminal says otherwise).
        title: The first table's title.
    """
    from rich.console import Console

    console = console or Console()
    width = console.width
    heads = abbreviate(agg.tasks)
    method_w = min(_METHOD_WIDTH, max([len("method"), *(len(m) for m in agg.methods)]))
    fixed = method_w + 2 + (CELL_WIDTH + 2) + (6 + 2) + (4 + 2)
    per_table = max(1, (width - fixed) // (CELL_WIDTH + 2))
    chunks = _chunks(agg.tasks, per_table)
    for i, tasks in enumerate(chunks):
        last = i == len(chunks) - 1
        columns = [("method", {**_LEFT, "max_width": method_w})] + [(heads[t], _RIGHT) for t in tasks]
        if last:
            columns += [("mean", _RIGHT), ("gain", _RIGHT), ("runs", _RIGHT)]
        table = _table(console, title if i == 0 else None, columns)
        for r in agg.rows:
            cells = [cell_text(r.cells[t]) for t in tasks]
            if last:
                cells += [cell_text(r.average), _signed(r.gain), str(r.runs)]
            _add_row(table, [r.method, *cells])
        console.print(table)
    legend = [f"{heads[t]} = {t}" for t in agg.tasks if heads[t] != t]
    if legend:
        _say(console, "columns: " + "; ".join(legend))
    _say(console, "mean: over tasks, ± over seeds · gain: final − p0 on test, in points")
    _print_tests(agg, console)
    _print_calls(agg, console)
    for note in agg.notes:
        _say(console, f"note: {note}")


def _print_tests(agg: Aggregate, console) -> None:
    if not agg.tests:
        return
    conf = round(agg.tests[0].confidence * 100)
    columns = [("method", _LEFT)] + [(name, _RIGHT) for name in ("n", "≠0", "mean", f"{conf}% CI", "W", "p")]
    table = _table(console, f"Paired tests: {agg.reference} − method over (task, seed) units, points", columns)
    for t in agg.tests:
        ci = "—" if t.ci_low is None else f"[{_signed(t.ci_low)}, {_signed(t.ci_high)}]"
        w = "—" if t.statistic is None else f"{t.statistic:g}"
        _add_row(table, [t.method, str(t.n), str(t.n_nonzero), _signed(t.mean_difference), ci, w, _p(t.pvalue)])
    console.print(table)
    _say(console, f"Wilcoxon signed-rank test (zeros dropped); {conf}% CI: bootstrap of the mean")


def _print_calls(agg: Aggregate, console) -> None:
    if not agg.calls:
        return
    columns = [("method", _LEFT)] + [(name, _RIGHT) for name in ("runs", "task/run", "max", "paid", "optim/run", "cost")]
    table = _table(console, "Calls per method (task model: cache hits included, and paid)", columns)
    for c in agg.calls:
        cost = "unknown" if c.cost_usd is None else f"${c.cost_usd:.2f}"
        cells = [f"{c.task_calls:,.0f}", f"{c.task_calls_max:,}", f"{c.paid_task_calls:,}", f"{c.optimizer_calls:,.1f}", cost]
        _add_row(table, [c.method, str(c.runs), *cells])
    console.print(table)
