"""Any provider that ``litellm`` supports (optional extra: ``pip install 'gpo[litellm]'``)."""

from __future__ import annotations

import os
from typing import Any

from gpo.errors import ConfigError, LMError
from gpo.lm.base import LM
from gpo.lm.types import RawCompletion, Request


def _translate(exc: Exception, where: str, timeout: float) -> LMError:
    """litellm raises exceptions that subclass the ``openai`` SDK's; reuse that mapping."""
    from gpo.lm.openai import translate_error

    return translate_error(exc, where, timeout)


class LiteLLMLM(LM):
    """A model reached through ``litellm.acompletion`` (``litellm:PROVIDER/MODEL``).

    Credentials come from the provider's usual variables, as litellm reads them.
    """

    backend = "litellm"

    def __init__(self, model: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if "/" not in model:
            raise ConfigError(
                f"litellm model {model!r} has no provider",
                hint="write litellm:PROVIDER/MODEL, e.g. litellm:anthropic/claude-3-5-haiku-latest",
            )
        self.model = model
        # litellm fetches a price map over the network on import unless told not to.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "the litellm backend is not installed", hint="pip install 'gpo[litellm]'"
            ) from exc

    async def _generate(self, request: Request) -> RawCompletion:
        import litellm

        params: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "n": request.n,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "num_retries": 0,
            "timeout": self.timeout,
        }
        if request.seed is not None:
            params["seed"] = request.seed
        if request.stop:
            params["stop"] = list(request.stop)
        try:
            resp = await litellm.acompletion(**params)
        except Exception as exc:  # litellm maps provider errors to openai-style classes
            raise _translate(exc, f"litellm:{self.model}", self.timeout) from exc
        choices = sorted(resp.choices, key=lambda c: c.index)
        usage = getattr(resp, "usage", None)
        return RawCompletion(
            texts=[c.message.content or "" for c in choices],
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )
