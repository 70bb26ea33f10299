"""A single number: digits or number words, compared numerically."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Optional

from gpo.scoring.base import AnswerFormat
from gpo.scoring.parsing import _clean_phrase, _head

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_NUMBER_WORD = (
    r"(?:"
    + "|".join(sorted([*_UNITS, *_TENS, "hundred", *_SCALES], key=len, reverse=True))
    + r")\b"
)
_NUMBER_WORD_SPAN = re.compile(
    rf"\b{_NUMBER_WORD}(?:(?:[ \t]*-[ \t]*|[ \t]+(?:and[ \t]+)?){_NUMBER_WORD})*",
    re.IGNORECASE,
)
_PRONOUN_ONE_BEFORE = re.compile(
    r"\b(?:each|every|no|any|some|the|this|that|which|another|last|first|only|"
    r"right|wrong|correct|little|same|other|a)\s+$",
    re.IGNORECASE,
)
_PRONOUN_ONE_AFTER = re.compile(r"^(?:\s+(?:of|another|by)\b|'s)", re.IGNORECASE)
_NUMBER = re.compile(r"(?:(?<![\w)])[-\u2212\u2013])?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_CLAUSE_END = re.compile(r",\s|;|\(|\s(?:because|since|as|so|which|given)\b", re.IGNORECASE)


def _words_to_values(words: list[str]) -> list[int]:
    """Reads a run of number words, splitting it where a new number starts."""
    values: list[int] = []
    total = current = 0
    prev: Optional[str] = None

    def flush() -> None:
        nonlocal total, current, prev
        if prev is not None:
            values.append(total + current)
        total = current = 0
        prev = None

    for word in words:
        w = word.lower()
        if w in _UNITS:
            if prev in ("unit", "tens") and (prev == "unit" or _UNITS[w] >= 10 or _UNITS[w] == 0):
                flush()
            current += _UNITS[w]
            prev = "unit"
        elif w in _TENS:
            if prev in ("unit", "tens"):
                flush()
            current += _TENS[w]
            prev = "tens"
        elif w == "hundred":
            if prev == "hundred":
                flush()
            current = (current or 1) * 100
            prev = "hundred"
        else:
            total += (current or 1) * _SCALES[w]
            current = 0
            prev = "scale"
    flush()
    return values


def _replace_number_words(text: str) -> str:
    """Writes number words as digits: "twenty-one apples" -> "21 apples"."""

    def repl(m: re.Match[str]) -> str:
        words = re.findall(r"[A-Za-z]+", m.group(0))
        words = [w for w in words if w.lower() != "and"]
        if len(words) == 1 and words[0].lower() == "one":
            before, after = text[: m.start()], text[m.end() :]
            if _PRONOUN_ONE_BEFORE.search(before) or _PRONOUN_ONE_AFTER.match(after):
                return m.group(0)
        return " ".join(str(v) for v in _words_to_values(words))

    return _NUMBER_WORD_SPAN.sub(repl, text)


def _canonical_number(raw: str) -> Optional[str]:
    """Normalizes a number string: "1,234.50" -> "1234.5", "12.0" -> "12"."""
    s = raw.strip().replace(",", "").replace("\u2212", "-").replace("\u2013", "-")
    s = s.lstrip("$").rstrip("%").strip()
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class NumberFormat(AnswerFormat):
    """A single number; compared numerically ("12.0" equals "12")."""

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        if after_marker:
            head = _replace_number_words(_head(part))
            clause = _CLAUSE_END.split(head, 1)[0]
            if "=" in clause:
                clause = clause.rsplit("=", 1)[1]
            found = _NUMBER.findall(clause) or _NUMBER.findall(head)
            return _canonical_number(found[0]) if found else None
        text = _replace_number_words(part)
        outside = text
        while True:  # drop parenthesized asides such as "(10 - 3)" or "(2)"
            shorter = re.sub(r"\([^()]*\)", " ", outside)
            if shorter == outside:
                break
            outside = shorter
        found = _NUMBER.findall(outside) or _NUMBER.findall(text)
        return _canonical_number(found[-1]) if found else None

    def _score_one(self, prediction: str, reference: str) -> float:
        ref = _canonical_number(reference)
        pred = _canonical_number(prediction)
        if ref is None or pred is None:
            return float(_clean_phrase(prediction) == _clean_phrase(reference))
        return float(Decimal(ref) == Decimal(pred))
