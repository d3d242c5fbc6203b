"""The data directory under an operator's hand: a second sync while one runs, a command opening a graph a
sync holds, a disk that fills up mid-sync, a directory named with spaces and Chinese characters. Each
is said in one Chinese line, and nothing is lost: the run after it accounts for every record.

Real ``python -m shouhu.cli`` processes on a generated county; the full disk is a small tmpfs
mounted for the test (root only; skipped elsewhere), grown afterwards so that the next run can finish.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
ROOT = Path(__file__).resolve().parent.parent


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env.update({"SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "64", **extra})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _run(args: list[str], data: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        SHOUHU + args, env=_env(data, **extra), capture_output=True, text=True, timeout=600, cwd=ROOT
    )


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("county") / "county"
    generate(out, 300, 7)
    return out


def _accounted(report: dict[str, object]) -> None:
    for rep in report["sources"]:  # type: ignore[attr-defined]
        assert rep["status"] == "completed", rep
        assert rep["received"] == rep["landed"] + rep["carried"] + rep["unchanged"] + rep["duplicates"]
        assert rep["landed"] == rep["loaded"] + rep["quarantined"] + rep["superseded"], rep
        assert rep["unexplained"] == 0, rep


def _held(lock: Path) -> bool:
    if not lock.exists():
        return False
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def test_a_second_sync_and_a_graph_command_are_told_in_chinese_while_one_syncs(
    county: Path, tmp_path: Path
) -> None:
    """The second sync opened the graph before asking for the sync turn, and was told in English by
    the graph engine ("cannot open the LadybugDB graph …: another process (PID …) is using it"),
    as was any command opening the graph meanwhile."""
    data = tmp_path / "数据 目录"  # a path with a space and Chinese characters
    release = tmp_path / "release"
    first = subprocess.Popen(
        [*SHOUHU, "sync", "--from", str(county)],
        # Held at its first landed chunk, the sync lock taken and the graph open, until the release
        # file is there (no longer than 120 s a chunk): as long as the second commands take, no more.
        env=_env(data, SHOUHU_PAUSE_AT="land.chunk:120", SHOUHU_PAUSE_RELEASE=str(release)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not ((data / "graph.lbug").exists() and _held(data / "sync.lock")):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        second = _run(["sync", "--from", str(county)], data)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "已有同步或重放在运行" in lines[0], second.stderr
        stats = _run(["graph", "stats"], data)
        assert stats.returncode == 2, stats.stderr
        assert "图存储正被另一个进程" in stats.stderr and "another process" not in stats.stderr, stats.stderr
    finally:
        release.touch()
        _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    again = _run(["sync", "--from", str(county), "--json"], data)
    assert again.returncode == 0, again.stderr[-2000:]
    _accounted(json.loads(again.stdout))


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "小 磁盘"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_stops_the_sync_in_one_chinese_line_and_the_next_run_loses_nothing(
    county: Path, small_disk: Path
) -> None:
    """The graph engine's English I/O error ("Cannot write to file … offsetToWrite … No space left on
    device") was the reason the operator was given."""
    data = small_disk / "data"
    full = _run(["sync", "--from", str(county)], data)
    assert full.returncode != 0, full.stdout[-1000:]
    assert "磁盘已满" in full.stderr, full.stderr[-2000:]
    assert "No space left" not in full.stderr and "offset" not in full.stderr, full.stderr[-2000:]
    grown = subprocess.run(["mount", "-o", "remount,size=300m", str(small_disk)], capture_output=True)
    assert grown.returncode == 0, grown.stderr
    again = _run(["sync", "--from", str(county), "--json"], data)
    assert again.returncode == 0, again.stderr[-2000:]
    _accounted(json.loads(again.stdout))
    verified = _run(["graph", "verify", "--json"], data)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout[-2000:]
    audit = _run(["audit", "verify"], data)
    assert audit.returncode == 0, audit.stderr
