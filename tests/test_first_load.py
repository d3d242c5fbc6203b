"""A county's first load builds the graph once, at the end, from the record (connectors.pipeline
``Pipeline._defer_graph``): the graph it leaves, the derived state and what survives a kill must be
exactly those of the batch-by-batch load.

The threshold (``SHOUHU_SYNC_FIRST_LOAD_RECORDS``, 50,000 by default) is lowered to 1,000 here so the
1,000-person county of tests/test_record_survives.py (about 2,700 records) is a first load; its
uninterrupted batch-by-batch sync is the reference (its own module fixture, the same county). Real
``python -m shouhu.cli`` processes, killed with SIGKILL at named points (graph/crash.py).
"""

from __future__ import annotations

import functools
import json
import shutil
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_record_survives import (
    BATCH,
    PERSONS,
    _rows,
    _verified,
    classification,
    content_hash,
    expected_classification,
    reference,
    run,
)

__all__ = ["reference"]  # the shared module fixture, made visible to pytest here


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/test_record_survives.py's county (its persons, seed 11), generated in this process as
    ``shouhu demo generate`` does (no process to start); ``reference`` syncs it."""
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("survive") / "county"
    generate(out, persons=int(PERSONS), seed=11)
    return out


FIRST_LOAD = {"SHOUHU_SYNC_FIRST_LOAD_RECORDS": "1000"}


def _first_load(county: Path, data: Path, crash: str | None = None) -> Any:
    return run(
        ["sync", "--from", str(county), "--batch-size", BATCH, "--json"], data, crash, settings=FIRST_LOAD
    )


@functools.cache
def _reference_state(reference: Path) -> tuple[str, dict[str, str]]:
    """The batch-by-batch graph's content hash and canonical names, read once a module (no test
    changes the reference: one that starts from it copies it)."""
    return content_hash(reference)


def _same_as_reference(data: Path, reference: Path) -> None:
    """The graph verifies against its record, and equals the batch-by-batch graph, as does the
    classification; nothing is left pending or queued."""
    db = data / "shouhu.sqlite3"
    assert _rows(db, "SELECT count(*) FROM landing_record WHERE status = 'pending'") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM derived_queue") == [(0,)]
    _verified(data)
    want, ref_names = _reference_state(reference)
    got, names = content_hash(data)
    assert got == want
    expected = expected_classification(reference, ref_names, data, names, data.parent)
    assert len(expected) > 150
    assert classification(data, names) == expected


def _service(data: Path) -> tuple[Any, Any, Any]:
    """The service's stores and workers (no schedule) on a new data directory, as ``shouhu serve``
    opens them, with the lowered first-load threshold: (engine, graph, workers)."""
    from kernel.db import make_engine, migrate
    from kernel.settings import Settings
    from shouhu.record import open_healed
    from shouhu.service.workers import Workers

    data.mkdir()
    settings = Settings(data_dir=data, graph_buffer_pool_mb=256, sync_first_load_records=1000)
    engine = make_engine(settings.sql_url)
    migrate(engine)
    graph = open_healed(settings, engine)
    return engine, graph, Workers(settings, engine, graph, schedule=False)


def test_a_first_load_builds_the_graph_once_and_it_equals_the_batch_by_batch_graph(
    county: Path, reference: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    done = _first_load(county, data)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    built = report["graph_build"]
    assert built["deferred"] is True and built["nodes"] > 1_000 and built["relationships"] > 1_000
    # No batch wrote the graph: every element comes from the one build.
    assert report["total"]["graph"] == {"created": 0, "updated": 0, "unchanged": 0}
    assert report["total"]["unexplained"] == 0
    db = data / "shouhu.sqlite3"
    assert _rows(db, "SELECT count(*) FROM reproject_queue") == [(0,)]
    _same_as_reference(data, reference)

    # The operator reads it in Chinese, with the build's counts.
    again = run(["sync", "--from", str(county)], data, settings=FIRST_LOAD)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "首次加载" not in again.stdout  # nothing pending: nothing to build
    assert "图：新建 0" in again.stdout


def test_the_operator_reads_a_first_load_in_chinese(county: Path, tmp_path: Path) -> None:
    done = run(["sync", "--from", str(county)], tmp_path / "data", settings=FIRST_LOAD)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "图：首次加载，由关系库一次建成：节点" in done.stdout
    assert "图：新建" not in done.stdout


def test_a_later_sync_smaller_than_the_record_writes_the_graph_batch_by_batch(
    county: Path, tmp_path: Path
) -> None:
    """Only a load larger than what the record holds is built at the end: a daily sync on a loaded
    county is written batch by batch (the graph serves it as it goes)."""
    data = tmp_path / "data"
    small = {"SHOUHU_SYNC_FIRST_LOAD_RECORDS": "300"}
    # The register and health first (about 2,400 records): a first load.
    first = run(["sync", "police_hukou", "health", "--from", str(county), "--json"], data, settings=small)
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["graph_build"]["deferred"] is True
    # Then the other sources: over the threshold, but fewer than the record holds loaded.
    rest = run(["sync", "--from", str(county), "--json"], data, settings=small)
    assert rest.returncode == 0, rest.stderr[-2000:]
    report = json.loads(rest.stdout)
    assert 300 <= report["total"]["received"] < json.loads(first.stdout)["total"]["loaded"]
    assert report["graph_build"] == {}
    assert report["total"]["graph"]["created"] > 0
    _verified(data)


@pytest.mark.parametrize(
    "kills",
    [
        # between two batches (the graph behind the record: the next open rebuilds it, and the rest
        # of the load, still larger than what is loaded, is built at its end again), then inside
        # that final build (the new file built, not yet swapped in: its second pass of the point)
        [("batch.committed", 3), ("rebuild.built", 2)],
        # the build swapped in, the merge queue's entries it covers not yet deleted
        [("first_load.built", 1)],
    ],
    ids=["between-batches-then-in-the-build", "after-the-build"],
)
def test_a_first_load_killed_anywhere_ends_with_the_uninterrupted_graph(
    county: Path, reference: Path, tmp_path: Path, kills: list[tuple[str, int]]
) -> None:
    data = tmp_path / "data"
    for point, nth in kills:
        killed = _first_load(county, data, crash=f"{point}:{nth}")
        assert killed.returncode == -signal.SIGKILL, (point, nth, killed.returncode, killed.stderr[-2000:])
    final = _first_load(county, data)
    assert final.returncode == 0, final.stderr[-3000:]
    assert json.loads(final.stdout)["total"]["unexplained"] == 0
    _same_as_reference(data, reference)


def test_a_first_load_in_the_service_swaps_the_built_graph_under_the_serving_store(
    county: Path, reference: Path, tmp_path: Path
) -> None:
    """The service's sync job builds the graph at the end too, under the store its API reads (the
    API reads the old file meanwhile), and its drain then reclassifies from the built graph."""
    data = tmp_path / "data"
    engine, graph, workers = _service(data)
    try:
        before = sum(graph.stats()["nodes"].values())
        job = workers.submit_sync(None, export_dir=county)
        deadline = time.monotonic() + 300
        while job.status not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job.status == "completed", job.message
        assert job.report is not None and job.report["graph_build"]["deferred"] is True
        labels = [p.label for p in job.phases]
        assert any("处理" in label for label in labels), labels  # the job's phases speak Chinese
        # The store the API reads now reads the built file.
        assert sum(graph.stats()["nodes"].values()) > before + 1_000
    finally:
        workers.stop()
        graph.close()
        engine.dispose()
    _same_as_reference(data, reference)
    shutil.rmtree(data / "graph.lbug.aside", ignore_errors=True)


def test_a_service_stopping_during_a_first_load_stops_at_the_batch_boundary_without_building(
    county: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutting the service down stops a sync at its next batch boundary: a first load stopped so
    does not build the whole graph first (minutes for a county, past the stop's wait and the
    supervisor's patience, while the graph lock holds the app's close); the next open rebuilds it."""
    from connectors.pipeline import Pipeline

    data = tmp_path / "data"
    engine, graph, workers = _service(data)
    batch = Pipeline._batch

    def stop_after_one(self: Pipeline, *args: Any) -> None:  # the service is told to stop mid-load
        batch(self, *args)
        workers.stopping.set()

    monkeypatch.setattr(Pipeline, "_batch", stop_after_one)
    try:
        job = workers.submit_sync(None, export_dir=county, batch_size=400)
        deadline = time.monotonic() + 300
        while job.status not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job.status == "failed" and "服务正在停止" in (job.message or ""), job.message
        assert graph.stats()["nodes"]["Person"] == 0  # nothing built on the way out
    finally:
        workers.stop()
        graph.close()
        engine.dispose()
    # The next start finds the graph behind the record and rebuilds it; the rest of the load follows.
    monkeypatch.undo()
    final = _first_load(county, data)
    assert final.returncode == 0, final.stderr[-3000:]
    _same_as_reference(data, reference)


