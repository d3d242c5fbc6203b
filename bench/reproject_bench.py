"""Re-projection after entity resolution changed who people are (``Pipeline.reproject``): its time
and graph statements per person, on a copy of a synced data directory.

``python -m bench.reproject_bench <synced data dir> [persons] [per transaction]`` re-projects the
first ``persons`` person keys (sorted) ``per transaction`` at a time, as the sync's queue does
(``REPROJECT_CHUNK``), in this process, and prints wall and CPU seconds, the LadybugDB statements run
(``LadybugStore._run`` and ``_run_rows`` calls) and peak RSS. The links are unchanged, so the graph
must end as it began: ``graph verify`` (a child process) must still pass with the same hash.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run(synced: Path, persons: int = 1000, per_tx: int = 10, pool_mb: int = 1024) -> dict[str, Any]:
    from sqlalchemy import select

    from connectors.pipeline import Pipeline
    from connectors.resolution.tables import PersonLink
    from connectors.sources import ConnectorsConfig
    from graph.ladybug import LadybugStore
    from kernel.db import make_engine

    with tempfile.TemporaryDirectory(prefix="shouhu-reproject-bench-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(synced, data)
        engine = make_engine(f"sqlite:///{data / 'shouhu.sqlite3'}")
        link = PersonLink.__table__  # type: ignore[attr-defined]
        with engine.connect() as conn:
            keys = [
                k
                for (k,) in conn.execute(
                    select(link.c.person_key).distinct().order_by(link.c.person_key).limit(persons)
                )
            ]
        store = LadybugStore(data / "graph.lbug", pool_mb)
        counted = [0]
        for name in ("_run", "_run_rows"):
            plain = getattr(store, name)

            def counting(*args: Any, _plain: Any = plain, **kw: Any) -> Any:
                counted[0] += 1
                return _plain(*args, **kw)

            setattr(store, name, counting)
        pipe = Pipeline(engine, store, ConnectorsConfig())
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(0, len(keys), per_tx):
            pipe.reproject(keys[i : i + per_tx])
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        store.close()
        engine.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
        env.update({"SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": str(pool_mb)})
        verify = subprocess.run(
            [sys.executable, "-m", "shouhu.cli", "graph", "verify", "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        report = json.loads(verify.stdout)
    return {
        "persons": len(keys),
        "per_transaction": per_tx,
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "graph_statements": counted[0],
        "statements_per_person": round(counted[0] / max(len(keys), 1), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "verify_ok_after": report["ok"],
        "content_hash_after": report["content_hash"],
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    out = run(Path(args[0]), *(int(a) for a in args[1:3]))
    print(json.dumps(out, indent=2))
