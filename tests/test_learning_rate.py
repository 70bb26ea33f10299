"""Tests of gpo.optim.learning_rate: the edit-budget schedules, against the paper's numbers.

The expected lists are literals written from the formulas of the method doc
(``int(w1 + (w0 - w1) * 0.5 * (1 + cos(pi * t / T)))`` for cosine decay,
``int(w0 - (w0 - w1) * t / T)`` for linear decay), not recomputed by the tests.
"""

from __future__ import annotations

import doctest

import pytest

import gpo.optim.learning_rate as lr
from gpo.errors import ConfigError
from gpo.optim.learning_rate import (
    constant_schedule,
    cosine_decay_schedule,
    join_schedules,
    linear_schedule,
    linear_warmup,
    make_schedule,
    no_schedule,
)

# GPO's default: cosine decay from 50 to 10 words.
COSINE_T18 = [49, 48, 47, 45, 42, 40, 36, 33, 30, 26, 23, 20, 17, 14, 12, 11, 10, 10]  # BBH
COSINE_T9 = [48, 45, 40, 33, 26, 20, 14, 11, 10]  # MMLU: 20 train examples, 3 epochs
COSINE_T12 = [49, 47, 44, 40, 35, 30, 24, 20, 15, 12, 10, 10]
COSINE_T15 = [49, 48, 46, 43, 40, 36, 32, 27, 23, 20, 16, 13, 11, 10, 10]
# Linear decay from 50 to 10 words.
LINEAR_T18 = [47, 45, 43, 41, 38, 36, 34, 32, 30, 27, 25, 23, 21, 18, 16, 14, 12, 10]
LINEAR_T9 = [45, 41, 36, 32, 27, 23, 18, 14, 10]
LINEAR_T12 = [46, 43, 40, 36, 33, 30, 26, 23, 20, 16, 13, 10]


def values(schedule, steps):
    return [schedule(t) for t in range(1, steps + 1)]


# -- cosine -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "steps, expected", [(18, COSINE_T18), (9, COSINE_T9), (12, COSINE_T12), (15, COSINE_T15)]
)
def test_cosine_reproduces_the_paper_numbers(steps, expected):
    schedule = cosine_decay_schedule(50, decay_steps=steps, end_value=10)
    assert values(schedule, steps) == expected
    assert all(type(v) is int for v in values(schedule, steps))


def test_cosine_argument_order_follows_optax():
    # optax.cosine_decay_schedule(init_value, decay_steps, alpha/end): positional use.
    assert values(cosine_decay_schedule(50, 18, 10), 18) == COSINE_T18


def test_cosine_start_end_and_clamping():
    schedule = cosine_decay_schedule(50, decay_steps=18, end_value=10)
    assert schedule(0) == 50
    assert schedule(-3) == 50
    assert schedule(18) == 10
    assert schedule(19) == 10
    assert schedule(1000) == 10


