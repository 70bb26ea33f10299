"""Structured concurrency for Python 3.10+: no task outlives the call that started it."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Iterable, TypeVar

T = TypeVar("T")


async def gather_all(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Like ``asyncio.gather``, but when one fails (or the caller is cancelled) the others are
    cancelled and awaited before the error propagates.

    Plain ``gather`` leaves the other awaitables running after the first error; here a
    failed evaluation cannot keep spending model calls in the background.
    """
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
