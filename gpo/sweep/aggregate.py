"""A sweep's runs as the paper's Table 5: methods × tasks, mean ± sd over seeds.

Pure functions over :class:`~gpo.sweep.records.RunRecord` lists:

* :func:`method_table`: one row per method (evaluation-only references such as ``cot`` and
  ``empty`` included, as in the paper), one cell per task with the mean and sample standard
  deviation of the final prompt's test score over seeds, the mean over tasks, and the gain
  over each run's own initial prompt p0;
* :func:`gpo.sweep.paired.paired_tests`: a reference method against every other one over
  the (task, seed) units both ran;
* :func:`call_counts`: task-model calls per method, to check that budgets were equal;
* :func:`aggregate`: all of it in one :class:`Aggregate`.

Scores are fractions (0–1) here; tables print them in percent. Runs that repeat the same
task, method and seed are averaged into one unit first.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional, Sequence

from gpo.errors import ConfigError
from gpo.sweep.paired import REPORT_HINT, PairedTest, paired_tests
from gpo.sweep.records import RunRecord, units

__all__ = [
    "Aggregate",
    "CallRow",
    "Cell",
    "MethodRow",
    "aggregate",
    "call_counts",
    "choose_reference",
    "method_table",
    "paper_order",
    "summarize",
]


@dataclass(frozen=True)
class Cell:
    """Values over seeds: their mean, sample standard deviation (n − 1) and count.

    Attributes:
        mean: The mean.
        sd: The sample standard deviation (``None`` for a single value).
        n: How many values.
    """

    mean: float
    sd: Optional[float]
    n: int


def summarize(values: Iterable[float]) -> Optional[Cell]:
    """Mean, sample sd and count of some values (``None`` when there are none).

    >>> summarize([0.5, 0.75, 1.0])
    Cell(mean=0.75, sd=0.25, n=3)
    >>> summarize([0.5])
    Cell(mean=0.5, sd=None, n=1)
    """
    values = [float(v) for v in values]
    if not values:
        return None
    sd = statistics.stdev(values) if len(values) > 1 else None
    return Cell(statistics.fmean(values), sd, len(values))


def _order(items: Iterable[str], given: Optional[Sequence[str]]) -> list[str]:
    seen = list(dict.fromkeys(items))
    if given is None:
        return seen
    return list(given) + [x for x in seen if x not in given]


@dataclass(frozen=True)
class MethodRow:
    """One row of the table.

    Attributes:
        method: The method (variant) label.
        cells: Final test score over seeds, by task (``None``: no finished run).
        gains: Final minus initial test score over seeds, by task.
        average: The mean over tasks of the cell means; its sd is over the seeds that have
            every task (of each seed's mean over tasks). ``None`` unless every task has a cell.
        gain: The mean over tasks of the per-task gains (``None`` unless every task has one).
        runs: Units (task, seed) with a final test score.
    """

    method: str
    cells: dict[str, Optional[Cell]]
    gains: dict[str, Optional[Cell]]
    average: Optional[Cell]
    gain: Optional[float]
    runs: int


def method_table(
    records: Iterable[RunRecord], *, tasks: Optional[Sequence[str]] = None, methods: Optional[Sequence[str]] = None
) -> list[MethodRow]:
    """The Table-5 view: one row per method, one cell per task.

    Args:
        records: Finished runs.
        tasks: Column order (default: order of first appearance).
        methods: Row order (default: order of first appearance).
    """
    by_unit = units(records)
    tasks = _order((k[1] for k in by_unit), tasks)
    methods = _order((k[0] for k in by_unit), methods)
    rows = []
    for m in methods:
        mine = {k: r for k, r in by_unit.items() if k[0] == m}
        cells, gains = {}, {}
        per_seed: dict[int, dict[str, float]] = {}
        for t in tasks:
            finals = [(k[2], r.final_test) for k, r in mine.items() if k[1] == t and r.final_test is not None]
            cells[t] = summarize(v for _, v in finals)
            gains[t] = summarize(r.gain for k, r in mine.items() if k[1] == t and r.gain is not None)
            for seed, v in finals:
                per_seed.setdefault(seed, {})[t] = v
        average = None
        if tasks and all(cells[t] is not None for t in tasks):
            complete = [statistics.fmean(v.values()) for v in per_seed.values() if len(v) == len(tasks)]
            spread = summarize(complete)
            average = Cell(
                statistics.fmean(cells[t].mean for t in tasks),  # type: ignore[union-attr]
                spread.sd if spread else None,
                spread.n if spread else 0,
            )
        gain = None
        if tasks and all(gains[t] is not None for t in tasks):
            gain = statistics.fmean(gains[t].mean for t in tasks)  # type: ignore[union-attr]
        runs = sum(1 for r in mine.values() if r.final_test is not None)
        rows.append(MethodRow(m, cells, gains, average, gain, runs))
    return rows


@dataclass(frozen=True)
class CallRow:
    """Model calls of one method's runs.

    Attributes:
        method: The method.
        runs: Finished runs.
        task_calls: Mean task-model calls per run (from the cache or paid).
        task_calls_max: Most task-model calls of one run.
        paid_task_calls: Task-model requests sent to the backend, all runs together.
        optimizer_calls: Mean optimizer requests per run.
        cost_usd: Known cost of all runs (``None`` when a price was unknown).
    """

    method: str
    runs: int
    task_calls: float
    task_calls_max: int
    paid_task_calls: int
    optimizer_calls: float
    cost_usd: Optional[float]


def call_counts(records: Sequence[RunRecord], methods: Optional[Sequence[str]] = None) -> list[CallRow]:
    """Calls per method, so that equal budgets can be checked (every run counted)."""
    out = []
    for m in _order((r.method for r in records), methods):
        mine = [r for r in records if r.method == m]
        if not mine:
            continue
        costs = [r.cost_usd for r in mine]
        out.append(
            CallRow(
                method=m,
                runs=len(mine),
                task_calls=statistics.fmean(r.task_calls for r in mine),
                task_calls_max=max(r.task_calls for r in mine),
                paid_task_calls=sum(r.paid_task_calls for r in mine),
                optimizer_calls=statistics.fmean(r.optimizer_calls for r in mine),
                cost_usd=None if any(c is None for c in costs) else sum(costs),  # type: ignore[arg-type]
            )
        )
    return out


PAPER_ROWS = ("empty", "cot", "ape", "apo", "opro", "pe2", "sgdm", "gpo")
"""The row order of the paper's Table 5 (references first, GPO last)."""


def paper_order(methods: Iterable[str]) -> list[str]:
    """Methods in the paper's row order; each preset's variants follow it, unknown names last.

    >>> paper_order(["gpo[k=3]", "opro", "gpo", "cot", "mine"])
    ['cot', 'opro', 'gpo', 'gpo[k=3]', 'mine']
    """

    def key(m: str) -> tuple[int, int, str]:
        preset = m.split("[", 1)[0]
        rank = PAPER_ROWS.index(preset) if preset in PAPER_ROWS else len(PAPER_ROWS)
        return rank, int("[" in m), m

    return sorted(dict.fromkeys(methods), key=key)


def choose_reference(methods: Sequence[str], requested: Optional[str] = None) -> Optional[str]:
    """The reference of the paired tests: the one requested, else ``gpo``, else a GPO variant.

    >>> choose_reference(["opro", "gpo[k=1]", "gpo[k=3]"])
    'gpo[k=1]'

    Raises:
        ConfigError: The requested method is not among ``methods``.
    """
    if requested is not None:
        if requested not in methods:
            raise ConfigError(f"reference method {requested!r} has no finished run here", hint=f"use one of {', '.join(methods)}")
        return requested
    if "gpo" in methods:
        return "gpo"
    return next((m for m in methods if m.startswith("gpo[")), methods[0] if methods else None)


@dataclass
class Aggregate:
    """Everything the tables show.

    Attributes:
        tasks: Columns.
        methods: Rows.
        rows: The Table-5 rows.
        reference: The reference of the paired tests.
        tests: The paired tests (empty without SciPy; see ``notes``).
        calls: Calls per method.
        records: The runs aggregated.
        notes: What the reader should know (missing runs, dry runs, no SciPy).
    """

    tasks: list[str]
    methods: list[str]
    rows: list[MethodRow]
    reference: Optional[str]
    tests: list[PairedTest]
    calls: list[CallRow]
    records: list[RunRecord]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": "scores are fractions of the test examples (0-1); tables show percent",
            "tasks": self.tasks,
            "methods": self.methods,
            "reference": self.reference,
            "rows": [asdict(r) for r in self.rows],
            "tests": [asdict(t) for t in self.tests],
            "calls": [asdict(c) for c in self.calls],
            "runs": [r.to_dict() for r in self.records],
            "notes": self.notes,
        }


