"""The HTML report: its pure parts, the pages it renders, and the pages in a real browser."""

from __future__ import annotations

import doctest
import itertools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("jinja2", reason="the report extra is not installed (pip install 'gpo[report]')")
pytest.importorskip("matplotlib", reason="the report extra is not installed (pip install 'gpo[report]')")
pytest.importorskip("scipy", reason="the report extra is not installed (pip install 'gpo[report]')")

from click.testing import CliRunner  # noqa: E402
import markupsafe  # noqa: E402

import gpo.report  # noqa: E402
from gpo.errors import DataError  # noqa: E402
from gpo.report import cost, diff, examples, provenance, racing, stats  # noqa: E402
from gpo.report.commands import compare_command, report_command  # noqa: E402
from gpo.report.cost import format_cost, usage_rows, usage_totals  # noqa: E402
from gpo.report.diff import diff_counts, word_diff  # noqa: E402
from gpo.report.examples import pair_results  # noqa: E402
from gpo.report.page import CSP, render_report  # noqa: E402
from gpo.report.provenance import SourcePrompt, sentence_origins, split_sentences  # noqa: E402
from gpo.report.run import load_run  # noqa: E402
from gpo.report.stats import (  # noqa: E402
    check_overfitting,
    compare_paired,
    mcnemar_exact,
    paired_bootstrap_ci,
    sign_flip_pvalue,
)

FIXTURE = Path(__file__).parent / "fixtures" / "recorded_gpo_run"

# Prompts and answers a hostile (or merely careless) model could produce.
MARKUP_PROMPTS = [
    '<script>alert(1)</script> <b class="injected">bold</b> Think step by step.',
    "<img src=x onerror=\"document.title='pwned'\"> Think step by step. </pre></div></script>"
    '<script>document.title="pwned2"</script>',
    'Answer with True or False. <b class="injected">Be careful</b> & check {{ 7*7 }} twice.',
    "\"><svg onload=\"document.title='pwned3'\"> Evaluate the expression step by step.",
]
MARKUP_INITIAL = 'Let\'s think <b class="injected">step</b> by step.'


