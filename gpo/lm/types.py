"""Plain values passed through the model layer: requests, completions, usage records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

Message = dict[str, str]


def approx_tokens(text: str) -> int:
    """A tokenizer-free token estimate: one token per four characters, at least one.

    >>> approx_tokens("abcdefgh")
    2
    """
    return max(1, (len(text) + 3) // 4)


def freeze_messages(messages: Sequence[Message]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Messages as a hashable, order-preserving value."""
    return tuple(tuple(sorted((str(k), str(v)) for k, v in m.items())) for m in messages)


@dataclass(frozen=True)
class Request:
    """One chat-completion request, independent of any backend.

    Attributes:
        messages: The chat messages.
        n: Number of samples wanted.
        temperature: Sampling temperature (0 is greedy).
        max_tokens: Cap on generated tokens per sample.
        seed: Sampling seed (part of the cache key; ``None`` means unseeded).
        stop: Optional stop strings.
        affinity: Routing hint: requests with the same value share a long prompt prefix
            and should go to the same server slot or replica, whose prompt cache then
            serves it. Never part of cache keys; never changes what is asked.
    """

    messages: tuple[Message, ...]
    n: int = 1
    temperature: float = 0.0
    max_tokens: int = 256
    seed: Optional[int] = 0
    stop: tuple[str, ...] = ()
    affinity: Optional[int] = field(default=None, compare=False)

    def sampling(self) -> dict[str, Any]:
        """The sampling parameters that change what the model returns (for cache keys)."""
        return {
            "temperature": float(self.temperature),
            "max_tokens": int(self.max_tokens),
            "seed": self.seed,
            "stop": list(self.stop),
        }

    def sample_key(self, identity: dict[str, Any], index: int) -> str:
        """sha256 of the whole request for sample ``index``: backend identity (no credentials),
        messages, sampling parameters, seed and sample index."""
        payload = {
            "identity": identity,
            "messages": [dict(m) for m in self.messages],
            "sampling": self.sampling(),
            "sample_index": index,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class RawCompletion:
    """What a backend returns for one request: one text per sample and token counts."""

    texts: list[str]
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Usage:
    """The record of one model call, paid or answered from the cache.

    Attributes:
        role: What the call was for (``task``, ``optimizer``, ``embedding``).
        model: The model spec.
        calls: Backend requests sent (0 when every sample came from the cache).
        samples: Samples returned.
        cached_samples: Samples answered from the cache.
        input_tokens: Prompt tokens of the paid requests.
        cached_input_tokens: Of those, the tokens the server took from its prompt cache
            instead of computing them (as the server reports it; 0 when it does not).
        output_tokens: Generated tokens of the paid requests.
        retries: Failed attempts that were retried.
        failed_requests: Requests that failed: rate limits, server errors, time-outs,
            dropped connections, malformed answers, rejections, and requests in flight
            when the run was stopped (Ctrl-C, SIGTERM, a budget). The retried ones are
            also counted in ``retries``; ``calls + failed_requests`` is every request
            the server was sent.
        latency_s: Wall time of the call, waiting for limits included.
        cost_usd: Cost of the paid requests, ``None`` when the price is unknown.
        step: The optimization step the call belongs to, if any.
    """

    role: str
    model: str
    calls: int = 0
    samples: int = 0
    cached_samples: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    failed_requests: int = 0
    latency_s: float = 0.0
    cost_usd: Optional[float] = 0.0
    step: Optional[int] = None

    @property
    def cached(self) -> bool:
        """True when the call was answered entirely from the cache."""
        return self.calls == 0 and self.cached_samples > 0

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))  # fields hold plain values, in field order: asdict's result, faster

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Usage":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Completion:
    """The result of a model call: one text per sample, in sample-index order."""

    texts: list[str]
    usage: Usage

    @property
    def text(self) -> str:
        """The first sample."""
        return self.texts[0]
