"""Two-valued answers (Yes/No, True/False, valid/invalid), with synonyms and negation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from gpo.scoring.base import AnswerFormat
from gpo.scoring.parsing import _clean_phrase, _head

_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\bno\s+longer)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_ALTERNATIVE_BEFORE = re.compile(r"(?:\bor|/)\s*$", re.IGNORECASE)
_ALTERNATIVE_AFTER = re.compile(r"^\s*(?:or\b|/)", re.IGNORECASE)


def _is_alternative(text: str, m: re.Match[str]) -> bool:
    """Whether a match restates the choices ("Yes or No", "valid/invalid")."""
    before = text[max(0, m.start() - 8) : m.start()]
    return bool(_ALTERNATIVE_BEFORE.search(before) or _ALTERNATIVE_AFTER.search(text[m.end() :]))


@dataclass(frozen=True)
class BooleanFormat(AnswerFormat):
    """Two-valued answers (Yes/No, True/False, valid/invalid) with synonyms.

    Attributes:
        positive: Canonical positive answer (the prediction string).
        negative: Canonical negative answer.
        synonyms: Other words (lowercase) and the value they stand for (``True``:
            positive). Every word but "yes" and "no" is flipped by a "not" up to
            two words before it ("not deductively valid" is invalid).
    """

    positive: str = "Yes"
    negative: str = "No"
    synonyms: tuple[tuple[str, bool], ...] = ()

    @property
    def _words(self) -> dict[str, bool]:
        words = {self.positive.lower(): True, self.negative.lower(): False}
        words.update(dict(self.synonyms))
        return words

    @property
    def _regex(self) -> re.Pattern[str]:
        alternatives = sorted(self._words, key=len, reverse=True)
        return re.compile(r"\b(" + "|".join(map(re.escape, alternatives)) + r")\b", re.IGNORECASE)

    def _value(self, text: str, m: re.Match[str]) -> Optional[bool]:
        """The value of one match, ``None`` if the match is not an answer."""
        word = m.group(1).lower()
        value = self._words[word]
        before = text[max(0, m.start() - 60) : m.start()]
        after = text[m.end() :]
        starts_sentence = m.start() == 0 or re.search(r"[.!?:\n]\s*$", before)
        if word == "no" and re.match(r"[ \t]+[A-Za-z]", after) and not starts_sentence:
            return None  # "no evidence": a determiner, not an answer
        if word not in ("yes", "no") and _NEGATION.search(before):
            value = not value
        return value

    def _canonical(self, value: bool) -> str:
        return self.positive if value else self.negative

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        regex = self._regex
        if after_marker:
            head = _head(part)
            for m in regex.finditer(head):
                if _is_alternative(head, m):
                    continue
                value = self._value(head, m)
                if value is not None:
                    return self._canonical(value)
            return None
        whole = _clean_phrase(part)
        if whole in self._words:
            return self._canonical(self._words[whole])
        clear: Optional[bool] = None
        loose: Optional[bool] = None
        primary = (self.positive.lower(), self.negative.lower())
        for m in regex.finditer(part):
            if _is_alternative(part, m):
                continue
            value = self._value(part, m)
            if value is None:
                continue
            loose = value
            word = m.group(1).lower()
            standalone = re.match(r"\s*(?:[.,!;:]|$)", part[m.end() :]) and (
                m.start() == 0 or part[m.start() - 1] in " \t\n\"'(*"
            )
            if word in primary and standalone and value == self._words[word]:
                clear = value  # "Yes." / "No," / "... is invalid." (not negated)
        if clear is not None:
            return self._canonical(clear)
        return None if loose is None else self._canonical(loose)

    def _score_one(self, prediction: str, reference: str) -> float:
        def canon(s: str) -> str:
            key = _clean_phrase(s)
            value = self._words.get(key)
            return key if value is None else self._canonical(value).lower()

        return float(canon(prediction) == canon(reference))
