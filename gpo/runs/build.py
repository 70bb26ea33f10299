"""Models and evaluators made from a configuration: one way for every command.

``gpo optimize``, ``gpo resume``, ``gpo replay``, ``gpo evaluate`` and the Python API all
make their task model, optimizer model and evaluator here, so they share defaults
(concurrency, answer caps) and policies (cache, budget, usage record).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from gpo.evaluate import Evaluator
from gpo.lm.base import LM
from gpo.tasks.base import Task

__all__ = ["make_evaluator", "make_lm", "default_concurrency"]


def default_concurrency(lm: LM) -> int:
    """Examples in progress: the model's parallel slots and a quarter more, at least 8.

    The model's own limit keeps its requests in flight at its slot count; the extra
    examples keep the slots busy while finished answers wait for their commit to the
    run's record (an answer counts only once it is stored).
    """
    slots = int(getattr(lm, "concurrency", 8) or 8)
    return max(8, slots + -(-slots // 4))


def make_evaluator(
    task: Task,
    lm: LM,
    *,
    two_round: bool,
    answer_tokens: int,
    follow_up_tokens: int = 100,
    concurrency: Optional[int] = None,
) -> Evaluator:
    """The evaluator of a task with the task model, with the shared concurrency default."""
    return Evaluator(
        task,
        lm,
        two_round=two_round,
        max_tokens=answer_tokens,
        follow_up_max_tokens=follow_up_tokens,
        concurrency=concurrency or default_concurrency(lm),
    )


def make_lm(spec_or_lm: Union[str, LM], *, concurrency: Optional[int] = None, **policy: Any) -> LM:
    """A model from a spec, or a given model pointed at the run's ledger and budget.

    Args:
        spec_or_lm: A model spec (``openai:…``, ``local:…``, ``fake:``) or a model.
        concurrency: Requests in flight to the model (``None``: the model's default).
        **policy: ``cache``, ``ledger``, ``budget`` and ``retry`` as :func:`gpo.lm.get_lm` takes them.
    """
    if isinstance(spec_or_lm, LM):
        if "ledger" in policy:
            spec_or_lm.ledger = policy["ledger"]
        if "budget" in policy:
            spec_or_lm.budget = policy["budget"]
        if concurrency is not None:
            spec_or_lm.concurrency = concurrency
        return spec_or_lm
    from gpo.lm import get_lm

    return get_lm(spec_or_lm, **policy, **({"concurrency": concurrency} if concurrency is not None else {}))
