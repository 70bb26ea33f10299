"""The model layer against a server that fails: faults, time-outs, capped n, token counts."""

import asyncio
import logging

import time

import pytest

from gpo.errors import ConfigError, LMBadRequestError, LMConnectionError, LMServerError
from gpo.lm import RetryPolicy, ScriptedLM, get_lm
from gpo.lm.limits import resolve_timeout
from gpo.testing.server import OpenAICompatServer

PATIENT = RetryPolicy(max_attempts=12, base_delay=0.001, max_delay=0.01)


@pytest.fixture(autouse=True)
def _forget_learned_caps():
    """Caps on n are learned per endpoint for the process; a freed port may come back."""
    from gpo.lm.ncap import forget_caps

    forget_caps()
    yield
    forget_caps()


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
async def test_a_batch_through_faults_matches_a_clean_server_and_counts_every_request(rate, caplog):
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
    # Each kind of failure is shown once; the rest are counted, not printed.
    shown = [r for r in caplog.records if r.levelno >= logging.WARNING and r.getMessage().startswith("retrying")]
    assert 0 < len(shown) <= 8 < sum(dealt.values()), [r.getMessage() for r in shown]
    assert all("retries after the same failure are counted in the usage" in r.getMessage() for r in shown)


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


def test_retries_come_from_the_policy_then_gpo_retries(monkeypatch, capsys):
    assert get_lm("fake:").retry.max_attempts == 9  # 8 retries unless told otherwise
    monkeypatch.setenv("GPO_RETRIES", "2")
    assert get_lm("fake:").retry.max_attempts == 3
    assert get_lm("fake:", retry=RetryPolicy(max_attempts=1)).retry.max_attempts == 1
    for bad, fragment in (("many", "GPO_RETRIES='many' is not a whole number"), ("101", "GPO_RETRIES must be from 0 to 100")):
        monkeypatch.setenv("GPO_RETRIES", bad)
        with pytest.raises(ConfigError, match=fragment):
            get_lm("fake:")
    monkeypatch.delenv("GPO_RETRIES")
    from test_cli import run

    for command in ("optimize", "evaluate", "resume"):  # one option, the same words everywhere
        assert "--retries" in run(capsys, command, "--help")[1]


async def test_a_time_out_names_the_endpoint_and_how_to_allow_more():
    # A server that has answered before is retried after a time-out...
    with OpenAICompatServer(statuses=[200, "hang", "hang"], hang_s=30) as server:
        url = server.url
        lm = get_lm(f"openai:m@{url}", cache=False, timeout=0.3, retry=RetryPolicy(2, 0.001, 0.002))
        await lm([{"role": "user", "content": "first"}])
        with pytest.raises(LMConnectionError) as info:
            await lm([{"role": "user", "content": "hi"}])
        await lm.aclose()
    text = str(info.value)
    assert f"{url} did not answer within 0.3 s (gave up after 2 attempts)" in text
    assert "--timeout" in text and "GPO_TIMEOUT" in text
    assert lm.ledger.summary()["task"]["failed_requests"] == 2


async def test_a_server_that_never_answered_fails_after_one_time_out():
    with OpenAICompatServer(statuses=["hang"] * 3, hang_s=30) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False, timeout=0.3, retry=RetryPolicy(9, 0.001, 0.002))
        started = time.perf_counter()
        with pytest.raises(LMConnectionError, match=r"did not answer within 0\.3 s") as info:
            await lm([{"role": "user", "content": "hi"}])
        waited = time.perf_counter() - started
        await lm.aclose()
        seen = len(server.requests)
    assert seen == 1 and waited < 2.0 and "gave up" not in str(info.value)


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


async def test_a_refused_connection_gives_up_after_three_attempts_whatever_the_retries():
    """With 8 retries by default, a wrong port would otherwise take most of a minute to say so."""
    import time

    with OpenAICompatServer() as server:
        url = server.url
    lm = get_lm(f"openai:m@{url}", cache=False)
    started = time.monotonic()
    with pytest.raises(LMConnectionError, match=r"nothing is listening there \(gave up after 3 attempts\)"):
        await lm([{"role": "user", "content": "hi"}])
    await lm.aclose()
    assert time.monotonic() - started < 5
    assert lm.ledger.summary()["task"]["failed_requests"] == 3


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


