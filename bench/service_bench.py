"""Profile reads under load while a sync runs in the service (issue 12's "always on" target).

A generated county's household register is synced first; then the real `shouhu serve` starts, 20
concurrent clients (threads, keep-alive, loopback) read child profiles over GraphQL with policy and
audit on, and `shouhu sync --from` runs the other four sources through the service's operator socket.
The clients stop when the sync has ended (each at most ``max_per_client`` requests: a bounded loop).
Reported: the sync's time and records, every request's latency (p50, p99, max) and the errors (none
allowed), split into during and after the sync.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.report import percentiles, write
from tests.service_support import PROFILE, SCOPES, start_readers, stop_readers

COUNTY = "500248000000"
ISSUER = "http://127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _absent_now(base: str, credentials: tuple[str, str], person_id: str) -> bool:
    """Whether the person is still absent when read again after the sync (merged away by the
    sync's entity resolution: the answer NOT_FOUND was right, not a failure of the service)."""
    import httpx

    with httpx.Client(base_url=base, headers={"X-Purpose-Of-Use": "case_work"}, timeout=60) as client:
        r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials)
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        body = client.post("/graphql", json={"query": PROFILE, "variables": {"id": person_id}}).json()
    return not (body.get("data") or {}).get("person")


def run(
    persons: int = 20_000, clients: int = 20, seed: int = 3, max_per_client: int = 2_000
) -> dict[str, Any]:
    from auth.identities import add_agency, add_client
    from connectors.pipeline import Pipeline
    from connectors.sources import load_config
    from connectors.synthetic import generate
    from graph.ladybug import LadybugStore
    from kernel.db import make_engine, migrate
    from kernel.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="shouhu-service-bench-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        export, data = tmp / "county", tmp / "data"
        data.mkdir()
        t = time.perf_counter()
        generate(export, persons, seed)
        print(f"  county of {persons:,} persons generated in {time.perf_counter() - t:.1f} s", flush=True)
        settings = Settings(data_dir=data, token_issuer=ISSUER)
        engine = make_engine(settings.sql_url)
        migrate(engine)
        graph = LadybugStore(settings.graph_path, 1024)
        graph.init_schema()
        t = time.perf_counter()
        Pipeline(engine, graph, load_config(data, export)).sync(["police_hukou"])
        register_seconds = time.perf_counter() - t
        print(f"  register synced in {register_seconds:.1f} s", flush=True)
        _, rels = graph.dump()
        people = sorted({r["src"] for r in rels["MEMBER_OF"]})
        add_agency(
            engine, agency_id="ps-500248", name="县公安局", agency_type="public_security", jurisdiction=COUNTY
        )
        client_id, client_secret = add_client(
            engine,
            agency_id="ps-500248",
            role="officer",
            scopes=SCOPES,
            name="service bench",
        )
        graph.close()
        engine.dispose()

        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")},
            "SHOUHU_DATA_DIR": str(data),
            "SHOUHU_TOKEN_ISSUER": ISSUER,
            "SHOUHU_RATE_LIMIT_PER_MINUTE": "0",
            "SHOUHU_GRAPH_BUFFER_POOL_MB": "1024",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "shouhu.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while not (data / "operator.sock").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.2)

        syncing = threading.Event()
        syncing.set()
        workers, until = start_readers(
            base,
            (client_id, client_secret),
            people,
            clients,
            seed=seed,
            syncing=syncing,
            max_per_client=max_per_client,
        )
        load_at_start = os.getloadavg()[0]
        t = time.perf_counter()
        sync = subprocess.run(
            [sys.executable, "-m", "shouhu.cli", "sync", "--from", str(export), "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        sync_seconds = time.perf_counter() - t
        syncing.clear()
        if sync.returncode != 0:
            raise RuntimeError(f"sync through the service failed: {sync.stderr[-500:]}")
        report = json.loads(sync.stdout)
        time.sleep(5)  # a few seconds of reads with the sync over, for comparison
        stop_readers(workers, until)
        during = [s for w in workers for s in w.during]
        after = [s for w in workers for s in w.after]
        errors = [e for w in workers for e in w.errors]
        not_found = [e.split(" ")[1] for e in errors if e.startswith("200 person:") and "NOT_FOUND" in e]
        gone = {pid for pid in set(not_found) if _absent_now(base, (client_id, client_secret), pid)}
        figures = {
            "persons": persons,
            "clients": clients,
            "people_read": len(people),
            "register_sync_seconds": round(register_seconds, 1),
            "sync_through_service_seconds": round(sync_seconds, 1),
            "sync_records": report["total"]["received"],
            "sync_unexplained": report["total"]["unexplained"],
            "requests": len(during) + len(after),
            "errors": len(errors),
            "errors_by_kind": dict(Counter(e.split(" ", 1)[0] for e in errors)),
            "first_errors": errors[:3],
            # NOT_FOUND for a person still absent after the sync: merged into another by the sync
            "errors_person_gone_after_sync": sum(1 for pid in not_found if pid in gone),
            "during_sync": {
                **percentiles(during),
                "requests_per_second": round(len(during) / sync_seconds, 1),
            }
            if len(during) > 1
            else {"n": len(during)},
            "after_sync": percentiles(after) if len(after) > 1 else {"n": len(after)},
            "machine_load_1min_at_start": round(load_at_start, 1),
            "machine_load_1min": round(os.getloadavg()[0], 1),
        }
        write("service", figures)
        return figures
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run(persons=int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
