import asyncio
import random

import pytest

from gpo.errors import ConfigError, LMAuthError, LMError, LMRateLimitError, ReplayMiss
from gpo.lm import FakeLM, Ledger, ReplayLM, ResponseCache, RetryPolicy, ScriptedLM, get_lm, parse_spec
from gpo.lm.limits import RateLimiter, call_with_retries
from gpo.lm.pricing import call_cost, load_prices
from gpo.lm.types import Request

MSG = [{"role": "user", "content": "Is 4 even?"}]
FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)


def test_cache_key_changes_with_sampling_seed_and_index_not_api_key(monkeypatch):
    base = Request(tuple(MSG), temperature=0.0, max_tokens=10, seed=0)
    ident = {"backend": "openai", "endpoint": "http://x/v1", "model": "m"}
    k = base.sample_key(ident, 0)
    assert Request(tuple(MSG), temperature=0.7, max_tokens=10, seed=0).sample_key(ident, 0) != k
    assert Request(tuple(MSG), temperature=0.0, max_tokens=11, seed=0).sample_key(ident, 0) != k
    assert Request(tuple(MSG), temperature=0.0, max_tokens=10, seed=1).sample_key(ident, 0) != k
    assert base.sample_key(ident, 1) != k
    assert base.sample_key({**ident, "model": "m2"}, 0) != k
    # n is not part of a sample's key: sample 0 of n=1 and of n=8 are the same entry.
    assert Request(tuple(MSG), n=8, temperature=0.0, max_tokens=10, seed=0).sample_key(ident, 0) == k
    # The API key never enters the identity of an OpenAI-compatible model.
    from gpo.lm.openai import OpenAICompatLM

    a = OpenAICompatLM("m", "http://127.0.0.1:9/v1", api_key="sk-AAA")
    b = OpenAICompatLM("m", "http://127.0.0.1:9/v1", api_key="sk-BBB")
    assert a.identity() == b.identity()
    assert "sk-" not in repr(a.identity())
    assert base.sample_key(a.identity(), 0) == base.sample_key(b.identity(), 0)


async def test_cache_serves_repeated_and_partial_requests(tmp_path):
    cache = ResponseCache(tmp_path / "c.db")
    lm = ScriptedLM(["a", "b", "c", "d"], cache=cache)
    first = await lm(MSG, n=2, temperature=1.0)
    assert first.texts == ["a", "b"] and first.usage.calls == 1
    again = await lm(MSG, n=2, temperature=1.0)
    assert again.texts == ["a", "b"] and again.usage.cached and again.usage.calls == 0
    # Asking for 3 samples pays only for the third.
    more = await lm(MSG, n=3, temperature=1.0)
    assert more.texts == ["a", "b", "c"]
    assert more.usage.cached_samples == 2 and more.usage.calls == 1
    assert len(lm.history) == 2 and lm.history[1].n == 1
    # A new cache object on the same file sees the entries (persistence).
    lm2 = ScriptedLM([], cache=ResponseCache(tmp_path / "c.db"))
    assert (await lm2(MSG, n=3, temperature=1.0)).texts == ["a", "b", "c"]


async def test_cache_keys_differ_by_temperature(tmp_path):
    cache = ResponseCache(tmp_path / "c.db")
    lm = ScriptedLM(["greedy", "hot"], cache=cache)
    assert (await lm(MSG, temperature=0.0)).text == "greedy"
    assert (await lm(MSG, temperature=1.0)).text == "hot"
    assert (await lm(MSG, temperature=0.0)).text == "greedy"


async def test_errors_are_raised_not_returned_as_text():
    lm = ScriptedLM([LMAuthError("bad key")], retry=FAST)
    with pytest.raises(LMAuthError):
        await lm(MSG)
    # The failed call is not cached as text; the ledger records the failed request and
    # nothing paid.
    task = lm.ledger.summary()["task"]
    assert (task["calls"], task["requests"], task["failed_requests"], task["retries"]) == (1, 0, 1, 0)
    assert task["output_tokens"] == 0 and task["cost_usd"] == 0.0


async def test_retryable_errors_are_retried_then_succeed():
    lm = ScriptedLM([LMRateLimitError("slow down"), LMRateLimitError("slow down"), "ok"], retry=FAST)
    out = await lm(MSG)
    assert out.text == "ok"
    assert out.usage.retries == 2 and out.usage.calls == 1


async def test_retries_are_bounded():
    lm = ScriptedLM([LMRateLimitError("x")] * 5, retry=FAST)
    with pytest.raises(LMRateLimitError, match="gave up after 3 attempts"):
        await lm(MSG)
    assert len(lm.history) == 3


