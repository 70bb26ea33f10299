"""Framework overhead: wall time against an ideal latency-bound server, and CPU per example.

1. The project's OpenAI-compatible test server (``python -m gpo.testing.server``) runs in
   its own process and answers every request after a fixed delay on 127.0.0.1. The
   evaluator, built as a run builds it, scores N examples with the model's concurrency
   C (requests in flight) through the real ``openai`` SDK path with
   everything a run switches on: the run's response record as cache, retries, the rate
   limiter, the usage ledger appending to ``usage.jsonl``, and a budget. The ideal wall
   time is ``N × delay / C``.
2. For scale, the same N requests from bare clients in the same run: aiohttp alone (the
   least a Python client can spend), and the ``openai`` SDK alone (no cache, ledger or
   evaluator) both through its usual ``chat.completions.create`` and through the generic
   ``client.post`` that gpo uses. Where those fall short of 1.0 too, the client's CPU is
   the limit: every request costs CPU in the client and the server, and 64 requests per
   50 ms is 1,280 requests per second.
3. The same evaluation with an in-process fake model: the framework's CPU time per example.

Each client first sends one request so that imports and connection set-up are not timed.
On a shared 2-core machine one timing is noisy, so the evaluator and the bare SDK client
(``client.post``, the call gpo makes) take turns for ``--rounds`` rounds; the last line is
the median over the rounds of the evaluator's throughput over the bare client's in the
same round (1.0: the framework costs nothing).

Example:

    python benchmarks/overhead.py --requests 2000 --concurrency 64 --delay 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time

from gpo.evaluate import Evaluator
from gpo.lm import FakeLM, get_lm
from gpo.runs.build import make_evaluator
from gpo.tasks.base import Example, Task


def make_task(n: int) -> Task:
    examples = [Example(f"Question {i}: which option is right?\n(A) one\n(B) two", "(A)") for i in range(n)]
    return Task("bench/overhead", {"eval": examples}, "multiple_choice")


def body(i: int) -> dict:
    return {
        "model": "bench",
        "messages": [{"role": "user", "content": f"Question {i}: which option is right?\n(A) one\n(B) two\nAnswer with the letter."}],
        "n": 1,
        "temperature": 0.0,
        "max_tokens": 256,
        "seed": 0,
    }


async def timed(one, n: int, concurrency: int) -> tuple[float, float]:
    """Wall and CPU seconds (this process, every thread) of n calls of ``one``."""
    gate = asyncio.Semaphore(concurrency)

    async def limited(i: int) -> None:
        async with gate:
            await one(i)

    await one(-1)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(limited(i) for i in range(n)))
    return time.perf_counter() - started, time.process_time() - cpu


async def bare_aiohttp(url: str, n: int, concurrency: int) -> tuple[float, float]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(i: int) -> None:
            async with session.post(f"{url}/chat/completions", json=body(i)) as resp:
                data = await resp.json()
                assert data["choices"][0]["message"]["content"]

        return await timed(one, n, concurrency)


async def bare_sdk(url: str, n: int, concurrency: int, typed: bool = True) -> tuple[float, float]:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0, http_client=openai.DefaultAioHttpClient())

    async def one(i: int) -> None:
        if typed:  # the usual call
            reply = await client.chat.completions.create(**body(i))
            assert reply.choices[0].message.content
        else:  # the call gpo makes: the SDK's generic POST, JSON in and out
            data = await client.post("/chat/completions", body=body(i), cast_to=object)
            assert data["choices"][0]["message"]["content"]

    try:
        return await timed(one, n, concurrency)
    finally:
        await client.close()


async def through_gpo(url: str, n: int, concurrency: int) -> tuple[float, float]:
    from gpo.lm.budget import Budget
    from gpo.runs import RunDir
    from gpo.runs.session import RunSession

    task = make_task(n)
    with tempfile.TemporaryDirectory() as tmp:
        budget = Budget.from_options(max_calls=10 * n, max_tokens=10**12)  # on, never reached
        session = RunSession(RunDir(tmp), budget=budget, shared_cache=False)
        lm = get_lm(
            f"openai:bench@{url}",
            cache=session.cache(),  # the run's record: every answer is written before it counts
            ledger=session.ledger,  # usage.jsonl, a line per call
            budget=budget,
            concurrency=concurrency,
            rpm=10_000_000,  # the limiter is on, but not the bottleneck
        )
        ev = make_evaluator(task, lm, two_round=False, answer_tokens=256)  # as a run builds it
        await lm([{"role": "user", "content": "warm up"}])
        started, cpu = time.perf_counter(), time.process_time()
        result = await ev.evaluate("Answer with the letter.", task.split("eval"))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert lm.ledger.summary()["task"]["calls"] == n + 1, "every example was sent"
        await lm.aclose()
        session.close()
    del result
    return wall, cpu


async def fake_cpu(n: int) -> float:
    task = make_task(n)
    ev = Evaluator(task, FakeLM(concurrency=64), two_round=True, concurrency=64)
    started = time.process_time()
    await ev.evaluate("Answer with the letter.", task.split("eval"))
    return (time.process_time() - started) / n


class Server:
    """The latency server in a child process (so it does not share the client's GIL)."""

    def __init__(self, delay: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gpo.testing.server", "--port", "0", "--delay", str(delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = (self.proc.stdout.readline() if self.proc.stdout else "").strip()
        if not self.url:
            self.close()
            raise SystemExit("the latency server did not start")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--delay", type=float, default=0.05)
    p.add_argument("--rounds", type=int, default=5, help="turns of the evaluator and the bare SDK client")
    args = p.parse_args()
    n, c, d = args.requests, args.concurrency, args.delay
    ideal = n * d / c
    cpu = asyncio.run(fake_cpu(1000))
    print(f"fake model: {cpu * 1000:.2f} ms of CPU per example (two rounds, cache off)")
    server = Server(d)
    gpo_name, post_name = "gpo evaluator (SDK, record, retries, limiter, ledger, budget)", "bare openai SDK, client.post (as gpo sends)"
    try:
        walls = {
            "bare aiohttp client": asyncio.run(bare_aiohttp(server.url, n, c)),
            "bare openai SDK, chat.completions.create": asyncio.run(bare_sdk(server.url, n, c)),
        }
        rounds = []
        for r in range(args.rounds):  # turns in ABBA order, so that a drift of the load favours neither
            if r % 2 == 0:
                post = asyncio.run(bare_sdk(server.url, n, c, typed=False))
                ours = asyncio.run(through_gpo(server.url, n, c))
            else:
                ours = asyncio.run(through_gpo(server.url, n, c))
                post = asyncio.run(bare_sdk(server.url, n, c, typed=False))
            rounds.append((post, ours))
    finally:
        server.close()
    walls = {k: v[0] for k, v in walls.items()}
    walls[post_name] = statistics.median(post[0] for post, _ in rounds)
    walls[gpo_name] = statistics.median(ours[0] for _, ours in rounds)
    print(f"latency server: {n} requests at concurrency {c}, {d * 1000:.0f} ms each; ideal {ideal:.2f} s (median walls)")
    for name, wall in walls.items():
        print(f"  {name:62s} {wall:6.2f} s  ideal/measured {ideal / wall:.3f}  ({n / wall:.0f} requests/s)")
    cpu_post = statistics.median(post[1] for post, _ in rounds) / n * 1000
    cpu_gpo = statistics.median(ours[1] for _, ours in rounds) / n * 1000
    print(f"client CPU per request (median): bare SDK {cpu_post:.3f} ms, gpo evaluator {cpu_gpo:.3f} ms "
          f"(the framework's own: {cpu_gpo - cpu_post:+.3f} ms)")
    ratios = [post[0] / ours[0] for post, ours in rounds]
    print(f"overhead ratio (ideal / measured evaluator): {ideal / walls[gpo_name]:.3f}")
    print("evaluator / bare SDK throughput by round: " + ", ".join(f"{r:.3f}" for r in ratios))
    print(f"evaluator throughput / bare openai SDK client's, same requests, same run (median of {len(ratios)} rounds, "
          f"target >= 0.9): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
