"""Task-model generations the paper protocol needs, and what resuming after a crash repeats.

1. The exact dry run of ``--protocol paper`` on one BBH subtask (T = 18 steps, 8 candidates,
   48 eval and 144 test examples, two-round answers) counts every task-model generation the
   run would request, in the worst case (every candidate distinct and valid). It is
   compared with the published research code, which evaluated the same candidates, also
   scored every step's winner on the test split, and asked for 8 completions per call of
   which it used one (about 19,700 task generations per subtask).
2. A small run against the project's test server is killed with SIGKILL in the middle of a
   step and resumed; the resumed run's answered calls are compared with an uninterrupted
   run's (a call answered before the kill must not be paid again).

Example:

    python benchmarks/calls.py --data-dir ../shared/data/gpo-splits --task bbh/navigate
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PUBLISHED = 19_700
"""Task-model generations per BBH subtask of the published code (its count, rounded)."""


def dry_run_count(task: str, data_dir: str) -> dict:
    import gpo

    result = gpo.optimize(task, "gpo", protocol="paper", dry_run=True, run_dir=False, data_dir=data_dir, embedder="lexical")
    s = result.summary
    return {"steps": s["steps_completed"], "n_eval": s["n_eval"], "n_test": s["n_test"], "task": s["usage"]["task"], "optimizer": s["usage"]["optimizer"]}


def gpo_cli(args, home, wait=True):
    env = {**os.environ, "GPO_HOME": str(home)}
    env.pop("GPO_MODEL", None)
    proc = subprocess.Popen([sys.executable, "-m", "gpo.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"gpo {' '.join(args[:2])} failed: {err.strip().splitlines()[-1:]}")
    return proc


def answered_calls(run_dir: Path) -> int:
    """Calls the run paid for and recorded (a line cut short by the kill is skipped)."""
    from gpo.runs import RunDir
    from gpo.runs.session import read_usage

    return sum(r.calls for r in read_usage(RunDir(run_dir)))


def crash_and_resume(fraction: float = 0.5) -> dict:
    from gpo.testing.server import OpenAICompatServer, optimization_reply

    with tempfile.TemporaryDirectory() as tmp, OpenAICompatServer(delay=0.02, responder=optimization_reply) as server:
        tmp = Path(tmp)

        def args(run_dir):
            return ["optimize", "-t", "synthetic/boolean_expressions", "-m", f"openai:m@{server.url}", "--embedder", "lexical",
                    "--steps", "4", "--candidates", "3", "--eval-limit", "8", "--test-limit", "8", "--run-dir", str(run_dir), "--json"]

        gpo_cli(args(tmp / "ref"), tmp / "home-ref")
        reference = len(server.requests)
        server.reset()
        run_dir = tmp / "run"
        proc = gpo_cli(args(run_dir), tmp / "home", wait=False)
        deadline = time.monotonic() + 300
        while len(server.requests) < reference * fraction:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the run ended before it could be killed")
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        sent_before = len(server.requests)
        answered_before = answered_calls(run_dir)
        gpo_cli(["resume", str(run_dir), "--json"], tmp / "home")
        same = (run_dir / "trajectory.jsonl").read_text() == (tmp / "ref" / "trajectory.jsonl").read_text()
        return {
            "reference": reference,
            "sent_before_kill": sent_before,
            "answered_before_kill": answered_before,
            "sent_in_all": len(server.requests),
            "answered_in_all": answered_calls(run_dir),
            "same_trajectory": same,
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("GPO_DATA_DIR"), help="the gpo-splits folder")
    p.add_argument("--task", default="bbh/navigate")
    args = p.parse_args()
    if not args.data_dir:
        raise SystemExit("pass --data-dir (the folder holding the paper's splits) or set GPO_DATA_DIR")

    c = dry_run_count(args.task, args.data_dir)
    gens = c["task"]["samples"]
    steps, n_eval, n_test = c["steps"], c["n_eval"], c["n_test"]
    rounds = 2
    floor = rounds * (n_eval + steps * 8 * n_eval + 2 * n_test)
    print(f"{args.task}, paper protocol (exact dry run): {steps} steps, 8 candidates, {n_eval} eval / {n_test} test examples, two rounds")
    print(f"  task-model generations: {gens:,} in {c['task']['requests']:,} requests; optimizer: {c['optimizer']['samples']} samples in {c['optimizer']['requests']} requests")
    print(f"  = 2 rounds x ({n_eval} for p0 + {steps} x 8 x {n_eval} for the candidates + {n_test} x 2 on test for p0 and the final prompt) = {floor:,}")
    per_step_test = rounds * steps * n_test
    print(f"  published code: ~{PUBLISHED:,} (the same candidate evaluations, plus every step's winner on test: +{per_step_test:,})")
    print(f"  one-round answers (a setting) would need {gens // 2:,}; no schedule of the same algorithm needs fewer than {floor:,} in the worst case")

    r = crash_and_resume()
    repaid = r["answered_in_all"] - r["reference"]
    print(f"crash and resume: killed (SIGKILL) after {r['sent_before_kill']} of {r['reference']} requests, {r['answered_before_kill']} answered")
    print(f"  after resume: {r['sent_in_all']} sent in all ({r['sent_in_all'] - r['reference']} in flight at the kill, re-sent); "
          f"answered calls paid twice: {repaid}; trajectory identical to the uninterrupted run: {r['same_trajectory']}")
    print(f"generations ratio (published / gpo, target >= 2.8): {PUBLISHED / gens:.2f}")


if __name__ == "__main__":
    main()
