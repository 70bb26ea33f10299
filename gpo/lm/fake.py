"""Models with no network, for dry runs and tests (yours too).

- :class:`FakeLM`: deterministic, well-formed answers and prompts from a hash of the request.
- :class:`ScriptedLM`: replies from a queue you give, with the history of requests.
- :class:`ReplayLM`: answers only requests it has recorded, and fails loudly on any other.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from typing import Any, Callable, Iterable, Mapping, MutableMapping, Optional, Sequence, Union

from gpo.errors import LMError, ReplayMiss
from gpo.lm.base import LM
from gpo.lm.cache import ResponseCache
from gpo.lm.types import Message, RawCompletion, Request, approx_tokens


def _digest(*parts: Any) -> int:
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big")


_PHRASES = (
    "Read the question carefully.",
    "Think step by step.",
    "Check each option before answering.",
    "Work through the problem one step at a time.",
    "State the final answer clearly at the end.",
    "Keep track of every quantity.",
    "Double-check the result.",
    "Explain your reasoning briefly.",
)


def _fake_prompt(h: int) -> str:
    picks = [_PHRASES[(h >> (4 * i)) % len(_PHRASES)] for i in range(1 + h % 3)]
    # A short tag from the hash keeps every sampled prompt distinct, as if every candidate
    # were new: a dry run then counts the calls of the worst case (no repeats to skip).
    return " ".join(dict.fromkeys(picks)) + f" (Variant {h % 65536:04x}.)"


def _fake_answer(question: str, h: int) -> str:
    letters = re.findall(r"\(([A-R])\)", question)
    if letters:
        return f"The answer is ({letters[h % len(letters)]})."
    low = question.lower()
    for a, b in (("valid", "invalid"), ("true", "false"), ("yes", "no")):
        if re.search(rf"\b{a}\b", low) and re.search(rf"\b{b}\b", low):
            word = (a, b)[h % 2]
            return f"The answer is {word.capitalize() if a != 'valid' else word}."
    if re.search(r"\b(how many|number|sum|=)\b|\d", low):
        return f"The answer is {h % 20}."
    words = re.findall(r"[A-Za-z']+", question)
    return "The answer is " + " ".join(words[-3:]) + "."


class FakeLM(LM):
    """A deterministic model for dry runs: same request, same answer; no network.

    It answers meta-prompts that ask for a prompt between ``<START>`` and ``<END>`` with a
    well-formed instruction, multiple-choice questions with an option, yes/no and
    true/false questions with a word, and anything else with a short sentence. The choice
    depends on a hash of the messages, the seed and the sample index, so samples at
    temperature > 0 differ and greedy samples agree. Token counts are
    :func:`approx_tokens` estimates.

    Args:
        name: A label for the spec (``fake:NAME``).
        **kwargs: Policy settings of :class:`gpo.lm.base.LM`.
    """

    backend = "fake"

    def __init__(self, name: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = name or "default"

    async def _generate(self, request: Request) -> RawCompletion:
        last = request.messages[-1]["content"] if request.messages else ""
        texts = []
        for i in range(request.n):
            index = i if request.temperature > 0 else 0
            h = _digest([dict(m) for m in request.messages], request.seed, index, self.model)
            if "<START>" in last:
                texts.append(f"<START>{_fake_prompt(h)}<END>")
            else:
                question = "\n".join(m["content"] for m in request.messages if m["role"] == "user")
                texts.append(_fake_answer(question, h))
        prompt_tokens = sum(approx_tokens(m["content"]) for m in request.messages)
        return RawCompletion(
            texts=texts,
            input_tokens=prompt_tokens,
            output_tokens=sum(approx_tokens(t) for t in texts),
        )


class DryRunLM(FakeLM):
    """A fake standing in for a real model during a dry run, priced as that model.

    It answers like :class:`FakeLM`, counts input tokens as :func:`approx_tokens` and output
    tokens as the request's ``max_tokens`` for every sample (an upper bound), and prices
    them as the real model would be priced.

    Args:
        real_spec: The spec of the model it stands in for.
        **kwargs: Policy settings of :class:`gpo.lm.base.LM`.
    """

    def __init__(self, real_spec: str, **kwargs: Any) -> None:
        super().__init__(name=real_spec, **kwargs)
        from gpo.lm.spec import parse_spec

        backend, model, _ = parse_spec(real_spec)
        self.real_spec = real_spec
        self._price_backend = backend
        self._price_model = model

    @property
    def spec(self) -> str:
        return f"dry-run:{self.real_spec}"

    def cost(self, input_tokens: int, output_tokens: int) -> Optional[float]:
        from gpo.lm.pricing import call_cost

        return call_cost(self._price_backend, self._price_model, input_tokens, output_tokens, self.prices)

    async def _generate(self, request: Request) -> RawCompletion:
        raw = await super()._generate(request)
        raw.output_tokens = request.max_tokens * request.n
        return raw


Reply = Union[str, Exception, Callable[[Request], str]]


class ScriptedLM(LM):
    """Replies from a queue, in order, one per sample; records every request.

    Each reply is a string, an exception to raise, or a function of the request that
    returns a string. An empty queue raises :class:`LMError` (or returns ``default``).

    Args:
        replies: The queue.
        default: What to answer once the queue is empty (a string or a function of the
            request; ``None``: raise).
        **kwargs: Policy settings of :class:`gpo.lm.base.LM`.

    Example:
        >>> import asyncio
        >>> lm = ScriptedLM(["first", "second"])
        >>> asyncio.run(lm([{"role": "user", "content": "hi"}], n=2)).texts
        ['first', 'second']
        >>> lm.history[0].messages[0]["content"]
        'hi'
    """

    backend = "scripted"

    def __init__(self, replies: Iterable[Reply] = (), *, default: Optional[Reply] = None, **kwargs: Any):
        kwargs.setdefault("concurrency", 1)
        super().__init__(**kwargs)
        self.model = "scripted"
        self.queue: deque[Reply] = deque(replies)
        self.default = default
        self.history: list[Request] = []

    def add(self, *replies: Reply) -> None:
        """Appends replies to the queue."""
        self.queue.extend(replies)

    async def _generate(self, request: Request) -> RawCompletion:
        self.history.append(request)
        texts = []
        for _ in range(request.n):
            if not self.queue:
                if self.default is None:
                    raise LMError("the scripted model ran out of replies", hint="add more replies")
                texts.append(self.default(request) if callable(self.default) else self.default)
                continue
            reply = self.queue.popleft()
            if isinstance(reply, Exception):
                raise reply
            texts.append(reply(request) if callable(reply) else reply)
        return RawCompletion(
            texts=texts,
            input_tokens=sum(approx_tokens(m["content"]) for m in request.messages),
            output_tokens=sum(approx_tokens(t) for t in texts),
        )


class ReplayLM(LM):
    """Answers recorded requests only; any other request raises :class:`ReplayMiss`.

    Records are keyed like the response cache (see :meth:`Request.sample_key`) under an
    ``identity``: give the identity of the model that was recorded together with its
    :class:`ResponseCache` to replay a real run offline, or build records by hand with
    :meth:`record`.

    Args:
        store: Key → text mapping, or a response cache to read from.
        identity: The recorded model's identity (default: a replay-only identity).
        **kwargs: Policy settings of :class:`gpo.lm.base.LM`.
    """

    backend = "replay"

    def __init__(
        self,
        store: Union[MutableMapping[str, str], ResponseCache, None] = None,
        *,
        identity: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = "replay"
        self.store = store if store is not None else {}
        self._identity = dict(identity) if identity else {"backend": "replay"}

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def record(
        self,
        messages: Sequence[Message],
        text: str,
        *,
        index: int = 0,
        temperature: float = 0.0,
        max_tokens: int = 256,
        seed: Optional[int] = 0,
        stop: Sequence[str] = (),
    ) -> None:
        """Adds the reply to one request's sample ``index``."""
        request = Request(tuple(dict(m) for m in messages), 1, temperature, max_tokens, seed, tuple(stop))
        key = request.sample_key(self._identity, index)
        if isinstance(self.store, ResponseCache):
            self.store.put_many({key: {"text": text}})
        else:
            self.store[key] = text

    async def _generate(self, request: Request) -> RawCompletion:
        # The policy layer asks only for samples it lacks; replay looks each one up.
        full = Request(request.messages, 1, request.temperature, request.max_tokens, request.seed, request.stop)
        texts = []
        for i in range(request.n):
            key = full.sample_key(self._identity, i)
            if isinstance(self.store, ResponseCache):
                hit = self.store.get(key)
                value = hit["text"] if hit else None
            else:
                value = self.store.get(key)
            if value is None:
                preview = request.messages[-1]["content"][:80] if request.messages else ""
                raise ReplayMiss(
                    f"no recorded response for this request (sample {i}): {preview!r}",
                    hint="the run asked for something that was not recorded; record it again",
                )
            texts.append(value)
        return RawCompletion(texts=texts)
