"""Stopping a request's work: the time budget ran out or the client went away.

Apart from the endpoint because the mechanism (an asynchronous exception raised in the worker
thread) is delicate and tested on its own (tests/test_read_gate_cancelled.py), and the endpoint only
needs `run`, `cancel` and `disarm`.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class RequestCancelled(BaseException):
    """Raised inside the worker thread running a request that must stop. A BaseException so that
    neither graphql-core nor a resolver's `except Exception` turns it into a field error and goes on
    resolving the rest of the response."""

    reason = "cancelled"


class TimeBudgetExceeded(RequestCancelled):
    reason = "time_budget"


class ClientDisconnected(RequestCancelled):
    reason = "client_gone"


class Cancellable:
    """The worker thread of one request, which the event loop may order to stop.

    The stop is an asynchronous exception raised in that thread (CPython's
    PyThreadState_SetAsyncExc) at its next Python instruction: the resolvers and the graph calls
    between engine queries stop where they are, and context managers close their transactions on
    the way out. It is only ever raised while the request's own work runs (between `run`'s start and
    `disarm`), never into a pooled thread that has moved on, and a pending one is withdrawn at disarm.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: int | None = None
        self._fired = False
        # Why the request was stopped, once it was: a library that catches the stop and raises
        # its own error (the graph engine's wrapper does) must not turn a stop into a field error.
        self.fired_reason: str | None = None

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self._thread = threading.get_ident()
        try:
            return fn(*args)
        finally:
            self.disarm()

    def disarm(self) -> None:
        with self._lock:
            if self._thread is not None and self._fired:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), None)
            self._thread = None

    def cancel(self, exc: type[RequestCancelled]) -> None:
        with self._lock:
            if self._thread is None or self._fired:
                return
            self._fired = True
            self.fired_reason = exc.reason
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread), ctypes.py_object(exc))
