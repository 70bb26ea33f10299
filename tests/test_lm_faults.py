"""The model layer against a server that fails: faults, time-outs, refusals, dropped connections."""

import asyncio
import logging

import pytest

from gpo.errors import ConfigError, LMConnectionError, LMServerError
from gpo.lm import RetryPolicy, get_lm
from gpo.lm.limits import resolve_timeout
from gpo.testing.server import OpenAICompatServer

PATIENT = RetryPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01)


def batch() -> list[tuple[list[dict], int, float]]:
    """24 calls: greedy single answers and sampled groups of three."""
    calls = []
    for i in range(24):
        messages = [{"role": "user", "content": f"Question {i}: is {i} even?"}]
        calls.append((messages, 3, 1.0) if i % 4 == 0 else (messages, 1, 0.0))
    return calls


async def run_batch(server: OpenAICompatServer, timeout: float) -> tuple[list[list[str]], dict]:
    lm = get_lm(f"openai:m@{server.url}", cache=False, retry=PATIENT, timeout=timeout, concurrency=8)
    try:
        outs = await asyncio.gather(
            *(lm(m, n=n, temperature=t, seed=5, max_tokens=16) for m, n, t in batch())
        )
    finally:
        await lm.aclose()
    return [o.texts for o in outs], lm.ledger.summary()["task"]


@pytest.mark.parametrize("rate", [0.2, 0.5])
async def test_a_batch_through_faults_matches_a_clean_server_and_counts_every_request(rate):
    with OpenAICompatServer() as clean:
        expected, clean_usage = await run_batch(clean, timeout=1.0)
    assert clean_usage["requests"] == 24 and clean_usage["failed_requests"] == 0
    mix = (429, 500, "hang", "truncate", "html", "drop")
    with OpenAICompatServer(fault_rate=rate, faults=mix, fault_seed=11, hang_s=30) as faulty:
        texts, usage = await run_batch(faulty, timeout=1.0)
        seen, dealt = len(faulty.requests), faulty.faults.dealt
    assert texts == expected
    # Every request the server saw is on the ledger: answered or failed.
    assert usage["requests"] == 24
    assert usage["requests"] + usage["failed_requests"] == seen
    assert usage["failed_requests"] == sum(dealt.values()) == usage["retries"]
    assert usage["samples"] == clean_usage["samples"] == 6 * 3 + 18
    assert usage["output_tokens"] == clean_usage["output_tokens"]
    # The draw did hit the batch with several of the faults it names, at about the rate asked.
    assert len(dealt) >= 3 and set(dealt) <= set(mix)
    assert 0.5 * rate < sum(dealt.values()) / seen < 2 * rate


async def test_a_malformed_answer_that_persists_ends_in_a_server_error():
    with OpenAICompatServer(statuses=["truncate"] * 3) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=RetryPolicy(3, 0.001, 0.002))
        with pytest.raises(LMServerError, match=r"malformed answer .*gave up after 3 attempts"):
            await lm([{"role": "user", "content": "hi"}])
        await lm.aclose()
    usage = lm.ledger.summary()["task"]
    assert (usage["requests"], usage["failed_requests"], usage["retries"]) == (0, 3, 2)
    assert len(server.requests) == 3


def test_timeout_comes_from_the_argument_then_gpo_timeout(monkeypatch):
    monkeypatch.delenv("GPO_TIMEOUT", raising=False)
    assert get_lm("openai:m@http://127.0.0.1:9/v1").timeout == 600.0
    monkeypatch.setenv("GPO_TIMEOUT", "45")
    lm = get_lm("openai:m@http://127.0.0.1:9/v1")
    assert lm.timeout == 45.0 and lm.client.timeout == 45.0
    assert get_lm("openai:m@http://127.0.0.1:9/v1", timeout=7).client.timeout == 7.0
    monkeypatch.setenv("GPO_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="GPO_TIMEOUT='soon' is not a number"):
        get_lm("openai:m@http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="positive"):
        resolve_timeout(0)


async def test_a_time_out_names_the_endpoint_and_how_to_allow_more():
    with OpenAICompatServer(statuses=["hang"] * 2, hang_s=30) as server:
        url = server.url
        lm = get_lm(f"openai:m@{url}", cache=False, timeout=0.3, retry=RetryPolicy(2, 0.001, 0.002))
        with pytest.raises(LMConnectionError) as info:
            await lm([{"role": "user", "content": "hi"}])
        await lm.aclose()
    text = str(info.value)
    assert f"{url} did not answer within 0.3 s (gave up after 2 attempts)" in text
    assert "--timeout" in text and "GPO_TIMEOUT" in text
    assert lm.ledger.summary()["task"]["failed_requests"] == 2


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_refused_connection_reads_as_refused_not_as_a_time_out(monkeypatch, transport):
    if transport == "httpx":
        monkeypatch.setenv("GPO_HTTP_TRANSPORT", "httpx")
    with OpenAICompatServer() as server:
        url = server.url  # a port that was just freed: nothing listens there now
    lm = get_lm(f"openai:m@{url}", cache=False, retry=RetryPolicy(1))
    with pytest.raises(LMConnectionError) as info:
        await lm([{"role": "user", "content": "hi"}])
    await lm.aclose()
    text = str(info.value)
    assert f"cannot reach {url}" in text and "nothing is listening" in text
    assert "time" not in text


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_dropped_connection_reads_as_lost(monkeypatch, transport):
    if transport == "httpx":
        monkeypatch.setenv("GPO_HTTP_TRANSPORT", "httpx")
    with OpenAICompatServer(statuses=["drop"]) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, retry=RetryPolicy(1))
        with pytest.raises(LMConnectionError, match=f"lost the connection to {server.url}"):
            await lm([{"role": "user", "content": "hi"}])
        await lm.aclose()


async def test_slow_requests_log_one_warning_per_endpoint(caplog):
    caplog.set_level(logging.WARNING, logger="gpo.lm")
    with OpenAICompatServer(delay=0.35) as server:
        url = server.url
        lm = get_lm(f"openai:m@{url}", cache=False, timeout=0.6, concurrency=4)
        await asyncio.gather(*(lm([{"role": "user", "content": f"q{i}"}]) for i in range(6)))
        fast = get_lm(f"openai:m@{url}", cache=False, timeout=10)
        await fast([{"role": "user", "content": "quick"}])
        await lm.aclose()
        await fast.aclose()
    slow = [r for r in caplog.records if "are slow" in r.getMessage()]
    assert len(slow) == 1
    assert slow[0].levelno == logging.WARNING and slow[0].name == "gpo.lm.base"
    assert slow[0].getMessage() == (
        f"requests to {url} are slow: one has waited 0.3 s for an answer; each may take "
        "up to 0.6 s before it fails (set with --timeout or GPO_TIMEOUT)"
    )
