"""From optimizer completions to candidate prompts: parse, check, measure, de-duplicate.

An optimization step samples several completions of the meta-prompt, each supposed to
hold a new prompt between ``<START>`` and ``<END>``. Small models often do not comply:
they use other tags, forget a tag, wrap the prompt in markdown, add "Prompt:" in front,
chat before and after, or echo the meta-prompt's examples. This module turns each
completion into a :class:`Candidate` that records the parsed prompt, why it was rejected
(if it was), how many words it changes in the current prompt, whether it exceeds the
step's edit budget, and whether it repeats a prompt already evaluated in the run.

Everything here is pure: no model calls, no state, no I/O.

Rules the optimizer relies on:

* Prompts are returned in their canonical form (:func:`normalize_prompt`), so the
  same prompt is always the same string; key score caches by
  ``normalize_prompt(text)``.
* A candidate is evaluated when ``candidate.ok and not candidate.duplicate``. A
  duplicate reuses the cached score of the equal prompt.
* The edit budget is only *measured* by default: a candidate over budget keeps
  ``over_budget=True`` and is rejected only with ``reject_over_budget=True``.

References:
    GPO (Tang et al., 2025): Tang, Wang, Zhao, Lu, Li, Wen. *Unleashing the
    Potential of Large Language Models as Prompt Optimizers.* arXiv:2402.17564
    (AAAI 2025). The paper asks the optimizer for at most ``n`` changed words and
    reads the text between ``<START>`` and ``<END>``; measuring the realized edit
    distance and the lenient parsing are this library's additions.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Optional, Sequence

from gpo.optim.edits import clip_edits, word_edit_distance
from gpo.optim.extract import (  # noqa: F401  (re-exported: the parser's public names)
    _INPUT,
    _META_TAG,
    _OUTPUT,
    _PLACEHOLDER,
    FALLBACK_MAX_WORDS,
    cut_meta_echo,
    extract_prompt,
    normalize_prompt,
)
from gpo.optim.hygiene import carries_rule, with_rule
from gpo.optim.state import Candidate

__all__ = [
    "Candidate",
    "FALLBACK_MAX_WORDS",
    "check_candidate",
    "extract_prompt",
    "make_candidates",
    "normalize_prompt",
]

_SCORE_ECHO = re.compile(r"(?im)^\s*score\s*:\s*\d+(?:\.\d+)?\s*$")


def check_candidate(
    text: Optional[str],
    *,
    current: str,
    max_words: int = 200,
    max_ratio: Optional[float] = None,
    examples: Sequence[str] = (),
) -> Optional[str]:
    """Why a parsed prompt should not be evaluated, or ``None`` when it is acceptable.

    Checks, in order: nothing parsed (``"no prompt found"``); nothing left
    (``"empty"``); the meta-prompt's placeholder ``<Prompt>`` still in it; the
    ``<START>``/``<END>`` markers still in it; an echo of the meta-prompt's examples
    (both ``Input:`` and ``Output:``); more than ``max_words`` words; more than
    ``max_ratio`` times the words of the current prompt; a line ``Score: N`` copied
    from the trajectory; a copy of one of the meta-prompt's example inputs.

    Args:
        text: The parsed prompt (from :func:`extract_prompt`).
        current: The current prompt (for ``max_ratio``).
        examples: The example inputs the meta-prompt showed.
        max_words: Longest acceptable prompt, in words.
        max_ratio: Longest acceptable prompt relative to the current one; ``None``
            means no such limit.

    Returns:
        The reason for rejection, or ``None``.

    >>> check_candidate("Answer with the option letter.", current="Think.") is None
    True
    >>> check_candidate("Replace <Prompt> with a better prompt.", current="Think.")
    'contains the <Prompt> placeholder'
    >>> check_candidate("word " * 300, current="Think.")
    'too long (300 words)'
    """
    if text is None:
        return "no prompt found"
    if not text.strip():
        return "empty"
    if _PLACEHOLDER.search(text):
        return "contains the <Prompt> placeholder"
    if _META_TAG.search(text):
        return "contains the <START>/<END> markers"
    if _INPUT.search(text) and _OUTPUT.search(text):
        return "echoes the examples"
    words = len(text.split())
    if words > max_words:
        return f"too long ({words} words)"
    if max_ratio is not None:
        limit = max_ratio * max(len(current.split()), 1)
        if words > limit:
            return f"too long ({words} words, over {max_ratio:g}x the current prompt)"
    if _SCORE_ECHO.search(text):
        return "echoes the trajectory's scores"
    key = normalize_prompt(text).lower()
    if words >= 3 and any(key in normalize_prompt(e).lower() for e in examples):
        return "copies an example input"
    return None


def _stated_rule(
    rule_of: Optional[Callable[[str], Optional[str]]], raw: str, text: Optional[str], examples: Sequence[str]
) -> Optional[str]:
    """The completion's stated rule when the prompt does not already carry it, else ``None``."""
    rule = rule_of(raw) if rule_of is not None else None
    if rule is None or text is None or carries_rule(text, rule):
        return None
    return rule if check_candidate(rule, current=text, examples=examples) is None else None


