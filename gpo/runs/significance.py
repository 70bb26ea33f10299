"""Is the best prompt's test gain more than chance? The run's own paired test.

A run scores its initial and its best prompt on the same test examples, so the two score
lists are paired: :func:`gpo.report.stats.compare_paired` tests them (McNemar's exact test
for 0/1 scores, a sign-flip test otherwise) and bounds the mean difference by a paired
bootstrap. The summary keeps the result, and ``gpo optimize`` prints it in words.
"""

from __future__ import annotations

from typing import Any, Optional

from gpo.evaluate import EvalResult
from gpo.tasks.base import display_target, first_line

__all__ = ["paired_test", "describe_paired_test", "explain_paired_test"]


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
        "example": _changed_example(initial, best),
    }


def _changed_example(initial: EvalResult, best: EvalResult) -> Optional[dict[str, str]]:
    """The first test example the best prompt fixed (else the first it broke), in short."""
    pairs = [
        (a, b) for a, b in zip(initial.results, best.results)
        if a.error is None and b.error is None and a.example_id == b.example_id and a.score != b.score
    ]
    if not pairs:
        return None
    a, b = next(((a, b) for a, b in pairs if b.score > a.score), pairs[0])
    return {
        "input": first_line(a.input, 16),
        "before": first_line(a.answer, 16),
        "after": first_line(b.answer, 16),
        "expected": display_target(a.target),
        "fixed": b.score > a.score,
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


def explain_paired_test(test: Optional[dict[str, Any]]) -> list[str]:
    """Lines under :func:`describe_paired_test`: why the gain is (or may be) chance, and an example.

    >>> for line in explain_paired_test({"test": "mcnemar", "n": 24, "difference": 0.917,
    ...     "pvalue": 4.77e-07, "ci": [0.79, 1.0], "fixed": 22, "broken": 0, "verdict": "...",
    ...     "example": {"input": "agent", "before": 'The word "agent" starts with "a".',
    ...                 "after": "a", "expected": "a", "fixed": True}}):
    ...     print(line)
      why: if both prompts were equally good, 22 fixed against 0 broken (or a more uneven split) would come up with probability 4.77e-07
      for example, input 'agent': before 'The word "agent" starts with "a".', now 'a' (expected 'a')
    """
    if not test:
        return []
    lines = []
    if test.get("fixed") == 0 and test.get("broken") == 0:
        lines.append("  why: both prompts got the same test examples right, so there is no gain to test")
    elif test.get("fixed") is not None:
        split = f"{test['fixed']} fixed against {test['broken']} broken (or a more uneven split)"
        lines.append(f"  why: if both prompts were equally good, {split} would come up with probability {test['pvalue']:.3g}")
    else:
        lines.append(
            f"  why: if both prompts were equally good, a mean difference this large would come up with "
            f"probability {test['pvalue']:.3g} (signs of the differences flipped at random)"
        )
    ex = test.get("example")
    if ex:
        kind = "for example" if ex.get("fixed") else "for example (broken)"
        lines.append(
            f"  {kind}, input {ex['input']!r}: before {ex['before']!r}, now {ex['after']!r} (expected {ex['expected']!r})"
        )
    return lines
