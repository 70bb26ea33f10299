"""What a run directory records while a run goes: usage as it happens, and every response."""

from __future__ import annotations

import json
import logging
import threading
from typing import Optional

from gpo.lm.budget import Budget
from gpo.lm.cache import LayeredCache, ResponseCache, default_cache
from gpo.lm.ledger import Ledger
from gpo.lm.shared import current_policy
from gpo.lm.types import Usage
from gpo.runs.rundir import RunDir

log = logging.getLogger(__name__)

USAGE_FILE = "usage.jsonl"
RECORD_FILE = "responses.db"


def read_usage(run_dir: RunDir) -> list[Usage]:
    """The usage records of a run; a line cut short by a crash is skipped."""
    path = run_dir.file(USAGE_FILE)
    if not path.exists():
        return []
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        try:
            records.append(Usage.from_dict(json.loads(line)))
        except ValueError:
            if i == len(lines) - 1:
                log.warning("ignoring a truncated last line of %s", path)
            else:
                raise
    return records


class RunSession:
    """Ties a run's models to its directory.

    - The ledger starts from the run's earlier usage records (after a crash) and appends
      every new record to ``usage.jsonl`` as soon as the call finishes.
    - The response cache is layered: the run's own ``responses.db`` first (the record that
      resume and replay use), then the shared cache under ``GPO_HOME`` when allowed.
    - The budget counts what the earlier records spent.

    Args:
        run_dir: The run directory (``None``: record nothing).
        budget: The run's budget.
        shared_cache: Also read and write the shared cache.
    """

    def __init__(self, run_dir: Optional[RunDir], *, budget: Budget, shared_cache: bool = True) -> None:
        self.run_dir = run_dir
        self.budget = budget
        self.shared_cache = shared_cache
        earlier = read_usage(run_dir) if run_dir is not None else []
        for r in earlier:
            budget.spend(r.role, calls=r.calls, tokens=r.input_tokens + r.output_tokens, cost=r.cost_usd)
        self._file = open(run_dir.file(USAGE_FILE), "a", encoding="utf-8") if run_dir is not None else None
        self._lock = threading.Lock()
        self.ledger = Ledger(earlier, on_record=self._append if self._file else None)
        self.record: Optional[ResponseCache] = (
            ResponseCache(run_dir.file(RECORD_FILE)) if run_dir is not None else None
        )

    def _append(self, record: Usage) -> None:
        line = json.dumps(record.to_dict(), ensure_ascii=False) + "\n"
        with self._lock:
            assert self._file is not None
            self._file.write(line)
            self._file.flush()

    def cache(self):
        """The cache the run's models use (``False`` when there is none)."""
        layers = [c for c in (self.record, self._shared() if self.shared_cache else None) if c is not None]
        if not layers:
            return False
        return layers[0] if len(layers) == 1 else LayeredCache(layers)

    @staticmethod
    def _shared():
        """The shared layer: the sweep's cache when a policy is set (a cluster run), else ``GPO_HOME``'s."""
        policy = current_policy()
        return policy if policy is not None else default_cache()

    def close(self) -> None:
        """Closes the usage file and the record (folding its write-ahead log into the file)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.record is not None:
            self.record.close()
            self.record = None
