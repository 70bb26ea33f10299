"""Any OpenAI-compatible chat server through the official ``openai`` SDK.

OpenAI itself, vLLM, SGLang, Ollama, llama.cpp's server, LM Studio, and hosted gateways
all speak this protocol. The SDK's own retries are switched off: retry policy lives in
:class:`gpo.lm.base.LM`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any, Optional
from urllib.parse import urlparse

from gpo.errors import (
    ConfigError,
    LMAuthError,
    LMBadRequestError,
    LMConnectionError,
    LMError,
    LMRateLimitError,
    LMServerError,
)
from gpo.lm.answers import parse_chat_completion
from gpo.lm.base import LM
from gpo.lm.types import RawCompletion, Request

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})

REFUSED_ATTEMPTS = 3
"""Attempts at most when nothing listens: a wrong port fails in about a second, not a minute."""


def endpoint_key_variable(base_url: str) -> str:
    """The environment variable that holds the API key of one endpoint.

    >>> endpoint_key_variable("https://api.together.xyz/v1")
    'GPO_API_KEY_API_TOGETHER_XYZ'
    >>> endpoint_key_variable("http://10.0.0.5:8000/v1")
    'GPO_API_KEY_10_0_0_5_8000'
    """
    netloc = urlparse(base_url).netloc or base_url
    return "GPO_API_KEY_" + re.sub(r"[^A-Za-z0-9]+", "_", netloc).strip("_").upper()


def resolve_api_key(base_url: Optional[str], api_key: Optional[str] = None) -> str:
    """Finds the API key for an endpoint: given, per-endpoint variable, then ``OPENAI_API_KEY``.

    Servers on this machine need no key.

    Raises:
        ConfigError: No key was found for a remote endpoint.
    """
    if api_key:
        return api_key
    if base_url:
        var = endpoint_key_variable(base_url)
        if os.environ.get(var):
            return os.environ[var]
        if os.environ.get("OPENAI_API_KEY"):
            return os.environ["OPENAI_API_KEY"]
        if urlparse(base_url).hostname in LOCAL_HOSTS:
            return "no-key"
        raise ConfigError(
            f"no API key for {base_url}",
            hint=f"set {var} (or OPENAI_API_KEY); any value works for a server without keys",
        )
    if os.environ.get("OPENAI_API_KEY"):
        return os.environ["OPENAI_API_KEY"]
    raise ConfigError(
        "no API key for OpenAI",
        hint="set OPENAI_API_KEY, or point at another server with openai:MODEL@BASE_URL",
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first (at most 10)."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


# Transport exceptions (httpx, httpcore, aiohttp, socket) raised before a connection stood.
_CONNECT_FAILURES = frozenset(
    {"ConnectError", "ClientConnectorError", "ClientConnectorDNSError", "gaierror",
     "ClientConnectorCertificateError", "ClientConnectorSSLError", "UnsupportedProtocol"}
)


def connection_failure(exc: BaseException) -> str:
    """What went wrong under an SDK connection error.

    The SDK's labels cannot be taken at their word: its aiohttp transport reports a
    refused connection and a server that hung up as connect time-outs. The transport's own
    exceptions further down the chain tell.

    Returns:
        ``refused`` (nothing listens), ``timeout`` (no answer in time), ``unreachable``
        (no connection: name, route, TLS) or ``lost`` (the connection broke before the
        answer came).
    """
    import openai

    chain = _causes(exc)
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return "refused"
    if any(isinstance(c, (TimeoutError, asyncio.TimeoutError)) for c in chain):
        return "timeout"
    if any(type(c).__name__ in _CONNECT_FAILURES for c in chain):
        return "unreachable"
    below = [c for c in chain[1:] if not type(c).__module__.startswith(("openai", "httpx"))]
    if isinstance(exc, openai.APITimeoutError) and not below:
        return "timeout"
    return "lost" if below else "unreachable"


def _timed_out(where: str, timeout: Optional[float]) -> LMConnectionError:
    within = f" within {timeout:g} s" if timeout else " in time"
    error = LMConnectionError(
        f"{where} did not answer{within}",
        hint="allow more seconds per request with --timeout or GPO_TIMEOUT, "
        "or send fewer requests at once",
    )
    error.timed_out = True
    return error


def translate_error(exc: Exception, where: str, timeout: Optional[float] = None) -> LMError:
    """Maps an ``openai`` SDK exception to a typed :class:`LMError`.

    Args:
        exc: What the SDK raised.
        where: The endpoint, named in the message.
        timeout: The request time-out in seconds, named when the request timed out.
    """
    import openai

    detail = getattr(exc, "message", None) or str(exc)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return LMAuthError(
            f"{where} rejected the credentials: {detail}",
            hint="check the API key variable",
            status=status,
        )
    if isinstance(exc, openai.RateLimitError):
        err = LMRateLimitError(f"{where} is rate limiting: {detail}", status=status)
        try:
            err.retry_after = float(exc.response.headers.get("retry-after"))  # type: ignore[attr-defined]
        except (TypeError, ValueError, AttributeError):
            pass
        return err
    if isinstance(exc, openai.APIConnectionError):
        failure = connection_failure(exc)
        if failure == "refused":
            refused = LMConnectionError(
                f"cannot reach {where}: the connection was refused, nothing is listening there",
                hint="start the server, or check the host and port of the model spec",
            )
            refused.attempts = REFUSED_ATTEMPTS
            return refused
        if failure == "timeout":
            return _timed_out(where, timeout)
        innermost = _causes(exc)[-1]
        reason = str(innermost) or type(innermost).__name__
        if failure == "lost":
            return LMConnectionError(
                f"lost the connection to {where} before an answer came: {reason}",
                hint="check that the server is running; it may have restarted or crashed",
            )
        return LMConnectionError(
            f"cannot reach {where}: {reason}", hint="check that the server is running and the URL"
        )
    if isinstance(exc, openai.APIStatusError):
        if status is not None and status >= 500:
            return LMServerError(f"{where} failed with HTTP {status}: {detail}", status=status)
        if status in (400, 404, 409, 422):
            return LMBadRequestError(
                f"{where} rejected the request (HTTP {status}): {detail}",
                hint="check the model name and parameters",
                status=status,
            )
        return LMError(f"{where} failed with HTTP {status}: {detail}", status=status)
    return LMError(f"{where} failed: {type(exc).__name__}: {detail}")


def _http_client(timeout: float) -> Any:
    """The SDK's aiohttp transport when installed (``openai[aiohttp]``), else its default.

    Under many concurrent requests the default transport spends most of the client's CPU
    on connection-pool bookkeeping; aiohttp needs a fraction of it, which decides whether
    a 2-core client keeps a fast server busy. ``GPO_HTTP_TRANSPORT=httpx`` keeps the
    SDK's default.
    """
    import openai

    if os.environ.get("GPO_HTTP_TRANSPORT", "").lower() == "httpx":
        return None
    factory = getattr(openai, "DefaultAioHttpClient", None)
    if factory is None:
        return None
    try:
        return factory(timeout=timeout)
    except (RuntimeError, ImportError):  # the SDK without its aiohttp extra
        return None


async def _closed_with_the_loop(client: Any) -> Any:
    """Holds ``client`` open until it is closed: by ``aclose()``, or when its loop shuts down."""
    try:
        yield
    finally:
        await client.close()


class LoopClient:
    """An ``openai.AsyncOpenAI`` client for the running event loop.

    The SDK's HTTP client belongs to the loop that created it, so a new one is made when
    the loop changes (each ``asyncio.run``). A client that is not closed by :meth:`aclose`
    is closed when its loop shuts down (``asyncio.run`` closes the loop's async
    generators, and one of them holds the client), so a model used without ``async with``
    or ``aclose()`` leaves no "Unclosed client session" behind. The SDK's own retries are
    off.

    Args:
        base_url: The server's URL (``None``: OpenAI).
        api_key: The key.
        timeout: Seconds before a request times out.
    """

    def __init__(self, base_url: Optional[str], api_key: str, timeout: float) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self._client: Any = None
        self._closer: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self.api_key,
                base_url=self.base_url,
                max_retries=0,
                timeout=self.timeout,
                http_client=_http_client(self.timeout),
            )
            self._loop = loop
            self._closer = _closed_with_the_loop(self._client)
            try:  # run it to its yield now: the loop knows it from here on
                self._closer.__anext__().send(None)
            except StopIteration:
                pass
        return self._client

    def point_at(self, base_url: str) -> None:
        """Uses another URL from the next request on."""
        if base_url != self.base_url:
            self.base_url = base_url
            self._client = None

    async def aclose(self) -> None:
        if self._closer is not None:
            closer, self._closer, self._client = self._closer, None, None
            try:
                await closer.aclose()  # closes the client
            except RuntimeError:  # closed from another event loop
                pass


class OpenAICompatLM(LM):
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        model: The model name the server knows.
        base_url: The server's URL (``…/v1``); ``None`` for OpenAI (or ``OPENAI_BASE_URL``).
        api_key: The key; by default from the endpoint's variable or ``OPENAI_API_KEY``.
        timeout: Seconds before one request times out (default: ``GPO_TIMEOUT``, else 600).
        **kwargs: Policy settings of :class:`gpo.lm.base.LM`.
    """

    backend = "openai"

    def __init__(
        self,
        model: str,
        base_url: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/") or None
        self.client = LoopClient(
            self.base_url, resolve_api_key(self.base_url, api_key), self.timeout
        )

    @property
    def endpoint(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    @property
    def spec(self) -> str:
        return f"{self.backend}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")

    def _extra_body(self, request: Request) -> Optional[dict[str, Any]]:
        return None

    async def _prepare(self) -> None:
        # The SDK's client (and the SDK's import, on first use) is made before a request
        # is timed.
        self.client.get()

    async def _generate(self, request: Request) -> RawCompletion:
        import openai

        client = self.client.get()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "n": request.n,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        body.update(self._extra_body(request) or {})
        try:
            # The SDK's generic POST: its auth, headers, timeouts and typed errors, without
            # the per-call walk over the typed parameters that ``chat.completions.create``
            # makes (about 2 ms of CPU per request, the largest cost at high concurrency).
            # The body is plain JSON already.
            data = await client.post("/chat/completions", body=body, cast_to=object)
        except openai.OpenAIError as exc:
            raise translate_error(exc, self.endpoint, self.timeout) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            # A 200 whose body was cut off or is not JSON: a server or proxy in a bad state.
            raise LMServerError(
                f"{self.endpoint} sent a malformed answer (not valid JSON: {exc})"
            ) from exc
        return parse_chat_completion(data, self.endpoint, request)

    async def aclose(self) -> None:
        await self.client.aclose()
