"""The "learning rate" of GPO: how many words of the current prompt a step may change.

GPO reads the edit budget of an optimization step as the step size of gradient
descent, and decays it over the run the way a learning rate is decayed. This module
holds that budget as *schedules*: pure functions from the step number to a word
count, built by optax-style factories (same names and arguments as
``optax.cosine_decay_schedule``, ``optax.linear_schedule`` and
``optax.join_schedules``).

Conventions, shared by every schedule here:

* Steps are 1-based: a run of ``T`` steps calls the schedule with ``t = 1 … T``.
  ``t = 0`` gives the value before the first step (the schedule's start), steps past
  the end are clamped to the last step, and negative steps are clamped to 0.
* A value is a non-negative ``int`` (the most words the optimizer may change in the
  step), or ``None`` for "no limit" (:func:`no_schedule`).
* Values are the formula's real value truncated to an integer, as in the paper; a
  tolerance of ``1e-9`` absorbs floating-point noise, so a value that is exactly an
  integer on paper (say 30 at the middle of a cosine decay over 26 steps) is never
  truncated to the integer below it.

References:
    GPO (Tang et al., 2025): Tang, Wang, Zhao, Lu, Li, Wen. *Unleashing the
    Potential of Large Language Models as Prompt Optimizers: Analogical Analysis with
    Gradient-based Model Optimizers.* arXiv:2402.17564 (AAAI 2025), section 4
    ("learning rate"), where cosine decay from 50 to 10 words without warm-up works
    best.
"""

from __future__ import annotations

import difflib
import math
from typing import Callable, Optional, Sequence

from gpo.errors import ConfigError

__all__ = [
    "SCHEDULE_KINDS",
    "Schedule",
    "constant_schedule",
    "cosine_decay_schedule",
    "join_schedules",
    "linear_schedule",
    "linear_warmup",
    "make_schedule",
    "no_schedule",
]

Schedule = Callable[[int], Optional[int]]
"""A step size: maps the 1-based step ``t`` to the word budget (``None``: no limit)."""

SCHEDULE_KINDS = ("none", "constant", "linear", "cosine")
"""The schedule kinds :func:`make_schedule` accepts."""

_EPS = 1e-9


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _words(value: object, name: str) -> int:
    """``value`` as a word count, or a ConfigError that says what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{name} must be a whole number of words, got {value!r}",
            hint="pass an int such as 50",
        )
    if value < 0:
        raise ConfigError(
            f"{name} must not be negative, got {value}",
            hint="a word budget is 0 or more words",
        )
    return value


def _steps(value: object, name: str, *, minimum: int = 1) -> int:
    """``value`` as a step count of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number of steps, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _clamp(t: int, total: int) -> int:
    """Step ``t`` clamped to ``[0, total]``."""
    return min(max(int(t), 0), total)


def _truncate(x: float) -> int:
    """``x`` truncated to a non-negative int, with floating-point noise absorbed."""
    return max(0, math.floor(x + _EPS))


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def no_schedule() -> Schedule:
    """A schedule without an edit limit: every step may change any number of words.

    Returns:
        A schedule that always returns ``None``.

    >>> no_schedule()(1) is None
    True

    References:
        GPO (Tang et al., 2025): the "w/o learning rate" variant, as used by APE,
        APO and OPRO.
    """

    def schedule(t: int) -> Optional[int]:
        return None

    return schedule


def constant_schedule(value: int) -> Schedule:
    """The same word budget at every step.

    Args:
        value: Most words a step may change (``>= 0``).

    Returns:
        A schedule that always returns ``value``.

    Raises:
        ConfigError: ``value`` is negative or not an int.

    >>> constant_schedule(30)(7)
    30

    References:
        GPO (Tang et al., 2025): the constant variant (PE2 uses 30 words).
    """
    value = _words(value, "value")

    def schedule(t: int) -> Optional[int]:
        return value

    return schedule


