"""Paired statistics of the final prompt against the initial one, and an overfitting check.

Both prompts are scored on the same test examples, so the comparison is paired:

* 0/1 scores (accuracy): McNemar's exact test, a two-sided binomial test on the discordant
  pairs (examples that exactly one of the two prompts got right).
* Other scores (ROUGE-L, partial credit): a paired sign-flip permutation test of the mean
  difference.

Either way the effect is reported with a paired bootstrap confidence interval of the mean
difference (final minus initial), from a seeded generator so the page is reproducible.

References:
    McNemar, Q. (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika 12(2).
    Efron, B. and Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

__all__ = [
    "McNemar",
    "PairedComparison",
    "OverfitCheck",
    "is_binary",
    "mcnemar_exact",
    "paired_bootstrap_ci",
    "sign_flip_pvalue",
    "compare_paired",
    "check_overfitting",
    "EVAL_TEST_GAIN_MARGIN",
    "EVAL_TEST_GAP_LIMIT",
    "EVAL_TEST_GAP_GROWTH",
]

ALPHA = 0.05
"""Significance level of the verdicts (and 1 − the confidence of the intervals)."""

EVAL_TEST_GAIN_MARGIN = 0.10
"""Overfitting warning: eval gain exceeds test gain by more than this (10 points)."""

EVAL_TEST_GAP_LIMIT = 0.15
"""Overfitting warning: the final prompt's eval score exceeds its test score by more than this…"""

EVAL_TEST_GAP_GROWTH = 0.05
"""…and that gap is larger than the initial prompt's by more than this."""


def is_binary(*columns: Sequence[float]) -> bool:
    """Whether every score is exactly 0 or 1.

    >>> is_binary([0, 1.0, 1], [0.0])
    True
    >>> is_binary([0, 0.5])
    False
    """
    return all(float(x) in (0.0, 1.0) for col in columns for x in col)


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test on paired 0/1 outcomes.

    Attributes:
        both: Examples both prompts got right.
        neither: Examples neither got right.
        fixed: Wrong with the initial prompt, right with the final one (c).
        broken: Right with the initial prompt, wrong with the final one (b).
        pvalue: Two-sided exact p-value: ``binomtest(fixed, fixed + broken, 0.5)``.
    """

    both: int
    neither: int
    fixed: int
    broken: int
    pvalue: float


def mcnemar_exact(initial: Sequence[float], final: Sequence[float]) -> McNemar:
    """McNemar's exact (binomial) test of two prompts scored 0/1 on the same examples.

    Under the null hypothesis both prompts are equally good, so each discordant example is
    equally likely to be fixed or broken: the fixed count is Binomial(fixed + broken, 1/2).
    With no discordant pair the p-value is 1.

    Args:
        initial: The initial prompt's 0/1 scores.
        final: The final prompt's 0/1 scores on the same examples, in the same order.

    >>> r = mcnemar_exact([1, 0, 0, 0, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 1, 1, 1, 1])
    >>> (r.fixed, r.broken, round(r.pvalue, 7))
    (7, 1, 0.0703125)
    """
    from scipy.stats import binomtest

    if len(initial) != len(final):
        raise ValueError("the two score lists must be paired (same length)")
    a = np.asarray(initial, dtype=float) > 0.5
    b = np.asarray(final, dtype=float) > 0.5
    fixed = int(np.sum(~a & b))
    broken = int(np.sum(a & ~b))
    n = fixed + broken
    p = 1.0 if n == 0 else float(binomtest(fixed, n, 0.5, alternative="two-sided").pvalue)
    return McNemar(int(np.sum(a & b)), int(np.sum(~a & ~b)), fixed, broken, min(1.0, p))


def paired_bootstrap_ci(
    initial: Sequence[float],
    final: Sequence[float],
    *,
    confidence: float = 1 - ALPHA,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean paired difference ``final − initial``.

    Examples are resampled with replacement as pairs (the differences, by
    :func:`gpo.sweep.paired.bootstrap_mean_interval`, i.e. ``scipy.stats.bootstrap``); the
    same ``seed`` gives the same interval.

    Args:
        initial: The initial prompt's scores.
        final: The final prompt's scores on the same examples.
        confidence: Coverage of the interval.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling generator.

    Returns:
        ``(low, high)``; ``(nan, nan)`` with no examples.

    >>> paired_bootstrap_ci([0, 0, 1], [1, 1, 1]) == paired_bootstrap_ci([0, 0, 1], [1, 1, 1])
    True
    """
    from gpo.sweep.paired import bootstrap_mean_interval

    d = np.asarray(final, dtype=float) - np.asarray(initial, dtype=float)
    if d.size == 0:
        return float("nan"), float("nan")
    if d.size == 1:
        return float(d[0]), float(d[0])
    interval = bootstrap_mean_interval(d.tolist(), confidence=confidence, resamples=resamples, seed=seed)
    assert interval is not None
    return interval


