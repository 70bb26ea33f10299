"""Typed errors. The CLI turns each into one line that says what to do.

Every error carries an optional ``hint``: the action that fixes it.
"""

from __future__ import annotations


class GPOError(Exception):
    """Base class of every error ``gpo`` raises on purpose.

    Args:
        message: What is wrong.
        hint: What the user should do about it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(GPOError):
    """A setting, option or specification string is invalid."""


class DataError(GPOError):
    """A data folder, file, record or split is missing or malformed."""


class ModelNotInstalled(ConfigError):
    """A local model's weights are neither installed nor downloadable."""


class LMError(GPOError):
    """A model call failed. Never turned into text that gets scored.

    Attributes:
        retryable: Whether the same request may succeed if tried again
            (rate limits, server errors, time-outs, dropped connections).
        status: HTTP status of the failure, when there was one.
        attempts: At most this many attempts for a failure of this kind, whatever the
            retry policy allows (``None``: the policy decides).
        timed_out: The request got no answer within its time-out. A server that has
            answered nothing yet is then not retried: it may never answer.
    """

    retryable: bool = False
    attempts: int | None = None
    timed_out: bool = False

    def __init__(
        self, message: str, *, hint: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class LMAuthError(LMError):
    """Missing or rejected credentials. Not retried."""


class LMBadRequestError(LMError):
    """The server rejected the request itself (unknown model, bad parameters). Not retried."""


class LMRateLimitError(LMError):
    """HTTP 429. Retried with backoff."""

    retryable = True


class LMServerError(LMError):
    """HTTP 5xx. Retried with backoff."""

    retryable = True


class LMConnectionError(LMError):
    """The endpoint could not be reached, or the call timed out. Retried with backoff."""

    retryable = True


class ReplayMiss(LMError):
    """A replay model was asked for a request that was never recorded."""


class EvaluationError(GPOError):
    """Too many model calls failed while evaluating a prompt to trust its score."""


class BudgetExceeded(GPOError):
    """A call, token or cost budget would be overshot by the next call."""


class SweepBudgetExceeded(GPOError):
    """The budget of a whole sweep is spent: the run stops at its last checkpoint.

    Not a :class:`BudgetExceeded`: a run's own budget ends the run (it is scored and
    finished), while the sweep's stops it unfinished, to resume when the sweep continues.
    """


class RunInterrupted(GPOError):
    """The run was stopped by Ctrl-C or SIGTERM; its last completed step is saved."""
