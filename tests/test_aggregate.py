"""The Table-5 aggregation: cells, gains, paired tests, and what is written and printed.

The expected numbers are worked out by hand from scores in eighths (exact in binary), so
every mean, standard deviation and difference below can be checked on paper.
"""

import csv
import io
import json
import math
import re
from types import SimpleNamespace

import pytest
from markupsafe import escape as html_escape  # as the page template escapes
from rich.console import Console

from gpo.errors import ConfigError
from gpo.sweep.aggregate import (
    Cell,
    aggregate,
    call_counts,
    choose_reference,
    method_table,
    paper_order,
    summarize,
)
from gpo.sweep.display import abbreviate, print_aggregate
from gpo.sweep.output import calls_csv, render_page, runs_csv, table_csv, paired_csv, write_outputs
from gpo.sweep.paired import bootstrap_mean_interval, paired_differences, signed_rank_test
from gpo.sweep.records import RunRecord, method_of_run, record_from_summary, records_from_compare_rows

# (method, task, seed) -> (initial test, final test)
SCORES = {
    ("gpo", "A", 0): (0.375, 0.5),
    ("gpo", "A", 1): (0.375, 0.625),
    ("gpo", "A", 2): (0.375, 0.75),
    ("gpo", "B", 0): (0.5, 0.75),
    ("gpo", "B", 1): (0.5, 0.75),
    ("gpo", "B", 2): (0.5, 0.875),
    ("opro", "A", 0): (0.375, 0.375),
    ("opro", "A", 1): (0.375, 0.625),
    ("opro", "A", 2): (0.375, 0.5),
    ("opro", "B", 0): (0.5, 0.625),
    ("opro", "B", 1): (0.5, 0.75),
    ("opro", "B", 2): (0.5, 0.875),
}


def make_records(scores=SCORES, **extra):
    return [
        RunRecord(task=t, method=m, seed=s, initial_test=i, final_test=f, task_calls=100 + s, paid_task_calls=50, optimizer_calls=3, **extra)
        for (m, t, s), (i, f) in scores.items()
    ]


def test_summarize_is_mean_and_sample_sd():
    assert summarize([0.5, 0.75, 1.0]) == Cell(0.75, 0.25, 3)
    assert summarize([0.5]) == Cell(0.5, None, 1)
    assert summarize([]) is None


def test_table_cells_average_and_gain_by_hand():
    rows = {r.method: r for r in method_table(make_records())}
    gpo, opro = rows["gpo"], rows["opro"]
    # gpo on A: 0.5, 0.625, 0.75 -> mean 0.625, sd 0.125
    assert gpo.cells["A"] == Cell(0.625, pytest.approx(0.125), 3)
    # gpo on B: 0.75, 0.75, 0.875 -> mean 19/24, sd 0.125/sqrt(3)
    assert gpo.cells["B"].mean == pytest.approx(19 / 24)
    assert gpo.cells["B"].sd == pytest.approx(0.125 / math.sqrt(3))
    # Mean over tasks: (0.625 + 19/24) / 2; sd over the seeds' means 0.625, 0.6875, 0.8125.
    assert gpo.average.mean == pytest.approx(17 / 24)
    assert gpo.average.sd == pytest.approx(math.sqrt(21) / 48)
    assert gpo.average.n == 3
    # Gains over p0: A 0.125, 0.25, 0.375 (mean 0.25); B 0.25, 0.25, 0.375 (mean 7/24).
    assert gpo.gains["A"].mean == pytest.approx(0.25)
    assert gpo.gain == pytest.approx((0.25 + 7 / 24) / 2)
    assert opro.cells["A"] == Cell(0.5, pytest.approx(0.125), 3)
    assert opro.average.mean == pytest.approx(0.625)
    assert opro.average.sd == pytest.approx(math.sqrt(3) / 16)
    assert opro.gain == pytest.approx(0.1875)
    assert gpo.runs == opro.runs == 6


