"""The most each size of a run may be.

Larger values never finish (or exhaust memory) before they do anything useful, so
:meth:`gpo.protocol.RunConfig.build` refuses them, and the commands' options state the
bounds in their help. No import here beyond :mod:`gpo.errors`, so every command can read
the table when it is defined.
"""

from __future__ import annotations

from typing import Optional

from gpo.errors import ConfigError

__all__ = ["MAX_SIZES", "check_size", "most"]

MAX_SIZES: dict[str, tuple[int, str]] = {
    "steps": (10_000, "each step samples and scores new prompts; the paper's protocol runs 18 on a BBH task"),
    "epochs": (100, "the paper runs 3"),
    "num_candidates": (128, "the paper samples 8 per step"),
    "eval_limit": (100_000, "the paper's splits hold at most 300 examples"),
    "test_limit": (100_000, "the paper's splits hold at most 300 examples"),
    "concurrency": (1_024, "each example in flight holds a connection"),
    "max_resample_rounds": (10, "each round samples every candidate again"),
}
"""Each size's bound, and why."""


def check_size(name: str, value: Optional[int], flag: Optional[str] = None) -> None:
    """Refuses a size over its bound in :data:`MAX_SIZES`.

    Args:
        name: The setting's name in :data:`MAX_SIZES`.
        value: Its value (``None``: not set).
        flag: How the user wrote it (default: ``name=``).

    >>> check_size("num_candidates", 100_000_000)
    Traceback (most recent call last):
    ...
    gpo.errors.ConfigError: num_candidates=100000000 is more than 128, the most a run allows (the paper samples 8 per step)
    """
    most, why = MAX_SIZES[name]
    if value is not None and value > most:
        where = f"{flag} {value}" if flag else f"{name}={value}"
        raise ConfigError(f"{where} is more than {most}, the most a run allows", hint=why)


def most(name: str) -> int:
    """The bound of a size in :data:`MAX_SIZES`.

    >>> most("num_candidates")
    128
    """
    return MAX_SIZES[name][0]
