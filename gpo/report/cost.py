"""The usage ledger of a run, summed per step and role, and its running total over steps.

Calls made outside any step (the final test scoring) carry ``step = None`` and are grouped
under :data:`OUTSIDE_STEPS`. A record with ``cost_usd = None`` had no known price: sums
then count it as unknown rather than free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from gpo.lm.ledger import OUTSIDE_STEPS  # the label of calls made outside any step (final test scoring)

__all__ = ["OUTSIDE_STEPS", "UsageRow", "usage_rows", "usage_totals", "cumulative_by_step", "format_cost"]

ROLE_ORDER = ("task", "optimizer", "embedding")


@dataclass
class UsageRow:
    """Summed usage of one group of calls.

    Attributes:
        step: The step (``None``: outside any step).
        role: ``task``, ``optimizer``, ``embedding`` (or ``all``).
        requests: Calls recorded (paid or cached).
        calls: Paid backend requests.
        samples: Samples returned.
        cached_samples: Samples answered from the cache.
        input_tokens: Prompt tokens of paid requests.
        output_tokens: Generated tokens of paid requests.
        retries: Retried attempts.
        latency_s: The calls' durations added up: more than the time they took when they
            ran side by side.
        cost_usd: Summed known cost.
        unpriced: Paid calls whose price was unknown.
    """

    step: Optional[int]
    role: str
    requests: int = 0
    calls: int = 0
    samples: int = 0
    cached_samples: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    unpriced: int = 0
    models: set = field(default_factory=set)

    @property
    def step_label(self) -> str:
        return OUTSIDE_STEPS if self.step is None else str(self.step)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, u: Any) -> None:
        self.requests += 1
        self.calls += int(u.calls or 0)
        self.samples += int(u.samples or 0)
        self.cached_samples += int(u.cached_samples or 0)
        self.input_tokens += int(u.input_tokens or 0)
        self.output_tokens += int(u.output_tokens or 0)
        self.retries += int(u.retries or 0)
        self.latency_s += float(u.latency_s or 0.0)
        if u.cost_usd is None:
            self.unpriced += int(u.calls or 0) or 0
        else:
            self.cost_usd += float(u.cost_usd)
        if getattr(u, "model", None):
            self.models.add(u.model)

    @property
    def cost_text(self) -> str:
        return format_cost(self.cost_usd, self.unpriced)


def format_cost(cost: float, unpriced: int = 0) -> str:
    """Dollars for a table cell, saying so when some calls had no known price.

    >>> format_cost(0.01234), format_cost(0.0, 3), format_cost(1.5, 2)
    ('$0.0123', 'unknown', '≥ $1.5000')
    """
    if unpriced and not cost:
        return "unknown"
    return ("≥ " if unpriced else "") + f"${cost:.4f}"


def _step_order(step: Optional[int]) -> tuple[int, int]:
    return (1, 0) if step is None else (0, step)


def _role_order(role: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role)


def usage_rows(records: Iterable[Any]) -> list[UsageRow]:
    """One row per (step, role), steps in order and calls outside steps last.

    Args:
        records: :class:`gpo.lm.types.Usage` records (anything with the same attributes).
    """
    groups: dict[tuple[Optional[int], str], UsageRow] = {}
    for u in records:
        key = (u.step, u.role)
        groups.setdefault(key, UsageRow(u.step, u.role)).add(u)
    return sorted(groups.values(), key=lambda r: (_step_order(r.step), _role_order(r.role)))


def usage_totals(records: Iterable[Any]) -> list[UsageRow]:
    """One row per role, then an ``all`` row."""
    records = list(records)
    per_role: dict[str, UsageRow] = {}
    total = UsageRow(None, "all")
    for u in records:
        per_role.setdefault(u.role, UsageRow(None, u.role)).add(u)
        total.add(u)
    return sorted(per_role.values(), key=lambda r: _role_order(r.role)) + [total]


def cumulative_by_step(records: Iterable[Any], measure: str) -> tuple[list[str], dict[str, list[float]]]:
    """Running totals of ``measure`` (``cost_usd`` or ``tokens``) per role over the steps.

    Returns:
        The step labels (calls outside steps last) and, per role, the running total at the
        end of each of them.
    """
    rows = usage_rows(records)
    steps = sorted({r.step for r in rows}, key=_step_order)
    labels = [OUTSIDE_STEPS if s is None else str(s) for s in steps]
    roles = sorted({r.role for r in rows}, key=_role_order)
    series: dict[str, list[float]] = {}
    for role in roles:
        running, values = 0.0, []
        for s in steps:
            for r in rows:
                if r.step == s and r.role == role:
                    running += getattr(r, measure)
            values.append(running)
        series[role] = values
    return labels, series