def capped_server(slots: int, message: str) -> OpenAICompatServer:
    """A server that rejects n above ``slots`` with HTTP 400 and ``message``, as llama.cpp does."""
    from gpo.testing.server import _HTTPError, default_reply

    def responder(body):
        if body.get("n", 1) > slots:
            raise _HTTPError(400, message.format(slots=slots, n=body["n"]))
        return [default_reply(body, i) for i in range(body.get("n", 1))]

    return OpenAICompatServer(responder=responder)


async def test_n_above_the_servers_cap_is_split_and_the_cap_remembered(caplog):
    caplog.set_level(logging.WARNING, logger="gpo.lm")
    msg = [{"role": "user", "content": "Write a prompt."}]
    with OpenAICompatServer() as reference:
        lm = get_lm(f"openai:m@{reference.url}", cache=False)
        lm.max_n = 2  # what a process that knew the cap does
        want = (await lm(msg, n=5, temperature=1.0, seed=3)).texts
        await lm.aclose()
    with capped_server(2, "Value must be between 1 <= value <= {slots}, but got {n}") as server:
        url = server.url
        lm = get_lm(f"openai:m@{url}", cache=False)
        first = await lm(msg, n=5, temperature=1.0, seed=3)
        sent = [(r["json"]["n"], r["json"]["seed"]) for r in server.requests]
        again = await get_lm(f"openai:m@{server.url}", cache=False)(msg, n=4, temperature=1.0, seed=3)
        later = [(r["json"]["n"], r["json"]["seed"]) for r in server.requests[len(sent):]]
        await lm.aclose()
    assert first.texts == want and len(again.texts) == 4
    assert sent[0] == (5, 3) and sorted(sent[1:]) == [(1, 7), (2, 3), (2, 5)]
    assert sorted(later) == [(2, 3), (2, 5)]  # the cap is known: no rejected request
    assert (first.usage.calls, first.usage.failed_requests, first.usage.retries) == (3, 1, 0)
    warnings = [r.getMessage() for r in caplog.records if "samples per request" in r.getMessage()]
    assert warnings == [f"{url} accepts at most 2 samples per request; asking for more in several requests from now on"]


@pytest.mark.parametrize("message,first_n,expected_sizes", [
    ("Only one completion choice is allowed", 3, [1, 1, 1]),
    ("n_cmpl cannot be greater than the number of slots, please increase -np", 4, [2, 2]),
    ("Invalid 'n': integer above maximum value. Expected a value <= 2, but got 4 instead.", 4, [2, 2]),
])
async def test_other_wordings_of_an_n_cap_are_understood(message, first_n, expected_sizes):
    slots = min(expected_sizes)
    with capped_server(slots, message) as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False)
        out = await lm([{"role": "user", "content": "x"}], n=first_n, temperature=1.0)
        await lm.aclose()
    assert len(out.texts) == first_n
    assert sorted(r["json"]["n"] for r in server.requests[1:]) == sorted(expected_sizes)


async def test_other_bad_requests_are_not_split():
    with capped_server(0, "model 'm' not found") as server:
        lm = get_lm(f"openai:m@{server.url}", cache=False)
        with pytest.raises(LMBadRequestError, match="not found"):
            await lm([{"role": "user", "content": "x"}], n=4, temperature=1.0)
        await lm.aclose()
    assert len(server.requests) == 1


class LlamaLikeServer(OpenAICompatServer):
    """Answers n > 1 as llama.cpp's server does: the first sample's usage and timings."""

    def _chat_completion(self, body):
        answer = super()._chat_completion(body)
        first = len(answer["choices"][0]["message"]["content"].split())
        answer["usage"]["completion_tokens"] = first
        answer["timings"] = {"prompt_n": answer["usage"]["prompt_tokens"], "predicted_n": first}
        return answer


async def test_output_tokens_of_n_samples_count_every_sample():
    def replies(body):  # sample i of a request has 10 * (i + 1) words of 5 characters
        return ["word " * (10 * (i + 1)) for i in range(body.get("n", 1))]

    for server_class, n_requests in ((OpenAICompatServer, 1), (LlamaLikeServer, 2)):
        with server_class(responder=replies) as server:
            lm = get_lm(f"openai:m@{server.url}", cache=False)
            if server_class is LlamaLikeServer:
                lm.max_n = 4  # as the local backend with 4 slots: 8 samples in 2 requests
            out = await lm([{"role": "user", "content": "x"}], n=8, temperature=1.0)
            await lm.aclose()
        assert len(server.requests) == n_requests
        expected = 10 * sum(range(1, 9)) if n_requests == 1 else 2 * 10 * sum(range(1, 5))
        assert out.usage.output_tokens == expected
        assert lm.ledger.summary()["task"]["output_tokens"] == expected

