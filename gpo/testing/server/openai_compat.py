"""The OpenAI-compatible test server: its lifecycle, connections, checks and faults."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from gpo.testing.faults import HTML_PAGE, Fault, FaultPlan, truncated
from gpo.testing.server.endpoints import chat_completion, embeddings, models
from gpo.testing.server.http_io import (
    _MAX_HEADER_BYTES,
    _BadFraming,
    _error_body,
    _HTTPError,
    _quiet_exception_handler,
    _read_request,
    _Reply,
    _write_response,
)
from gpo.testing.server.replies import Responder

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class OpenAICompatServer:
    """An OpenAI-compatible HTTP server on a background thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    See :mod:`gpo.testing.server` for the exact replies, token counting and order
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
        self._in_flight = 0
        self.peak_in_flight = 0  # the most requests answered at once (each held for ``delay``)
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
        self.peak_in_flight = 0
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
        self._in_flight += 1  # one event loop: no lock needed
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return await self._answer_one(method, path, headers, raw)
        finally:
            self._in_flight -= 1

    async def _answer_one(
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
            ("POST", "/v1/chat/completions"): lambda body: chat_completion(
                body, responder=self.responder, ids=self._ids, model_name=self.model_name
            ),
            ("POST", "/v1/embeddings"): lambda body: embeddings(body, model_name=self.model_name),
            ("GET", "/v1/models"): lambda body: models(body, model_name=self.model_name),
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