def test_missing_task_leaves_the_mean_over_tasks_empty():
    scores = {k: v for k, v in SCORES.items() if not (k[0] == "opro" and k[1] == "B")}
    agg = aggregate(make_records(scores), tasks=["A", "B"], methods=["gpo", "opro"])
    opro = agg.rows[1]
    assert opro.cells["B"] is None and opro.average is None and opro.gain is None
    assert any("opro on B" in n for n in agg.notes)
    # A seed missing on one task: the mean stays, its sd uses the complete seeds only.
    scores = {k: v for k, v in SCORES.items() if k != ("gpo", "B", 2)}
    gpo = method_table(make_records(scores))[0]
    assert gpo.cells["B"] == Cell(0.75, 0.0, 2)
    assert gpo.average.mean == pytest.approx((0.625 + 0.75) / 2)
    assert gpo.average.n == 2 and gpo.average.sd == pytest.approx(0.0625 / math.sqrt(2))


def test_repeated_runs_of_one_unit_are_averaged():
    records = make_records() + [RunRecord("A", "gpo", 0, 0.375, 0.75)]
    cell = method_table(records)[0].cells["A"]
    assert cell.n == 3 and cell.mean == pytest.approx((0.625 + 0.625 + 0.75) / 3)


def test_evaluation_only_rows_and_order():
    scores = {**SCORES, ("cot", "A", 0): (0.375, 0.375), ("cot", "B", 0): (0.5, 0.5)}
    agg = aggregate(make_records(scores), methods=paper_order(m for m, _, _ in scores))
    assert agg.methods == ["cot", "opro", "gpo"]
    cot = agg.rows[0]
    assert cot.gain == 0.0 and cot.average == Cell(0.4375, None, 1)


def test_signed_rank_test_against_known_values():
    # Five positive differences: the exact two-sided p-value is 2 / 2**5.
    r = signed_rank_test([1, 2, 3, 4, 5])
    assert (r.n, r.n_nonzero, r.statistic, r.pvalue) == (5, 5, 0.0, 0.0625)
    from scipy.stats import wilcoxon

    d = [0.125, -0.25, 0.375, 0.5, 0.625, -0.125, 0.75, 0.875]
    assert signed_rank_test(d).pvalue == pytest.approx(wilcoxon(d).pvalue)
    assert signed_rank_test(d).statistic == pytest.approx(wilcoxon(d).statistic)
    # Zeros are dropped and counted.
    r = signed_rank_test([0.0, 0.125, 0.0, 0.25])
    assert (r.n, r.n_nonzero) == (4, 2) and r.pvalue == pytest.approx(0.5) and "2 non-zero" in r.note
    assert signed_rank_test([0.0, 0.0, 0.0]).pvalue == 1.0
    empty = signed_rank_test([])
    assert empty.pvalue is None and empty.n == 0


def test_paired_tests_pair_by_task_and_seed():
    records = make_records()
    diffs = paired_differences(records, "gpo", "opro")
    assert sorted(diffs) == [("A", 0, 0.125), ("A", 1, 0.0), ("A", 2, 0.25), ("B", 0, 0.125), ("B", 1, 0.0), ("B", 2, 0.0)]
    agg = aggregate(records)
    (t,) = agg.tests
    assert (t.reference, t.method, t.n, t.n_nonzero) == ("gpo", "opro", 6, 3)
    assert t.mean_difference == pytest.approx(0.5 / 6)
    from scipy.stats import wilcoxon

    assert t.pvalue == pytest.approx(wilcoxon([0.125, 0.25, 0.125]).pvalue)
    assert t.statistic == 0.0
    assert t.ci_low <= t.mean_difference <= t.ci_high


