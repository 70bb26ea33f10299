"""A small OpenAI-compatible HTTP server for tests and benchmarks.

:class:`OpenAICompatServer` speaks enough of the OpenAI REST API for the
``openai`` SDK (and anything else that talks to an OpenAI-compatible endpoint)
to be pointed at it: chat completions, embeddings and the model list. It uses
the standard library only, runs its own event loop in a daemon thread, and
answers deterministically, so tests that go through the real network stack
need no model, no key and no internet.

Example:
    >>> from openai import OpenAI
    >>> with OpenAICompatServer(delay=0.01) as server:  # doctest: +SKIP
    ...     client = OpenAI(base_url=server.url, api_key="x")
    ...     reply = client.chat.completions.create(
    ...         model="m", messages=[{"role": "user", "content": "Hi"}]
    ...     )

Behaviour that tests may rely on:

* **Replies.** Without a ``responder`` each choice's text is
  :func:`default_reply`: ``"The answer is (X)."`` where ``X`` in ``A``-``D`` is
  picked by a SHA-256 of the request's messages, its ``seed`` and the choice
  index. The same request therefore always gets the same reply.
* **Token counts.** ``usage`` counts whitespace-separated words, not tokenizer
  tokens: prompt tokens are the words of every message's text, completion
  tokens the words of every returned choice. ``max_tokens`` (or
  ``max_completion_tokens``) truncates each reply to that many words and sets
  ``finish_reason`` to ``"length"``.
* **Embeddings.** Unit vectors of dimension :data:`EMBEDDING_DIM` (or the
  request's ``dimensions``) derived from a SHA-256 of each input, returned as
  float lists or, when asked with ``encoding_format="base64"`` (the SDK's
  default), as little-endian float32 base64 — the same numbers either way.
* **Order of checks.** Every request is recorded first. Then: unknown path or
  method → 404; missing or wrong key (when ``api_key`` is set) → 401; the
  ``delay``; malformed JSON → 400; the next fault of the fault plan (the
  ``statuses`` script, then the seeded ``fault_rate`` draw) → that fault;
  otherwise the answer. Requests rejected with 404 or 401 do not consume the
  script.
* **Faults.** Besides HTTP statuses the server can hang, send a truncated or
  an HTML body with status 200, or drop the connection: see
  :mod:`gpo.testing.faults`. Every request is recorded whatever its fault, so
  ``len(server.requests)`` counts what a client sent.

Run ``python -m gpo.testing.server --port 8000 --delay 0.05`` to serve from a
shell until Ctrl-C.

The package holds the server object (:mod:`~gpo.testing.server.openai_compat`), its
endpoints (:mod:`~gpo.testing.server.endpoints`), the deterministic replies and vectors
(:mod:`~gpo.testing.server.replies`), HTTP/1.1 framing (:mod:`~gpo.testing.server.http_io`)
and the command line (:mod:`~gpo.testing.server.cli`); this module re-exports their names.
"""

from __future__ import annotations

from gpo.testing.server.cli import main
from gpo.testing.server.http_io import _HTTPError  # responders in tests raise it
from gpo.testing.server.openai_compat import OpenAICompatServer
from gpo.testing.server.replies import (
    EMBEDDING_DIM,
    Responder,
    count_words,
    default_reply,
    embed_text,
    optimization_reply,
)

__all__ = [
    "EMBEDDING_DIM",
    "OpenAICompatServer",
    "Responder",
    "count_words",
    "default_reply",
    "embed_text",
    "main",
    "optimization_reply",
]
