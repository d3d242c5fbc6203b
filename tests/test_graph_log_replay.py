"""A graph whose write-ahead log was not folded in (a sync killed after a COMMIT, before the
checkpoint that SHOUHU_GRAPH_CHECKPOINT_MB or the run's end would have made) is not broken: it
opens with the log replayed, whatever buffer pool the opening process is configured with.

Replaying the log takes pool in proportion to the log, and the log now grows to
SHOUHU_GRAPH_CHECKPOINT_MB (256) between checkpoints: with a pool that serves the folded graph but
is too small to replay the log, the self-healing open took "the buffer pool is full" for a broken
graph, moved it aside and rebuilt it from the record (and with that small a pool the rebuild
failed: no graph at all). Scaled down here: 1,000 persons, the sync killed when its log first
passes 3 MB (a pool of 1 GB, so no reopen folds it first), the graph opened with a 20 MB pool.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.test_record_survives import run


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1,000-person county (seed 5) both tests sync, generated once (read-only)."""
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("log-replay") / "county"
    generate(out, persons=1000, seed=5)
    return out


def test_a_graph_with_its_log_pending_opens_with_a_pool_too_small_to_replay_it(
    county: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    killed = run(
        ["sync", "--from", str(county), "--batch-size", "300"],
        data,
        crash="graph.checkpoint_due",
        pool_mb=1024,  # no reopen before the log passes 6 MB: a reopen folds the log in first
        settings={"SHOUHU_GRAPH_CHECKPOINT_MB": "3"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (data / "graph.lbug.wal").stat().st_size > 3 * 1024 * 1024

    stats = run(["graph", "stats"], data, pool_mb=20)
    assert stats.returncode == 0, stats.stderr[-2000:]
    assert not (data / "graph.lbug.aside").exists(), stats.stderr[-2000:]  # not set aside as broken
    assert not (data / "graph.lbug.wal").exists()  # replayed and folded in
    synced = run(["sync", "--from", str(county), "--batch-size", "300"], data)
    assert synced.returncode == 0, synced.stderr[-2000:]
    verify = run(["graph", "verify"], data)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]


def test_a_sync_in_a_pool_smaller_than_the_checkpoint_size_folds_the_log_instead_of_filling_the_pool(
    county: Path, tmp_path: Path
) -> None:
    """What was committed since the last checkpoint stays in the buffer pool, and the store's reopen
    (when its pool is 40% used) replays the log into it again, so with SHOUHU_GRAPH_CHECKPOINT_MB
    (256) above the pool the pool filled however often the store reopened: measured, a 1,000-person
    sync in a 48 MB pool ran with the engine's own checkpoints (0) and failed 'the buffer pool is
    full' with a size of 8 or 256. The store now checkpoints before such a reopen."""
    data = tmp_path / "data"
    synced = run(["sync", "--from", str(county), "--batch-size", "300"], data, pool_mb=48)
    assert synced.returncode == 0, synced.stderr[-2000:]
    verify = run(["graph", "verify"], data)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
