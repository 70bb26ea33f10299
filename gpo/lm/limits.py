"""Call policy shared by every backend: retries with backoff, time-outs, per-endpoint limits."""

from __future__ import annotations

import asyncio
import os
import random
import time
import weakref
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Optional, TypeVar

from gpo.errors import ConfigError, LMError

T = TypeVar("T")

DEFAULT_TIMEOUT = 600.0
"""Seconds one request may take when neither ``timeout`` nor ``GPO_TIMEOUT`` says otherwise."""

DEFAULT_RETRIES = 8
"""Retries of a failed request when neither ``RetryPolicy`` nor ``GPO_RETRIES`` says otherwise.

Nine attempts in all: a request against a server that fails half the time gives up once in
512 calls, and the backoff (at most 30 s a wait) keeps a busy server's queue draining.
"""

SLOW_AFTER = 30.0
"""Seconds in flight after which a request counts as slow (or half the time-out if shorter)."""


def _from_env(var: str, parse: Callable[[str], T], what: str, example: str) -> Optional[T]:
    """The value of environment variable ``var`` read by ``parse``; ``None`` when it is unset.

    Raises:
        ConfigError: ``parse`` refuses the value.
    """
    raw = os.environ.get(var, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not {what}", hint=f"set it to {example}") from None


def resolve_timeout(timeout: Optional[float] = None) -> float:
    """Seconds before one request times out: ``timeout``, else ``GPO_TIMEOUT``, else 600.

    >>> resolve_timeout(20)
    20.0

    Raises:
        ConfigError: The value is not a positive number of seconds.
    """
    source = "timeout"
    if timeout is None:
        timeout = _from_env("GPO_TIMEOUT", float, "a number", "seconds, e.g. GPO_TIMEOUT=120")
        if timeout is None:
            return DEFAULT_TIMEOUT
        source = "GPO_TIMEOUT"
    timeout = float(timeout)
    if not timeout > 0 or timeout == float("inf"):
        raise ConfigError(
            f"{source} must be a positive number of seconds, got {timeout:g}",
            hint="e.g. --timeout 120 or GPO_TIMEOUT=120",
        )
    return timeout


def resolve_retries(retries: Optional[int] = None) -> int:
    """Retries of a failed request: ``retries``, else ``GPO_RETRIES``, else 8.

    >>> resolve_retries(2)
    2

    Raises:
        ConfigError: The value is not a whole number from 0 to 100.
    """
    source = "retries"
    if retries is None:
        retries = _from_env("GPO_RETRIES", int, "a whole number", "e.g. GPO_RETRIES=8")
        if retries is None:
            return DEFAULT_RETRIES
        source = "GPO_RETRIES"
    if not 0 <= retries <= 100:
        raise ConfigError(f"{source} must be from 0 to 100, got {retries}", hint="e.g. --retries 8 or GPO_RETRIES=8")
    return int(retries)


def slow_after(timeout: float) -> float:
    """When a request in flight counts as slow: after 30 s, or half the time-out if shorter.

    >>> slow_after(600), slow_after(10)
    (30.0, 5.0)
    """
    return min(SLOW_AFTER, timeout / 2)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    Only errors marked ``retryable`` (rate limits, 5xx, time-outs, dropped connections,
    malformed answers) are retried; authentication and invalid-request errors fail at once.

    Attributes:
        max_attempts: Attempts in all, the first included (default: one more than
            :func:`resolve_retries`, so ``GPO_RETRIES`` sets it).
        base_delay: Delay before the first retry, in seconds (doubled each time).
        max_delay: Cap on one delay.
    """

    max_attempts: int = field(default_factory=lambda: resolve_retries() + 1)
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): full jitter.

        >>> RetryPolicy(base_delay=1.0, max_delay=4.0).delay(10, random.Random(0)) <= 4.0
        True
        """
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, cap)


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: Optional[Callable[[LMError], None]] = None,
    rng: Optional[random.Random] = None,
) -> T:
    """Runs ``fn`` until it succeeds, a non-retryable error occurs, or attempts run out.

    Raises:
        LMError: The last error, with how many attempts were made in its message.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except LMError as exc:
            if not exc.retryable or attempt >= min(policy.max_attempts, exc.attempts or policy.max_attempts):
                if exc.retryable and attempt > 1:
                    exc.message = f"{exc.message} (gave up after {attempt} attempts)"
                    exc.args = (exc.message,)
                raise
            if on_retry is not None:
                on_retry(exc)
            if rng is None:  # made on the first retry: seeding one costs more than a call's bookkeeping
                rng = random.Random()
            wait = policy.delay(attempt, rng)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                wait = max(wait, min(float(retry_after), policy.max_delay))
            await asyncio.sleep(wait)


class RateLimiter:
    """Spaces request starts so that at most ``rpm`` start in any minute (evenly).

    Args:
        rpm: Requests per minute; ``None`` or 0 means unlimited.
    """

    def __init__(self, rpm: Optional[float]) -> None:
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Waits until the next request may start."""
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class EndpointLimits:
    """The concurrency cap and request-rate limiter of one endpoint."""

    def __init__(self, concurrency: int, rpm: Optional[float]) -> None:
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.rate = RateLimiter(rpm)
        self.concurrency = concurrency
        self.warned_slow = False  # one slow-request warning per endpoint
        self.answered = False  # has any request here succeeded? (time-outs before that are not retried)
        self.retried: set[tuple[str, str]] = set()  # kinds of failure already shown as retried


_registry: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, EndpointLimits]]" = (
    weakref.WeakKeyDictionary()
)


def endpoint_limits(endpoint: str, concurrency: int, rpm: Optional[float]) -> EndpointLimits:
    """The limits shared by every model object that talks to ``endpoint`` in this event loop.

    The first caller's settings win, so a task model and an optimizer model on the same
    server share one budget of parallel requests.
    """
    loop = asyncio.get_running_loop()
    per_loop = _registry.setdefault(loop, {})
    if endpoint not in per_loop:
        per_loop[endpoint] = EndpointLimits(concurrency, rpm)
    return per_loop[endpoint]