# ---------------------------------------------------------------------------- run fixtures


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Real run directories: a priced dry run, a run full of markup, and the recorded run."""
    from gpo.api import optimize
    from gpo.lm import ScriptedLM

    base = tmp_path_factory.mktemp("report_runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GPO_HOME", str(base / "home"))
        mp.delenv("GPO_MODEL", raising=False)
        optimize(
            "synthetic/boolean_expressions",
            dry_run=True,
            model="openai:gpt-4o-mini",
            steps=4,
            run_dir=base / "dry",
            test_every_step=True,
        )
        prompts = itertools.cycle(MARKUP_PROMPTS)
        answers = itertools.cycle(
            ["The answer is True.", "The answer is False.", '<b class="injected">True</b><script>document.title="pwned4"</script>']
        )

        def reply(request):
            text = "\n".join(m["content"] for m in request.messages)
            if "<START>" in request.messages[-1]["content"]:
                return f"Sure! <i class=injected>x</i> <START>{next(prompts)}<END>"
            if "Answer with True or False" in text:
                m = re.search(r"^(.*) is\s*$", text, re.M)
                if m:  # this prompt "works": answer the boolean expression correctly
                    value = eval(m.group(1).strip(), {"__builtins__": {}})  # noqa: S307 - synthetic task data
                    return f'<b class="injected">{value}</b> The answer is {value}.'
            return next(answers)

        optimize(
            "synthetic/boolean_expressions",
            model=ScriptedLM(default=reply),
            steps=3,
            run_dir=base / "markup",
            initial_prompt=MARKUP_INITIAL,
            test_every_step=True,
            num_candidates=3,
            eval_limit=8,
            test_limit=12,
            embedder="lexical",
        )
    recorded = base / "recorded"
    shutil.copytree(FIXTURE, recorded)
    return SimpleNamespace(base=base, dry=base / "dry", markup=base / "markup", recorded=recorded)


def _partial_copy(src: Path, dst: Path) -> Path:
    """A run as it looks mid-way: no summary, no test results."""
    shutil.copytree(src, dst)
    (dst / "summary.json").unlink()
    shutil.rmtree(dst / "results")
    return dst


def _budget_stopped_copy(src: Path, dst: Path) -> Path:
    """A run stopped by its budget before scoring on test."""
    shutil.copytree(src, dst)
    summary = json.loads((dst / "summary.json").read_text())
    summary["stopped_reason"] = "budget exceeded: task calls 100 of 100"
    for which in ("initial", "best"):
        summary["scores"][which]["test"] = None
    summary["n_test"] = 0
    (dst / "summary.json").write_text(json.dumps(summary))
    shutil.rmtree(dst / "results")
    return dst


# ---------------------------------------------------------------------------- word diff


def _side(pieces, keep):
    return " ".join("".join(p.text for p in pieces if p.op in keep).split())


def test_word_diff_marks_inserted_and_deleted_words():
    pieces = word_diff("Let's think step by step.", "Let's think carefully, step by step!")
    assert [(p.op, p.text.strip()) for p in pieces] == [
        ("equal", "Let's think"),
        ("insert", "carefully,"),
        ("equal", "step by"),
        ("delete", "step."),
        ("insert", "step!"),
    ]
    assert diff_counts(pieces) == (1, 2)


@pytest.mark.parametrize(
    "old,new",
    [
        ("a b c", "a x c"),
        ("", "brand new prompt"),
        ("old prompt", ""),
        ("same words", "same words"),
        ("Line one.\nLine two.", "Line one.\nLine 2.\nLine three."),
        ("x  y\t z", "x y z"),
    ],
)
def test_word_diff_rebuilds_both_texts(old, new):
    pieces = word_diff(old, new)
    assert _side(pieces, {"equal", "delete"}) == " ".join(old.split())
    assert _side(pieces, {"equal", "insert"}) == " ".join(new.split())
    assert all(a.op != b.op for a, b in zip(pieces, pieces[1:]))


def test_word_diff_keeps_line_breaks_of_the_new_text():
    pieces = word_diff("First.\nSecond.", "First.\nSecond.\nThird.")
    assert "".join(p.text for p in pieces if p.op != "delete") == "First.\nSecond.\nThird."


def test_word_diff_ignores_whitespace_only_changes():
    assert [p.op for p in word_diff("a  b\nc", "a b c")] == ["equal"]


# ---------------------------------------------------------------------------- provenance


def test_split_sentences():
    assert split_sentences('Read it. Then answer "yes." Or no?\n\nBullet one\n- two') == [
        "Read it.",
        'Then answer "yes."',
        "Or no?",
        "Bullet one",
        "- two",
    ]
    assert split_sentences("") == []


def test_sentence_origin_is_the_earliest_step_whatever_the_case_and_spacing():
    sources = [
        SourcePrompt(3, "step 3", "Double-check   the RESULT. Think step by step."),
        SourcePrompt(0, "initial", "Think step by step."),
        SourcePrompt(2, "step 2", "Read the question.\nDouble-check the result."),
        SourcePrompt(1, "step 1", "Think step by step, slowly."),
    ]
    origins = sentence_origins("Think step by step. Double-check the result. Brand new words.", sources)
    assert [(o.sentence, o.step) for o in origins] == [
        ("Think step by step.", 0),
        ("Double-check the result.", 2),
        ("Brand new words.", None),
    ]
    assert origins[1].source.label == "step 2"


def test_sentence_origin_matches_whole_words_only():
    sources = [SourcePrompt(1, "a", "Take many steps."), SourcePrompt(2, "b", "Take steps. Go.")]
    # "steps." inside "many steps." is not the sentence "Take steps."
    assert sentence_origins("Take steps.", sources)[0].step == 2


def test_provenance_of_a_real_run(runs):
    from gpo.report.page import provenance as run_provenance

    run = load_run(runs.dry)
    origins = run_provenance(run)
    assert [o.sentence for o in origins] == split_sentences(run.best.prompt)
    assert all(o.step is not None and o.step <= run.best.step for o in origins)
    # The final prompt's own step holds at least its newest sentence.
    assert max(o.step for o in origins) <= run.best.step


# ---------------------------------------------------------------------------- statistics


def test_mcnemar_matches_a_hand_computed_case():
    # 7 examples fixed, 1 broken, 3 right with both, 2 wrong with both.
    initial = [0] * 7 + [1] + [1] * 3 + [0] * 2
    final = [1] * 7 + [0] + [1] * 3 + [0] * 2
    r = mcnemar_exact(initial, final)
    assert (r.fixed, r.broken, r.both, r.neither) == (7, 1, 3, 2)
    # Two-sided exact binomial: 2 * P(X <= 1), X ~ Bin(8, 1/2) = 2 * (1 + 8) / 256.
    assert r.pvalue == pytest.approx(18 / 256, abs=1e-12)
    # Symmetric in the direction of the change.
    assert mcnemar_exact(final, initial).pvalue == pytest.approx(r.pvalue)


def test_mcnemar_second_hand_computed_case_and_no_discordant_pairs():
    initial = [1, 1] + [0] * 10 + [1] * 5
    final = [0, 0] + [1] * 10 + [1] * 5
    # 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12 = 2 * 79 / 4096
    assert mcnemar_exact(initial, final).pvalue == pytest.approx(158 / 4096, abs=1e-12)
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]).pvalue == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0], [1])


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    initial = [((7 * i) % 11) / 11 for i in range(30)]
    final = [min(1.0, x + ((3 * i) % 7) / 20) for i, x in enumerate(initial)]
    a = paired_bootstrap_ci(initial, final, seed=0)
    assert a == paired_bootstrap_ci(initial, final, seed=0)
    assert a != paired_bootstrap_ci(initial, final, seed=1)
    assert paired_bootstrap_ci(initial, final, seed=0, resamples=500) != a
    mean = sum(f - i for i, f in zip(initial, final)) / len(final)
    assert a[0] < mean < a[1]
    assert paired_bootstrap_ci([0.5, 0.5], [0.5, 0.5]) == (0.0, 0.0)
    low, high = paired_bootstrap_ci([], [])
    assert low != low and high != high  # nan without examples


def test_compare_paired_picks_the_test_by_metric():
    binary = compare_paired([0, 0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1, 1])
    assert binary.test == "mcnemar" and binary.significant
    assert binary.pvalue == pytest.approx(2 / 64)
    assert "significantly better" in binary.verdict()
    graded = compare_paired([0.2, 0.4, 0.3, 0.5], [0.25, 0.35, 0.3, 0.55])
    assert graded.test == "sign-flip" and graded.mcnemar is None
    assert not graded.significant and "not significant" in graded.verdict()
    assert compare_paired([0.3, 0.6], [0.3, 0.6]).pvalue == 1.0
    assert sign_flip_pvalue([0.0] * 12, [1.0] * 12) < 0.001
    assert sign_flip_pvalue([0.1, 0.2], [0.3, 0.1], seed=3) == sign_flip_pvalue([0.1, 0.2], [0.3, 0.1], seed=3)
    # Differences 0.5, -0.1, 0.3: of the 8 sign patterns, +++, +-+, -+- and --- have |sum| >= 0.7.
    assert sign_flip_pvalue([0.0, 0.1, 0.0], [0.5, 0.0, 0.3]) == pytest.approx(0.5)
    # 2**12 patterns exceed 1,000 resamples: drawn, the observed one counted on each side and
    # the smaller side doubled.
    assert sign_flip_pvalue([0.0] * 12, [1.0] * 12, resamples=1000) == pytest.approx(2 / 1001)


@pytest.mark.parametrize(
    "scores,warn,rule",
    [
        ((0.50, 0.90, 0.50, 0.55), True, "eval gain"),  # +40 eval, +5 test
        ((0.50, 0.70, 0.45, 0.62), False, None),  # gains agree
        ((0.50, 0.60, 0.48, 0.56), False, None),  # +10 vs +8: within the margin
        ((0.90, 0.95, 0.60, 0.64), False, None),  # test split harder for every prompt: not overfitting
        ((0.40, 0.80, 0.40, 0.70), False, None),  # eval gain larger by exactly the margin: quiet
        ((0.40, 0.81, 0.40, 0.70), True, "eval gain"),  # …and just past it
    ],
)
def test_overfitting_rule(scores, warn, rule):
    ie, be, it, bt = scores
    check = check_overfitting(ie, be, it, bt)
    assert check.warning is warn
    if rule:
        assert any(rule in r for r in check.reasons)


def test_overfitting_rule_two_alone():
    # eval gain 8, test gain 0: rule 1 quiet; final gap 20 > 15 and 8 points wider than the initial 12: rule 2.
    check = check_overfitting(0.72, 0.80, 0.60, 0.60)
    assert check.warning and len(check.reasons) == 1 and "higher on eval" in check.reasons[0]
    assert check.final_gap == pytest.approx(0.20)


# ---------------------------------------------------------------------------- ledger and examples


def _usage(step, role, calls=1, cost_usd=0.01, cached=0, tokens=(10, 5)):
    return SimpleNamespace(
        step=step, role=role, model="m", calls=calls, samples=1, cached_samples=cached,
        input_tokens=tokens[0], output_tokens=tokens[1], retries=0, latency_s=0.5, cost_usd=cost_usd,
    )


# ---------------------------------------------------------------------------- chart and cost details


def _x_tick_labels(svg: str) -> list[str]:
    """The x axis's tick labels of a chart (its text is kept as <text>)."""
    axis = svg.split('id="scores-matplotlib.axis_1"', 1)[1].split('id="scores-matplotlib.axis_2"', 1)[0]
    return re.findall(r"<text[^>]*>([^<]*)</text>", axis)[:-1]  # the last is the axis label


