"""Spending limits on model calls: requests, tokens and dollars, in total and per role.

A :class:`Budget` is shared by the models of a run. Every paid request is checked against
it just before it is sent, and counted when its answer arrives, so a budget is overshot by
at most the requests already in flight. Cache hits are free and never counted.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from gpo.errors import BudgetExceeded, ConfigError

METRICS = ("calls", "tokens", "cost")


def check_limit(value: Any, name: str) -> float:
    """A budget's value as a number: finite and at least 0, or a :class:`ConfigError` naming it.

    ``nan`` and ``inf`` are refused: either would remove the cap without saying so.

    Args:
        value: The value given.
        name: How the user wrote the setting (``--max-cost``, ``budget optimizer.calls``).

    >>> check_limit(2, "--max-calls")
    2.0
    >>> check_limit(float("nan"), "--max-cost")
    Traceback (most recent call last):
    ...
    gpo.errors.ConfigError: --max-cost must be a finite number, at least 0; got nan (leave the budget out for no limit)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"{name} must be a finite number, at least 0; got {value:g}", hint="leave the budget out for no limit"
        )
    return float(value)


@dataclass(frozen=True)
class Limit:
    """One limit: ``metric`` (calls, tokens or cost in USD) for ``role`` (``None``: all roles)."""

    metric: str
    value: float
    role: Optional[str] = None

    def describe(self) -> str:
        what = {"calls": "model requests", "tokens": "tokens", "cost": "USD"}[self.metric]
        scope = f" for the {self.role} model" if self.role else ""
        shown = f"{self.value:g}" if self.metric != "cost" else f"${self.value:g}"
        return f"{shown} {what}{scope}"


class Budget:
    """Limits and what has been spent against them.

    Args:
        limits: The limits to enforce.

    Example:
        >>> b = Budget([Limit("calls", 2), Limit("tokens", 100, role="optimizer")])
        >>> b.check("task"); b.spend("task", calls=1, tokens=10, cost=0.0)
        >>> b.check("task"); b.spend("task", calls=1, tokens=10, cost=0.0)
        >>> b.check("task")
        Traceback (most recent call last):
        ...
        gpo.errors.BudgetExceeded: budget reached: 2 model requests (spent 2)
    """

    def __init__(self, limits: Iterable[Limit] = ()) -> None:
        self.limits = list(limits)
        for limit in self.limits:
            if limit.metric not in METRICS:
                raise ConfigError(f"unknown budget metric {limit.metric!r}", hint=f"use one of {', '.join(METRICS)}")
            check_limit(limit.value, f"budget {limit.role + '.' if limit.role else ''}{limit.metric}")
        self._spent: dict[tuple[Optional[str], str], float] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_options(
        cls,
        max_calls: Optional[int] = None,
        max_tokens: Optional[int] = None,
        max_cost: Optional[float] = None,
        per_role: Optional[dict[str, dict[str, float]]] = None,
    ) -> "Budget":
        """Builds a budget from totals and ``{role: {metric: value}}``."""
        limits = [
            Limit(metric, float(value))
            for metric, value in (("calls", max_calls), ("tokens", max_tokens), ("cost", max_cost))
            if value is not None
        ]
        for role, metrics in (per_role or {}).items():
            for metric, value in metrics.items():
                if value is not None:
                    limits.append(Limit(metric, float(value), role))
        return cls(limits)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def spent(self, metric: str, role: Optional[str] = None) -> float:
        with self._lock:
            return self._spent.get((role, metric), 0.0)

    def check(self, role: str) -> None:
        """Raises :class:`BudgetExceeded` if a limit that applies to ``role`` is reached."""
        with self._lock:
            for limit in self.limits:
                if limit.role not in (None, role):
                    continue
                spent = self._spent.get((limit.role, limit.metric), 0.0)
                if spent >= limit.value:
                    exc = BudgetExceeded(f"budget reached: {limit.describe()} (spent {spent:g})")
                    exc.limit = limit  # type: ignore[attr-defined]
                    raise exc

    def spend(self, role: str, *, calls: int = 0, tokens: int = 0, cost: Optional[float] = 0.0) -> None:
        """Counts a paid request's use against the total and the role."""
        with self._lock:
            for scope in (None, role):
                for metric, value in (("calls", calls), ("tokens", tokens), ("cost", cost or 0.0)):
                    key = (scope, metric)
                    self._spent[key] = self._spent.get(key, 0.0) + value

    def describe(self) -> list[str]:
        return [limit.describe() for limit in self.limits]
