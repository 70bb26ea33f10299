"""The report's charts, drawn with matplotlib as inline SVG.

Each function takes plain numbers and returns an ``<svg>`` element as text: no JavaScript,
no external files, no text from a model (axis labels and legends are fixed strings), so the
SVG can go into the page as is. Points of the candidate charts link to the candidates'
entries further down the page (``#anchor``), which is the charts' only interactivity.

The figures are built with :class:`matplotlib.figure.Figure` directly, never pyplot, so no
global state or GUI backend is touched.
"""

from __future__ import annotations

import io
import re
from typing import Collection, Optional, Sequence

__all__ = ["score_chart", "edit_chart", "cost_chart", "compare_chart"]

# Colours that stay apart for colour-blind readers (Okabe–Ito).
BLUE, ORANGE, GREEN, GREY, RED, PURPLE = "#0072B2", "#E69F00", "#009E73", "#8c8c8c", "#D55E00", "#CC79A7"
ROLE_COLORS = {"task": BLUE, "optimizer": ORANGE, "embedding": GREEN}

_RC = {
    "svg.fonttype": "none",  # real <text> elements: smaller, selectable, page fonts
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
}


def _figure(width: float = 10.5, height: float = 3.6):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _to_svg(fig, name: str) -> str:
    """The figure as an inline ``<svg>`` that scales with its container."""
    import matplotlib

    buf = io.StringIO()
    # A salt per chart keeps the ids of clip paths and markers distinct between the
    # charts of one page, and makes the output deterministic.
    with matplotlib.rc_context({"svg.hashsalt": f"gpo-{name}", **_RC}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    # Let CSS size it: drop the fixed width and height, keep the viewBox.
    svg = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r"\1", svg, count=1)
    # Ids are unique per page only once prefixed with the chart's name, and the style
    # matplotlib puts in every SVG would otherwise apply to the whole page.
    own = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(
        r'(href="#|url\(#)([^")]+)',
        lambda m: m.group(1) + (f"{name}-{m.group(2)}" if m.group(2) in own else m.group(2)),
        svg,
    )
    svg = svg.replace("*{stroke-linejoin", "svg.chart *{stroke-linejoin")
    return svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{name} chart" ', 1)


def _style(ax, *, xlabel: str, ylabel: str, integer_x: bool = True) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        lo, hi = ax.get_xlim()
        if hi - lo < 1.2:  # one step (a run stopped early): ticks at that step, not at ±0.045
            mid = (lo + hi) / 2
            ax.set_xlim(mid - 0.6, mid + 0.6)


def _percent_scale(values: Sequence[float]) -> int:
    """100 when every score is a fraction in [0, 1] (shown in percent), else 1."""
    return 100 if all(0.0 <= v <= 1.0 for v in values) else 1


