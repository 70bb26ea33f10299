"""What racing saves and what it changes, measured on recorded runs (used by ``calls.py``).

A recorded run with full evaluation holds every candidate's answer on every eval example
(its ``responses.db``), so each step's race can be run again offline on exactly the
scores full evaluation saw: how many examples the race would have scored, and whether
the step would have chosen the same prompt.

Without recorded paper-protocol runs, :class:`SimulatedTaskLM` stands in for the task
model, deterministically: whether a prompt answers an example right is
``skill(prompt) - difficulty(example) + noise(prompt, example) > 0``, an item-response
model whose shared difficulties make the candidates' scores paired as a real model's
are. Its parameters are assumptions, printed with every figure made from it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Optional

from gpo.lm.base import LM
from gpo.lm.types import RawCompletion, Request
from gpo.seeding import rng_for

SIMULATION = {"skill": 0.3, "spread": 0.25, "broken": 0.15, "broken_drop": 1.5, "noise": 0.5}
"""Prompt skill ~ skill + spread·N(0,1), minus broken_drop for a share ``broken`` of prompts;
example difficulty ~ N(0,1); per-answer noise ~ noise·N(0,1)."""


class SimulatedTaskLM(LM):
    """A deterministic task model for a task with Yes/No or lettered-option answers.

    Args:
        task: The task whose questions it answers (it finds the question in the request).
        **settings: Overrides of :data:`SIMULATION`.
    """

    backend = "simulated"

    def __init__(self, task: Any, **settings: float) -> None:
        super().__init__()
        self.settings = {**SIMULATION, **settings}
        self.model = "irt-" + "-".join(f"{k}{v:g}" for k, v in sorted(self.settings.items()))
        self.examples = sorted(
            (ex for split in task.splits.values() for ex in split or []), key=lambda ex: -len(ex.input)
        )

    def _right(self, prompt: str, example: Any) -> bool:
        s = self.settings
        p = rng_for(0, "prompt", prompt)
        skill = s["skill"] + s["spread"] * p.gauss(0, 1) - (s["broken_drop"] if p.random() < s["broken"] else 0.0)
        difficulty = rng_for(0, "example", example.id).gauss(0, 1)
        return skill - difficulty + s["noise"] * rng_for(0, "answer", prompt, example.id).gauss(0, 1) > 0

    def _answer(self, content: str) -> str:
        example = next((ex for ex in self.examples if ex.input in content), None)
        if example is None:
            return "I do not know."
        target = str(example.target if not isinstance(example.target, (list, tuple)) else example.target[0])
        if self._right(content.replace(example.input, " ").strip(), example):
            return target
        if target in ("Yes", "No"):
            return "No" if target == "Yes" else "Yes"
        letters = [f"({x})" for x in re.findall(r"\(([A-R])\)", example.input) if f"({x})" != target]
        return letters[0] if letters else "none of them"

    async def _generate(self, request: Request) -> RawCompletion:
        messages = request.messages
        if len(messages) >= 3 and messages[-2].get("role") == "assistant":  # the follow-up: repeat the answer
            said = messages[-2]["content"].rsplit("the answer is ", 1)[-1].rstrip(".")
            text = f"The answer is {said}."
        else:
            text = f"Let me think it through. So the answer is {self._answer(messages[-1]['content'])}."
        return RawCompletion([text] * request.n, input_tokens=0, output_tokens=0)


def paper_run(task: str, data_dir: str, run_dir: Any, **options: Any) -> tuple[dict, SimulatedTaskLM]:
    """A paper-protocol GPO run with the simulated task model and the fake optimizer: its
    summary, and the model."""
    import gpo
    from gpo.tasks import load_task

    lm = SimulatedTaskLM(load_task(task, data_dir=data_dir))
    result = gpo.optimize(task, "gpo", protocol="paper", model=lm, optimizer_model="fake:", run_dir=run_dir,
                          data_dir=data_dir, embedder="lexical", cache=False, report=False, **options)
    return result.summary, lm


SCORES_FORMAT = "gpo-race-scores/1"
"""The ``format`` of a saved score record (see :func:`record_scores`)."""


def needs_evidence(selection: Any) -> bool:
    """Whether a selection rule may score prompts on more examples (a tie-break)."""
    from gpo.optim.selection import Selection

    return type(selection).choose is not Selection.choose


def _open_record(run_dir: Path, lm: Any) -> tuple[Any, Any, Any, Any]:
    """The run's configuration, task, eval examples, evaluator and objective, the answers
    coming from the run's record (or ``lm``), and the record to close."""
    from gpo.api import load_run_config
    from gpo.evaluate import Evaluator
    from gpo.lm.cache import ResponseCache
    from gpo.lm.fake import ReplayLM
    from gpo.lm.ledger import Ledger
    from gpo.optim.objective import Objective
    from gpo.tasks import load_task

    config = load_run_config(run_dir)
    if config.optimizer.evaluation.name != "full":
        raise SystemExit(f"{run_dir}: racing is replayed on runs with full evaluation")
    saved = json.loads((run_dir / "config.json").read_text())
    task = load_task(config.task, data_dir=config.data_dir, placement=config.placement)
    store = ResponseCache(run_dir / "responses.db")
    if lm is None:
        lm = ReplayLM(store, identity=saved["identities"]["task"], concurrency=64)
    lm.ledger, lm.budget = Ledger(), None  # a model given to a run still points at the run's
    ev = Evaluator(task, lm, two_round=config.two_round, max_tokens=config.answer_tokens,
                   follow_up_max_tokens=config.follow_up_tokens, concurrency=64)
    objective = Objective(task, ev, optimizer_lm=None, eval_examples=task.split("eval", config.eval_limit), seed=config.seed)
    return config, saved, objective, store