async def test_auth_errors_are_not_retried():
    lm = ScriptedLM([LMAuthError("no"), "never"], retry=FAST)
    with pytest.raises(LMAuthError):
        await lm(MSG)
    assert len(lm.history) == 1


def test_backoff_is_capped_and_jittered():
    p = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    delays = [p.delay(a, rng) for a in range(1, 10)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) == len(delays)


async def test_rate_limiter_spaces_requests():
    import time

    limiter = RateLimiter(rpm=600)  # one every 0.1 s
    t = time.monotonic()
    for _ in range(4):
        await limiter.acquire()
    assert time.monotonic() - t >= 0.29


async def test_concurrency_limit_is_respected():
    active = 0
    peak = 0

    class Slow(FakeLM):
        async def _generate(self, request):
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1
            return await super()._generate(request)

    lm = Slow("slow", concurrency=3)
    await asyncio.gather(*(lm([{"role": "user", "content": str(i)}]) for i in range(12)))
    assert peak == 3


async def test_usage_ledger_per_role_and_cost():
    ledger = Ledger()
    lm = ScriptedLM(["x", "y"], ledger=ledger)
    await lm(MSG, role="task")
    await lm(MSG, role="optimizer", temperature=1.0)
    s = ledger.summary()
    assert set(s) == {"task", "optimizer"}
    assert s["task"]["calls"] == 1 and s["task"]["input_tokens"] > 0
    assert s["task"]["cost_usd"] == 0.0
    assert call_cost("openai", "gpt-4o-mini", 2_000_000, 1_000_000, load_prices()) == pytest.approx(0.9)
    assert call_cost("openai", "unknown-model", 10, 10, load_prices()) is None


def test_price_table_override(tmp_path, monkeypatch):
    p = tmp_path / "prices.json"
    p.write_text('{"my-model": [1.0, 2.0]}')
    monkeypatch.setenv("GPO_PRICES", str(p))
    prices = load_prices()
    assert prices["my-model"] == (1.0, 2.0) and "gpt-4o" in prices
    p.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="price table"):
        load_prices()


async def test_fake_lm_is_deterministic_and_well_formed():
    lm = FakeLM()
    q = [{"role": "user", "content": "Which?\nOptions:\n(A) x\n(B) y"}]
    a = await lm(q, n=4, temperature=1.0)
    b = await FakeLM()(q, n=4, temperature=1.0)
    assert a.texts == b.texts
    assert all(t in ("The answer is (A).", "The answer is (B).") for t in a.texts)
    greedy = await lm(q, n=3, temperature=0.0)
    assert len(set(greedy.texts)) == 1
    meta = await lm([{"role": "user", "content": "Wrap it in <START> and <END>."}], n=3, temperature=1.0)
    assert all(t.startswith("<START>") and t.endswith("<END>") for t in meta.texts)


async def test_scripted_lm_runs_out_loudly():
    lm = ScriptedLM(["one"])
    await lm(MSG)
    with pytest.raises(LMError, match="ran out"):
        await lm([{"role": "user", "content": "other"}])


async def test_replay_lm_answers_recorded_and_fails_on_unseen():
    lm = ReplayLM()
    lm.record(MSG, "Yes")
    lm.record(MSG, "hot0", temperature=1.0, index=0)
    lm.record(MSG, "hot1", temperature=1.0, index=1)
    assert (await lm(MSG)).text == "Yes"
    assert (await lm(MSG, n=2, temperature=1.0)).texts == ["hot0", "hot1"]
    with pytest.raises(ReplayMiss, match="no recorded response"):
        await lm([{"role": "user", "content": "never seen"}])
    with pytest.raises(ReplayMiss):
        await lm(MSG, seed=5)


async def test_replay_from_a_recorded_cache(tmp_path):
    cache = ResponseCache(tmp_path / "rec.db")
    recorder = ScriptedLM(["rec-a", "rec-b"], cache=cache)
    await recorder(MSG, n=2, temperature=1.0)
    replay = ReplayLM(cache, identity=recorder.identity())
    assert (await replay(MSG, n=2, temperature=1.0)).texts == ["rec-a", "rec-b"]


def test_parse_spec_errors():
    with pytest.raises(ConfigError, match="unknown model spec"):
        parse_spec("gpt-4o")
    with pytest.raises(ConfigError, match="names no model"):
        parse_spec("openai:")
    with pytest.raises(ConfigError, match="not an http"):
        parse_spec("openai:m@localhost:8000")


