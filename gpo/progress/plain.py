"""Plain progress: one line per event, for logs, pipes and CI."""

from __future__ import annotations

import sys
from typing import Any, Optional, TextIO

from gpo.progress.formatting import Event, fmt_rejected, fmt_score, fmt_spend, total_cost


class PlainProgress:
    """One plain line per event on a stream: for logs, pipes and CI.

    Prints a line when the run starts, when the initial prompt is scored, after every step
    and when the run ends; ``candidate`` events print nothing.

    Args:
        file: Where to write (default: ``sys.stderr`` at the time of each line).
    """

    def __init__(self, file: Optional[TextIO] = None) -> None:
        self.file = file

    def __call__(self, event: Event) -> None:
        line = self.line(event)
        if line is not None:
            out = self.file if self.file is not None else sys.stderr
            print(line, file=out, flush=True)

    @staticmethod
    def line(event: Event) -> Optional[str]:
        """The line of one event, or ``None`` for events that print nothing."""
        kind = event.get("type")
        if kind == "start":
            text = f"optimizing: {event['total']} steps, {event['n_eval']} eval examples"
            if event.get("resumed_from") is not None:
                text += f" (resuming after step {event['resumed_from']})"
            return text
        if kind == "initial":
            return f"step 0: initial prompt eval {fmt_score(event['eval'])}"
        if kind == "step":
            cands = event["candidates"]
            raced = [len(c) > 4 and c[4] is not None for c in cands]  # a partial score: not the best
            scored = [c[1] for c, partial in zip(cands, raced) if c[1] is not None and not partial]
            dups = sum(1 for c in cands if c[3])
            budget = "no limit" if event["budget"] is None else f"{event['budget']} words"
            out = f", {sum(raced)} raced out" if any(raced) else ""
            return (
                f"step {event['step']}/{event['total']}: budget {budget}; {len(cands)} candidates "
                f"(best {fmt_score(max(scored) if scored else None)}, {dups} repeats{out}), "
                f"{fmt_rejected(c[2] for c in cands)}; "
                f"next prompt {fmt_score(event['score'])}; best so far {fmt_score(event['best'])}"
            )
        if kind == "final":
            s = event["summary"]
            return (
                f"done: {s['steps_completed']}/{s['total_steps']} steps ({s['stopped_reason']}); "
                f"best eval {fmt_score(s['scores']['best']['eval'])} at step {s['best_step']}; "
                f"spend {fmt_spend(total_cost(s.get('usage', {})))}"
                + (" (dry run estimate)" if s.get("dry_run") else "")
                + f"; {s['seconds']:.0f} s"
            )
        return None

    def close(self) -> None:
        """Nothing to release; here so both kinds of progress are used alike."""

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
