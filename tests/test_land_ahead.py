"""A county's first load lands its later sources in a worker process while the first is processed
(connectors/land_ahead.py): the same record as landing everything first, every record accounted for,
and a kill of either process loses nothing.

Real county files through ``shouhu sync`` in a subprocess; the run is made a first load from its
first source alone (``SHOUHU_SYNC_FIRST_LOAD_RECORDS`` below the register's rows), as a county's is.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests import test_connectors_support as support
from tests.first_load_support import first_load_env, no_worker_left, sync, verify
from tests.test_connectors_cli import SHOUHU


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The connector tests' county (its seed, its malformed rows: quarantines by reason) at 1,000
    persons, not their 2,000: every source still several chunks, so a kill or a dead worker lands
    mid-source, at half the cost of each of the file's syncs."""
    from connectors.synthetic import NoiseRates, generate

    out = tmp_path_factory.mktemp("county-land-ahead")
    generate(out, 1_000, support.SEED, noise=NoiseRates(malformed_row=support.MALFORMED_RATE))
    return out


COUNTERS = ("received", "loaded", "quarantined", "superseded")


def _sync(export: Path, data: Path, **extra: str) -> tuple[int, dict[str, Any] | None, str]:
    # several chunks a source: a kill lands mid-source
    return sync(export, data, **{"SHOUHU_SYNC_LAND_CHUNK_RECORDS": "300", **extra})


def _landing(data: Path) -> dict[tuple[str, str, str | None], int]:
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        rows = conn.execute(
            "SELECT source, status, reason_code, count(*) FROM landing_record"
            " GROUP BY source, status, reason_code"
        )
        return {(s, st, r): n for s, st, r, n in rows}


def _accounted(report: dict[str, Any]) -> None:
    for rep in report["sources"]:
        assert rep["status"] == "completed" and rep["unexplained"] == 0, rep
    assert report["total"]["unexplained"] == 0


@pytest.fixture(scope="module")
def landed_first(county: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The same county with every source landed before any is processed (the worker off)."""
    data = tmp_path_factory.mktemp("landed-first")
    code, report, err = _sync(county, data, SHOUHU_SYNC_LAND_AHEAD="0")
    assert code == 0 and report is not None, err[-2000:]
    _accounted(report)
    return data, report


def _overlapped(data: Path) -> bool:
    """Whether rows of a later source were received after the first source's first batch was
    processed (with every source landed first, all were received before)."""
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        ((first_processed,),) = conn.execute(
            "SELECT min(processed_at) FROM landing_record WHERE source = 'police_hukou'"
        )
        ((last_later,),) = conn.execute(
            "SELECT max(received_at) FROM landing_record WHERE source != 'police_hukou'"
        )
    return bool(last_later > first_processed)


def test_the_later_sources_land_while_the_first_is_processed_into_the_same_record(
    county: Path, tmp_path: Path, landed_first: tuple[Path, dict[str, Any]]
) -> None:
    data = tmp_path / "data"
    # The worker's chunks slowed (0.3 s each), so that it is still landing when the first batch ends.
    code, report, err = _sync(county, data, SHOUHU_PAUSE_AT="land_ahead.worker:0.3")
    assert code == 0 and report is not None, err[-2000:]
    _accounted(report)
    before_data, before = landed_first
    assert not _overlapped(before_data)  # the worker off: all landed, then all processed
    assert _overlapped(data)  # the worker on: health and the rest landed during the register's batches
    for rep, ref in zip(report["sources"], before["sources"], strict=True):
        assert rep["source"] == ref["source"]
        assert {k: rep[k] for k in COUNTERS} == {k: ref[k] for k in COUNTERS}, rep["source"]
        assert rep["by_reason"] == ref["by_reason"] and rep["files"] == ref["files"], rep["source"]
    assert _landing(data) == _landing(before_data)
    assert report["graph_build"]["nodes"] == before["graph_build"]["nodes"]
    assert report["graph_build"]["relationships"] == before["graph_build"]["relationships"]
    verify(data)


def test_a_sync_killed_while_the_worker_lands_leaves_no_worker_and_the_next_sync_loses_nothing(
    county: Path, tmp_path: Path, landed_first: tuple[Path, dict[str, Any]]
) -> None:
    data = tmp_path / "data"
    env = first_load_env(
        data,
        SHOUHU_SYNC_LAND_CHUNK_RECORDS="300",
        SHOUHU_CRASH_AT="land_ahead.chunk:1",  # the runner, as the worker's first chunk lands
        # The worker then in the middle of a long step (30 s): only the kernel can stop it in time.
        SHOUHU_PAUSE_AT="land_ahead.worker:30",
    )
    proc = subprocess.Popen(
        [*SHOUHU, "sync", "--from", str(county), "--json"], env=env, stdout=subprocess.DEVNULL
    )
    assert proc.wait(timeout=600) == -9
    assert no_worker_left("connectors.land_ahead", proc.pid), "the landing worker outlived its killed runner"
    landed = _landing(data)
    assert any(src != "police_hukou" for src, _, _ in landed), landed  # the worker had landed some

    code, report, err = _sync(county, data)
    assert code == 0 and report is not None, err[-2000:]
    _accounted(report)
    carried = {rep["source"]: rep["carried"] for rep in report["sources"]}
    assert sum(carried.values()) > 0, carried  # what the killed run landed was taken up, not landed again
    before_data, before = landed_first
    assert _landing(data) == _landing(before_data)
    assert report["graph_build"]["nodes"] == before["graph_build"]["nodes"]
    verify(data)


def test_a_worker_that_dies_leaves_the_runner_to_land_the_rest_and_every_record_adds_up(
    county: Path, tmp_path: Path, landed_first: tuple[Path, dict[str, Any]]
) -> None:
    data = tmp_path / "data"
    # The worker kills itself after its third chunk (mid-source); the run goes on without it.
    code, report, err = _sync(county, data, SHOUHU_CRASH_AT="land_ahead.worker:3")
    assert code == 0 and report is not None, err[-2000:]
    _accounted(report)
    assert "landing worker stopped" in err
    before_data, before = landed_first
    by_source = {rep["source"]: rep for rep in report["sources"]}
    for ref in before["sources"]:
        rep = by_source[ref["source"]]
        assert rep["loaded"] == ref["loaded"] and rep["quarantined"] == ref["quarantined"], rep["source"]
    # The rows the worker landed for the source it died in were counted once: found again, carried.
    assert any(rep["carried"] > 0 for rep in report["sources"]), report["sources"]
    assert _landing(data) == _landing(before_data)
    verify(data)
    assert os.path.exists(data / "shouhu.sqlite3")


def test_a_worker_that_hangs_is_stopped_and_the_runner_lands_the_rest(
    county: Path, tmp_path: Path, landed_first: tuple[Path, dict[str, Any]]
) -> None:
    data = tmp_path / "data"
    started = time.monotonic()
    # The worker stops making progress after its second chunk (as a stopped process would).
    code, report, err = _sync(
        county, data, SHOUHU_PAUSE_AT="land_ahead.worker:900", SHOUHU_SYNC_WORKER_SILENCE_SECONDS="3"
    )
    assert code == 0 and report is not None, err[-2000:]
    assert time.monotonic() - started < 300, "the run waited on its hung worker"
    assert "landing worker stopped (no word for 3 s)" in err
    _accounted(report)
    assert _landing(data) == _landing(landed_first[0])