async def _scores(run_dir: Path, config: Any, saved: dict, objective: Any) -> dict:
    """See :func:`record_scores`."""
    from gpo.optim.parts import part_to_dict
    from gpo.optim.state import TrajectoryEntry

    examples = objective.eval_examples
    history = [TrajectoryEntry.from_dict(h) for h in json.loads((run_dir / "checkpoint.json").read_text())["state"]["history"]]
    lines = [json.loads(x) for x in (run_dir / "trajectory.jsonl").read_text().splitlines()]
    known = {history[0].prompt: history[0].score}
    steps = []
    for entry in history[1:]:
        scored = [c for c in lines if c["step"] == entry.step and c["prompt"] and c["rejected"] is None]
        fresh = list(dict.fromkeys(c["prompt"] for c in scored if c["prompt"] not in known))
        results = await objective.evaluator.evaluate_many(fresh, examples, split="eval")  # every answer from the record
        known.update((p, r.score) for p, r in zip(fresh, results))
        steps.append({
            "step": entry.step,
            "fresh": fresh,
            "scores": [[None if r.error else r.score for r in res.results] for res in results],
            "pool": [[c["prompt"], known[c["prompt"]]] for c in scored],
        })
    summary = run_dir / "summary.json"
    task = objective.task
    return {
        "format": SCORES_FORMAT,
        "source": {"run": run_dir.name, "task": config.task, "protocol": config.protocol, "seed": config.seed,
                   "models": saved.get("identities", {})},
        "seed": config.seed,
        "total_steps": config.steps,
        "rounds": 2 if config.two_round else 1,
        "eval_examples": len(examples),
        "test_examples": len(task.split("test", config.test_limit)),
        "candidates": config.optimizer.update.num_candidates,
        "selection": part_to_dict(config.optimizer.selection),
        # Every generation the run asked for, answered from a cache or not: what a fresh run pays.
        "generations": json.loads(summary.read_text())["usage"]["task"]["samples"] if summary.exists() else None,
        "history": [h.to_dict() for h in history],
        "steps": steps,
    }


def prompt_id(prompt: str) -> str:
    """The name a score record gives a prompt: the start of its SHA-256.

    >>> prompt_id("Let's think step by step.")
    'sha256:c93f8475e1d84367'
    """
    return "sha256:" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def without_texts(record: dict) -> dict:
    """A score record with every prompt replaced by :func:`prompt_id` (and the trajectory's
    reflections dropped): a race needs only to tell prompts apart, and a prompt may hold a
    task example the optimizer copied, which a record kept beside the code must not."""
    history = [{**h, "prompt": prompt_id(h["prompt"]), "reflection": None} for h in record["history"]]
    steps = [{**s, "fresh": [prompt_id(p) for p in s["fresh"]], "pool": [[prompt_id(p), v] for p, v in s["pool"]]}
             for s in record["steps"]]
    return {**record, "prompts": "sha256, first 16 hex digits", "history": history, "steps": steps}


