"""Several runs side by side: one row per run with its test scores, significance and cost."""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from gpo.errors import DataError
from gpo.report.cost import format_cost, usage_totals
from gpo.report.page import REPORT_FILE, environment, statistics
from gpo.report.run import RunData, load_run

__all__ = ["CompareRow", "expand_run_dirs", "compare_runs", "compare_lines", "render_compare", "write_compare_page"]

_RUN_FILES = ("config.json", "checkpoint.json", "summary.json")


def _is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / n).exists() for n in _RUN_FILES)


def expand_run_dirs(paths: Sequence[Union[str, os.PathLike]]) -> list[Path]:
    """Run directories from the given paths; a folder of runs stands for the runs inside it.

    Raises:
        DataError: A path is neither a run directory nor a folder holding some.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if _is_run_dir(p):
            out.append(p)
            continue
        inner = sorted(q for q in p.iterdir() if _is_run_dir(q)) if p.is_dir() else []
        if not inner:
            raise DataError(f"{p} is not a run directory and holds none", hint="give folders written by `gpo optimize`")
        out.extend(inner)
    return out


@dataclass
class CompareRow:
    """One run in a comparison.

    Attributes:
        run: The loaded run.
        name: A short name (the folder's name).
        initial_test: Test score of the initial prompt (``None``: not scored).
        final_test: Test score of the final prompt.
        pvalue: p-value of the paired test of final vs initial (``None``: no per-example results).
        test: Which paired test gave ``pvalue``.
        cost_usd: Known cost in dollars.
        unpriced: Paid calls with an unknown price.
        calls: Paid calls.
        requests: Calls recorded, paid or cached.
        tokens: Input plus output tokens.
    """

    run: RunData
    name: str
    initial_test: Optional[float]
    final_test: Optional[float]
    pvalue: Optional[float]
    test: Optional[str]
    cost_usd: float
    unpriced: int
    calls: int
    requests: int
    tokens: int

    @property
    def gain(self) -> Optional[float]:
        if self.initial_test is None or self.final_test is None:
            return None
        return self.final_test - self.initial_test

    @property
    def significant(self) -> bool:
        return self.pvalue is not None and self.pvalue < 0.05

    @property
    def cost_text(self) -> str:
        return format_cost(self.cost_usd, self.unpriced)

    @property
    def status(self) -> str:
        if not self.run.finished:
            return "partial"
        return "dry run" if self.run.dry_run else "finished"


def compare_runs(paths: Sequence[Union[str, os.PathLike]]) -> list[CompareRow]:
    """Loads and summarizes runs, in the order given (folders of runs expanded)."""
    rows = []
    for path in expand_run_dirs(paths):
        run = load_run(path)
        _, comparison, _ = statistics(run)
        total = usage_totals(run.usage)[-1]
        rows.append(
            CompareRow(
                run=run,
                name=path.resolve().name,
                initial_test=run.score("initial", "test"),
                final_test=run.score("best", "test"),
                pvalue=comparison.pvalue if comparison else None,
                test=comparison.test if comparison else None,
                cost_usd=total.cost_usd,
                unpriced=total.unpriced,
                calls=total.calls,
                requests=total.requests,
                tokens=total.tokens,
            )
        )
    return rows


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{x * 100:.1f}"


def compare_lines(rows: Sequence[CompareRow], width: int = 80) -> list[str]:
    """The comparison as plain text no wider than ``width`` (at least 60).

    One line per run, numbered in the order given; a run's task is a line of its own above
    it when it differs from the task of the run before, so that long task names are never
    cut or wrapped. The last column says when a run is a dry run or unfinished.
    """
    width = max(width, 60)
    methods = [r.run.method or "?" for r in rows]
    notes = ["" if r.status == "finished" else r.status for r in rows]
    cells = [
        (str(i), m, _pct(r.initial_test), _pct(r.final_test),
         "—" if r.gain is None else f"{r.gain * 100:+.1f}",
         "—" if r.pvalue is None else f"{r.pvalue:.2g}" + ("*" if r.significant else ""),
         r.cost_text, f"{r.calls:,}", note)
        for i, (r, m, note) in enumerate(zip(rows, methods, notes), 1)
    ]
    head = ("#", "method", "initial", "final", "gain", "p", "cost", "calls", "")
    widths = [max(len(h), *(len(c[k]) for c in cells)) for k, h in enumerate(head)]
    fixed = 2 + sum(widths) - widths[1] + 2 * (len(head) - 1)
    widths[1] = min(widths[1], max(6, width - fixed))  # a long method name is cut, never the numbers

    def line(values: Sequence[str]) -> str:
        parts = [f"{values[0]:>{widths[0]}}", f"{_cut(values[1], widths[1]):<{widths[1]}}"]
        parts += [f"{v:>{w}}" for v, w in zip(values[2:-1], widths[2:-1])] + [values[-1]]
        return _cut("  " + "  ".join(parts).rstrip(), width)

    lines = [f"{len(rows)} run{'s' if len(rows) != 1 else ''} (test scores in %)", line(head)]
    task = None
    for r, values in zip(rows, cells):
        if r.run.task != task:
            task = r.run.task
            lines.append(_cut(str(task), width))
        lines.append(line(values))
    return lines


def _href(target: Path, page_dir: Path) -> str:
    rel = os.path.relpath(target.resolve(), page_dir.resolve())
    return urllib.parse.quote(Path(rel).as_posix())


def render_compare(rows: Sequence[CompareRow], page_dir: Union[str, os.PathLike] = ".") -> str:
    """The comparison as HTML; links to each run's report (or folder) relative to ``page_dir``."""
    from markupsafe import Markup

    import gpo.report.plots as plots
    import gpo

    page_dir = Path(page_dir)
    links = []
    for r in rows:
        report = r.run.path / REPORT_FILE
        links.append(_href(report if report.exists() else r.run.path, page_dir))
    chart = None
    if any(r.initial_test is not None or r.final_test is not None for r in rows):
        chart = Markup(plots.compare_chart([(f"{i + 1}. {r.name}"[:40], r.initial_test, r.final_test) for i, r in enumerate(rows)]))
    return environment().get_template("compare.html.j2").render(
        rows=list(zip(rows, links)), chart=chart, gpo_version=getattr(gpo, "__version__", "?")
    )


def write_compare_page(rows: Sequence[CompareRow], out: Union[str, os.PathLike]) -> Path:
    """Writes the comparison page and returns its path."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    html = render_compare(rows, target.parent)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
    return target
