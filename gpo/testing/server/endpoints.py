"""The test server's endpoints: each maps a parsed request body to its JSON answer.

A bad request raises :class:`~gpo.testing.server.http_io._HTTPError`, which the server
turns into an OpenAI-style error answer.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

from gpo.testing.server.http_io import _HTTPError
from gpo.testing.server.replies import (
    EMBEDDING_DIM,
    Responder,
    _message_text,
    count_words,
    default_reply,
    embed_text,
)

_MAX_N = 128
_MAX_DIMENSIONS = 8192


def _positive_int(body: dict[str, Any], name: str, upper: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _HTTPError(400, f"'{name}' must be a positive integer, got {value!r}.")
    if upper is not None and value > upper:
        raise _HTTPError(400, f"'{name}' must be at most {upper}, got {value}.")
    return value


def _model_for(body: dict[str, Any], model_name: str) -> str:
    model = body.get("model")
    return model if isinstance(model, str) and model else model_name


def chat_completion(
    body: dict[str, Any], *, responder: Responder | None, ids: Iterator[int], model_name: str
) -> dict[str, Any]:
    """The answer to ``POST /v1/chat/completions``.

    Args:
        body: The request body.
        responder: Makes the reply texts (``None``: :func:`default_reply`).
        ids: Numbers for the completion ids, taken one per answer.
        model_name: Reported when the request names no model.

    Raises:
        _HTTPError: A bad request (400) or a responder's wrong answer (500).
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _HTTPError(400, "'messages' must be a non-empty list.")
    if body.get("stream"):
        raise _HTTPError(400, "Streaming is not supported by this test server.")
    n = _positive_int(body, "n", _MAX_N) or 1
    limit = _positive_int(body, "max_completion_tokens")
    if limit is None:
        limit = _positive_int(body, "max_tokens")

    if responder is None:
        texts = [default_reply(body, i) for i in range(n)]
    else:
        result = responder(body)
        if isinstance(result, str):
            texts = [result] * n
        elif isinstance(result, list) and all(isinstance(t, str) for t in result):
            if len(result) != n:
                raise _HTTPError(
                    500, f"The responder returned {len(result)} replies for n={n}."
                )
            texts = list(result)
        else:
            raise _HTTPError(
                500, f"The responder returned {type(result).__name__}, not str or list[str]."
            )

    choices = []
    completion_tokens = 0
    for index, text in enumerate(texts):
        finish = "stop"
        words = text.split()
        if limit is not None and len(words) > limit:
            text = " ".join(words[:limit])
            words = words[:limit]
            finish = "length"
        completion_tokens += len(words)
        choices.append(
            {
                "index": index,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        )
    prompt_tokens = sum(count_words(_message_text(m)) for m in messages)
    return {
        "id": f"chatcmpl-{next(ids):012d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model_for(body, model_name),
        "system_fingerprint": None,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def embeddings(body: dict[str, Any], *, model_name: str) -> dict[str, Any]:
    """The answer to ``POST /v1/embeddings``.

    Raises:
        _HTTPError: A bad request (400).
    """
    raw = body.get("input")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw:
        # Token arrays (lists of ints) are hashed as their JSON text.
        if all(isinstance(item, int) for item in raw):
            inputs = [json.dumps(raw)]
        else:
            inputs = [item if isinstance(item, str) else json.dumps(item) for item in raw]
    else:
        raise _HTTPError(400, "'input' must be a string or a non-empty list.")
    dimensions = _positive_int(body, "dimensions", _MAX_DIMENSIONS) or EMBEDDING_DIM
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise _HTTPError(
            400, f"'encoding_format' must be 'float' or 'base64', got {encoding!r}."
        )

    data = []
    for index, text in enumerate(inputs):
        vector = embed_text(text, dimensions)
        embedding: list[float] | str = vector
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_words(text) for text in inputs)
    return {
        "object": "list",
        "data": data,
        "model": _model_for(body, model_name),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def models(body: dict[str, Any], *, model_name: str) -> dict[str, Any]:
    """The answer to ``GET /v1/models``: the one model the server names."""
    return {
        "object": "list",
        "data": [
            {"id": model_name, "object": "model", "created": 0, "owned_by": "gpo"}
        ],
    }
