"""The model layer against a server that fails: time-outs, refusals, dropped connections."""

import asyncio
import logging

import pytest

from gpo.errors import ConfigError, LMConnectionError
from gpo.lm import RetryPolicy, get_lm
from gpo.lm.limits import resolve_timeout
from gpo.testing.server import OpenAICompatServer


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
