"""How many threads should a local model's server use? Idle, and next to a busy process.

llama.cpp's CPU kernels wait for every one of their threads at each step, so a server that
takes every core stalls whenever another process wants one. This benchmark scores the same
examples with a fresh server for each thread count, once on an idle machine and once next
to a CPU-bound process it starts (stopped at the end), and prints the wall times, then, last,
the worst ratio of the default's time to the best setting's in the same condition.

    python benchmarks/threads.py                      # 8 examples of synthetic/boolean_expressions

Run it on an otherwise idle machine: the "idle" rows assume nothing else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time


def burn(stop) -> None:
    """A CPU-bound process: arithmetic until told to stop."""
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x = (x * 31 + i) % 1_000_003


async def score(threads, args) -> float:
    from gpo.evaluate import Evaluator
    from gpo.lm import get_lm
    from gpo.lm.llama_server import stop_all
    from gpo.tasks import load_task

    task = load_task(args.task)
    lm = get_lm(args.model, cache=False, threads=threads)
    try:
        await lm([{"role": "user", "content": "Say OK."}], max_tokens=2)  # start the server outside the timing
        ev = Evaluator(task, lm, two_round=False, max_tokens=args.answer_tokens, concurrency=4)
        started = time.perf_counter()
        await ev.evaluate("Let's think step by step.", task.split("eval", args.examples), split="eval")
        return time.perf_counter() - started
    finally:
        await lm.aclose()
        stop_all()


def main() -> None:
    from gpo.lm.llama_server import default_threads

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="synthetic/boolean_expressions")
    p.add_argument("--examples", type=int, default=8)
    p.add_argument("--answer-tokens", type=int, default=48)
    p.add_argument("-m", "--model", default="local:qwen2.5-coder-0.5b")
    args = p.parse_args()
    cores = os.cpu_count() or 2
    settings = [None] + sorted({1, cores})  # None: the default, chosen when the server starts
    print(f"{args.examples} examples of {args.task}, one-round answers up to {args.answer_tokens} tokens, {args.model}; {cores} cores")
    times: dict[tuple[str, object], float] = {}
    for condition in ("idle", "busy"):
        for threads in settings:
            stop = multiprocessing.Event()
            hog = multiprocessing.Process(target=burn, args=(stop,), daemon=True) if condition == "busy" else None
            if hog:
                hog.start()
                time.sleep(1)  # let the busy process take its core before the server starts
            try:
                times[(condition, threads)] = asyncio.run(score(threads, args))
            finally:
                if hog:
                    stop.set()
                    hog.join(10)
            label = "default" if threads is None else f"{threads} thread(s)"
            print(f"  {condition:<5} {label:<12} {times[(condition, threads)]:7.1f} s")
    worst = max(times[(c, None)] / min(times[(c, t)] for t in settings) for c in ("idle", "busy"))
    print(f"default's time / best setting's, worst of idle and busy (target <= 1.5): {worst:.2f}")


if __name__ == "__main__":
    main()
