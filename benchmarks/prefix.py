"""Prefix-aware scheduling against naive candidate-major order, on the packaged model.

Scores 8 candidate prompts on 48 BBH examples (instruction after the question, ``Q_end``)
with the local llama.cpp server (parallel slots, prompt cache on). Naive order evaluates
one prompt after another; the evaluator's ``evaluate_many`` hands each worker one example
at a time and pins its requests to one slot, so the question is computed once per example
instead of once per prompt. Each order runs on a freshly started server. Prints the prompt tokens the server actually computed (from
its timings) and the wall time of each, and checks that both orders give the same answers.
The last line is naive wall time / prefix-aware wall time.

Example (about 8 minutes here):

    python benchmarks/prefix.py --data-dir ../shared/data/gpo-splits
"""

from __future__ import annotations

import argparse
import asyncio

from _local import evaluator, header, line, measure, run


async def main_async(args: argparse.Namespace) -> None:
    naive, w = await measure(args, evaluator, "candidate")
    aware, w = await measure(args, evaluator, "example")
    n = header(args, w)
    print(line("candidate-major (one prompt after another)", naive))
    print(line("prefix-aware (evaluate_many)", aware))
    same = sum(a == b for x, y in zip(naive["outputs"], aware["outputs"]) for a, b in zip(x, y))
    print(f"  identical answers in both orders: {same} of {n}; scores {['%.3f' % s for s in naive['scores']]} vs {['%.3f' % s for s in aware['scores']]}")
    print(f"  prompt tokens computed: {naive['prompt_n'] / max(1, aware['prompt_n']):.2f}x fewer")
    print(f"prefix-aware speed-up (naive wall / prefix-aware wall, target >= 1.5): {naive['wall'] / aware['wall']:.2f}")


if __name__ == "__main__":
    run(__doc__, main_async)
