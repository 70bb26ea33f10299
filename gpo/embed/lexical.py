"""Lexical similarity: TF-IDF cosine over word unigrams, in pure Python, and its embedder."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

from gpo.embed.base import BatchOutput, Embedder, _check_texts, l2_normalize

_WORD = re.compile(r"\w+", re.UNICODE)


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

    >>> from gpo.embed.base import cosine_similarities
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
