"""The one model interface. Backends implement ``_generate``; ``__call__`` owns the policy.

Policy, in one place for every backend: the persistent response cache (per sample), bounded
retries with backoff, the per-endpoint concurrency cap and request-rate limiter, the split of
``n`` where a server caps it, one warning when requests are slow, and a usage record for
every call, failed requests included. A failed call raises :class:`gpo.errors.LMError`; it
never becomes text that gets scored.
"""

from __future__ import annotations

import abc
import asyncio
import contextvars
import dataclasses
import logging
import re
import time
from typing import Any, Optional, Sequence, Union

from gpo.concurrency import gather_all
from gpo.errors import ConfigError, LMError
import gpo.lm.ncap as ncap
from gpo.lm.budget import Budget
from gpo.lm.cache import ResponseCache, default_cache, get_many_async, put_async
from gpo.lm.ledger import Ledger
from gpo.lm.limits import (
    EndpointLimits,
    RetryPolicy,
    call_with_retries,
    endpoint_limits,
    resolve_timeout,
    slow_after,
)
from gpo.lm.pricing import call_cost, load_prices
from gpo.lm.shared import current_policy
from gpo.lm.types import Completion, Message, RawCompletion, Request, Usage

log = logging.getLogger(__name__)

CacheArg = Union[ResponseCache, bool, None]

current_step: contextvars.ContextVar[Optional[int]] = contextvars.ContextVar("gpo_step", default=None)
"""The optimization step that calls belong to (set by the optimizer; recorded in usage)."""


