"""A sync batch's graph write in several transactions (``sync_graph_tx_records`` records each): a
kill between two of them loses nothing (issue 12: the buffer pool a transaction pins is bounded by
the part, not the batch).

A small county (200 persons, seed 11) is synced once uninterrupted with one transaction a batch
(the reference), and once in parts of 60 records (batches of 150) killed between the second and
third part of the first batch: the graph is then ahead of the record (verify finds the extra
elements); the next sync redoes the batch, and the graph verifies with the reference's content.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.test_record_survives import _verified, _verify, content_hash, run

SOURCES = ["police_hukou"]


def test_a_sync_killed_between_the_graph_transactions_of_a_batch_ends_with_the_uninterrupted_graph(
    tmp_path: Path,
) -> None:
    from connectors.synthetic import generate

    county = tmp_path / "county"
    generate(county, persons=200, seed=11)  # as `shouhu demo generate` writes it, without its process
    args = ["sync", *SOURCES, "--from", str(county), "--batch-size", "150"]

    reference = tmp_path / "reference"
    whole = run(args, reference, settings={"SHOUHU_SYNC_GRAPH_TX_RECORDS": "100000"})
    assert whole.returncode == 0, whole.stderr[-3000:]

    data = tmp_path / "data"
    parts = {"SHOUHU_SYNC_GRAPH_TX_RECORDS": "60"}
    killed = run(args, data, crash="batch.graph_part:2", settings=parts)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    report, _ = _verify(data)
    assert not report["ok"] and any(k["extra"] for k in report["kinds"])  # the graph is ahead

    final = run(args, data, settings=parts)
    assert final.returncode == 0, final.stderr[-3000:]
    _verified(data)
    assert content_hash(data)[0] == content_hash(reference)[0]
