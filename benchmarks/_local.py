"""Shared set-up of the benchmarks that drive the packaged model's local server."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

# Eight instructions of the lengths GPO's candidates have (one sentence to a short paragraph).
CANDIDATES = [
    "Let's think step by step.",
    "Read the clues one at a time and place each object before answering.",
    "Work out the order of the objects from the statements, then pick the matching option.",
    "List every constraint, build the full ordering that satisfies all of them, and answer with the letter of the option that holds.",
    "Answer with the letter of the correct option.",
    "Consider each option in turn and check it against all the statements; choose the one that is consistent.",
    "Sort the objects using the given relations, double-check the result against each statement, and reply with the option letter only.",
    "First restate the facts as a ranking, then verify it, then give the final answer as (X).",
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=os.environ.get("GPO_DATA_DIR"), help="the gpo-splits folder (or GPO_DATA_DIR)")
    p.add_argument("--task", default="bbh/logical_deduction_five_objects", help="a BBH subtask (default: %(default)s)")
    p.add_argument("--examples", type=int, default=48, help="eval examples (default: %(default)s)")
    p.add_argument("--candidates", type=int, default=8, help="candidate prompts, at most 8 (default: %(default)s)")
    p.add_argument("-m", "--model", default="local:qwen2.5-coder-0.5b")
    p.add_argument("--parallel", type=int, default=4, help="server slots (default: %(default)s)")
    p.add_argument("--answer-tokens", type=int, default=8, help="answer cap; short answers make prompt work dominate (default: %(default)s)")


@dataclass
class Workload:
    task: Any
    examples: list
    prompts: list[str]
    lm: Any
    url: str
    answer_tokens: int
    parallel: int
    timings: list[dict] = field(default_factory=list)


async def start(args: argparse.Namespace) -> Workload:
    """A fresh server (its prompt cache empty) and the workload."""
    from gpo.lm import get_lm
    from gpo.tasks import load_task

    if not args.data_dir:
        raise SystemExit("pass --data-dir (the folder holding the paper's splits) or set GPO_DATA_DIR")
    task = load_task(args.task, data_dir=args.data_dir)
    examples = task.split("eval", args.examples)
    lm = get_lm(args.model, cache=False, parallel=args.parallel)
    url = await lm.start()
    await lm([{"role": "user", "content": "Say OK."}], max_tokens=2)  # load the weights
    return Workload(task, examples, CANDIDATES[: args.candidates], lm, url, args.answer_tokens, args.parallel)


async def measure(args: argparse.Namespace, run: Any, *run_args: Any) -> tuple[dict, "Workload"]:
    """Runs one pass on a freshly started server, so no pass inherits another's cache.

    llama.cpp's server keeps prompts in host memory across slots, so a second pass over the
    same examples would find every question cached whatever its order.
    """
    w = await start(args)
    try:
        return await run(w, *run_args), w
    finally:
        await w.lm.aclose()


def bodies(w: Workload, order: str) -> list[tuple[int, dict]]:
    """(example index, request body) in ``example`` or ``candidate`` major order."""
    pairs = [(i, p) for i in range(len(w.examples)) for p in w.prompts]
    if order == "candidate":
        pairs = [(i, p) for p in w.prompts for i in range(len(w.examples))]
    return [
        (i, {"model": "local", "messages": w.task.messages(p, w.examples[i]), "temperature": 0.0,
             "max_tokens": w.answer_tokens, "seed": 0, "n": 1, "cache_prompt": True})
        for i, p in pairs
    ]


async def bare_client(w: Workload, order: str = "example", pin: bool = False) -> dict:
    """The least a client can do: aiohttp, ``parallel`` requests in flight, nothing else.

    With ``pin`` it also uses the evaluator's schedule (each worker sends one example's
    requests back to back to its own slot), so only the framework's own costs differ.
    """
    import aiohttp

    work = bodies(w, order)
    prompt_n = cached = 0
    texts: dict[int, str] = {}

    async with aiohttp.ClientSession() as session:

        async def send(k: int, body: dict) -> None:
            nonlocal prompt_n, cached
            async with session.post(f"{w.url}/chat/completions", json=body) as resp:
                data = await resp.json()
            texts[k] = data["choices"][0]["message"]["content"] or ""
            prompt_n += int((data.get("timings") or {}).get("prompt_n") or 0)
            cached += int(data["usage"]["prompt_tokens"]) - int((data.get("timings") or {}).get("prompt_n") or 0)

        started = time.perf_counter()
        if pin:
            groups: dict[int, list[int]] = {}
            for k, (i, _) in enumerate(work):
                groups.setdefault(i, []).append(k)
            pending = iter(groups.values())

            async def worker(slot: int) -> None:
                for group in pending:
                    for k in group:
                        await send(k, {**work[k][1], "id_slot": slot})

            await asyncio.gather(*(worker(s) for s in range(w.parallel)))
        else:
            gate = asyncio.Semaphore(w.parallel)

            async def limited(k: int, body: dict) -> None:
                async with gate:
                    await send(k, body)

            await asyncio.gather(*(limited(k, b) for k, (_, b) in enumerate(work)))
        wall = time.perf_counter() - started
    return {"wall": wall, "requests": len(work), "prompt_n": prompt_n, "cached": cached}


async def evaluator(w: Workload, order: str = "example") -> dict:
    """The evaluator: ``evaluate_many`` (prefix-aware) or one prompt after another."""
    from gpo.evaluate import Evaluator
    from gpo.lm.ledger import Ledger

    w.lm.ledger = Ledger()
    ev = Evaluator(w.task, w.lm, two_round=False, max_tokens=w.answer_tokens, concurrency=w.parallel)
    started = time.perf_counter()
    if order == "example":
        results = await ev.evaluate_many(w.prompts, w.examples)
    else:
        results = [await ev.evaluate(p, w.examples) for p in w.prompts]
    wall = time.perf_counter() - started
    usage = w.lm.ledger.summary()["task"]
    return {
        "wall": wall,
        "requests": usage["requests"],
        "prompt_n": usage["input_tokens"] - usage["cached_input_tokens"],
        "cached": usage["cached_input_tokens"],
        "outputs": [[r.output for r in res.results] for res in results],
        "scores": [res.score for res in results],
    }


def line(name: str, r: dict) -> str:
    return (f"  {name:44s} {r['wall']:7.1f} s  {r['requests'] / r['wall']:5.2f} requests/s  "
            f"prompt tokens computed {r['prompt_n']:7,d}  from cache {r['cached']:7,d}")


def header(args: argparse.Namespace, w: Workload) -> int:
    """Prints what was measured; returns the number of requests of one pass."""
    n = len(w.prompts) * len(w.examples)
    runtime = getattr(getattr(w.lm, "server", None), "runtime", "?")
    print(f"{args.task}: {len(w.prompts)} prompts x {len(w.examples)} examples = {n} requests, answers <= {w.answer_tokens} tokens, "
          f"{args.model} on {runtime} with {w.parallel} slots")
    return n


def run(doc: str, main_async: Any) -> None:
    """Parses the shared arguments and runs one benchmark."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_arguments(p)
    asyncio.run(main_async(p.parse_args()))
