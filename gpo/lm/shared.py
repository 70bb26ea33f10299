"""Policy shared by every process of a sweep: a cap on requests in flight per endpoint, a
budget, and a response cache held by the process that drives the sweep.

A run's own limits (:mod:`gpo.lm.limits`, :mod:`gpo.lm.budget`) live in its process. When a
sweep spreads its runs over a cluster, 200 runs each allowed 8 requests in flight would send
1,600 at once to one server, and a budget per run says nothing of the sweep's total. A
backend that spreads runs sets a :class:`SharedPolicy` for the run with :func:`use_policy`;
every model call of the run then also asks it for a slot before a request is sent, reports
what the request paid, and reads and writes the responses through its cache.

Nothing here knows where the policy lives (for Ray: :mod:`gpo.sweep.coordinator`).
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterable, Iterator, Optional, Protocol

__all__ = ["SharedPolicy", "current_policy", "use_policy"]


class SharedPolicy(Protocol):
    """What a sweep shares between the processes that run its runs."""

    async def acquire(self, endpoint: str) -> Any:
        """Waits for a request slot of ``endpoint``; returns its lease, for :meth:`release`.

        Raises:
            SweepBudgetExceeded: The sweep's budget is spent; no request may start.
        """
        ...

    def release(self, endpoint: str, lease: Any, *, calls: int = 0, tokens: int = 0, cost: Optional[float] = 0.0) -> None:
        """Gives back the slot that :meth:`acquire` leased, with what its request paid."""
        ...

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The responses of the sweep's cache under those keys (see :class:`gpo.lm.cache.ResponseCache`)."""
        ...

    async def aget_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """:meth:`get_many` without holding up the event loop."""
        ...

    def put_many(self, items: dict[str, Any]) -> None:
        """Stores responses in the sweep's cache."""
        ...


_policy: contextvars.ContextVar[Optional[SharedPolicy]] = contextvars.ContextVar("gpo_shared_policy", default=None)


def current_policy() -> Optional[SharedPolicy]:
    """The policy set for the code running now (``None``: the run is on its own)."""
    return _policy.get()


@contextlib.contextmanager
def use_policy(policy: Optional[SharedPolicy]) -> Iterator[None]:
    """Sets ``policy`` for the calls made inside the block (and the event loops it starts).

    Example:
        >>> with use_policy(None):
        ...     current_policy() is None
        True
    """
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)
