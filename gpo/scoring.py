"""Answer formats: how a task model's output is parsed and scored.

Every task names one answer format. A format knows three things:

* ``follow_up(question)``: the second-round user message of two-round
  extraction, which asks the model for nothing but its final answer;
* ``extract(text, question)``: the prediction parsed out of a model output, as
  a normalized string (``None`` when no answer can be found);
* ``score(prediction, target)``: a number in ``[0, 1]`` (``1.0`` for a
  correct answer; ROUGE-L F1 for free text).

Parsing follows the paper's protocol, made robust to chatty small models. An
output is first cut after its last answer marker ("the answer is", "Answer:",
"final answer", "####"); the start of that part is parsed, then the earlier
markers, and only then the whole text, where the last clear mention wins.
Markdown emphasis, ``$`` signs, back-ticks and ``\\boxed{...}`` are removed
first. The question is only used as data (its option lines, its word list, its
bracket sequence), never put into a regular expression, so questions and
prompts that contain newlines cannot break extraction.

The Instruction Induction formats (``ii_exact``, ``ii_contains``, ``ii_set``) only find
the answer in an output; their scores are the benchmark's own metric, in
:mod:`gpo.scoring_ii`.

Pass the example's question to :meth:`AnswerFormat.extract`: multiple choice
uses it to map an option's text to its letter, word sorting to find the sorted
list among chatter, and Dyck to drop an echo of the given sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Optional

from gpo import scoring_ii
from gpo.errors import ConfigError
from gpo.tasks.base import Target

__all__ = [
    "ANSWER_FORMATS",
    "AnswerFormat",
    "BooleanFormat",
    "ChoiceFormat",
    "DyckFormat",
    "ExactFormat",
    "InductionFormat",
    "NumberFormat",
    "RougeFormat",
    "WordSortFormat",
    "get_answer_format",
    "rouge_l_f1",
    "score_output",
]

# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------

_ROUGE_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _rouge_tokens(text: str) -> list[str]:
    """Tokenizes like ``rouge-score``'s default tokenizer (no stemming)."""
    return _ROUGE_NON_ALNUM.sub(" ", text.lower()).split()


