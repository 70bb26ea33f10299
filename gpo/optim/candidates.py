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
from gpo.optim.state import Candidate

__all__ = [
    "Candidate",
    "FALLBACK_MAX_WORDS",
    "check_candidate",
    "extract_prompt",
    "make_candidates",
    "normalize_prompt",
]

FALLBACK_MAX_WORDS = 60
"""Longest untagged, unlabelled completion that :func:`extract_prompt` takes as a prompt."""


# ---------------------------------------------------------------------------
# Canonical form
# ---------------------------------------------------------------------------

_INLINE_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_prompt(text: str) -> str:
    """The canonical form of a prompt, used for exact de-duplication.

    Line breaks become ``\\n``; inside each line, runs of spaces, tabs and other
    non-newline whitespace collapse to one space; each line is stripped at both
    ends; more than one blank line in a row becomes one; the whole text is stripped.
    Case, punctuation and words are kept, so two prompts are duplicates only when
    they read the same.

    Args:
        text: A prompt.

    Returns:
        The canonical form.

    >>> normalize_prompt("  Think \\t step  by step.  ")
    'Think step by step.'
    >>> normalize_prompt("Line one.  \\r\\n\\n\\n\\n  Line two.")
    'Line one.\\n\\nLine two.'
    >>> normalize_prompt("Answer") == normalize_prompt("answer")
    False
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

# Tags a model may use around the prompt: <START> <END> (asked for), </START>, [START],
# <PROMPT>...</PROMPT>, <new_prompt>, <improved prompt>, <instruction>, <<START>>.
_TAG = re.compile(
    r"[<\[]{1,2}\s*(/?)\s*"
    r"(start|begin|end|prompt|new[ _-]?prompt|improved[ _-]?prompt|instruction)"
    r"\s*[>\]]{1,2}",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"<\s*prompt\s*>", re.IGNORECASE)
_META_TAG = re.compile(r"[<\[]\s*/?\s*(?:start|end)\s*[>\]]", re.IGNORECASE)
_INPUT = re.compile(r"\binput\s*:", re.IGNORECASE)
_OUTPUT = re.compile(r"\boutput\s*:", re.IGNORECASE)
# A tag pair whose content is only a joining word comes from restating the request
# ("wrap it in <START> and <END>"), not from a prompt.
_GLUE = re.compile(r"^(?:and|or|&|,|/|to|with|\.\.\.|…)?$", re.IGNORECASE)

_ADJ = (
    r"(?:new|improved|updated|revised|refined|final|better|optimi[sz]ed|modified|"
    r"suggested|rewritten|enhanced)"
)
# "Prompt:", "New prompt:", "**Improved Prompt:**", "Here is the new prompt:",
# "Here's an improved version of the prompt:", "The new instruction is:".
_LABEL = re.compile(
    r"^[#>*_\s]*(?:(?:\d{1,2}[.)]|[-+])\s+[*_]*)?"
    r"(?:here(?:'s|’s|\s+is|\s+are)\s+)?"
    r"(?:(?:the|a|an|my|your|our)\s+)?"
    r"(?:" + _ADJ + r"\s+)?"
    r"(?:version\s+of\s+(?:the\s+)?(?:current\s+)?)?"
    r"(?:prompt|instruction)s?"
    r"(?:\s+is)?"
    r"\s*[*_]*\s*:[*_]*\s*",
    re.IGNORECASE,
)
# A label line with no colon, alone on its line: "### New Prompt", "**Improved prompt**".
_LABEL_LINE = re.compile(
    r"^[#>*_\s]*(?:(?:the|a|an|my)\s+)?(?:" + _ADJ + r"\s+)?(?:prompt|instruction)"
    r"[*_\s]*$",
    re.IGNORECASE,
)
# "Replace <Prompt> with:" / "Replace the prompt with:" followed by the prompt.
_REPLACE_COLON = re.compile(
    r"^\s*replace\s+(?:the\s+)?(?:<\s*prompt\s*>|(?:current\s+|previous\s+|old\s+)?prompt)"
    r"(?:\s+with)?\s*:\s*",
    re.IGNORECASE,
)
# "Replace <Prompt> with "…"" where the quoted text is the whole rest.
_REPLACE_QUOTED = re.compile(
    r"^replace\s+(?:the\s+)?(?:<\s*prompt\s*>|(?:current\s+|previous\s+|old\s+)?prompt)"
    r"\s+with\s+(?=[\"“'‘])",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^```[ \t]*([\w+-]*)[ \t]*\n(.*?)\n?```$", re.DOTALL)
_FENCE_ANY = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)```", re.DOTALL)
_PROSE_FENCES = {"", "text", "txt", "plaintext", "plain", "markdown", "md", "prompt"}
_TRAILING_SCORE = re.compile(r"\s*\(?\bscore\s*:\s*\d+(?:\.\d+)?\)?\s*$", re.IGNORECASE)
_SCORE_LINE = re.compile(r"^[\s>*_+-]*score[*_]*\s*:", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)(?P<body>[^*_\n].*?)\1\s*$")
_CHATTER = re.compile(
    r"^(?:sure|certainly|okay|ok|of course|absolutely|great|here|i\b|i'm|i’m|i've|i will|"
    r"i'll|as an|based on|to improve|to create|the (?:previous|current|new|improved|given)|"
    r"this prompt|analysis|explanation|note|let me|we\b|in this|thanks?|"
    r"(?:please|could you|can you) (?:provide|share|give me|clarify))\b",
    re.IGNORECASE,
)
_MAX_LAYERS = 8  # wrappers peeled per passage ("**New prompt:** `…`" needs three)
_WRAPPERS = (
    ("**", "**"),
    ("__", "__"),
    ("`", "`"),
    ('"', '"'),
    ("“", "”"),
    ("'", "'"),
    ("‘", "’"),
    ("«", "»"),
    ("*", "*"),
    ("_", "_"),
)


def _unwrap(text: str) -> str:
    """Removes one layer of markdown or quotes that wraps the whole text."""
    for left, right in _WRAPPERS:
        if len(text) >= len(left) + len(right) and text.startswith(left) and text.endswith(right):
            inner = text[len(left) : len(text) - len(right)]
            if left not in inner and right not in inner:
                return inner
    return text


def _drop_label(text: str) -> str:
    """Removes a leading label ("New prompt:", a heading, "Replace <Prompt> with:")."""
    first, _, rest = text.partition("\n")
    if rest.strip() and _LABEL_LINE.match(first):
        return rest
    match = _LABEL.match(text) or _REPLACE_COLON.match(text)
    if match and text[match.end() :].strip():
        return text[match.end() :]
    match = _REPLACE_QUOTED.match(text)
    if match:
        remainder = text[match.end() :].strip()
        if _unwrap(remainder) != remainder:
            return remainder
    return text


def _clean(segment: str) -> str:
    """A tag's content or a picked passage, with markdown, labels and quotes removed."""
    text = segment.replace("\r\n", "\n").strip()
    for _ in range(_MAX_LAYERS):
        before = text
        fence = _FENCE.match(text)
        if fence and fence.group(1).lower() in _PROSE_FENCES:
            text = fence.group(2)
        text = _HEADING.sub("", text)
        text = _drop_label(text.strip())
        text = _TRAILING_SCORE.sub("", text.strip())
        text = _unwrap(text.strip()).strip()
        if text == before:
            break
    return normalize_prompt(text)