def test_cosine_exact_integers_survive_floating_point_noise():
    """cos(pi/2), cos(pi/3) and cos(2pi/3) land exactly on 30, 40 and 20 words on paper.

    Plain float truncation gives 29 at T = 26, t = 13 and 19 at T = 39, t = 26.
    """
    wrong = []
    for steps in range(2, 241):
        schedule = cosine_decay_schedule(50, decay_steps=steps, end_value=10)
        checks = []
        if steps % 2 == 0:
            checks.append((steps // 2, 30))
        if steps % 3 == 0:
            checks += [(steps // 3, 40), (2 * steps // 3, 20)]
        wrong += [(steps, t, schedule(t)) for t, want in checks if schedule(t) != want]
    assert wrong == []


def test_cosine_can_rise_and_never_goes_negative():
    rising = cosine_decay_schedule(0, decay_steps=4, end_value=20)
    assert values(rising, 4) == [2, 10, 17, 20]
    assert min(values(cosine_decay_schedule(3, 7, 0), 7)) == 0


# -- linear, constant, none ---------------------------------------------------------------


@pytest.mark.parametrize(
    "steps, expected", [(18, LINEAR_T18), (9, LINEAR_T9), (12, LINEAR_T12)]
)
def test_linear_values(steps, expected):
    schedule = linear_schedule(50, 10, transition_steps=steps)
    assert values(schedule, steps) == expected


def test_linear_clamps_and_starts_at_init():
    schedule = linear_schedule(50, 10, transition_steps=4)
    assert [schedule(t) for t in (-1, 0, 4, 5, 99)] == [50, 50, 10, 10, 10]


def test_linear_exact_at_round_fractions():
    # 50 - 40 * 5 / 20 = 40 exactly; 50 - 40 * 15 / 20 = 20 exactly.
    schedule = linear_schedule(50, 10, transition_steps=20)
    assert schedule(5) == 40
    assert schedule(15) == 20


def test_constant_and_none():
    assert values(constant_schedule(30), 5) == [30, 30, 30, 30, 30]
    assert constant_schedule(0)(3) == 0
    assert values(no_schedule(), 3) == [None, None, None]


# -- warm-up and join --------------------------------------------------------------------


def test_warmup_then_cosine_restarted_over_the_remaining_steps():
    # W = 3, T = 18: int(50 * t / 3) for t = 1, 2; then cosine over 15 steps, from t = 3.
    schedule = make_schedule("cosine", steps=18, warmup_steps=3)
    assert values(schedule, 18) == [16, 33, 50] + COSINE_T15
    assert schedule(0) == 0
    assert schedule(25) == 10


def test_linear_warmup_with_linear_decay():
    # W = 6, T = 12: int(50 * t / 6) = 8, 16, 25, 33, 41; then linear 50 -> 10 over 6 steps.
    schedule = make_schedule("linear", steps=12, warmup_steps=6)
    assert values(schedule, 12) == [8, 16, 25, 33, 41, 50, 43, 36, 30, 23, 16, 10]


def test_warmup_of_a_constant_budget():
    schedule = make_schedule("constant", init_value=30, steps=8, warmup_steps=4)
    assert values(schedule, 8) == [7, 15, 22, 30, 30, 30, 30, 30]


def test_linear_warmup_defaults_to_the_schedule_start_and_accepts_a_peak():
    base = cosine_decay_schedule(40, 10, 10)
    assert values(linear_warmup(base, 4), 4) == [10, 20, 30, 40]
    assert values(linear_warmup(base, 4, init_value=20), 4) == [5, 10, 15, 40]
    assert linear_warmup(base, 0) is base


def test_linear_warmup_needs_a_limit():
    with pytest.raises(ConfigError, match="word limit"):
        linear_warmup(no_schedule(), 3)
    assert values(linear_warmup(no_schedule(), 2, init_value=10), 3) == [5, None, None]


def test_join_schedules_restarts_the_next_schedule_at_its_boundary():
    first = constant_schedule(7)
    second = linear_schedule(40, 20, transition_steps=2)
    third = constant_schedule(3)
    joined = join_schedules([first, second, third], boundaries=[3, 5])
    # t < 3: first; 3 <= t < 5: second(t - 3); t >= 5: third(t - 5).
    assert [joined(t) for t in range(0, 8)] == [7, 7, 7, 40, 30, 3, 3, 3]


def test_join_schedules_passes_the_shifted_step():
    calls = []

    def spy(t):
        calls.append(t)
        return t

    joined = join_schedules([constant_schedule(1), spy], boundaries=[4])
    assert [joined(t) for t in (3, 4, 5, 9)] == [1, 0, 1, 5]
    assert calls == [0, 1, 5]


def test_join_schedules_single_schedule_is_itself():
    joined = join_schedules([constant_schedule(9)], boundaries=[])
    assert values(joined, 3) == [9, 9, 9]


@pytest.mark.parametrize(
    "schedules, boundaries, message",
    [
        ([], [], "at least one"),
        ([constant_schedule(1), constant_schedule(2)], [], "one boundary fewer"),
        ([constant_schedule(1)], [3], "one boundary fewer"),
        ([constant_schedule(1)] * 3, [5, 5], "increase"),
        ([constant_schedule(1)] * 3, [6, 2], "increase"),
        ([constant_schedule(1)] * 2, [-1], "at least 0"),
    ],
)
def test_join_schedules_errors(schedules, boundaries, message):
    with pytest.raises(ConfigError, match=message):
        join_schedules(schedules, boundaries)


# -- make_schedule ------------------------------------------------------------------------


def test_make_schedule_gpo_default():
    assert values(make_schedule("cosine", steps=18), 18) == COSINE_T18
    assert values(make_schedule("cosine", steps=9), 9) == COSINE_T9
    assert values(make_schedule(" Cosine ", init_value=50, end_value=10, steps=12), 12) == COSINE_T12


def test_make_schedule_other_kinds():
    assert values(make_schedule("linear", steps=18), 18) == LINEAR_T18
    assert values(make_schedule("constant", init_value=30, end_value=5, steps=4), 4) == [30] * 4
    assert values(make_schedule("none", steps=4), 4) == [None] * 4


def test_make_schedule_rejects_the_research_code_misspelling_with_a_hint():
    with pytest.raises(ConfigError) as info:
        make_schedule("consine", steps=18)
    assert "unknown schedule 'consine'" in info.value.message
    assert info.value.hint == "did you mean 'cosine'?"


def test_make_schedule_unknown_kind_without_close_match():
    with pytest.raises(ConfigError) as info:
        make_schedule("exponential", steps=18)
    assert info.value.hint is None
    assert "none, constant, linear, cosine" in info.value.message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="cosine", steps=0), "steps must be at least 1"),
        (dict(kind="cosine", steps=-4), "steps must be at least 1"),
        (dict(kind="cosine", steps=18.0), "whole number of steps"),
        (dict(kind="cosine", steps=True), "whole number of steps"),
        (dict(kind="cosine", steps=18, init_value=-1), "init_value must not be negative"),
        (dict(kind="linear", steps=18, end_value=-5), "end_value must not be negative"),
        (dict(kind="constant", steps=18, init_value=2.5), "whole number of words"),
        (dict(kind="cosine", steps=18, warmup_steps=18), "smaller than steps"),
        (dict(kind="cosine", steps=18, warmup_steps=30), "smaller than steps"),
        (dict(kind="cosine", steps=18, warmup_steps=-1), "warmup_steps must be at least 0"),
        (dict(kind="none", steps=18, warmup_steps=2), "needs a word limit"),
        (dict(kind=None, steps=18), "must be a string"),
    ],
)
def test_make_schedule_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_schedule(**kwargs)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: cosine_decay_schedule(50, 0, 10),
        lambda: linear_schedule(50, 10, 0),
        lambda: cosine_decay_schedule(-1, 5, 10),
        lambda: linear_schedule(50, -10, 5),
        lambda: constant_schedule(-3),
        lambda: constant_schedule("30"),
    ],
)
def test_factories_validate(factory):
    with pytest.raises(ConfigError):
        factory()


def test_doctests_pass():
    result = doctest.testmod(lr)
    assert result.attempted >= 8
    assert result.failed == 0
