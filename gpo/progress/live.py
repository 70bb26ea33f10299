"""The live panel of a run on a terminal, redrawn in place by ``rich``.

``rich`` is imported when a panel is first made or drawn, not when this module is imported.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from gpo.progress.formatting import (
    Event,
    fmt_calls,
    fmt_count,
    fmt_duration,
    fmt_rejected,
    fmt_score,
    fmt_spend,
    merge_usage,
    total_cost,
)

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, RenderableType

    from gpo.lm.ledger import Ledger

PANEL_WIDTH = 100


class RunProgress:
    """A live panel of an optimization run, redrawn in place on a terminal.

    The panel shows the task and method, the step ``t/T`` with a bar, how many candidates of
    the current step are scored, the best and the current eval score, the current prompt,
    how many candidates the last step rejected and why,
    the model calls so far (paid requests and cache hits of the task and optimizer models),
    the tokens and money spent, the elapsed time and an estimate of the time left.

    The display starts at the first event, is redrawn ``refresh_per_second`` times a second
    by rich's refresh thread, and stops (leaving its last frame) on the ``final`` event or
    on :meth:`close`. The usage ledger is read at most once every ``ledger_interval``
    seconds, so a long run with many records stays cheap. A ``start`` event after the
    display stopped begins a new display (one object can follow several runs in turn).

    Args:
        console: The rich console to draw on (default: one on stderr).
        refresh_per_second: Redraws per second.
        ledger_interval: Least time between two reads of the ledger, in seconds.
        auto_refresh: Redraw from a background thread; when ``False``, redraw only on
            events (at most ``refresh_per_second`` times a second) — for tests.
        clock: Monotonic clock in seconds (for tests).
    """

    def __init__(
        self,
        console: Optional["Console"] = None,
        *,
        refresh_per_second: float = 4.0,
        ledger_interval: float = 0.5,
        auto_refresh: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        self.console = console
        self.refresh_per_second = refresh_per_second
        self.ledger_interval = ledger_interval
        self.auto_refresh = auto_refresh
        self.clock = clock
        self._lock = threading.Lock()
        self._live: Any = None
        self._last_refresh: Optional[float] = None
        self._reset()

    # -- state ---------------------------------------------------------------------------

    def _reset(self) -> None:
        self.task: Optional[str] = None
        self.method: Optional[str] = None
        self.total = 0
        self.num_candidates: Optional[int] = None
        self.n_eval: Optional[int] = None
        self.resumed_from: Optional[int] = None
        self.ledger: Optional["Ledger"] = None
        self.steps_done = 0
        self.step_candidates = 0
        self.initial_score: Optional[float] = None
        self.current_score: Optional[float] = None
        self.best_score: Optional[float] = None
        self.prompt: Optional[str] = None
        self.last_step: Optional[str] = None
        self.phase = "starting"
        self.finished = False
        self.started_at: Optional[float] = None
        self.ended_at: Optional[float] = None
        self.steps_began_at: Optional[float] = None
        self.steps_this_session = 0
        self._usage: dict[str, dict[str, Any]] = {}
        self._usage_read_at: Optional[float] = None
        self._records_seen = 0
        self.ledger_reads = 0
        self.dry_run = False

    def _better(self, score: Optional[float]) -> None:
        if score is not None and (self.best_score is None or score > self.best_score):
            self.best_score = score

    def _next_phase(self) -> str:
        if self.steps_done >= self.total:
            return "scoring on test"
        return "step"

    def _phase_text(self) -> str:
        """What the run is doing now, e.g. ``step 4: 3/8 candidates scored``."""
        if self.phase != "step":
            return self.phase
        n = self.steps_done + 1
        if not self.step_candidates:
            return f"step {n}: sampling candidates"
        of = f"/{self.num_candidates}" if self.num_candidates else ""
        return f"step {n}: {self.step_candidates}{of} candidates scored"

    def _apply(self, event: Event) -> None:
        """Updates the state from one event (the caller holds the lock)."""
        kind = event.get("type")
        now = self.clock()
        if kind == "start":
            self._reset()
            self.started_at = now
            self.task = event.get("task")
            self.method = event.get("method")
            self.total = int(event.get("total") or 0)
            self.num_candidates = event.get("num_candidates")
            self.n_eval = event.get("n_eval")
            self.resumed_from = event.get("resumed_from")
            self.ledger = event.get("ledger")
            if self.resumed_from is not None:
                self.steps_done = self.resumed_from
                self.steps_began_at = now
                self.phase = self._next_phase()
            else:
                self.phase = "scoring the initial prompt"
        elif kind == "initial":
            self.initial_score = self.current_score = event.get("eval")
            self._better(self.initial_score)
            self.prompt = event.get("prompt")
            self.steps_began_at = now
            self.phase = self._next_phase()
        elif kind == "candidate":
            self.step_candidates += 1
            self._better(event.get("eval"))
            self.phase = "step"
        elif kind == "step":
            self.steps_done = int(event.get("step", self.steps_done + 1))
            self.total = int(event.get("total", self.total))
            self.steps_this_session += 1
            self.step_candidates = 0
            self.current_score = event.get("score")
            self.prompt = event.get("chosen", self.prompt)
            cands = event.get("candidates") or []
            self.last_step = f"step {self.steps_done}: {len(cands)} candidates, {fmt_rejected(c[2] for c in cands)}"
            self._better(event.get("best"))
            self.phase = self._next_phase()
        elif kind == "final":
            s = event.get("summary") or {}
            self.steps_done = s.get("steps_completed", self.steps_done)
            self.total = s.get("total_steps", self.total)
            best = (s.get("scores") or {}).get("best") or {}
            if best.get("eval") is not None:
                self.best_score = best["eval"]
            self.dry_run = self.dry_run or bool(s.get("dry_run"))
            if isinstance(s.get("usage"), dict):
                self._usage = s["usage"]
                self._usage_read_at = now
            self.phase = f"done: {s.get('stopped_reason', 'finished')}"
            self.finished = True
            self.ended_at = now

    def usage(self) -> dict[str, dict[str, Any]]:
        """The ledger's totals per role so far (as :meth:`Ledger.summary` gives them).

        The ledger is read at most once every ``ledger_interval`` seconds, and only the
        records added since the last read are summed, so a read stays cheap in a long run
        with tens of thousands of records.
        """
        if self.finished or self.ledger is None:
            return self._usage
        now = self.clock()
        if self._usage_read_at is None or now - self._usage_read_at >= self.ledger_interval:
            from gpo.lm.ledger import summarize

            records = self.ledger.records
            new = records[self._records_seen :]
            self._records_seen = len(records)
            if new:
                self._usage = merge_usage(self._usage, summarize(new))
                # A dry run's fake models are named after the real ones, "dry-run:SPEC".
                self.dry_run = self.dry_run or str(new[0].model).startswith("dry-run:")
            self._usage_read_at = now
            self.ledger_reads += 1
        return self._usage

    # -- drawing -------------------------------------------------------------------------

    def render(self) -> "RenderableType":
        """The panel as it stands (a rich renderable)."""
        with self._lock:
            return self._render()

    def _render(self) -> "RenderableType":
        from rich import box
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = self.ended_at if self.ended_at is not None else self.clock()
        elapsed = 0.0 if self.started_at is None else now - self.started_at

        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="ellipsis")

        # step t/T with a bar, and what the run is doing
        if self.total > 0:
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                Text(f"{self.steps_done}/{self.total}"),
                ProgressBar(total=self.total, completed=min(self.steps_done, self.total), width=24),
                Text(f"{100 * self.steps_done / self.total:3.0f}%"),
                Text(self._phase_text(), style="cyan"),
            )
            grid.add_row("step", bar)
        else:
            grid.add_row("step", Text(f"no steps (evaluation only) · {self._phase_text()}", style="cyan"))

        scores = Text()
        scores.append("best ")
        scores.append(fmt_score(self.best_score).strip(), style="bold green")
        scores.append(f" · current {fmt_score(self.current_score).strip()}")
        if self.initial_score is not None:  # unknown to a resumed run until it ends
            scores.append(f" · initial {fmt_score(self.initial_score).strip()}")
        if self.n_eval:
            scores.append(f" (eval split, {self.n_eval} examples)", style="dim")
        grid.add_row("scores", scores)

        if self.prompt is not None:
            grid.add_row("prompt", Text(" ".join(self.prompt.split()), no_wrap=True, overflow="ellipsis"))
        if self.last_step is not None:
            grid.add_row("last", Text(self.last_step))

        usage = self.usage()
        parts = []
        for role in ("task", "optimizer", "embedding"):
            u = usage.get(role)
            if role == "embedding" and not (u and u.get("calls")):
                continue
            u = u or {}
            parts.append(fmt_calls(role, u))
        grid.add_row("calls", Text(" · ".join(parts)))
        tokens_in = sum(u.get("input_tokens", 0) for u in usage.values())
        tokens_out = sum(u.get("output_tokens", 0) for u in usage.values())
        grid.add_row("tokens", Text(f"{fmt_count(tokens_in)} in / {fmt_count(tokens_out)} out"))

        spend = Text()
        spend.append(fmt_spend(total_cost(usage)), style="bold")
        if self.dry_run:
            spend.append(" (dry run: an estimate, no model was called)", style="dim")
        spend.append(f" · elapsed {fmt_duration(elapsed)}")
        remaining = self.total - self.steps_done
        if (
            not self.finished
            and remaining > 0
            and self.steps_this_session > 0
            and self.steps_began_at is not None
        ):
            per_step = (now - self.steps_began_at) / self.steps_this_session
            spend.append(f" · about {fmt_duration(per_step * remaining)} left")
        grid.add_row("spend", spend)

        title = Text("gpo")
        if self.task:
            title.append(f" · {self.task}")
        if self.method:
            title.append(f" · {self.method}")
        if self.resumed_from is not None:
            title.append(f" · resumed after step {self.resumed_from}")
        # A fixed width, so the frame does not jump as the numbers and the prompt change.
        width = min(self.console.width, PANEL_WIDTH)
        return Panel(grid, title=title, title_align="left", box=box.ROUNDED, width=width)

    # -- the callable --------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        kind = event.get("type")
        with self._lock:
            if kind != "start" and self._live is None and self.finished:
                return  # a stopped display ignores the rest of its run
            self._apply(event)
        if kind == "final":
            self._stop()
            return
        if self._live is None:
            self._start()
        elif not self.auto_refresh:
            now = self.clock()
            if self._last_refresh is None or now - self._last_refresh >= 1.0 / self.refresh_per_second:
                self._last_refresh = now
                self._live.refresh()

    def _start(self) -> None:
        from rich.live import Live

        live = Live(
            console=self.console,
            get_renderable=self._locked_render,
            auto_refresh=self.auto_refresh,
            refresh_per_second=self.refresh_per_second,
            transient=False,
            redirect_stdout=False,  # stdout may be a pipe carrying the result
            redirect_stderr=True,
        )
        self._live = live
        self._last_refresh = self.clock()
        live.start(refresh=True)

    def _locked_render(self) -> "RenderableType":
        with self._lock:
            return self._render()

    def _stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()  # draws the last frame and shows the cursor again

    def close(self) -> None:
        """Stops the display, leaving its last frame; safe to call more than once."""
        with self._lock:
            if self.started_at is not None and self.ended_at is None:
                self.ended_at = self.clock()
                self.phase = f"stopped ({self._phase_text()})"
            self.finished = True
        self._stop()

    def __enter__(self) -> "RunProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
