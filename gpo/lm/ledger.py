"""The usage ledger: every model call's record, summed per role."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Optional

from gpo.lm.types import Usage

ROLES: tuple[str, ...] = ("task", "optimizer", "embedding")


def empty_totals() -> dict[str, Any]:
    """The totals of a role without calls: every key that :func:`summarize` gives, at zero."""
    return {
        "calls": 0,
        "cached_calls": 0,
        "requests": 0,
        "samples": 0,
        "cached_samples": 0,
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "output_tokens": 0,
        "retries": 0,
        "failed_requests": 0,
        "latency_s": 0.0,
        "cost_usd": 0.0,
    }


def summarize(records: Iterable[Usage]) -> dict[str, dict[str, Any]]:
    """Totals per role: calls, cached calls, samples, tokens, retries, failures, latency, cost.

    ``requests`` counts the requests that were answered and ``failed_requests`` those that
    failed (retried or not), so their sum is every request sent.

    ``cost_usd`` is ``None`` for a role when any of its paid calls had an unknown price.
    """
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        s = out.setdefault(r.role, empty_totals())
        s["calls"] += 1
        s["cached_calls"] += int(r.cached)
        s["requests"] += r.calls
        s["samples"] += r.samples
        s["cached_samples"] += r.cached_samples
        s["input_tokens"] += r.input_tokens
        s["cached_input_tokens"] += r.cached_input_tokens
        s["output_tokens"] += r.output_tokens
        s["retries"] += r.retries
        s["failed_requests"] += r.failed_requests
        s["latency_s"] = round(s["latency_s"] + r.latency_s, 6)
        if r.cost_usd is None or s["cost_usd"] is None:
            s["cost_usd"] = None
        else:
            s["cost_usd"] += r.cost_usd
    return out


OUTSIDE_STEPS = "after steps"
"""Where calls made outside any step (the final test scoring) are filed, in summaries and reports."""


def summarize_by_step(records: Iterable[Usage]) -> dict[str, dict[str, dict[str, Any]]]:
    """Totals per step (:data:`OUTSIDE_STEPS` for calls outside any step) and role."""
    groups: dict[str, list[Usage]] = {}
    for r in records:
        groups.setdefault(OUTSIDE_STEPS if r.step is None else str(r.step), []).append(r)
    return {k: summarize(v) for k, v in groups.items()}


class Ledger:
    """A thread-safe list of usage records, shared by the models of one run.

    Args:
        records: Records to start from (a resumed run's).
        on_record: Called with every new record (e.g. to append it to a file).
    """

    def __init__(
        self,
        records: Iterable[Usage] = (),
        on_record: Optional[Callable[[Usage], None]] = None,
    ) -> None:
        self._records: list[Usage] = list(records)
        self._lock = threading.Lock()
        self.on_record = on_record

    def add(self, record: Usage) -> None:
        with self._lock:
            self._records.append(record)
            if self.on_record is not None:
                self.on_record(record)

    @property
    def records(self) -> list[Usage]:
        with self._lock:
            return list(self._records)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Totals per role (see :func:`summarize`)."""
        return summarize(self.records)
