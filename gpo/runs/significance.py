"""Is the best prompt's test gain more than chance? The run's own paired test.

A run scores its initial and its best prompt on the same test examples, so the two score
lists are paired: :func:`gpo.report.stats.compare_paired` tests them (McNemar's exact test
for 0/1 scores, a sign-flip test otherwise) and bounds the mean difference by a paired
bootstrap. The summary keeps the result, and ``gpo optimize`` prints it in words.
"""

from __future__ import annotations

from typing import Any, Optional

from gpo.evaluate import EvalResult

__all__ = ["paired_test", "describe_paired_test"]


def paired_test(initial: Optional[EvalResult], best: Optional[EvalResult]) -> Optional[dict[str, Any]]:
    """The paired test of the best prompt against the initial one on test, as a dict.

    Returns:
        ``None`` when either prompt has no test scores, or when the statistics libraries
        (the ``report`` extra: numpy and scipy) are not installed. Otherwise ``test``,
        ``n``, ``difference``, ``pvalue``, ``ci`` (bootstrap interval of the mean
        difference, 95 %), ``fixed`` and ``broken`` (examples the best prompt got right
        that the initial one got wrong, and the reverse; 0/1 scores only) and ``verdict``.
    """
    if initial is None or best is None:
        return None
    pairs = [
        (a.score, b.score)
        for a, b in zip(initial.results, best.results)
        if a.error is None and b.error is None and a.example_id == b.example_id
    ]
    if not pairs:
        return None
    try:
        from gpo.report.stats import compare_paired
    except ImportError:  # numpy / scipy come with the report extra
        return None
    result = compare_paired([p[0] for p in pairs], [p[1] for p in pairs])
    return {
        "test": result.test,
        "n": result.n,
        "difference": round(result.difference, 4),
        "pvalue": result.pvalue,
        "ci": [round(result.ci_low, 4), round(result.ci_high, 4)],
        "fixed": result.mcnemar.fixed if result.mcnemar else None,
        "broken": result.mcnemar.broken if result.mcnemar else None,
        "verdict": result.verdict(),
    }


def describe_paired_test(test: Optional[dict[str, Any]]) -> Optional[str]:
    """One line for the terminal: the gain, what changed, and whether it may be chance.

    >>> describe_paired_test({"test": "mcnemar", "n": 30, "difference": 0.6, "pvalue": 1.9e-06,
    ...     "ci": [0.43, 0.77], "fixed": 18, "broken": 0, "verdict": "..."})
    'test gain +60.0 points: 18 of 30 test examples fixed, 0 broken; McNemar exact p = 1.9e-06 (significant at 0.05: not chance)'
    """
    if not test:
        return None
    gain = f"test gain {test['difference'] * 100:+.1f} points"
    if test.get("fixed") is not None:
        what = f"{test['fixed']} of {test['n']} test examples fixed, {test['broken']} broken"
        name = "McNemar exact"
    else:
        low, high = test["ci"]
        what = f"95 % interval {low * 100:+.1f} to {high * 100:+.1f} points on {test['n']} test examples"
        name = "sign-flip"
    p = test["pvalue"]
    if p < 0.05:
        verdict = "significant at 0.05: not chance"
    else:
        verdict = "not significant at 0.05: it may be chance"
    return f"{gain}: {what}; {name} p = {p:.3g} ({verdict})"
