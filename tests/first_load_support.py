"""What the tests of a first load's worker processes share (tests/test_land_ahead.py,
tests/test_spill_ahead.py): a first load through ``shouhu sync`` in a subprocess, ``graph verify``,
and the workers a killed run may have left."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.test_connectors_cli import SHOUHU, _env


def first_load_env(data: Path, **extra: str) -> dict[str, str]:
    """A first load from the first source on (the register's rows pass the threshold), as a
    county's is."""
    return {**_env(data), "SHOUHU_SYNC_FIRST_LOAD_RECORDS": "500", **extra}


def sync(export: Path, data: Path, **extra: str) -> tuple[int, dict[str, Any] | None, str]:
    """``shouhu sync --from export --json``: its exit code, report and stderr."""
    out = subprocess.run(
        [*SHOUHU, "sync", "--from", str(export), "--json"],
        env=first_load_env(data, **extra),
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(out.stdout[out.stdout.index("{") :]) if "{" in out.stdout else None
    return out.returncode, report, out.stderr


def verify(data: Path) -> None:
    """``graph verify`` finds the graph the record says."""
    out = subprocess.run(
        [*SHOUHU, "graph", "verify", "--json"], env=_env(data), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def workers_of(module: str, pid: int) -> list[str]:
    """The running workers ``python -m module <pid>`` of the sync ``pid``."""
    out = subprocess.run(["pgrep", "-f", f"{module} {pid}$"], capture_output=True, text=True)
    return out.stdout.split()


def no_worker_left(module: str, pid: int, within: float = 5.0) -> bool:
    """Whether the killed sync's workers are gone within ``within`` seconds (only the kernel can
    stop one in the middle of a long step that fast)."""
    deadline = time.monotonic() + within
    while workers_of(module, pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not workers_of(module, pid)
