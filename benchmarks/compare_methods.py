"""GPO against every baseline on the same tasks, models, seed and budget.

Runs each method on each task (default: the lite-BBH subtasks from a data folder) and prints
one table: eval and test accuracy of the final prompt, gain over the initial prompt on test,
and task/optimizer model requests paid per method. Responses are cached under GPO_HOME, so
rerunning the script reuses every call already made.

Example (the packaged Qwen model, a budget that finishes on a 2-core CPU):

    python benchmarks/compare_methods.py --data-dir ../shared/data/gpo-splits \
        -m local:qwen2.5-coder-0.5b --steps 2 --candidates 2 --eval-limit 8 --test-limit 16 \
        --optimizer-max-tokens 160
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from gpo.api import optimize_async
from gpo.optim.presets import PRESETS
from gpo.tasks import LITE_BBH


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True, help="folder laid out like gpo-splits")
    p.add_argument("--tasks", default="lite", help="comma-separated BBH subtasks, or 'lite'")
    p.add_argument("--methods", default="all", help="comma-separated presets, or 'all'")
    p.add_argument("-m", "--model", default="local:qwen2.5-coder-0.5b")
    p.add_argument("--optimizer-model", default=None)
    p.add_argument("--embedder", default="auto")
    p.add_argument("--protocol", default="quick", choices=["quick", "paper"])
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--candidates", type=int, default=2)
    p.add_argument("--eval-limit", type=int, default=8)
    p.add_argument("--test-limit", type=int, default=16)
    p.add_argument("--optimizer-max-tokens", type=int, default=None, help="cap on each optimizer sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default=None, help="keep each run's directory here")
    p.add_argument("--out", default=None, help="write all summaries as JSON here")
    return p.parse_args(argv)


async def main(argv=None) -> int:
    args = parse_args(argv)
    tasks = list(LITE_BBH) if args.tasks == "lite" else args.tasks.split(",")
    methods = list(PRESETS) if args.methods == "all" else args.methods.split(",")
    rows = []
    started = time.time()
    for task in tasks:
        for method in methods:
            t0 = time.time()
            run_dir = Path(args.runs_dir) / f"{task}-{method}" if args.runs_dir else False
            result = await optimize_async(
                f"bbh/{task}",
                method,
                protocol=args.protocol,
                model=args.model,
                optimizer_model=args.optimizer_model,
                embedder=args.embedder,
                steps=args.steps,
                num_candidates=args.candidates,
                eval_limit=args.eval_limit,
                test_limit=args.test_limit,
                seed=args.seed,
                optimizer_max_tokens=args.optimizer_max_tokens,
                data_dir=args.data_dir,
                run_dir=run_dir,
            )
            s = result.summary
            rows.append(s)
            u = s["usage"]
            print(
                f"[{time.time() - started:6.0f}s] {task:22s} {method:6s} eval {s['scores']['best']['eval']:.3f} "
                f"test {s['scores']['best']['test']:.3f} ({time.time() - t0:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    print_table(rows, tasks, methods)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0


def print_table(rows, tasks, methods) -> None:
    """Prints the comparison as a Markdown table (rows: run summaries)."""
    by = {(r["task"], r["method"]): r for r in rows}
    print(f"| method | {' | '.join(tasks)} | mean eval | mean test | gain (test) | task calls (paid) | optimizer calls (paid) |")
    print("|---" * (len(tasks) + 6) + "|")
    for method in methods:
        cells, evals, tests, gains = [], [], [], []
        tcalls = treq = ocalls = oreq = 0
        for task in tasks:
            r = by[(f"bbh/{task}", method)]
            sc = r["scores"]
            evals.append(sc["best"]["eval"])
            tests.append(sc["best"]["test"])
            gains.append(sc["best"]["test"] - sc["initial"]["test"])
            tcalls += r["usage"]["task"].get("calls", 0)
            treq += r["usage"]["task"].get("requests", 0)
            ocalls += r["usage"]["optimizer"].get("calls", 0)
            oreq += r["usage"]["optimizer"].get("requests", 0)
            cells.append(f"{sc['best']['eval']:.2f} / {sc['best']['test']:.2f}")
        n = len(tasks)
        print(
            f"| {method} | {' | '.join(cells)} | {sum(evals) / n:.3f} | {sum(tests) / n:.3f} | "
            f"{sum(gains) / n:+.3f} | {tcalls} ({treq}) | {ocalls} ({oreq}) |"
        )
    print(
        "\nCells: eval / test accuracy of the final prompt; gain: final minus initial prompt on test. "
        "Calls: model calls the method made; in parentheses, those paid (the rest came from the "
        "shared response cache, e.g. the initial prompt's evaluation after the first method)."
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