def _spread(steps: Sequence[int], indexes: Sequence[int], centered: Collection[tuple[int, int]] = ()) -> list[float]:
    """Horizontal positions that keep the points of one step from hiding each other.

    The point of each step named in ``centered`` (the candidate that became the step's
    prompt, drawn there too), else the step's first point, sits on the step; the others
    take turns right and left of it, at most 0.18 away.

    >>> _spread([1, 1, 1, 2], [0, 1, 2, 0], centered={(1, 2)})
    [1.18, 0.82, 1.0, 2.0]
    """
    members: dict[int, list[int]] = {}
    for s, i in zip(steps, indexes):
        if i not in members.setdefault(s, []):
            members[s].append(i)
    offset: dict[tuple[int, int], float] = {}
    for s, found in members.items():
        found = sorted(found)
        middle = next((i for i in found if (s, i) in centered), found[0])
        others = [i for i in found if i != middle]
        gap = 0.18 / max(1, (len(others) + 1) // 2)
        offset[(s, middle)] = 0.0
        for j, i in enumerate(others):
            offset[(s, i)] = (j // 2 + 1) * gap * (1 if j % 2 == 0 else -1)
    return [round(s + offset[(s, i)], 6) for s, i in zip(steps, indexes)]


def score_chart(
    history: Sequence[tuple[int, float, Optional[float]]],
    candidates: Sequence[tuple[int, int, float, bool, str]] = (),
    final_tests: Sequence[tuple[int, float, str]] = (),
    partial: Sequence[tuple[int, int, float, str]] = (),
) -> str:
    """Scores over the steps.

    Args:
        history: ``(step, eval score, test score or None)`` of each trajectory entry.
        candidates: ``(step, index, eval score, selected, anchor)`` of each candidate
            scored on the whole eval split.
        final_tests: ``(step, test score, label)`` of the prompts scored on test at the end
            (used when there are no per-step test scores).
        partial: ``(step, index, partial eval score, anchor)`` of each candidate racing
            dropped, drawn as crosses with a legend entry of their own, so that their
            scores (means over part of the eval split) are never taken for whole ones.

    Returns:
        The chart as ``<svg>`` text.
    """
    every = [h[1] for h in history] + [h[2] for h in history if h[2] is not None]
    every += [c[2] for c in candidates] + [t[1] for t in final_tests] + [c[2] for c in partial]
    k = _percent_scale(every)
    history = [(s, e * k, None if t is None else t * k) for s, e, t in history]
    candidates = [(s, i, v * k, sel, a) for s, i, v, sel, a in candidates]
    partial = [(s, i, v * k, a) for s, i, v, a in partial]
    final_tests = [(s, v * k, label) for s, v, label in final_tests]
    with _rc():
        fig = _figure(height=4.0)
        ax = fig.add_subplot()
        values: list[float] = []
        # One spread over both kinds, so that a cross never hides a dot of its step.
        xs = _spread([c[0] for c in [*candidates, *partial]], [c[1] for c in [*candidates, *partial]],
                     {(c[0], c[1]) for c in candidates if c[3]})
        if candidates:
            ys = [c[2] for c in candidates]
            colors = [BLUE if c[3] else GREY for c in candidates]
            sc = ax.scatter(xs[: len(candidates)], ys, s=22, c=colors, alpha=0.55, linewidths=0, label="candidates (eval)", zorder=2)
            sc.set_urls([f"#{c[4]}" for c in candidates])
            values += ys
        if partial:
            ys = [c[2] for c in partial]
            sc = ax.scatter(xs[len(candidates) :], ys, s=26, marker="x", color=PURPLE, linewidths=1.2,
                            label="raced out (partial eval)", zorder=2)
            sc.set_urls([f"#{c[3]}" for c in partial])
            values += ys
        steps = [h[0] for h in history]
        evals = [h[1] for h in history]
        if history:
            best, running = [], float("-inf")
            for v in evals:
                running = max(running, v)
                best.append(running)
            ax.step(steps, best, where="post", color=BLUE, linewidth=2, label="best so far (eval)", zorder=3)
            ax.plot(steps, evals, color=ORANGE, marker="o", markersize=4, linestyle="--", linewidth=1.2,
                    label="current prompt (eval)", zorder=4)
            values += evals
        tested = [(h[0], h[2]) for h in history if h[2] is not None]
        if tested:
            ax.plot([t[0] for t in tested], [t[1] for t in tested], color=GREEN, marker="s", markersize=4,
                    linewidth=1.2, label="current prompt (test)", zorder=4)
            values += [t[1] for t in tested]
        elif final_tests:
            for step, score, label in final_tests:
                ax.scatter([step], [score], marker="D", s=42, color=GREEN, zorder=5)
                ax.annotate(label, (step, score), textcoords="offset points", xytext=(6, -10), fontsize=8, color=GREEN)
            ax.scatter([], [], marker="D", color=GREEN, label="test score")
            values += [t[1] for t in final_tests]
        _style(ax, xlabel="step", ylabel="score (%)" if k == 100 else "score")
        if k == 100:
            ax.set_ylim(-4, 104)
        if values:
            ax.legend(loc="best", ncols=2)
        return _to_svg(fig, "scores")


def edit_chart(
    budgets: Sequence[tuple[int, Optional[int]]],
    distances: Sequence[tuple[int, int, int, bool, str]],
) -> str:
    """The edit budget of the schedule against the words each candidate changed.

    Args:
        budgets: ``(step, budget in words or None)`` per step.
        distances: ``(step, index, words changed, over budget, anchor)`` per candidate.
    """
    with _rc():
        fig = _figure(height=3.4)
        ax = fig.add_subplot()
        known = [(s, b) for s, b in budgets if b is not None]
        if known:
            ax.plot([k[0] for k in known], [k[1] for k in known], color=PURPLE, linewidth=2, marker="o",
                    markersize=3, label="edit budget (schedule)", zorder=3)
        if distances:
            xs = _spread([d[0] for d in distances], [d[1] for d in distances])
            colors = [RED if d[3] else BLUE for d in distances]
            sc = ax.scatter(xs, [d[2] for d in distances], s=22, c=colors, alpha=0.7, linewidths=0, zorder=2)
            sc.set_urls([f"#{d[4]}" for d in distances])
            ax.scatter([], [], color=BLUE, s=22, label="candidate: words changed")
            if any(d[3] for d in distances):
                ax.scatter([], [], color=RED, s=22, label="over budget")
        _style(ax, xlabel="step", ylabel="words")
        ax.set_ylim(bottom=0)
        if known or distances:
            ax.legend(loc="best")
        return _to_svg(fig, "edits")


def cost_chart(labels: Sequence[str], series: dict[str, Sequence[float]], measure: str) -> str:
    """Running total of cost (or tokens) over the steps, per role and in all.

    Args:
        labels: Step labels, in order.
        series: Running totals per role, one value per label.
        measure: ``cost_usd`` or ``tokens``.
    """
    with _rc():
        fig = _figure(height=3.2)
        ax = fig.add_subplot()
        xs = list(range(len(labels)))
        for role, values in series.items():
            ax.plot(xs, list(values), color=ROLE_COLORS.get(role, GREY), marker="o", markersize=3.5,
                    linewidth=1.6, label=role)
        if len(series) > 1:
            total = [sum(v) for v in zip(*series.values())]
            ax.plot(xs, total, color="#1d2330", linestyle="--", linewidth=1.2, label="all")
        ax.set_xticks(xs, list(labels))
        _style(ax, xlabel="step", ylabel="cumulative $" if measure == "cost_usd" else "cumulative tokens",
               integer_x=False)
        ax.set_ylim(bottom=0)
        if series:
            ax.legend(loc="upper left")
        return _to_svg(fig, "cost")


def compare_chart(rows: Sequence[tuple[str, Optional[float], Optional[float]]]) -> str:
    """Initial and final test scores of several runs, as paired bars.

    Args:
        rows: ``(short label, initial test, final test)`` per run.
    """
    k = _percent_scale([v for r in rows for v in r[1:] if v is not None])
    rows = [(label, None if a is None else a * k, None if b is None else b * k) for label, a, b in rows]
    with _rc():
        fig = _figure(height=max(2.0, 0.42 * len(rows) + 1.0))
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        h = 0.38
        ax.barh([y + h / 2 for y in ys], [r[1] or 0.0 for r in rows], height=h, color=GREY, label="initial (test)")
        ax.barh([y - h / 2 for y in ys], [r[2] or 0.0 for r in rows], height=h, color=BLUE, label="final (test)")
        ax.set_yticks(ys, [r[0] for r in rows])
        ax.set_xlabel("test score (%)" if k == 100 else "test score")
        if k == 100:
            ax.set_xlim(0, 100)
        ax.legend(loc="lower right")
        return _to_svg(fig, "compare")


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)
