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
from gpo.lm.spec import BACKENDS, parse_spec
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