def sign_flip_pvalue(
    initial: Sequence[float], final: Sequence[float], *, resamples: int = 10_000, seed: int = 0
) -> float:
    """Two-sided paired permutation p-value of the mean difference (random sign flips).

    Under the null hypothesis the label "initial"/"final" of each pair is exchangeable, so
    each difference is as likely to carry either sign: ``scipy.stats.permutation_test`` with
    ``permutation_type="samples"`` on the differences, which enumerates every sign pattern
    when there are at most ``resamples`` of them and otherwise draws ``resamples`` from a
    seeded generator (counting the observed statistic as one on each side and doubling the
    smaller side, so the p-value is never 0).

    >>> sign_flip_pvalue([0.2, 0.3], [0.2, 0.3])
    1.0
    >>> sign_flip_pvalue([0, 0, 0], [1, 1, 1])  # 2 of the 8 sign patterns are as extreme
    0.25
    """
    from scipy.stats import permutation_test

    d = np.asarray(final, dtype=float) - np.asarray(initial, dtype=float)
    if d.size == 0 or not np.any(d):
        return 1.0
    result = permutation_test(
        (d,), np.mean, permutation_type="samples", alternative="two-sided", vectorized=True,
        n_resamples=resamples, random_state=np.random.default_rng(seed),
    )
    return min(1.0, float(result.pvalue))


@dataclass(frozen=True)
class PairedComparison:
    """The final prompt against the initial one on the same test examples.

    Attributes:
        n: Paired examples.
        initial_mean: Mean score of the initial prompt on them.
        final_mean: Mean score of the final prompt on them.
        test: ``mcnemar`` (0/1 scores) or ``sign-flip`` (other scores).
        pvalue: Two-sided p-value of "the two prompts score the same".
        ci_low: Low end of the bootstrap interval of the mean difference.
        ci_high: High end.
        confidence: Coverage of the interval.
        mcnemar: The contingency counts, for 0/1 scores.
    """

    n: int
    initial_mean: float
    final_mean: float
    test: str
    pvalue: float
    ci_low: float
    ci_high: float
    confidence: float
    mcnemar: Optional[McNemar] = None

    @property
    def difference(self) -> float:
        return self.final_mean - self.initial_mean

    @property
    def significant(self) -> bool:
        return self.pvalue < 1 - self.confidence

    def verdict(self) -> str:
        """One plain sentence that says what the test found."""
        pts = abs(self.difference) * 100
        if self.n == 0:
            return "No paired test examples: nothing to compare."
        if self.difference == 0 and not self.significant:
            return f"The final and the initial prompt have the same mean score on these {self.n} test examples."
        direction = "better" if self.difference > 0 else "worse"
        level = f"{(1 - self.confidence):g}"
        if self.significant:
            return (
                f"The final prompt is significantly {direction} than the initial one "
                f"({pts:.1f} points, p = {self.pvalue:.3g} < {level})."
            )
        return (
            f"The final prompt scores {pts:.1f} points {direction}, but on {self.n} test examples "
            f"this is not significant (p = {self.pvalue:.3g} ≥ {level}): it may be chance."
        )


