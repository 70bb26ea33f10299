"""Reading a prompt out of an optimizer completion: tags, labels, fences, chatter.

The optimizer is asked to put the new prompt between ``<START>`` and ``<END>``; small models
use other tags, forget one, wrap the prompt in markdown, put "Prompt:" in front, chat
before and after, or echo the meta-prompt. :func:`extract_prompt` finds the prompt in all
of these; :func:`normalize_prompt` gives every prompt one canonical form. Pure functions.

References:
    GPO (Tang et al., 2025): the optimizer's new prompt is read between ``<START>`` and
    ``<END>``; the lenient reading is this library's addition.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = ["FALLBACK_MAX_WORDS", "extract_prompt", "normalize_prompt", "cut_meta_echo"]

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
_STRAY_MARKUP = re.compile(r"\A[*_`#]+[ \t]*\n|\n[ \t]*[*_`#]+\Z")
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
        text = _STRAY_MARKUP.sub("", text.strip())  # "**<START>**": the bold's closing stars
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
