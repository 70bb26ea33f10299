"""The update: how the optimizer model turns the meta-prompt into new prompts.

``generation`` asks for a new prompt written from the demonstrations and the trajectory
(GPO's choice); ``editing`` asks to modify the current prompt. Either way the request says
how many words may change (the learning rate) when a schedule is set.

References:
    GPO (Tang et al., 2025), section 4.3 "Update method": editing vs. generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

from gpo.errors import ConfigError
from gpo.optim import prompts as P
from gpo.optim.candidates import make_candidates
from gpo.optim.diagnosis import answer_form_note, wrapped_answer
from gpo.optim.direction import CurrentInfo
from gpo.optim.momentum import TrajectoryView
from gpo.optim.parts import register_part
from gpo.optim.state import Candidate
from gpo.tasks.base import Example, Placement, display_target, render_placeholder

if TYPE_CHECKING:
    from gpo.optim.objective import StepCalls

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
    rule_first: bool = False,
    plain_examples: bool = False,
    answer_notes: bool = False,
    wrapped_answers_only: bool = False,
) -> str:
    """Assembles the meta-prompt text in the method's order.

    Args:
        refinement: ``generation`` or ``editing``.
        info: The current prompt, with its score and reflection when used.
        view: The trajectory entries (or summary) to show.
        examples: The demonstration (format) examples.
        placement: Where the task puts the instruction (shown as ``<Prompt>``).
        n_words: The edit budget in words (``None``: no limit stated).
        rule_first: Ask for the input-to-output rule in one line before the prompt.
        plain_examples: Show examples and mistakes as plain input/output pairs and say in
            words where the prompt goes, instead of marking its place with ``<Prompt>``.
        answer_notes: After the mistakes, say what most of them have in common
            (:func:`gpo.optim.diagnosis.answer_form_note`).
        wrapped_answers_only: Show the model's answer to a wrong example only when it
            holds the expected output inside a longer answer
            (:func:`gpo.optim.diagnosis.wrapped_answer`); other wrong examples show their
            input and expected output alone.
    """
    if refinement not in REFINEMENTS:
        raise ConfigError(f"unknown refinement {refinement!r}", hint="use generation or editing")
    scored = info.score is not None
    if plain_examples:
        parts = [P.TASK_INTRO_PLAIN.format(where=P.PLACEMENT_WORDS[placement])]
        shown_input = str
    else:
        parts = [P.TASK_INTRO]
        shown_input = lambda question: render_placeholder(question, placement)  # noqa: E731
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
    if info.mistakes:
        mistake = P.MISTAKE_PLAIN if plain_examples else P.MISTAKE
        bare = P.MISTAKE_WITHOUT_ANSWER_PLAIN if plain_examples else P.MISTAKE_WITHOUT_ANSWER
        answered = [not wrapped_answers_only or wrapped_answer(o, t) for _, o, t in info.mistakes]
        shown = "\n\n".join(
            (mistake if with_answer else bare).format(input=shown_input(i), output=o, target=t)
            for (i, o, t), with_answer in zip(info.mistakes, answered)
        )
        note = answer_form_note(info.mistakes) if answer_notes else None
        header = P.MISTAKES_SECTION if all(answered) else P.MISTAKES_SECTION_SOME_ANSWERS
        parts.append(header + "\n\n" + shown + (f"\n\n{note}" if note else ""))
    if examples:
        example = P.EXAMPLE_PLAIN if plain_examples else P.EXAMPLE
        shown = "\n\n".join(
            example.format(input=shown_input(ex.input), output=display_target(ex.target)) for ex in examples
        )
        parts.append((P.APPLICATION_PLAIN if plain_examples else P.APPLICATION) + "\n\n" + shown)
    parts.append(P.GENERATION_REQUEST if refinement == "generation" else P.EDITING_REQUEST)
    if n_words is not None:
        parts.append(P.EDIT_LIMIT.format(n_words=n_words))
    parts.append(P.OUTPUT_FORMAT_RULE_FIRST if rule_first else P.OUTPUT_FORMAT)
    return "\n\n".join(parts)


@dataclass(frozen=True)
class Update:
    """The update: render the meta-prompt, sample the optimizer, parse the candidates.

    Args:
        num_candidates: Samples drawn per step.
        temperature: Sampling temperature.
        max_tokens: Cap on each sample (and on reflections and summaries).
        reject_over_budget: Reject and resample candidates that change more words than
            the step's budget allows.
        max_resample_rounds: Resampling rounds per step (rejecting over budget, filling).
        clip_over_budget: Clip the change of a candidate still over budget after the
            last round to the budget (:func:`gpo.optim.edits.clip_edits`), so the learning
            rate bounds every scored candidate; without ``reject_over_budget``, every
            round's candidates are clipped. Beyond the paper.
        fill_candidates: Sample again, up to ``max_resample_rounds`` more rounds, until
            the step has ``num_candidates`` new prompts to score: a rejected candidate
            (no prompt, over budget, failed hygiene) or a repeat of a prompt already
            scored does not count, and its place is sampled anew. Without it a step scores
            only what the first samples yield: in the quality suite's `ii` runs a small
            optimizer's step under a 10-word budget yielded 26 new prompts from 54
            samples. Beyond the paper.
        hygiene: Strip preambles and reject candidates that copy a demonstration or echo
            the meta-prompt, by similarity (:mod:`gpo.optim.hygiene`); a rejected
            candidate whose completion stated a rule is replaced by that rule. Beyond the paper.
        rule_first: Ask the optimizer to state, in one line, the rule that turns inputs
            into outputs before it writes the prompt, and add that rule to a prompt that
            does not carry it (small models often state the right rule, then write a
            prompt without it). Beyond the paper.
        plain_examples: Show the demonstrations and mistakes as plain input/output pairs
            and say in words where the prompt goes; the paper marks its place in each
            input with ``<Prompt>``, which small models take for text to replace. Beyond
            the paper.
        answer_notes: Say in the meta-prompt when most of the wrong answers shown hold the
            expected output inside a longer answer (:mod:`gpo.optim.diagnosis`). Beyond the
            paper.
        wrapped_answers_only: Of the wrong answers shown, show only those that hold the
            expected output inside a longer answer; the other wrong examples show their
            input and expected output alone. A small optimizer model copies the wording of
            a wrong answer into its rule: shown "To convert the number 4685 into its
            decimal equivalent, …", Qwen2.5-Coder-1.5B wrote rules about decimal
            equivalents for ii/num_to_verbal, and about binary for ii/diff, in 9 of 9
            samples; with those answers left out, 12 of 12 samples stated the right rule
            (numbers in words, subtraction). Beyond the paper.
    """

    num_candidates: int = 8
    temperature: float = 1.0
    max_tokens: int = 512
    reject_over_budget: bool = False
    max_resample_rounds: int = 2
    clip_over_budget: bool = False
    hygiene: bool = False
    rule_first: bool = False
    plain_examples: bool = False
    answer_notes: bool = False
    wrapped_answers_only: bool = False
    fill_candidates: bool = False
    refinement = "generation"

    def __post_init__(self) -> None:
        if self.num_candidates < 1:
            raise ConfigError(f"num_candidates must be at least 1, got {self.num_candidates}")
        if self.max_resample_rounds < 0:
            raise ConfigError("max_resample_rounds cannot be negative")

    @property
    def name(self) -> str:
        return self.refinement

    def render(
        self,
        info: CurrentInfo,
        view: TrajectoryView,
        examples: Sequence[Example],
        placement: Placement,
        n_words: Optional[int],
    ) -> str:
        """The meta-prompt of a step."""
        return render_meta_prompt(
            self.refinement, info, view, examples, placement, n_words, self.rule_first, self.plain_examples,
            self.answer_notes, self.wrapped_answers_only,
        )

    async def propose(
        self,
        text: str,
        *,
        calls: "StepCalls",
        current: str,
        seen: Iterable[str],
        budget: Optional[int],
        examples: Sequence[tuple[str, str]],
        echo_source: str = "",
    ) -> list[Candidate]:
        """Samples the meta-prompt and parses the candidates, resampling those over budget.

        Args:
            text: The meta-prompt.
            calls: The step's optimizer calls.
            current: The current prompt.
            seen: Prompts already scored in the run.
            budget: The step's word budget (``None``: no limit).
            examples: The demonstrations shown, as ``(input, output)`` (copies are rejected).
            echo_source: The meta-prompt's own wording, without the prompts it shows.

        Returns:
            Every candidate of every round, in sample order. Rounds after the first
            replace the over-budget rejects (``reject_over_budget``) or, with
            ``fill_candidates``, every sample that left the step short of
            ``num_candidates`` new prompts.
        """
        messages = [{"role": "user", "content": text}]
        known = set(seen)
        out: list[Candidate] = []
        want, round_ = self.num_candidates, 0
        clean = self._hygiene(examples, echo_source) if self.hygiene else None
        rule_of = None
        if self.rule_first:
            from gpo.optim.hygiene import rule_line as rule_of
        resampling = self.reject_over_budget or self.fill_candidates
        while True:
            last = not resampling or round_ >= self.max_resample_rounds
            texts, mp_id = await calls.sample(
                messages, n=want, temperature=self.temperature, max_tokens=self.max_tokens, round_=round_
            )
            reject = self.reject_over_budget and not (last and self.clip_over_budget)
            cands = make_candidates(
                texts,
                current=current,
                seen=known | {c.prompt for c in out if c.scored},
                budget=budget,
                reject_over_budget=reject,
                start_index=len(out),
                examples=[inp for inp, _ in examples],
                step=calls.step,
                clip_over_budget=self.clip_over_budget and not reject,
                hygiene=clean,
                rule_of=rule_of,
            )
            for c in cands:
                c.meta_prompt_id = mp_id
            out.extend(cands)
            if self.fill_candidates:
                want = self.num_candidates - sum(c.fresh for c in out)
            else:
                want = sum(c.over_budget and not c.ok for c in cands)
            if last or want <= 0:
                return out
            round_ += 1

    @staticmethod
    def _hygiene(examples: Sequence[tuple[str, str]], echo_source: str):
        from gpo.optim.hygiene import hygiene_reason, rule_line, strip_preamble, strip_score_echo

        def clean(text: str, raw: str = "") -> tuple[str, Optional[str]]:
            text = strip_score_echo(strip_preamble(text))
            reason = hygiene_reason(text, examples=examples, meta_prompt_template=echo_source)
            rule = rule_line(raw) if reason else None
            if rule and not hygiene_reason(rule, examples=examples, meta_prompt_template=echo_source):
                return rule, None
            return text, reason

        return clean


@register_part("update.generation")
@dataclass(frozen=True)
class GenerationUpdate(Update):
    """Write a new prompt from the demonstrations and the trajectory (GPO's choice)."""

    refinement = "generation"


@register_part("update.editing")
@dataclass(frozen=True)
class EditingUpdate(Update):
    """Modify the current prompt (APO, SGDM)."""

    refinement = "editing"


def make_update(refinement: str, **settings) -> Update:
    """An update by name: ``generation`` or ``editing``."""
    if refinement not in REFINEMENTS:
        raise ConfigError(f"unknown refinement {refinement!r}", hint="use generation or editing")
    return (GenerationUpdate if refinement == "generation" else EditingUpdate)(**settings)
