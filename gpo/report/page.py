"""The HTML report of one run: gathering what it shows, rendering it, writing the file.

The page is one self-contained file: styles inline, charts as inline SVG, no script at
all. Its Content-Security-Policy forbids scripts outright, so even text that escaped the
escaping could not run. Every text that came from a model (prompts, completions,
reflections, example inputs and outputs) reaches the page through Jinja2's autoescaping
and is never marked safe; only the SVG charts, which this package draws from numbers and
fixed labels, are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from gpo.report.cost import OUTSIDE_STEPS, cumulative_by_step, format_cost, usage_rows, usage_totals
from gpo.report.diff import DiffPiece, diff_counts, word_diff
from gpo.report.examples import ExamplePair, pair_results
from gpo.report.provenance import Origin, SourcePrompt, sentence_origins
from gpo.report.racing import raced_out_note, racing_summary
from gpo.report.run import RunData, load_run
from gpo.report.stats import (
    EVAL_TEST_GAIN_MARGIN,
    EVAL_TEST_GAP_GROWTH,
    EVAL_TEST_GAP_LIMIT,
    OverfitCheck,
    PairedComparison,
    check_overfitting,
    compare_paired,
)


__all__ = ["REPORT_FILE", "CSP", "build_context", "render_report", "write_report", "environment", "provenance", "statistics"]

REPORT_FILE = "report.html"

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The pages' Content-Security-Policy: no script, no network, no external resource."""


def environment():
    """The Jinja2 environment of the report templates (autoescaping on for every template)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gpo.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, num=_num, pvalue=_pvalue, signed=_signed, value=_value)
    env.globals.update(CSP=CSP)
    return env


# -- formatting filters ------------------------------------------------------------------------


def _pct(x: Optional[float], digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}"


def _signed(x: Optional[float], digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:+.{digits}f}"


def _num(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.2f}"
    return f"{int(x):,}"


def _pvalue(p: Optional[float]) -> str:
    if p is None:
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}".rstrip("0").rstrip(".") if p < 1 else "1"


def _value(v: Any) -> str:
    """A setting's value as text (JSON for anything but strings)."""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


# -- what the page shows -----------------------------------------------------------------------


@dataclass
class CandidateView:
    """One candidate as the page shows it: its record, its diff against its parent, its anchor.

    ``raced_out`` says, for a candidate racing dropped, that its ``score`` is a mean over
    part of the eval split only (``None``: a whole-split score, or none).
    """

    anchor: str
    step: int
    index: int
    prompt: Optional[str]
    parent: str
    raw: str
    score: Optional[float]
    diff: list[DiffPiece]
    deleted: int
    inserted: int
    edit_distance: Optional[int]
    edit_budget: Optional[int]
    duplicate: bool
    over_budget: bool
    rejected: Optional[str]
    selected: bool
    meta_prompt_id: Optional[str]
    clipped_from: Optional[str] = None
    raced_out: Optional[str] = None  # why its score is partial, when racing dropped it


@dataclass
class StepView:
    """One step as the page shows it: its budget, chosen prompt, candidates and meta-prompts."""

    step: int
    anchor: str
    budget: Optional[int]
    chosen: Optional[str]
    chosen_score: Optional[float]
    chosen_test: Optional[float]
    best_so_far: Optional[float]
    reflection: Optional[str]
    candidates: list[CandidateView] = field(default_factory=list)
    meta_prompts: list[Any] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """How many candidates the step had, and how many were scored, duplicates, rejected, over budget, raced out."""
        c = self.candidates
        return {
            "candidates": len(c),
            "scored": sum(1 for x in c if x.score is not None),
            "duplicate": sum(1 for x in c if x.duplicate),
            "rejected": sum(1 for x in c if x.rejected),
            "over_budget": sum(1 for x in c if x.over_budget),
            "raced_out": sum(1 for x in c if x.raced_out),
        }


def _anchor(step: int, index: int) -> str:
    return f"cand-{step}-{index}"


