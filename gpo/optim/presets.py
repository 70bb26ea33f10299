"""GPO and its baselines as configurations of one framework.

| Method | current info | trajectory | step size | refinement |
|---|---|---|---|---|
| APE | P | none | none | generation |
| APO | P+R | none | none | editing |
| OPRO | P+M | recency | none | generation |
| PE2 | P+M+R | recency | constant 30 | generation |
| SGDM | P+M+R | summary | none | editing |
| GPO | P+M | relevance k=3 | cosine 50→10 | generation |

CoT and Empty are evaluation-only references. Every preset takes keyword overrides, so any
part can be swapped (the paper's ablations are ``GPO(momentum=...)`` and so on).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from gpo.errors import ConfigError
from gpo.optim.direction import CurrentInformation
from gpo.optim.edit_budget import LearningRate
from gpo.optim.momentum import NoMomentum, RecencyMomentum, RelevanceMomentum, SummaryMomentum
from gpo.optim.optimizer import PromptOptimizer
from gpo.optim.update import EditingUpdate, GenerationUpdate

COT_PROMPT = "Let's think step by step."


def GPO(**overrides: Any) -> PromptOptimizer:
    """GPO: P+M, relevance trajectory (k = 3), generation, cosine edit budget 50 → 10 words.

    References:
        GPO (Tang et al., 2025): Unleashing the Potential of Large Language Models as Prompt
        Optimizers: Analogical Analysis with Gradient-based Model Optimizers. AAAI 2025.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=False),
        momentum=RelevanceMomentum(3),
        update=GenerationUpdate(),
        learning_rate=LearningRate("cosine", 50, 10),
        name="gpo",
    )
    return PromptOptimizer.compose(**{**base, **overrides})


def APE(**overrides: Any) -> PromptOptimizer:
    """APE: propose new instructions from the demonstrations; no scores, no trajectory.

    References:
        Zhou et al., 2023. Large Language Models Are Human-Level Prompt Engineers. ICLR.
    """
    base = dict(
        information=CurrentInformation(score=False, reflection=False),
        momentum=NoMomentum(),
        update=GenerationUpdate(),
        learning_rate=LearningRate("none"),
        name="ape",
    )
    return PromptOptimizer.compose(**{**base, **overrides})


def APO(**overrides: Any) -> PromptOptimizer:
    """APO (ProTeGi): edit the prompt along a textual "gradient" (a reflection on its errors).

    References:
        Pryzant et al., 2023. Automatic Prompt Optimization with "Gradient Descent" and
        Beam Search. EMNLP.
    """
    base = dict(
        information=CurrentInformation(score=False, reflection=True),
        momentum=NoMomentum(),
        update=EditingUpdate(),
        learning_rate=LearningRate("none"),
        name="apo",
    )
    return PromptOptimizer.compose(**{**base, **overrides})


def OPRO(**overrides: Any) -> PromptOptimizer:
    """OPRO: generate from earlier prompts with their scores (recency trajectory, k = 3).

    References:
        Yang et al., 2024. Large Language Models as Optimizers. ICLR.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=False),
        momentum=RecencyMomentum(3),
        update=GenerationUpdate(),
        learning_rate=LearningRate("none"),
        name="opro",
    )
    return PromptOptimizer.compose(**{**base, **overrides})


def PE2(**overrides: Any) -> PromptOptimizer:
    """PE2: scores and reflection, recency trajectory, a constant 30-word edit budget.

    References:
        Ye et al., 2024. Prompt Engineering a Prompt Engineer. Findings of ACL.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=True),
        momentum=RecencyMomentum(3),
        update=GenerationUpdate(),
        learning_rate=LearningRate("constant", 30, 30),
        name="pe2",
    )
    return PromptOptimizer.compose(**{**base, **overrides})