class LM(abc.ABC):
    """A chat model behind one async call.

    Subclasses set ``backend`` and ``model`` and implement :meth:`_generate`; they may set
    ``supports_n = False`` when the server cannot return several samples in one request.

    Args:
        cache: A :class:`ResponseCache`, ``True`` for the default one under ``GPO_HOME``,
            or ``False``/``None`` for no cache.
        concurrency: Requests in flight at once to this model's endpoint.
        rpm: Request starts per minute to this endpoint (``None``: unlimited).
        retry: The retry policy.
        ledger: Where usage records go (a new ledger if not given).
        prices: USD per million input/output tokens by model name (default: built-in
            table updated from ``GPO_PRICES``).
        budget: Spending limits checked before every paid request.
        timeout: Seconds one request may take before it fails and is retried (default:
            ``GPO_TIMEOUT``, else 600). A request in flight for 30 s, or half the
            time-out when that is shorter, logs one warning per endpoint on the
            ``gpo.lm.base`` logger.

    Example:
        >>> import asyncio
        >>> from gpo.lm import get_lm
        >>> lm = get_lm("fake:")
        >>> out = asyncio.run(lm([{"role": "user", "content": "Is 2 even? Yes or No"}], role="task"))
        >>> len(out.texts), out.usage.role
        (1, 'task')
    """

    backend: str = "base"
    model: str = ""
    supports_n: bool = True
    max_n: Optional[int] = None  # most samples one request may ask for (None: no cap)

    def __init__(
        self,
        *,
        cache: CacheArg = False,
        concurrency: int = 8,
        rpm: Optional[float] = None,
        retry: Optional[RetryPolicy] = None,
        ledger: Optional[Ledger] = None,
        prices: Optional[dict[str, tuple[float, float]]] = None,
        budget: Optional[Budget] = None,
        timeout: Optional[float] = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        if cache is True:
            cache = default_cache()
        # Anything with get_many/put_many (a ResponseCache, a LayeredCache) can serve.
        self.cache: Optional[ResponseCache] = cache if hasattr(cache, "get_many") else None
        self.concurrency = concurrency
        self.rpm = rpm
        self.retry = retry or RetryPolicy()
        self.ledger = ledger if ledger is not None else Ledger()
        self._prices = prices
        self.budget = budget
        self.timeout = resolve_timeout(timeout)

    # -- what a backend provides -------------------------------------------------------

    @abc.abstractmethod
    async def _generate(self, request: Request) -> RawCompletion:
        """Sends one request and returns ``request.n`` texts.

        Raises:
            LMError: Typed by cause; ``retryable`` set for transient failures.
        """

    async def _prepare(self) -> None:
        """Makes the backend ready before a request is sent and timed (e.g. starts a server)."""

    @property
    def endpoint(self) -> str:
        """Where requests go (a URL, or a name for in-process backends)."""
        return self.backend

    def identity(self) -> dict[str, Any]:
        """What identifies this model in cache keys: never credentials."""
        return {"backend": self.backend, "endpoint": self.endpoint, "model": self.model}

    @property
    def spec(self) -> str:
        """A spec string for this model (as given to :func:`gpo.lm.get_lm`)."""
        return f"{self.backend}:{self.model}"

    async def aclose(self) -> None:
        """Releases connections and servers (idempotent)."""

    async def __aenter__(self) -> "LM":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        """``async with get_lm(spec) as lm:`` closes the model at the end of the block."""
        await self.aclose()

    def cost(self, input_tokens: int, output_tokens: int) -> Optional[float]:
        """USD of one paid request (``None`` when the model's price is unknown)."""
        return call_cost(self.backend, self.model, input_tokens, output_tokens, self.prices)

    # -- policy --------------------------------------------------------------------------

    @property
    def prices(self) -> dict[str, tuple[float, float]]:
        if self._prices is None:
            self._prices = load_prices()
        return self._prices

    async def __call__(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        seed: Optional[int] = 0,
        stop: Sequence[str] = (),
        role: str = "task",
        affinity: Optional[int] = None,
    ) -> Completion:
        """Completes a chat, ``n`` samples, through the cache, limits and retries.

        Each sample has its own cache entry (its index is part of the key), so asking for 8
        samples after 5 were cached pays for 3.

        Args:
            messages: Chat messages ``{"role", "content"}``.
            n: Number of samples.
            temperature: Sampling temperature.
            max_tokens: Cap on generated tokens per sample.
            seed: Sampling seed.
            stop: Stop strings.
            role: Ledger role of the call (``task``, ``optimizer``, ...).
            affinity: Routing hint for servers with prompt caches: calls with the same
                value share a long prefix (see :class:`gpo.lm.types.Request`). Changes
                neither the request's content nor its cache key.

        Returns:
            The samples in index order and the call's usage record.

        Raises:
            LMError: The call failed after the retries the policy allows.
        """
        if n < 1:
            raise ConfigError(f"n must be at least 1, got {n}")
        request = Request(
            messages=tuple(dict(m) for m in messages),
            n=n,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            stop=tuple(stop),
            affinity=affinity,
        )
        started = time.perf_counter()
        usage = Usage(role=role, model=self.spec, samples=n, step=current_step.get())
        identity = self.identity()
        keys = [request.sample_key(identity, i) for i in range(n)]
        texts: list[Optional[str]] = [None] * n
        if self.cache is not None:
            found = await get_many_async(self.cache, keys)
            for i, key in enumerate(keys):
                if key in found:
                    texts[i] = found[key]["text"]
                    usage.cached_samples += 1
        missing = [i for i, t in enumerate(texts) if t is None]
        if missing:
            try:
                new = await self._fetch(request, missing, usage)
            except BaseException:
                if usage.calls or usage.failed_requests:  # requests were sent before it failed
                    usage.latency_s = time.perf_counter() - started
                    self.ledger.add(usage)
                raise
            for i, text in zip(missing, new):
                texts[i] = text
            if self.cache is not None:
                await self._store({keys[i]: {"text": texts[i]} for i in missing}, usage, started)
        usage.latency_s = time.perf_counter() - started
        self.ledger.add(usage)
        return Completion(texts=[t for t in texts if t is not None], usage=usage)

    async def _store(self, items: dict[str, Any], usage: Usage, started: float) -> None:
        """Stores paid answers before their usage is recorded (what resume relies on).

        The write is a group commit; a caller stopped while it waits stores its answers at
        once and records their usage, so a paid answer is never lost to a stop.
        """
        assert self.cache is not None
        try:
            await put_async(self.cache, items)
        except asyncio.CancelledError:
            self.cache.put_many(items)
            usage.latency_s = time.perf_counter() - started
            self.ledger.add(usage)
            raise

    def _samples_per_request(self) -> Optional[int]:
        """The most samples one request may ask for (``None``: no cap)."""
        if not self.supports_n:
            return 1
        caps = [c for c in (self.max_n, ncap.known_cap(self.endpoint)) if c]
        return min(caps) if caps else None

    async def _fetch(self, request: Request, indices: list[int], usage: Usage) -> list[str]:
        """Pays for the samples at ``indices``: one request with ``n`` when supported.

        Servers that cap ``n`` (llama.cpp: at most its slot count) get several requests;
        every request after the first is seeded with ``seed + first index`` so that the
        groups differ. A server that rejects ``n`` with a cap in its message (see
        :mod:`gpo.lm.ncap`) teaches the cap for the rest of the process, and the rejected
        group is split again from its own first index, which gives the same requests as a
        process that knew the cap from the start.
        """
        size = self._samples_per_request() or len(indices)
        groups = []
        for start in range(0, len(indices), size):
            chunk = indices[start : start + size]
            seed = request.seed
            if seed is not None and chunk[0] != 0:
                seed = seed + chunk[0]
            groups.append((chunk, seed))
        if len(groups) == 1:  # the usual call: no task to make
            await asyncio.sleep(0)  # but a turn for the others, as a task would give (in-process models never wait)
            return await self._send_group(request, indices, groups[0][1], usage)
        results = await gather_all(self._send_group(request, idx, seed, usage) for idx, seed in groups)
        return [t for r in results for t in r]

    async def _send_group(
        self, request: Request, indices: list[int], seed: Optional[int], usage: Usage
    ) -> list[str]:
        try:
            return await self._send(request, len(indices), seed, usage)
        except LMError as exc:
            cap = ncap.cap_from_rejection(exc, len(indices))
            if cap is None:
                raise
            if ncap.learn_cap(self.endpoint, cap):
                log.warning(
                    "%s accepts at most %d samples per request; asking for more in several "
                    "requests from now on",
                    self.endpoint,
                    cap,
                )
        return await self._fetch(request, indices, usage)

    async def _send(self, request: Request, n: int, seed: Optional[int], usage: Usage) -> list[str]:
        sub = request if (n, seed) == (request.n, request.seed) else dataclasses.replace(request, n=n, seed=seed)
        limits = endpoint_limits(self.endpoint, self.concurrency, self.rpm)
        loop = asyncio.get_running_loop()

        shared = current_policy()  # a sweep's cap per endpoint and budget, across processes

        async def attempt() -> RawCompletion:
            async with limits.semaphore:
                if self.budget is not None:
                    self.budget.check(usage.role)
                lease = await shared.acquire(self.endpoint) if shared is not None else None
                paid: Optional[RawCompletion] = None
                try:
                    await limits.rate.acquire()
                    await self._prepare()
                    slow = loop.call_later(slow_after(self.timeout), self._warn_slow, limits)
                    try:
                        paid = await self._generate(sub)
                        limits.answered = True
                        return paid
                    except LMError as exc:
                        if exc.timed_out and not limits.answered:  # a server that never answers: fail after one --timeout
                            exc.attempts = 1
                        raise
                    except asyncio.CancelledError:  # sent, and its answer lost to a stop (Ctrl-C, SIGTERM, a budget)
                        usage.failed_requests += 1
                        raise
                    finally:
                        slow.cancel()
                finally:
                    if shared is not None:
                        tokens = paid.input_tokens + paid.output_tokens if paid is not None else 0
                        cost = self.cost(paid.input_tokens, paid.output_tokens) if paid is not None else 0.0
                        shared.release(self.endpoint, lease, calls=int(paid is not None), tokens=tokens, cost=cost)

        def count_retry(exc: Exception) -> None:
            usage.retries += 1
            usage.failed_requests += 1
            kind = (type(exc).__name__, re.sub(r"\d+", "#", str(exc))[:120])  # numbers aside, the same failure
            if kind in limits.retried:  # an unattended run through a flaky server says each failure once
                log.info("retrying %s after: %s", self.spec, exc)
                return
            limits.retried.add(kind)
            log.warning("retrying %s after: %s (retries after the same failure are counted in the usage, not shown)", self.spec, exc)

        try:
            raw = await call_with_retries(attempt, self.retry, on_retry=count_retry)
        except LMError:
            usage.failed_requests += 1
            raise
        if len(raw.texts) != n:
            usage.failed_requests += 1
            raise LMError(
                f"{self.spec} returned {len(raw.texts)} samples where {n} were asked for"
            )
        cost = self.cost(raw.input_tokens, raw.output_tokens)
        usage.calls += 1
        usage.input_tokens += raw.input_tokens
        usage.cached_input_tokens += raw.cached_input_tokens
        usage.output_tokens += raw.output_tokens
        usage.cost_usd = None if cost is None or usage.cost_usd is None else usage.cost_usd + cost
        if self.budget is not None:
            self.budget.spend(
                usage.role, calls=1, tokens=raw.input_tokens + raw.output_tokens, cost=cost
            )
        return raw.texts

    def _warn_slow(self, limits: EndpointLimits) -> None:
        """Logs that a request has been in flight a long time: once per endpoint."""
        if limits.warned_slow:
            return
        limits.warned_slow = True
        log.warning(
            "requests to %s are slow: one has waited %g s for an answer; each may take up "
            "to %g s before it fails (set with --timeout or GPO_TIMEOUT)",
            self.endpoint,
            slow_after(self.timeout),
            self.timeout,
        )