def _steps(run: RunData, n_eval: Optional[int] = None) -> list[StepView]:
    """The steps of a run, each with its candidates and meta-prompts (``n_eval``: its eval examples)."""
    by_step = {e.step: e for e in run.history}
    views = []
    running = run.initial.score if run.initial else None
    for t in run.steps():
        cands = [c for c in run.candidates if c.step == t]
        entry = by_step.get(t)
        if entry is not None and running is not None:
            running = max(running, entry.score)
        budget = next((c.edit_budget for c in cands if c.edit_budget is not None), None)
        view = StepView(
            step=t,
            anchor=f"step-{t}",
            budget=budget,
            chosen=entry.prompt if entry else None,
            chosen_score=entry.score if entry else None,
            chosen_test=entry.test_score if entry else None,
            best_so_far=running,
            reflection=entry.reflection if entry else None,
            meta_prompts=[m for m in run.meta_prompts if m.step == t],
        )
        for c in cands:
            pieces = word_diff(c.parent or "", c.prompt) if c.prompt is not None else []
            deleted, inserted = diff_counts(pieces)
            view.candidates.append(
                CandidateView(
                    anchor=_anchor(c.step, c.index),
                    step=c.step,
                    index=c.index,
                    prompt=c.prompt,
                    parent=c.parent,
                    raw=c.raw,
                    score=c.eval_score,
                    diff=pieces,
                    deleted=deleted,
                    inserted=inserted,
                    edit_distance=c.edit_distance,
                    edit_budget=c.edit_budget,
                    duplicate=c.duplicate,
                    over_budget=c.over_budget,
                    rejected=c.rejected,
                    selected=c.selected,
                    meta_prompt_id=c.meta_prompt_id,
                    clipped_from=c.clipped_from,
                    raced_out=None if c.dropped_after is None else raced_out_note(c.dropped_after, n_eval),
                )
            )
        views.append(view)
    return views


def provenance(run: RunData) -> list[Origin]:
    """Where each sentence of the run's final prompt first appeared."""
    if run.best is None:
        return []
    sources = []
    if run.initial is not None:
        sources.append(SourcePrompt(0, "initial prompt", run.initial.prompt, "prompts"))
    for c in run.candidates:
        if c.prompt:
            sources.append(SourcePrompt(c.step, f"step {c.step}, candidate {c.index}", c.prompt, _anchor(c.step, c.index)))
    for e in run.history[1:]:
        sources.append(SourcePrompt(e.step, f"step {e.step}, chosen prompt", e.prompt, f"step-{e.step}"))
    return sentence_origins(run.best.prompt, sources)


def _charts(run: RunData, steps: list[StepView]) -> dict[str, Any]:
    from markupsafe import Markup

    import gpo.report.plots as plots

    history = [(e.step, e.score, e.test_score) for e in run.history]
    scored = [
        (c.step, c.index, c.score, c.selected, c.anchor)
        for s in steps
        for c in s.candidates
        if c.score is not None and c.raced_out is None
    ]
    partial = [
        (c.step, c.index, c.score, c.anchor)
        for s in steps
        for c in s.candidates
        if c.score is not None and c.raced_out is not None
    ]
    finals = []
    it, bt = run.score("initial", "test"), run.score("best", "test")
    if it is not None and run.initial is not None:
        finals.append((0, it, "initial"))
    if bt is not None and run.best is not None:
        finals.append((run.best.step, bt, "final"))
    charts: dict[str, Any] = {}
    if history or scored or partial:
        charts["scores"] = Markup(plots.score_chart(history, scored, finals, partial))
    distances = [
        (c.step, c.index, c.edit_distance, c.over_budget, c.anchor)
        for s in steps
        for c in s.candidates
        if c.edit_distance is not None
    ]
    budgets = [(s.step, s.budget) for s in steps]
    if distances or any(b is not None for _, b in budgets):
        charts["edits"] = Markup(plots.edit_chart(budgets, distances))
    if run.usage:
        measure = "cost_usd" if any((u.cost_usd or 0) > 0 for u in run.usage) else "tokens"
        labels, series = cumulative_by_step(run.usage, measure)
        charts["cost"] = Markup(plots.cost_chart(labels, series, measure))
        charts["cost_measure"] = measure
    return charts


