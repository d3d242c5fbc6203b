"""The build worker's pace and the paths its files are COPY-ed from (graph/ladybug/build_worker.py,
``LadybugStore.copy_spill``): the worker begins a kind only while the kinds written and not yet
acknowledged hold at most ``ahead`` rows (or only one kind is unacknowledged), and waits for no
acknowledgement it does not need; a build under a temporary directory whose name a ``COPY`` cannot
take as a file name (a backslash, a bracket: the statement reads the name as a pattern) builds the
same graph as under any other; a file the worker cannot write fails the build with the cause named.
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from graph.fold import Spill
from graph.ladybug import build_worker
from graph.port import GraphStoreError
from tests.test_build_worker_ahead import _spilled
from tests.test_connectors_support import graph_snapshot
from tests.test_graph_build_worker import synced, synced_hash

__all__ = ["synced", "synced_hash"]  # tests/test_graph_build_worker.py's county, its fixtures


class _Log:
    """The worker's messages and the acknowledgements it read, in the order they happened (a parent
    that has always loaded everything already: an acknowledgement is there whenever it is read)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any] | None] = []  # None: one acknowledgement read

    def write(self, data: bytes) -> int:
        self.events.extend(json.loads(line) for line in data.splitlines())
        return len(data)

    def flush(self) -> None:
        pass

    def readline(self) -> bytes:
        self.events.append(None)
        return b"k\n"


@pytest.mark.parametrize("ahead", [0, 1, 9, 60, 150, 300, 1_000_000])
def test_the_worker_begins_a_kind_only_within_its_rows_ahead_and_waits_for_no_more(ahead: int) -> None:
    with Spill() as spilled:
        spill = Spill(read_chunk=7, written=_spilled(spilled))
        log = _Log()
        try:
            build_worker._fold_to_files(spill, 4, ahead, log, log)  # type: ignore[arg-type]
        finally:
            spill.close()
    rows: list[int] = []  # each kind's rows, in order
    current = 0  # the rows of the kind being told
    acked = begun = waited = 0
    for event in log.events:
        if event is None:
            acked += 1
            continue
        if event.get("done"):
            break
        idx = len(rows)
        if idx == begun:  # the kind's first message: every acknowledgement it waited for is read
            begun = idx + 1
            assert acked >= idx - 1 or (ahead and sum(rows[acked:idx]) <= ahead), (idx, acked, rows)
            if acked > waited:  # it waited for some: the last one it read, it needed
                last = acked - 1
                assert last < idx - 1 and not (ahead and sum(rows[last:idx]) <= ahead), (idx, rows)
            waited = acked
        if "file" in event:
            current += event["rows"]
        if event.get("end"):
            rows.append(current)
            current = 0
    assert rows[7] == 148 and sum(rows) > 300  # Person, and every kind told
    if ahead == 0:
        assert log.events.count(None) == len(rows) - 2
    if ahead >= sum(rows):
        assert log.events.count(None) == 0


def _build(tmp: Path, monkeypatch: pytest.MonkeyPatch, ahead: int = 1_000_000) -> Any:
    """A store built from ``_records(3)``'s spill under the temporary directory ``tmp``, as
    ``protection.record.rebuild`` builds it (``copy_spill``; when it declines, ``copy_kind``)."""
    from graph.ladybug import LadybugStore

    tmp.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    graph = tmp.parent / f"{tmp.name.replace(chr(92), '_')}-graph.lbug"
    store = LadybugStore(graph, 256)
    try:
        store.init_schema()
        with Spill(read_chunk=7) as spill:
            assert str(spill.path).startswith(str(tmp))
            _spilled(spill)
            loaded = store.copy_spill(spill, 4, None, ahead)
            if loaded is None:
                for section, kind, rows in spill.elements():
                    store.copy_kind(section, kind, rows, spill.path, 4)
    finally:
        store.close()
        monkeypatch.setattr(tempfile, "tempdir", None)
    return graph_snapshot(graph)


