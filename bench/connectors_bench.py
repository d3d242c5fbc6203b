"""Connector throughput: a generated county synced end to end, records per second and peak memory.

``run(persons=200_000)`` generates a county (about 2.7 source records per person, so
200,000 persons give ≈ 550,000 records across the four source systems), then runs
``shouhu sync --from`` on it in a child process with fresh stores, exactly as an
operator would, and records from the child's run report and ``getrusage``:

* end-to-end records per second (landing, validation, resolution, graph upserts),
* the time of each phase per source,
* the child's peak resident memory (LadybugDB's buffer pool included; it is bounded by
  ``pool_mb`` here, since the engine's default takes a share of the machine's RAM),
* the accounting identity (received = loaded + quarantined, unexplained 0).

Then it runs the same sync again (nothing new: every file is skipped by its cursor) to
show the cost of an idle periodic sync.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write


def _sync(export: Path, data: Path, pool_mb: int, batch_size: int) -> tuple[dict[str, Any], float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env.update({"SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": str(pool_mb)})
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "shouhu.cli",
            "sync",
            "--from",
            str(export),
            "--json",
            "--batch-size",
            str(batch_size),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"shouhu sync failed ({out.returncode}): {out.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(out.stdout), seconds, max(peak_kb, before)


def run(
    persons: int = 200_000, seed: int = 3, pool_mb: int = 4096, batch_size: int = 20_000
) -> dict[str, Any]:
    from connectors.synthetic import generate

    with tempfile.TemporaryDirectory(prefix="shouhu-connectors-bench-") as tmp:
        export, data = Path(tmp) / "export", Path(tmp) / "data"
        t0 = time.perf_counter()
        summary = generate(export, persons, seed)
        generate_s = time.perf_counter() - t0
        report, wall_s, peak_kb = _sync(export, data, pool_mb, batch_size)
        idle, idle_s, _ = _sync(export, data, pool_mb, batch_size)
        total = report["total"]
        records = total["received"]
        figures: dict[str, Any] = {
            "persons": persons,
            "seed": seed,
            "source_records": records,
            "records_by_source": {s["source"]: s["received"] for s in report["sources"]},
            "generate_seconds": round(generate_s, 1),
            "sync_seconds": round(wall_s, 1),
            "records_per_second": round(records / wall_s, 1),
            "records_per_second_in_run": report["records_per_second"],
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "graph_buffer_pool_mb": pool_mb,
            "batch_size": batch_size,
            "resolver": report["resolver"],
            "phases_seconds": {
                s["source"]: {"land": round(s["land_seconds"], 1), "process": round(s["process_seconds"], 1)}
                for s in report["sources"]
            },
            "accounting": {
                "received": total["received"],
                "loaded": total["loaded"],
                "quarantined": total["quarantined"],
                "unexplained": total["unexplained"],
            },
            "quarantined_by_reason": total["by_reason"],
            "graph_writes": total["graph"],
            "idle_resync_seconds": round(idle_s, 1),
            "idle_resync_received": idle["total"]["received"],
            "noise": summary.noise,
        }
    write("connectors", figures)
    return figures


if __name__ == "__main__":
    run(persons=int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