def _lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            if x == y:
                current.append(previous[j - 1] + 1)
            else:
                current.append(max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 between two texts, as ``rouge-score`` computes it without stemming.

    Both texts are lowercased, every character other than ``a-z0-9`` becomes a
    space, and the results are split on whitespace. Precision and recall are the
    longest common subsequence's length over the prediction's and the
    reference's token counts.

    Args:
        prediction: The model's text.
        reference: One reference text.

    Returns:
        The F1 score in ``[0, 1]``; ``0.0`` if either text has no tokens.

    >>> rouge_l_f1("The cat sat on the mat.", "the cat is on the mat")
    0.8333333333333334
    >>> rouge_l_f1("", "anything")
    0.0
    """
    pred = _rouge_tokens(prediction)
    ref = _rouge_tokens(reference)
    if not pred or not ref:
        return 0.0
    lcs = _lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(pred)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------
# Shared parsing machinery
# ---------------------------------------------------------------------------

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


def _as_references(target: Target) -> tuple[str, ...]:
    if isinstance(target, (tuple, list)):
        return tuple(str(t) for t in target)
    return (str(target),)


# ---------------------------------------------------------------------------
# The formats
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerFormat:
    """How the answers of one kind of task are asked for, parsed and scored.

    Attributes:
        name: Registry key (e.g. ``multiple_choice``).
        description: One line for listings.
        request: The wording of the follow-up message.
    """

    name: str
    description: str
    request: str = "Now give only your final answer, with no explanation."

    def follow_up(self, question: str) -> str:
        """The second-round user message, asking only for the final answer.

        Args:
            question: The example's input (multiple choice lists its options).
        """
        return self.request

    def extract(self, text: str, question: str = "") -> Optional[str]:
        """Parses a model output into a normalized prediction.

        Args:
            text: The model output (first or second round).
            question: The example's input, used as data only.

        Returns:
            The normalized prediction, or ``None`` when no answer is found.
        """
        if not text or not text.strip():
            return None
        cleaned = _strip_markdown(text)
        for part in _marker_parts(cleaned):
            found = self._parse(part, question, after_marker=True)
            if found is not None:
                return found
        return self._parse(cleaned, question, after_marker=False)

    def score(self, prediction: Optional[str], target: Target) -> float:
        """Scores a prediction against a target (the best over several references).

        Args:
            prediction: The result of :meth:`extract`; ``None`` scores 0.
            target: The reference answer, or a tuple of accepted ones.

        Returns:
            A score in ``[0, 1]``.
        """
        if prediction is None:
            return 0.0
        return max((self._score_one(prediction, ref) for ref in _as_references(target)), default=0.0)

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        line = _first_line(part) if after_marker else _last_line(part)
        line = line.rstrip(" .")
        return line or None

    def _score_one(self, prediction: str, reference: str) -> float:
        return float(_clean_phrase(prediction) == _clean_phrase(reference))


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return lines[-1] if lines else ""


# --- multiple choice ---------------------------------------------------------

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


# --- booleans ------------------------------------------------------------------

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


# --- numbers -------------------------------------------------------------------

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


# --- Dyck languages --------------------------------------------------------------

_BRACKET_RUN = re.compile(
    r"(?<![^\s:\"'=,])[()\[\]{}<>](?:[ \t]*[()\[\]{}<>])*(?=[\s.,;:!\"']|$)"
)
_CLOSERS = set(")]}>")


@dataclass(frozen=True)
class DyckFormat(AnswerFormat):
    """The closing brackets that complete a sequence; compared without whitespace."""

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        scope = _head(part, junk=False) if after_marker else part
        runs = [re.sub(r"\s+", "", m.group(0)) for m in _BRACKET_RUN.finditer(scope)]
        if not runs and after_marker:
            line = _first_line(part, junk=False)
            runs = [re.sub(r"\s+", "", m.group(0)) for m in _BRACKET_RUN.finditer(line)]
        if not runs:
            return None
        given = _dyck_input(question)
        for run in (runs if after_marker else reversed(runs)):
            if given and run.startswith(given) and len(run) > len(given):
                run = run[len(given) :]
            tail = ""
            for ch in reversed(run):
                if ch not in _CLOSERS:
                    break
                tail = ch + tail
            if tail:
                return " ".join(tail)
        return None

    def _score_one(self, prediction: str, reference: str) -> float:
        return float(re.sub(r"\s+", "", prediction) == re.sub(r"\s+", "", reference))


def _dyck_input(question: str) -> str:
    """The bracket sequence given in a Dyck question, without spaces ("" if none)."""
    m = re.search(r"input:\s*([()\[\]{}<>\s]+)\s*$", question or "", re.IGNORECASE)
    return re.sub(r"\s+", "", m.group(1)) if m else ""


# --- word sorting ------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&\-]*")
_ITEM_LINE = re.compile(r"^\s*(?:\d+\s*[.)]|[-*\u2022+]|[a-z][.)])\s+(\S.*)$")


def _sort_vocabulary(question: str) -> Optional[set[str]]:
    m = re.search(r"\blist:\s*(.*)", question or "", re.IGNORECASE | re.DOTALL)
    if not m:
        return None
    words = {w.lower().strip("'-") for w in _WORD.findall(m.group(1).replace("\u2019", "'"))}
    return words or None


def _word_blocks(text: str) -> list[tuple[list[str], bool]]:
    """Groups text into candidate lists: (words, looks like a list)."""
    blocks: list[tuple[list[str], bool]] = []
    items: list[str] = []
    singles: list[str] = []

    def close() -> None:
        nonlocal items, singles
        if items:
            blocks.append((items, True))
        if singles:
            blocks.append((singles, len(singles) > 1))
        items, singles = [], []

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        m = _ITEM_LINE.match(line)
        if m:
            if singles:
                close()
            items.extend(_WORD.findall(m.group(1))[:1] or [])
            continue
        words = _WORD.findall(line)
        if len(words) == 1 and not line.endswith(":") and not items:
            singles.append(words[0])
            continue
        close()
        labeled = ":" in line
        if labeled:
            line = line.rsplit(":", 1)[1]
        words = _WORD.findall(line)
        if words:
            blocks.append((words, labeled or "," in line))
    close()
    return blocks


@dataclass(frozen=True)
class WordSortFormat(AnswerFormat):
    """Words in sorted order; compared as lowercased token lists."""

    def _parse(self, part: str, question: str, after_marker: bool) -> Optional[str]:
        vocab = _sort_vocabulary(question)
        blocks = _word_blocks(part)
        if not blocks:
            return None
        chosen: Optional[list[str]] = None
        if vocab:
            best = 0
            order = blocks if after_marker else list(reversed(blocks))
            for words, _ in order:
                hits = sum(w.lower().strip("'-") in vocab for w in words)
                if hits > best:
                    best, chosen = hits, words
            if chosen is None:
                return None
            tokens = [w.lower() for w in chosen]
            while tokens and tokens[0].strip("'-") not in vocab:
                tokens.pop(0)
            while tokens and tokens[-1].strip("'-") not in vocab:
                tokens.pop()
        else:
            if after_marker:
                chosen = blocks[0][0]
            else:
                listy = [words for words, is_list in blocks if is_list]
                chosen = listy[-1] if listy else blocks[-1][0]
            tokens = [w.lower() for w in chosen if not w.isdigit()]
        tokens = [t.strip("-") for t in tokens if t.strip("-")]
        return " ".join(tokens) or None

    def _score_one(self, prediction: str, reference: str) -> float:
        return float(prediction.lower().split() == reference.lower().split())


# --- exact and free text ----------------------------------------------------------------

_LABEL = re.compile(
    r"^\s*(?:the\s+)?(?:final\s+)?"
    r"(?:(?:answer|output|response|text|sentence|result|description)\s*(?:is\s*)?[:\-]|answer\s+is\b)\s*",
    re.IGNORECASE,
)
_PREAMBLE_LINE = re.compile(r"^\s*(?:sure|certainly|of course|okay|ok|here)\b[^\n]*:\s*\n", re.IGNORECASE)


@dataclass(frozen=True)
class ExactFormat(AnswerFormat):
    """Any short answer; equal after lowercasing and trimming punctuation."""


@dataclass(frozen=True)
class RougeFormat(AnswerFormat):
    """Free text (WebNLG); the score is the best ROUGE-L F1 over the references."""

    def extract(self, text: str, question: str = "") -> Optional[str]:
        if not text:
            return None
        cleaned = _strip_markdown(text).strip()
        cleaned = _PREAMBLE_LINE.sub("", cleaned, count=1).strip()
        cleaned = _LABEL.sub("", cleaned, count=1).strip()
        return cleaned or None

    def _score_one(self, prediction: str, reference: str) -> float:
        return rouge_l_f1(prediction, reference)


# --- Instruction Induction --------------------------------------------------------------


@dataclass(frozen=True)
class InductionFormat(AnswerFormat):
    """A few words scored by the Instruction Induction benchmark's metric (:mod:`gpo.scoring_ii`).

    Extraction only finds the answer in a chatty output, and keeps its text as written:
    the part after the last answer marker ("the answer is", "Answer:") when there is one,
    else the whole output; then its first line, skipping lines that only introduce the
    answer ("Here is the translation:") and a leading label ("Output:"). Scoring then
    normalizes exactly as the benchmark does and applies its metric against every
    accepted answer.

    Attributes:
        metric: ``exact``, ``contains`` or ``set`` (see :mod:`gpo.scoring_ii`).
    """

    metric: str = "exact"

    def extract(self, text: str, question: str = "") -> Optional[str]:
        if not text or not text.strip():
            return None
        cleaned = _strip_markdown(text)
        for part in _marker_parts(cleaned):
            found = _induction_line(part)
            if found:
                return found
        return _induction_line(cleaned)

    def _score_one(self, prediction: str, reference: str) -> float:
        return scoring_ii.score_any(self.metric, prediction, (reference,))


def _induction_line(part: str) -> Optional[str]:
    """The first line of ``part`` that is not a lead-in ending with a colon, label removed."""
    lines = [ln.strip() for ln in part.split("\n") if ln.strip()]
    while len(lines) > 1 and lines[0].endswith(":"):
        lines.pop(0)
    if not lines:
        return None
    line = _LABEL.sub("", lines[0], count=1).strip() or lines[0]
    return line or None


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

_ASK = "Now give only your final answer"

ANSWER_FORMATS: dict[str, AnswerFormat] = {
    f.name: f
    for f in (
        ChoiceFormat(
            "multiple_choice",
            "one option letter, e.g. (C)",
            f"{_ASK}: the letter of the correct option, written in parentheses like (X).",
        ),
        BooleanFormat(
            "yes_no",
            "Yes or No",
            f"{_ASK}: Yes or No.",
            positive="Yes",
            negative="No",
            synonyms=(
                ("true", True), ("correct", True), ("plausible", True),
                ("false", False), ("incorrect", False), ("implausible", False),
            ),
        ),
        BooleanFormat(
            "true_false",
            "True or False",
            f"{_ASK}: True or False.",
            positive="True",
            negative="False",
            synonyms=(("correct", True), ("incorrect", False)),
        ),
        BooleanFormat(
            "valid_invalid",
            "valid or invalid (deductive validity)",
            f"{_ASK}: valid or invalid.",
            positive="valid",
            negative="invalid",
            synonyms=(("fallacious", False),),
        ),
        NumberFormat(
            "number",
            "a single number, compared numerically",
            f"{_ASK} as a single number, without units or words.",
        ),
        DyckFormat(
            "dyck",
            "the closing brackets that complete a sequence",
            f"{_ASK}: only the closing brackets that complete the sequence, separated by spaces.",
        ),
        WordSortFormat(
            "word_sort",
            "the words in alphabetical order",
            f"{_ASK}: the words in alphabetical order, separated by spaces, with nothing else.",
        ),
        ExactFormat(
            "exact",
            "a short answer, equal after normalizing case and punctuation",
            f"{_ASK}, with no explanation.",
        ),
        RougeFormat(
            "rouge_l",
            "free text, scored by ROUGE-L F1 against the references",
            "Now give only the final text, with no introduction or explanation.",
        ),
        InductionFormat(
            "ii_exact",
            "a few words, equal to an accepted answer after the Instruction Induction normalization",
            f"{_ASK}, in the form asked for, on one line, with no explanation or label.",
            metric="exact",
        ),
        InductionFormat(
            "ii_contains",
            "a few words that contain an accepted answer as a whole word (Instruction Induction)",
            f"{_ASK}, in the form asked for, on one line, with no explanation or label.",
            metric="contains",
        ),
        InductionFormat(
            "ii_set",
            "words whose set equals an accepted answer's (Instruction Induction)",
            f"{_ASK}, in the form asked for, on one line (several items separated by commas), "
            "with no explanation or label.",
            metric="set",
        ),
    )
}
"""Every answer format by name."""


def get_answer_format(name: str) -> AnswerFormat:
    """Looks up an answer format by name.

    Raises:
        ConfigError: No format has that name.

    >>> get_answer_format("yes_no").name
    'yes_no'
    """
    try:
        return ANSWER_FORMATS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown answer format {name!r}",
            hint=f"use one of {', '.join(ANSWER_FORMATS)}",
        ) from None


def score_output(
    fmt: AnswerFormat | str, text: str, target: Target, question: str = ""
) -> tuple[Optional[str], float]:
    """Parses a model output and scores it.

    Args:
        fmt: An answer format or its name.
        text: The model output.
        target: The reference answer(s).
        question: The example's input.

    Returns:
        The prediction (``None`` if none was found) and its score.

    >>> score_output("number", "There are twelve items.", "12")
    ('12', 1.0)
    """
    if isinstance(fmt, str):
        fmt = get_answer_format(fmt)
    prediction = fmt.extract(text, question)
    return prediction, fmt.score(prediction, target)