async def record_scores(run_dir: Path, lm: Any = None) -> dict:
    """What racing needs of a recorded full-evaluation run, without its answers or prompts.

    Each step's new candidates with their score on every eval example (in the split's
    order), the step's scored pool, the trajectory, the run's sizes and its task
    generations: a JSON document of some kilobytes where the record (``responses.db``)
    holds megabytes, so that the measurements made on a run can be repeated where the run
    is not. Prompts are named by their hash (:func:`without_texts`). It races exactly like
    the run directory (:func:`race_scores`) for selection rules that tell prompts apart
    by their scores alone; a run whose rule breaks ties with more examples must be raced
    from its directory, since the race may need answers full evaluation never asked.

    Raises:
        SystemExit: The run's selection rule scores more examples.
    """
    config, saved, objective, store = _open_record(run_dir, lm)
    try:
        if needs_evidence(config.optimizer.selection):
            raise SystemExit(f"{run_dir}: its selection rule ({config.optimizer.selection.describe()}) scores more "
                             "examples, which a score record does not hold; race the run directory itself")
        return without_texts(await _scores(run_dir, config, saved, objective))
    finally:
        store.close()


def protocol_of(path: Path) -> str:
    """The protocol of a recorded run: a run directory or a score record."""
    if path.is_file():
        return load_scores(path)["source"]["protocol"]
    from gpo.api import load_run_config

    return load_run_config(path).protocol