def _paragraph_after(text: str, start: int) -> str:
    """The paragraph that starts at ``start`` (or, if that line is empty, the next one)."""
    rest = text[start:]
    head, sep, tail = rest.partition("\n")
    if head.strip():
        # The label's line holds the prompt; it may go on until a blank line.
        body = head + sep + tail
    else:
        body = tail.lstrip("\n")
        if body.startswith("```"):
            end = body.find("```", 3)
            return body[: end + 3] if end != -1 else body
    paragraph = re.split(r"\n[ \t]*\n", body, maxsplit=1)[0]
    lines = [ln for ln in paragraph.split("\n") if not _SCORE_LINE.match(ln)]
    return "\n".join(lines)


def _from_label(text: str) -> Optional[str]:
    """The prompt after the last label line ("New prompt: …"), if any."""
    cut = None
    pos = 0
    for line in text.splitlines(keepends=True):
        match = _LABEL.match(line) or _REPLACE_COLON.match(line)
        if match:
            cut = pos + match.end()
        elif line.strip() and _LABEL_LINE.match(line.rstrip("\n")):
            cut = pos + len(line.rstrip("\n"))
        pos += len(line)
    if cut is None:
        return None
    found = _clean(_paragraph_after(text, cut))
    return found or None


def _from_fence(text: str) -> Optional[str]:
    """The content of the last prose code fence (no language, ``text``, ``markdown``)."""
    blocks = [m for m in _FENCE_ANY.finditer(text) if m.group(1).lower() in _PROSE_FENCES]
    for block in reversed(blocks):
        found = _clean(block.group(2))
        if found:
            return found
    return None


