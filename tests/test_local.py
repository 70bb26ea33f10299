"""Integration: the real local backend (llama.cpp server on 127.0.0.1) with a packaged model."""

import asyncio
import os

import pytest

from conftest import local_model_available
from gpo.errors import ModelNotInstalled

MODEL = "qwen2.5-coder-0.5b"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not local_model_available(MODEL) and os.environ.get("CI") != "true",
        reason="needs `pip install 'gpo[local]'`",
    ),
]


@pytest.fixture(scope="module")
def local_lm_spec():
    return f"local:{MODEL}"


async def test_bbh_examples_through_the_real_http_path(data_dir, local_lm_spec):
    from gpo.evaluate import Evaluator
    from gpo.lm import get_lm
    from gpo.tasks import load_task

    task = load_task("bbh/boolean_expressions", data_dir=data_dir)
    lm = get_lm(local_lm_spec)
    try:
        ev = Evaluator(task, lm, two_round=True, max_tokens=64, concurrency=4)
        examples = task.split("eval", 6)
        result = await ev.evaluate("Answer with True or False.", examples, split="eval")
        assert result.n == 6 and result.n_errors == 0
        # Real model text was produced and parsed for every example.
        assert all(r.output for r in result.results)
        assert all(r.final_output is not None for r in result.results)
        assert sum(r.prediction is not None for r in result.results) >= 4
        assert 0.0 <= result.score <= 1.0
        usage = lm.ledger.summary()["task"]
        assert usage["requests"] == 12 and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        # The server really is llama.cpp on loopback, started by us.
        assert lm.server.url.startswith("http://127.0.0.1:")
        pid = lm.server.proc.pid

        # Same prompt again: answered from the persistent cache, no new requests.
        again = await ev.evaluate("Answer with True or False.", examples, split="eval")
        ev2 = Evaluator(task, lm, two_round=True, max_tokens=64, concurrency=4)
        fresh = await ev2.evaluate("Answer with True or False.", examples, split="eval")
        assert [r.prediction for r in fresh.results] == [r.prediction for r in result.results]
        assert lm.ledger.summary()["task"]["requests"] == 12
        assert again.score == result.score
    finally:
        await lm.aclose()
    # The server process is gone after close.
    with pytest.raises(OSError):
        os.kill(pid, 0)


async def test_n_samples_in_one_request(local_lm_spec):
    from gpo.lm import get_lm

    lm = get_lm(local_lm_spec, cache=False)
    try:
        out = await lm(
            [{"role": "user", "content": "Write a one-sentence instruction for solving riddles."}],
            n=3,
            temperature=1.0,
            max_tokens=24,
            seed=1,
            role="optimizer",
        )
        assert len(out.texts) == 3 and out.usage.calls == 1
        assert len(set(out.texts)) >= 2
    finally:
        await lm.aclose()


def test_unknown_local_model_is_a_clear_error():
    from gpo.lm import get_lm

    with pytest.raises(ModelNotInstalled, match="no local model"):
        get_lm("local:not-a-model")


def test_two_step_gpo_run_on_the_real_local_model(tmp_path, local_lm_spec):
    """GPO end to end: real optimizer and task calls, lexical relevance, run directory."""
    import json

    from gpo.api import optimize

    result = optimize(
        "synthetic/boolean_expressions",
        "gpo",
        model=local_lm_spec,
        embedder="lexical",
        steps=2,
        num_candidates=2,
        eval_limit=3,
        test_limit=3,
        answer_tokens=16,
        optimizer_max_tokens=80,
        run_dir=tmp_path,
    )
    s = result.summary
    assert s["steps_completed"] == 2 and s["stopped_reason"] == "completed"
    assert len(result.state.history) == 3
    lines = [json.loads(x) for x in (tmp_path / "trajectory.jsonl").read_text().splitlines()]
    assert {x["step"]: x["edit_budget"] for x in lines} == {1: 30, 2: 10}  # cosine 50→10 over T = 2
    # Filling (quick protocol): a step samples again for rejected or repeated candidates,
    # at most twice, and never scores more than its 2 new prompts.
    for step in (1, 2):
        mine = [x for x in lines if x["step"] == step]
        assert 2 <= len(mine) <= 6
        assert sum(bool(x["prompt"]) and not x["rejected"] and not x["duplicate"] for x in mine) <= 2
    # The real optimizer produced text; parsed candidates carry a measured edit distance.
    assert all(x["raw"] for x in lines)
    assert all(x["edit_distance"] is not None for x in lines if x["prompt"] and not x["rejected"])
    assert 2 <= s["usage"]["optimizer"]["requests"] <= 6 and s["usage"]["task"]["requests"] > 0
    assert 0.0 <= s["scores"]["best"]["test"] <= 1.0
    assert (tmp_path / "summary.json").exists() and (tmp_path / "results" / "best_test.jsonl").exists()

