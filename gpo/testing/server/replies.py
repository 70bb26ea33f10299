"""What the test server answers: deterministic reply texts, word counts and unit vectors."""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Callable
from typing import Any

EMBEDDING_DIM = 16
"""Dimension of the embedding vectors when a request does not ask otherwise."""

Responder = Callable[[dict[str, Any]], str | list[str]]
"""Maps a chat request body to the reply text, or to one text per choice."""

_LETTERS = "ABCD"


def count_words(text: str) -> int:
    """Counts whitespace-separated words, the server's stand-in for tokens.

    Args:
        text: Any text.

    Returns:
        The number of words in ``text``.
    """
    return len(text.split())


def _message_text(message: Any) -> str:
    """Returns the text of one chat message, whatever its content's shape."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return " ".join(parts)
    return ""


def default_reply(request: dict[str, Any], index: int = 0) -> str:
    """The reply the server gives when no responder is configured.

    The text is ``"The answer is (X)."`` where ``X`` is one of ``A``-``D``,
    picked by a SHA-256 of the request's ``messages`` (as canonical JSON), its
    ``seed`` and the choice ``index``.

    Args:
        request: The chat completion request body.
        index: Index of the choice among the request's ``n``.

    Returns:
        The deterministic reply text.
    """
    payload = json.dumps(
        {
            "messages": request.get("messages"),
            "seed": request.get("seed"),
            "index": index,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return f"The answer is ({_LETTERS[digest[0] % len(_LETTERS)]})."


def optimization_reply(request: dict[str, Any]) -> list[str]:
    """A responder that lets a whole optimization run go through: use it as ``responder``.

    A meta-prompt (its last message asks for ``<START>``…``<END>``) gets one distinct
    candidate per choice, derived from a SHA-256 of the message, the seed and the choice
    index; any other request gets ``"The answer is True."`` or ``"… False."``, picked by a
    SHA-256 of its messages. Every answer is deterministic, so two runs with the same seed
    send the same requests.

    Args:
        request: The chat completion request body.

    Returns:
        One reply per choice.
    """

    def digest(*parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    last = request["messages"][-1]["content"]
    n = request.get("n", 1)
    if "<START>" in last:
        return [
            f"<START>Evaluate the expression carefully, variant {digest(last, request.get('seed'), i)[:8]}.<END>"
            for i in range(n)
        ]
    verdict = "True" if int(digest(request["messages"])[:2], 16) % 2 else "False"
    return [f"The answer is {verdict}."] * n


def embed_text(text: str, dimensions: int = EMBEDDING_DIM) -> list[float]:
    """The deterministic unit vector the server returns for ``text``.

    Components are drawn from SHA-256 digests of the text, mapped to
    ``[-1, 1]``, normalised to length 1 and rounded to float32 (so the float
    and base64 encodings carry the same numbers).

    Args:
        text: The input string.
        dimensions: Length of the vector.

    Returns:
        A list of ``dimensions`` floats with Euclidean norm 1.
    """
    raw: list[float] = []
    block = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{block}\x00{text}".encode()).digest()
        for (value,) in struct.iter_unpack(">H", digest):
            raw.append(value / 32767.5 - 1.0)
        block += 1
    raw = raw[:dimensions]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in raw))
    return list(struct.unpack(f"<{dimensions}f", packed))
