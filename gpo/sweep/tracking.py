"""Experiment tracking: a run directory as MLflow parameters, step metrics and artifacts; a
sweep as an MLflow parent run with its runs nested.

What a run logs is read from its directory, after it finished, by the process that drives
the sweep, so every backend logs the same way and workers need no tracking server:

- parameters: task, method, preset, parts, protocol, models, seed and the run's limits;
- metrics per step ``t``: ``best_eval_score`` (best so far), ``eval_score`` (the prompt
  chosen at ``t``), ``edit_budget`` and ``edit_distance`` (the schedule's word budget and
  the mean realised change of the step's candidates), and ``calls``, ``tokens`` and
  ``cost_usd`` spent up to ``t``;
- final metrics: ``initial_eval``, ``initial_test``, ``best_eval``, ``best_test``,
  ``steps_completed``, ``seconds``, ``edit_budget_rate``;
- artifacts: ``summary.json``, ``trajectory.jsonl`` and ``report.html`` when written.

Nothing secret is logged: credentials in URLs are masked, and the values of environment
variables named like keys (``*_KEY``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``) are
replaced wherever they would appear, artifacts included. The parameter and metric functions
are pure; :class:`MlflowTracker` is the only code that imports MLflow (the ``mlflow`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from gpo.errors import ConfigError

__all__ = ["INSTALL_HINT", "MlflowTracker", "redact", "require_mlflow", "run_metrics", "run_params", "tracker"]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'gpo[mlflow]'"
ARTIFACTS = ("summary.json", "trajectory.jsonl", "report.html")
MASK = "***"

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_URL_USER = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
_QUERY_SECRET = re.compile(r"(?P<name>[?&](?:api[_-]?key|key|token|access_token|secret|password)=)[^&\s]+", re.IGNORECASE)


def require_mlflow() -> None:
    """Raises :class:`ConfigError` with the install command when MLflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError("--mlflow needs MLflow, which is not installed", hint=INSTALL_HINT)


def _secret_values(environ: Mapping[str, str]) -> list[str]:
    return sorted({v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= 8}, key=len, reverse=True)


