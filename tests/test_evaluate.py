import asyncio

import pytest

from gpo.errors import EvaluationError, LMServerError
from gpo.evaluate import Evaluator
from gpo.lm import FakeLM, RetryPolicy, ScriptedLM
from gpo.tasks.base import Example, Task

FAST = RetryPolicy(max_attempts=1)


def yes_no_task(n=6):
    ex = [Example(f"Is {i} even?", "Yes" if i % 2 == 0 else "No") for i in range(n)]
    return Task("demo/even", {"eval": ex, "test": ex[:2]}, "yes_no")


async def test_scores_one_round_in_input_order_whatever_the_latency():
    task = yes_no_task(8)

    def answer(request):
        q = request.messages[0]["content"]
        return "Yes" if int(q.split()[1]) % 2 == 0 else "No"

    class Jittery(ScriptedLM):
        async def _generate(self, request):
            # Later examples answer first.
            i = int(request.messages[0]["content"].split()[1])
            await asyncio.sleep(0.002 * (8 - i))
            return await super()._generate(request)

    lm = Jittery([answer] * 8, concurrency=8)
    ev = Evaluator(task, lm, two_round=False, concurrency=8)
    res = await ev.evaluate("Answer Yes or No.", split="eval")
    assert res.score == 1.0
    assert [r.index for r in res.results] == list(range(8))
    assert [r.example_id for r in res.results] == [e.id for e in task.split("eval")]
    assert [r.prediction for r in res.results] == ["Yes", "No"] * 4


async def test_two_round_sends_follow_up_and_parses_second_answer():
    task = yes_no_task(1)
    lm = ScriptedLM(["Let me think: 0 is divisible by 2.", "Yes"])
    ev = Evaluator(task, lm, two_round=True, max_tokens=50, follow_up_max_tokens=7)
    res = await ev.evaluate("Think first.", split="eval")
    assert res.score == 1.0
    first, second = lm.history
    assert first.messages == ({"role": "user", "content": "Is 0 even?\nThink first."},)
    assert first.max_tokens == 50 and second.max_tokens == 7
    assert second.messages[1] == {"role": "assistant", "content": "Let me think: 0 is divisible by 2."}
    assert second.messages[2]["role"] == "user" and "yes" in second.messages[2]["content"].lower()
    r = res.results[0]
    assert r.output.startswith("Let me think") and r.final_output == "Yes" and r.prediction == "Yes"


async def test_memoized_per_prompt_and_example():
    task = yes_no_task(4)
    lm = FakeLM()
    calls = []
    orig = lm._generate

    async def counting(request):
        calls.append(request)
        return await orig(request)

    lm._generate = counting
    ev = Evaluator(task, lm, two_round=False)
    a = await ev.evaluate("P1", split="eval")
    b = await ev.evaluate("P1", split="eval")
    assert len(calls) == 4 and [r.score for r in a.results] == [r.score for r in b.results]
    await ev.evaluate("P2", split="eval")
    assert len(calls) == 8


async def test_failed_calls_stop_evaluation_instead_of_scoring_wrong():
    task = yes_no_task(4)
    lm = ScriptedLM([LMServerError("HTTP 503")] * 4, retry=FAST)
    ev = Evaluator(task, lm, two_round=False, max_error_rate=0.25)
    with pytest.raises(EvaluationError, match="4 of 4 examples failed.*503"):
        await ev.evaluate("P", split="eval")


async def test_few_failures_are_counted_and_excluded_from_the_mean():
    task = yes_no_task(4)
    replies = ["Yes", LMServerError("HTTP 500"), "Yes", "No"]
    lm = ScriptedLM(replies, retry=FAST, concurrency=1)
    ev = Evaluator(task, lm, two_round=False, concurrency=1, max_error_rate=0.5)
    res = await ev.evaluate("P", split="eval")
    assert res.n_errors == 1
    assert res.results[1].error and "500" in res.results[1].error
    # 0 → Yes (right), 2 → Yes (right), 3 → No (right): mean over the 3 successful calls.
    assert res.score == 1.0
    # A failed example is not memoized: the next evaluation asks again.
    lm.add("No")
    again = await ev.evaluate("P", split="eval")
    assert again.n_errors == 0 and again.results[1].prediction == "No"