def test_the_chosen_candidate_sits_on_its_step_under_the_current_prompt():
    from gpo.report.plots import _spread

    # Step 1: candidate 2 became the prompt; step 2: none did (the first sits on the step).
    xs = _spread([1, 1, 1, 1, 2, 2], [0, 1, 2, 3, 0, 1], centered={(1, 2)})
    assert xs[2] == 1.0 and xs[4] == 2.0
    assert sorted(xs[:4]) == [0.91, 1.0, 1.09, 1.18]  # the others take turns right and left of it


def test_a_run_stopped_after_step_0_has_a_tick_at_0_only():
    from gpo.report.plots import score_chart

    assert _x_tick_labels(score_chart([(0, 0.5, None)])) == ["0"]  # not −0.045 … 0.045
    assert _x_tick_labels(score_chart([(0, 0.5, None), (1, 0.6, None), (2, 0.7, None)])) == ["0", "1", "2"]


def test_embedding_calls_are_filed_under_their_step_in_the_summary_and_the_report(tmp_path):
    from gpo.api import optimize
    from gpo.runs.session import read_usage
    from gpo.runs import RunDir

    from gpo.testing.server import OpenAICompatServer

    with OpenAICompatServer() as server:  # an embedder that records its calls
        result = optimize("synthetic/navigate", model="fake:", embedder=f"openai:e@{server.url}", steps=2, run_dir=tmp_path / "run")
    records = read_usage(RunDir(tmp_path / "run"))
    embedding = [r for r in records if r.role == "embedding"]
    assert embedding and all(r.step in (1, 2) for r in embedding)
    by_step = result.summary["usage_by_step"]
    assert set(by_step) == {"0", "1", "2", "after steps"}  # no "setup" for what happened in a step
    assert set(by_step["after steps"]) == {"task"}  # the final test scoring only
    assert sum(by_step[s].get("embedding", {}).get("calls", 0) for s in ("1", "2")) == len(embedding)
    assert [(r.step_label, r.role) for r in usage_rows(records) if r.role == "embedding"] == [
        (str(s), "embedding") for s in sorted({r.step for r in embedding})
    ]


