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
3. With ``--racing``: every step of recorded full-evaluation runs (``--records``: run
   directories with their ``responses.db``, sweep directories, or score records saved from
   run directories with ``--keep-scores DIR``; ``benchmarks/records/`` holds some) is raced
   again offline on the answers full evaluation got, and chosen again by the run's own selection rule: the
   task generations the runs would have needed with racing, and how often a step's race
   chooses the prompt full evaluation chose. Only paper-protocol records are held to the
   generation target; records of other protocols measure agreement. Without records, runs of
   the paper protocol with a deterministic simulated task model stand in (see
   ``benchmarks/_racing.py``; the output says so and prints its assumptions). Then one
   run with ``--racing`` end to end, whose own count is printed too. ``--confidence``
   takes several levels to show the trade-off; the first gives the last line.

Example:

    python benchmarks/calls.py --data-dir ../shared/data/gpo-splits --task bbh/navigate
    python benchmarks/calls.py --racing --runs 6
    python benchmarks/calls.py --racing --records quality-sweep   # every finished run of a sweep
    python benchmarks/calls.py --racing --records RUN1 RUN2 --confidence 0.9,0.93,0.95 --keep-scores benchmarks/records
    python benchmarks/calls.py --racing --records benchmarks/records/*.scores.json   # the runs kept there
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


def racing_figures(args) -> None:
    """Prints what racing needs and changes on recorded (or simulated) paper-protocol runs."""
    from _racing import SIMULATION, keep_scores, paper_run, protocol_of, replay

    from gpo.optim.racing import Racing

    settings = [(c, args.min_slice) for c in args.confidence]
    with tempfile.TemporaryDirectory() as tmp:
        if args.records:
            runs = [(d, None) for d in recorded_runs(args.records)]
            source = f"{len(runs)} recorded run(s) from {', '.join(args.records)}"
            for d, _ in runs:
                if args.keep_scores and d.is_dir():
                    try:
                        print(f"score record of {d} kept in {keep_scores(d, Path(args.keep_scores))}")
                    except SystemExit as exc:  # a rule that breaks ties with more examples
                        print(f"score record of {d} not kept: {exc}")
        else:
            runs, full_tests = [], []
            for seed in range(args.runs):
                summary, lm = paper_run(args.task, args.data_dir, Path(tmp) / f"seed{seed}", seed=seed)
                runs.append((Path(tmp) / f"seed{seed}", lm))
                full_tests.append(summary["scores"]["best"]["test"])
            source = (f"NO recorded paper-protocol runs given: {args.runs} runs (seeds 0-{args.runs - 1}) of {args.task} with a "
                      f"SIMULATED task model (deterministic item-response model {SIMULATION}) and the fake optimizer")
        print(f"racing, replayed offline on every step of {source}")
        rows = []
        for confidence, min_slice in settings:
            found = [replay(d, confidence, min_slice, lm) for d, lm in runs]
            steps = sum(r["steps"] for r in found)
            if not steps:
                raise SystemExit("the records hold no finished optimization step yet; race them once a step is checkpointed")
            same = sum(r["same_winner"] for r in found) / steps
            interrupted = [r for r in found if r["interrupted"]]
            full = sum(r["generations"] for r in found) / len(found)
            raced = sum(r["racing_generations"] for r in found) / len(found)
            rows.append((confidence, min_slice, raced, same, interrupted))
            for r in interrupted:
                print(f"  an interrupted record ({r['steps']} of {r['total_steps']} steps): racing saves "
                      f"{r['saved_generations']:,} of the {r['candidate_generations']:,} task generations its candidates took; "
                      f"at that rate on all {r['total_steps']} steps, PROJECTED {r['racing_generations']:,} for the whole run "
                      f"instead of {r['generations']:,}" + spread(r))
            each = "; per run " + ", ".join(f"{r['racing_generations']:,}" for r in found) if len(found) <= 12 else ""
            undecided = sum(r["undecided"] for r in found)
            open_steps = f", undecided in {undecided} (the race left a tie whose evidence was never recorded)" if undecided else ""
            print(f"  confidence {confidence:g}, slices of {min_slice}: {raced:,.0f} task generations per run "
                  f"(full evaluation: {full:,.0f}{each}); {sum(r['dropped'] for r in found)} candidates dropped; "
                  f"same step winner as full evaluation in {sum(r['same_winner'] for r in found)} of {steps} steps ({same:.1%}){open_steps}")
            shortfalls = [x for r in found for x in r["shortfalls"]]
            if shortfalls:
                print(f"    where the race chose another prompt ({len(shortfalls)} step{'s' if len(shortfalls) > 1 else ''}), that prompt scored "
                      f"{sum(shortfalls) / len(shortfalls):.1f} eval examples fewer than full evaluation's choice on average "
                      f"(at most {max(shortfalls):.0f}; {sum(x < 0.5 for x in shortfalls)} of them as many: a tie lost to the rule)")
        if not args.records:
            ends = [paper_run(args.task, args.data_dir, False, seed=seed, racing=True, racing_confidence=args.confidence[0],
                              racing_min_slice=args.min_slice)[0] for seed in range(args.runs)]
            gens = sum(e["usage"]["task"]["samples"] for e in ends) / len(ends)
            tests = [e["scores"]["best"]["test"] for e in ends]
            print(f"  end to end, the same {args.runs} runs with --racing: {gens:,.0f} task generations per run; "
                  f"mean test accuracy of the final prompt {sum(tests) / len(tests):.3f} "
                  f"(full evaluation: {sum(full_tests) / len(full_tests):.3f})")
    raced, same, interrupted = rows[0][2], rows[0][3], rows[0][4]
    headline = Racing(args.confidence[0], args.min_slice).describe()
    kind = "recorded runs" if args.records else "SIMULATED task model"
    if interrupted:
        kind += f" ({len(interrupted)} interrupted: whole-run counts PROJECTED from {sum(r['steps'] for r in interrupted)} recorded steps)"
    if args.records and not all(protocol_of(d) == "paper" for d, _ in runs):
        # The generation target is the paper protocol's; other records only tell agreement.
        print(f"racing {headline} on {kind} (not all of the paper protocol): "
              f"{raced:,.0f} task generations per run, same step winner as full evaluation in {same:.1%} of steps (target >= 90%)")
        return
    print(f"racing {headline} on {kind}: {raced:,.0f} task generations "
          f"(target <= 7,000; published / racing = {PUBLISHED / raced:.2f}), same step winner as full evaluation "
          f"in {same:.1%} of steps (target >= 90%)")


def spread(record: dict) -> str:
    """The interval of a projected count, as printed after it (nothing for a single step)."""
    from _racing import PROJECTION_CONFIDENCE

    interval = record.get("racing_interval")
    if not interval:
        return ""
    return (f" ({PROJECTION_CONFIDENCE:.0%} interval from the spread of its {record['steps']} steps: {interval[0]:,}-{interval[1]:,}; "
            f"it assumes the steps to come are like these)")


def recorded_runs(paths: list[str]) -> list[Path]:
    """Records from the paths given: a run directory or a saved score record stands for
    itself (finished, or interrupted after some steps); a sweep directory (with
    ``manifest.json``) for its finished runs that took optimization steps."""
    import json

    runs: list[Path] = []
    for given in map(Path, paths):
        manifest = given / "manifest.json"
        if given.is_file():  # a score record (checked when it is read)
            runs.append(given)
            continue
        if not manifest.is_file():
            if not (given / "checkpoint.json").is_file():
                raise SystemExit(f"{given} is neither a score record, a sweep directory nor a run directory with a finished step")
            runs.append(given)
            continue
        for run in json.loads(manifest.read_text())["runs"]:
            d = given / run["dir"]
            if run["status"] == "finished" and json.loads((d / "summary.json").read_text()).get("steps_completed"):
                runs.append(d)
    if not runs:
        raise SystemExit(f"no finished runs with optimization steps in {', '.join(paths)}")
    return runs


def confidences(text: str) -> list[float]:
    """``--confidence``: one level or several, separated by commas, each one racing accepts.

    >>> confidences("0.9,0.95")
    [0.9, 0.95]
    """
    from gpo.errors import ConfigError
    from gpo.optim.racing import Racing

    try:
        levels = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or a comma-separated list of numbers: {text!r}") from None
    if not levels:
        raise argparse.ArgumentTypeError(f"no confidence level in {text!r}")
    try:
        return [Racing(level).confidence for level in levels]  # racing's own check of the level
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("GPO_DATA_DIR"), help="the gpo-splits folder")
    p.add_argument("--task", default="bbh/navigate")
    p.add_argument("--racing", action="store_true", help="also measure racing (last line: its figures)")
    p.add_argument("--records", nargs="*", default=None,
                   help="recorded full-evaluation run directories, or sweep directories, to race offline")
    p.add_argument("--keep-scores", metavar="DIR", default=None,
                   help="save the score record of each run directory raced (what racing needs of it, some kilobytes) in DIR")
    p.add_argument("--runs", type=int, default=6, help="simulated runs when no records are given")
    p.add_argument("--confidence", type=confidences, default=None,
                   help="racing's confidence, or several separated by commas (the first gives the last line; "
                        "default: racing's own default, then 0.95)")
    p.add_argument("--min-slice", type=int, default=4, help="racing's slice")
    args = p.parse_args()
    if args.confidence is None:
        from gpo.optim.racing import Racing

        args.confidence = list(dict.fromkeys([Racing().confidence, 0.95]))
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
    if args.racing:
        racing_figures(args)


if __name__ == "__main__":
    main()