def test_bootstrap_interval_is_seeded_and_holds_the_mean():
    d = [0.125, 0.0, 0.25, 0.375, -0.125, 0.5, 0.0625, 0.1875, -0.0625, 0.3125]
    mean = sum(d) / len(d)
    a = bootstrap_mean_interval(d, seed=3)
    assert a == bootstrap_mean_interval(d, seed=3)
    assert a != bootstrap_mean_interval(d, seed=4)
    assert min(d) <= a[0] < mean < a[1] <= max(d)
    narrow = bootstrap_mean_interval(d, seed=3, confidence=0.5)
    assert a[0] <= narrow[0] and narrow[1] <= a[1]
    assert bootstrap_mean_interval([0.25]) is None
    assert bootstrap_mean_interval([0.25, 0.25]) == (0.25, 0.25)


def test_reference_choice():
    assert choose_reference(["opro", "gpo"]) == "gpo"
    assert choose_reference(["opro", "gpo[k=1]"]) == "gpo[k=1]"
    assert choose_reference(["opro", "cot"]) == "opro"
    assert choose_reference(["opro", "cot"], "cot") == "cot"
    with pytest.raises(ConfigError, match="apo"):
        choose_reference(["opro"], "apo")


def test_reference_without_runs_is_a_note_and_an_unknown_one_an_error():
    agg = aggregate(make_records(), methods=["apo", "gpo", "opro"], reference="apo")
    assert agg.tests == [] and agg.reference is None
    assert "no paired tests: the reference apo has no finished run" in agg.notes
    with pytest.raises(ConfigError, match="reference method 'pe2'"):
        aggregate(make_records(), reference="pe2")


def test_calls_per_method():
    rows = call_counts(make_records())
    assert [(c.method, c.runs, c.task_calls, c.task_calls_max, c.paid_task_calls) for c in rows] == [
        ("gpo", 6, 101.0, 102, 300),
        ("opro", 6, 101.0, 102, 300),
    ]
    assert call_counts([RunRecord("A", "gpo", 0, 0.5, 0.5, cost_usd=None)])[0].cost_usd is None


def test_csv_files_read_as_the_table():
    agg = aggregate(make_records())
    assert table_csv(agg) == (
        "method,A,A sd,A n,B,B sd,B n,mean,mean sd,gain\n"
        "gpo,62.50,12.50,3,79.17,7.22,3,70.83,9.55,27.08\n"
        "opro,50.00,12.50,3,75.00,12.50,3,62.50,10.83,18.75\n"
    )
    lines = paired_csv(agg).splitlines()
    assert lines[0].startswith("reference,method,units,nonzero,mean difference,ci low,ci high")
    assert lines[1].startswith("gpo,opro,6,3,8.33,")
    assert calls_csv(agg).splitlines()[1] == "gpo,6,101.0,102,300,3.0,0.000000"
    assert runs_csv(agg).splitlines()[1].startswith("A,gpo,0,0.375,0.5,100,50,3,0.0,,")
    # The final prompt is the last column, quoted as CSV needs it (commas, quotes, lines).
    prompt = 'Answer "Yes" or "No",\nnothing else.'
    rows = list(csv.reader(io.StringIO(runs_csv(aggregate([RunRecord("A", "gpo", 0, 0.5, 0.75, final_prompt=prompt)])))))
    assert rows[0][-1] == "final_prompt" and rows[1][-1] == prompt


def test_outputs_on_disk(tmp_path):
    agg = aggregate(make_records())
    paths = write_outputs(agg, tmp_path)
    assert sorted(p.name for p in paths) == ["aggregate.json", "calls.csv", "runs.csv", "table.csv", "tests.csv"]
    data = json.loads((tmp_path / "aggregate.json").read_text())
    assert data["tasks"] == ["A", "B"] and data["reference"] == "gpo"
    assert data["rows"][0]["cells"]["A"] == {"mean": 0.625, "sd": 0.125, "n": 3}
    assert data["tests"][0]["n"] == 6 and len(data["runs"]) == 12