def test_the_cost_table_says_call_time_is_summed_and_gives_the_wall_time(runs):
    html = render_report(load_run(runs.recorded))
    assert "call time, summed (s)" in html and "latency (s)" not in html
    seconds = json.loads((runs.recorded / "summary.json").read_text())["seconds"]
    assert f"so it can exceed the run's wall time ({seconds:.0f} s)" in html


def test_usage_rows_group_by_step_and_role_with_outside_steps_last():
    records = [
        _usage(None, "task"),
        _usage(2, "optimizer"),
        _usage(0, "task"),
        _usage(2, "task", calls=0, cached=1, cost_usd=0.0),
        _usage(2, "task", cost_usd=None),
    ]
    rows = usage_rows(records)
    assert [(r.step_label, r.role) for r in rows] == [("0", "task"), ("2", "task"), ("2", "optimizer"), ("after steps", "task")]
    task2 = rows[1]
    assert (task2.requests, task2.calls, task2.cached_samples, task2.unpriced) == (2, 1, 1, 1)
    assert task2.cost_text == "unknown"
    total = usage_totals(records)[-1]
    assert total.role == "all" and total.requests == 5 and total.cost_usd == pytest.approx(0.03)
    assert total.cost_text == "≥ $0.0300"
    labels, series = cost.cumulative_by_step(records, "tokens")
    assert labels == ["0", "2", "after steps"]
    assert series["task"] == [15, 45, 60] and series["optimizer"] == [0, 15, 15]
    assert format_cost(0.5) == "$0.5000"


def test_pair_results_joins_by_example_id_then_index():
    initial = [{"example_id": "a", "score": 1.0}, {"example_id": "b", "score": 0.0}, {"example_id": "c", "score": 0.5}]
    final = [{"example_id": "c", "score": 0.5}, {"example_id": "b", "score": 1.0}, {"example_id": "a", "score": 0.0}]
    pairs = pair_results(initial, final)
    assert [(p.key, p.fixed, p.broken) for p in pairs] == [("id:a", False, True), ("id:b", True, False), ("id:c", False, False)]
    no_ids = pair_results([{"index": 0, "score": 0}], [{"index": 0, "score": 1}])
    assert no_ids[0].key == "index:0" and no_ids[0].fixed
    assert pair_results(None, final) == []


def test_module_doctests_pass():
    for module in (diff, provenance, stats, examples, cost, racing):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# ---------------------------------------------------------------------------- the page


def test_report_of_the_recorded_run(runs, tmp_path):
    out = gpo.report.write_report(runs.recorded, tmp_path / "r.html")
    html = out.read_text()
    run = load_run(runs.recorded)
    assert "Let&#39;s think about a complex scenario involving nested conditions." in html
    assert "local:qwen2.5-coder-0.5b" in html and "cosine(50→10)" in html
    assert "0 fixed" in html and "2 broken" in html  # the final prompt broke two test examples
    assert "McNemar" in html and "p = 0.5" in html
    assert "Possible overfitting" in html  # eval +33 points, test −67
    assert 'id="chart-scores"' in html and 'id="chart-edits"' in html and 'id="chart-cost"' in html
    assert html.count("<svg") == 3
    assert run.meta_prompts[0].messages[0]["content"][:40].replace("'", "&#39;") in html
    assert not (FIXTURE / "report.html").exists()  # the fixture is never written to


def test_report_of_a_dry_run_shows_its_settings_steps_and_costs(runs):
    path = gpo.report.write_report(runs.dry)
    assert path == runs.dry / "report.html"
    html = path.read_text()
    config = json.loads((runs.dry / "config.json").read_text())
    assert "Dry run." in html
    for key in config["run"]:
        if key != "optimizer":  # shown part by part in the optimizer table
            assert f"<td>{key}</td>" in html
    for key in ("trajectory", "learning_rate", "refinement", "selection"):
        assert f"<td>{key}</td>" in html
    for step in range(1, 5):
        assert f'id="step-{step}"' in html
    assert html.count('class="cand') == len(load_run(runs.dry).candidates)
    assert "current prompt (test)" in html  # per-step test scores were measured
    assert "cumulative $" in html  # priced as gpt-4o-mini: a cost curve, not tokens
    assert "$0.0" in html


def test_every_model_text_is_escaped(runs):
    html = render_report(runs.markup)
    assert "<script" not in html.lower()  # the page has no script at all
    assert "<img" not in html.lower()
    # Model markup appears only as text: no tag carries its class or its handlers.
    assert not re.search(r"<[a-z]+[^<>]*class=[\"']?injected", html, re.I)
    assert not re.search(r"<[a-z]+[^<>]*\son(error|load)\s*=", html, re.I)
    assert "&lt;b class=&#34;injected&#34;&gt;bold&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html  # model text is data, never template code
    assert f'content="{markupsafe.escape(CSP)}"' in html
    # No external resource of any kind: nothing to fetch, opens offline.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html


