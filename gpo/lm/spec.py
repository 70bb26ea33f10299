"""Model specs: ``BACKEND:MODEL[@BASE_URL]``, the backends they name, and how they are read."""

from __future__ import annotations

from gpo.errors import ConfigError

__all__ = ["BACKENDS", "parse_spec"]

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
