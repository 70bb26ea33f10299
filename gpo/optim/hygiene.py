"""Candidate hygiene by similarity: preambles, copied examples, echoed meta-prompts.

Small optimizer models often answer the meta-prompt with something that is not a new
instruction: "Change the prompt to:" in front of it, one of the demonstrations copied
(an input, an output, or both), or a stretch of the meta-prompt itself. Exact matching
misses most of these, so they are found by similarity here. Pure functions, no I/O.

These checks go beyond the paper; ``--protocol paper`` leaves them off.
"""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Optional, Sequence

__all__ = [
    "strip_preamble", "strip_score_echo", "copies_example", "echoes_text", "hygiene_reason", "rule_line", "carries_rule", "with_rule",
    "own_wording",
]

_PREAMBLE_WORDS = re.compile(
    r"\b(?:prompt|instruction|version|change|changed|modify|modified|rewrite|rewritten|revised|"
    r"updated|improved|new|here|try|replace|replaced|answer|proposal|suggestion)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9']+")
_RULE_LABEL = re.compile(r"^[\s*_#>-]*rule[*_]*\s*:[*_]*\s*", re.IGNORECASE)
_META_LABELS = re.compile(r"\b(?:model's answer|expected output|correct output)\s*:", re.IGNORECASE)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def strip_preamble(text: str) -> str:
    """Removes a first line that introduces the prompt instead of being part of it.

    The line must end with a colon, hold at most 10 words, speak of the prompt or the
    change ("Change the prompt to:", "Here is my revised version:"), and be followed by text.

    >>> strip_preamble("Change the prompt to:\\nLet's think about step by step.")
    "Let's think about step by step."
    >>> strip_preamble("Follow these steps:\\n1. Read the word.")
    'Follow these steps:\\n1. Read the word.'
    """
    label = _RULE_LABEL.match(text.strip())
    if label and text.strip()[label.end():].strip():
        return text.strip()[label.end():].strip()  # the stated rule, as an instruction
    first, sep, rest = text.strip().partition("\n")
    line = first.strip().strip("*_#> ").strip()
    if (
        sep
        and rest.strip()
        and line.endswith(":")
        and len(line.split()) <= 10
        and _PREAMBLE_WORDS.search(line)
    ):
        return rest.strip()
    return text


_SCORE_SENTENCE = re.compile(  # markdown emphasis around the label or the number allowed ("**Score:** 75.")
    r"(?:^|(?<=[.!?:])|(?<=\n))[ \t]*[*_]*[ \t]*(?:its|the|your|this prompt's|the prompt's)?[ \t]*score[*_]*[ \t]*"
    r"(?:is|:|=)[*_]*[ \t]*[*_]*\d+(?:\.\d+)?[ \t]*%?[*_]*[ \t]*(?:[.!]|(?=\n|\Z))",  # the sentence ends there
    re.IGNORECASE,
)


def strip_score_echo(text: str) -> str:
    """Removes sentences that only repeat a score, as the meta-prompt shows it ("Its score is 0.").

    Nothing is removed when nothing else would be left.

    >>> strip_score_echo("Which letter does this word start with? Its score is 85. Answer with it.")
    'Which letter does this word start with? Answer with it.'
    >>> strip_score_echo("Name the letter." + chr(10) + "Score: 40")
    'Name the letter.'
    >>> strip_score_echo("**Score:** 75. For each input, write its first letter.")
    'For each input, write its first letter.'
    >>> strip_score_echo("Score: 5 points for each right answer. Answer with one letter.")
    'Score: 5 points for each right answer. Answer with one letter.'
    >>> strip_score_echo("Keep the score in mind: a higher score is better.")
    'Keep the score in mind: a higher score is better.'
    """
    stripped = _SCORE_SENTENCE.sub("", text)
    stripped = re.sub(r"[ \t]{2,}", " ", stripped)
    stripped = "\n".join(line.rstrip() for line in stripped.strip().splitlines()).strip()
    return stripped if stripped else text


def copies_example(text: str, examples: Iterable[tuple[str, str]], threshold: float = 0.75) -> bool:
    """Whether a candidate is (nearly) a demonstration's input, output, or both together.

    Args:
        text: The candidate prompt.
        examples: ``(input, output)`` of each demonstration the meta-prompt showed.
        threshold: Least similarity (difflib's ratio over normalized words) that counts.

    >>> copies_example("consultant", [("consultant", "c")])
    True
    >>> copies_example("Write the first letter of the word.", [("consultant", "c")])
    False
    >>> copies_example("Input: (True and False) Output: False", [("( True and False )", "False")])
    True
    >>> copies_example("classroom - c" + chr(10) + "genre - g", [("classroom", "c"), ("genre", "g")])
    True
    """
    cand = _norm(text)
    if not cand:
        return False
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) >= 2 and sum(copies_example(line, examples, threshold) for line in lines) * 2 >= len(lines):
        return True  # a listing of demonstrations, one a line
    for inp, out in examples:
        for piece in (inp, out, f"{inp} {out}", f"input {inp} output {out}"):
            ref = _norm(piece)
            if ref and difflib.SequenceMatcher(None, cand, ref, autojunk=False).ratio() >= threshold:
                return True
    return False


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def own_wording(meta_prompt: str, prompts: Iterable[str]) -> str:
    """The meta-prompt's own wording: its text with every prompt it shows cut out.

    Longer prompts are cut first, so a prompt that contains another shown prompt (a GPO
    edit that extends p0) is cut whole, whatever order the prompts come in; cutting the
    shorter one first would leave the rest of the longer one behind as "wording", and a
    candidate that keeps the current prompt would then read as an echo of the meta-prompt.

    >>> text = "Prompt: Be brief. Current: Be brief. Answer in one word. Write a new prompt."
    >>> own_wording(text, ["Be brief.", "Be brief. Answer in one word."])
    'Prompt:   Current:   Write a new prompt.'
    >>> own_wording(text, ["Be brief. Answer in one word.", "Be brief."])
    'Prompt:   Current:   Write a new prompt.'
    """
    for prompt in sorted({p for p in prompts if p}, key=lambda p: (-len(p), p)):
        meta_prompt = meta_prompt.replace(prompt, " ")
    return meta_prompt


def echoes_text(text: str, source: str, *, n: int = 4, share: float = 0.5, min_words: int = 8) -> bool:
    """Whether most of a candidate's word ``n``-grams come from ``source`` (the meta-prompt).

    >>> src = "Look at what the prompts above do well and what they do badly."
    >>> echoes_text("Look at what the prompts above do well and what they do badly.", src)
    True
    >>> echoes_text("Write only the first letter of the given word, in lower case.", src)
    False
    """
    words = _norm(text).split()
    if len(words) < min_words:
        return False
    grams = _ngrams(words, n)
    if not grams:
        return False
    return len(grams & _ngrams(_norm(source).split(), n)) / len(grams) >= share


def hygiene_reason(
    text: str,
    *,
    examples: Sequence[tuple[str, str]],
    meta_prompt_template: str,
) -> Optional[str]:
    """Why a parsed candidate should be rejected by similarity, or ``None``.

    Args:
        text: The candidate (after :func:`strip_preamble`).
        examples: The demonstrations shown, as ``(input, output)``.
        meta_prompt_template: The meta-prompt's own wording (without the prompts it
            shows, which a candidate may legitimately reuse).
    """
    if copies_example(text, examples):
        return "copies a demonstration"
    if _META_LABELS.search(text) or echoes_text(text, meta_prompt_template):
        return "echoes the meta-prompt"
    return None


_RULE = re.compile(r"^[\s*_#>-]*rule[*_]*\s*:[*_]*\s*(?P<rule>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_RULE_END = re.compile(r"<START>|\bnew prompt\s*:|\bprompt\s*:", re.IGNORECASE)


def rule_line(raw: str) -> Optional[str]:
    """The rule a completion stated in a line "Rule: …", as an instruction; ``None`` without one.

    The rule ends where the prompt begins when both share a line (``<START>``, "New prompt:").

    >>> rule_line("**Rule:** Take the first letter of the word." + chr(10) + "<START>classroom - c<END>")
    'Take the first letter of the word.'
    >>> rule_line("Rule: Output only the first letter. <START>Which letter is it?<END>")
    'Output only the first letter.'
    >>> rule_line("<START>Answer.<END>") is None
    True
    """
    match = _RULE.search(raw or "")
    if not match:
        return None
    rule = _RULE_END.split(match.group("rule"), maxsplit=1)[0]
    rule = rule.strip().strip("*_").strip()
    return rule if len(rule.split()) >= 3 and "<" not in rule else None


_STOPWORDS = frozenset(
    "a an the of to in on at by for with and or is are be it its this that each every given "
    "should must will model input output answer prompt".split()
)


def _content(text: str) -> set[str]:
    return {w for w in _norm(text).split() if w not in _STOPWORDS and len(w) > 1}


def carries_rule(text: str, rule: str, share: float = 0.6) -> bool:
    """Whether a prompt already says what its completion's rule line says.

    True when at least ``share`` of the rule's content words (not function words, nor the
    words every rule uses: model, input, output, answer, prompt) occur in the prompt.

    >>> carries_rule("Write the first letter of the word.", "The output is the first letter of the word.")
    True
    >>> carries_rule("Let's think step by step.", "The output is the first letter of the word.")
    False
    """
    words = _content(rule)
    if not words:
        return True
    return len(words & _content(text)) / len(words) >= share


def with_rule(text: str, rule: str) -> str:
    """The prompt with its completion's stated rule added as a last sentence.

    >>> with_rule("Let's think step by step", "the output is the first letter of the word")
    "Let's think step by step. The output is the first letter of the word."
    """
    text, rule = text.strip(), rule.strip()
    if text and text[-1] not in ".!?:":
        text += "."
    if rule[-1] not in ".!?":
        rule += "."
    rule = rule[0].upper() + rule[1:]
    return f"{text} {rule}".strip()
