"""Progress of an optimization run, shown while it runs.

An :class:`~gpo.optim.optimizer.OptimizationRun` reports what it does through ``on_event``
(dicts with a ``type``: ``start``, ``initial``, ``candidate``, ``step`` and ``final``). This
module turns those events into something to look at:

* :class:`RunProgress` keeps a live panel on a terminal (step and bar, candidates of the
  step, best and current scores, model calls, spend, elapsed time), redrawn a few times a
  second by ``rich``;
* :class:`PlainProgress` prints one line per event, for logs, pipes and CI;
* :func:`make_progress` picks one of them for a mode (``auto``, ``live``, ``plain``,
  ``quiet``).

Both are callables to pass as ``on_event`` and have a ``close()`` for error paths; both are
context managers. They live in :mod:`gpo.progress.live` and :mod:`gpo.progress.plain`, and
share the number formats of :mod:`gpo.progress.formatting`.

Example:
    >>> import gpo.api
    >>> progress = make_progress("plain")
    >>> try:  # doctest: +SKIP
    ...     gpo.api.optimize("synthetic/word_sorting", dry_run=True, on_event=progress)
    ... finally:
    ...     progress.close()
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from gpo.progress.formatting import (
    Event,
    fmt_count,
    fmt_duration,
    fmt_rejected,
    fmt_score,
    fmt_spend,
    merge_usage,
    total_cost,
)
from gpo.progress.live import PANEL_WIDTH, RunProgress
from gpo.progress.plain import PlainProgress

__all__ = [
    "MODES",
    "PANEL_WIDTH",
    "Event",
    "PlainProgress",
    "RunProgress",
    "fmt_count",
    "fmt_duration",
    "fmt_rejected",
    "fmt_score",
    "fmt_spend",
    "make_progress",
    "merge_usage",
    "total_cost",
]

MODES: tuple[str, ...] = ("auto", "live", "plain", "quiet")


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def make_progress(mode: str = "auto", **options: Any) -> Optional[Callable[[Event], None]]:
    """A progress display for ``on_event``, or ``None`` for none.

    Args:
        mode: ``auto`` (a live panel when stderr is a terminal, else plain lines),
            ``live`` (a live panel; on a non-terminal only its last frame is printed),
            ``plain`` (one line per event on stderr) or ``quiet`` (``None``).
        **options: Passed to :class:`RunProgress` when the display is live.

    Returns:
        A :class:`RunProgress`, a :class:`PlainProgress` or ``None``.

    Raises:
        ValueError: An unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"unknown progress mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "quiet":
        return None
    if mode == "live" or (mode == "auto" and _stderr_is_terminal()):
        return RunProgress(**options)
    return PlainProgress()
