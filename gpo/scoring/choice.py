"""Multiple choice: an option letter such as ``(C)``, found by letter or by option text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from gpo.scoring.base import AnswerFormat
from gpo.scoring.parsing import _clean_phrase, _first_line, _head

_LETTERS = "ABCDEFGHIJKLMNOPQR"
_OPTION_LINE = re.compile(r"^[ \t]*\(([A-R])\)[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_OPTION_INLINE = re.compile(r"\(([A-R])\)")
_PAREN_LETTER = re.compile(r"[(\[]\s*([A-R])\s*[)\]]")
_PAREN_LOWER = re.compile(r"[(\[]\s*([a-r])\s*[)\]]")
_NAMED_LETTER = re.compile(r"\b(?:option|choice|letter)\s*[(\[]?\s*([A-Ra-r])\b(?![-'])", re.IGNORECASE)
_HALF_PAREN = re.compile(r"(?<![A-Za-z0-9(\[])([A-Ra-r])\)")
_BARE_START = re.compile(r"^[\s\"'(\[]*([A-R])(?![A-Za-z0-9'\-])(\s*)(.?)")
_CONCLUSION = re.compile(
    r"""
    [(\[]((?-i:[A-R]))[)\]][^\n()\[\]]{0,80}?\s*(?:\bis\b|\bwould\s+be\b|:|-|\u2013|\u2014)\s*
        (?:the\s+)?(?:most\s+)?(?:correct|right|best|true|accurate|likely|plausible|appropriate|answer)\b
    | \b(?:choose|chose|select|pick|go\s+with|opt\s+for)\s+(?:option\s+|choice\s+|answer\s+)?
        [(\[]?((?-i:[A-R]))\b
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _parse_options(question: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Option texts by letter (from ``(A) text`` lines) and the letters offered."""
    texts: dict[str, str] = {}
    for m in _OPTION_LINE.finditer(question or ""):
        texts.setdefault(m.group(1), m.group(2))
    letters = tuple(sorted(texts)) or tuple(sorted(set(_OPTION_INLINE.findall(question or ""))))
    return texts, letters


def _join_options(letters: tuple[str, ...]) -> str:
    names = [f"({x})" for x in letters]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True)
class ChoiceFormat(AnswerFormat):
    """Multiple choice; predictions and targets look like ``(C)``."""

    def follow_up(self, question: str) -> str:
        _, letters = _parse_options(question)
        if len(letters) >= 2:
            return (
                f"Now give only your final answer: the one option among {_join_options(letters)} "
                "that is correct, written as its letter in parentheses."
            )
        return self.request

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        texts, letters = _parse_options(question)
        allowed = letters or tuple(_LETTERS)

        def ok(letter: str) -> bool:
            return letter.upper() in allowed

        if after_marker:
            head = _head(part)
            m = _PAREN_LETTER.search(head) or _PAREN_LOWER.search(head)
            if m:
                return f"({m.group(1).upper()})"
            for regex in (_NAMED_LETTER, _HALF_PAREN):
                m = regex.search(head)
                if m and ok(m.group(1)):
                    return f"({m.group(1).upper()})"
            letter = _bare_letter(head, strict=False)
            if letter and ok(letter):
                return f"({letter})"
            return _match_option_text((head, _first_line(part)), texts)

        # Whole text, no usable marker: the last clear mention wins.
        last = None
        for m in _CONCLUSION.finditer(part):
            letter = (m.group(1) or m.group(2)).upper()
            if ok(letter) or m.group(1):
                last = letter
        if last:
            return f"({last})"
        found = [x for x in _PAREN_LETTER.findall(part) if ok(x)]
        if found:
            return f"({found[-1]})"
        whole = _clean_phrase(part)
        if len(whole) == 1 and ok(whole):
            return f"({whole.upper()})"
        letter = _bare_letter(part, strict=True)
        if letter and ok(letter):
            return f"({letter})"
        for regex in (_NAMED_LETTER, _PAREN_LOWER):
            hits = [x for x in regex.findall(part) if ok(x)]
            if hits:
                return f"({hits[-1].upper()})"
        lines = [ln for ln in part.split("\n") if ln.strip()]
        candidates = (part, _head(part), lines[0] if lines else "", lines[-1] if lines else "")
        return _match_option_text(candidates, texts)

    def _score_one(self, prediction: str, reference: str) -> float:
        ref = reference.strip()
        m = re.fullmatch(r"[(\[]?\s*([A-Ra-r])\s*[)\]]?", ref)
        if m:
            return float(prediction.strip().upper() == f"({m.group(1).upper()})")
        return float(_clean_phrase(prediction) == _clean_phrase(ref))


def _bare_letter(text: str, strict: bool) -> Optional[str]:
    """A lone option letter at the start of ``text`` ("B", "B.", "B) ...", "B: ...").

    With ``strict`` (whole outputs), the letter must be followed by punctuation
    or the end, so that "A cat" or "I think" are not read as answers.
    """
    m = _BARE_START.match(text)
    if not m:
        return None
    letter, space, nxt = m.group(1), m.group(2), m.group(3)
    if nxt == "" or nxt in ".,:;)]!":
        return letter
    if strict:
        return None
    if letter in "AI" and space and nxt.isalpha():
        return None  # an article or a pronoun, not an answer
    return letter


def _match_option_text(candidates: tuple[str, ...], texts: dict[str, str]) -> Optional[str]:
    """The letter whose option text equals one of ``candidates`` (normalized)."""
    if not texts:
        return None
    by_text: dict[str, list[str]] = {}
    for letter, text in texts.items():
        key = _clean_phrase(text)
        if key:
            by_text.setdefault(key, []).append(letter)
    for cand in candidates:
        letters = by_text.get(_clean_phrase(cand))
        if letters and len(set(letters)) == 1:
            return f"({letters[0]})"
    return None
