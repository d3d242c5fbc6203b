"""Agencies read profiles while a sync or a rebuild runs in the service: no read waits for either.

The real `shouhu serve` on a small county whose register is synced; then `shouhu sync survey --from`
runs through the service while four agency clients read profiles over GraphQL. The service is
started with every statement of a graph write transaction paused (``SHOUHU_PAUSE_AT``,
graph/crash.py), so the sync's transaction stays open for seconds, as a 2,000-record batch does at
county scale (2-25 s measured). A read queued behind the transaction would wait that long; a read on
a connection of its own sees the last committed graph and answers at once.

The bound on one read, READ_BOUND (3 s): with the fix the slowest reads took 1.2-1.3 s at load 8-15
(a profile read is tens of milliseconds alone; the rest is four clients, the sync and other work on
two cores), while the sync's transaction holds some 22 paused statements, over 5 s at PAUSE. With
the reads sharing the writer's lock again (measured at a 0.5 s pause) the slowest waited 11.9 s.
Every read must answer 200 with the person, in under READ_BOUND. Then `shouhu graph rebuild`
through the service, under the same readers and bound.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import test_service as served
from tests.service_support import start_readers, stop_readers
from tests.test_service import SHOUHU, _env, _start, _stop, register_county

PERSONS = 200
PAUSE = 0.25  # seconds, each statement of a graph write transaction, in the service only
READ_BOUND = 3.0  # seconds, one profile read, however long the sync's transactions


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The service tests' county (no schedule: the test's own sync is the only writer)."""
    return register_county(tmp_path_factory.mktemp("reads"), PERSONS, 7, "reads")


@pytest.fixture(scope="module")
def service(county: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The real `shouhu serve`, every statement of its graph write transactions paused by PAUSE."""
    paused = {**_env(county["data"]), "SHOUHU_PAUSE_AT": f"graph.statement:{PAUSE}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(served, "_env", lambda _data: paused)  # the service's environment only
        state = _start(county["data"], "reads-serve.log")
    try:
        yield state
    finally:
        _stop(state)


def _reading_while(county: dict[str, Any], service: dict[str, Any], args: list[str]) -> dict[str, Any]:
    """Run the command through the service while 4 agency clients read profiles: what it printed,
    its seconds, every read's latency and every failed read."""
    readers, until = start_readers(service["base"], county["credentials"], county["people"], 4, seed=11)
    try:
        time.sleep(1.0)  # the readers have their tokens and read before the command starts
        t = time.monotonic()
        done = subprocess.run(
            [*SHOUHU, *args], env=_env(county["data"]), capture_output=True, text=True, timeout=120
        )
        seconds = time.monotonic() - t
    finally:
        stop_readers(readers, until)
    assert done.returncode == 0, done.stderr[-800:]
    return {
        "out": json.loads(done.stdout),
        "seconds": seconds,
        "latencies": [s for r in readers for s in r.after],  # `syncing` unset: every read lands here
        "errors": [e for r in readers for e in r.errors],
    }


def test_profile_reads_do_not_wait_for_the_syncs_write_transactions(
    county: dict[str, Any], service: dict[str, Any]
) -> None:
    run = _reading_while(county, service, ["sync", "survey", "--from", str(county["export"]), "--json"])
    report, sync_seconds, latencies = run["out"], run["seconds"], run["latencies"]
    assert report["total"]["received"] > 0 and report["total"]["unexplained"] == 0
    # The sync's transaction was long: the pauses alone held it open for seconds.
    assert sync_seconds > 2 * READ_BOUND, sync_seconds
    assert run["errors"] == [], run["errors"][:3]
    assert len(latencies) >= 4 * sync_seconds, (len(latencies), sync_seconds)  # reads went on throughout
    slowest = [round(s, 2) for s in sorted(latencies)[-3:]]
    assert max(latencies) < READ_BOUND, f"slowest reads {slowest} s, sync {sync_seconds:.1f} s"


def test_profile_reads_answer_from_the_old_graph_while_a_rebuild_runs(
    county: dict[str, Any], service: dict[str, Any]
) -> None:
    """`shouhu graph rebuild` through the service: reads go on from the old graph and then the new,
    none refused, none waiting for the rebuild (only for the reopen on the new file)."""
    run = _reading_while(county, service, ["graph", "rebuild", "--json"])
    assert run["out"]["nodes"] > len(county["people"])
    assert run["errors"] == [], run["errors"][:3]
    latencies = run["latencies"]
    assert len(latencies) >= 4 * run["seconds"], (len(latencies), run["seconds"])
    slowest = [round(s, 2) for s in sorted(latencies)[-3:]]
    assert max(latencies) < READ_BOUND, f"slowest reads {slowest} s, rebuild {run['seconds']:.1f} s"