def redact(text: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """``text`` with URL credentials, secret query parameters and key-like environment values masked.

    >>> redact("openai:m@https://user:pw@host/v1?api_key=abc&x=1", {})
    'openai:m@https://***@host/v1?api_key=***&x=1'
    >>> redact("key sk-12345678 here", {"OPENAI_API_KEY": "sk-12345678"})
    'key *** here'
    """
    out = _URL_USER.sub(lambda m: m.group("scheme") + MASK + "@", text)
    out = _QUERY_SECRET.sub(lambda m: m.group("name") + MASK, out)
    for value in _secret_values(os.environ if environ is None else environ):
        out = out.replace(value, MASK)
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def run_params(summary: Mapping[str, Any], config: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, str]:
    """A finished run's MLflow parameters (text, redacted).

    Args:
        summary: The run's ``summary.json``.
        config: The ``run`` section of its ``config.json``.
        entry: Its manifest entry (method label, preset, parts).
    """
    models = summary.get("models") or {}
    params = {
        "task": summary.get("task"),
        "method": entry.get("method") or summary.get("method"),
        "preset": entry.get("preset"),
        "parts": entry.get("parts") or {},
        "protocol": config.get("protocol"),
        "seed": summary.get("seed"),
        "task_model": models.get("task"),
        "optimizer_model": models.get("optimizer"),
        "embedder": models.get("embedder"),
        "steps": config.get("steps"),
        "eval_limit": config.get("eval_limit"),
        "test_limit": config.get("test_limit"),
        "budget": config.get("budget"),
        "dry_run": summary.get("dry_run"),
    }
    return {k: redact(_text(v)) for k, v in params.items() if v is not None}


def _cumulative_usage(by_step: Mapping[str, Mapping[str, Mapping[str, Any]]], steps: Iterable[int]) -> dict[int, dict[str, float]]:
    """Calls, tokens and USD spent up to each step (set-up and step 0 count from the start)."""
    def step_of(key: str) -> int:
        return int(key) if key.isdigit() else 0

    out: dict[int, dict[str, float]] = {}
    for t in steps:
        totals = {"calls": 0.0, "tokens": 0.0, "cost_usd": 0.0}
        for key, roles in by_step.items():
            if step_of(key) > t:
                continue
            for u in roles.values():
                totals["calls"] += u.get("calls") or 0
                totals["tokens"] += (u.get("input_tokens") or 0) + (u.get("output_tokens") or 0)
                totals["cost_usd"] += u.get("cost_usd") or 0.0
        out[t] = totals
    return out


def run_metrics(summary: Mapping[str, Any], history: Sequence[Any], candidates: Sequence[Any]) -> list[tuple[str, float, int]]:
    """A run's metrics as ``(key, value, step)``: per step, then final (at the last step).

    Args:
        summary: The run's ``summary.json``.
        history: Its trajectory entries (``step``, ``score``), step 0 first.
        candidates: Its candidates (``step``, ``edit_budget``, ``edit_distance``, …).

    >>> from types import SimpleNamespace as E
    >>> h = [E(step=0, score=0.5), E(step=1, score=0.4), E(step=2, score=0.7)]
    >>> [m for m in run_metrics({}, h, []) if m[0] == "best_eval_score"]
    [('best_eval_score', 0.5, 0), ('best_eval_score', 0.5, 1), ('best_eval_score', 0.7, 2)]
    """
    out: list[tuple[str, float, int]] = []
    best: Optional[float] = None
    steps = [e.step for e in history]
    for e in history:
        if e.score is not None:
            best = e.score if best is None else max(best, e.score)
            out.append(("eval_score", float(e.score), e.step))
        if best is not None:
            out.append(("best_eval_score", float(best), e.step))
        scored = [c for c in candidates if c.step == e.step and c.eval_score is not None and not c.duplicate]
        budgets = [c.edit_budget for c in scored if c.edit_budget is not None]
        distances = [c.edit_distance for c in scored if c.edit_distance is not None]
        if budgets:
            out.append(("edit_budget", float(budgets[0]), e.step))
        if distances:
            out.append(("edit_distance", sum(distances) / len(distances), e.step))
    for t, totals in _cumulative_usage(summary.get("usage_by_step") or {}, steps).items():
        out.extend((k, float(v), t) for k, v in totals.items())
    last = steps[-1] if steps else 0
    scores = summary.get("scores") or {}
    final = {
        "initial_eval": (scores.get("initial") or {}).get("eval"),
        "initial_test": (scores.get("initial") or {}).get("test"),
        "best_eval": (scores.get("best") or {}).get("eval"),
        "best_test": (scores.get("best") or {}).get("test"),
        "steps_completed": summary.get("steps_completed"),
        "seconds": summary.get("seconds"),
        "edit_budget_rate": (summary.get("edit_budget") or {}).get("rate"),
    }
    out.extend((k, float(v), last) for k, v in final.items() if v is not None)
    return out


def tracker(uri: Optional[str], experiment: str) -> Optional["MlflowTracker"]:
    """The logger of the ``--mlflow [URI]`` option: ``None`` without it, MLflow's default URI for ``""``."""
    return None if uri is None else MlflowTracker(uri or None, experiment)


class MlflowTracker:
    """Logs a sweep to MLflow: one parent run per sweep directory, one nested run per run.

    Logging again is safe: the parent is found by its ``gpo.sweep`` tag and a run already
    logged (tag ``gpo.run``) is skipped, so a resumed sweep adds only what is new.

    Args:
        tracking_uri: MLflow's tracking URI (``None``: MLflow's default).
        experiment: The experiment's name (created when missing).

    Raises:
        ConfigError: MLflow is not installed, or refuses the tracking URI.
    """

    def __init__(self, tracking_uri: Optional[str], experiment: str = "gpo") -> None:
        require_mlflow()
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            self.client = MlflowClient(tracking_uri)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        except MlflowException as exc:
            first = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else type(exc).__name__
            raise ConfigError(f"MLflow cannot use {tracking_uri or 'its default tracking URI'}: {first}") from exc
        self._parent: Optional[str] = None
        self._logged: set[str] = set()

    def parent(self, manifest: Any) -> str:
        """The id of the sweep's parent run (found, or created with the plan as parameters)."""
        if self._parent is not None:
            return self._parent
        key = str(Path(manifest.root).resolve())
        found = self.client.search_runs([self.experiment_id], filter_string=f"tags.`gpo.sweep` = '{key}'", max_results=1)
        if found:
            self._parent = found[0].info.run_id
            children = self.client.search_runs(
                [self.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{self._parent}'", max_results=50000
            )
            self._logged = {r.data.tags.get("gpo.run") for r in children if r.info.status == "FINISHED"}
            return self._parent
        from mlflow.entities import Param

        run = self.client.create_run(self.experiment_id, run_name=Path(key).name, tags={"gpo.sweep": key, "gpo.kind": "sweep"})
        plan = manifest.plan.to_dict()
        options = plan.pop("options")
        params = {**{k: _text(v) for k, v in plan.items()}, **{f"option.{k}": _text(v) for k, v in options.items() if v is not None}}
        self.client.log_batch(run.info.run_id, params=[Param(k, redact(v)[:6000]) for k, v in params.items()])
        self._parent = run.info.run_id
        return self._parent

    def log_run(self, manifest: Any, entry: Mapping[str, Any]) -> Optional[str]:
        """Logs one finished run as a nested run; returns its id (``None``: logged before, or failed).

        A tracking server that fails is reported as a warning; the sweep goes on.
        """
        try:
            return self._log_run(manifest, entry)
        except Exception as exc:  # the sweep's results stay on disk; --mlflow again logs what is missing
            log.warning("could not log %s to MLflow: %s", entry.get("name"), exc)
            return None

    def _log_run(self, manifest: Any, entry: Mapping[str, Any]) -> Optional[str]:
        parent = self.parent(manifest)
        if entry["name"] in self._logged:
            return None
        run_id = self.log_directory(Path(manifest.root) / entry["dir"], entry, parent=parent)
        self._logged.add(entry["name"])
        return run_id

    def log_directory(self, run_dir: Path, entry: Optional[Mapping[str, Any]] = None, *, parent: Optional[str] = None) -> str:
        """Logs a finished run directory as one MLflow run; returns its id.

        Args:
            run_dir: The run directory.
            entry: Its sweep manifest entry (name, method label, parts, host, node), if any.
            parent: The sweep's parent run, to nest under.
        """
        from mlflow.entities import Metric, Param

        from gpo.runs.record import RunRecord

        recorded = RunRecord(run_dir).read()
        summary = recorded.summary or {}
        entry = entry or {"name": Path(run_dir).name}
        tags = {"gpo.run": entry["name"], "gpo.kind": "run", "gpo.host": str(entry.get("host")), "gpo.node": str(entry.get("node"))}
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        run_id = self.client.create_run(self.experiment_id, run_name=entry["name"], tags=tags).info.run_id
        now = int(time.time() * 1000)
        params = run_params(summary, recorded.config.get("run") or {}, entry)
        metrics = [Metric(k, v, now, step) for k, v, step in run_metrics(summary, recorded.history, recorded.candidates)]
        self.client.log_batch(run_id, params=[Param(k, v[:6000]) for k, v in params.items()])
        for start in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 metrics a batch
            self.client.log_batch(run_id, metrics=metrics[start : start + 1000])
        self._log_files(run_id, [recorded.path / name for name in ARTIFACTS])
        self.client.set_terminated(run_id, "FINISHED")
        return run_id

    def _log_files(self, run_id: str, paths: Iterable[Path]) -> None:
        """Logs copies of the files that exist, with anything secret masked."""
        with tempfile.TemporaryDirectory(prefix="gpo-mlflow-") as tmp:
            for path in paths:
                if path.is_file():
                    copy = Path(tmp) / path.name
                    copy.write_text(redact(path.read_text(encoding="utf-8")), encoding="utf-8")
                    self.client.log_artifact(run_id, str(copy))

    def log_sweep(self, manifest: Any, paths: Sequence[Path]) -> None:
        """Logs the finished runs not yet logged, and the sweep's tables on the parent run."""
        try:
            for entry in manifest.runs:
                if entry["status"] == "finished":
                    self._log_run(manifest, entry)
            parent = self.parent(manifest)
            from mlflow.entities import Metric

            counts = manifest.counts()
            now = int(time.time() * 1000)
            self.client.log_batch(parent, metrics=[Metric(f"runs_{k}", float(v), now, 0) for k, v in counts.items()])
            self._log_files(parent, [Path(p) for p in paths])
            if counts["finished"] == len(manifest.runs):
                self.client.set_terminated(parent, "FINISHED")
        except Exception as exc:
            log.warning("could not log the sweep to MLflow: %s", exc)
