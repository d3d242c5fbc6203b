"""The one clock: the instant in UTC, and the local day in China.

Instants (audit times, deadlines by the hour, token lifetimes) are timezone-aware UTC. Dates that mean
a day of the people the platform serves -- ages, the 16-year line of the left-behind definition,
deadlines counted in days, report periods -- are the day in Asia/Shanghai: between 00:00 and 08:00
Beijing time the server's UTC date is still yesterday, and a child who turns 16 that morning must be
16 in the classification, the reports and the API's age checks alike.

Tests pin the clock with `pinned(...)`; production code only ever calls `now()` and `today()`.
A leaf: imports nothing of the project.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: The zone of the local day (China has one zone and no daylight saving).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

_lock = threading.Lock()
# Process-wide rather than a context variable: the ASGI app under test answers on another thread.
_pinned: list[datetime] = []


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    if _pinned:
        return _pinned[-1]
    return datetime.now(UTC)


def today() -> date:
    """The current day in Asia/Shanghai: the day that ages, day deadlines and report periods count in."""
    return local(now()).date()


def local(at: datetime) -> datetime:
    """`at` in Beijing time (a naive `at` is taken to be UTC, as the relational store keeps it)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL_ZONE)


def beijing(at: datetime) -> str:
    """`at` as an official reads it: Beijing time to the second, no offset (``2026-03-01 08:00:00``)."""
    return local(at).strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def pinned(at: datetime) -> Iterator[datetime]:
    """Hold the clock at `at` (aware; converted to UTC) for the duration of the block. For tests.

    Nested pins stack; the innermost one wins and the outer one is back when it ends.
    """
    if at.tzinfo is None:
        raise ValueError("pin the clock to an aware datetime (the day depends on the zone)")
    instant = at.astimezone(UTC)
    with _lock:
        _pinned.append(instant)
    try:
        yield instant
    finally:
        with _lock:
            _pinned.remove(instant)