def load_scores(path: Path) -> dict:
    """A score record saved by :func:`record_scores` (``calls.py --keep-scores``)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: not a readable score record ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != SCORES_FORMAT:
        raise SystemExit(f"{path}: not a score record of format {SCORES_FORMAT}")
    return record


async def race_scores(record: dict, confidence: float, min_slice: int, objective: Any = None) -> dict:
    """Every step of a score record raced again, and chosen again by the run's own rule.

    The rule chooses on the full pool and on the pool without the candidates the race
    dropped. A rule that scores more examples (a tie-break) does so through ``objective``
    (the run's record); when the race leaves a tie that full evaluation did not have, its
    evidence was never recorded and the step counts as undecided.

    A run that was interrupted (no ``summary.json`` yet) is raced on the steps of its last
    checkpoint. Its whole-run counts are projected: every step of the run with as many new
    candidates as the recorded steps had on average (the rest were rejected or repeats),
    plus p0 on eval and p0 and the final prompt on test; with racing, see :func:`projected`.

    Returns:
        ``steps``, ``same_winner`` (steps whose race chooses the prompt full evaluation
        chose), ``undecided``, ``dropped`` (candidates the races dropped), ``generations``
        (the run's task generations), ``racing_generations`` (the same run with each
        step's candidates raced), ``interrupted``, ``total_steps`` (the run's T), and
        ``candidate_generations`` and ``saved_generations`` (of the steps raced: what full
        evaluation of their candidates took, and what racing saves of it), ``shortfalls``
        (for each step whose race chose another prompt: how many eval examples fewer
        that prompt got right on the whole split than full evaluation's choice).
    """
    from gpo.errors import EvaluationError, ReplayMiss
    from gpo.optim.parts import part_from_dict
    from gpo.optim.racing import race, race_order
    from gpo.optim.state import TrajectoryEntry

    selection = part_from_dict(record["selection"])
    if objective is None and needs_evidence(selection):
        raise SystemExit(f"a score record cannot be raced with {selection.describe()}: race the run directory")
    history = [TrajectoryEntry.from_dict(h) for h in record["history"]]
    n, rounds = record["eval_examples"], record["rounds"]
    same = undecided = dropped_count = candidate_examples = 0
    shortfalls: list[float] = []
    step_examples: list[int] = []  # each step's candidate examples scored in its race
    for done, (entry, step) in enumerate(zip(history[1:], record["steps"]), start=1):  # history[:done]: before the step
        t, fresh, rows = entry.step, step["fresh"], step["scores"]
        order = race_order(n, record["seed"], t)

        async def score_slice(live, start, end, rows=rows, order=order):
            return [[rows[i][order[j]] for j in range(start, end)] for i in live]

        outcome = await race(len(fresh), n, score_slice, confidence=confidence, min_slice=min_slice)
        step_examples.append(sum(outcome.seen))
        candidate_examples += len(fresh) * n
        dropped = {fresh[i] for i in range(len(fresh)) if i not in outcome.alive}
        dropped_count += len(dropped)
        pool = [(p, s) for p, s in step["pool"]]
        score = dict(pool)
        full_pick = await selection.choose(pool, history[:done], objective)
        if full_pick != entry.prompt:
            raise SystemExit(f"{record['source']['run']}: step {t} does not replay to the recorded choice")
        try:
            raced_pick = await selection.choose([(p, s) for p, s in pool if p not in dropped], history[:done], objective)
        except (ReplayMiss, EvaluationError):
            undecided += 1
        else:
            same += raced_pick == full_pick
            if raced_pick != full_pick:  # every fresh prompt was scored on the whole split
                shortfalls.append(n * (score[full_pick] - score[raced_pick]))
    steps = len(history) - 1
    saved_examples = candidate_examples - sum(step_examples)
    saved_generations, candidate_generations = rounds * saved_examples, rounds * candidate_examples
    interval = None
    if record["generations"] is not None:
        generations = record["generations"]
        racing_generations = generations - saved_generations
    else:  # interrupted: the whole run, with as many new candidates per step as so far
        total = record["total_steps"]
        per_step = candidate_generations / steps if steps else rounds * record["candidates"] * n
        candidates = per_step * total
        fixed = rounds * (n + 2 * record["test_examples"])
        generations = round(fixed + candidates)
        racing_generations = round(projected(generations, candidates, saved_generations, candidate_generations))
        interval = projection_interval([rounds * e for e in step_examples], fixed, total)
    return {
        "steps": steps,
        "same_winner": same,
        "undecided": undecided,
        "dropped": dropped_count,
        "generations": generations,
        "racing_generations": racing_generations,
        "interrupted": record["generations"] is None,
        "total_steps": record["total_steps"],
        "candidate_generations": candidate_generations,
        "saved_generations": saved_generations,
        "shortfalls": shortfalls,
        "racing_interval": interval,
    }


async def replay_races(path: Path, confidence: float, min_slice: int, lm: Any = None) -> dict:
    """Every step of a recorded full-evaluation run raced again offline (:func:`race_scores`).

    ``path`` is a run directory or a saved score record. In a run directory the answers
    come from the run's record (``responses.db``), or from ``lm``: a deterministic model
    gives the recorded answers again (a model object given to a run is not pointed at the
    run's record).
    """
    if path.is_file():
        return await race_scores(load_scores(path), confidence, min_slice)
    config, saved, objective, store = _open_record(path, lm)
    try:
        return await race_scores(await _scores(path, config, saved, objective), confidence, min_slice, objective)
    finally:
        store.close()


def projected(full_run: int, candidates: int, saved: int, raced: int) -> float:
    """A whole run's task generations with racing, projected from the steps raced so far:
    racing saves, of every step's candidate generations, the share it saved on those.

    Args:
        full_run: The run's task generations with full evaluation.
        candidates: Of those, the generations of every step's candidates.
        saved: Candidate generations racing saved on the steps raced so far...
        raced: ...of the candidate generations those steps took.

    >>> projected(5000, 4000, 100, 400)
    4000.0
    """
    return full_run - (saved / raced if raced else 0.0) * candidates


PROJECTION_CONFIDENCE = 0.9
"""Coverage of the interval given with a projected whole-run count."""


def projection_interval(
    per_step: list[float], fixed: float, total_steps: int, confidence: float = PROJECTION_CONFIDENCE
) -> Optional[tuple[int, int]]:
    """How far a projected whole-run count may be off, from the spread of the steps raced.

    The projection is ``fixed + total_steps × mean(per_step)``; steps differ a lot (how many
    of a step's samples reach scoring, how close they score), so the mean of a few steps
    is uncertain. This is a percentile bootstrap interval of that mean over the recorded
    steps, scaled the same way. It assumes the steps to come are like the recorded ones.

    Args:
        per_step: Task generations of each recorded step's race.
        fixed: Generations outside the steps (p0 on eval, p0 and the final prompt on test).
        total_steps: The run's steps.
        confidence: Coverage of the interval.

    Returns:
        ``(low, high)`` rounded, or ``None`` with fewer than two recorded steps.

    >>> projection_interval([100, 100, 100], 50, 10)
    (1050, 1050)
    >>> projection_interval([100], 50, 10) is None
    True
    """
    from gpo.sweep.paired import bootstrap_mean_interval

    mean_interval = bootstrap_mean_interval(per_step, confidence=confidence)
    if mean_interval is None:
        return None
    low, high = mean_interval
    return round(fixed + total_steps * low), round(fixed + total_steps * high)


def replay(path: Path, confidence: float, min_slice: int, lm: Any = None) -> dict:
    """:func:`replay_races`, run to its end."""
    return asyncio.run(replay_races(path, confidence, min_slice, lm))


def keep_scores(run_dir: Path, folder: Path) -> Path:
    """Saves a run directory's score record (:func:`record_scores`) as
    ``folder/<run>.scores.json`` and returns its path."""
    record = asyncio.run(record_scores(run_dir))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{run_dir.name}.scores.json"
    out.write_text(json.dumps(record, ensure_ascii=False) + "\n")
    return out
