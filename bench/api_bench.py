"""The child-profile query over HTTP, with policy and audit on versus both off, in one run.

Same data, same query sequence, one server process at a time (LadybugDB has one writer
process), a load generator in this process on loopback with keep-alive.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from auth.identities import add_agency, add_client, issue_token_for_client
from bench.graph_bench import _division_records, _population
from bench.report import percentiles, write
from graph.ladybug import LadybugStore
from kernel.db import make_engine, migrate
from kernel.settings import Settings

PROFILE = """query ChildProfile($id: ID!) { person(id: $id) {
  id name idNumber birthDate sex hukouType
  household { householdNumber members { relationToHead person { id name } } }
  parents { role person { id name worksAway workDestination } }
  guardians { kind since person { id name } }
  enrolments { grade school { name } }
  sources { system recordId } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int, mode: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.api_server", str(port), mode], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("benchmark server did not start")


def _measure(port: int, token: str | None, ids: list[str], warmup: int) -> tuple[list[float], int]:
    headers = {"X-Purpose-Of-Use": "case_work"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    samples, errors = [], 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        for i, pid in enumerate(ids):
            t = time.perf_counter()
            r = client.post("/graphql", json={"query": PROFILE, "variables": {"id": pid}})
            elapsed = time.perf_counter() - t
            body = r.json()
            if r.status_code != 200 or not (body.get("data") or {}).get("person"):
                errors += 1
                if errors == 1:
                    print(f"  first failed request ({pid}): {r.status_code} {r.text[:300]}", flush=True)
            if i >= warmup:
                samples.append(elapsed)
    return samples, errors


def run(persons: int = 50_000, requests: int = 2000, warmup: int = 200, seed: int = 11) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="shouhu-api-bench-"))
    try:
        port = _free_port()
        env = {**os.environ, "SHOUHU_DATA_DIR": str(tmp), "SHOUHU_PORT": str(port),
               "SHOUHU_RATE_LIMIT_PER_MINUTE": "0", "SHOUHU_GRAPH_BUFFER_POOL_MB": "2048"}
        settings = Settings(data_dir=tmp, port=port, rate_limit_per_minute=0)
        store = LadybugStore(settings.graph_path, 2048)
        store.init_schema()
        dn, dr = _division_records()
        store.upsert_nodes(dn)
        store.upsert_rels(dr)
        children: list[str] = []
        for nodes, rels in _population(persons, seed):
            store.upsert_nodes(nodes)
            store.upsert_rels(rels)
            children += [n.id for n in nodes if "-c" in n.id]
        store.close()
        engine = make_engine(settings.sql_url)
        migrate(engine)
        add_agency(engine, agency_id="ps-500101", name="县公安局", agency_type="public_security",
                   jurisdiction="500101000000")
        client_id, _ = add_client(engine, agency_id="ps-500101", role="officer", scopes="read:identity",
                                  name="bench")
        token = issue_token_for_client(engine, settings, client_id).access_token
        engine.dispose()

        rng = random.Random(seed)
        ids = [rng.choice(children) for _ in range(requests + warmup)]
        results: dict[str, Any] = {}
        for mode in ("off", "on"):
            proc = _serve(env, port, mode)
            try:
                samples, errors = _measure(port, token if mode == "on" else None, ids, warmup)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            results[mode] = {**percentiles(samples), "mean_ms": round(sum(samples) / len(samples) * 1000, 3),
                             "errors": errors}
        figures = {
            "persons": persons,
            "requests": requests,
            "policy_and_audit_off": results["off"],
            "policy_and_audit_on": results["on"],
            "ratio_mean": round(results["on"]["mean_ms"] / results["off"]["mean_ms"], 3),
            "ratio_p50": round(results["on"]["p50_ms"] / results["off"]["p50_ms"], 3),
            "ratio_p99": round(results["on"]["p99_ms"] / results["off"]["p99_ms"], 3),
        }
        write("api", figures)
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
