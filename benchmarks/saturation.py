"""Does the evaluator keep the local model server busy? Its request rate against bare clients.

The evaluator scores 8 candidate prompts on 48 BBH examples with the packaged model on the
local llama.cpp server (parallel slots). In the same run, on the same server settings,
two bare aiohttp clients send the same requests: one with a plain semaphore (example-major
order), one with the evaluator's schedule (each worker one example at a time, pinned to
its slot). Every pass starts a fresh server, so none inherits another's prompt cache. The
last line is the evaluator's request rate over the best bare client's.

Example (about 10 minutes here):

    python benchmarks/saturation.py --data-dir ../shared/data/gpo-splits
"""

from __future__ import annotations

import argparse
import asyncio

from _local import bare_client, evaluator, header, line, measure, run


async def main_async(args: argparse.Namespace) -> None:
    plain, w = await measure(args, bare_client, "example", False)
    pinned, w = await measure(args, bare_client, "example", True)
    ours, w = await measure(args, evaluator, "example")
    header(args, w)
    print(line("bare client, semaphore", plain))
    print(line("bare client, evaluator's schedule", pinned))
    print(line("gpo evaluator (evaluate_many)", ours))
    best = min(plain["wall"], pinned["wall"])
    print(f"evaluator request rate / best bare client's (target >= 0.9): {best / ours['wall']:.3f}")


if __name__ == "__main__":
    run(__doc__, main_async)
