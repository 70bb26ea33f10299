"""Prices per million tokens, and the cost of a call.

The built-in table covers a few common hosted models; local and fake models are free. Users
override or extend it with a JSON file ``{"model": [input_usd_per_1M, output_usd_per_1M]}``
named by ``GPO_PRICES`` or passed to :func:`load_prices`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from gpo.errors import ConfigError

# USD per million input / output tokens.
BUILTIN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
}

FREE_BACKENDS = frozenset({"local", "fake", "scripted", "replay"})


def load_prices(path: str | os.PathLike | None = None) -> dict[str, tuple[float, float]]:
    """The built-in table updated with a user's JSON file (``path`` or ``GPO_PRICES``).

    Raises:
        ConfigError: The file is missing or not of the form ``{"model": [in, out]}``.
    """
    prices = dict(BUILTIN_PRICES)
    path = path or os.environ.get("GPO_PRICES")
    if not path:
        return prices
    try:
        data = json.loads(Path(path).read_text())
        for model, pair in data.items():
            inp, out = pair
            prices[str(model)] = (float(inp), float(out))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"cannot read the price table {path}: {exc}",
            hint='write it as {"model-name": [usd_per_1M_input, usd_per_1M_output]}',
        ) from exc
    return prices


def call_cost(
    backend: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    prices: dict[str, tuple[float, float]],
) -> Optional[float]:
    """Cost in USD of one paid call, ``None`` when the model's price is unknown.

    >>> call_cost("openai", "gpt-4o-mini", 1_000_000, 0, BUILTIN_PRICES)
    0.15
    >>> call_cost("local", "anything", 10, 10, {})
    0.0
    """
    if backend in FREE_BACKENDS:
        return 0.0
    pair = prices.get(model)
    if pair is None:
        # "provider/model" names (litellm) fall back to the bare model name.
        pair = prices.get(model.rsplit("/", 1)[-1])
    if pair is None:
        return None
    return (input_tokens * pair[0] + output_tokens * pair[1]) / 1_000_000
