"""``gpo evaluate``: score one instruction on a task's split."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import click

from gpo.commands.options import data_dir_option, model_option, one_task, task_argument
from gpo.sizes import most

__all__ = ["evaluate"]


@click.command()
@task_argument
@click.option("--prompt", "-p", default=None, help="The instruction to score.")
@click.option("--prompt-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the instruction from a file.")
@click.option("--split", default="eval", show_default=True, type=click.Choice(["train", "eval", "test", "format", "few_shot"]))
@click.option("--limit", type=click.IntRange(min=1, max=most("eval_limit")), default=None, help="Only the first N examples.")
@model_option
@data_dir_option
@click.option("--placement", type=click.Choice(["Q_end", "Q_begin", "A_begin", "system"]), default=None, help="Where the instruction goes (default: the task's, Q_end).")
@click.option("--protocol", default="quick", show_default=True, type=click.Choice(["quick", "paper"]), help="How the task model answers, as `gpo optimize --protocol` has it: quick (one round, first answers capped at 48 tokens) or paper (a follow-up asks for the final answer; 256 tokens).")
@click.option("--two-round/--one-round", default=None, help="Ask a follow-up for the final answer, or parse the first answer (default: the protocol's).")
@click.option("--answer-tokens", "max_tokens", type=click.IntRange(min=1), default=None, help="Cap on the first answer (default: the protocol's).")
@click.option("--concurrency", type=click.IntRange(min=1, max=most("concurrency")), default=None, help="Requests in flight to the model (default: a local model's slots, else 8).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write per-example results as JSONL.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def evaluate(
    task_spec: Optional[str],
    task_option: Optional[str],
    prompt: Optional[str],
    prompt_file: Optional[Path],
    split: str,
    limit: Optional[int],
    model: Optional[str],
    data_dir: Optional[Path],
    placement: Optional[str],
    protocol: str,
    two_round: Optional[bool],
    max_tokens: Optional[int],
    concurrency: Optional[int],
    no_cache: bool,
    out: Optional[Path],
    as_json: bool,
) -> None:
    """Score one instruction on a split of TASK with the task model.

    The task model answers as in `gpo optimize` with the same --protocol (one round,
    48 tokens by default), so a score here matches the scores of a run.
    """
    from gpo.config import default_model
    from gpo.errors import ConfigError
    from gpo.protocol import PROTOCOLS
    from gpo.runs.build import make_evaluator, make_lm
    from gpo.tasks import load_task

    task_spec = one_task(task_spec, task_option)
    proto = PROTOCOLS[protocol]
    two_round = proto.two_round if two_round is None else two_round
    max_tokens = max_tokens or proto.max_tokens

    if prompt is not None and prompt_file is not None:
        raise ConfigError("give --prompt or --prompt-file, not both")
    if prompt_file is not None:
        prompt = prompt_file.read_text().strip()
    if prompt is None:
        prompt = "Let's think step by step."
    options: dict[str, Any] = {}
    if placement:
        options["placement"] = placement
    task = load_task(task_spec, data_dir=data_dir, **options)
    examples = task.split(split, limit)
    spec = model or default_model()
    lm = make_lm(spec, cache=not no_cache, concurrency=concurrency)
    evaluator = make_evaluator(
        task, lm, two_round=two_round, answer_tokens=max_tokens, follow_up_tokens=proto.follow_up_max_tokens,
    )

    async def run():
        try:
            return await evaluator.evaluate(prompt, examples, split=split)
        finally:
            await lm.aclose()

    if not as_json:
        rounds = "two-round answers" if two_round else "one-round answers"
        click.echo(
            f"Evaluating on {task.name} [{split}, {len(examples)} examples] with {lm.spec} "
            f"({rounds}, {max_tokens} tokens) …",
            err=True,
        )
    started = time.perf_counter()
    result = asyncio.run(run())
    elapsed = time.perf_counter() - started
    usage = lm.ledger.summary().get("task", {})
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as f:
            for r in result.results:
                f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    if as_json:
        payload = {
            "task": task.name,
            "model": lm.spec,
            "split": split,
            "prompt": prompt,
            "score": result.score,
            "n": result.n,
            "n_errors": result.n_errors,
            "protocol": protocol,
            "two_round": two_round,
            "answer_tokens": max_tokens,
            "seconds": round(elapsed, 3),
            "usage": usage,
            "out": str(out) if out else None,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"prompt: {prompt!r}")
    click.echo(
        f"score:  {result.score:.4f}  ({sum(r.score for r in result.results if not r.error):g} / "
        f"{result.n - result.n_errors} examples"
        + (f", {result.n_errors} failed calls" if result.n_errors else "")
        + ")"
    )
    click.echo(
        f"calls:  {usage.get('requests', 0)} paid, {usage.get('cached_samples', 0)} from cache; "
        f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens; {elapsed:.1f} s"
    )
    if out is not None:
        click.echo(f"per-example results: {out}")
