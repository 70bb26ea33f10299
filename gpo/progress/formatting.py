"""How the numbers of a run read in a progress display: scores, money, counts, durations.

Also the sums over a ledger's usage summary that both displays need.
"""

from __future__ import annotations

from typing import Any, Optional

Event = dict[str, Any]
"""One event of a run, as passed to ``on_event``: a dict with a ``type``."""


def fmt_score(score: Optional[float]) -> str:
    """A score with three decimals, or a dash when there is none."""
    return "  –  " if score is None else f"{score:.3f}"


def fmt_spend(cost: Optional[float]) -> str:
    """Money spent: ``unknown`` (a price was missing), ``free`` (nothing), or USD."""
    if cost is None:
        return "unknown"
    if cost <= 0:
        return "free"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


def fmt_count(n: int) -> str:
    """A count of tokens, short: ``950``, ``12.3k``, ``4.5M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def fmt_duration(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour)."""
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def total_cost(usage: dict[str, dict[str, Any]]) -> Optional[float]:
    """The cost of all roles of a ledger summary; ``None`` when any role's is unknown."""
    cost = 0.0
    for totals in usage.values():
        c = totals.get("cost_usd", 0.0)
        if c is None:
            return None
        cost += c
    return cost


def merge_usage(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The sum of two ledger summaries (a role's cost is ``None`` when either is)."""
    out = {role: dict(totals) for role, totals in a.items()}
    for role, totals in b.items():
        into = out.setdefault(role, {})
        for key, value in totals.items():
            if key not in into:
                into[key] = value
            elif key == "cost_usd":
                into[key] = None if value is None or into[key] is None else into[key] + value
            else:
                into[key] += value
    return out
