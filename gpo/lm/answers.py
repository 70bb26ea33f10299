"""Reading ``/chat/completions`` answers: texts, token counts, server prompt-cache hits.

A malformed answer is a transient server failure (:class:`LMServerError`, retried), never
text that gets scored.
"""

from __future__ import annotations

from typing import Any

from gpo.errors import LMServerError
from gpo.lm.types import RawCompletion


def parse_chat_completion(data: Any, where: str) -> RawCompletion:
    """Reads a ``/chat/completions`` JSON answer: texts in choice order, usage, timings.

    Args:
        data: The decoded answer.
        where: The endpoint, for messages.

    Raises:
        LMServerError: The answer is not a chat completion (retried: a server in a bad
            state sometimes answers 200 with an error page or a cut-off body).
    """
    try:
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        texts = [((c.get("message") or {}).get("content") or "") for c in choices]
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("a message content is not text")
        usage = data.get("usage") or {}
        timings = data.get("timings")
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        cached = _cached_tokens(usage, timings, prompt_tokens)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise LMServerError(
            f"{where} sent a malformed answer (not a chat completion): {str(data)[:200]}"
        ) from exc
    return RawCompletion(
        texts=texts,
        input_tokens=prompt_tokens,
        output_tokens=completion_tokens,
        cached_input_tokens=cached,
        extra={"timings": timings} if timings else {},
    )


def _cached_tokens(usage: dict, timings: Any, prompt_tokens: int) -> int:
    """Prompt tokens the server served from its prompt cache.

    OpenAI, vLLM and SGLang report ``usage.prompt_tokens_details.cached_tokens``;
    llama.cpp's server reports the tokens it computed as ``timings.prompt_n``.
    """
    details = usage.get("prompt_tokens_details") or {}
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        return int(details["cached_tokens"])
    if isinstance(timings, dict) and timings.get("prompt_n") is not None and prompt_tokens:
        return max(0, prompt_tokens - int(timings["prompt_n"]))
    return 0
