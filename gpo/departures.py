"""How a run departs from the paper's protocol, in words: what makes it lighter, and what it
adds beyond the paper. The report's banners and ``gpo optimize``'s notes read these."""

from __future__ import annotations

from typing import Any

from gpo.protocol import PROTOCOLS

__all__ = ["lighter_than_paper", "beyond_the_paper"]


def lighter_than_paper(args: dict[str, Any]) -> list[str]:
    """How a run's settings make it cheaper than the paper's protocol, in words.

    Args:
        args: The run's configuration (``config.json``'s ``run``, or ``args`` of older runs).

    Returns:
        One phrase per setting that differs from ``--protocol paper`` in a way that lowers
        cost and fidelity (fewer examples, steps or candidates, shorter or one-round
        answers); empty for a paper-protocol run.

    >>> lighter_than_paper({"eval_limit": 12, "two_round": False, "answer_tokens": 48})
    ['eval on the first 12 examples (paper: the whole eval split)', 'one-round answers (paper: a follow-up asks for the final answer)', 'first answers capped at 48 tokens (paper: 256)']
    """
    paper = PROTOCOLS["paper"]
    out = []
    for split in ("eval", "test"):
        if args.get(f"{split}_limit"):
            out.append(f"{split} on the first {args[f'{split}_limit']} examples (paper: the whole {split} split)")
    if args.get("two_round") is False:
        out.append("one-round answers (paper: a follow-up asks for the final answer)")
    if args.get("answer_tokens") and args["answer_tokens"] < paper.max_tokens:
        out.append(f"first answers capped at {args['answer_tokens']} tokens (paper: {paper.max_tokens})")
    if args.get("steps") is not None and args.get("epochs") is None:
        out.append(f"{args['steps']} steps (paper: {paper.epochs} epochs of {paper.batch_size}-example mini-batches)")
    update = ((args.get("optimizer") or {}).get("update") or {}) if isinstance(args.get("optimizer"), dict) else {}
    candidates = args.get("num_candidates") or update.get("num_candidates")
    if candidates and candidates < paper.num_candidates:
        out.append(f"{candidates} candidates per step (paper: {paper.num_candidates})")
    return out


# What each setting beyond the paper does, and its switch (the README's table in short);
# ``{s}`` is a plural ending, empty when the value is 1.
_BEYOND_PAPER_WORDS: dict[str, tuple[str, str]] = {
    "mistakes": ("the meta-prompt shows {value} wrong eval answer{s} of the current prompt", "--mistakes"),
    "answer_notes": ("it says so when most wrong answers hold the expected output in a longer answer", "--answer-notes"),
    "wrapped_answers_only": ("of the wrong answers, only those holding the expected output are shown", "--wrapped-answers-only"),
    "diverse_examples": ("demonstrations are drawn with different outputs", "--diverse-examples"),
    "rule_first": ("the optimizer states the input-to-output rule first, and a prompt without it gets it as a last sentence", "--rule-first"),
    "plain_examples": ("examples are shown as input/output pairs, without a <Prompt> mark", "--plain-examples"),
    "hygiene": ("preambles are stripped, and copies of examples and echoes of the meta-prompt are rejected", "--hygiene"),
    "clip_over_budget": ("a candidate over the edit budget is clipped to it", "--clip-over-budget"),
    "reject_over_budget": ("a candidate over the edit budget is rejected and resampled", "--reject-over-budget"),
    "fill_candidates": ("rejected and repeated candidates are replaced by new samples until a step has its number of new prompts", "--fill-candidates"),
    "max_resample_rounds": ("up to {value} resampling round{s} per step", "--max-resample-rounds"),
    "tie_break": ("candidates tied for a step's best are scored on {value} more example{s}", "--tie-break"),
    "near_misses": ("ties that remain go to the candidate whose wrong answers most often begin or end with the expected output", "--near-misses"),
    "racing": ("a step's candidates race on slices of the eval split", "--racing"),
}


def beyond_the_paper(optimizer: Any) -> list[tuple[str, str]]:
    """The settings of an optimizer that go beyond the paper, in words, with their switches.

    Args:
        optimizer: A :class:`gpo.optim.optimizer.PromptOptimizer`.

    Returns:
        ``(what it does, switch)`` for each setting whose value differs from ``--protocol
        paper``'s, in the order of the README's table; empty for a paper-protocol run.
        Resampling rounds count only where candidates are resampled.
    """
    paper = {**PROTOCOLS["paper"].beyond_paper, "racing": PROTOCOLS["paper"].racing}
    ours = optimizer.beyond_paper()
    out = []
    for name, (words, switch) in _BEYOND_PAPER_WORDS.items():
        value = ours.get(name)
        if value == paper[name] or (
            name == "max_resample_rounds" and not (ours.get("reject_over_budget") or ours.get("fill_candidates"))
        ):
            continue
        out.append((words.format(value=value, s="" if value == 1 else "s"), switch))
    return out
