"""The learning-rate part of an optimizer: a word-budget schedule it can hold and save.

An optimizer's ``learning_rate`` may be given, as in optax, in any of these forms, and
:func:`as_learning_rate` turns each into a part with ``build(total_steps) -> Schedule``:

* ``None`` (no limit) or a number of words (the same budget every step);
* a named schedule, :class:`LearningRate` (``"cosine"``, 50 → 10 words, …);
* a function of the step, ``t -> words`` (e.g. ``cosine_decay_schedule(50, 18, 10)``);
* a factory of the run's length, ``T -> schedule`` (e.g.
  ``lambda T: cosine_decay_schedule(50, T, 10)``): called with ``T``, it returns a
  function, where a schedule returns a number.

Named schedules and tables save as they are; a Python function is saved as the table of
its values over the run (:meth:`ScheduleFunction.resolve`), which rebuilds it exactly.

References:
    GPO (Tang et al., 2025), section 4 ("learning rate"): the edit budget as step size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from gpo.errors import ConfigError
from gpo.optim.learning_rate import Schedule, constant_schedule, make_schedule
from gpo.optim.parts import register_part

__all__ = ["LearningRate", "TabulatedSchedule", "ScheduleFunction", "as_learning_rate"]


@register_part("learning_rate.named")
@dataclass(frozen=True)
class LearningRate:
    """A named edit-budget schedule: ``none``, ``constant``, ``linear`` or ``cosine`` (+ warm-up).

    Args:
        kind: The schedule's name.
        init_value: ``w0``, words before the first step.
        end_value: ``w1``, words at the last step.
        warmup_steps: ``W``, steps of linear warm-up (0: none).

    >>> LearningRate("cosine", 50, 10).build(18)(1)
    49
    """

    kind: str = "cosine"
    init_value: int = 50
    end_value: int = 10
    warmup_steps: int = 0

    def build(self, total_steps: int) -> Schedule:
        """The schedule of a run of ``total_steps`` steps."""
        return make_schedule(
            self.kind,
            init_value=self.init_value,
            end_value=self.end_value,
            steps=max(1, total_steps),
            warmup_steps=self.warmup_steps,
        )

    def resolve(self, total_steps: int) -> "LearningRate":
        return self

    def describe(self) -> str:
        if self.kind == "none":
            return "none"
        if self.kind == "constant":
            text = f"constant({self.init_value})"
        else:
            text = f"{self.kind}({self.init_value}→{self.end_value})"
        return text + (f"+warmup({self.warmup_steps})" if self.warmup_steps else "")


@register_part("learning_rate.table")
@dataclass(frozen=True)
class TabulatedSchedule:
    """A schedule given by its values at steps ``1 … len(values)`` (later steps keep the last).

    >>> s = TabulatedSchedule((40, 30, None)).build(3)
    >>> [s(t) for t in range(1, 5)]
    [40, 30, None, None]
    """

    values: tuple[Optional[int], ...] = ()

    def build(self, total_steps: int) -> Schedule:
        values = self.values

        def schedule(t: int) -> Optional[int]:
            if not values:
                return None
            return values[min(max(int(t), 1), len(values)) - 1]

        return schedule

    def resolve(self, total_steps: int) -> "TabulatedSchedule":
        return self

    def describe(self) -> str:
        return "table(" + ", ".join("∞" if v is None else str(v) for v in self.values) + ")"


@dataclass(frozen=True)
class ScheduleFunction:
    """A schedule or a factory of schedules written in Python (not saved as such).

    Args:
        function: ``t -> words`` or ``T -> (t -> words)``.
    """

    function: Callable[[int], Any]

    def build(self, total_steps: int) -> Schedule:
        made = self.function(max(1, total_steps))
        return made if callable(made) else self.function

    def resolve(self, total_steps: int) -> TabulatedSchedule:
        """The table of this schedule's values over a run: what a run saves."""
        schedule = self.build(total_steps)
        values = tuple(_words(schedule(t)) for t in range(1, max(1, total_steps) + 1))
        return TabulatedSchedule(values)

    def describe(self) -> str:
        return f"function({getattr(self.function, '__name__', 'schedule')})"


def _words(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"a schedule returned {value!r}", hint="a schedule returns a number of words or None")
    return int(value)


LearningRateLike = Union[None, int, LearningRate, TabulatedSchedule, ScheduleFunction, Callable[[int], Any]]


def as_learning_rate(value: LearningRateLike) -> Any:
    """Any accepted form of a learning rate as a part with ``build(total_steps)``.

    >>> as_learning_rate(30).describe(), as_learning_rate(None).describe()
    ('constant(30)', 'none')
    >>> as_learning_rate(lambda t: 5).build(3)(2)
    5

    Raises:
        ConfigError: A negative or non-integer word count, or an unusable value.
    """
    if value is None:
        return LearningRate("none")
    if isinstance(value, bool):
        raise ConfigError(f"learning_rate cannot be {value!r}", hint="give words, a schedule or None")
    if isinstance(value, int):
        constant_schedule(value)  # validates
        return LearningRate("constant", value, value)
    if hasattr(value, "build") and hasattr(value, "describe"):
        return value
    if callable(value):
        return ScheduleFunction(value)
    raise ConfigError(
        f"learning_rate cannot be {value!r}",
        hint="give a number of words, LearningRate(...), a function of the step, or a factory of the run length",
    )
