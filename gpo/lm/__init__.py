"""The model layer: one async chat interface, many backends, one policy.

Backends are chosen by a spec string (see :func:`get_lm`):

- ``openai:MODEL`` / ``openai:MODEL@BASE_URL``: any OpenAI-compatible server;
- ``litellm:PROVIDER/MODEL``: anything litellm reaches (extra ``litellm``);
- ``local:NAME`` / ``local:/path/model.gguf``: llama.cpp on this machine (extra ``local``);
- ``fake:`` / ``fake:NAME``: deterministic, offline.
"""

from __future__ import annotations

from typing import Any

from gpo.errors import ConfigError
from gpo.lm.base import LM
from gpo.lm.cache import ResponseCache, default_cache
from gpo.lm.fake import FakeLM, ReplayLM, ScriptedLM
from gpo.lm.ledger import Ledger
from gpo.lm.limits import RetryPolicy
from gpo.lm.types import Completion, Request, Usage

__all__ = [
    "LM",
    "Completion",
    "FakeLM",
    "Ledger",
    "ReplayLM",
    "Request",
    "ResponseCache",
    "RetryPolicy",
    "ScriptedLM",
    "Usage",
    "default_cache",
    "get_lm",
    "parse_spec",
    "BACKENDS",
]

BACKENDS: dict[str, str] = {
    "openai": "openai:MODEL or openai:MODEL@BASE_URL (OpenAI, vLLM, SGLang, Ollama, llama.cpp)",
    "litellm": "litellm:PROVIDER/MODEL (pip install 'gpo[litellm]')",
    "local": "local:NAME or local:/path/to/model.gguf (pip install 'gpo[local]')",
    "fake": "fake: or fake:NAME (deterministic, offline; for dry runs and tests)",
}


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """Splits a model spec into backend, model and base URL.

    >>> parse_spec("openai:gpt-4o-mini")
    ('openai', 'gpt-4o-mini', None)
    >>> parse_spec("openai:qwen@http://127.0.0.1:8000/v1")
    ('openai', 'qwen', 'http://127.0.0.1:8000/v1')
    >>> parse_spec("local:qwen2.5-coder-0.5b")
    ('local', 'qwen2.5-coder-0.5b', None)

    Raises:
        ConfigError: The spec has no known backend prefix.
    """
    spec = (spec or "").strip()
    backend, sep, rest = spec.partition(":")
    if not sep or backend not in BACKENDS:
        raise ConfigError(
            f"unknown model spec {spec!r}",
            hint="write BACKEND:MODEL, e.g. local:qwen2.5-coder-0.5b, openai:gpt-4o-mini, "
            "openai:MODEL@http://HOST:PORT/v1, litellm:PROVIDER/MODEL or fake: (see `gpo models`)",
        )
    base_url = None
    if backend == "openai" and "@" in rest:
        rest, base_url = rest.split("@", 1)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"base URL {base_url!r} in {spec!r} is not an http(s) URL",
                hint="write openai:MODEL@http://HOST:PORT/v1",
            )
    if not rest and backend != "fake":
        raise ConfigError(f"model spec {spec!r} names no model", hint=BACKENDS[backend])
    return backend, rest, base_url


def get_lm(spec: str, *, cache: Any = True, **kwargs: Any) -> LM:
    """Builds a model from its spec string.

    Args:
        spec: See :func:`parse_spec`.
        cache: ``True`` for the persistent cache under ``GPO_HOME``, a
            :class:`ResponseCache`, or ``False``. Fake models never use the cache.
        **kwargs: Backend settings and policy settings of :class:`LM`
            (``concurrency``, ``rpm``, ``retry``, ``ledger``, ``prices``, ``budget``, and
            ``timeout``: seconds per request, default ``GPO_TIMEOUT``, else 600).

    Raises:
        ConfigError: Unknown spec, missing key, or backend not installed.
    """
    backend, model, base_url = parse_spec(spec)
    if backend == "fake":
        kwargs.pop("parallel", None)
        return FakeLM(model, cache=False, **kwargs)
    if backend == "openai":
        from gpo.lm.openai import OpenAICompatLM

        return OpenAICompatLM(model, base_url, cache=cache, **kwargs)
    if backend == "litellm":
        from gpo.lm.litellm import LiteLLMLM

        return LiteLLMLM(model, cache=cache, **kwargs)
    from gpo.lm.local import LocalLM

    return LocalLM(model, cache=cache, **kwargs)
