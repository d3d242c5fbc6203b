"""The build worker's pace (graph/ladybug/build_worker.py): ahead of the loads by at most
``graph_build_ahead_rows`` rows, or in step (one kind ahead) at 0; the same files either way, node
files cut at ``NODE_FILE_CHUNKS`` chunks (or a node group), every row in exactly one file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from graph.fold import Spill
from graph.ladybug import build_worker
from tests.test_graph_fold_spill import _records


class _Acks:
    """The parent's acknowledgements, always there: counts how many the worker waited for."""

    def __init__(self) -> None:
        self.read = 0

    def readline(self) -> bytes:
        self.read += 1
        return b"k\n"


def _fold(written: Path, ahead: int, chunk: int) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
    spill = Spill(read_chunk=7, written=written)
    out, acks = io.BytesIO(), _Acks()
    try:
        build_worker._fold_to_files(spill, chunk, ahead, out, acks)
    finally:
        spill.close()
    msgs = [json.loads(line) for line in out.getvalue().splitlines()]
    sizes = {}
    for m in msgs:
        if "file" in m:
            sizes[Path(m["file"]).name] = pq.read_metadata(m["file"]).num_rows
            Path(m["file"]).unlink()
            m["file"] = Path(m["file"]).name  # (each spill's directory is its own)
    return msgs, acks.read, sizes


def _spilled(spill: Spill) -> Path:
    for nodes, rels in _records(3):
        spill.upsert_nodes(nodes)
        spill.upsert_rels(rels)
    spill.settle()
    return spill.path


def test_the_worker_runs_ahead_within_its_rows_and_in_step_at_zero() -> None:
    with Spill() as one, Spill() as two:  # a fold marks the nodes it folded in its spill: one each
        in_step, waited_in_step, files_in_step = _fold(_spilled(one), 0, 4)
        ahead, waited_ahead, files_ahead = _fold(_spilled(two), 1_000_000, 4)
    kinds = [m for m in in_step if m.get("end")]
    assert waited_in_step == len(kinds) - 2  # every kind but the first two waited for one
    assert waited_ahead == 0
    assert in_step == ahead and files_in_step == files_ahead
    # Person's node files: NODE_FILE_CHUNKS chunks each, the last one what is left.
    person = [n for name, n in sorted(files_ahead.items()) if name.startswith("fold-node-Person-")]
    per_file = 4 * build_worker.NODE_FILE_CHUNKS
    assert len(person) > 1 and person[:-1] == [per_file] * (len(person) - 1) and 0 < person[-1] <= per_file
    told = {m["file"]: m["rows"] for m in ahead if "file" in m}
    assert told == files_ahead