def test_html_page_is_self_contained_and_escapes():
    long_prompt = "Answer with <i>one</i> word. " + "Think about the question first. " * 10
    records = make_records() + [RunRecord("<b>x</b>", "gpo", 0, 0.5, 0.5, final_prompt=long_prompt), RunRecord("y", "gpo", 0, 0.5, 0.5, final_prompt="")]
    html = render_page(aggregate(records), title="t", failures=[("r1", "<script>alert(1)</script>")])
    assert "<script" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    # Each run's final prompt: cut short in the cell, whole in its title, escaped in both.
    assert "<th>final prompt</th>" in html and "<i>" not in html
    title, cell = re.search(r'<td title="([^"]*)">([^<]*)</td>', html).groups()
    assert title == html_escape(long_prompt)
    assert cell.startswith("Answer with &lt;i&gt;one&lt;/i&gt; word. Think") and cell.endswith("...") and len(cell) < len(title)
    assert '<span class="muted">(the empty prompt)</span>' in html
    assert "http://" not in html and "https://" not in html
    assert "62.5" in html and "± 12.5" in html and "Failures" in html


def printed(agg, width=80):
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    print_aggregate(agg, console)
    return console.export_text()


def test_printed_table_fits_80_columns():
    text = printed(aggregate(make_records()))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    gpo = next(line for line in lines if line.startswith("gpo "))
    assert gpo.split() == ["gpo", "62.5±12.5", "79.2±7.2", "70.8±9.5", "+27.1", "6"]
    assert any(line.split()[:3] == ["opro", "6", "3"] for line in lines)  # the paired test row
    assert "Calls per method" in text


def test_many_long_task_names_are_abbreviated_and_split():
    tasks = [f"bbh/task_with_a_long_name_{i}" for i in range(12)]
    scores = {(m, t, s): (0.5, 0.5 + 0.125 * (s % 2)) for m in ("gpo", "opro") for t in tasks for s in (0, 1)}
    text = printed(aggregate(make_records(scores)))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    heads = abbreviate(tasks)
    assert len(set(heads.values())) == 12 and all(len(h) <= 10 for h in heads.values())
    assert sum(1 for line in lines if line.startswith("method ")) >= 3  # split into several tables
    for t in tasks:
        assert t in " ".join(lines)  # the legend names every task in full (it may wrap)


def test_records_from_summaries_and_compare_rows(tmp_path):
    summary = {
        "task": "synthetic/navigate",
        "method": "gpo",
        "seed": 2,
        "scores": {"initial": {"eval": 0.5, "test": 0.25}, "best": {"eval": 0.75, "test": 0.5}},
        "usage": {"task": {"calls": 90, "requests": 60, "cost_usd": 0.5}, "optimizer": {"calls": 2, "requests": 2, "cost_usd": None}},
        "stopped_reason": "completed",
        "best_prompt": "Go step by step, then answer Yes or No.",
    }
    r = record_from_summary(summary, run_dir="x")
    assert (r.task, r.method, r.seed, r.initial_test, r.final_test, r.gain) == ("synthetic/navigate", "gpo", 2, 0.25, 0.5, 0.25)
    assert r.final_prompt == "Go step by step, then answer Yes or No."
    assert (r.task_calls, r.paid_task_calls, r.optimizer_calls, r.cost_usd) == (90, 60, 2, None)
    assert method_of_run("gpo", {"schedule": "linear", "k": 1, "batch_size": 8}) == "gpo[k=1,schedule=linear]"
    finished = SimpleNamespace(run=SimpleNamespace(summary=summary, method="gpo", args={"schedule": "linear"}, path=tmp_path / "a"))
    partial = SimpleNamespace(run=SimpleNamespace(summary=None, method="gpo", args={}, path=tmp_path / "b"))
    records, unfinished = records_from_compare_rows([finished, partial])
    assert [x.method for x in records] == ["gpo[schedule=linear]"] and unfinished == [str(tmp_path / "b")]


def test_empty_cells_are_named_once_per_task_no_method_finished():
    agg = aggregate(make_records(), tasks=["A", "B", "later"], methods=["apo", "gpo", "opro"])
    assert "no finished run: any method on later; apo on A, B" in agg.notes, agg.notes
