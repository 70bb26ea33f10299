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
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from gpo.testing.faults import HTML_PAGE, Fault, FaultPlan, parse_faults, truncated

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

EMBEDDING_DIM = 16
"""Dimension of the embedding vectors when a request does not ask otherwise."""

Responder = Callable[[dict[str, Any]], str | list[str]]
"""Maps a chat request body to the reply text, or to one text per choice."""

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024
_MAX_N = 128
_MAX_DIMENSIONS = 8192
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_LETTERS = "ABCD"

_REASONS: dict[int, str] = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# (type, code) of the OpenAI-style error body for each status.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout_error", "timeout"),
    409: ("conflict_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


class _HTTPError(Exception):
    """An error answer, raised inside request handling."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _BadFraming(Exception):
    """The byte stream is not valid HTTP/1.x; the connection must close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_KINDS.get(
        status,
        ("server_error", "internal_error")
        if status >= 500
        else ("invalid_request_error", None),
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _positive_int(body: dict[str, Any], name: str, upper: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _HTTPError(400, f"'{name}' must be a positive integer, got {value!r}.")
    if upper is not None and value > upper:
        raise _HTTPError(400, f"'{name}' must be at most {upper}, got {value}.")
    return value


class OpenAICompatServer:
    """An OpenAI-compatible HTTP server on a background thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    See the module docstring for the exact replies, token counting and order
    of checks.

    Args:
        host: Address to bind.
        port: Port to bind; ``0`` picks a free one (read it from :attr:`port`).
        delay: Seconds to wait before answering each request. Waits overlap
            across concurrent requests.
        responder: Called with each chat completion request body; returns the
            reply text (used for every choice) or one text per choice
            (a list of exactly ``n`` strings). An exception, or a list of the
            wrong length, becomes a 500 answer. Defaults to
            :func:`default_reply`.
        statuses: Faults for the first requests, in arrival order, e.g.
            ``[429, "truncate", 500, 200]``: HTTP statuses or the names in
            :data:`gpo.testing.faults.FAULT_NAMES`. A status of 400 or more
            answers with an OpenAI-style error body (429 also sends
            ``retry-after: 0``); any other status answers normally. Once used
            up, answers are normal unless ``fault_rate`` is set.
        fault_rate: Share of the requests after the script that get a fault
            drawn from ``faults`` (see :class:`gpo.testing.faults.FaultPlan`).
        faults: The faults of the seeded draw.
        fault_seed: Seed of the draw.
        hang_s: Seconds a ``"hang"`` fault waits before answering.
        api_key: When set, requests must carry ``Authorization: Bearer
            <api_key>`` or get a 401.
        model_name: Listed by ``GET /v1/models`` and reported in answers to
            requests that name no model.

    Raises:
        ValueError: If ``delay`` is negative or a status is not in 100-599.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        responder: Responder | None = None,
        statuses: Sequence[Fault] | None = None,
        api_key: str | None = None,
        model_name: str = "gpo-test-model",
        fault_rate: float = 0.0,
        faults: Sequence[Fault] = (429, 500, "hang", "truncate"),
        fault_seed: int = 0,
        hang_s: float = 3600.0,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}.")
        if hang_s < 0:
            raise ValueError(f"hang_s must be >= 0, got {hang_s}.")
        self.faults = FaultPlan(statuses or (), rate=fault_rate, mix=faults, seed=fault_seed)
        self.hang_s = float(hang_s)
        self.host = host
        self.delay = float(delay)
        self.responder = responder
        self.api_key = api_key
        self.model_name = model_name
        self._requested_port = port
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._port: int | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ API

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._port is not None

    @property
    def port(self) -> int:
        """The bound TCP port.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._port is None:
            raise RuntimeError("OpenAICompatServer is not running; call start() first.")
        return self._port

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients, e.g. ``http://127.0.0.1:PORT/v1``.

        Raises:
            RuntimeError: If the server is not running.
        """
        return f"http://{self.host}:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the recorded requests, oldest first.

        Each is a dict with ``method``, ``path`` (without query string),
        ``headers`` (lower-cased names) and ``json`` (the parsed body, or
        ``None`` when the body is empty or not valid JSON).
        """
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forgets the recorded requests and rewinds the fault plan."""
        with self._lock:
            self._requests.clear()
        self.faults.reset()

    def start(self) -> OpenAICompatServer:
        """Binds the port and starts serving on a daemon thread.

        Returns:
            The server itself, for chaining.

        Raises:
            RuntimeError: If it is already running, or did not start in time.
            OSError: If the address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("OpenAICompatServer is already running.")
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._run, args=(ready, failure), name="gpo-openai-compat-server", daemon=True
        )
        self._thread = thread
        thread.start()
        if not ready.wait(_START_TIMEOUT):
            self.stop()
            raise RuntimeError("OpenAICompatServer did not start in time.")
        if failure:
            thread.join(_STOP_TIMEOUT)
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Closes every connection, frees the port and ends the thread.

        Does nothing if the server is not running.
        """
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        self._thread = None
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop_event.set)
        if thread is threading.current_thread():
            return  # called from a responder: the loop winds down after it
        thread.join(_STOP_TIMEOUT)

    def __enter__(self) -> OpenAICompatServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"OpenAICompatServer({where})"

    # ------------------------------------------------------- event loop side

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_exception_handler)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:  # reported to start() if it is waiting
            if not ready.is_set():
                failure.append(exc)
        finally:
            ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            if self._loop is loop:  # not yet replaced by a later start()
                self._loop = None
                self._stop_event = None
                self._port = None

    async def _serve(self, ready: threading.Event) -> None:
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._handle_connection,
            self.host,
            self._requested_port,
            backlog=1024,
            limit=_MAX_HEADER_BYTES,
        )
        try:
            self._port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stop_event.wait()
        finally:
            if self._loop is asyncio.get_running_loop():
                self._port = None
            server.close()
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.gather(*self._connections, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), _STOP_TIMEOUT)

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader, writer)
                except _BadFraming as exc:
                    reply = _Reply.json(exc.status, _error_body(exc.status, exc.message))
                    await _write_response(writer, reply, keep_alive=False)
                    return
                if request is None:  # clean end of stream
                    return
                method, path, headers, body, keep_alive = request
                reply = await self._answer(method, path, headers, body)
                if reply is None:  # a "drop" fault
                    return
                await _write_response(writer, reply, keep_alive=keep_alive)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-request; nothing to report
        except asyncio.CancelledError:
            pass  # the server is stopping
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> _Reply | None:
        parsed: Any = None
        bad_json: str | None = None
        if raw:
            try:
                parsed = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                bad_json = f"The request body is not valid JSON: {exc}."
        with self._lock:
            self._requests.append(
                {"method": method, "path": path, "headers": dict(headers), "json": parsed}
            )

        routes: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
            ("POST", "/v1/chat/completions"): self._chat_completion,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("GET", "/v1/models"): self._models,
        }
        handler = routes.get((method, path))
        if handler is None:
            return _Reply.json(404, _error_body(404, f"Unknown endpoint: {method} {path}."))
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return _Reply.json(401, _error_body(401, "Incorrect or missing API key."))
        if self.delay:
            await asyncio.sleep(self.delay)
        if bad_json is not None:
            return _Reply.json(400, _error_body(400, bad_json))
        if method == "POST" and not isinstance(parsed, dict):
            return _Reply.json(400, _error_body(400, "The request body must be a JSON object."))

        fault = self.faults.next(raw)
        status = fault if isinstance(fault, int) else 200
        if fault == "drop":
            return None
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
        if fault == "html":
            return _Reply(200, HTML_PAGE, "text/html; charset=utf-8")
        if status >= 400:
            extra = {"retry-after": "0"} if status == 429 else {}
            return _Reply.json(status, _error_body(status, f"Scripted error status {status}."), extra)
        try:
            reply = _Reply.json(status, handler(parsed if isinstance(parsed, dict) else {}))
        except _HTTPError as exc:
            return _Reply.json(exc.status, _error_body(exc.status, exc.message))
        except Exception as exc:  # a user responder failed
            return _Reply.json(500, _error_body(500, f"{type(exc).__name__}: {exc}"))
        if fault == "truncate":
            reply.body = truncated(reply.body)
        return reply

    # ------------------------------------------------------------ endpoints

    def _model_for(self, body: dict[str, Any]) -> str:
        model = body.get("model")
        return model if isinstance(model, str) and model else self.model_name

    def _chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _HTTPError(400, "'messages' must be a non-empty list.")
        if body.get("stream"):
            raise _HTTPError(400, "Streaming is not supported by this test server.")
        n = _positive_int(body, "n", _MAX_N) or 1
        limit = _positive_int(body, "max_completion_tokens")
        if limit is None:
            limit = _positive_int(body, "max_tokens")

        if self.responder is None:
            texts = [default_reply(body, i) for i in range(n)]
        else:
            result = self.responder(body)
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
            "id": f"chatcmpl-{next(self._ids):012d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self._model_for(body),
            "system_fingerprint": None,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
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
            "model": self._model_for(body),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _models(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": self.model_name, "object": "model", "created": 0, "owned_by": "gpo"}
            ],
        }


# ------------------------------------------------------------------ HTTP I/O


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[str, str, dict[str, str], bytes, bool] | None:
    """Reads one HTTP/1.x request; ``None`` at a clean end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise
    except asyncio.LimitOverrunError:
        raise _BadFraming(431, "Request headers are too large.") from None
    lines = head.decode("latin-1").split("\r\n")
    while lines and not lines[0]:  # tolerate stray blank lines between requests
        lines.pop(0)
    try:
        method, target, version = lines[0].split(" ")
    except (IndexError, ValueError):
        raise _BadFraming(400, "Malformed HTTP request line.") from None
    if not version.startswith("HTTP/1."):
        raise _BadFraming(400, f"Unsupported protocol {version!r}.")

    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadFraming(400, "Malformed HTTP header line.")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value

    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        keep_alive = "keep-alive" in connection
    else:
        keep_alive = "close" not in connection

    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()

    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadFraming(400, "Invalid Content-Length header.") from None
        if length < 0:
            raise _BadFraming(400, "Invalid Content-Length header.")
        if length > _MAX_BODY_BYTES:
            raise _BadFraming(413, "Request body is too large.")
        body = await reader.readexactly(length) if length else b""

    path = target.split("?", 1)[0]
    if path.startswith(("http://", "https://")):  # absolute-form target
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    return method.upper(), path, headers, body, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadFraming(400, "Malformed chunk size.") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        total += size
        if total > _MAX_BODY_BYTES:
            raise _BadFraming(413, "Request body is too large.")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # CRLF after each chunk


class _Reply:
    """One HTTP answer: status, body bytes, content type and extra headers."""

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.extra = extra or {}

    @classmethod
    def json(
        cls, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> _Reply:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json", extra)


async def _write_response(
    writer: asyncio.StreamWriter, reply: _Reply, *, keep_alive: bool
) -> None:
    reason = _REASONS.get(reply.status, "Unknown")
    lines = [
        f"HTTP/1.1 {reply.status} {reason}",
        f"content-type: {reply.content_type}",
        f"content-length: {len(reply.body)}",
        f"connection: {'keep-alive' if keep_alive else 'close'}",
        "server: gpo-testing",
    ]
    lines.extend(f"{name}: {value}" for name, value in reply.extra.items())
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
    await writer.drain()


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drops errors caused by clients hanging up; reports anything else."""
    exc = context.get("exception")
    if isinstance(exc, (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError)):
        return
    loop.default_exception_handler(context)


# ----------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Serves from the command line until interrupted.

    Args:
        argv: Command-line arguments, without the program name. Defaults to
            ``sys.argv[1:]``.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m gpo.testing.server",
        description="Serve a deterministic OpenAI-compatible API for tests and benchmarks.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        help="seconds before each answer (default: %(default)s)",
    )
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument(
        "--model-name", default="gpo-test-model", help="model id to report (default: %(default)s)"
    )
    parser.add_argument(
        "--statuses",
        default="",
        help="comma-separated faults for the first requests, e.g. 429,500,hang,truncate,html,drop",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of the later requests that get a fault from --faults (default: %(default)s)",
    )
    parser.add_argument(
        "--faults", default="429,500,hang,truncate", help="faults drawn (default: %(default)s)"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draw")
    parser.add_argument(
        "--hang", type=float, default=3600.0, help="seconds a hang lasts (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        server = OpenAICompatServer(
            host=args.host,
            port=args.port,
            delay=args.delay,
            statuses=parse_faults(args.statuses),
            api_key=args.api_key,
            model_name=args.model_name,
            fault_rate=args.fault_rate,
            faults=parse_faults(args.faults),
            fault_seed=args.fault_seed,
            hang_s=args.hang,
        )
        server.start()
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        done.set()

    # Explicit handlers, so Ctrl-C works even when SIGINT was inherited as
    # ignored (e.g. started in the background), and SIGTERM stops cleanly.
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(server.url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
