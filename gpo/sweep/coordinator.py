"""What the driver of a cluster sweep holds for its workers: the run directories, the response
cache, the request slots per endpoint and the sweep's budget.

:class:`Coordinator` is a plain class; :mod:`gpo.sweep.cluster` makes it a Ray actor pinned
to the driver's node, so that it reads and writes the driver's disk whatever node a run
lands on. A worker talks to it through :class:`CoordinatorPolicy`, the
:class:`gpo.lm.shared.SharedPolicy` of the run's model calls. Nothing here imports Ray.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from gpo.errors import BudgetExceeded, ConfigError, SweepBudgetExceeded
from gpo.lm.budget import Budget, check_limit
from gpo.sweep.archive import pack_run, recover_run, unpack_run

__all__ = ["Coordinator", "CoordinatorPolicy", "SweepLimits"]

PUT_BATCH = 64
"""New responses a worker holds before it sends them to the driver's cache."""

_FIRST_WAIT = 0.005
_LONGEST_WAIT = 0.2


@dataclass(frozen=True)
class SweepLimits:
    """Limits on one invocation of a sweep, across all its runs and workers.

    Attributes:
        endpoint_concurrency: Requests in flight at once to one model endpoint (``None``: no
            cap beyond each run's own ``concurrency``).
        calls: Paid model requests (``None``: no limit).
        tokens: Tokens in and out.
        cost: USD.
    """

    endpoint_concurrency: Optional[int] = None
    calls: Optional[int] = None
    tokens: Optional[int] = None
    cost: Optional[float] = None

    def __post_init__(self) -> None:
        if self.endpoint_concurrency is not None and self.endpoint_concurrency < 1:
            raise ConfigError(f"the concurrency per endpoint must be at least 1, got {self.endpoint_concurrency}")
        for name in ("calls", "tokens", "cost"):
            if getattr(self, name) is not None:
                check_limit(getattr(self, name), f"--sweep-max-{name}")

    def budget(self) -> Budget:
        """The sweep's budget (empty when no limit is set).

        >>> SweepLimits(calls=3).budget().describe()
        ['3 model requests']
        """
        return Budget.from_options(self.calls, self.tokens, self.cost)

    @property
    def limited(self) -> bool:
        """Whether requests need a slot or count against a budget."""
        return self.endpoint_concurrency is not None or bool(self.budget())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SweepLimits":
        return cls(**{k: data.get(k) for k in ("endpoint_concurrency", "calls", "tokens", "cost")})


class Coordinator:
    """The driver's side of a cluster sweep (one Ray actor; its calls run one at a time).

    Args:
        run_dirs: Each run's directory on the driver, by run name.
        cache_path: The driver's response cache (``None``: none).
        limits: :meth:`SweepLimits.to_dict` of the invocation's limits.
    """

    def __init__(self, run_dirs: Mapping[str, str], cache_path: Optional[str], limits: Mapping[str, Any]) -> None:
        from gpo.lm.cache import ResponseCache

        self._dirs = {name: Path(d) for name, d in run_dirs.items()}
        self._cache = ResponseCache(cache_path) if cache_path else None
        self._limits = SweepLimits.from_dict(limits)
        self._budget = self._limits.budget()
        self._leases: dict[str, set[str]] = {}
        self._attempts: dict[str, int] = {}
        self._events: list[tuple] = []
        self._sealed: set[str] = set()

    # -- runs -------------------------------------------------------------------------------

    def begin(self, name: str, host: str, pid: int, node: Optional[str], started: float) -> tuple[int, Optional[str]]:
        """Records that an attempt of run ``name`` began; returns its number and, when the
        sweep's budget is spent, why it must not start."""
        self._attempts[name] = self._attempts.get(name, 0) + 1
        self._events.append((name, host, pid, started, node))
        return self._attempts[name], self.stop_reason()

    def events(self) -> list[tuple]:
        """The ``(name, host, pid, started, node)`` of the attempts begun since the last call."""
        out, self._events = self._events, []
        return out

    def attempts(self, name: str) -> int:
        return self._attempts.get(name, 0)

    def pull(self, name: str) -> bytes:
        """The driver's copy of a run directory, packed (``b""``: not begun)."""
        recover_run(self._dirs[name])  # a swap that a killed driver left half done
        return pack_run(self._dirs[name])

    def push(self, name: str, data: bytes) -> bool:
        """Stores a worker's checkpoint of a run on the driver, unless the run is sealed or finished."""
        if name in self._sealed or (self._dirs[name] / "summary.json").exists():
            return False
        unpack_run(data, self._dirs[name])
        return True

    def seal(self, name: str) -> None:
        """Refuses the run's checkpoints from now on: its task ended, the driver takes over."""
        self._sealed.add(name)

    # -- slots and budget ---------------------------------------------------------------------

    def stop_reason(self) -> Optional[str]:
        """Why no more requests may start (``None`` while the budget lasts)."""
        try:
            self._budget.check("sweep")
        except BudgetExceeded as exc:
            return f"sweep {exc.message}"
        return None

    def try_acquire(self, endpoint: str, lease: str) -> Any:
        """``True``: the slot is the caller's; ``False``: wait and ask again; text: stop."""
        reason = self.stop_reason()
        if reason is not None:
            return reason
        held = self._leases.setdefault(endpoint, set())
        cap = self._limits.endpoint_concurrency
        if cap is not None and len(held) >= cap:
            return False
        held.add(lease)
        return True

    def release(self, endpoint: str, lease: Optional[str], calls: int = 0, tokens: int = 0, cost: Optional[float] = 0.0) -> None:
        """Frees a slot (a lease never granted, or freed already, is ignored) and counts what it paid."""
        if lease is not None:
            self._leases.get(endpoint, set()).discard(lease)
        if calls or tokens or cost:
            self._budget.spend("sweep", calls=calls, tokens=tokens, cost=cost)

    def in_flight(self) -> dict[str, int]:
        return {endpoint: len(held) for endpoint, held in self._leases.items()}

    def spent(self) -> dict[str, float]:
        return {metric: self._budget.spent(metric) for metric in ("calls", "tokens", "cost")}

    # -- cache ------------------------------------------------------------------------------

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return self._cache.get_many(keys) if self._cache is not None else {}

    def put_many(self, items: dict[str, Any]) -> None:
        if self._cache is not None:
            self._cache.put_many(items)


