"""Just enough HTTP/1.1 for the test server: read a request, write a reply, shape an error.

Uses asyncio streams only; keep-alive, ``Expect: 100-continue`` and chunked bodies are
understood, and framing errors close the connection after a 4xx answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024

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


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_KINDS.get(
        status,
        ("server_error", "internal_error")
        if status >= 500
        else ("invalid_request_error", None),
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


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
