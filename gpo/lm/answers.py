"""Reading ``/chat/completions`` answers: texts, token counts, server prompt-cache hits.

Servers differ in what they report: OpenAI, vLLM and SGLang count every choice in
``usage``; llama.cpp's server reports the first sample's usage for ``n > 1``; some servers
report nothing. A malformed answer is a transient server failure (:class:`LMServerError`,
retried), never text that gets scored.
"""

from __future__ import annotations

from typing import Any, Optional

from gpo.errors import LMServerError
from gpo.lm.types import RawCompletion, Request, approx_tokens


def parse_chat_completion(
    data: Any, where: str, request: Optional[Request] = None
) -> RawCompletion:
    """Reads a ``/chat/completions`` JSON answer: texts in choice order, usage, timings.

    Output tokens are the server's ``usage.completion_tokens`` where it counts every
    choice. Where it does not, they are estimated (see :func:`output_tokens`).

    Args:
        data: The decoded answer.
        where: The endpoint, for messages.
        request: The request it answers (for the token estimates).

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
        prompt_tokens = usage.get("prompt_tokens")
        prompt_tokens = int(prompt_tokens) if prompt_tokens is not None else None
        completion_tokens = usage.get("completion_tokens")
        completion_tokens = int(completion_tokens) if completion_tokens is not None else None
        cached = _cached_tokens(usage, timings, prompt_tokens or 0)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise LMServerError(
            f"{where} sent a malformed answer (not a chat completion): {str(data)[:200]}"
        ) from exc
    if prompt_tokens is None:
        prompt_tokens = (
            sum(approx_tokens(str(m.get("content", ""))) for m in request.messages) if request else 0
        )
    return RawCompletion(
        texts=texts,
        input_tokens=prompt_tokens,
        output_tokens=output_tokens(choices, texts, completion_tokens, timings, request),
        cached_input_tokens=cached,
        extra={"timings": timings} if timings else {},
    )


def output_tokens(
    choices: list[dict],
    texts: list[str],
    completion_tokens: Optional[int],
    timings: Any,
    request: Optional[Request] = None,
) -> int:
    """Generated tokens of every choice of one answer.

    Most servers count every choice in ``usage.completion_tokens``. llama.cpp's server
    answers ``n > 1`` with the first sample's usage and timings and the other samples'
    choices appended (its ``timings.predicted_n`` then equals ``completion_tokens``), so
    the other choices are estimated: a choice cut at ``max_tokens`` has exactly that many,
    the others as many per character as the first (:func:`gpo.lm.types.approx_tokens` when
    the first is empty). A server that reports no count gets that estimate for every
    choice.

    >>> choices = [{"finish_reason": "stop"}, {"finish_reason": "stop"}]
    >>> output_tokens(choices, ["ab" * 10, "ab" * 20], 5, {"predicted_n": 5})
    15
    >>> output_tokens(choices, ["ab" * 10, "ab" * 20], 15, None)
    15
    """
    if completion_tokens is None:
        return sum(approx_tokens(t) for t in texts)
    merged = (
        len(texts) > 1
        and isinstance(timings, dict)
        and timings.get("predicted_n") == completion_tokens
    )
    if not merged:
        return completion_tokens
    per_char = completion_tokens / len(texts[0]) if texts[0] else None
    total = completion_tokens
    for choice, text in zip(choices[1:], texts[1:]):
        if choice.get("finish_reason") == "length" and request is not None:
            total += request.max_tokens
        elif per_char is not None:
            total += round(len(text) * per_char)
        else:
            total += approx_tokens(text)
    return total


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
