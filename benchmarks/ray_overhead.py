"""What does Ray add per run? The same 16-run sweep on the local pool and on a local Ray cluster.

Starts the project's deterministic test server (``--delay`` seconds per request) and a local
Ray cluster of ``--cpus`` CPUs (no dashboard), then runs ``gpo sweep`` twice as a user would,
each in a fresh ``GPO_HOME`` so that both pay for every call: 2 synthetic tasks × gpo, opro
× 4 seeds, on ``--workers`` local processes, then ``--backend ray --address`` with the same
number of runs at once. Prints both wall times, Ray's overhead per run (the extra time each
run held one of the slots: ``(ray − local) × slots / runs``; target under 1 s), the
cluster's start-up (not counted: a cluster outlives a sweep), and whether the tables and
every run's outcome are identical. The last line is the figure.

    python benchmarks/ray_overhead.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = "synthetic/boolean_expressions,synthetic/navigate"


def sweep(out: Path, home: Path, model: str, extra: list[str], args: argparse.Namespace) -> float:
    cmd = [
        sys.executable, "-m", "gpo.cli", "sweep", "--tasks", TASKS, "--methods", "gpo,opro", "--seeds", "0,1,2,3",
        "--out", str(out), "-m", model, "--steps", str(args.steps), "--eval-limit", "12", "--test-limit", "12",
        "--embedder", "lexical", "--no-run-reports", *extra,
    ]
    env = {**os.environ, "GPO_HOME": str(home)}
    env.pop("GPO_MODEL", None)
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"gpo sweep failed ({' '.join(extra)}):\n{proc.stderr[-3000:]}")
    return seconds


def outcomes(out: Path) -> dict:
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    result = {}
    for r in runs:
        s = json.loads((out / r["dir"] / "summary.json").read_text())
        result[r["name"]] = (s["best_prompt"], s["scores"], s["usage"]["task"]["calls"])
    return result


def run_seconds(out: Path) -> float:
    """The mean time a run took inside its worker (from the manifest: no scheduling, no transfer)."""
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    return sum(r["seconds"] for r in runs) / len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster, and local workers")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds the test server takes per request")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()

    import ray

    from gpo.testing.server import OpenAICompatServer, optimization_reply

    work = Path(tempfile.mkdtemp(prefix="gpo-ray-bench-", dir="/tmp"))
    try:
        with OpenAICompatServer(delay=args.delay, responder=optimization_reply) as server:
            model = f"openai:m@{server.url}"
            t0 = time.perf_counter()
            ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, _temp_dir=str(work / "session"),
                     _node_ip_address="127.0.0.1", logging_level="WARNING")
            start_up = time.perf_counter() - t0
            address = ray.get_runtime_context().gcs_address
            try:
                local = sweep(work / "local", work / "home-local", model, ["--workers", str(args.cpus)], args)
                sent_local = len(server.requests)
                on_ray = sweep(work / "ray", work / "home-ray", model, ["--backend", "ray", "--address", address], args)
                sent_ray = len(server.requests) - sent_local
            finally:
                ray.shutdown()
        runs = 16
        same_tables = all((work / "local" / f).read_bytes() == (work / "ray" / f).read_bytes() for f in ("table.csv", "tests.csv"))
        same_runs = outcomes(work / "local") == outcomes(work / "ray")
        per_run = (on_ray - local) * args.cpus / runs
        inside = {k: run_seconds(work / k) for k in ("local", "ray")}
        print(f"{runs} runs, {args.cpus} at once, test server {args.delay * 1000:.0f} ms per request")
        print(f"local pool: {local:.1f} s wall, {sent_local} requests")
        print(f"local Ray:  {on_ray:.1f} s wall, {sent_ray} requests (cluster start-up {start_up:.1f} s, not counted)")
        print(f"mean time of a run inside its worker: local {inside['local']:.2f} s, Ray {inside['ray']:.2f} s")
        print(f"identical: tables {'yes' if same_tables else 'NO'}, every run's prompt, scores and calls {'yes' if same_runs else 'NO'}")
        print(f"Ray overhead per run: {per_run:+.2f} s (target < 1 s); ray/local wall {on_ray / local:.2f}; results identical: {'yes' if same_tables and same_runs else 'NO'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
