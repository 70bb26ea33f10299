"""The OpenAI-compatible backend through the real openai SDK against a real local HTTP server."""

import asyncio

import pytest

from gpo.errors import LMAuthError, LMBadRequestError, LMRateLimitError, LMServerError
from gpo.lm import ResponseCache, RetryPolicy, get_lm
from gpo.testing.server import OpenAICompatServer

MSG = [{"role": "user", "content": "Is 4 even? Yes or No."}]
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02)


async def test_429_then_200_is_retried():
    with OpenAICompatServer(statuses=[429, 200]) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=FAST)
        out = await lm(MSG)
        await lm.aclose()
    assert out.text.startswith("The answer is")
    assert out.usage.retries == 1 and out.usage.calls == 1
    assert len(server.requests) == 2


async def test_5xx_is_retried_until_attempts_run_out():
    with OpenAICompatServer(statuses=[500, 502, 503, 500, 200]) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=FAST)
        with pytest.raises(LMServerError, match="gave up after 4 attempts"):
            await lm(MSG)
        await lm.aclose()
    assert len(server.requests) == 4


async def test_auth_error_is_not_retried(monkeypatch):
    monkeypatch.setenv("GPO_API_KEY_127_0_0_1_1", "unused")
    with OpenAICompatServer(api_key="right-key") as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=FAST, api_key="wrong-key")
        with pytest.raises(LMAuthError):
            await lm(MSG)
        await lm.aclose()
    assert len(server.requests) == 1


async def test_bad_request_is_not_retried():
    with OpenAICompatServer(statuses=[400]) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=FAST)
        with pytest.raises(LMBadRequestError):
            await lm(MSG)
        await lm.aclose()
    assert len(server.requests) == 1


async def test_rate_limit_gives_up_with_a_typed_error():
    with OpenAICompatServer(statuses=[429] * 10) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=FAST)
        with pytest.raises(LMRateLimitError):
            await lm(MSG)
        await lm.aclose()


async def test_per_endpoint_key_is_sent_and_never_cached(tmp_path, monkeypatch):
    with OpenAICompatServer(api_key="secret-123") as server:
        var = "GPO_API_KEY_127_0_0_1_" + str(server.port)
        monkeypatch.setenv(var, "secret-123")
        cache = ResponseCache(tmp_path / "c.db")
        lm = get_lm(f"openai:m@{server.url}", cache=cache)
        out = await lm(MSG, n=2, temperature=1.0, seed=3)
        await lm.aclose()
        assert server.requests[0]["headers"]["authorization"] == "Bearer secret-123"
        body = server.requests[0]["json"]
        assert body["n"] == 2 and body["seed"] == 3 and body["temperature"] == 1.0
    assert len(out.texts) == 2
    cache.close()
    raw = (tmp_path / "c.db").read_bytes()
    for extra in tmp_path.glob("c.db-*"):
        raw += extra.read_bytes()
    assert b"secret-123" not in raw


async def test_cache_across_model_objects_and_n_in_one_request(tmp_path):
    with OpenAICompatServer() as server:
        cache = ResponseCache(tmp_path / "c.db")
        a = get_lm(f"openai:m@{server.url}", cache=cache)
        first = await a(MSG, n=4, temperature=1.0)
        assert len(server.requests) == 1 and server.requests[0]["json"]["n"] == 4
        b = get_lm(f"openai:m@{server.url}", cache=cache)
        second = await b(MSG, n=4, temperature=1.0)
        assert second.texts == first.texts and second.usage.cached
        assert len(server.requests) == 1
        # A different seed is a different request.
        await b(MSG, n=1, temperature=1.0, seed=9)
        assert len(server.requests) == 2
        await a.aclose()
        await b.aclose()


async def test_concurrent_calls_overlap_with_server_delay():
    with OpenAICompatServer(delay=0.1) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, concurrency=16)
        loop = asyncio.get_running_loop()
        t = loop.time()
        outs = await asyncio.gather(
            *(lm([{"role": "user", "content": f"q{i}"}]) for i in range(16))
        )
        elapsed = loop.time() - t
        await lm.aclose()
    assert len(outs) == 16
    assert elapsed < 16 * 0.1 / 2  # overlapped, not serial


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_both_http_transports_send_the_same_request(monkeypatch, transport):
    if transport == "httpx":
        monkeypatch.setenv("GPO_HTTP_TRANSPORT", "httpx")
    with OpenAICompatServer() as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False)
        out = await lm(MSG, n=2, temperature=0.5, max_tokens=7, seed=3, stop=["\n"])
        client = lm.client.get()
        await lm.aclose()
    body = server.requests[0]["json"]
    assert body == {
        "model": "m", "messages": MSG, "n": 2, "temperature": 0.5, "max_tokens": 7,
        "seed": 3, "stop": ["\n"],
    }
    assert len(out.texts) == 2 and out.usage.input_tokens > 0
    uses_aiohttp = "aiohttp" in type(client._client).__module__.lower() or "aiohttp" in type(
        client._client
    ).__name__.lower()
    assert uses_aiohttp == (transport == "aiohttp")


