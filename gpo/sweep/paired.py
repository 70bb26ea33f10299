"""Paired statistics of two methods over the same (task, seed) units, with SciPy.

The unit is one task and one seed: both methods ran on it, and its difference is the
reference's final test score minus the other method's. Two summaries of those differences:

* the Wilcoxon signed-rank test of "the differences are symmetric about zero"
  (:func:`scipy.stats.wilcoxon`; zero differences are dropped, as in Wilcoxon's test, and
  the number kept is reported; with none left the p-value is 1);
* a percentile bootstrap interval of the mean difference (:func:`scipy.stats.bootstrap`),
  from a seeded generator, so the same differences and seed give the same interval.

SciPy and NumPy come with the ``report`` extra and are imported only when a test runs.

References:
    Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin 1(6).
    Efron, B. and Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall.
"""

from __future__ import annotations

import importlib.util
import inspect
import statistics
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from gpo.sweep.records import RunRecord, units

__all__ = [
    "PairedTest",
    "SignedRank",
    "available",
    "bootstrap_mean_interval",
    "paired_differences",
    "paired_tests",
    "signed_rank_test",
]

REPORT_HINT = "pip install 'gpo[report]'"


def available() -> bool:
    """Whether SciPy and NumPy can be imported (the ``report`` extra)."""
    return all(importlib.util.find_spec(name) is not None for name in ("scipy", "numpy"))


@dataclass(frozen=True)
class SignedRank:
    """A Wilcoxon signed-rank test.

    Attributes:
        n: Differences given.
        n_nonzero: Differences that are not zero (the ones the test ranks).
        statistic: The smaller of the positive and negative rank sums (``None``: no test).
        pvalue: Two-sided p-value (``None``: no test).
        note: Why there is no test, or what is special about it.
    """

    n: int
    n_nonzero: int
    statistic: Optional[float]
    pvalue: Optional[float]
    note: Optional[str] = None


def signed_rank_test(differences: Sequence[float]) -> SignedRank:
    """Two-sided Wilcoxon signed-rank test of paired differences.

    Zero differences are dropped. With no difference at all there is no test; with only
    zero differences the two methods tied on every unit and the p-value is 1. SciPy picks
    the exact null distribution for small samples without ties and the normal
    approximation otherwise.

    Args:
        differences: One difference per unit (reference minus other).

    >>> r = signed_rank_test([0.01, 0.02, 0.03, 0.04, 0.05])
    >>> (r.n_nonzero, r.statistic, r.pvalue)
    (5, 0.0, 0.0625)
    >>> signed_rank_test([0.0, 0.0]).pvalue
    1.0
    """
    n = len(differences)
    nonzero = [float(d) for d in differences if d != 0]
    if n == 0:
        return SignedRank(0, 0, None, None, "no unit has both methods")
    if not nonzero:
        return SignedRank(n, 0, 0.0, 1.0, "every difference is zero")
    from scipy.stats import wilcoxon

    result = wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    k = len(nonzero)
    note = None if k >= 6 else f"only {k} non-zero difference{'s' if k > 1 else ''}: p cannot fall below {min(1.0, 2 / 2**k):.3g}"
    return SignedRank(n, len(nonzero), float(result.statistic), min(1.0, float(result.pvalue)), note)


def bootstrap_mean_interval(
    differences: Sequence[float], *, confidence: float = 0.95, resamples: int = 9999, seed: int = 0
) -> Optional[tuple[float, float]]:
    """Percentile bootstrap interval of the mean of one value per unit.

    The sweep's units are task × seed pairs and the values paired differences between two
    methods; any values whose units may be resampled alike will do (a run's steps, for
    one).

    Args:
        differences: One value per unit.
        confidence: Coverage of the interval.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling generator (same seed, same interval).

    Returns:
        ``(low, high)``, or ``None`` with fewer than two differences.

    >>> bootstrap_mean_interval([0.25, 0.25])
    (0.25, 0.25)
    """
    if len(differences) < 2:
        return None
    import numpy as np
    from scipy.stats import bootstrap

    data = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    # SciPy 1.15 renamed ``random_state`` to ``rng``; accept either.
    key = "rng" if "rng" in inspect.signature(bootstrap).parameters else "random_state"
    result = bootstrap(
        (data,), np.mean, confidence_level=confidence, n_resamples=resamples, method="percentile", **{key: rng}
    )
    ci = result.confidence_interval
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class PairedTest:
    """The reference method against another over the units both ran.

    Attributes:
        reference: The reference method.
        method: The other method.
        n: Units (task, seed) with a final test score from both.
        n_nonzero: Units where the two scores differ.
        mean_difference: Mean of reference minus other (``None`` with no unit).
        statistic: Wilcoxon's signed-rank statistic.
        pvalue: Two-sided p-value of the signed-rank test.
        ci_low: Low end of the bootstrap interval of the mean difference.
        ci_high: High end.
        confidence: Coverage of the interval.
        note: Anything that limits the test.
    """

    reference: str
    method: str
    n: int
    n_nonzero: int
    mean_difference: Optional[float]
    statistic: Optional[float]
    pvalue: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    confidence: float
    note: Optional[str] = None


def paired_differences(records: Iterable[RunRecord], reference: str, method: str) -> list[tuple[str, int, float]]:
    """``(task, seed, reference − method)`` for every unit where both have a final test score."""
    by_unit = units(records)
    out = []
    for (m, t, s), r in by_unit.items():
        if m != reference or r.final_test is None:
            continue
        other = by_unit.get((method, t, s))
        if other is not None and other.final_test is not None:
            out.append((t, s, r.final_test - other.final_test))
    return out


def paired_tests(
    records: Sequence[RunRecord],
    reference: str,
    methods: Sequence[str],
    *,
    confidence: float = 0.95,
    resamples: int = 9999,
    seed: int = 0,
) -> list[PairedTest]:
    """The reference against each other method: signed-rank test and bootstrap interval.

    Args:
        records: Finished runs.
        reference: The reference method.
        methods: The methods to compare with it (the reference itself is skipped).
        confidence: Coverage of the bootstrap intervals.
        resamples: Bootstrap resamples.
        seed: Seed of the bootstrap (the same for every comparison).
    """
    out = []
    for m in methods:
        if m == reference:
            continue
        diffs = [d for _, _, d in paired_differences(records, reference, m)]
        rank = signed_rank_test(diffs)
        ci = bootstrap_mean_interval(diffs, confidence=confidence, resamples=resamples, seed=seed)
        notes = [x for x in (rank.note, None if ci or not diffs else "one unit: no interval") if x]
        out.append(
            PairedTest(
                reference=reference,
                method=m,
                n=rank.n,
                n_nonzero=rank.n_nonzero,
                mean_difference=statistics.fmean(diffs) if diffs else None,
                statistic=rank.statistic,
                pvalue=rank.pvalue,
                ci_low=ci[0] if ci else None,
                ci_high=ci[1] if ci else None,
                confidence=confidence,
                note="; ".join(notes) or None,
            )
        )
    return out
