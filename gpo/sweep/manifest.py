"""``manifest.json``: a sweep's plan and where each of its runs stands.

Only the process that drives the sweep writes the manifest, and always atomically, so a
crash leaves the previous version. The manifest is a record for people and tools; the
truth about a run is its directory: ``summary.json`` means finished, ``checkpoint.json``
without a summary means interrupted (and resumable). :meth:`Manifest.refresh` reads the
run directories back, so a manifest left by a killed sweep is corrected on the next start.

Layout::

    {"format": 1, "created": ISO time, "updated": ISO time,
     "plan": {"tasks", "methods", "seeds", "grid", "options"},
     "runs": [{"name", "dir", "task", "method", "preset", "parts", "seed",
               "status": "pending" | "running" | "finished" | "failed" | "stopped",
               "action": "started" | "resumed" | null, "error", "stopped_reason",
               "host", "node", "pid", "started", "ended", "seconds", "attempts",
               "retries"}]}

``host`` and ``node`` say where the run executed (``node`` is the Ray node id on a
cluster, ``null`` on the local pool); ``attempts`` counts every start of the run over all
invocations, and ``retries`` the restarts of its last invocation after its worker was lost.
A ``stopped`` run was halted unfinished by the sweep's shared budget and continues on the
next invocation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

from gpo.errors import ConfigError, DataError
from gpo.fileio import atomic_output
from gpo.sweep.plan import RunSpec, SweepPlan

__all__ = ["MANIFEST_FILE", "STATUSES", "Manifest", "now_iso"]

MANIFEST_FILE = "manifest.json"
FORMAT = 1
STATUSES = ("pending", "running", "finished", "failed", "stopped")


def now_iso(t: Optional[float] = None) -> str:
    """A local time stamp with its UTC offset, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() if t is None else t))


class Manifest:
    """The manifest of one sweep directory, held in memory and saved on every change.

    Args:
        root: The sweep directory.
        plan: The sweep's plan.
        runs: One entry per run (see the module's layout).
        created: When the sweep was first planned.
    """

    def __init__(self, root: Path, plan: SweepPlan, runs: list[dict[str, Any]], created: str) -> None:
        self.root = Path(root)
        self.plan = plan
        self.runs = runs
        self.created = created

    # -- creating and reading ------------------------------------------------------------------

    @classmethod
    def new(cls, root: Path, plan: SweepPlan) -> "Manifest":
        """A manifest with every run of ``plan`` pending (not saved yet)."""
        runs = []
        for spec in plan.runs(str(root)):
            runs.append(
                {
                    "name": spec.name,
                    "dir": str(Path(spec.run_dir).relative_to(root)),
                    "task": spec.task,
                    "method": spec.method,
                    "preset": spec.preset,
                    "parts": dict(spec.parts),
                    "seed": spec.seed,
                    "status": "pending",
                    "action": None,
                    "error": None,
                    "stopped_reason": None,
                    "host": None,
                    "node": None,
                    "pid": None,
                    "started": None,
                    "ended": None,
                    "seconds": None,
                    "attempts": 0,
                    "retries": 0,
                }
            )
        return cls(Path(root), plan, runs, now_iso())

    @classmethod
    def load(cls, root: Path) -> "Manifest":
        """Reads ``ROOT/manifest.json``.

        Raises:
            DataError: Missing, not JSON, or not a sweep manifest.
        """
        path = Path(root) / MANIFEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{root} is not a sweep directory (no {MANIFEST_FILE})", hint="give the --out folder of a `gpo sweep`") from None
        except ValueError as exc:
            raise DataError(f"{path} is damaged: {exc}") from exc
        try:
            if data.get("format") != FORMAT:
                raise DataError(f"{path} has format {data.get('format')!r}; this gpo reads format {FORMAT}")
            plan = SweepPlan.from_dict(data["plan"])
            runs = list(data["runs"])
            created = str(data.get("created") or now_iso())
        except (KeyError, TypeError, AttributeError, ConfigError) as exc:
            raise DataError(f"{path} is not a sweep manifest: {exc}") from exc
        return cls(Path(root), plan, runs, created)

    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / MANIFEST_FILE).exists()

    # -- state ------------------------------------------------------------------------------------

    def entry(self, name: str) -> dict[str, Any]:
        for r in self.runs:
            if r["name"] == name:
                return r
        raise KeyError(name)

    def specs(self) -> list[RunSpec]:
        """The runs as worker specs, with absolute run directories."""
        by_name = {s.name: s for s in self.plan.runs(str(self.root.resolve()))}
        return [by_name[r["name"]] for r in self.runs]

    def refresh(self) -> None:
        """Sets each run's status from its directory: finished when it holds ``summary.json``.

        A run recorded as running or finished whose directory has no summary (the sweep was
        killed, or the folder was removed) goes back to pending; a failed run stays failed
        until it is tried again.
        """
        for r in self.runs:
            done = (self.root / r["dir"] / "summary.json").exists()
            if done:
                r["status"] = "finished"
                r["error"] = None
            elif r["status"] in ("running", "finished"):
                r["status"] = "pending"

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for r in self.runs:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    def mark_running(self, name: str, host: str, pid: int, started: float, node: Optional[str] = None) -> None:
        r = self.entry(name)
        r.update(status="running", host=host, node=node, pid=pid, started=now_iso(started), ended=None, seconds=None, error=None)

    def mark_done(self, outcome: Any) -> None:
        """Records a :class:`gpo.sweep.worker.RunOutcome`."""
        r = self.entry(outcome.name)
        r.update(
            status=outcome.status,
            action=outcome.action,
            error=outcome.error,
            stopped_reason=outcome.stopped_reason,
            host=outcome.host,
            node=outcome.node,
            pid=outcome.pid,
            started=now_iso(outcome.started),
            ended=now_iso(outcome.ended),
            seconds=round(outcome.ended - outcome.started, 3),
            attempts=int(r.get("attempts") or 0) + (0 if outcome.action == "skipped" else outcome.attempts),
            retries=outcome.attempts - 1,
        )

    def mark_pending(self, name: str) -> None:
        r = self.entry(name)
        if r["status"] == "running":
            r.update(status="pending", ended=None, seconds=None)

    # -- writing ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created": self.created,
            "updated": now_iso(),
            "plan": self.plan.to_dict(),
            "runs": self.runs,
        }

    def save(self) -> Path:
        """Writes ``ROOT/manifest.json`` atomically."""
        path = self.root / MANIFEST_FILE
        with atomic_output(path) as f:
            f.write(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path
