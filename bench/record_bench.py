"""The graph as a projection of the record: ``shouhu graph verify`` and ``shouhu graph rebuild`` times.

``run(persons=200_000)`` generates a county, syncs it (``shouhu sync --from``, fresh stores, in a
child process as an operator runs it), then times, each as its own ``shouhu`` process:

* ``graph verify`` — the record replayed (reference tables, what every loaded landing row
  projected (``landing_projection``) under today's person links, workflow records) into a
  temporary file, folded element by element, and compared with every node and relationship of the
  graph, kind by kind, a page at a time (``graph_fold_chunk`` rows);
* ``graph rebuild`` — the same replay, then a new LadybugDB file bulk-loaded with ``COPY`` a chunk
  at a time and swapped in;
* ``graph verify`` again on the rebuilt file (must agree, with the same content hash).

Process wall times include interpreter start and opening the stores (the child-process probe too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write

CPU: dict[str, float] = {}  # CPU seconds (user + system) of each timed command, by its first words
RSS: dict[str, float] = {}  # peak resident set of each timed command, MB


def _shouhu(
    args: list[str], data: Path, pool_mb: int, label: str | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run one ``shouhu`` command; its wall time returned, its CPU time and peak RSS (the child's own
    rusage, so a machine shared with other work still gives comparable figures) kept in ``CPU`` and
    ``RSS`` under ``label`` (default: the command's first two words)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_") or k == "SHOUHU_GRAPH_FOLD_CHUNK"
    }
    env.update({"SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": str(pool_mb)})
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "shouhu.cli", *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # the child's own rusage (ru_maxrss in KB on Linux)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(child.args, child.returncode, out.read(), err.read())
    key = label or " ".join(args[:2])
    CPU[key] = round(usage.ru_utime + usage.ru_stime, 1)
    RSS[key] = round(usage.ru_maxrss / 1024, 1)
    return done, wall


def run(
    persons: int = 200_000,
    seed: int = 3,
    pool_mb: int = 4096,
    batch_size: int = 20_000,
    synced: Path | None = None,
) -> dict[str, Any]:
    """``synced``: a data directory a ``shouhu sync`` of ``persons`` already filled (its sync time
    is then not measured here); the verify and rebuild run on it in place."""
    from connectors.synthetic import generate

    with tempfile.TemporaryDirectory(prefix="shouhu-record-bench-") as tmp:
        export, data = Path(tmp) / "export", synced or Path(tmp) / "data"
        sync_s, received = None, None
        if synced is None:
            generate(export, persons, seed)
            sync, sync_s = _shouhu(
                ["sync", "--from", str(export), "--json", "--batch-size", str(batch_size)], data, pool_mb
            )
            if sync.returncode != 0:
                raise RuntimeError(f"shouhu sync failed ({sync.returncode}): {sync.stderr[-2000:]}")
            received = json.loads(sync.stdout)["total"]["received"]
        verify, verify_s = _shouhu(["graph", "verify", "--json"], data, pool_mb)
        verify_cpu = CPU["graph verify"]
        rebuild, rebuild_s = _shouhu(["graph", "rebuild", "--json"], data, pool_mb)
        if rebuild.returncode != 0:
            raise RuntimeError(f"shouhu graph rebuild failed: {rebuild.stderr[-2000:]}")
        again, again_s = _shouhu(["graph", "verify", "--json"], data, pool_mb, "graph verify after rebuild")
        before, after, built = json.loads(verify.stdout), json.loads(again.stdout), json.loads(rebuild.stdout)
        figures: dict[str, Any] = {
            "persons": persons,
            "seed": seed,
            "graph_buffer_pool_mb": pool_mb,
            "graph_fold_chunk": int(os.environ.get("SHOUHU_GRAPH_FOLD_CHUNK", "20000")),
            "sync_seconds": round(sync_s, 1) if sync_s is not None else None,
            "source_records": received,
            "graph_nodes": built["nodes"],
            "graph_relationships": built["relationships"],
            "sync_cpu_seconds": CPU.get("sync --from"),
            "graph_verify_seconds": round(verify_s, 1),
            "graph_verify_cpu_seconds": verify_cpu,
            "graph_verify_ok": before["ok"],
            "graph_rebuild_seconds": round(rebuild_s, 1),
            "graph_rebuild_cpu_seconds": CPU["graph rebuild"],
            "graph_rebuild_seconds_in_process": built["seconds"],
            "graph_verify_after_rebuild_seconds": round(again_s, 1),
            "graph_verify_after_rebuild_cpu_seconds": CPU["graph verify after rebuild"],
            "peak_rss_mb": dict(RSS),
            "load_average_1min_at_end": round(os.getloadavg()[0], 1),
            "graph_verify_after_rebuild_ok": after["ok"],
            "same_content_hash": before["content_hash"] == after["content_hash"],
        }
    figures["earlier"] = _earlier()
    write("record", figures)
    return figures


def _earlier() -> dict[str, Any] | None:
    """The figures the last run wrote (kept beside the new ones: the record's history)."""
    from bench.report import RESULTS

    path = RESULTS / "record.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    doc.pop("earlier", None)
    return doc


if __name__ == "__main__":
    # python -m bench.record_bench [persons] [a data dir a sync of that many persons filled]
    run(
        persons=int(sys.argv[1]) if len(sys.argv) > 1 else 200_000,
        synced=Path(sys.argv[2]) if len(sys.argv) > 2 else None,
    )