def test_missing_api_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        get_lm("openai:gpt-4o-mini")
    with pytest.raises(ConfigError, match="GPO_API_KEY_API_EXAMPLE_COM"):
        get_lm("openai:m@https://api.example.com/v1")
    monkeypatch.setenv("GPO_API_KEY_API_EXAMPLE_COM", "k")
    assert get_lm("openai:m@https://api.example.com/v1").spec == "openai:m@https://api.example.com/v1"
    # Servers on this machine need no key.
    assert get_lm("openai:m@http://127.0.0.1:8000/v1").model == "m"


def test_cache_shared_by_two_processes(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "shared.db"
    code = (
        "import sys; from gpo.lm.cache import ResponseCache\n"
        "c = ResponseCache(sys.argv[1]); w = sys.argv[2]\n"
        "for i in range(300):\n"
        "    c.put_many({f'{w}-{i}': {'text': str(i)}, f'shared-{i}': {'text': w}})\n"
        "    assert c.get(f'{w}-{i}') == {'text': str(i)}\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), w]) for w in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    c = ResponseCache(db)
    assert len(c) == 900
    assert c.get("a-299") == {"text": "299"} and c.get("shared-5")["text"] in ("a", "b")


async def test_requests_are_split_where_the_server_caps_n():
    lm = ScriptedLM([f"s{i}" for i in range(8)])
    lm.max_n = 3
    out = await lm(MSG, n=8, temperature=1.0, seed=10)
    assert out.texts == [f"s{i}" for i in range(8)]
    assert [r.n for r in lm.history] == [3, 3, 2]
    # Each group has its own seed, so the groups are different samples.
    assert [r.seed for r in lm.history] == [10, 13, 16]
    assert out.usage.calls == 3


async def test_backends_without_n_get_one_request_per_sample():
    lm = ScriptedLM(["a", "b", "c"])
    lm.supports_n = False
    out = await lm(MSG, n=3, temperature=1.0, seed=0)
    assert out.texts == ["a", "b", "c"] and [r.seed for r in lm.history] == [0, 1, 2]


async def test_writes_of_concurrent_calls_are_committed_together_before_the_calls_return(tmp_path, monkeypatch):
    import asyncio

    cache = ResponseCache(tmp_path / "c.db")
    commits = []
    original = ResponseCache.put_many
    monkeypatch.setattr(ResponseCache, "put_many", lambda self, items: (commits.append(len(items)), original(self, items))[1])

    class Slow(ScriptedLM):
        async def _generate(self, request):
            await asyncio.sleep(0.01)
            return await super()._generate(request)

    lm = Slow(default=lambda r: "Yes", cache=cache, concurrency=64)

    async def one(i):
        out = await lm([{"role": "user", "content": f"Q{i}"}])
        assert cache.get(Request(({"role": "user", "content": f"Q{i}"},)).sample_key(lm.identity(), 0))
        return out

    await asyncio.gather(*(one(i) for i in range(64)))
    assert sum(commits) == 64 and len(commits) < 64  # grouped, and every answer stored before its call returned
    assert len(lm.ledger.records) == 64
    cache.close()


async def test_a_call_stopped_while_its_answer_is_stored_keeps_the_answer_and_its_usage(tmp_path, monkeypatch):
    import asyncio

    cache = ResponseCache(tmp_path / "c.db")
    gate = asyncio.Event()

    async def slow_store(items):
        await gate.wait()  # the group commit has not come back yet

    monkeypatch.setattr(cache, "aput_many", slow_store)
    lm = ScriptedLM(default=lambda r: "Yes", cache=cache)
    call = asyncio.ensure_future(lm([{"role": "user", "content": "Q"}]))
    while not lm.history:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert len(cache) == 1 and lm.ledger.summary()["task"]["requests"] == 1
    cache.close()


async def test_a_layered_cache_commits_every_layer_before_the_call_returns(tmp_path):
    import asyncio

    from gpo.lm.cache import LayeredCache

    record, shared = ResponseCache(tmp_path / "record.db"), ResponseCache(tmp_path / "shared.db")
    lm = ScriptedLM(default=lambda r: "Yes", cache=LayeredCache([record, shared]), concurrency=16)

    async def one(i):
        await lm([{"role": "user", "content": f"Q{i}"}])
        key = Request(({"role": "user", "content": f"Q{i}"},)).sample_key(lm.identity(), 0)
        assert record.get(key) and shared.get(key)

    await asyncio.gather(*(one(i) for i in range(20)))
    assert len(record) == len(shared) == 20
