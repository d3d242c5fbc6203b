"""A LadybugDB rebuild folds the record in a worker process while it loads (graph/ladybug/build_worker.py):
the graph it builds must be the one-process build's, element for element, and a rebuild killed
while the worker runs must leave no worker behind and a graph the next rebuild makes whole.

Real ``python -m shouhu.cli`` processes on one small generated county, synced once; each test
rebuilds copies of it. A small ``SHOUHU_GRAPH_FOLD_CHUNK`` makes every node kind several files and
every relationship file several row groups, so the worker runs ahead of the loads and waits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_connectors_support import graph_snapshot
from tests.test_record_survives import _verify, run

SMALL_CHUNK = {"SHOUHU_GRAPH_FOLD_CHUNK": "60"}
# The tests that stop the parent or the worker mid-build keep the worker at most one kind ahead, so it
# is still folding (waiting for the loads) when they do: ahead, it may have finished this small county.
IN_STEP = {**SMALL_CHUNK, "SHOUHU_GRAPH_BUILD_AHEAD_ROWS": "0"}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-person county synced once (its graph written batch by batch)."""
    from connectors.synthetic import generate  # as ``shouhu demo generate`` (no process to start)

    base = tmp_path_factory.mktemp("build_worker")
    county = base / "county"
    generate(county, persons=300, seed=5)
    data = base / "data"
    done = run(["sync", "--from", str(county), "--json"], data)
    assert done.returncode == 0, done.stderr[-2000:]
    return data


