"""Tests for gpo.testing.server.OpenAICompatServer, driven by the real openai SDK."""

from __future__ import annotations

import asyncio
import errno
import http.client
import json
import logging
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from gpo.testing.server import (
    EMBEDDING_DIM,
    OpenAICompatServer,
    count_words,
    default_reply,
    embed_text,
)

THREAD_NAME = "gpo-openai-compat-server"
MESSAGES = [
    {"role": "system", "content": "Answer the multiple-choice question."},
    {"role": "user", "content": "What is two plus two?"},
]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as running:
        yield running


def client_for(server: OpenAICompatServer, api_key: str = "x") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url, api_key=api_key, max_retries=0)


def raw_request(
    server: OpenAICompatServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request over stdlib http.client; returns status, headers, parsed JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(data)
    finally:
        conn.close()


def assert_openai_error(payload: Any) -> None:
    assert set(payload) == {"error"}
    error = payload["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert "code" in error


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


# --------------------------------------------------------------- chat


@pytest.mark.asyncio
async def test_chat_completion_with_n_returns_n_choices(server: OpenAICompatServer) -> None:
    async with client_for(server) as client:
        reply = await client.chat.completions.create(
            model="my-model", messages=MESSAGES, n=3, seed=7
        )

    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "my-model"
    assert isinstance(reply.created, int) and reply.created > 0
    assert [c.index for c in reply.choices] == [0, 1, 2]
    body = {"model": "my-model", "messages": MESSAGES, "n": 3, "seed": 7}
    for choice in reply.choices:
        assert choice.message.role == "assistant"
        assert choice.finish_reason == "stop"
        assert choice.message.content == default_reply(body, choice.index)
        assert choice.message.content.startswith("The answer is (")
    # Usage counts whitespace-separated words: 4 + 5 prompt words, 4 per reply.
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 9
    assert reply.usage.completion_tokens == 3 * 4
    assert reply.usage.total_tokens == 9 + 12


def test_default_reply_is_deterministic_and_depends_on_seed_and_index() -> None:
    body = {"messages": MESSAGES, "seed": 1}
    assert default_reply(body) == default_reply(json.loads(json.dumps(body)))
    by_seed = {default_reply({"messages": MESSAGES, "seed": s}) for s in range(40)}
    by_index = {default_reply(body, i) for i in range(40)}
    assert len(by_seed) > 1
    assert len(by_index) > 1
    assert by_seed <= {f"The answer is ({x})." for x in "ABCD"}


@pytest.mark.asyncio
async def test_same_request_gets_same_reply(server: OpenAICompatServer) -> None:
    async with client_for(server) as client:
        first = await client.chat.completions.create(model="m", messages=MESSAGES, seed=3)
        second = await client.chat.completions.create(model="m", messages=MESSAGES, seed=3)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.id != second.id


@pytest.mark.asyncio
async def test_max_tokens_truncates_words_with_length_finish() -> None:
    with OpenAICompatServer(responder=lambda body: "one two  three\nfour five") as server:
        async with client_for(server) as client:
            cut = await client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=2)
            fits = await client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=5)
            newer = await client.chat.completions.create(
                model="m", messages=MESSAGES, max_completion_tokens=3
            )

    assert cut.choices[0].message.content == "one two"
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None and cut.usage.completion_tokens == 2
    assert fits.choices[0].message.content == "one two  three\nfour five"
    assert fits.choices[0].finish_reason == "stop"
    assert fits.usage is not None and fits.usage.completion_tokens == 5
    assert newer.choices[0].message.content == "one two three"
    assert newer.choices[0].finish_reason == "length"


@pytest.mark.asyncio
async def test_responder_sees_body_and_may_return_one_text_per_choice() -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> list[str]:
        seen.append(body)
        return [f"reply {i} to {body['messages'][-1]['content']}" for i in range(body["n"])]

    with OpenAICompatServer(responder=responder) as server:
        async with client_for(server) as client:
            reply = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], n=2, temperature=0.5
            )

    assert [c.message.content for c in reply.choices] == ["reply 0 to hi", "reply 1 to hi"]
    assert len(seen) == 1
    assert seen[0]["temperature"] == 0.5


