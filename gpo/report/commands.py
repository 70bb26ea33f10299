"""The ``gpo report`` and ``gpo compare`` commands (registered by :mod:`gpo.cli`).

Importing this module imports only click; the report's packages load when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

__all__ = ["report_command", "compare_command"]


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file to write (default: RUN_DIR/report.html).",
)
def report_command(run_dir: Path, out: Optional[Path]) -> None:
    """Write a self-contained HTML report of a run (finished or not).

    \b
    The page opens offline and shows the settings, the initial and final prompt with a
    word diff, score and edit-budget curves, every step's candidates, where each sentence
    of the final prompt came from, the test examples fixed and broken, a paired
    significance test, and the cost per step.

    \b
    Example:
      gpo report runs/20250101-120000-bbh_navigate-gpo
    """
    from gpo.report import write_report

    path = write_report(run_dir, out)
    click.echo(f"report: {path} ({_size(path)})")


@click.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--html",
    "--out",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the comparison as a self-contained HTML page here.",
)
@click.option("--no-html", is_flag=True, help="Write no page (the default without --html; kept for scripts).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
@click.option("--dry-runs", is_flag=True, help="Include dry runs (`gpo optimize --dry-run`), left out by default: their scores come from a fake model.")
@click.option("--table", "by_method", is_flag=True, help="One row per method and one column per task (mean ± sd over seeds, as in the paper's Table 5), with gains and paired tests.")
@click.option("--reference", default=None, help="With --table: the method the paired tests compare the others with (default: gpo).")
def compare_command(
    run_dirs: tuple[Path, ...], html_path: Path, no_html: bool, as_json: bool, dry_runs: bool, by_method: bool,
    reference: Optional[str],
) -> None:
    """Compare runs: test scores, gain, significance, cost and calls.

    \b
    RUN_DIRS are run directories, or folders of run directories (all runs inside).
    --table groups the finished runs by method and task, as `gpo sweep` does.

    \b
    Example:
      gpo compare runs/*-gpo runs/*-opro --html gpo-vs-opro.html
      gpo compare runs/ --table --no-html
    """
    from gpo.errors import DataError
    from gpo.report.extra import require_extra

    require_extra()
    from gpo.report.compare import compare_runs, write_compare_page

    rows = compare_runs(run_dirs)
    left_out = [] if dry_runs else [r for r in rows if r.run.dry_run]
    rows = [r for r in rows if r not in left_out]
    if not rows:
        raise DataError(
            f"nothing to compare: {'the run given is a dry run' if len(left_out) == 1 else 'the runs given are dry runs'}",
            hint="add --dry-runs to compare dry runs",
        )
    if by_method:
        _table_view(rows, None if no_html else html_path, as_json, reference)
        return
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "run_dir": str(r.run.path),
                        "task": r.run.task,
                        "method": r.run.method,
                        "status": r.status,
                        "initial_test": r.initial_test,
                        "final_test": r.final_test,
                        "gain": r.gain,
                        "pvalue": r.pvalue,
                        "test": r.test,
                        "cost_usd": r.cost_usd,
                        "unpriced_calls": r.unpriced,
                        "calls": r.calls,
                        "requests": r.requests,
                        "tokens": r.tokens,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
    else:
        import shutil

        from gpo.report.compare import compare_lines

        width = shutil.get_terminal_size((80, 24)).columns
        for line in compare_lines(rows, width):
            click.echo(line)
        click.echo("")
        for i, r in enumerate(rows, 1):
            click.echo(f"{i}. {r.run.path}" + ("" if r.status == "finished" else f" ({r.status})"))
        click.echo("p: paired test, final vs initial prompt on test (McNemar for 0/1); * p < 0.05")
        if left_out:
            click.echo(f"{_dry_runs(len(left_out))} left out (--dry-runs includes them).")
    if html_path is not None and not no_html:
        path = write_compare_page(rows, html_path)
        click.echo(f"compare page: {path} ({_size(path)})", err=as_json)


def _dry_runs(n: int) -> str:
    return f"{n} dry run{'s' if n != 1 else ''}"


def _table_view(rows, html_path: Optional[Path], as_json: bool, reference: Optional[str]) -> None:
    """``gpo compare --table``: the runs aggregated by method and task (see :mod:`gpo.sweep`)."""
    from rich.console import Console

    from gpo.sweep.aggregate import aggregate, paper_order
    from gpo.sweep.display import print_aggregate
    from gpo.sweep.output import write_page
    from gpo.sweep.records import records_from_compare_rows

    records, unfinished = records_from_compare_rows(rows)
    agg = aggregate(records, methods=paper_order(r.method for r in records), reference=reference)
    if unfinished:
        agg.notes.append(f"{len(unfinished)} unfinished runs left out: " + ", ".join(unfinished))
    if as_json:
        click.echo(json.dumps(agg.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_aggregate(agg, Console())
    if html_path is not None:
        title = f"{len(records)} runs by method and task"
        path = write_page(agg, html_path, title=title, subtitle="Finished runs grouped by method and task.")
        click.echo(f"compare page: {path} ({_size(path)})", err=as_json)
