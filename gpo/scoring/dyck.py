"""Dyck languages: the closing brackets that complete a sequence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from gpo.scoring.base import AnswerFormat
from gpo.scoring.parsing import _first_line, _head

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
