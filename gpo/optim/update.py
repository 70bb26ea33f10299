"""The update: how the optimizer model turns the meta-prompt into new prompts.

``generation`` asks for a new prompt written from the demonstrations and the trajectory
(GPO's choice); ``editing`` asks to modify the current prompt. Either way the request says
how many words may change (the learning rate) when a schedule is set.

References:
    GPO (Tang et al., 2025), section 4.3 "Update method": editing vs. generation.
"""

from __future__ import annotations

from typing import Optional, Sequence

from gpo.errors import ConfigError
from gpo.optim import prompts as P
from gpo.optim.direction import CurrentInfo
from gpo.optim.momentum import TrajectoryView
from gpo.tasks.base import Example, Placement, display_target, render_placeholder

REFINEMENTS = ("generation", "editing")


def show_score(score: float) -> int:
    """Scores appear on a 0–100 scale, rounded.

    >>> show_score(0.4166)
    42
    """
    return round(score * 100)


def render_meta_prompt(
    refinement: str,
    info: CurrentInfo,
    view: TrajectoryView,
    examples: Sequence[Example],
    placement: Placement,
    n_words: Optional[int],
) -> str:
    """Assembles the meta-prompt text in the method's order.

    Args:
        refinement: ``generation`` or ``editing``.
        info: The current prompt, with its score and reflection when used.
        view: The trajectory entries (or summary) to show.
        examples: The demonstration (format) examples.
        placement: Where the task puts the instruction (shown as ``<Prompt>``).
        n_words: The edit budget in words (``None``: no limit stated).
    """
    if refinement not in REFINEMENTS:
        raise ConfigError(f"unknown refinement {refinement!r}", hint="use generation or editing")
    scored = info.score is not None
    parts = [P.TASK_INTRO]
    if view.entries:
        header = P.TRAJECTORY_SCORED if scored else P.TRAJECTORY_UNSCORED
        item = P.TRAJECTORY_ITEM_SCORED if scored else P.TRAJECTORY_ITEM_UNSCORED
        items = [item.format(prompt=e.prompt, score=show_score(e.score)) for e in view.entries]
        parts.append(header + "\n\n" + "\n\n".join(items))
    if view.summary:
        parts.append(P.SUMMARY_SECTION.format(summary=view.summary))
    if scored:
        parts.append(P.CURRENT_SCORED.format(prompt=info.prompt, score=show_score(info.score)))
    else:
        parts.append(P.CURRENT_UNSCORED.format(prompt=info.prompt))
    if info.reflection:
        parts.append(P.REFLECTION_SECTION.format(reflection=info.reflection))
    if examples:
        shown = "\n\n".join(
            P.EXAMPLE.format(
                input=render_placeholder(ex.input, placement), output=display_target(ex.target)
            )
            for ex in examples
        )
        parts.append(P.APPLICATION + "\n\n" + shown)
    parts.append(P.GENERATION_REQUEST if refinement == "generation" else P.EDITING_REQUEST)
    if n_words is not None:
        parts.append(P.EDIT_LIMIT.format(n_words=n_words))
    parts.append(P.OUTPUT_FORMAT)
    return "\n\n".join(parts)