def aggregate(
    records: Sequence[RunRecord],
    *,
    tasks: Optional[Sequence[str]] = None,
    methods: Optional[Sequence[str]] = None,
    reference: Optional[str] = None,
    with_tests: bool = True,
    seed: int = 0,
) -> Aggregate:
    """The table, the paired tests and the call counts of some runs.

    Args:
        records: Finished runs.
        tasks: Column order (tasks without runs still get a column).
        methods: Row order (methods without runs still get a row).
        reference: Reference of the paired tests (default: see :func:`choose_reference`).
        with_tests: Run the paired tests (they need SciPy).
        seed: Seed of the bootstrap intervals.
    """
    rows = method_table(records, tasks=tasks, methods=methods)
    task_order = list(rows[0].cells) if rows else list(tasks or [])
    method_order = [r.method for r in rows]
    have = [r.method for r in rows if r.runs]
    notes = []
    if reference is not None and reference not in method_order:
        choose_reference(method_order, reference)  # raises, naming the methods there are
    if reference is not None and reference not in have:
        notes.append(f"no paired tests: the reference {reference} has no finished run")
        ref = None
    else:
        ref = choose_reference(have, reference) if have else None
    tests: list[PairedTest] = []
    if with_tests and ref is not None:
        tests = paired_tests(records, ref, have, seed=seed)
    elif not with_tests:
        notes.append(f"paired tests need SciPy and NumPy: {REPORT_HINT}")
    if any(r.dry_run for r in records):
        notes.append("dry run: the scores come from a fake model and mean nothing")
    missing = _missing_cells({r.method: r.cells for r in rows}, task_order)
    if missing:
        notes.append("no finished run: " + missing)
    return Aggregate(task_order, method_order, rows, ref, tests, call_counts(records, method_order), list(records), notes)


def _missing_cells(cells: dict[str, dict[str, Any]], tasks: Sequence[str]) -> str:
    """The table's empty cells (``None``) in words; a task no method finished is named once.

    >>> _missing_cells({"gpo": {"a": 0.5, "b": None, "c": None, "d": None}, "ape": {"a": None, "b": 1.0, "c": None, "d": None}}, "abcd")
    'any method on c, d; gpo on b; ape on a'
    """
    empty = [t for t in tasks if all(row[t] is None for row in cells.values())]
    parts = [f"any method on {', '.join(empty)}"] if empty else []
    for method, row in cells.items():
        gaps = [t for t in tasks if row[t] is None and t not in empty]
        if gaps:
            parts.append(f"{method} on {', '.join(gaps)}")
    return "; ".join(parts)
