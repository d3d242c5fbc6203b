"""What the worker processes of a sync and a rebuild share with their parents: how one is started (a
fresh interpreter, nothing of the parent's open stores or threads carried into it), how it dies with
its parent, and how the two talk (a line of JSON each way).

The workers: the rebuild's fold (graph/ladybug/build_worker.py) and a first load's land-ahead and
spill-ahead (connectors/land_ahead.py, connectors/spill_ahead.py).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["Lines", "die_with_parent", "send", "start", "stop", "why_not_started"]

_PR_SET_PDEATHSIG = 1
_ROOT = Path(__file__).resolve().parents[1]  # the directory holding the packages


def start(
    module: str, args: list[str], *, own_points: str | None = None, stderr: Any = None
) -> subprocess.Popen[bytes]:
    """``python -P -m module args…`` with pipes for stdin and stdout. The parent's crash and pause
    points (``SHOUHU_CRASH_AT``, ``SHOUHU_PAUSE_AT``) are its own and not passed on, except those
    naming ``own_points`` (the worker's, for the tests that kill it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SHOUHU_CRASH_AT", "SHOUHU_PAUSE_AT")
        or (own_points is not None and v.startswith(own_points))
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
    return subprocess.Popen(
        # -P: not the working directory first on the import path (-m would put it there)
        [sys.executable, "-P", "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        close_fds=True,
    )


def why_not_started(exc: Exception) -> str:
    """Why a worker could not be started, for a log line: an OSError by its errno (its text could
    name a path), anything else (a thread refused) by its kind."""
    code = exc.errno if isinstance(exc, OSError) else None
    return errno.errorcode.get(code or 0, type(exc).__name__)


def stop(proc: subprocess.Popen[bytes], lines: Lines | None = None) -> None:
    """The worker gone, whatever it was doing (a no-op once it has exited), its pipes closed."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if lines is not None:
        lines.join()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(BrokenPipeError, OSError):  # a message left for a finished worker
                pipe.close()


def die_with_parent(parent: int) -> None:
    """In the worker: SIGKILL from the kernel when the parent dies (Linux); gone at once if it
    already has. Elsewhere the parent's closed pipe stops the worker instead."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def send(out: IO[bytes], msg: dict[str, Any]) -> None:
    """One message, a line of JSON, flushed."""
    out.write(json.dumps(msg).encode() + b"\n")
    out.flush()


class Lines:
    """In the parent: a worker's messages as they come, read by a thread of their own so that the
    worker never waits on a full pipe; None once its output ends (it exited, or was killed)."""

    def __init__(self, out: IO[bytes] | None) -> None:
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(out,), daemon=True)
        self._thread.start()

    def _read(self, out: IO[bytes] | None) -> None:
        try:
            for line in out or ():
                with contextlib.suppress(ValueError):
                    self._messages.put(json.loads(line))
        finally:
            self._messages.put(None)

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message; None once the output has ended; TimeoutError if ``timeout`` passes
        without one."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None

    def wait(self, silence: float, tick: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """The next message, calling ``tick()`` every second meanwhile (a stop request can end the
        wait there); None once the output has ended; TimeoutError after ``silence`` seconds without
        one (a worker that stopped making progress)."""
        waited = 0.0
        while True:
            try:
                return self.get(timeout=min(1.0, silence - waited))
            except TimeoutError:
                waited += 1.0
                if waited >= silence:
                    raise
                if tick is not None:
                    tick()

    def join(self) -> None:
        self._thread.join(timeout=5)