@pytest.mark.asyncio
async def test_responder_failures_become_500() -> None:
    def broken(body: dict[str, Any]) -> str:
        raise KeyError("boom")

    with OpenAICompatServer(responder=broken) as server:
        async with client_for(server) as client:
            with pytest.raises(openai.InternalServerError) as info:
                await client.chat.completions.create(model="m", messages=MESSAGES)
    assert "boom" in info.value.message

    with OpenAICompatServer(responder=lambda body: ["only one"]) as server:
        async with client_for(server) as client:
            with pytest.raises(openai.InternalServerError):
                await client.chat.completions.create(model="m", messages=MESSAGES, n=2)
            ok = await client.chat.completions.create(model="m", messages=MESSAGES, n=1)
    assert ok.choices[0].message.content == "only one"


@pytest.mark.asyncio
async def test_invalid_chat_parameters_are_400(server: OpenAICompatServer) -> None:
    async with client_for(server) as client:
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="m", messages=[])
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="m", messages=MESSAGES, n=0)
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)


# ------------------------------------------------------- statuses, auth


@pytest.mark.asyncio
async def test_scripted_429_then_success() -> None:
    with OpenAICompatServer(statuses=[429, 200]) as server:
        async with client_for(server) as client:
            with pytest.raises(openai.RateLimitError) as info:
                await client.chat.completions.create(model="m", messages=MESSAGES)
            reply = await client.chat.completions.create(model="m", messages=MESSAGES)

    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "0"
    assert_openai_error(info.value.response.json())
    assert reply.choices[0].message.content.startswith("The answer is (")
    assert len(server.requests) == 2


@pytest.mark.asyncio
async def test_status_script_runs_in_order_then_200_and_reset_rewinds_it() -> None:
    with OpenAICompatServer(statuses=[500, 503, 429]) as server:
        async with client_for(server) as client:

            async def run_script() -> None:
                with pytest.raises(openai.InternalServerError) as first:
                    await client.chat.completions.create(model="m", messages=MESSAGES)
                with pytest.raises(openai.InternalServerError) as second:
                    await client.embeddings.create(model="e", input="x")
                with pytest.raises(openai.RateLimitError):
                    await client.chat.completions.create(model="m", messages=MESSAGES)
                assert (first.value.status_code, second.value.status_code) == (500, 503)
                for _ in range(3):
                    await client.chat.completions.create(model="m", messages=MESSAGES)

            await run_script()
            assert len(server.requests) == 6
            server.reset()
            assert server.requests == []
            await run_script()


@pytest.mark.asyncio
async def test_sdk_retries_through_scripted_errors() -> None:
    with OpenAICompatServer(statuses=[429, 500]) as server:
        async with openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=2) as client:
            reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].finish_reason == "stop"
    assert len(server.requests) == 3