def _from_bold(text: str) -> Optional[str]:
    """The last line that is entirely bold, has 3+ words and does not end in a colon."""
    for line in reversed(text.splitlines()):
        match = _BOLD_LINE.match(line)
        if match:
            body = match.group("body").strip()
            if len(body.split()) >= 3 and not body.endswith(":"):
                return _clean(body)
    return None


def _from_whole(text: str) -> Optional[str]:
    """The whole text, when it is short and reads like an instruction, not chatter."""
    found = _clean(text)
    lines = [ln for ln in found.splitlines() if ln.strip()]
    if not found or len(found.split()) > FALLBACK_MAX_WORDS or len(lines) > 3:
        return None
    if _CHATTER.match(found) or (_INPUT.search(found) and _OUTPUT.search(found)):
        return None
    return found


def _untagged(text: str) -> Optional[str]:
    """Label, then prose fence, then bold line, then the whole text."""
    for strategy in (_from_label, _from_fence, _from_bold, _from_whole):
        found = strategy(text)
        if found:
            return found
    return None


def extract_prompt(raw: str) -> Optional[str]:
    """The prompt an optimizer completion proposes, parsed leniently.

    Rules, in order (the first that yields text wins):

    1. **Complete tag pairs.** An opening tag (``<START>``, ``[START]``, ``<BEGIN>``,
       ``<PROMPT>``, ``<new_prompt>``, ``<improved prompt>``, ``<instruction>``, any
       case, single or doubled brackets) closed by ``<END>``, ``[END]`` or any
       ``</…>`` tag; ``<PROMPT>`` only by ``</PROMPT>``, since ``<Prompt>`` is also
       the meta-prompt's placeholder (inside a ``<START>`` block it is text). Of
       several pairs the **last** one wins: models often restate the request ("wrap
       it in <START> and <END>") or the current prompt before answering. Pairs whose
       content is empty or a joining word ("and") are skipped.
    2. **Missing end tag**: the text from the last unclosed opening tag to the end
       (if a label line such as "Improved instruction:" occurs in it, the paragraph
       after the last label: such tails are usually truncated chatter).
    3. **Missing start tag**: the last paragraph before an ``<END>`` that opens no
       pair (or the text after a label in front of it).
    4. Tags found but all empty: ``""`` (the caller records "empty").
    5. **No usable tags**, searched in the text after the last tag's line: the
       paragraph after the last label line ("Prompt:", "New prompt:", "**Improved
       prompt:**", "Here is the new prompt:", "Replace <Prompt> with:", a "### New
       Prompt" heading); else the last fenced block without a language or marked
       ``text``/``markdown`` (code in other languages is not a prompt); else the
       last line that is entirely bold with three or more words.
    6. **Fallback**: the whole remaining text, only when it is at most
       :data:`FALLBACK_MAX_WORDS` words on at most three lines, does not open with
       chatter ("Sure", "Here", "I", "Based on", "The previous", …) and does not
       echo examples (``Input:`` and ``Output:``).

    Every result is cleaned the same way: a prose code fence, heading marks, a leading
    label, a trailing "Score: 47" copied from the trajectory, and wrapping ``**``,
    ``__``, back-ticks or quotes are removed (repeatedly), then the text is put in
    canonical form (:func:`normalize_prompt`): newlines inside the prompt are kept,
    both ends are stripped.

    Args:
        raw: The completion.

    Returns:
        The prompt; ``""`` when tags were found with nothing in them; ``None`` when
        no prompt was found.

    >>> extract_prompt("Sure!\\n<START>Answer with the letter only.<END>\\nHope it helps.")
    'Answer with the letter only.'
    >>> extract_prompt("New prompt: **Think it through, then answer.**")
    'Think it through, then answer.'
    >>> extract_prompt("<START>\\nRead each option first.")
    'Read each option first.'
    >>> extract_prompt("<START></END>")
    ''
    >>> extract_prompt("Sure, I can help with that! Let me know what you need.") is None
    True

    References:
        GPO (Tang et al., 2025): the optimizer is asked to wrap the new prompt in
        ``<START>`` and ``<END>``.
    """
    if not raw or not raw.strip():
        return None
    text = raw.replace("\r\n", "\n").replace("\r", "\n")

    pairs: list[tuple[re.Match[str], re.Match[str]]] = []
    orphans: list[re.Match[str]] = []
    pending: Optional[re.Match[str]] = None
    last_tag_end = 0
    for tag in _TAG.finditer(text):
        name = re.sub(r"[ _-]", "", tag.group(2).lower())
        closing = bool(tag.group(1)) or name == "end"
        if not closing:
            pending_name = pending.group(2).lower() if pending else None
            if name == "prompt" and pending is not None and pending_name != "prompt":
                continue  # the <Prompt> placeholder inside a block
            pending = tag
            if name != "prompt":  # a lone <Prompt> is usually the placeholder, in prose
                last_tag_end = tag.end()
            continue
        last_tag_end = tag.end()
        if pending is not None:
            if pending.group(2).lower() == "prompt" and name != "prompt":
                pending = None  # that <Prompt> was the placeholder, not a tag
                orphans.append(tag)
            else:
                pairs.append((pending, tag))
                pending = None
        else:
            orphans.append(tag)

    had_empty = False
    for opening, closing in reversed(pairs):
        found = _clean(text[opening.end() : closing.start()])
        if found and not _GLUE.match(found):
            return found
        had_empty = had_empty or not found

    if pending is not None and pending.group(2).lower() != "prompt":
        tail = text[pending.end() :]
        found = _from_label(tail) or _clean(tail)
        if found:
            return found

    boundaries = sorted(
        [m.end() for pair in pairs for m in pair] + [m.end() for m in orphans]
    )
    for orphan in reversed(orphans):
        start = max([b for b in boundaries if b <= orphan.start()], default=0)
        segment = text[start : orphan.start()]
        found = _from_label(segment)
        if not found:
            paragraphs = [p for p in re.split(r"\n[ \t]*\n", segment) if p.strip()]
            found = _clean(paragraphs[-1]) if paragraphs else ""
        if found and not _GLUE.match(found):
            return found

    # Untagged strategies, on the text after the line of the last tag.
    rest = text
    if last_tag_end:
        newline = text.find("\n", last_tag_end)
        rest = "" if newline == -1 else text[newline + 1 :]
    found = _untagged(rest) if rest.strip() else None
    if found:
        return found
    if had_empty or (pairs and not rest.strip()):
        return ""
    return None


