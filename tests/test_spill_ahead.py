"""A county's first load writes each processed source into its graph build's spill in a worker while
it goes on (connectors/spill_ahead.py): the graph is the one the record says (``graph verify``), the
rows a later merge moved are re-keyed, and a kill or a dead worker loses nothing.

Real county files through ``shouhu sync`` in a subprocess; the run is a first load from its first
source on (``SHOUHU_SYNC_FIRST_LOAD_RECORDS`` below the register's rows).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from graph.fold import SPILL_PREFIX
from tests.first_load_support import first_load_env, no_worker_left, sync, verify
from tests.test_connectors_cli import SHOUHU


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated county (seed 5) whose survey records merge people of its health records: merges
    made after health was written ahead."""
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("county-merging")
    generate(out, persons=2_000, seed=5)
    return out


@pytest.fixture(scope="module")
def built_at_end(county: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same first load with the whole spill written by the build at the end."""
    data = tmp_path_factory.mktemp("built-at-end")
    code, report, err = sync(county, data, SHOUHU_SYNC_SPILL_AHEAD="0")
    assert code == 0 and report is not None, err[-2000:]
    assert report["graph_build"]["written_ahead"] is None
    return report


def test_the_sources_written_ahead_and_rekeyed_after_merges_build_the_graph_the_record_says(
    county: Path, tmp_path: Path, built_at_end: dict[str, Any]
) -> None:
    data = tmp_path / "data"
    code, report, err = sync(county, data)
    assert code == 0 and report is not None, err[-2000:]
    build = report["graph_build"]
    ahead = build["written_ahead"]
    assert ahead is not None and ahead["sources"] == [r["source"] for r in report["sources"]], build
    # Merges made while later sources were processed moved mentions of rows already written.
    assert ahead["rekeyed"] > 0, ahead
    assert ahead["rows"] == sum(r["loaded"] for r in report["sources"])
    assert build["nodes"] == built_at_end["graph_build"]["nodes"]
    assert build["relationships"] == built_at_end["graph_build"]["relationships"]
    verify(data)


def _spills_of(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"{SPILL_PREFIX}{pid}-*"))


def test_a_sync_killed_while_the_worker_writes_leaves_no_worker_and_the_next_run_builds_it_right(
    county: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    # Killed between two batches of the health records: the worker has written the sources before.
    env = first_load_env(data, SHOUHU_CRASH_AT="batch.committed:4")
    proc = subprocess.Popen(
        [*SHOUHU, "sync", "--from", str(county), "--batch-size", "1000", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    assert proc.wait(timeout=600) == -9
    assert no_worker_left("connectors.spill_ahead", proc.pid), "the spill's worker outlived its killed runner"
    assert _spills_of(proc.pid), "expected the killed run's spill (personal data) on disk until swept"

    code, report, err = sync(county, data)
    assert code == 0 and report is not None, err[-2000:]
    assert not _spills_of(proc.pid), "the next build did not sweep the killed run's spill"
    assert report["total"]["unexplained"] == 0
    verify(data)


def test_a_worker_that_dies_leaves_the_build_to_write_its_spill_and_the_graph_is_right(
    county: Path, tmp_path: Path, built_at_end: dict[str, Any]
) -> None:
    data = tmp_path / "data"
    code, report, err = sync(county, data, SHOUHU_CRASH_AT="spill_ahead.worker:2")
    assert code == 0 and report is not None, err[-2000:]
    assert report["graph_build"]["written_ahead"] is None, report["graph_build"]
    assert "the build writes its spill itself" in err
    assert report["graph_build"]["nodes"] == built_at_end["graph_build"]["nodes"]
    verify(data)


def test_a_worker_that_hangs_is_stopped_and_the_build_writes_its_spill(
    county: Path, tmp_path: Path, built_at_end: dict[str, Any]
) -> None:
    data = tmp_path / "data"
    started = time.monotonic()
    code, report, err = sync(
        county, data, SHOUHU_PAUSE_AT="spill_ahead.worker:900", SHOUHU_SYNC_WORKER_SILENCE_SECONDS="3"
    )
    assert code == 0 and report is not None, err[-2000:]
    assert time.monotonic() - started < 300, "the build waited on its hung worker"
    assert report["graph_build"]["written_ahead"] is None
    assert "no word for 3 s" in err
    assert report["graph_build"]["nodes"] == built_at_end["graph_build"]["nodes"]
    verify(data)
