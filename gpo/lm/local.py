"""``local:NAME`` models: llama.cpp serving a packaged GGUF on 127.0.0.1.

The server is started on the first call and stopped when the model is closed or the
process exits. Requests then go through the same OpenAI-compatible client as any remote
server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from pathlib import Path
from typing import Any, Optional

from gpo.lm.llama_server import LlamaServer, shared_server
from gpo.lm.openai import OpenAICompatLM
from gpo.lm.types import RawCompletion, Request
from gpo.lm.weights import LOCAL_MODELS, resolve_weights


# Per server (shared by the models that use it): the slots decoding a request pinned to them.
_pinned: "weakref.WeakKeyDictionary[Any, set[int]]" = weakref.WeakKeyDictionary()


class LocalLM(OpenAICompatLM):
    """A GGUF model served by llama.cpp on this machine.

    Args:
        name: A packaged model name (see ``gpo models``) or a ``.gguf`` path.
        parallel: Server slots; requests in flight default to the same number.
        ctx_per_slot: Context length per slot.
        runtime: ``auto``, ``native`` or ``xllamacpp`` (see :mod:`gpo.lm.llama_server`).
        **kwargs: Policy settings of :class:`gpo.lm.base.LM`.
    """

    backend = "local"

    def __init__(
        self,
        name: str,
        *,
        parallel: int = 4,
        ctx_per_slot: int = 4096,
        runtime: str = "auto",
        threads: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("concurrency", parallel)
        super().__init__(model=name, base_url=None, api_key="no-key", **kwargs)
        # llama.cpp's server decodes the n samples of one request in parallel slots.
        self.max_n = parallel
        self.weights: Path = resolve_weights(name)
        self.server: LlamaServer = shared_server(
            self.weights,
            parallel=parallel,
            ctx_per_slot=ctx_per_slot,
            runtime=runtime,
            threads=threads,
        )
        self._start_lock: Optional[asyncio.Lock] = None

    @property
    def endpoint(self) -> str:
        # Stable across runs (the port is not), so cache keys survive restarts.
        return f"local:{self.weights.name}"

    @property
    def spec(self) -> str:
        return f"local:{self.model}"

    def identity(self) -> dict[str, Any]:
        pkg = LOCAL_MODELS.get(self.model)
        return {
            "backend": "local",
            "model": self.model,
            "weights": pkg.sha256 if pkg and pkg.sha256 else self.weights.name,
        }

    async def start(self) -> str:
        """Starts the server if needed and returns its URL."""
        if self.server.url and self.server.proc and self.server.proc.poll() is None:
            return self.server.url
        url = await asyncio.to_thread(self.server.start)
        return url

    async def _prepare(self) -> None:
        # Loading the model is not part of a request's time (nor of its time-out).
        url = await self.start()
        self.base_url = url
        self.client.point_at(url)
        await super()._prepare()

    async def _generate(self, request: Request) -> RawCompletion:
        slot = self._slot(request)
        if slot is None:
            return await super()._generate(dataclasses.replace(request, affinity=None))
        pinned = _pinned.setdefault(self.server, set())
        pinned.add(slot)
        try:
            return await super()._generate(dataclasses.replace(request, affinity=slot))
        finally:
            pinned.discard(slot)

    def _slot(self, request: Request) -> Optional[int]:
        """The server slot a request is pinned to, or ``None`` for any free slot.

        Each slot keeps the last prompt it processed; pinning requests that share a prefix
        to one slot lets the next one skip that prefix. A slot that already decodes a
        pinned request would make this one wait while another slot may idle, so the
        request then goes to any slot: the affinity is a hint, never a queue.
        """
        if request.affinity is None or request.n != 1:
            return None
        slot = request.affinity % self.max_n
        return None if slot in _pinned.get(self.server, ()) else slot

    def _extra_body(self, request: Request) -> Optional[dict[str, Any]]:
        extra: dict[str, Any] = {"cache_prompt": True}
        if request.affinity is not None:  # the slot chosen by _generate
            extra["id_slot"] = request.affinity
        return extra

    async def aclose(self) -> None:
        await super().aclose()
        self.server.stop()
