"""Embeddings from an OpenAI-compatible ``/embeddings`` API, through the ``openai`` SDK."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Optional

from gpo.embed.base import EMBEDDER_SPECS, BatchOutput, BatchResult, Embedder
from gpo.errors import ConfigError, LMError, LMServerError

log = logging.getLogger(__name__)


# -- OpenAI-compatible API -----------------------------------------------------------------


class OpenAIEmbedder(Embedder):
    """An OpenAI-compatible ``/embeddings`` endpoint through the ``openai`` SDK.

    Keys are found as for chat models (:func:`gpo.lm.openai.resolve_api_key`: the given key,
    the endpoint's ``GPO_API_KEY_<HOST>`` variable, ``OPENAI_API_KEY``; servers on this
    machine need none). Retryable failures (429, 5xx, time-outs) are retried with the
    :class:`gpo.lm.limits.RetryPolicy`; others raise a typed :class:`gpo.errors.LMError` at
    once. Empty texts are sent as one space, since the API rejects empty inputs.

    Args:
        model: The embedding model name, e.g. ``text-embedding-3-small``.
        base_url: The server's ``…/v1`` URL; ``None`` for OpenAI (or ``OPENAI_BASE_URL``).
        api_key: The key (default: see above).
        dimensions: Ask for shorter vectors (models that support it).
        timeout: Seconds before one request times out.
        retry: The retry policy (default :class:`gpo.lm.limits.RetryPolicy`).
        **kwargs: Settings of :class:`Embedder` (``batch_size`` defaults to 256).

    Raises:
        ConfigError: No API key for a remote endpoint.
    """

    backend = "openai"
    batch_size = 256

    def __init__(
        self,
        model: str,
        base_url: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        dimensions: Optional[int] = None,
        timeout: float = 120.0,
        retry: Any = None,
        **kwargs: Any,
    ) -> None:
        from gpo.lm.limits import RetryPolicy
        from gpo.lm.openai import LoopClient, resolve_api_key

        if not model:
            raise ConfigError("openai: names no model", hint=EMBEDDER_SPECS["openai"])
        super().__init__(**kwargs)
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/") or None
        self.client = LoopClient(self.base_url, resolve_api_key(self.base_url, api_key), timeout)
        self.name = f"openai:{model}" + (f"@{self.base_url}" if self.base_url else "")
        self.dimensions = dimensions
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    @property
    def endpoint(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    async def _embed_batch(self, texts: list[str]) -> BatchOutput:
        import openai

        from gpo.lm.limits import call_with_retries
        from gpo.lm.openai import translate_error

        client = self.client.get()
        params: dict[str, Any] = {
            "model": self.model,
            "input": [t if t.strip() else " " for t in texts],
            "encoding_format": "float",
        }
        if self.dimensions:
            params["dimensions"] = self.dimensions
        retries = 0

        async def attempt() -> Any:
            try:
                resp = await client.embeddings.create(**params)
            except openai.OpenAIError as exc:
                raise translate_error(exc, self.endpoint, self.timeout) from exc
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # a cut-off 200
                raise LMServerError(
                    f"{self.endpoint} sent a malformed answer (not valid JSON: {exc})"
                ) from exc
            if not hasattr(resp, "data"):  # the SDK hands back the text of a non-JSON page
                raise LMServerError(
                    f"{self.endpoint} sent a malformed answer (not embeddings): {str(resp)[:200]}"
                )
            return resp

        def count_retry(exc: Exception) -> None:
            nonlocal retries
            retries += 1
            log.warning("retrying %s after: %s", self.name, exc)

        resp = await call_with_retries(attempt, self.retry, on_retry=count_retry)
        data = sorted(resp.data or [], key=lambda d: d.index)
        if len(data) != len(texts):
            raise LMError(
                f"{self.endpoint} returned {len(data)} embeddings for {len(texts)} inputs"
            )
        usage = getattr(resp, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        return BatchResult(
            vectors=[list(d.embedding) for d in data], input_tokens=tokens, retries=retries
        )

    async def aclose(self) -> None:
        await self.client.aclose()