def test_parsed_output_tokens_of_llama_and_silent_servers():
    from gpo.lm.answers import parse_chat_completion
    from gpo.lm.types import Request

    words = ["x" * k for k in (40, 120, 80, 160)]
    first_only = {
        "choices": [
            {"index": i, "message": {"content": w}, "finish_reason": "stop"} for i, w in enumerate(words)
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 12},
        "timings": {"prompt_n": 7, "predicted_n": 12},
    }
    raw = parse_chat_completion(first_only, "x", Request(({"role": "user", "content": "x"},), n=4))
    # 12 tokens for the first 40 characters, so 36, 24 and 48 for the others.
    assert raw.output_tokens == 12 + 36 + 24 + 48
    first_only["choices"][3]["finish_reason"] = "length"  # stopped at max_tokens exactly
    capped = parse_chat_completion(first_only, "x", Request((), n=4, max_tokens=50))
    assert capped.output_tokens == 12 + 36 + 24 + 50
    # An empty first sample says nothing about the others' tokens per character.
    empty_first = dict(first_only, choices=[dict(c) for c in first_only["choices"]])
    empty_first["choices"][0]["message"] = {"content": ""}
    assert parse_chat_completion(empty_first, "x").output_tokens == 12 + 30 + 20 + 40
    # A server that reports no usage: about four characters per token, every choice.
    no_usage = parse_chat_completion({"choices": first_only["choices"]}, "x")
    assert no_usage.output_tokens == 10 + 30 + 20 + 40
    assert no_usage.input_tokens == 0
    with_request = parse_chat_completion(
        {"choices": first_only["choices"]}, "x", Request(({"role": "user", "content": "y" * 20},))
    )
    assert with_request.input_tokens == 5


async def test_scripted_backends_split_by_a_learned_cap_too():
    from gpo.errors import LMBadRequestError as Rejection

    lm = ScriptedLM([Rejection("'n' must be at most 2"), "a", "b", "c"])
    out = await lm([{"role": "user", "content": "x"}], n=3, temperature=1.0, seed=0)
    assert out.texts == ["a", "b", "c"]
    assert [(r.n, r.seed) for r in lm.history] == [(3, 0), (2, 0), (1, 2)]


async def test_a_local_servers_start_up_is_not_part_of_a_requests_time(tmp_path, caplog):
    import time

    from gpo.lm.local import LocalLM

    caplog.set_level(logging.WARNING, logger="gpo.lm")
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF")
    with OpenAICompatServer() as server:

        class SlowStart:  # stands in for the llama.cpp process: 0.5 s to load the model
            url = None
            proc = None

            def start(self):
                time.sleep(0.5)
                self.url = server.url
                return self.url

            def stop(self):
                pass

        lm = LocalLM(str(weights), cache=False, timeout=0.4)  # slow after 0.2 s
        lm.server = SlowStart()
        out = await lm([{"role": "user", "content": "hi"}], affinity=5)
        await lm.aclose()
        body = server.requests[0]["json"]
    assert out.text.startswith("The answer is")
    assert body["cache_prompt"] is True and body["id_slot"] == 5 % 4
    assert not [r for r in caplog.records if "are slow" in r.getMessage()]


async def test_a_local_request_is_pinned_to_its_slot_only_while_that_slot_is_free(tmp_path):
    from gpo.lm.local import LocalLM, _pinned

    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF")
    with OpenAICompatServer(delay=0.3) as server:

        class Started:  # stands in for a running llama.cpp process with 4 slots
            url = server.url
            proc = None

            def start(self):
                return self.url

            def stop(self):
                pass

        lm = LocalLM(str(weights), cache=False)
        lm.server = Started()
        prompts = [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
        # 1 and 5 both map to slot 1: the second would wait for it while slot 3 idles.
        await asyncio.gather(lm(prompts[0], affinity=1), lm(prompts[1], affinity=5), lm(prompts[2], affinity=3))
        during = {r["json"]["messages"][0]["content"]: r["json"].get("id_slot") for r in server.requests}
        await lm(prompts[1], affinity=5, seed=1)  # slot 1 is free again
        after = server.requests[-1]["json"].get("id_slot")
        pinned_at_end = set(_pinned[lm.server])
        await lm.aclose()
    assert during["q0"] == 1 and during["q1"] is None and during["q2"] == 3
    assert after == 1 and pinned_at_end == set()