def SGDM(**overrides: Any) -> PromptOptimizer:
    """SGDM: edit along the reflection, with a running summary of past steps as momentum.

    References:
        GPO (Tang et al., 2025), section 4: the SGD-with-momentum analogue.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=True),
        momentum=SummaryMomentum(),
        update=EditingUpdate(),
        learning_rate=LearningRate("none"),
        name="sgdm",
    )
    return PromptOptimizer.compose(**{**base, **overrides})


def CoT(**overrides: Any) -> PromptOptimizer:
    """Evaluation only: the zero-shot chain-of-thought instruction.

    References:
        Kojima et al., 2022. Large Language Models are Zero-Shot Reasoners. NeurIPS.
    """
    return PromptOptimizer.compose(**{"evaluation_only": True, "initial_prompt": COT_PROMPT, "name": "cot", **overrides})


def Empty(**overrides: Any) -> PromptOptimizer:
    """Evaluation only: no instruction at all."""
    return PromptOptimizer.compose(**{"evaluation_only": True, "initial_prompt": "", "name": "empty", **overrides})


PRESETS: dict[str, Callable[..., PromptOptimizer]] = {  # the names `--method` accepts
    "gpo": GPO,
    "ape": APE,
    "apo": APO,
    "opro": OPRO,
    "pe2": PE2,
    "sgdm": SGDM,
    "cot": CoT,
    "empty": Empty,
}


def get_preset(name: str, **overrides: Any) -> PromptOptimizer:
    """A preset optimizer by name, with overrides."""
    key = name.lower()
    if key not in PRESETS:
        raise ConfigError(f"unknown method {name!r}", hint=f"use one of {', '.join(PRESETS)}")
    return PRESETS[key](**overrides)


def build_optimizer(
    method: "str | PromptOptimizer",
    *,
    information: Optional[str] = None,
    trajectory: Optional[str] = None,
    k: Optional[int] = None,
    embedder: Optional[str] = None,
    refinement: Optional[str] = None,
    schedule: Optional[str] = None,
    lr_init: Optional[int] = None,
    lr_end: Optional[int] = None,
    warmup_steps: Optional[int] = None,
    selection: Optional[str] = None,
    reject_over_budget: Optional[bool] = None,
    max_resample_rounds: Optional[int] = None,
    batch_size: Optional[int] = None,
    num_candidates: Optional[int] = None,
    num_format_examples: Optional[int] = None,
    optimizer_temperature: Optional[float] = None,
    optimizer_max_tokens: Optional[int] = None,
    mistakes: Optional[int] = None,
    diverse_examples: Optional[bool] = None,
    hygiene: Optional[bool] = None,
    clip_over_budget: Optional[bool] = None,
    tie_break: Optional[int] = None,
    near_misses: Optional[bool] = None,
    rule_first: Optional[bool] = None,
    plain_examples: Optional[bool] = None,
    answer_notes: Optional[bool] = None,
    wrapped_answers_only: Optional[bool] = None,
    fill_candidates: Optional[bool] = None,
) -> PromptOptimizer:
    """A preset (or a given optimizer) with parts changed by name: what the CLI's flags do.

    Args:
        method: A preset name or an optimizer built in Python.
        information: ``P``, ``P+M``, ``P+R`` or ``P+M+R``.
        trajectory: ``none``, ``summary``, ``recency``, ``relevance`` or ``importance``.
        k: Prompts the trajectory shows.
        embedder: The relevance retriever's embedder spec.
        refinement: ``generation`` or ``editing``.
        schedule: ``none``, ``constant``, ``linear`` or ``cosine``.
        lr_init: Words before the first step.
        lr_end: Words at the last step.
        warmup_steps: Linear warm-up steps.
        selection: ``paper`` or ``elitist``.
        reject_over_budget: Resample candidates over the edit budget.
        max_resample_rounds: Resampling rounds per step.
        batch_size: Mini-batch size of reflections.
        num_candidates: Samples per step.
        num_format_examples: Demonstrations in the meta-prompt.
        optimizer_temperature: Sampling temperature of the optimizer.
        optimizer_max_tokens: Cap on each optimizer sample.
        mistakes: Wrong eval answers of the current prompt shown in the meta-prompt.
        diverse_examples: Demonstrations with different outputs.
        hygiene: Reject candidates that copy a demonstration or echo the meta-prompt.
        clip_over_budget: Clip candidates still over the edit budget to it.
        tie_break: Extra examples that break ties at the top of a step (0: none).
        near_misses: Then break ties by the answers right in substance, wrong in form.
        rule_first: Ask the optimizer to state the input-to-output rule before the prompt.
        plain_examples: Show examples as input/output pairs, without ``<Prompt>``.
        answer_notes: Say what most wrong answers have in common (:mod:`gpo.optim.diagnosis`).
        wrapped_answers_only: Show only the wrong answers that hold the expected output.
        fill_candidates: Resample until a step has ``num_candidates`` new prompts to score.
    """
    import dataclasses

    from gpo.optim.direction import parse_information
    from gpo.optim.momentum import RelevanceMomentum, make_momentum
    from gpo.optim.selection import TieBreak, make_selection

    opt = get_preset(method) if isinstance(method, str) else method
    changes: dict[str, Any] = {}
    if information is not None or batch_size is not None or mistakes is not None:
        info = opt.information
        if information is not None or batch_size is not None:
            info = dataclasses.replace(
                parse_information(information or info.name, batch_size or info.batch_size),
                max_shown=info.max_shown, mistakes=info.mistakes,
            )
        changes["information"] = info if mistakes is None else dataclasses.replace(info, mistakes=mistakes)
    if trajectory is not None or k is not None or embedder is not None:
        old = opt.momentum
        old_embedder = old.embedder if isinstance(old, RelevanceMomentum) else "auto"
        changes["momentum"] = make_momentum(trajectory or old.name, k or old.k or 3, embedder or old_embedder)
    if any(v is not None for v in (schedule, lr_init, lr_end, warmup_steps)):
        lr = opt.learning_rate if isinstance(opt.learning_rate, LearningRate) else LearningRate()
        changes["learning_rate"] = LearningRate(
            kind=schedule or lr.kind,
            init_value=lr.init_value if lr_init is None else lr_init,
            end_value=lr.end_value if lr_end is None else lr_end,
            warmup_steps=lr.warmup_steps if warmup_steps is None else warmup_steps,
        )
    if selection is not None or tie_break is not None or near_misses is not None:
        old_tb = opt.selection if isinstance(opt.selection, TieBreak) else None
        current = old_tb.selection if old_tb is not None else opt.selection
        rule = make_selection(selection) if selection is not None else current
        extra = tie_break if tie_break is not None else (old_tb.examples if old_tb else 0)
        misses = near_misses if near_misses is not None else (old_tb.near_misses if old_tb else False)
        changes["selection"] = TieBreak(rule, extra, misses) if extra or misses else rule
    for name, value in (
        ("refinement", refinement),
        ("reject_over_budget", reject_over_budget),
        ("max_resample_rounds", max_resample_rounds),
        ("num_candidates", num_candidates),
        ("num_format_examples", num_format_examples),
        ("temperature", optimizer_temperature),
        ("max_tokens", optimizer_max_tokens),
        ("diverse_examples", diverse_examples),
        ("hygiene", hygiene),
        ("clip_over_budget", clip_over_budget),
        ("rule_first", rule_first),
        ("plain_examples", plain_examples),
        ("answer_notes", answer_notes),
        ("wrapped_answers_only", wrapped_answers_only),
        ("fill_candidates", fill_candidates),
    ):
        if value is not None:
            changes[name] = value
    return opt.with_settings(**changes) if changes else opt
