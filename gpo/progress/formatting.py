"""How the numbers of a run read in a progress display: scores, money, counts, durations.

Also the sums over a ledger's usage summary that both displays need.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable, Optional

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


def fmt_rejected(reasons: Iterable[Optional[str]]) -> str:
    """How many candidates of a step were rejected, and why (``None``: not rejected).

    Reasons are grouped without their details in parentheses, the most frequent first.

    >>> fmt_rejected(["over edit budget (12 > 10 words)", None, "no prompt found", "over edit budget (9 > 4 words)"])
    '3 rejected (2 over edit budget, 1 no prompt found)'
    >>> fmt_rejected([None, None])
    '0 rejected'
    """
    counts = Counter(re.sub(r"\s*\(.*\)$", "", r) for r in reasons if r)
    if not counts:
        return "0 rejected"
    why = ", ".join(f"{n} {reason}" for reason, n in counts.most_common())
    return f"{sum(counts.values())} rejected ({why})"


def fmt_calls(role: str, usage: dict[str, Any]) -> str:
    """A role's paid requests and calls answered from the cache, as progress and summaries say it.

    A call of ``n`` samples may take several requests where a server caps ``n``, so the two
    are not a fraction of each other.

    >>> fmt_calls("task", {"requests": 7680, "cached_calls": 482})
    'task 7680 paid + 482 cached'
    """
    return f"{role} {usage.get('requests', 0)} paid + {usage.get('cached_calls', 0)} cached"


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
