"""An aggregate written out: CSV files, one JSON document, and a self-contained HTML page.

Files in the sweep directory (or wherever asked):

* ``table.csv``: the Table-5 layout, one row per method: for each task the mean, sample sd
  and count over seeds of the final prompt's test score (percent), then the mean over
  tasks, its sd over seeds, and the gain over p0 (points);
* ``tests.csv``: the reference against each method: units, non-zero differences, mean
  difference and bootstrap interval (points), signed-rank statistic and p-value;
* ``calls.csv``: calls per method;
* ``runs.csv``: one row per finished run, scores as fractions, its final prompt last;
* ``aggregate.json``: all of the above;
* ``sweep.html``: the page (needs the ``report`` extra).

``table.csv`` and ``tests.csv`` depend on scores alone, so a sweep interrupted and resumed
writes them byte for byte as an uninterrupted one. Call counts do not: a resumed run repeats
the calls in flight when it was stopped, and what the shared cache answers depends on which
run asked first.
"""

from __future__ import annotations

import csv
import io
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from gpo.fileio import atomic_output
from gpo.sweep.aggregate import Aggregate

__all__ = ["CSV_FILES", "JSON_FILE", "HTML_FILE", "table_csv", "paired_csv", "calls_csv", "runs_csv", "write_outputs", "render_page", "write_page"]

CSV_FILES = ("table.csv", "tests.csv", "calls.csv", "runs.csv")
JSON_FILE = "aggregate.json"
HTML_FILE = "sweep.html"


def _pct(x: Optional[float]) -> str:
    return "" if x is None else f"{x * 100:.2f}"


def _num(x: Optional[float], fmt: str = ".6g") -> str:
    return "" if x is None else format(x, fmt)


def _csv(rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows)
    return buf.getvalue()


def table_csv(agg: Aggregate) -> str:
    """``table.csv``: methods × tasks in percent (mean, sd, n per task; mean over tasks; gain)."""
    header = ["method"]
    for t in agg.tasks:
        header += [t, f"{t} sd", f"{t} n"]
    header += ["mean", "mean sd", "gain"]
    rows: list[list[Any]] = [header]
    for r in agg.rows:
        line: list[Any] = [r.method]
        for t in agg.tasks:
            c = r.cells[t]
            line += [_pct(c.mean if c else None), _pct(c.sd if c else None), c.n if c else 0]
        line += [_pct(r.average.mean if r.average else None), _pct(r.average.sd if r.average else None), _pct(r.gain)]
        rows.append(line)
    return _csv(rows)


def paired_csv(agg: Aggregate) -> str:
    """``tests.csv``: the paired tests (differences in points, reference minus method)."""
    rows: list[list[Any]] = [
        ["reference", "method", "units", "nonzero", "mean difference", "ci low", "ci high", "confidence", "W", "p", "note"]
    ]
    for t in agg.tests:
        rows.append(
            [
                t.reference, t.method, t.n, t.n_nonzero, _pct(t.mean_difference), _pct(t.ci_low), _pct(t.ci_high),
                t.confidence, _num(t.statistic), _num(t.pvalue), t.note or "",
            ]
        )
    return _csv(rows)


def calls_csv(agg: Aggregate) -> str:
    """``calls.csv``: model calls per method."""
    rows: list[list[Any]] = [
        ["method", "runs", "task calls per run", "most task calls", "paid task calls", "optimizer calls per run", "cost usd"]
    ]
    for c in agg.calls:
        rows.append(
            [c.method, c.runs, _num(c.task_calls, ".1f"), c.task_calls_max, c.paid_task_calls, _num(c.optimizer_calls, ".1f"), _num(c.cost_usd, ".6f")]
        )
    return _csv(rows)


def runs_csv(agg: Aggregate) -> str:
    """``runs.csv``: every finished run (scores as fractions)."""
    fields = ["task", "method", "seed", "initial_test", "final_test", "task_calls", "paid_task_calls", "optimizer_calls", "cost_usd", "stopped_reason", "run_dir", "final_prompt"]
    rows: list[list[Any]] = [fields]
    for r in agg.records:
        d = r.to_dict()
        rows.append(["" if d[f] is None else d[f] for f in fields])
    return _csv(rows)


def _write(path: Path, text: str) -> Path:
    with atomic_output(path) as f:
        f.write(text)
    return path


def write_outputs(agg: Aggregate, out_dir: Union[str, os.PathLike]) -> list[Path]:
    """Writes the CSV files and ``aggregate.json`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    paths = [
        _write(out / name, make(agg))
        for name, make in zip(CSV_FILES, (table_csv, paired_csv, calls_csv, runs_csv))
    ]
    paths.append(_write(out / JSON_FILE, json.dumps(agg.to_dict(), indent=2, ensure_ascii=False) + "\n"))
    return paths


def _href(target: Path, page_dir: Path) -> str:
    rel = os.path.relpath(Path(target).resolve(), Path(page_dir).resolve())
    return urllib.parse.quote(Path(rel).as_posix())


def render_page(
    agg: Aggregate,
    *,
    title: str,
    subtitle: str = "",
    page_dir: Union[str, os.PathLike] = ".",
    run_root: Union[str, os.PathLike, None] = None,
    failures: Sequence[tuple[str, str]] = (),
    settings: Optional[dict[str, Any]] = None,
) -> str:
    """The aggregate as one self-contained HTML page (no script, no network).

    Args:
        agg: The aggregate.
        title: The page's heading.
        subtitle: One line under it.
        page_dir: Where the page will be, for relative links to each run.
        run_root: What the records' ``run_dir`` is relative to (default: as given).
        failures: ``(run name, error)`` of the runs that failed.
        settings: Options shared by every run, to list.
    """
    import gpo
    from gpo.report.page import REPORT_FILE, environment

    links = []
    for r in agg.records:
        link = None
        if r.run_dir:
            path = Path(run_root) / r.run_dir if run_root is not None else Path(r.run_dir)
            report = path / REPORT_FILE
            link = _href(report if report.exists() else path, Path(page_dir))
        links.append(link)
    return environment().get_template("sweep.html.j2").render(
        agg=agg,
        title=title,
        subtitle=subtitle,
        runs=list(zip(agg.records, links)),
        failures=list(failures),
        settings=sorted((settings or {}).items()),
        gpo_version=getattr(gpo, "__version__", "?"),
    )


def write_page(agg: Aggregate, path: Union[str, os.PathLike], **kwargs: Any) -> Path:
    """Writes :func:`render_page` to ``path`` atomically and returns it."""
    path = Path(path)
    kwargs.setdefault("page_dir", path.parent)
    return _write(path, render_page(agg, **kwargs))
