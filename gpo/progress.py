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
context managers.

Example:
    >>> progress = make_progress("plain")  # doctest: +SKIP
    >>> try:
    ...     gpo.api.optimize("synthetic/word_sorting", dry_run=True, on_event=progress)
    ... finally:
    ...     progress.close()
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, RenderableType

    from gpo.lm.ledger import Ledger

Event = dict[str, Any]

MODES: tuple[str, ...] = ("auto", "live", "plain", "quiet")
PANEL_WIDTH = 100

# ----------------------------------------------------------------------------- formatting


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


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


# ----------------------------------------------------------------------------- plain lines


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
            scored = [c[1] for c in cands if c[1] is not None]
            rejected = sum(1 for c in cands if c[2])
            dups = sum(1 for c in cands if c[3])
            budget = "no limit" if event["budget"] is None else f"{event['budget']} words"
            return (
                f"step {event['step']}/{event['total']}: budget {budget}; {len(cands)} candidates "
                f"(best {fmt_score(max(scored) if scored else None)}, {rejected} rejected, {dups} repeats); "
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


# ----------------------------------------------------------------------------- live panel


class RunProgress:
    """A live panel of an optimization run, redrawn in place on a terminal.

    The panel shows the task and method, the step ``t/T`` with a bar, how many candidates of
    the current step are scored, the best and the current eval score, the current prompt,
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

        usage = self.usage()
        parts = []
        for role in ("task", "optimizer", "embedding"):
            u = usage.get(role)
            if role == "embedding" and not (u and u.get("calls")):
                continue
            u = u or {}
            parts.append(f"{role} {u.get('requests', 0)} paid + {u.get('cached_calls', 0)} cached")
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


# ----------------------------------------------------------------------------- the factory


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