def raw_exchange(server: OpenAICompatServer, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """One chat request over http.client; returns status, headers and the raw body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_fault_script_sends_malformed_bodies_and_drops_connections() -> None:
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    with OpenAICompatServer(statuses=["truncate", "html", "drop", 500, 200]) as server:
        status, headers, cut = raw_exchange(server, body)
        assert status == 200 and headers["content-type"] == "application/json"
        assert int(headers["content-length"]) == len(cut)  # well framed, yet not JSON
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut)
        status, headers, page = raw_exchange(server, body)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert page.startswith(b"<html>")
        with pytest.raises(http.client.RemoteDisconnected):
            raw_exchange(server, body)
        assert raw_exchange(server, body)[0] == 500
        status, _, whole = raw_exchange(server, body)
        assert status == 200 and json.loads(whole)["choices"][0]["message"]["content"]
        # The cut body is the first half of the normal answer.
        assert cut.startswith(b"{\"id\":\"chatcmpl-") and len(cut) == len(whole) // 2
        assert len(server.requests) == 5
        assert server.faults.dealt == {"truncate": 1, "html": 1, "drop": 1, 500: 1}
        server.reset()
        assert server.faults.dealt == {} and raw_exchange(server, body)[0] == 200


def test_hang_waits_then_answers() -> None:
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    with OpenAICompatServer(statuses=["hang"], hang_s=0.3) as server:
        started = time.monotonic()
        status, _, answer = raw_exchange(server, body)
        assert time.monotonic() - started >= 0.3
        assert status == 200 and json.loads(answer)["choices"]


def test_seeded_faults_do_not_depend_on_arrival_order() -> None:
    from gpo.testing.faults import FaultPlan

    bodies = [f"request {i}".encode() for i in range(40)]

    def faults_per_body(order: list[bytes]) -> dict[bytes, list]:
        plan = FaultPlan(rate=0.5, mix=[429, "hang", "truncate"], seed=3)
        seen: dict[bytes, list] = {}
        for body in order:
            seen.setdefault(body, []).append(plan.next(body))
        return seen

    forward = faults_per_body(bodies * 3)
    backward = faults_per_body(list(reversed(bodies)) * 3)
    assert forward == backward
    drawn = [f for faults in forward.values() for f in faults]
    assert {429, "hang", "truncate"} <= set(drawn)
    assert 0.3 < sum(f is not None for f in drawn) / len(drawn) < 0.7
    other_seed = FaultPlan(rate=0.5, mix=[429, "hang", "truncate"], seed=4)
    assert [other_seed.next(b) for b in bodies] != [forward[b][0] for b in bodies]


def test_invalid_faults_are_rejected() -> None:
    with pytest.raises(ValueError, match="fault"):
        OpenAICompatServer(statuses=["explode"])
    with pytest.raises(ValueError, match="rate"):
        OpenAICompatServer(fault_rate=1.5)
    with pytest.raises(ValueError, match="hang_s"):
        OpenAICompatServer(hang_s=-1)


@pytest.mark.asyncio
async def test_wrong_or_missing_api_key_is_401() -> None:
    with OpenAICompatServer(api_key="secret", statuses=[429]) as server:
        async with client_for(server, api_key="wrong") as client:
            with pytest.raises(openai.AuthenticationError) as info:
                await client.chat.completions.create(model="m", messages=MESSAGES)
        assert info.value.status_code == 401
        assert_openai_error(info.value.response.json())
        assert info.value.response.json()["error"]["code"] == "invalid_api_key"

        status, _, payload = raw_request(server, "GET", "/v1/models")
        assert status == 401
        assert_openai_error(payload)

        # Rejected requests do not consume the status script.
        async with client_for(server, api_key="secret") as client:
            with pytest.raises(openai.RateLimitError):
                await client.chat.completions.create(model="m", messages=MESSAGES)
            reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices


# ----------------------------------------------------------- embeddings


@pytest.mark.asyncio
async def test_embeddings_shape_norm_and_determinism(server: OpenAICompatServer) -> None:
    texts = ["alpha", "beta gamma", "alpha"]
    async with client_for(server) as client:
        default = await client.embeddings.create(model="emb", input=texts)  # SDK asks for base64
        floats = await client.embeddings.create(
            model="emb", input=texts, encoding_format="float"
        )
        single = await client.embeddings.create(model="emb", input="beta gamma")

    assert server.requests[0]["json"]["encoding_format"] == "base64"
    assert [d.index for d in default.data] == [0, 1, 2]
    for response in (default, floats):
        vectors = [d.embedding for d in response.data]
        assert all(len(v) == EMBEDDING_DIM == 16 for v in vectors)
        assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-5) for v in vectors)
        assert vectors[0] == vectors[2] != vectors[1]
        assert vectors == [embed_text(t) for t in texts]
    assert default.usage.prompt_tokens == 4
    assert default.usage.total_tokens == 4
    assert default.model == "emb"
    assert len(single.data) == 1
    assert single.data[0].embedding == floats.data[1].embedding


@pytest.mark.asyncio
async def test_embeddings_honour_dimensions(server: OpenAICompatServer) -> None:
    async with client_for(server) as client:
        response = await client.embeddings.create(model="e", input=["a"], dimensions=40)
    vector = response.data[0].embedding
    assert len(vector) == 40
    assert math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-5)


# ------------------------------------------------------ models, routing


@pytest.mark.asyncio
async def test_models_list() -> None:
    with OpenAICompatServer(model_name="tiny") as server:
        async with client_for(server) as client:
            models = [m.id async for m in client.models.list()]
            reply = await client.chat.completions.create(model="", messages=MESSAGES)
    assert models == ["tiny"]
    assert reply.model == "tiny"


def test_unknown_paths_are_404_and_malformed_json_is_400(server: OpenAICompatServer) -> None:
    for method, path in [
        ("GET", "/v1/nope"),
        ("POST", "/v1/completions"),
        ("GET", "/v1/chat/completions"),
        ("GET", "/"),
    ]:
        status, headers, payload = raw_request(server, method, path)
        assert status == 404, (method, path)
        assert headers["content-type"] == "application/json"
        assert_openai_error(payload)

    status, _, payload = raw_request(
        server, "POST", "/v1/chat/completions", b'{"model": "m", "messages": [',
        {"content-type": "application/json"},
    )
    assert status == 400
    assert_openai_error(payload)
    assert payload["error"]["type"] == "invalid_request_error"

    status, _, payload = raw_request(server, "POST", "/v1/embeddings", b"[1, 2]")
    assert status == 400
    assert_openai_error(payload)

    assert server.requests[4]["json"] is None  # malformed JSON is recorded as None
    assert [r["path"] for r in server.requests][:2] == ["/v1/nope", "/v1/completions"]


def test_query_string_is_not_part_of_the_path(server: OpenAICompatServer) -> None:
    status, _, payload = raw_request(server, "GET", "/v1/models?limit=3")
    assert status == 200
    assert payload["object"] == "list"
    assert server.requests[0]["path"] == "/v1/models"


# ---------------------------------------------------- recording, delay


@pytest.mark.asyncio
async def test_requests_record_path_headers_and_body(server: OpenAICompatServer) -> None:
    async with client_for(server, api_key="sk-test") as client:
        await client.chat.completions.create(model="m", messages=MESSAGES, n=2, max_tokens=9)
        await client.embeddings.create(model="e", input="x", encoding_format="float")

    chat, emb = server.requests
    assert chat["method"] == "POST"
    assert chat["path"] == "/v1/chat/completions"
    assert chat["headers"]["authorization"] == "Bearer sk-test"
    assert chat["headers"]["content-type"] == "application/json"
    assert all(name == name.lower() for name in chat["headers"])
    assert chat["json"] == {"model": "m", "messages": MESSAGES, "n": 2, "max_tokens": 9}
    assert emb["path"] == "/v1/embeddings"
    assert emb["json"]["input"] == "x"

    # The returned list is a copy; reset() clears the record.
    server.requests.clear()
    assert len(server.requests) == 2
    server.reset()
    assert server.requests == []


@pytest.mark.asyncio
async def test_delay_overlaps_across_concurrent_requests() -> None:
    with OpenAICompatServer(delay=0.2) as server:
        async with client_for(server) as client:
            start = time.perf_counter()
            replies = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": f"q{i}"}]
                    )
                    for i in range(32)
                )
            )
            elapsed = time.perf_counter() - start
    assert len(replies) == 32
    assert len(server.requests) == 32
    # Serially this takes 32 * 0.2 = 6.4 s; overlapping delays finish in a fraction of it.
    assert 0.2 <= elapsed < 3.2, elapsed


@pytest.mark.asyncio
async def test_sustains_64_keep_alive_connections() -> None:
    """64 raw keep-alive connections x 10 requests with a 50 ms delay each."""
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
    )

    async def worker(port: int) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        for _ in range(10):
            writer.write(head + body)
            response_head = await reader.readuntil(b"\r\n\r\n")
            lines = response_head.decode().split("\r\n")
            assert lines[0] == "HTTP/1.1 200 OK"
            length = next(
                int(line.split(":")[1])
                for line in lines
                if line.lower().startswith("content-length")
            )
            payload = json.loads(await reader.readexactly(length))
            assert payload["object"] == "chat.completion"
            done += 1
        writer.close()
        await writer.wait_closed()
        return done

    with OpenAICompatServer(delay=0.05) as server:
        start = time.perf_counter()
        counts = await asyncio.gather(*(worker(server.port) for _ in range(64)))
        elapsed = time.perf_counter() - start
    assert sum(counts) == 640
    # Ideal is 10 * 0.05 = 0.5 s; serial would be 32 s.
    assert elapsed < 8.0, elapsed


def test_keep_alive_reuses_one_connection(server: OpenAICompatServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.connect()
        first_socket = conn.sock
        for _ in range(3):
            conn.request("GET", "/v1/models")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("connection") == "keep-alive"
            json.loads(response.read())
            assert conn.sock is first_socket
    finally:
        conn.close()


def test_connection_close_is_honoured(server: OpenAICompatServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["data"][0]["id"] == "gpo-test-model"


def test_chunked_request_body_is_read(server: OpenAICompatServer) -> None:
    body = json.dumps({"model": "m", "input": ["a", "b"], "encoding_format": "float"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n"
            b"connection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert len(json.loads(data.partition(b"\r\n\r\n")[2])["data"]) == 2


def test_client_disconnects_are_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    hook_calls: list[Any] = []
    previous_hook = threading.excepthook
    threading.excepthook = hook_calls.append
    try:
        with OpenAICompatServer(delay=0.2) as server:
            # Hang up halfway through the headers, halfway through the body,
            # and while the server is waiting to answer.
            for payload in (
                b"POST /v1/chat/completions HTTP/1.1\r\nhost:",
                b"POST /v1/embeddings HTTP/1.1\r\ncontent-length: 100\r\n\r\n{\"in",
                b"GET /v1/models HTTP/1.1\r\nhost: t\r\n\r\n",
            ):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.sendall(payload)
                # Linger on, timeout 0: close() sends a reset, not a FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            time.sleep(0.4)  # let the delayed answer hit the closed socket
            status, _, payload_json = raw_request(server, "GET", "/v1/models")
            assert status == 200
            assert payload_json["object"] == "list"
    finally:
        threading.excepthook = previous_hook
    assert hook_calls == []
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]


# ---------------------------------------------------------- lifecycle


def test_stop_frees_port_and_ends_thread() -> None:
    before = server_threads()
    server = OpenAICompatServer()
    server.start()
    assert server.running
    port = server.port
    assert server.url == f"http://127.0.0.1:{port}/v1"
    threads = [t for t in server_threads() if t not in before]
    assert len(threads) == 1 and threads[0].daemon
    # Leave an idle keep-alive connection open: stop() must not wait for it.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/v1/models")
    conn.getresponse().read()

    start = time.perf_counter()
    server.stop()
    assert time.perf_counter() - start < 2.0
    assert not threads[0].is_alive()
    assert not server.running
    with pytest.raises(RuntimeError):
        _ = server.url
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # the port is free again
    conn.close()
    server.stop()  # a second stop is a no-op


def test_context_manager_restart_and_validation() -> None:
    server = OpenAICompatServer()
    with server as running:
        assert running is server
        assert raw_request(server, "GET", "/v1/models")[0] == 200
        with pytest.raises(RuntimeError):
            server.start()
    assert not server.running
    with server:  # it can be started again
        assert raw_request(server, "GET", "/v1/models")[0] == 200

    with pytest.raises(ValueError):
        OpenAICompatServer(delay=-1)
    with pytest.raises(ValueError):
        OpenAICompatServer(statuses=[42])


def test_fixed_port_in_use_raises() -> None:
    with OpenAICompatServer() as first:
        with pytest.raises(OSError) as info:
            OpenAICompatServer(port=first.port).start()
    assert info.value.errno == errno.EADDRINUSE
    assert len([t for t in server_threads() if t.is_alive()]) == 0


def test_count_words() -> None:
    assert count_words("  a b\tc\n d ") == 4
    assert count_words("") == 0


# ------------------------------------------------------------------ CLI


def test_cli_serves_until_interrupted() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpo.testing.server", "--port", "0", "--delay", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with urllib.request.urlopen(url + "/models", timeout=5) as response:
            assert json.load(response)["data"][0]["id"] == "gpo-test-model"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert err == ""
    assert out == ""


def test_cli_reads_faults_and_rejects_unknown_ones(capsys: pytest.CaptureFixture[str]) -> None:
    from gpo.testing.faults import parse_faults
    from gpo.testing.server import main

    assert parse_faults("429, hang,truncate,html,drop,200") == [429, "hang", "truncate", "html", "drop", 200]
    assert main(["--port", "0", "--statuses", "429,explode"]) == 2
    assert "explode" in capsys.readouterr().err
