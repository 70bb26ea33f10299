"""Per-example test results of the initial and the final prompt, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

__all__ = ["ExamplePair", "pair_results"]


def _key(row: dict[str, Any]) -> str:
    ex_id = row.get("example_id")
    return f"id:{ex_id}" if ex_id not in (None, "") else f"index:{row.get('index')}"


def _score(row: dict[str, Any]) -> float:
    value = row.get("score")
    return float(value) if value is not None else 0.0


@dataclass(frozen=True)
class ExamplePair:
    """One test example scored with both prompts.

    Attributes:
        key: The example's id (or its index when results carry no id).
        initial: The initial prompt's result row.
        final: The final prompt's result row.
    """

    key: str
    initial: dict[str, Any]
    final: dict[str, Any]

    @property
    def input(self) -> str:
        return str(self.final.get("input") or self.initial.get("input") or "")

    @property
    def target(self) -> Any:
        return self.final.get("target", self.initial.get("target"))

    @property
    def initial_score(self) -> float:
        return _score(self.initial)

    @property
    def final_score(self) -> float:
        return _score(self.final)

    @property
    def delta(self) -> float:
        return self.final_score - self.initial_score

    @property
    def fixed(self) -> bool:
        """The final prompt scores higher on this example."""
        return self.delta > 1e-12

    @property
    def broken(self) -> bool:
        """The final prompt scores lower on this example."""
        return self.delta < -1e-12


def pair_results(
    initial: Optional[Sequence[dict[str, Any]]], final: Optional[Sequence[dict[str, Any]]]
) -> list[ExamplePair]:
    """Joins two per-example result lists by ``example_id`` (by ``index`` when ids are missing).

    Examples present in only one list are left out; the order is that of ``initial``.

    >>> a = [{"example_id": "x", "score": 0.0}, {"example_id": "y", "score": 1.0}]
    >>> b = [{"example_id": "y", "score": 0.0}, {"example_id": "x", "score": 1.0}]
    >>> [(p.key, p.fixed, p.broken) for p in pair_results(a, b)]
    [('id:x', True, False), ('id:y', False, True)]
    """
    if not initial or not final:
        return []
    by_key = {_key(r): r for r in final}
    return [ExamplePair(_key(r), r, by_key[_key(r)]) for r in initial if _key(r) in by_key]
