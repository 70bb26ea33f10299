"""How cost grows: step time and memory against trajectory length, evaluation time against
the number of examples and the concurrency.

1. GPO (relevance retrieval, k = 3) runs 1,000 steps with the in-process fake model, writing
   its run directory and checkpoint after every step as a real run does. Step time and the
   process's resident memory are sampled along the way.
2. The evaluator scores N examples against the project's latency server (its own process,
   20 ms per request) for several N at a fixed concurrency, and for several concurrencies
   at a fixed N.

Growth is summarized as log-log slopes (1.0 = linear). The last line is the worst slope
among step time and memory against history length, and evaluation time against examples.

Example:

    python benchmarks/growth.py --steps 1000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time

from gpo.evaluate import Evaluator
from gpo.lm import ResponseCache, get_lm
from gpo.tasks.base import Example, Task


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


async def long_run(steps: int, embedder: str) -> tuple[list[float], list[float]]:
    import gpo

    stamps: list[float] = []
    memory: list[float] = []

    def on_event(event: dict) -> None:
        if event.get("type") in ("initial", "step"):
            stamps.append(time.perf_counter())
            memory.append(rss_mb())

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GPO_HOME"] = os.path.join(tmp, "home")
        await gpo.optimize_async(
            "synthetic/boolean_expressions", "gpo", model="fake:", steps=steps, num_candidates=4,
            eval_limit=8, test_limit=8, embedder=embedder, run_dir=os.path.join(tmp, "run"), on_event=on_event,
        )
    step_times = [b - a for a, b in zip(stamps, stamps[1:])]
    return step_times, memory[1:]


def window(values: list[float], end: int, size: int) -> float:
    part = values[max(0, end - size) : end]
    return sum(part) / len(part)


async def evaluate_wall(url: str, n: int, concurrency: int) -> float:
    task = Task("bench/growth", {"eval": [Example(f"Question {i}?\n(A) yes\n(B) no", "(A)") for i in range(n)]}, "multiple_choice")
    with tempfile.TemporaryDirectory() as tmp:
        lm = get_lm(f"openai:bench@{url}", cache=ResponseCache(os.path.join(tmp, "c.db")), concurrency=concurrency)
        await lm([{"role": "user", "content": "warm up"}])
        ev = Evaluator(task, lm, two_round=False, concurrency=concurrency)
        started = time.perf_counter()
        await ev.evaluate("Answer with the letter.", task.split("eval"))
        wall = time.perf_counter() - started
        await lm.aclose()
    return wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--embedder", default="lexical", help="embedder for relevance retrieval (default: %(default)s)")
    p.add_argument("--delay", type=float, default=0.02)
    args = p.parse_args()

    times, memory = asyncio.run(long_run(args.steps, args.embedder))
    marks = sorted({m for m in (args.steps // 10, args.steps // 4, args.steps // 2, args.steps) if m >= 10})
    size = max(5, args.steps // 20)
    print(f"GPO, relevance retrieval ({args.embedder}), fake model, {args.steps} steps, run directory written every step")
    print("  history length   step time (ms, mean of the last %d)   resident memory (MB)" % size)
    step_ms, mem = [], []
    for m in marks:
        step_ms.append(window(times, m, size) * 1000)
        mem.append(memory[m - 1])
        print(f"  {m:14d}   {step_ms[-1]:37.1f}   {mem[-1]:19.1f}")
    s_time, s_mem = slope(marks, step_ms), slope(marks, [x - memory[0] + 1 for x in mem])
    print(f"  slope of step time vs history: {s_time:.2f}; of memory growth vs history: {s_mem:.2f}")

    server = subprocess.Popen([sys.executable, "-m", "gpo.testing.server", "--port", "0", "--delay", str(args.delay)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        sizes = [100, 200, 400, 800]
        walls = [asyncio.run(evaluate_wall(url, n, 16)) for n in sizes]
        print(f"evaluation against a {args.delay * 1000:.0f} ms server, concurrency 16:")
        for n, w in zip(sizes, walls):
            print(f"  {n:4d} examples  {w:6.2f} s  ({w / n * 1000:.1f} ms per example; ideal {args.delay / 16 * 1000:.1f})")
        s_eval = slope(sizes, walls)
        print(f"  slope of evaluation time vs examples: {s_eval:.2f}")
        levels = [1, 4, 16, 64]
        cw = [asyncio.run(evaluate_wall(url, 400 if c > 1 else 100, c)) * (1 if c > 1 else 4) for c in levels]
        print("evaluation of 400 examples against concurrency (concurrency 1: 100 examples, times 4):")
        for c, w in zip(levels, cw):
            print(f"  concurrency {c:3d}  {w:6.2f} s  speed-up {cw[0] / w:5.1f}x (ideal {c}x)")
    finally:
        server.terminate()
        server.wait(timeout=10)
    worst = max(s_time, s_mem, s_eval)
    print(f"worst growth slope (1.0 = linear; target <= 1.0): {worst:.2f}")


if __name__ == "__main__":
    main()