def make_candidates(
    raws: Sequence[str],
    *,
    current: str,
    seen: Iterable[str],
    budget: Optional[int],
    reject_over_budget: bool = False,
    start_index: int = 0,
    max_words: int = 200,
    max_ratio: Optional[float] = None,
    examples: Sequence[str] = (),
    step: int = 0,
    clip_over_budget: bool = False,
    hygiene: Optional[Callable[[str, str], tuple[str, Optional[str]]]] = None,
    rule_of: Optional[Callable[[str], Optional[str]]] = None,
) -> list[Candidate]:
    """Turns one step's optimizer completions into candidates.

    Each completion is parsed (:func:`extract_prompt`) and checked
    (:func:`check_candidate`). An accepted prompt gets its word edit distance to
    ``current``; when it exceeds ``budget`` it is flagged ``over_budget``, and
    rejected only if ``reject_over_budget``. Accepted prompts are then compared, in
    canonical form (:func:`normalize_prompt`), with ``seen`` and with the accepted
    candidates before them in ``raws``: a repeat is marked ``duplicate`` (not
    rejected; the optimizer reuses the cached score). ``seen`` is not modified.

    Args:
        raws: The completions, in sample order.
        current: The current prompt (the step's starting point).
        seen: Prompts already evaluated in this run (the current prompt among them).
        budget: The step's word budget (``schedule(t)``); ``None`` means no limit.
        reject_over_budget: Reject, rather than only flag, over-budget candidates.
        start_index: Index of the first completion (when a step samples in rounds).
        max_words: Longest acceptable prompt, in words.
        max_ratio: Longest acceptable prompt relative to ``current`` (off by default).
        examples: The example inputs shown in the meta-prompt (copies are rejected).
        step: The step the candidates belong to.
        clip_over_budget: Clip an over-budget prompt's change to the budget
            (:func:`gpo.optim.edits.clip_edits`) instead of flagging or rejecting it.
        hygiene: Cleans a parsed prompt and may reject it: ``(text, raw) -> (text, reason)``
            (see :mod:`gpo.optim.hygiene`).
        rule_of: Reads the rule a completion stated before its prompt
            (:func:`gpo.optim.hygiene.rule_line`). A prompt that does not carry its rule
            gets it as a last sentence; when that goes over the budget and clipping is on,
            the candidate is the current prompt plus the rule, if that fits, before any
            word-level clipping.

    Returns:
        One candidate per completion, in order, with ``parent`` and ``edit_budget`` set.

    >>> cands = make_candidates(
    ...     ["<START>Think step by step.<END>", "<START>Think step by step and answer.<END>",
    ...      "Sure, I can help.", "<START>Think step by step and answer.<END>"],
    ...     current="Think step by step.", seen={"Think step by step."}, budget=1)
    >>> [(c.edit_distance, c.duplicate, c.over_budget, c.rejected) for c in cands]
    [(0, True, False, None), (3, False, True, None), (None, False, False, 'no prompt found'), (3, True, True, None)]

    References:
        GPO (Tang et al., 2025): the edit budget is the step's learning rate.
    """
    known = {normalize_prompt(s) for s in seen}
    out: list[Candidate] = []

    def make(text, raw, index, distance, **flags) -> Candidate:
        return Candidate(
            step=step, index=index, prompt=text, parent=current, raw=raw,
            edit_budget=budget, edit_distance=distance, **flags,
        )

    for offset, raw in enumerate(raws):
        raw = "" if raw is None else raw
        index = start_index + offset
        if not raw.strip():
            out.append(make(None, raw, index, None, rejected="empty"))
            continue
        text = extract_prompt(raw)
        if text:
            trimmed = cut_meta_echo(text)
            if trimmed:
                text = normalize_prompt(trimmed)
        else:
            head = cut_meta_echo(raw)
            if head and head != raw.strip():
                text = extract_prompt(head)
        reason = None
        if text and hygiene is not None:
            text, reason = hygiene(text, raw)
            text = normalize_prompt(text)
        reason = reason or check_candidate(
            text, current=current, max_words=max_words, max_ratio=max_ratio, examples=examples
        )
        if reason is not None:
            out.append(make(text, raw, index, None, rejected=reason))
            continue
        rule = _stated_rule(rule_of, raw, text, examples)
        if rule is not None:
            text = normalize_prompt(with_rule(text, rule))
        distance = word_edit_distance(current, text or "")
        over = budget is not None and distance > budget
        clipped_from = None
        if over and clip_over_budget:
            assert budget is not None
            repaired = normalize_prompt(with_rule(current, rule)) if rule is not None else None
            if repaired is None or word_edit_distance(current, repaired) > budget:
                repaired = normalize_prompt(clip_edits(current, text, budget))
            clipped_from, text = text, repaired
            distance, over = word_edit_distance(current, text), False
            if not text or text == normalize_prompt(current):
                reason = f"no whole sentence of its change fits the edit budget ({budget} words)"
                out.append(make(text, raw, index, None, rejected=reason, clipped_from=clipped_from))
                continue
        if over and reject_over_budget:
            reason = f"over edit budget ({distance} > {budget} words)"
            out.append(make(text, raw, index, distance, rejected=reason, over_budget=True))
            continue
        key = normalize_prompt(text)
        duplicate = key in known
        known.add(key)
        out.append(make(text, raw, index, distance, duplicate=duplicate, over_budget=over, clipped_from=clipped_from))
    return out