async def test_an_answer_without_choices_is_retried_as_a_server_error():
    from gpo.lm.openai import parse_chat_completion

    with pytest.raises(LMServerError, match="malformed answer"):
        parse_chat_completion({"error": "warming up"}, "http://x")
    raw = parse_chat_completion(
        {"choices": [{"index": 1, "message": {"content": "b"}}, {"index": 0, "message": {"content": None}}],
         "usage": {"prompt_tokens": 5, "completion_tokens": 2}, "timings": {"prompt_n": 3}},
        "http://x",
    )
    assert raw.texts == ["", "b"] and raw.input_tokens == 5 and raw.extra == {"timings": {"prompt_n": 3}}


def test_prompt_tokens_served_from_the_servers_cache_are_read_in_both_dialects():
    from gpo.lm.openai import parse_chat_completion

    choice = [{"index": 0, "message": {"content": "x"}}]
    openai_style = {"choices": choice, "usage": {"prompt_tokens": 100, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 64}}}
    llama_style = {"choices": choice, "usage": {"prompt_tokens": 100, "completion_tokens": 1}, "timings": {"prompt_n": 30}}
    neither = {"choices": choice, "usage": {"prompt_tokens": 100, "completion_tokens": 1}}
    assert parse_chat_completion(openai_style, "x").cached_input_tokens == 64
    assert parse_chat_completion(llama_style, "x").cached_input_tokens == 70
    assert parse_chat_completion(neither, "x").cached_input_tokens == 0


async def test_cached_input_tokens_reach_the_ledger():
    with OpenAICompatServer(responder=lambda body: "ok") as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False)
        out = await lm(MSG)
        await lm.aclose()
    assert out.usage.cached_input_tokens == 0
    assert lm.ledger.summary()["task"]["cached_input_tokens"] == 0


CLOSING = r'''
import asyncio, gc, sys, warnings
from pathlib import Path

import gpo
import gpo.lm.local as local
from gpo.embed import get_embedder
from gpo.evaluate import Evaluator
from gpo.lm import get_lm
from gpo.tasks import load_task
from gpo.testing.server import OpenAICompatServer, optimization_reply


class Server:  # a local model's server, played by the test server
    def __init__(self, url):
        self.url, self.proc = url, None

    def start(self):
        self.proc = type("P", (), {"poll": lambda self: None})()
        return self.url

    def stop(self):
        self.proc = None


with OpenAICompatServer(responder=optimization_reply) as server:
    local.resolve_weights = lambda name: Path("model.gguf")
    local.shared_server = lambda *a, **k: Server(server.url)
    # As the README does: the Python API with a local model, twice in one process.
    for seed in (0, 1):
        gpo.optimize("synthetic/word_sorting", "gpo", model="local:qwen2.5-coder-0.5b", steps=1,
                     eval_limit=4, test_limit=4, seed=seed, run_dir=False, embedder=f"openai:e@{server.url}")
    # A model used directly and never closed, in two event loops one after the other.
    task = load_task("synthetic/word_sorting", seed=1)
    lm = get_lm(f"openai:m@{server.url}", cache=False)
    for _ in range(2):
        asyncio.run(Evaluator(task, lm).evaluate("Sort the words.", split="eval", limit=3))
    embedder = get_embedder(f"openai:e@{server.url}")
    asyncio.run(embedder.embed(["a", "b"]))

    async def closed_by_the_block():
        async with get_lm(f"openai:m@{server.url}", cache=False) as lm:
            await lm([{"role": "user", "content": "hi"}])
        return lm

    closed = asyncio.run(closed_by_the_block())
    assert closed.client._client is None
    gc.collect()
print("clean")
'''


def test_models_leave_no_unclosed_session_behind(tmp_path):
    """The Python API with a local model ended in aiohttp "Unclosed client session" warnings."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GPO_HOME": str(tmp_path), "OPENAI_API_KEY": "x", "PYTHONDEVMODE": "1"}
    done = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", CLOSING], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "clean"
    assert "Unclosed" not in done.stderr and "unclosed" not in done.stderr, done.stderr[-3000:]
    assert "Exception ignored" not in done.stderr, done.stderr[-3000:]
