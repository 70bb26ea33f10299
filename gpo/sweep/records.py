"""Per-run records: the few numbers of a finished run that the aggregation needs.

They come from a run's ``summary.json``, from a sweep's manifest (which names each run's
method variant), or from the rows that ``gpo compare`` loads, so both commands share one
aggregation.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from gpo.errors import DataError
from gpo.sweep.plan import PART_TYPES, variant_label

__all__ = ["RunRecord", "record_from_summary", "records_from_sweep", "records_from_compare_rows", "units"]

# Parts that every run carries in config.json because the protocol sets them, and the
# embedder, which the sweep applies to every run alike.
_PROTOCOL_PARTS = ("batch_size", "num_candidates", "num_format_examples", "embedder")


@dataclass(frozen=True)
class RunRecord:
    """One finished run, as the aggregation sees it.

    Attributes:
        task: The task spec.
        method: The method variant's label (``gpo``, ``gpo[schedule=linear]``).
        seed: The run's seed.
        initial_test: Test score of the initial prompt p0 (0–1; ``None``: not scored).
        final_test: Test score of the final prompt (0–1; ``None``: not scored).
        task_calls: Task-model calls the run made, answered from the cache or paid.
        paid_task_calls: Task-model requests sent to the backend (what budgets count).
        optimizer_calls: Optimizer-model requests sent to the backend.
        cost_usd: Known cost of every role (``None`` when a price was unknown).
        stopped_reason: Why the run stopped (``completed``, a budget, …).
        dry_run: Scores come from a fake model.
        run_dir: Where the run is (for links).
        final_prompt: The final prompt's text (``None``: not recorded).
    """

    task: str
    method: str
    seed: int
    initial_test: Optional[float]
    final_test: Optional[float]
    task_calls: int = 0
    paid_task_calls: int = 0
    optimizer_calls: int = 0
    cost_usd: Optional[float] = 0.0
    stopped_reason: Optional[str] = None
    dry_run: bool = False
    run_dir: Optional[str] = None
    final_prompt: Optional[str] = None

    @property
    def gain(self) -> Optional[float]:
        """Final minus initial test score."""
        if self.initial_test is None or self.final_test is None:
            return None
        return self.final_test - self.initial_test

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _score(summary: Mapping[str, Any], which: str) -> Optional[float]:
    value = ((summary.get("scores") or {}).get(which) or {}).get("test")
    return None if value is None else float(value)


def record_from_summary(
    summary: Mapping[str, Any], *, method: Optional[str] = None, run_dir: Optional[str] = None
) -> RunRecord:
    """The record of a run from its ``summary.json``.

    Args:
        summary: The parsed ``summary.json``.
        method: The method label (default: the summary's ``method``).
        run_dir: Where the run is.

    Raises:
        DataError: The summary names no task or method.
    """
    usage = summary.get("usage") or {}
    task_usage, opt_usage = usage.get("task") or {}, usage.get("optimizer") or {}
    costs = [(usage.get(role) or {}).get("cost_usd", 0.0) for role in ("task", "optimizer", "embedding")]
    if not summary.get("task") or not (method or summary.get("method")):
        raise DataError(f"the summary of {run_dir or 'a run'} names no task or method")
    return RunRecord(
        task=str(summary["task"]),
        method=str(method or summary["method"]),
        seed=int(summary.get("seed") or 0),
        initial_test=_score(summary, "initial"),
        final_test=_score(summary, "best"),
        task_calls=int(task_usage.get("calls") or 0),
        paid_task_calls=int(task_usage.get("requests") or 0),
        optimizer_calls=int(opt_usage.get("requests") or 0),
        cost_usd=None if any(c is None for c in costs) else float(sum(costs)),
        stopped_reason=summary.get("stopped_reason"),
        dry_run=bool(summary.get("dry_run")),
        run_dir=run_dir,
        final_prompt=summary.get("best_prompt"),
    )


def records_from_sweep(manifest: Any) -> list[RunRecord]:
    """The records of a sweep's finished runs, in plan order.

    Args:
        manifest: A :class:`gpo.sweep.manifest.Manifest`.

    Raises:
        DataError: A finished run's ``summary.json`` cannot be read.
    """
    out = []
    for entry in manifest.runs:
        path = Path(manifest.root) / entry["dir"] / "summary.json"
        if not path.exists():
            continue
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataError(f"{path} is damaged: {exc}") from exc
        out.append(record_from_summary(summary, method=entry["method"], run_dir=entry["dir"]))
    return out


def method_of_run(method: str, args: Mapping[str, Any]) -> str:
    """A run's method label from its ``config.json`` arguments: the preset and its set parts.

    Parts the protocol fills in for every run (mini-batch size, candidates, format
    examples) are not part of the label.

    >>> method_of_run("gpo", {"schedule": "linear", "batch_size": 8, "seed": 0})
    'gpo[schedule=linear]'
    """
    if isinstance(args.get("optimizer"), dict):  # the run's own record of the parts it changed by name
        args = args.get("part_changes") or {}
    parts = {k: args[k] for k in PART_TYPES if k not in _PROTOCOL_PARTS and args.get(k) is not None}
    return variant_label(method, parts)


def records_from_compare_rows(rows: Iterable[Any]) -> tuple[list[RunRecord], list[str]]:
    """The records of the finished runs among the rows ``gpo compare`` loaded.

    Args:
        rows: :class:`gpo.report.compare.CompareRow` objects.

    Returns:
        The records, and the paths of the runs left out because they have not finished.
    """
    records, unfinished = [], []
    for row in rows:
        run = row.run
        if run.summary is None:
            unfinished.append(str(run.path))
            continue
        method = method_of_run(run.method, run.args)
        records.append(record_from_summary(run.summary, method=method, run_dir=str(run.path)))
    return records, unfinished


def units(records: Iterable[RunRecord]) -> dict[tuple[str, str, int], RunRecord]:
    """One record per (method, task, seed); repeated runs averaged score by score."""
    groups: dict[tuple[str, str, int], list[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.method, r.task, r.seed), []).append(r)
    out = {}
    for key, group in groups.items():
        if len(group) == 1:
            out[key] = group[0]
            continue

        def mean_of(attr: str) -> Optional[float]:
            vals = [getattr(g, attr) for g in group if getattr(g, attr) is not None]
            return statistics.fmean(vals) if vals else None

        out[key] = RunRecord(
            task=key[1], method=key[0], seed=key[2], initial_test=mean_of("initial_test"), final_test=mean_of("final_test")
        )
    return out