def compare_paired(
    initial: Sequence[float],
    final: Sequence[float],
    *,
    confidence: float = 1 - ALPHA,
    resamples: int = 10_000,
    seed: int = 0,
) -> PairedComparison:
    """Tests the final prompt against the initial one on paired per-example scores.

    McNemar's exact test for 0/1 scores, a sign-flip permutation test otherwise; both with
    a seeded paired bootstrap interval of the mean difference.

    >>> c = compare_paired([0, 0, 0, 1], [1, 1, 1, 1])
    >>> (c.test, c.n, c.difference, round(c.pvalue, 3))
    ('mcnemar', 4, 0.75, 0.25)
    """
    if len(initial) != len(final):
        raise ValueError("the two score lists must be paired (same length)")
    n = len(initial)
    i_mean = float(np.mean(initial)) if n else float("nan")
    f_mean = float(np.mean(final)) if n else float("nan")
    low, high = paired_bootstrap_ci(initial, final, confidence=confidence, resamples=resamples, seed=seed)
    if n and is_binary(initial, final):
        m = mcnemar_exact(initial, final)
        return PairedComparison(n, i_mean, f_mean, "mcnemar", m.pvalue, low, high, confidence, m)
    p = sign_flip_pvalue(initial, final, resamples=resamples, seed=seed) if n else 1.0
    return PairedComparison(n, i_mean, f_mean, "sign-flip", p, low, high, confidence)


@dataclass(frozen=True)
class OverfitCheck:
    """Whether the eval–test gap suggests the prompt was fitted to the eval split.

    Attributes:
        eval_gain: Final minus initial eval score.
        test_gain: Final minus initial test score.
        final_gap: The final prompt's eval score minus its test score.
        reasons: Why the warning is raised (empty: no warning).
    """

    eval_gain: float
    test_gain: float
    final_gap: float
    reasons: tuple[str, ...]

    @property
    def warning(self) -> bool:
        return bool(self.reasons)


def check_overfitting(
    initial_eval: float,
    final_eval: float,
    initial_test: float,
    final_test: float,
    *,
    gain_margin: float = EVAL_TEST_GAIN_MARGIN,
    gap_limit: float = EVAL_TEST_GAP_LIMIT,
    gap_growth: float = EVAL_TEST_GAP_GROWTH,
) -> OverfitCheck:
    """Flags a run whose eval improvement did not carry over to test.

    The rule (scores in [0, 1]):

    1. the eval gain exceeds the test gain by more than ``gain_margin``, or
    2. the final prompt's eval score exceeds its test score by more than ``gap_limit``
       *and* that gap exceeds the initial prompt's own eval − test gap by more than
       ``gap_growth`` (so a test split that is simply harder for every prompt does not
       trigger it).

    Selecting the best of many candidates on a small eval split favours prompts that were
    lucky on it; a gap that opens during the optimization is the sign of that.

    >>> check_overfitting(0.5, 0.9, 0.5, 0.55).warning
    True
    >>> check_overfitting(0.5, 0.7, 0.45, 0.62).warning
    False
    """
    eval_gain = final_eval - initial_eval
    test_gain = final_test - initial_test
    final_gap = final_eval - final_test
    initial_gap = initial_eval - initial_test
    reasons = []
    if eval_gain - test_gain > gain_margin + 1e-12:
        reasons.append(
            f"The eval score changed {eval_gain * 100:+.1f} points but the test score {test_gain * 100:+.1f}: "
            f"the eval gain is larger by more than {gain_margin * 100:.0f} points"
        )
    if final_gap > gap_limit + 1e-12 and final_gap - initial_gap > gap_growth + 1e-12:
        reasons.append(
            f"The final prompt scores {final_gap * 100:.1f} points higher on eval than on test "
            f"(more than {gap_limit * 100:.0f}), a gap {(final_gap - initial_gap) * 100:.1f} points wider "
            f"than the initial prompt's"
        )
    return OverfitCheck(eval_gain, test_gain, final_gap, tuple(reasons))