class CoordinatorPolicy:
    """A run's :class:`gpo.lm.shared.SharedPolicy`, answered by the sweep's coordinator actor.

    Each actor call costs the worker a millisecond or more of CPU, as much as a model call's
    own bookkeeping, so the cache is reached in batches: lookups started in the same turn of
    the event loop (an evaluation's concurrent examples) go as one call, and new responses
    are sent every :data:`PUT_BATCH` entries and on :meth:`flush` (at each checkpoint and at
    the end of the run).

    Args:
        handle: The coordinator's Ray actor handle.
        limits: The invocation's limits (without any, no request waits for the actor).
    """

    def __init__(self, handle: Any, limits: SweepLimits) -> None:
        self._handle = handle
        self._limited = limits.limited
        self._lookups: list[tuple[list[str], asyncio.Future]] = []
        self._puts: dict[str, Any] = {}

    async def acquire(self, endpoint: str) -> Optional[str]:
        if not self._limited:
            return None
        lease = uuid.uuid4().hex
        wait = _FIRST_WAIT
        try:
            while True:
                answer = await self._handle.try_acquire.remote(endpoint, lease)
                if answer is True:
                    return lease
                if isinstance(answer, str):
                    raise SweepBudgetExceeded(answer, hint="raise the --sweep-max-* limit and run the same command to continue")
                await asyncio.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT)
        except asyncio.CancelledError:  # the slot may have been granted as the wait was cancelled
            self._handle.release.remote(endpoint, lease)
            raise

    def release(self, endpoint: str, lease: Optional[str] = None, *, calls: int = 0, tokens: int = 0, cost: Optional[float] = 0.0) -> None:
        if self._limited:
            self._handle.release.remote(endpoint, lease, calls, tokens, cost)

    def _unsent(self, keys: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
        """The responses among ``keys`` not sent yet, and the keys to ask the driver for."""
        keys = list(keys)
        found = {k: self._puts[k] for k in keys if k in self._puts}
        return found, [k for k in keys if k not in found]

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        import ray

        found, missing = self._unsent(keys)
        return {**found, **ray.get(self._handle.get_many.remote(missing))} if missing else found

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found, missing = self._unsent(keys)
        if not missing:
            return found
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._lookups.append((missing, future))
        if len(self._lookups) == 1:  # the first of this turn: send them all once the turn is over
            loop.call_soon(self._send_lookups)
        return {**found, **await future}

    def _send_lookups(self) -> None:
        batch, self._lookups = self._lookups, []
        reply = self._handle.get_many.remote(sorted({k for keys, _ in batch for k in keys}))

        def deliver(done: asyncio.Future) -> None:
            for keys, future in batch:
                if future.done():  # its caller was cancelled
                    continue
                if done.exception() is not None:
                    future.set_exception(done.exception())
                else:
                    found = done.result()
                    future.set_result({k: found[k] for k in keys if k in found})

        asyncio.wrap_future(reply.future()).add_done_callback(deliver)

    def put_many(self, items: dict[str, Any]) -> None:
        self._puts.update(items)
        if len(self._puts) >= PUT_BATCH:
            self.flush()

    def flush(self) -> None:
        """Sends the responses not yet sent (in order with this worker's later calls)."""
        if self._puts:
            self._handle.put_many.remote(self._puts)
            self._puts = {}