def statistics(run: RunData) -> tuple[list[ExamplePair], Optional[PairedComparison], Optional[OverfitCheck]]:
    """The paired examples, the paired test and the overfitting check of a run."""
    pairs = pair_results(run.initial_test, run.best_test)
    comparison = None
    if pairs:
        comparison = compare_paired([p.initial_score for p in pairs], [p.final_score for p in pairs], seed=0)
    scores = [run.score(w, s) for w in ("initial", "best") for s in ("eval", "test")]
    overfit = None
    if all(v is not None for v in scores):
        ie, it, be, bt = scores
        overfit = check_overfitting(ie, be, it, bt)
    return pairs, comparison, overfit


def _adherence(run: RunData) -> dict[str, Any]:
    from gpo.runs.runner import budget_adherence

    return budget_adherence(run.candidates)


def build_context(run: RunData) -> dict[str, Any]:
    from gpo.departures import lighter_than_paper

    """Everything the report template needs, from a loaded run."""
    summary = run.summary or {}
    n_eval = summary.get("n_eval", run.args.get("eval_limit"))
    steps = _steps(run, n_eval)
    pairs, comparison, overfit = statistics(run)
    initial, best = run.initial, run.best
    prompt_diff = word_diff(initial.prompt, best.prompt) if initial and best else []
    origins = provenance(run)
    measure_rows = usage_rows(run.usage)
    optimizer_settings = run.optimizer_settings  # read once: it may be rebuilt from config.json
    import gpo

    return {
        "run": run,
        "gpo_version": getattr(gpo, "__version__", "?"),
        "title": f"{run.task} · {run.method}",
        "settings": sorted((k, v) for k, v in run.args.items() if k != "optimizer"),
        "adherence": summary.get("edit_budget") or _adherence(run),
        "lighter": lighter_than_paper(run.args),
        "beyond_paper": run.beyond_paper,
        "protocol": run.args.get("protocol"),
        "optimizer_settings": sorted(optimizer_settings.items()),
        "identities": run.config.get("identities") or {},
        "models": run.models,
        "scores": {
            "initial": {"eval": run.score("initial", "eval"), "test": run.score("initial", "test")},
            "best": {"eval": run.score("best", "eval"), "test": run.score("best", "test")},
        },
        "n_eval": n_eval,
        "racing": racing_summary(run.candidates, optimizer_settings.get("evaluation"), n_eval, run.args.get("two_round")),
        "n_test": summary.get("n_test") or (len(run.best_test) if run.best_test else None),
        "seconds": summary.get("seconds"),
        "initial": initial,
        "best": best,
        "same_prompt": bool(initial and best and initial.prompt == best.prompt),
        "prompt_diff": prompt_diff,
        "prompt_diff_counts": diff_counts(prompt_diff),
        "steps": steps,
        "per_step_test": any(e.test_score is not None for e in run.history),
        "origins": origins,
        "origin_steps": sorted({o.step for o in origins if o.step is not None}),
        "pairs": pairs,
        "fixed": [p for p in pairs if p.fixed],
        "broken": [p for p in pairs if p.broken],
        "comparison": comparison,
        "overfit": overfit,
        "gain_margin": EVAL_TEST_GAIN_MARGIN,
        "gap_limit": EVAL_TEST_GAP_LIMIT,
        "gap_growth": EVAL_TEST_GAP_GROWTH,
        "usage_rows": measure_rows,
        "usage_totals": usage_totals(run.usage),
        "outside_steps": OUTSIDE_STEPS,
        "format_cost": format_cost,
        "charts": _charts(run, steps),
    }


def render_report(run: Union[RunData, str, Path]) -> str:
    """The report of a run as HTML text.

    Args:
        run: A loaded run or its directory.
    """
    if not isinstance(run, RunData):
        run = load_run(run)
    return environment().get_template("report.html.j2").render(**build_context(run))


def write_report(run_dir: Union[str, os.PathLike], out: Union[str, os.PathLike, None] = None) -> Path:
    """Writes the HTML report of a run directory.

    Args:
        run_dir: The run directory (finished or not).
        out: The file to write (default: ``RUN_DIR/report.html``).

    Returns:
        The path of the written file.

    Raises:
        DataError: The folder holds no run.
    """
    run = load_run(run_dir)
    target = Path(out) if out is not None else run.path / REPORT_FILE
    html = render_report(run)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
    return target