# ---------------------------------------------------------------------------
# Checks and candidates
# ---------------------------------------------------------------------------


_ECHO_LINE = re.compile(
    r"^\s*(?:score\s*:|its score is|the current prompt is|earlier prompts|input\s*:|output\s*:|"
    r"<\s*prompt\s*>\s*$|the prompt replaces <prompt>)",
    re.IGNORECASE,
)


def cut_meta_echo(text: str) -> str:
    """The text before the first line that repeats the meta-prompt's own layout.

    Small models often continue a proposed prompt with the meta-prompt's scaffolding
    (``Score: 58``, ``The current prompt is:``, ``Input:`` …). What comes before that is
    the proposal. A head that still introduces something (a line ending in ``:``) is not a
    proposal on its own, and gives ``""``.

    >>> cut_meta_echo("Think it through.\\nScore: 58\\n\\nThe current prompt is:")
    'Think it through.'
    >>> cut_meta_echo("Score: 3")
    ''
    """
    kept = []
    for line in text.splitlines():
        if _ECHO_LINE.match(line):
            break
        kept.append(line)
    head = "\n".join(kept).strip()
    if any(line.rstrip().endswith(":") for line in head.splitlines()):
        return ""
    return head


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
        distance = word_edit_distance(current, text or "")
        over = budget is not None and distance > budget
        clipped_from = None
        if over and clip_over_budget:
            clipped_from, text = text, normalize_prompt(clip_edits(current, text, budget))
            distance, over = word_edit_distance(current, text), False
            if not text:
                out.append(make(text, raw, index, None, rejected="nothing left after clipping", clipped_from=clipped_from))
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