def test_a_first_load_builds_its_graph_with_a_quote_in_the_temporary_directory(
    county: Path, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's relationships are COPYed from files in the fold's temporary directory, which a
    COPY statement names in quotes: under a TMPDIR whose name holds one (a user's home such as
    /home/o'neil) they are loaded as before instead of the build, and the sync, failing."""
    tmp = tmp_path / "o'neil"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    data = tmp_path / "data"
    done = _first_load(county, data)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["graph_build"]["deferred"] is True
    _same_as_reference(data, reference)


def test_a_first_load_whose_build_fails_on_the_disk_says_so_and_the_next_run_builds_it(
    county: Path, reference: Path, tmp_path: Path
) -> None:
    """The build writes a new graph file beside the old one: a disk or permission failure there (a
    directory standing where the new file goes) stops the sync with one line in Chinese and exit 1,
    not a traceback; the record holds the load, and the next run builds the graph from it."""
    data = tmp_path / "data"
    (data / "graph.lbug.rebuild" / "x").mkdir(parents=True)
    failed = _first_load(county, data)
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "同步中断：重建失败" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr[-3000:]
    shutil.rmtree(data / "graph.lbug.rebuild")
    final = _first_load(county, data)
    assert final.returncode == 0, final.stderr[-3000:]
    _same_as_reference(data, reference)
    shutil.rmtree(data / "graph.lbug.aside", ignore_errors=True)


def _parents(report: dict[str, Any]) -> int:
    return next(k["expected"] for k in report["kinds"] if k["kind"] == "rel PARENT_OF")


def test_a_household_register_sent_again_changed_keeps_its_parents_in_the_record(
    county: Path, tmp_path: Path
) -> None:
    """The register sent again with every row changed (a new address): each household's new rows
    infer their parents from the household as it is now, not beside the versions they replace (two
    heads, two mothers: the inference gave up). The record then lost every PARENT_OF the new
    versions should assert; the graph written batch by batch kept the old ones, so verify failed,
    and a first load or a rebuild, built from the record, served a county with its parents gone."""
    data = tmp_path / "data"
    first = run(["sync", "police_hukou", "--from", str(county)], data)
    assert first.returncode == 0, first.stderr[-2000:]
    before = _parents(_verified(data))
    assert before > 500
    again = tmp_path / "again"
    shutil.copytree(county, again)
    register = again / "police" / "hukou.csv"
    lines = register.read_text(encoding="gb18030").splitlines(keepends=True)
    changed = [lines[0]]
    for line in lines[1:]:
        fields = line.rstrip("\r\n").split(",")
        if len(fields) > 9 and fields[9]:
            fields[9] += "附1号"
        changed.append(",".join(fields) + line[len(line.rstrip("\r\n")) :])
    register.write_text("".join(changed), encoding="gb18030", newline="")
    second = run(["sync", "police_hukou", "--from", str(again), "--json"], data)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads(second.stdout)["total"]["loaded"] > 900
    assert _parents(_verified(data)) == before


def test_a_first_load_queues_the_people_of_the_merges_its_build_covered_for_reclassification(
    reference: Path, tmp_path: Path
) -> None:
    """A deferred run's graph is built at its end and the merge queue's entries it covers are
    deleted, not re-projected: their people must still wait for their derived state, as a
    re-projection leaves them. A person a merge absorbed may have come in an earlier run, so no
    batch of this one queued them. Here: merges queued for people the health register does not
    name, and the health register sent again, more than the rest of the record (a deferred run);
    the run is killed once its drain has recomputed, before it deletes the queue, to read it."""
    data = tmp_path / "data"
    shutil.copytree(reference, data)
    db = data / "shouhu.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO reproject_queue (person_key, merge_id, enqueued_at) SELECT DISTINCT person_key, "
            "NULL, '2026-12-06 00:00:00' FROM person_link WHERE person_key NOT IN (SELECT person_key "
            "FROM person_link WHERE system = 'health') ORDER BY person_key LIMIT 5"
        )
        conn.execute(
            "UPDATE landing_record SET status = 'pending' WHERE source = 'health' AND status = 'loaded'"
        )
    merged = {f"person:{k}" for (k,) in _rows(db, "SELECT person_key FROM reproject_queue")}
    assert len(merged) == 5
    epoch = _rows(db, "SELECT epoch FROM graph_projection")
    killed = run(
        ["sync", "--from", str(reference.parent / "county"), "--batch-size", BATCH, "--json"],
        data,
        "drain.recomputed:1",
        settings=FIRST_LOAD,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert _rows(db, "SELECT epoch FROM graph_projection") != epoch  # deferred: a graph built
    assert _rows(db, "SELECT count(*) FROM reproject_queue") == [(0,)]  # the build covered them
    assert _rows(db, "SELECT count(*) FROM landing_record WHERE status = 'pending'") == [(0,)]
    assert merged <= {p for (p,) in _rows(db, "SELECT person_id FROM derived_queue")}