def linear_schedule(init_value: int, end_value: int, transition_steps: int) -> Schedule:
    """Linear decay from ``init_value`` to ``end_value`` over ``transition_steps`` steps.

    The value at step ``t`` is ``int(w0 - (w0 - w1) * t / T)`` with ``w0 = init_value``,
    ``w1 = end_value`` and ``T = transition_steps``.

    Args:
        init_value: The budget before the first step (``t = 0``).
        end_value: The budget at the last step (``t = T``) and after it.
        transition_steps: ``T``, the number of steps of the decay (``>= 1``).

    Returns:
        The schedule.

    Raises:
        ConfigError: A negative word count or fewer than one step.

    >>> s = linear_schedule(50, 10, transition_steps=4)
    >>> [s(t) for t in range(1, 5)]
    [40, 30, 20, 10]

    References:
        GPO (Tang et al., 2025): the linear-decay variant of the learning rate.
    """
    w0 = _words(init_value, "init_value")
    w1 = _words(end_value, "end_value")
    total = _steps(transition_steps, "transition_steps")

    def schedule(t: int) -> Optional[int]:
        t = _clamp(t, total)
        return _truncate(w0 - (w0 - w1) * t / total)

    return schedule


def cosine_decay_schedule(init_value: int, decay_steps: int, end_value: int = 0) -> Schedule:
    """Cosine decay from ``init_value`` to ``end_value`` over ``decay_steps`` steps.

    The value at step ``t`` is ``int(w1 + (w0 - w1) * 0.5 * (1 + cos(pi * t / T)))``
    with ``w0 = init_value``, ``w1 = end_value`` and ``T = decay_steps`` (the argument
    order follows ``optax.cosine_decay_schedule``).

    Args:
        init_value: The budget before the first step (``t = 0``).
        decay_steps: ``T``, the number of steps of the decay (``>= 1``).
        end_value: The budget at the last step (``t = T``) and after it.

    Returns:
        The schedule.

    Raises:
        ConfigError: A negative word count or fewer than one step.

    >>> s = cosine_decay_schedule(50, decay_steps=18, end_value=10)
    >>> [s(t) for t in range(1, 19)]
    [49, 48, 47, 45, 42, 40, 36, 33, 30, 26, 23, 20, 17, 14, 12, 11, 10, 10]

    References:
        GPO (Tang et al., 2025): cosine decay from 50 to 10 words is GPO's default.
    """
    w0 = _words(init_value, "init_value")
    w1 = _words(end_value, "end_value")
    total = _steps(decay_steps, "decay_steps")

    def schedule(t: int) -> Optional[int]:
        t = _clamp(t, total)
        return _truncate(w1 + (w0 - w1) * 0.5 * (1.0 + math.cos(math.pi * t / total)))

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Runs schedules one after the other, each restarted at its boundary.

    As in ``optax.join_schedules``: ``schedules[0]`` serves the steps before
    ``boundaries[0]``; from step ``b = boundaries[i]`` on, ``schedules[i + 1]`` is
    called with ``t - b``, so it starts from its own step 0 (its initial value) at
    step ``b``.

    Args:
        schedules: ``n`` schedules.
        boundaries: ``n - 1`` increasing, non-negative step numbers.

    Returns:
        The joined schedule.

    Raises:
        ConfigError: The counts do not match or the boundaries do not increase.

    >>> s = join_schedules([constant_schedule(5), linear_schedule(40, 20, 2)], [3])
    >>> [s(t) for t in range(1, 7)]
    [5, 5, 40, 30, 20, 20]
    """
    schedules = list(schedules)
    bounds = [_steps(b, "boundary", minimum=0) for b in boundaries]
    if not schedules:
        raise ConfigError("join_schedules needs at least one schedule")
    if len(bounds) != len(schedules) - 1:
        raise ConfigError(
            f"join_schedules needs one boundary fewer than schedules, got "
            f"{len(schedules)} schedules and {len(bounds)} boundaries"
        )
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
        raise ConfigError(f"boundaries must increase, got {bounds}")

    def schedule(t: int) -> Optional[int]:
        offset = 0
        current = schedules[0]
        for boundary, nxt in zip(bounds, schedules[1:]):
            if t >= boundary:
                offset, current = boundary, nxt
            else:
                break
        return current(t - offset)

    return schedule


def linear_warmup(
    schedule: Schedule, warmup_steps: int, init_value: Optional[int] = None
) -> Schedule:
    """Prepends a linear warm-up from 0 words to ``init_value`` to a schedule.

    For ``t < W`` (``W = warmup_steps``) the value is ``int(w0 * t / W)``; from step
    ``W`` on, ``schedule`` is restarted: it is called with ``t - W``, so build it over
    the ``T - W`` steps that remain (``make_schedule`` does). With ``W = 0`` the
    schedule is returned unchanged.

    Args:
        schedule: The schedule that follows the warm-up, built over ``T - W`` steps.
        warmup_steps: ``W``, the warm-up length (``>= 0``).
        init_value: ``w0``, the value the warm-up climbs to; by default the
            schedule's own start value ``schedule(0)``.

    Returns:
        The schedule with its warm-up.

    Raises:
        ConfigError: The schedule has no limit to warm up to (``schedule(0)`` is
            ``None``) and no ``init_value`` is given, or a bad number.

    >>> s = linear_warmup(cosine_decay_schedule(50, 15, 10), warmup_steps=3)
    >>> [s(t) for t in range(1, 6)]
    [16, 33, 50, 49, 48]

    References:
        GPO (Tang et al., 2025): the warm-up variant (it hurt in every ablation).
    """
    warmup = _steps(warmup_steps, "warmup_steps", minimum=0)
    if warmup == 0:
        return schedule
    peak = schedule(0) if init_value is None else init_value
    if peak is None:
        raise ConfigError(
            "a warm-up needs a word limit to climb to, and this schedule has none",
            hint="pass init_value, or use warmup_steps=0 with no limit",
        )
    peak = _words(peak, "init_value")

    def ramp(t: int) -> Optional[int]:
        t = _clamp(t, warmup)
        return peak * t // warmup

    return join_schedules([ramp, schedule], [warmup])


def make_schedule(
    kind: str,
    *,
    init_value: int = 50,
    end_value: int = 10,
    steps: int,
    warmup_steps: int = 0,
) -> Schedule:
    """Builds the edit-budget schedule of a run of ``steps`` steps from its name.

    Args:
        kind: ``"none"`` (no limit), ``"constant"`` (``init_value`` every step),
            ``"linear"`` or ``"cosine"`` (decay from ``init_value`` to ``end_value``).
            Case and surrounding spaces are ignored.
        init_value: ``w0`` in words.
        end_value: ``w1`` in words (ignored by ``none`` and ``constant``).
        steps: ``T``, the number of optimization steps of the run.
        warmup_steps: ``W``; when positive, a linear warm-up from 0 to ``init_value``
            runs for ``t < W`` and the decay is restarted over the ``T - W`` steps
            that remain.

    Returns:
        The schedule, to be called with ``t = 1 … steps``.

    Raises:
        ConfigError: An unknown kind (with the closest known one as a hint), a
            negative word count, ``steps < 1``, a negative warm-up,
            ``warmup_steps >= steps``, or a warm-up without a limit (``none``).

    >>> s = make_schedule("cosine", steps=9)
    >>> [s(t) for t in range(1, 10)]
    [48, 45, 40, 33, 26, 20, 14, 11, 10]
    >>> make_schedule("linear", init_value=30, end_value=10, steps=2)(1)
    20

    References:
        GPO (Tang et al., 2025): GPO uses ``make_schedule("cosine", init_value=50,
        end_value=10, steps=T)``.
    """
    if not isinstance(kind, str):
        raise ConfigError(f"schedule kind must be a string, got {kind!r}")
    name = kind.strip().lower()
    if name not in SCHEDULE_KINDS:
        close = difflib.get_close_matches(name, SCHEDULE_KINDS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else None
        raise ConfigError(
            f"unknown schedule {kind!r}; choose one of {', '.join(SCHEDULE_KINDS)}",
            hint=hint,
        )
    total = _steps(steps, "steps")
    warmup = _steps(warmup_steps, "warmup_steps", minimum=0)
    if warmup >= total:
        raise ConfigError(
            f"warmup_steps ({warmup}) must be smaller than steps ({total})",
            hint="leave at least one step after the warm-up",
        )
    w0 = _words(init_value, "init_value")
    w1 = _words(end_value, "end_value")
    if name == "none":
        if warmup:
            raise ConfigError(
                "a warm-up needs a word limit, and the schedule 'none' has none",
                hint="use warmup_steps=0, or a 'constant', 'linear' or 'cosine' schedule",
            )
        return no_schedule()
    if name == "constant":
        base = constant_schedule(w0)
    elif name == "linear":
        base = linear_schedule(w0, w1, total - warmup)
    else:
        base = cosine_decay_schedule(w0, total - warmup, w1)
    return linear_warmup(base, warmup, w0)
