"""Word sorting: the sorted list found among chatter, using the question's word list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from gpo.scoring.base import AnswerFormat

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
