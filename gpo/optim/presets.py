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

from typing import Any, Callable

from gpo.errors import ConfigError
from gpo.optim.direction import CurrentInformation
from gpo.optim.momentum import NoMomentum, RecencyMomentum, RelevanceMomentum, SummaryMomentum
from gpo.optim.optimizer import LearningRate, PromptOptimizer

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
        refinement="generation",
        learning_rate=LearningRate("cosine", 50, 10),
        name="gpo",
    )
    return PromptOptimizer(**{**base, **overrides})


def APE(**overrides: Any) -> PromptOptimizer:
    """APE: propose new instructions from the demonstrations; no scores, no trajectory.

    References:
        Zhou et al., 2023. Large Language Models Are Human-Level Prompt Engineers. ICLR.
    """
    base = dict(
        information=CurrentInformation(score=False, reflection=False),
        momentum=NoMomentum(),
        refinement="generation",
        learning_rate=LearningRate("none"),
        name="ape",
    )
    return PromptOptimizer(**{**base, **overrides})


def APO(**overrides: Any) -> PromptOptimizer:
    """APO (ProTeGi): edit the prompt along a textual "gradient" (a reflection on its errors).

    References:
        Pryzant et al., 2023. Automatic Prompt Optimization with "Gradient Descent" and
        Beam Search. EMNLP.
    """
    base = dict(
        information=CurrentInformation(score=False, reflection=True),
        momentum=NoMomentum(),
        refinement="editing",
        learning_rate=LearningRate("none"),
        name="apo",
    )
    return PromptOptimizer(**{**base, **overrides})


def OPRO(**overrides: Any) -> PromptOptimizer:
    """OPRO: generate from earlier prompts with their scores (recency trajectory, k = 3).

    References:
        Yang et al., 2024. Large Language Models as Optimizers. ICLR.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=False),
        momentum=RecencyMomentum(3),
        refinement="generation",
        learning_rate=LearningRate("none"),
        name="opro",
    )
    return PromptOptimizer(**{**base, **overrides})


def PE2(**overrides: Any) -> PromptOptimizer:
    """PE2: scores and reflection, recency trajectory, a constant 30-word edit budget.

    References:
        Ye et al., 2024. Prompt Engineering a Prompt Engineer. Findings of ACL.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=True),
        momentum=RecencyMomentum(3),
        refinement="generation",
        learning_rate=LearningRate("constant", 30, 30),
        name="pe2",
    )
    return PromptOptimizer(**{**base, **overrides})


def SGDM(**overrides: Any) -> PromptOptimizer:
    """SGDM: edit along the reflection, with a running summary of past steps as momentum.

    References:
        GPO (Tang et al., 2025), section 4: the SGD-with-momentum analogue.
    """
    base = dict(
        information=CurrentInformation(score=True, reflection=True),
        momentum=SummaryMomentum(),
        refinement="editing",
        learning_rate=LearningRate("none"),
        name="sgdm",
    )
    return PromptOptimizer(**{**base, **overrides})


def CoT(**overrides: Any) -> PromptOptimizer:
    """Evaluation only: the zero-shot chain-of-thought instruction.

    References:
        Kojima et al., 2022. Large Language Models are Zero-Shot Reasoners. NeurIPS.
    """
    return PromptOptimizer(**{"evaluation_only": True, "initial_prompt": COT_PROMPT, "name": "cot", **overrides})


def Empty(**overrides: Any) -> PromptOptimizer:
    """Evaluation only: no instruction at all."""
    return PromptOptimizer(**{"evaluation_only": True, "initial_prompt": "", "name": "empty", **overrides})


PRESETS: dict[str, Callable[..., PromptOptimizer]] = {
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
