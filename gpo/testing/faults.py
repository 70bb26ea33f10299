"""Scripted and seeded faults for :class:`gpo.testing.server.OpenAICompatServer`.

A fault is what the server does instead of a normal answer:

* an HTTP status of 400 or more (``429``, ``500``, ...): an OpenAI-style error body;
* ``"hang"``: wait (see ``hang_s`` of the server) before answering normally, so a client
  with a shorter time-out gives up first;
* ``"truncate"``: HTTP 200 whose JSON body is cut in half (correctly framed, so the client
  reads the whole body and finds it malformed);
* ``"html"``: HTTP 200 with an HTML error page, as a proxy in a bad state sends;
* ``"drop"``: close the connection without answering.

A :class:`FaultPlan` decides which requests get one: first an explicit script, one entry
per request in arrival order, then a share of the remaining requests drawn from a seed.
The draw hashes the seed, the request body and how many times the server has seen that
same body, so which attempts fail does not depend on the order in which concurrent
requests arrive: the same calls against the same plan always meet the same faults.

Example:
    >>> plan = FaultPlan(script=[429, "truncate"], rate=0.5, mix=["hang"], seed=1)
    >>> plan.next(b"{}"), plan.next(b"{}")
    (429, 'truncate')
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Union

__all__ = ["FAULT_NAMES", "Fault", "FaultPlan", "HTML_PAGE", "parse_faults", "truncated"]

Fault = Union[int, str]
"""An HTTP status (100-599) or one of :data:`FAULT_NAMES`."""

FAULT_NAMES = ("hang", "truncate", "html", "drop")
"""The faults that are not plain HTTP statuses."""

HTML_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server is restarting.</p></body></html>"
)
"""The page an ``"html"`` fault sends with status 200."""


def check_fault(fault: object) -> Fault:
    """Returns ``fault`` if it is a valid fault.

    Raises:
        ValueError: It is neither an HTTP status nor a fault name.
    """
    if isinstance(fault, str) and fault in FAULT_NAMES:
        return fault
    if isinstance(fault, int) and not isinstance(fault, bool) and 100 <= fault <= 599:
        return fault
    raise ValueError(
        f"a fault is an HTTP status code or one of {', '.join(FAULT_NAMES)}; got {fault!r}."
    )


def parse_faults(text: str) -> list[Fault]:
    """Reads a comma-separated list of faults, e.g. ``"429,500,hang,truncate"``.

    >>> parse_faults("429, hang,200")
    [429, 'hang', 200]

    Raises:
        ValueError: An item is neither a status nor a fault name.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    return [check_fault(int(item) if item.isdigit() else item) for item in items]


def truncated(body: bytes) -> bytes:
    """The first half of ``body``: what a server that died mid-write leaves behind.

    >>> truncated(b'{"choices": []}')
    b'{"choic'
    """
    return body[: len(body) // 2]


class FaultPlan:
    """Decides, request by request, whether the server answers with a fault.

    Thread-safe: the server's event loop and test code may both call it. :attr:`dealt`
    counts the faults handed out, by fault (plain statuses below 400 are not faults).

    Args:
        script: Faults (or plain statuses such as 200) for the first requests, in
            arrival order. Once used up, the seeded draw takes over.
        rate: Share of the requests after the script that get a fault, in ``[0, 1]``.
        mix: The faults a drawn request gets, picked uniformly by the same hash.
        seed: Seed of the draw.

    Raises:
        ValueError: A fault is invalid, ``rate`` is outside ``[0, 1]``, or ``rate`` is
            positive with an empty ``mix``.
    """

    def __init__(
        self,
        script: Sequence[Fault] = (),
        *,
        rate: float = 0.0,
        mix: Sequence[Fault] = (429, 500, "hang", "truncate"),
        seed: int = 0,
    ) -> None:
        self.script = [check_fault(f) for f in script]
        self.mix = [check_fault(f) for f in mix]
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be in [0, 1], got {rate}.")
        if rate > 0 and not self.mix:
            raise ValueError("a positive fault rate needs at least one fault in the mix.")
        self.rate = float(rate)
        self.seed = int(seed)
        self._lock = threading.Lock()
        self._pending: list[Fault] = []
        self._seen: dict[bytes, int] = {}
        self._dealt: Counter[Fault] = Counter()
        self.reset()

    @property
    def dealt(self) -> Counter[Fault]:
        """How many requests got each fault since the start or the last :meth:`reset`."""
        with self._lock:
            return Counter(self._dealt)

    def reset(self) -> None:
        """Rewinds the script and forgets the bodies seen and the faults dealt."""
        with self._lock:
            self._pending = list(self.script)
            self._seen.clear()
            self._dealt.clear()

    def next(self, body: bytes) -> Fault | None:
        """The fault for the next request (``None``: answer normally).

        Args:
            body: The raw request body (part of the seeded draw).
        """
        with self._lock:
            fault = self._pick(body)
            if fault is not None and not (isinstance(fault, int) and fault < 400):
                self._dealt[fault] += 1
            return fault

    def _pick(self, body: bytes) -> Fault | None:
        if self._pending:
            return self._pending.pop(0)
        if not self.rate:
            return None
        key = hashlib.sha256(body).digest()
        occurrence = self._seen.get(key, 0)
        self._seen[key] = occurrence + 1
        digest = hashlib.sha256(b"%d\x00%d\x00" % (self.seed, occurrence) + key).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
            return None
        return self.mix[int.from_bytes(digest[8:12], "big") % len(self.mix)]