@pytest.fixture(scope="module")
def synced_hash(synced: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``graph verify``'s content hash of the synced county, which every copy of it starts from
    (verified once here, on a copy of its own so that the one the tests copy is never opened, not
    again on each copy: the copies are byte for byte the same files)."""
    report, _ = _verify(_copy(synced, tmp_path_factory.mktemp("verified") / "data"))
    return str(report["content_hash"])


def _copy(synced: Path, to: Path) -> Path:
    shutil.copytree(synced, to)
    return to


def _rebuilt(data: Path, worker: bool) -> dict[str, int]:
    settings = {**SMALL_CHUNK, "SHOUHU_GRAPH_BUILD_WORKER": "true" if worker else "false"}
    done = run(["graph", "rebuild", "--json"], data, settings=settings)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    return {"nodes": report["nodes"], "relationships": report["relationships"]}


def _workers_of(data: Path) -> list[int]:
    """Live build workers started for this data directory (their environment names it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"graph.ladybug.build_worker" in cmdline and f"SHOUHU_DATA_DIR={data}\0".encode() in environ:
            found.append(int(proc.name))
    return found


def test_the_two_core_rebuild_builds_the_one_process_graph(synced: Path, tmp_path: Path) -> None:
    one = _copy(synced, tmp_path / "one")
    two = _copy(synced, tmp_path / "two")
    counts_one = _rebuilt(one, worker=False)
    counts_two = _rebuilt(two, worker=True)
    assert counts_two == counts_one
    assert counts_one["nodes"] > 500 and counts_one["relationships"] > 500
    assert graph_snapshot(two / "graph.lbug") == graph_snapshot(one / "graph.lbug")
    report_one, _ = _verify(one)
    report_two, _ = _verify(two)
    assert report_one["ok"] and report_two["ok"]
    assert report_two["content_hash"] == report_one["content_hash"]


def test_a_rebuild_killed_while_its_worker_folds_leaves_no_worker_and_the_next_one_is_whole(
    synced: Path, synced_hash: str, tmp_path: Path
) -> None:
    data = _copy(synced, tmp_path / "data")
    before = {"content_hash": synced_hash}
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    settings = {**IN_STEP, "SHOUHU_GRAPH_BUILD_WORKER": "true", "TMPDIR": str(tmp)}
    killed = run(["graph", "rebuild", "--json"], data, crash="rebuild.kind_loaded:2", settings=settings)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # The killed build's spill (the record's graph: personal data) is left behind...
    assert [p.name for p in tmp.iterdir() if p.name.startswith("shouhu-fold-")], list(tmp.iterdir())
    deadline = time.monotonic() + 5
    while _workers_of(data) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_of(data) == []
    after_kill, _ = _verify(data)  # the graph it was building was beside the old one, never in its place
    assert after_kill["ok"] and after_kill["content_hash"] == before["content_hash"]
    done = run(["graph", "rebuild", "--json"], data, settings=settings)
    assert done.returncode == 0, done.stderr[-2000:]
    rebuilt, _ = _verify(data)
    assert rebuilt["ok"] and rebuilt["content_hash"] == before["content_hash"]
    # ...until the next build, which deletes the spills of builds that are gone.
    assert [p for p in tmp.iterdir() if p.name.startswith("shouhu-fold-")] == []


def rebuild_with_its_worker_killed(
    data: Path, settings: dict[str, str], ready: Callable[[], bool] = lambda: True
) -> tuple[int | None, str, str]:
    """``graph rebuild`` with its worker killed alone (SIGKILL) once seen and ``ready()``: the
    rebuild's exit code, output and error output."""
    import subprocess

    from tests.test_record_survives import ROOT, SHOUHU, _env

    proc = subprocess.Popen(
        [*SHOUHU, "graph", "rebuild", "--json"],
        env=_env(data, settings=settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (workers := _workers_of(data)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert workers, "no build worker seen"
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def test_a_worker_killed_alone_fails_the_rebuild_clearly_and_the_old_graph_stays(
    synced: Path, synced_hash: str, tmp_path: Path
) -> None:
    """The worker killed on its own (the OOM killer, an operator): the rebuild stops with a plain
    Chinese line, not a traceback or the worker's raw error output, and the graph it was to replace
    is still the one served; the next rebuild is whole."""

    data = _copy(synced, tmp_path / "data")
    before = {"content_hash": synced_hash}
    # The parent pauses after each kind it loaded: time to find its worker and kill it alone.
    settings = {
        **IN_STEP,
        "SHOUHU_GRAPH_BUILD_WORKER": "true",
        "SHOUHU_PAUSE_AT": "rebuild.kind_loaded:0.5",
    }
    code, out, err = rebuild_with_its_worker_killed(data, settings)
    assert code not in (0, None), out
    assert "Traceback" not in err, err[-2000:]
    assert "重建失败" in err and "子进程" in err, err[-2000:]
    after, _ = _verify(data)
    assert after["ok"] and after["content_hash"] == before["content_hash"]
    _rebuilt(data, worker=True)
    rebuilt, _ = _verify(data)
    assert rebuilt["ok"] and rebuilt["content_hash"] == before["content_hash"]


def test_the_worker_imports_the_code_of_its_parent_not_of_the_working_directory(
    synced: Path, synced_hash: str, tmp_path: Path
) -> None:
    """``python -m`` puts the working directory first on the import path: run from a directory that
    holds a ``graph`` package of its own (an operator's export folder, a checkout), the worker must
    still run this installation's code, as its parent does."""
    import subprocess

    from tests.test_record_survives import SHOUHU, _env

    data = _copy(synced, tmp_path / "data")
    before = {"content_hash": synced_hash}
    trap = tmp_path / "cwd"
    (trap / "graph").mkdir(parents=True)
    (trap / "graph" / "__init__.py").write_text(
        'raise SystemExit("the working directory\'s graph package")\n'
    )
    settings = {**SMALL_CHUNK, "SHOUHU_GRAPH_BUILD_WORKER": "true"}
    # The parent as the installed ``shouhu`` script runs: its own directory, not the working one,
    # first on its import path (-P).
    done = subprocess.run(
        [SHOUHU[0], "-P", *SHOUHU[1:], "graph", "rebuild", "--json"],
        env=_env(data, settings=settings),
        cwd=trap,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rebuilt, _ = _verify(data)
    assert rebuilt["ok"] and rebuilt["content_hash"] == before["content_hash"]