async def test_evaluate_many_keeps_prompt_order():
    task = yes_no_task(3)
    ev = Evaluator(task, FakeLM(), two_round=False)
    prompts = ["A", "B", "C"]
    results = await ev.evaluate_many(prompts, task.split("eval"))
    assert [r.prompt for r in results] == prompts


async def test_concurrency_is_bounded():
    task = yes_no_task(10)
    active = peak = 0

    class Slow(FakeLM):
        async def _generate(self, request):
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.005)
            active -= 1
            return await super()._generate(request)

    ev = Evaluator(task, Slow(concurrency=50), two_round=False, concurrency=3)
    await ev.evaluate("P", split="eval")
    assert peak == 3


async def test_several_prompts_are_scored_example_by_example_with_the_same_results():
    task = yes_no_task(4)
    prompts = ["P1", "P2", "P3"]
    lm = ScriptedLM(default=lambda r: "Yes", concurrency=1)
    ev = Evaluator(task, lm, two_round=False, concurrency=1)
    many = await ev.evaluate_many(prompts, task.split("eval"))
    # Requests go example-major: the three prompts on example 0, then on example 1, ...
    sent = [r.messages[0]["content"] for r in lm.history]
    assert sent[:3] == ["Is 0 even?\nP1", "Is 0 even?\nP2", "Is 0 even?\nP3"]
    assert sent[3].startswith("Is 1 even?")
    single = [await Evaluator(task, ScriptedLM(default=lambda r: "Yes"), two_round=False).evaluate(p, task.split("eval")) for p in prompts]
    assert [m.prompt for m in many] == prompts
    assert [m.score for m in many] == [s.score for s in single]
    assert [[r.prediction for r in m.results] for m in many] == [[r.prediction for r in s.results] for s in single]


async def test_each_worker_sends_one_examples_requests_back_to_back_with_its_affinity():
    """Two rounds, 3 prompts, 6 examples, 2 workers: every example's 6 requests form one
    uninterrupted run on one worker (so one server slot keeps the shared prefix cached)."""
    task = yes_no_task(6)
    prompts = ["P1", "P2", "P3"]

    class Slowish(ScriptedLM):
        async def _generate(self, request):
            await asyncio.sleep(0.001 * (len(self.history) % 3))
            return await super()._generate(request)

    lm = Slowish(default=lambda r: "Yes", concurrency=8)
    ev = Evaluator(task, lm, two_round=True, concurrency=2)
    many = await ev.evaluate_many(prompts, task.split("eval"))
    by_worker: dict[int, list[str]] = {}
    for r in lm.history:
        by_worker.setdefault(r.affinity, []).append(r.messages[0]["content"].split("\n")[0])
    assert set(by_worker) == {0, 1}
    for questions in by_worker.values():
        runs = [q for i, q in enumerate(questions) if i == 0 or questions[i - 1] != q]
        assert len(runs) == len(set(runs))  # an example is never interleaved with another
        assert all(questions.count(q) == 6 for q in set(questions))
    single = [await Evaluator(task, ScriptedLM(default=lambda r: "Yes"), two_round=True).evaluate(p, task.split("eval")) for p in prompts]
    assert [[r.to_dict() for r in m.results] for m in many] == [[r.to_dict() for r in s.results] for s in single]


async def test_few_examples_are_split_so_that_every_worker_has_work():
    task = yes_no_task(2)
    lm = ScriptedLM(default=lambda r: "Yes", concurrency=16)
    ev = Evaluator(task, lm, two_round=False, concurrency=8)
    await ev.evaluate_many([f"P{i}" for i in range(8)], task.split("eval"))
    assert len(lm.history) == 16
    assert len({r.affinity for r in lm.history}) == 8


async def test_affinity_is_not_part_of_the_cache_key(tmp_path):
    from gpo.lm import ResponseCache

    lm = ScriptedLM(default=lambda r: "Yes", cache=ResponseCache(tmp_path / "c.db"))
    await lm([{"role": "user", "content": "Is 2 even?"}], affinity=0)
    out = await lm([{"role": "user", "content": "Is 2 even?"}], affinity=5)
    assert out.usage.cached and len(lm.history) == 1
