"""Named crash points, so a test can kill a real process at an exact moment of a write.

``SHOUHU_CRASH_AT=<name>[:<n>]`` makes the process SIGKILL itself the n-th time (default the
first) it passes the point ``<name>``: no handler runs, no file is closed, exactly as when the
operating system or an operator kills it. Unset (always, outside the survival tests), a point
costs one environment lookup. Points are named where they are placed (``graph.statement``,
``batch.committed`` …); tests/test_record_survives.py lists them all (``batch.graph_part``,
between two graph transactions of one batch: tests/test_sync_parts.py).

``SHOUHU_PAUSE_AT=<name>:<seconds>`` makes the process sleep that long each time it passes the point
instead: a test holds a write transaction open long enough to see what waits behind it
(tests/test_reads_during_sync.py pauses every statement of a graph write transaction). With
``SHOUHU_PAUSE_RELEASE=<path>`` a pause ends as soon as that file exists, and none is taken once it
does: a test holds the process exactly as long as it needs it (tests/test_cli_data_dir.py).
"""

from __future__ import annotations

import os
import signal
import time

_passed: dict[str, int] = {}


def crash_point(name: str) -> None:
    pause = os.environ.get("SHOUHU_PAUSE_AT")
    if pause:
        wanted, _, seconds = pause.partition(":")
        if wanted == name:
            _pause(float(seconds or 0), os.environ.get("SHOUHU_PAUSE_RELEASE"))
    spec = os.environ.get("SHOUHU_CRASH_AT")
    if not spec:
        return
    wanted, _, nth = spec.partition(":")
    if wanted != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _pause(seconds: float, release: str | None) -> None:
    if not release:
        time.sleep(seconds)
        return
    until = time.monotonic() + seconds
    while not os.path.exists(release) and time.monotonic() < until:
        time.sleep(min(0.05, max(0.0, until - time.monotonic())))
