"""The run's own paired test of its best prompt against the initial one, on test."""

from __future__ import annotations

import pytest

from gpo.evaluate import EvalResult, ExampleResult
from gpo.runs.significance import describe_paired_test, paired_test

scipy_stats = pytest.importorskip("scipy.stats")


def result(scores, errors=()):
    rows = [
        ExampleResult(i, f"ex{i}", f"q{i}", "a", None, float(s), error="timeout" if i in errors else None)
        for i, s in enumerate(scores)
    ]
    return EvalResult("p", sum(scores) / len(scores), rows)


def test_zero_one_scores_get_mcnemar_exact_with_scipy_binomial_p_value():
    initial = [0] * 20 + [1] * 10
    best = [1] * 16 + [0] * 4 + [1] * 9 + [0]
    t = paired_test(result(initial), result(best))
    assert (t["test"], t["n"], t["fixed"], t["broken"]) == ("mcnemar", 30, 16, 1)
    assert t["pvalue"] == pytest.approx(scipy_stats.binomtest(16, 17, 0.5).pvalue)
    assert t["difference"] == pytest.approx(15 / 30, abs=1e-4)
    assert t["ci"][0] > 0
    line = describe_paired_test(t)
    assert line.startswith("test gain +50.0 points: 16 of 30 test examples fixed, 1 broken; McNemar exact p = ")
    assert line.endswith("(significant at 0.05: not chance)")


def test_a_small_gain_is_called_possible_chance():
    t = paired_test(result([0, 1, 0, 1, 0]), result([1, 1, 0, 1, 0]))
    assert t["pvalue"] == 1.0
    assert describe_paired_test(t).endswith("(not significant at 0.05: it may be chance)")


def test_graded_scores_get_the_sign_flip_test_and_an_interval():
    t = paired_test(result([0.2, 0.4, 0.5, 0.1] * 5), result([0.7, 0.9, 0.8, 0.6] * 5))
    assert t["test"] == "sign-flip" and t["fixed"] is None
    assert t["pvalue"] < 0.01
    assert "95 % interval" in describe_paired_test(t)


def test_failed_examples_are_left_out_of_the_pairs():
    t = paired_test(result([0, 0, 1, 0]), result([1, 1, 1, 0], errors=(0,)))
    assert t["n"] == 3 and t["fixed"] == 1


def test_nothing_to_test_without_test_scores():
    assert paired_test(None, result([1])) is None
    assert describe_paired_test(None) is None


def test_the_explanation_of_a_run_with_no_change_says_so():
    from gpo.runs.significance import explain_paired_test

    same = {"test": "mcnemar", "n": 24, "difference": 0.0, "pvalue": 1.0, "ci": [0.0, 0.0],
            "fixed": 0, "broken": 0, "verdict": "...", "example": None}
    assert explain_paired_test(same) == ["  why: both prompts got the same test examples right, so there is no gain to test"]
    assert explain_paired_test(None) == []