def test_rendering_is_deterministic(runs):
    assert render_report(runs.recorded) == render_report(runs.recorded)


def test_report_of_a_partial_run(runs, tmp_path):
    run_dir = _partial_copy(runs.dry, tmp_path / "partial")
    run = load_run(run_dir)
    assert not run.finished and run.score("best", "test") is None
    html = render_report(run)
    assert "Partial run." in html and "No per-example test results" in html
    assert "Needs per-example test results" in html


def test_report_of_a_run_stopped_by_its_budget(runs, tmp_path):
    run_dir = _budget_stopped_copy(runs.dry, tmp_path / "budget")
    html = render_report(run_dir)
    assert "budget exceeded" in html and "stopped before scoring on test" in html
    assert "Partial run." not in html


def test_report_of_a_run_with_only_a_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"args": {"task": "t", "method": "gpo"}, "optimizer": {"name": "gpo"}}))
    html = render_report(tmp_path)
    assert "Partial run." in html and "has not scored its initial prompt" in html


def test_unknown_prices_say_so(runs, tmp_path):
    run_dir = tmp_path / "unpriced"
    shutil.copytree(runs.recorded, run_dir)
    lines = [json.loads(x) for x in (run_dir / "usage.jsonl").read_text().splitlines()]
    for line in lines:
        line["cost_usd"] = None
    (run_dir / "usage.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"role": "ta')  # cut short
    html = render_report(run_dir)
    assert "unknown" in html and "damaged line" in html


def test_not_a_run_directory(tmp_path):
    with pytest.raises(DataError, match="not a gpo run directory"):
        load_run(tmp_path)
    with pytest.raises(DataError, match="no run directory"):
        load_run(tmp_path / "missing")


def test_maybe_write_report(runs, tmp_path, monkeypatch, caplog):
    run_dir = tmp_path / "run"
    shutil.copytree(runs.recorded, run_dir)
    assert gpo.report.maybe_write_report(run_dir) == run_dir / "report.html"
    caplog.set_level(logging.INFO, logger="gpo.report")
    assert gpo.report.maybe_write_report(tmp_path / "nothing-here") is None
    assert "could not write the HTML report" in caplog.text
    monkeypatch.setattr(gpo.report, "missing_packages", lambda: ["matplotlib"])
    caplog.clear()
    assert gpo.report.maybe_write_report(run_dir) is None
    assert any(r.levelno == logging.INFO and "gpo[report]" in r.getMessage() for r in caplog.records)


def test_importing_the_package_loads_none_of_the_extra():
    code = (
        "import sys, gpo.report, gpo.report.commands, gpo.report.extra\n"
        "heavy = [m for m in ('jinja2', 'matplotlib', 'scipy', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_templates_are_package_data():
    import importlib.resources

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    folder = importlib.resources.files("gpo.report") / "templates"
    for name in ("base.html.j2", "macros.html.j2", "report.html.j2", "compare.html.j2"):
        assert (folder / name).is_file(), name
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "report/templates/*" in pyproject["tool"]["setuptools"]["package-data"]["gpo"]
    extras = pyproject["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[]", d)[0] for d in extras["report"]}
    assert names <= {re.split(r"[<>=\[]", d)[0] for d in extras["dev"]}


# ---------------------------------------------------------------------------- commands


def test_report_command(runs, tmp_path):
    out = tmp_path / "x" / "report.html"
    result = CliRunner().invoke(report_command, [str(runs.recorded), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and str(out) in result.output and "KB" in result.output


def test_compare_command(runs, tmp_path):
    runs_folder = tmp_path / "many"
    runs_folder.mkdir()
    shutil.copytree(runs.recorded, runs_folder / "a-recorded")
    _partial_copy(runs.dry, runs_folder / "b-partial")
    page = tmp_path / "cmp.html"
    args = [str(runs.dry), str(runs.markup), str(runs_folder), "--html", str(page), "--dry-runs"]
    result = CliRunner().invoke(compare_command, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "4 runs" in result.output and "synthetic/boolean_expressions" in result.output
    assert "b-partial (partial)" in result.output and "dry (dry run)" in result.output
    narrow = CliRunner().invoke(compare_command, [*args, "--no-html"], env={"COLUMNS": "80"})
    assert f"4. {runs_folder / 'b-partial'} (partial)" in narrow.output  # runs listed under the table
    assert "McNemar" in result.output and page.exists()
    html = page.read_text()
    assert html.count("<tr>") == 5 and "partial" in html and "<script" not in html.lower()
    assert 'href="many/a-recorded"' in html  # relative links to the runs

    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as here:
        plain = CliRunner().invoke(compare_command, [str(runs.recorded), str(runs.markup)], env={"COLUMNS": "80"})
        assert plain.exit_code == 0 and "compare page" not in plain.output
        assert list(Path(here).iterdir()) == []  # no page unless --html asks for one

    result = CliRunner().invoke(compare_command, [str(runs.recorded), str(runs.markup), "--json", "--no-html"])
    rows = json.loads(result.output)
    assert [r["method"] for r in rows] == ["gpo", "gpo"]
    recorded = rows[0]
    assert recorded["initial_test"] == pytest.approx(2 / 3) and recorded["final_test"] == 0.0
    assert recorded["pvalue"] == pytest.approx(0.5) and recorded["test"] == "mcnemar"
    assert recorded["calls"] == 20 and recorded["requests"] == 20


def test_compare_fits_80_columns_and_leaves_dry_runs_out_unless_asked(runs, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    shutil.copytree(runs.recorded, folder / "real")
    shutil.copytree(runs.dry, folder / "dry")
    long_task = folder / "real-long-task"
    shutil.copytree(runs.recorded, long_task)
    summary = json.loads((long_task / "summary.json").read_text())
    summary["task"] = "bbh/tracking_shuffled_objects_seven_objects"
    (long_task / "summary.json").write_text(json.dumps(summary))

    result = CliRunner().invoke(compare_command, [str(folder)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    table = lines[: lines.index("")]
    assert max(map(len, table)) <= 80 and lines[0] == "2 runs (test scores in %)"
    assert "bbh/tracking_shuffled_objects_seven_objects" in table  # whole, on a line of its own
    assert table[1].split() == ["#", "method", "initial", "final", "gain", "p", "cost", "calls"]
    assert lines[-1] == "1 dry run left out (--dry-runs includes them)."
    assert "dry" not in " ".join(lines[:-1])

    both = CliRunner().invoke(compare_command, [str(folder), "--dry-runs"], env={"COLUMNS": "80"})
    lines = both.output.splitlines()
    assert lines[0] == "3 runs (test scores in %)" and max(map(len, lines[: lines.index("")])) <= 80
    assert [line for line in lines if line.endswith("  dry run")] != []

    alone = CliRunner().invoke(compare_command, [str(folder / "dry")])
    assert alone.exit_code != 0 and "the run given is a dry run" in str(alone.exception)


def test_a_dry_run_has_its_own_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GPO_HOME", str(tmp_path))
    dry = gpo.optimize("synthetic/navigate", model="fake:", dry_run=True, steps=1)
    real = gpo.optimize("synthetic/navigate", model="fake:", steps=1)
    assert Path(dry.run_dir).parent == tmp_path / "runs" / "dry-runs"
    assert Path(real.run_dir).parent == tmp_path / "runs"


def test_compare_command_rejects_a_folder_without_runs(tmp_path):
    result = CliRunner().invoke(compare_command, [str(tmp_path)])
    assert result.exit_code != 0 and isinstance(result.exception, DataError)


# ---------------------------------------------------------------------------- in a real browser

CHROMIUM = os.environ.get("GPO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser(runs, raced):
    # Depends on ``runs`` and ``raced``: the run directories must exist before Playwright's
    # sync API starts its event loop in this thread (``optimize`` runs one of its own).
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "browser tests need Chromium: `apt-get install -y chromium` (or set GPO_CHROMIUM to a Chromium binary)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (in the dev extra)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, path: Path):
    """Opens a file in a new page; returns the page and the console errors it logged."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, errors


CHART_SIZE = """sel => Array.from(document.querySelectorAll(sel)).map(el => {
  const svg = el.querySelector('svg');
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  return {w: box.width, h: box.height, paths: svg.querySelectorAll('path').length, texts: svg.querySelectorAll('text').length};
})"""


@pytest.mark.browser
def test_reports_load_without_errors_and_draw_their_charts(browser, runs, tmp_path):
    pages = {
        "recorded": gpo.report.write_report(runs.recorded, tmp_path / "recorded.html"),
        "dry": gpo.report.write_report(runs.dry, tmp_path / "dry.html"),
        "partial": gpo.report.write_report(_partial_copy(runs.dry, tmp_path / "p"), tmp_path / "partial.html"),
    }
    for name, path in pages.items():
        page, errors = _open(browser, path)
        assert errors == [], (name, errors)
        assert page.title().startswith("synthetic/boolean_expressions")
        charts = page.evaluate(CHART_SIZE, ".chart-box")
        assert len(charts) == 3, name
        for chart in charts:
            assert chart and chart["w"] > 400 and chart["h"] > 100 and chart["paths"] > 5 and chart["texts"] > 3, (name, chart)
        # Points link to candidates that exist on the page.
        missing = page.evaluate(
            """() => Array.from(document.querySelectorAll('#chart-scores a'))
                .map(a => (a.getAttribute('href') || a.getAttribute('xlink:href')).slice(1))
                .filter(id => !document.getElementById(id))"""
        )
        assert missing == [], (name, missing)
        assert page.evaluate("document.querySelectorAll('#chart-scores a').length") > 0
        page.close()


@pytest.mark.browser
def test_markup_from_models_is_shown_as_text_and_never_runs(browser, runs, tmp_path):
    path = gpo.report.write_report(runs.markup, tmp_path / "markup.html")
    page, errors = _open(browser, path)
    assert errors == []
    title = "synthetic/boolean_expressions · gpo — gpo report"
    assert page.title() == title  # no onerror / onload / script payload changed it
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.title() == title
    counts = page.evaluate(
        """() => ({
          injected: document.querySelectorAll('.injected, b.injected, i.injected').length,
          scripts: document.scripts.length,
          images: document.images.length,
          handlers: Array.from(document.querySelectorAll('*')).filter(el =>
            Array.from(el.attributes).some(a => a.name.startsWith('on'))).length,
        })"""
    )
    assert counts == {"injected": 0, "scripts": 0, "images": 0, "handlers": 0}
    text = page.inner_text("body")
    assert "<script>alert(1)</script>" in text
    assert '<b class="injected">bold</b>' in text
    assert "<img src=x onerror=" in text
    page.close()


@pytest.mark.browser
def test_compare_page_in_the_browser(browser, runs, tmp_path):
    from gpo.report.compare import compare_runs, write_compare_page

    path = write_compare_page(compare_runs([runs.recorded, runs.dry, runs.markup]), tmp_path / "compare.html")
    page, errors = _open(browser, path)
    assert errors == []
    assert page.evaluate("document.querySelectorAll('tbody tr, table tr').length") >= 4
    chart = page.evaluate(CHART_SIZE, "#chart-compare")
    assert chart[0] and chart[0]["w"] > 400
    page.close()


def test_commands_say_how_to_install_the_extra(runs, monkeypatch, tmp_path):
    import gpo.report.extra as extra
    from gpo.errors import ConfigError

    monkeypatch.setattr(extra, "missing_packages", lambda: ["matplotlib"])
    for command, args in ((report_command, [str(runs.recorded), "--out", str(tmp_path / "r.html")]), (compare_command, [str(runs.recorded)])):
        result = CliRunner().invoke(command, args)
        assert isinstance(result.exception, ConfigError)
        assert "pip install 'gpo[report]'" in str(result.exception)
    assert not (tmp_path / "r.html").exists()


def test_the_report_says_how_a_run_is_lighter_than_the_papers_protocol(runs):
    from gpo.api import lighter_than_paper

    html = gpo.report.write_report(runs.dry).read_text()
    banner = html[html.index('id="lighter"') : html.index("</div>", html.index('id="lighter"'))]
    assert "--protocol quick" in banner
    for phrase in ("eval on the first 12 examples", "one-round answers", "capped at 48 tokens", "4 steps", "3 candidates per step"):
        assert phrase in banner
    paper_args = {"protocol": "paper", "steps": None, "eval_limit": None, "test_limit": None, "two_round": True,
                  "answer_tokens": 256, "num_candidates": 8}
    assert lighter_than_paper(paper_args) == []


def test_the_report_names_the_settings_beyond_the_paper_and_a_paper_run_has_none(runs):
    from gpo.departures import beyond_the_paper
    from gpo.protocol import RunConfig

    html = gpo.report.write_report(runs.dry).read_text()
    start = html.index('id="beyond-paper"')
    banner = html[start : html.index("</div>", start)]
    for phrase in ("shows 3 wrong eval answers", "<code>--wrapped-answers-only</code>", "<code>--hygiene</code>",
                   "scored on 12 more examples", "<code>--clip-over-budget</code>", "--protocol paper</code> turns them off"):
        assert phrase in banner, banner
    assert "--racing" not in banner and "--reject-over-budget" not in banner

    def paper(**parts):
        return beyond_the_paper(RunConfig.build("synthetic/boolean_expressions", protocol="paper", **parts).optimizer)

    assert paper() == []
    # Every setting beyond the paper has its words, and the optimizer reads each back.
    from gpo.departures import _BEYOND_PAPER_WORDS
    from gpo.protocol import PROTOCOLS

    assert set(_BEYOND_PAPER_WORDS) == set(PROTOCOLS["paper"].beyond_paper) | {"racing"}
    quick = RunConfig.build("synthetic/boolean_expressions", protocol="quick").optimizer.beyond_paper()
    assert quick == {**PROTOCOLS["quick"].beyond_paper, "racing": False}
    assert paper(tie_break=4, racing=True) == [
        ("candidates tied for a step's best are scored on 4 more examples", "--tie-break"),
        ("a step's candidates race on slices of the eval split", "--racing"),
    ]
    assert paper(fill_candidates=True, max_resample_rounds=1) == [
        ("rejected and repeated candidates are replaced by new samples until a step has its number of new prompts",
         "--fill-candidates"),
        ("up to 1 resampling round per step", "--max-resample-rounds"),
    ]
    assert paper(tie_break=1) == [("candidates tied for a step's best are scored on 1 more example", "--tie-break")]


# ---------------------------------------------------------------------------- racing


@pytest.fixture(scope="module")
def raced(tmp_path_factory):
    """The same fake-model run with and without ``--racing``, through the command line."""
    from gpo.cli import cli

    base = tmp_path_factory.mktemp("raced_runs")
    for name, extra in (("racing", ["--racing"]), ("full", [])):
        args = ["optimize", "-t", "synthetic/boolean_expressions", "-m", "fake:", "--steps", "3", "--eval-limit", "16",
                "--test-limit", "4", "--run-dir", str(base / name), "--json", *extra]
        result = CliRunner().invoke(cli, args, env={"GPO_HOME": str(base / "home"), "GPO_MODEL": None})
        assert result.exit_code == 0, result.output
    return SimpleNamespace(racing=base / "racing", full=base / "full")


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "trajectory.jsonl").read_text().splitlines()]


def _candidate_head(html: str, step: int, index: int) -> str:
    """The head line of a candidate's entry on the page: its badges and its eval score."""
    start = html.index(f'id="cand-{step}-{index}"')
    return html[start : html.index("</div>", start)]


def _chart_point(html: str, anchor: str) -> str:
    """The score chart's point that links to a candidate."""
    chart = html[html.index('id="chart-scores"') :]
    start = chart.index(f'<a xlink:href="#{anchor}"')
    return chart[start : chart.index("</a>", start)]


def test_the_report_marks_every_score_of_a_candidate_racing_dropped(raced):
    html = (raced.racing / "report.html").read_text()
    rows = [r for r in _rows(raced.racing) if r["eval_score"] is not None]
    dropped = [r for r in rows if r.get("dropped_after")]
    assert dropped and len(dropped) < len(rows), "the fake run must drop some candidates and keep others"
    for r in rows:
        head = _candidate_head(html, r["step"], r["index"])
        point = _chart_point(html, f"cand-{r['step']}-{r['index']}")
        if r.get("dropped_after"):
            assert f"partial: raced out after {r['dropped_after']} of 16 eval examples" in head, head
            assert 'class="badge over">raced out<' in head
            assert "<path" in point and "<use" not in point  # a cross, not a candidate's dot
        else:
            assert "raced out" not in head, head
            assert "<use" in point
    for step in {r["step"] for r in dropped}:
        summary = html[html.index(f'id="step-{step}"') : html.index("</summary>", html.index(f'id="step-{step}"'))]
        assert f"{sum(r['step'] == step for r in dropped)} raced out (partial scores)" in summary
    assert "raced out (partial eval)" in html  # the chart's legend
    assert "Purple crosses: candidates racing dropped" in html


def test_the_overview_says_racing_was_on_and_what_it_saved(raced):
    html = (raced.racing / "report.html").read_text()
    banner = html[html.index('id="racing"') : html.index("</div>", html.index('id="racing"'))]
    rows = [r for r in _rows(raced.racing) if r["eval_score"] is not None]
    dropped = [r for r in rows if r.get("dropped_after")]
    assert len({r["prompt"] for r in dropped}) == len(dropped)  # each prompt raced out once: the count is exact
    skipped = sum(16 - r["dropped_after"] for r in dropped)
    assert "<code>racing(0.93, 4)</code>" in banner
    assert f"It dropped <b>{len(dropped)} of {len(rows)}</b> scored candidates" in banner
    assert f"so {skipped} scoring(s) of a prompt on an eval example never ran: {skipped} task-model request(s) saved (1 per example)" in banner
    assert "up to" not in banner


def test_a_run_without_racing_has_no_racing_mark(raced, runs):
    assert not any("dropped_after" in r for r in _rows(raced.full))
    for html in ((raced.full / "report.html").read_text(), render_report(runs.recorded), render_report(runs.dry)):
        assert "raced out" not in html and 'id="racing"' not in html and "partial eval" not in html


def test_a_partial_raced_run_counts_against_its_eval_limit(raced, tmp_path):
    run_dir = shutil.copytree(raced.racing, tmp_path / "partial")
    (run_dir / "summary.json").unlink()  # no n_eval recorded: the configuration's eval limit
    html = render_report(run_dir)
    assert "Partial run." in html and 'id="racing"' in html
    first = next(r for r in _rows(run_dir) if r.get("dropped_after"))
    assert f"raced out after {first['dropped_after']} of 16 eval examples" in _candidate_head(html, first["step"], first["index"])


def test_racing_summary_counts_each_prompt_once_and_says_what_it_does_not_know():
    from gpo.optim.state import Candidate
    from gpo.report.racing import racing_summary

    rows = [
        Candidate(1, 0, "a", "p", "", 0.5),
        Candidate(1, 1, "b", "p", "", 0.25, dropped_after=4),
        Candidate(1, 2, "b", "p", "", 0.25, dropped_after=4, duplicate=True),  # the same race
        Candidate(2, 0, "b", "a", "", 0.0, dropped_after=8),  # raced out again at a later step
        Candidate(2, 1, "c", "a", "", 0.25, dropped_after=4),
        Candidate(3, 0, "c", "a", "", 0.75),  # scored whole later: it saved nothing in the end
        Candidate(3, 1, None, "a", "", rejected="no prompt"),
    ]
    s = racing_summary(rows, "racing(0.9, 4)", 16, two_round=False)
    assert (s.scored, s.dropped, s.skipped_examples, s.skipped_requests, s.repeated) == (6, 4, 8, 8, True)
    assert racing_summary(rows, None, None, None).skipped_requests is None
    assert racing_summary(rows, "racing(0.9, 4)", 16, None).skipped_requests is None
    on = racing_summary(rows[:1], "racing(0.9, 4)", 16, True)
    assert (on.dropped, on.skipped_requests) == (0, 0)
    assert racing_summary(rows[:1], "full", 16, True) is None