@pytest.mark.parametrize("name", ["back\\slash", "bra[c]ket"])
def test_a_build_under_a_temporary_directory_a_copy_cannot_name_builds_the_same_graph(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _build(tmp_path / "plain", monkeypatch)
    assert len(plain[0]) > 100 and len(plain[1]) > 100
    assert _build(tmp_path / name, monkeypatch) == plain


def _build_failing_at_the_third_person_file(tmp_path: Path) -> tuple[GraphStoreError, Path]:
    """A build whose worker cannot write Person's third node file (a directory is in its place, as a
    full disk refuses it) after loading some and writing others ahead: the build's error, and the
    spill's directory."""
    from graph.ladybug import LadybugStore

    store = LadybugStore(tmp_path / "graph.lbug", 256)
    try:
        store.init_schema()
        with Spill(read_chunk=7) as spill:
            _spilled(spill)
            (spill.path / "fold-node-Person-2.parquet").mkdir()  # where the third file goes
            with pytest.raises(GraphStoreError) as failed:
                store.copy_spill(spill, 4, None, 1_000_000)
            return failed.value, spill.path
    finally:
        store.close()


def test_a_node_file_the_worker_cannot_write_fails_the_build_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a full disk does (ENOSPC): the worker stops part-way through Person's files, some already
    loaded and others written ahead; the build fails with a GraphStoreError naming the cause (not an
    OSError of the parent), and the spill's directory, files and all, goes with the spill."""

    failed, directory = _build_failing_at_the_third_person_file(tmp_path)
    assert "IsADirectoryError" in str(failed), str(failed)
    assert not directory.exists()


def test_a_rebuild_killed_with_files_ahead_leaves_the_old_graph_and_the_next_one_sweeps_them(
    synced: Path, synced_hash: str, tmp_path: Path
) -> None:
    """tests/test_graph_build_worker.py's kill, at the default ``graph_build_ahead_rows``: the parent
    killed after its third kind with the worker's files ahead of it (or all written) in the spill."""
    from tests.test_graph_build_worker import SMALL_CHUNK, _copy, _workers_of
    from tests.test_record_survives import _verify, run

    data = _copy(synced, tmp_path / "data")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    settings = {**SMALL_CHUNK, "SHOUHU_GRAPH_BUILD_WORKER": "true", "TMPDIR": str(tmp)}
    killed = run(["graph", "rebuild", "--json"], data, crash="rebuild.kind_loaded:3", settings=settings)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    deadline = time.monotonic() + 5
    while _workers_of(data) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_of(data) == []
    spills = [p for p in tmp.iterdir() if p.name.startswith("shouhu-fold-")]
    assert len(spills) == 1 and list(spills[0].glob("*.parquet")), list(tmp.rglob("*"))
    after_kill, _ = _verify(data, {"TMPDIR": str(tmp)})
    assert after_kill["ok"] and after_kill["content_hash"] == synced_hash
    assert not any(p.name.startswith("shouhu-fold-") for p in tmp.iterdir())  # verify's spill swept it
    done = run(["graph", "rebuild", "--json"], data, settings=settings)
    assert done.returncode == 0, done.stderr[-2000:]
    rebuilt, _ = _verify(data)
    assert rebuilt["ok"] and rebuilt["content_hash"] == synced_hash


def test_a_worker_killed_alone_while_ahead_fails_the_rebuild_clearly_and_the_old_graph_stays(
    synced: Path, synced_hash: str, tmp_path: Path
) -> None:
    """tests/test_graph_build_worker.py's worker killed alone, with the worker running ahead (a budget
    smaller than the county, so that it is still there to be killed, with files ahead of the loads)."""

    from tests.test_graph_build_worker import SMALL_CHUNK, _copy, rebuild_with_its_worker_killed
    from tests.test_record_survives import _verify

    data = _copy(synced, tmp_path / "data")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    settings = {
        **SMALL_CHUNK,
        "SHOUHU_GRAPH_BUILD_WORKER": "true",
        "SHOUHU_GRAPH_BUILD_AHEAD_ROWS": "100",
        "SHOUHU_PAUSE_AT": "rebuild.kind_loaded:0.5",
        "TMPDIR": str(tmp),
    }
    code, out, err = rebuild_with_its_worker_killed(
        data, settings, lambda: bool(list(tmp.rglob("*.parquet")))
    )
    assert code not in (0, None), out
    assert "Traceback" not in err and "重建失败" in err and "子进程" in err, err[-2000:]
    assert not list(tmp.rglob("*.parquet"))  # the failed build's spill went with it
    after, _ = _verify(data)
    assert after["ok"] and after["content_hash"] == synced_hash


def test_a_worker_stopped_by_a_full_disk_says_so_though_its_error_output_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (ENOSPC) under the fold's temporary directory stops the worker part-way, and its
    error output, a file in that same directory, cannot be written either (measured: a rebuild under
    a 10 MB tmpfs ended with ``退出码 1：`` and nothing after it). The error output here is
    /dev/full, which refuses every write as a full disk does: the build fails naming the cause."""

    start = build_worker.start

    def full_stderr(module: str, args: list[str], **kw: Any) -> Any:
        with open("/dev/full", "wb") as full:
            return start(module, args, **{**kw, "stderr": full})

    monkeypatch.setattr(build_worker, "start", full_stderr)
    failed, _ = _build_failing_at_the_third_person_file(tmp_path)
    assert "IsADirectoryError" in str(failed) or "EISDIR" in str(failed), str(failed)
