"""Framework overhead: wall time against an ideal latency-bound server, and CPU per example.

1. The project's OpenAI-compatible test server answers every request after a fixed delay on
   127.0.0.1. The evaluator scores N examples at concurrency C through the real ``openai``
   SDK path with the response cache, retries, rate limiter and usage ledger switched on. The
   ideal wall time is ``N × delay / C``; the script prints ideal / measured (1.0 is perfect).
2. The same evaluation with an in-process fake model: the framework's CPU time per example.

Example:

    python benchmarks/overhead.py --requests 2000 --concurrency 64 --delay 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from gpo.evaluate import Evaluator
from gpo.lm import FakeLM, ResponseCache, get_lm
from gpo.tasks.base import Example, Task
from gpo.testing.server import OpenAICompatServer


def make_task(n: int) -> Task:
    examples = [Example(f"Question {i}: which option is right?\n(A) one\n(B) two", "(A)") for i in range(n)]
    return Task("bench/overhead", {"eval": examples}, "multiple_choice")


async def through_server(n: int, concurrency: int, delay: float) -> float:
    task = make_task(n)
    with tempfile.TemporaryDirectory() as tmp, OpenAICompatServer(delay=delay) as server:
        lm = get_lm(
            f"openai:bench@{server.url}",
            cache=ResponseCache(os.path.join(tmp, "cache.db")),
            concurrency=concurrency,
            rpm=10_000_000,  # the limiter is on, but not the bottleneck
        )
        ev = Evaluator(task, lm, two_round=False, concurrency=concurrency)
        started = time.perf_counter()
        await ev.evaluate("Answer with the letter.", task.split("eval"))
        wall = time.perf_counter() - started
        await lm.aclose()
    return wall


async def fake_cpu(n: int) -> float:
    task = make_task(n)
    ev = Evaluator(task, FakeLM(concurrency=64), two_round=True, concurrency=64)
    started = time.process_time()
    await ev.evaluate("Answer with the letter.", task.split("eval"))
    return (time.process_time() - started) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--delay", type=float, default=0.05)
    args = p.parse_args()
    wall = asyncio.run(through_server(args.requests, args.concurrency, args.delay))
    ideal = args.requests * args.delay / args.concurrency
    cpu = asyncio.run(fake_cpu(1000))
    print(f"fake model: {cpu * 1000:.2f} ms of CPU per example (two rounds, cache off)")
    print(f"latency server: {args.requests} requests at concurrency {args.concurrency}, {args.delay * 1000:.0f} ms each: "
          f"{wall:.2f} s measured, {ideal:.2f} s ideal")
    print(f"overhead ratio (ideal / measured, target >= 0.9): {ideal / wall:.3f}")


if __name__ == "__main__":
    main()
