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
from pathlib import Path
from typing import Any, Generator, Iterable, Optional

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
    entries it was writing. In an event loop, :meth:`aput_many` groups the writes of the
    calls that finish in the same turn of the loop into one transaction; each caller
    resumes only once its entries are committed, so nothing counts as answered before it
    is stored.

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
            self._conn = sqlite3.connect(
                str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._init_schema()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise ConfigError(
                f"cannot open the response cache {self.path}: {exc}",
                hint="set GPO_HOME to a writable folder, or delete the damaged file",
            ) from exc
        self._lock = threading.Lock()
        self._pending: list[tuple[dict[str, Any], asyncio.Future]] = []
        self._pending_loop: Optional[asyncio.AbstractEventLoop] = None

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
        with self._lock:
            if len(keys) == 1:  # the usual call: one sample
                row = self._conn.execute("SELECT value FROM responses WHERE key = ?", keys).fetchone()
                return {keys[0]: json.loads(row[0])} if row else {}
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
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
        """Like :meth:`put_many`, committed in one transaction with the writes of every call
        that reaches this point in the same turn of the event loop (a group commit); returns
        once committed.

        A caller cancelled while it waits does not stop the write.
        """
        if items:
            await asyncio.shield(self.enqueue(items))

    def enqueue(self, items: dict[str, Any]) -> asyncio.Future:
        """Queues values for this turn's group commit; the future is done once they are
        committed (see :meth:`aput_many`)."""
        loop = asyncio.get_running_loop()
        if not self._pending or self._pending_loop is not loop:
            if self._pending:  # left by an event loop that ended before its turn came
                self._commit_pending()
            self._pending_loop = loop
            loop.call_soon(self._commit_pending)
        done = loop.create_future()
        self._pending.append((items, done))
        return done

    def _commit_pending(self) -> None:
        batch, self._pending = self._pending, []
        merged: dict[str, Any] = {}
        for items, _ in batch:
            for key, value in items.items():
                merged.setdefault(key, value)
        error: Optional[BaseException] = None
        try:
            self.put_many(merged)
        except Exception as exc:  # each caller gets the error
            error = exc
        for _, done in batch:
            if done.done() or done.get_loop().is_closed():
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Closes the connection (the last one to close folds the write-ahead log into the file)."""
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()


async def put_async(cache: Any, items: dict[str, Any]) -> None:
    """Stores values in any cache: by its group commit when it has one (see
    :meth:`ResponseCache.aput_many`), else at once."""
    if hasattr(cache, "aput_many"):
        await cache.aput_many(items)
    else:
        cache.put_many(items)


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


async def get_many_async(cache: Any, keys: list[str]) -> dict[str, Any]:
    """``cache.get_many(keys)``, awaited when the cache has an ``aget_many`` (so that a remote
    cache does not hold up the event loop's other requests while it answers)."""
    aget = getattr(cache, "aget_many", None)
    return await aget(keys) if aget is not None else cache.get_many(keys)


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

    def _lookups(self, keys: list[str]) -> Generator[tuple[Any, list[str]], Optional[dict[str, Any]], dict[str, Any]]:
        """Asks each layer after the first for the keys still missing: yields ``(layer, keys)``,
        takes the layer's hits back (copied into the first layer), returns all that was found."""
        found = self.layers[0].get_many(keys)
        for layer in self.layers[1:]:
            missing = [k for k in keys if k not in found]
            if not missing:
                break
            hits = yield layer, missing
            if hits:
                self.layers[0].put_many(hits)
                found.update(hits)
        return found

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        lookups = self._lookups(list(keys))
        try:
            layer, missing = next(lookups)
            while True:
                layer, missing = lookups.send(layer.get_many(missing))
        except StopIteration as done:
            return done.value

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """:meth:`get_many` that awaits the layers that answer asynchronously (a remote cache)."""
        lookups = self._lookups(list(keys))
        try:
            layer, missing = next(lookups)
            while True:
                layer, missing = lookups.send(await get_many_async(layer, missing))
        except StopIteration as done:
            return done.value

    def get(self, key: str) -> Optional[Any]:
        return self.get_many([key]).get(key)

    def put_many(self, items: dict[str, Any]) -> None:
        for layer in self.layers:
            layer.put_many(items)

    async def aput_many(self, items: dict[str, Any]) -> None:
        """Writes every layer, in the same turn's group commits where they have them."""
        queued = []
        for layer in self.layers:
            if hasattr(layer, "enqueue"):
                queued.append(layer.enqueue(items))
            else:
                layer.put_many(items)
        for done in queued:
            await asyncio.shield(done)

    def __len__(self) -> int:
        return len(self.layers[0])
