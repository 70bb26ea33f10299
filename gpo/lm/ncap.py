"""Servers that cap ``n``, the samples one request may ask for.

llama.cpp's server decodes the samples of one request in parallel slots, so it rejects an
``n`` above its slot count with HTTP 400 ("Value must be between 1 <= value <= 2, but got
4", or "n_cmpl cannot be greater than the number of slots"); older versions accept only
``n = 1``. OpenAI caps ``n`` at 128. The model layer reads the cap from the rejection,
remembers it per endpoint for the rest of the process, and splits requests to fit.
"""

from __future__ import annotations

import re
import threading
from typing import Optional

from gpo.errors import LMBadRequestError, LMError

_lock = threading.Lock()
_caps: dict[str, int] = {}

_MENTIONS_N = re.compile(
    r"""['"`]n['"`]|\bn_cmpl\b|\bn_choices\b|\bparam(?:eter)?\s+n\b"""
    r"""|(?:^|[\s(:])n\s*(?:must|should|is|cannot|<|>|=)|completion choices?\b|number of (?:completions|choices)""",
    re.IGNORECASE,
)
_UPPER_BOUNDS = (
    re.compile(r"<=\s*value\s*<=\s*(\d+)", re.IGNORECASE),
    re.compile(r"between\s+\d+\s+and\s+(\d+)", re.IGNORECASE),
    re.compile(
        r"(?:at most|no more than|less than or equal to|up to|<=|maximum(?: value)?(?: is| of)?|max(?:imum)?\s*[:=])\s*(\d+)",
        re.IGNORECASE,
    ),
)
_ONLY_ONE = re.compile(r"only one completion|n must be 1\b", re.IGNORECASE)


def cap_from_rejection(exc: LMError, n: int) -> Optional[int]:
    """The most samples per request that a server's rejection of ``n`` allows.

    A 400 answer counts as a rejection of ``n`` when ``n > 1`` and its message names the
    parameter (``'n'``, ``n_cmpl``, "completion choice") or states bounds and that it got
    ``n``. The cap is the upper bound the message gives, 1 when it allows only one choice,
    and half of ``n`` when it gives no number.

    >>> from gpo.errors import LMBadRequestError
    >>> cap_from_rejection(LMBadRequestError("Value must be between 1 <= value <= 2, but got 4"), 4)
    2
    >>> cap_from_rejection(LMBadRequestError("Only one completion choice is allowed"), 3)
    1
    >>> cap_from_rejection(LMBadRequestError("n_cmpl cannot be greater than the number of slots"), 8)
    4
    >>> cap_from_rejection(LMBadRequestError("unknown model 'x'"), 4) is None
    True

    Args:
        exc: The error a request with ``n`` samples ended with.
        n: The samples that request asked for.

    Returns:
        A cap below ``n``, or ``None`` when the error is not about ``n``.
    """
    if n <= 1 or not isinstance(exc, LMBadRequestError) or exc.status not in (None, 400, 422):
        return None
    text = exc.message
    bound = None
    for pattern in _UPPER_BOUNDS:
        found = pattern.search(text)
        if found:
            bound = int(found.group(1))
            break
    names_n = bool(_MENTIONS_N.search(text))
    got_n = re.search(rf"\b(?:got|received|given)\s*:?\s*{n}\b", text, re.IGNORECASE) is not None
    if not names_n and not (bound is not None and got_n):
        return None
    if _ONLY_ONE.search(text):
        cap = 1
    elif bound is not None:
        cap = bound
    else:
        cap = n // 2
    return cap if 1 <= cap < n else None


def known_cap(endpoint: str) -> Optional[int]:
    """The cap learned for ``endpoint`` in this process, if any."""
    with _lock:
        return _caps.get(endpoint)


def learn_cap(endpoint: str, cap: int) -> bool:
    """Remembers ``cap`` for ``endpoint`` (the smallest learned wins).

    Returns:
        Whether the cap is new or lower than the one known.
    """
    with _lock:
        old = _caps.get(endpoint)
        if old is not None and old <= cap:
            return False
        _caps[endpoint] = cap
        return True


def forget_caps() -> None:
    """Forgets every learned cap (for tests, or after a server restarted with more slots)."""
    with _lock:
        _caps.clear()
