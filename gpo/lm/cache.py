"""A persistent response cache in SQLite, safe to share between processes.

Keys are whole-request hashes (see :meth:`gpo.lm.types.Request.sample_key`), so a change of
model, endpoint, messages, temperature, token cap, seed or sample index is a different entry,
while credentials never enter the key or the file.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable, Optional

from gpo.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """Request hash → response, stored in one SQLite file.

    Write-ahead logging and a busy time-out let several processes read and write the same
    file at once; a write is one short transaction, so a killed process loses at most the
    entries it was writing. In an event loop, :meth:`aput_many` commits on a writer thread
    and groups the writes that arrive meanwhile into one transaction; each caller resumes
    only once its entries are committed, so nothing counts as answered before it is stored.

    Args:
        path: The SQLite file (created with its folder if missing).

    Example:
        >>> import tempfile, os
        >>> c = ResponseCache(os.path.join(tempfile.mkdtemp(), "c.db"))
        >>> c.put_many({"k": {"text": "hi"}})
        >>> c.get_many(["k", "missing"])
        {'k': {'text': 'hi'}}
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect()
            self._init_schema()
            self._reads = self._connect()  # reads never wait for the writer thread's commit
        except (sqlite3.DatabaseError, OSError) as exc:
            raise ConfigError(
                f"cannot open the response cache {self.path}: {exc}",
                hint="set GPO_HOME to a writable folder, or delete the damaged file",
            ) from exc
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._pending: list[tuple[dict[str, Any], asyncio.Future]] = []
        self._pending_lock = threading.Lock()
        self._writing = False
        self._executor: Optional[ThreadPoolExecutor] = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _init_schema(self) -> None:
        # Switching a new file to WAL can fail with "locked" at once (no busy wait) while
        # another process does the same; retry for a while.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of those keys that are present."""
        keys = list(keys)
        if not keys:
            return {}
        out: dict[str, Any] = {}
        with self._read_lock:
            if len(keys) == 1:  # the usual call: one sample
                row = self._reads.execute("SELECT value FROM responses WHERE key = ?", keys).fetchone()
                return {keys[0]: json.loads(row[0])} if row else {}
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._reads.execute(
                    f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk
                ).fetchall()
                out.update((k, json.loads(v)) for k, v in rows)
        return out

    def get(self, key: str) -> Optional[Any]:
        """The stored value of ``key``, or ``None``."""
        return self.get_many([key]).get(key)

    def put_many(self, items: dict[str, Any]) -> None:
        """Stores values in one transaction (an existing key keeps its first value)."""
        if not items:
            return
        now = time.time()
        rows = [(k, json.dumps(v, ensure_ascii=False), now) for k, v in items.items()]
        with self._lock:
            if len(rows) == 1:  # one statement is its own transaction
                self._conn.execute("INSERT OR IGNORE INTO responses (key, value, created) VALUES (?, ?, ?)", rows[0])
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO responses (key, value, created) VALUES (?, ?, ?)", rows
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    async def aput_many(self, items: dict[str, Any]) -> None:
        """Like :meth:`put_many`, returning once the values are committed; the commit runs
        on the cache's writer thread together with the writes that came while the previous
        one ran (a group commit), so the event loop neither waits for the disk nor pays a
        transaction per call.

        A caller cancelled while it waits does not stop the write.
        """
        if not items:
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self._pending_lock:
            self._pending.append((items, done))
            start, self._writing = not self._writing, True
        if start:
            self._writer().submit(self._drain)
        await asyncio.shield(done)

    def _writer(self) -> ThreadPoolExecutor:
        with self._pending_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="gpo-cache-writer")
            return self._executor

    def _drain(self) -> None:
        """The writer thread: commits what is pending, batch after batch, then stops."""
        while True:
            with self._pending_lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._writing = False
                    return
            merged: dict[str, Any] = {}
            for items, _ in batch:
                for key, value in items.items():
                    merged.setdefault(key, value)
            error: Optional[BaseException] = None
            try:
                self.put_many(merged)
            except BaseException as exc:  # each caller gets the error
                error = exc
            loops: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
            for _, done in batch:
                loops.setdefault(done.get_loop(), []).append(done)
            for loop, futures in loops.items():
                try:
                    loop.call_soon_threadsafe(_settle, futures, error)
                except RuntimeError:  # that event loop has ended
                    pass

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Closes the connection (the last one to close folds the write-ahead log into the file)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)  # the pending writes first
            self._executor = None
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()
        with self._read_lock:
            self._reads.close()


async def put_async(cache: Any, items: dict[str, Any]) -> None:
    """Stores values in any cache: by its group commit when it has one (see
    :meth:`ResponseCache.aput_many`), else at once."""
    if hasattr(cache, "aput_many"):
        await cache.aput_many(items)
    else:
        cache.put_many(items)


def _settle(futures: list[asyncio.Future], error: Optional[BaseException]) -> None:
    for done in futures:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


_default: dict[Path, ResponseCache] = {}
_default_lock = threading.Lock()


def default_cache() -> ResponseCache:
    """The process-wide cache at ``$GPO_HOME/cache.db`` (opened on first use)."""
    from gpo.config import gpo_home

    path = gpo_home() / "cache.db"
    with _default_lock:
        if path not in _default:
            _default[path] = ResponseCache(path)
        return _default[path]


class LayeredCache:
    """Several caches read in order and written together.

    A run directory's own record comes first and the shared cache under ``GPO_HOME``
    second: a hit in the shared cache is copied into the record, so the record ends up
    holding every response the run used (what replay and resume rely on).

    Args:
        layers: The caches, the record first.
    """

    def __init__(self, layers: list[ResponseCache]) -> None:
        if not layers:
            raise ValueError("a layered cache needs at least one layer")
        self.layers = layers

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        keys = list(keys)
        found = self.layers[0].get_many(keys)
        for layer in self.layers[1:]:
            missing = [k for k in keys if k not in found]
            if not missing:
                break
            hits = layer.get_many(missing)
            if hits:
                self.layers[0].put_many(hits)
                found.update(hits)
        return found

    def get(self, key: str) -> Optional[Any]:
        return self.get_many([key]).get(key)

    def put_many(self, items: dict[str, Any]) -> None:
        for layer in self.layers:
            layer.put_many(items)

    async def aput_many(self, items: dict[str, Any]) -> None:
        """Writes every layer, each with its group commit where it has one."""
        for layer in self.layers:
            await put_async(layer, items)

    def __len__(self) -> int:
        return len(self.layers[0])
