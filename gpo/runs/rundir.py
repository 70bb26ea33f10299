"""The run directory: every file written atomically (temporary file, then rename).

Layout::

    config.json          how the run was set up (enough to rebuild it)
    state.json           optimizer state after the last completed step
    trajectory.jsonl     one line per candidate prompt of every step
    meta_prompts.jsonl   every optimizer call: messages and completions
    usage.jsonl          one line per model call (role, tokens, latency, cache hit, cost)
    results/*.jsonl      per-example results of the initial and best prompts
    summary.json         the outcome: prompts, scores, steps, stop reason, usage per role
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from gpo.errors import ConfigError, DataError
from gpo.fileio import atomic_output

log = logging.getLogger(__name__)


def default_run_dir(task: str, method: str, *, dry_run: bool = False) -> Path:
    """``$GPO_HOME/runs/<time>-<task>-<method>``: a new folder name for a run.

    A dry run goes to ``$GPO_HOME/runs/dry-runs/`` instead, so that its scores (a fake
    model's) never sit among real runs, e.g. in ``gpo compare ~/.cache/gpo/runs``.
    """
    from gpo.config import gpo_home

    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = task.replace("/", "_").replace(":", "_").replace("?", "_")[:60]
    folder = gpo_home() / "runs" / ("dry-runs" if dry_run else "")
    base = folder / f"{stamp}-{safe}-{method}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def undo_footprint(path: Path) -> Callable[[], None]:
    """Notes what is at ``path`` now; the function returned removes what was added since.

    A run that cannot start (a bad model spec, a missing key) must leave nothing behind:
    a folder that did not exist is removed whole, with the empty parents made for it;
    in a folder that existed, only the new entries are removed.
    """
    path = Path(path)
    if path.is_dir():
        before = {p.name for p in path.iterdir()}

        def remove_new() -> None:
            for entry in path.iterdir():
                if entry.name in before:
                    continue
                try:
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
                except OSError as exc:  # the error that stopped the start matters more
                    log.warning("could not remove %s: %s", entry, exc)

        return remove_new
    missing = [path]
    while not missing[-1].parent.exists() and missing[-1].parent != missing[-1]:
        missing.append(missing[-1].parent)

    def remove_all() -> None:
        shutil.rmtree(path, ignore_errors=True)
        for parent in missing[1:]:
            try:
                parent.rmdir()  # only when empty: another run may have put its folder there
            except OSError:
                break

    return remove_all


class RunDir:
    """A run's folder.

    Args:
        path: The folder (created when missing).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the run directory {self.path}: {exc}") from exc

    def file(self, name: str) -> Path:
        return self.path / name

    def _atomic_write(self, name: str, text: str) -> Path:
        target = self.file(name)
        with atomic_output(target) as f:
            f.write(text)
        return target

    def write_json(self, name: str, data: Any) -> Path:
        """Writes one JSON document atomically."""
        return self._atomic_write(name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def write_jsonl(self, name: str, rows: Iterable[Any]) -> Path:
        """Writes a JSON-lines file atomically (the whole file at once)."""
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return self._atomic_write(name, text)

    def append_jsonl(self, name: str, rows: Iterable[Any]) -> Path:
        """Appends rows to a JSON-lines file and flushes them to disk before returning."""
        target = self.file(name)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        with open(target, "a", encoding="utf-8") as f:
            if text:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        return target

    def read_jsonl_prefix(self, name: str, count: int) -> list[Any]:
        """The first ``count`` rows of an append-only JSON-lines file; cuts the rest away.

        Rows past ``count`` were appended by a step that did not finish (its checkpoint was
        never written), so they are removed from the file too.

        Raises:
            DataError: The file holds fewer than ``count`` complete rows.
        """
        path = self.file(name)
        rows: list[Any] = []
        kept = 0
        try:
            with open(path, "rb") as f:
                for line in f:
                    if len(rows) == count:
                        break
                    if not line.endswith(b"\n"):
                        break
                    rows.append(json.loads(line))
                    kept += len(line)
        except FileNotFoundError:
            pass
        except ValueError as exc:
            raise DataError(f"{path} is damaged: {exc}", hint="the run cannot resume from it; start a new run") from exc
        if len(rows) < count:
            raise DataError(
                f"{path} holds {len(rows)} complete rows where the checkpoint counts {count}",
                hint="the run cannot resume from it; start a new run",
            )
        if path.exists() and path.stat().st_size != kept:
            with open(path, "r+b") as f:
                f.truncate(kept)
        return rows

    def read_json(self, name: str) -> Any:
        """Reads a JSON document.

        Raises:
            DataError: Missing or not valid JSON (a damaged run directory).
        """
        path = self.file(name)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DataError(f"{path} is missing", hint="is this a gpo run directory?") from exc
        except ValueError as exc:
            raise DataError(f"{path} is damaged: {exc}", hint="the run directory cannot be used as is") from exc

    def read_jsonl(self, name: str) -> list[Any]:
        """Reads a JSON-lines file (empty list when missing)."""
        path = self.file(name)
        if not path.exists():
            return []
        rows = []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise DataError(f"{path}:{i} is damaged: {exc}") from exc
        return rows
