"""Where an answer stands in a model output: the helpers every answer format shares.

An output's answer markers ("the answer is", "Answer:", "final answer", "####") split it
into the parts to parse; markdown, math delimiters and LaTeX wrappers are removed first; a
part's first line or first sentence is where an answer after a marker stands.
"""

from __future__ import annotations

import re

_MARKER = re.compile(
    r"""
    \bfinal\s+answer\b
        (?:\s*(?:is|would\s+be|will\s+be|should\s+be)\b)?\s*[:=\-]?
    | \banswers?
        (?:\s+(?:to|for|of)\b[^.:\n]{0,40}?)?
        \s*(?:(?:is|are|would\s+be|will\s+be|should\s+be|must\s+be)\b\s*:?|[:=])
    | \b(?:correct|right|best)\s+(?:option|choice)\s+(?:is|would\s+be)\b\s*:?
    | \#\#\#\#
    """,
    re.IGNORECASE | re.VERBOSE,
)
"""Phrases after which an output states its answer."""

_LATEX_WRAPPER = re.compile(r"\\(?:boxed|fbox|text|textbf|mathrm|mathbf)\s*\{")


def _unwrap_latex(text: str) -> str:
    """Replaces ``\\boxed{x}`` (and ``\\text{x}`` etc.) by ``x``, braces balanced."""
    out: list[str] = []
    pos = 0
    while True:
        m = _LATEX_WRAPPER.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos : m.start()])
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            out.append(text[m.end() : i - 1])
            pos = i
        else:  # unbalanced: drop the opening only
            pos = m.end()


def _strip_markdown(text: str) -> str:
    """Removes emphasis, code ticks, math delimiters and LaTeX wrappers."""
    text = _unwrap_latex(text)
    text = text.replace("**", "").replace("__", "").replace("`", "").replace("$", "")
    text = re.sub(r"\\[()\[\]]", " ", text)
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\r", "")


def _marker_parts(text: str) -> list[str]:
    """The text after each answer marker, last marker first."""
    return [text[m.end() :] for m in reversed(list(_MARKER.finditer(text)))]


_LEADING_JUNK = re.compile(r"^(?:[\s:;,=>*#]|[-\u2013\u2014](?=\s))+")
"""Separators, quote marks and bullets before an answer ("Answer: - (B)")."""


def _lstrip_junk(text: str) -> str:
    return _LEADING_JUNK.sub("", text, count=1)


def _first_line(part: str, junk: bool = True) -> str:
    """The first non-empty line of ``part`` (without leading separators if ``junk``)."""
    part = _lstrip_junk(part) if junk else part.lstrip(" \t\n:")
    return part.split("\n", 1)[0].strip()


def _head(part: str, junk: bool = True) -> str:
    """The first sentence of the first non-empty line of ``part``."""
    line = _first_line(part, junk)
    m = re.search(r"[.!?](?=\s)", line)
    return line[: m.start() + 1] if m else line


def _clean_phrase(text: str) -> str:
    """Lowercases, collapses whitespace and strips surrounding punctuation and quotes."""
    text = " ".join(text.lower().split())
    return text.strip(" \t\n.,;:!?\"'()[]{}*_`~")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return lines[-1] if lines else ""


_LABEL = re.compile(
    r"^\s*(?:the\s+)?(?:final\s+)?"
    r"(?:(?:answer|output|response|text|sentence|result|description)\s*(?:is\s*)?[:\-]|answer\s+is\b)\s*",
    re.IGNORECASE,
)
"""A label before an answer ("Answer:", "The output is"), removed from free-text and
Instruction Induction answers."""
