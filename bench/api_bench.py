"""The child-profile query over HTTP, with policy and audit on versus both off, in one run.

Same data, same query sequence, one server process at a time (LadybugDB has one writer
process), a load generator in this process on loopback with keep-alive. The servers take turns
(off, on, off, on, …) in rounds, so a machine whose load changes during the run (other jobs on a
shared machine) weighs on both modes alike rather than on whichever ran second.

`profile=True` adds one more pass of the "on" server under py-spy (when the `py-spy` binary is
on PATH or named by SHOUHU_PYSPY) and writes where its time went to bench/results/api_profile.txt.
The cost of writing a change's audit entry in the change's own transaction is measured beside it
(`bench.audit_tx_bench`).
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


def server_env(root: Path, port: int, pool_mb: int = 4096) -> dict[str, str]:
    """The environment of a benchmark server (bench.api_server) over the data in `root`: this
    process's environment, the data folder and port, no rate limit, and an explicit graph buffer
    pool of `pool_mb` MB."""
    return {
        **os.environ,
        "SHOUHU_DATA_DIR": str(root),
        "SHOUHU_PORT": str(port),
        "SHOUHU_RATE_LIMIT_PER_MINUTE": "0",
        "SHOUHU_GRAPH_BUFFER_POOL_MB": str(pool_mb),
    }


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


def _pyspy() -> str | None:
    return os.environ.get("SHOUHU_PYSPY") or shutil.which("py-spy")


def _profile(env: dict[str, str], port: int, token: str, ids: list[str], warmup: int) -> Path | None:
    """One more pass of each server under py-spy; where the "on" server spends the time the "off"
    one does not (per request, by function)."""
    spy = _pyspy()
    if spy is None:
        print("  py-spy not found (PATH or SHOUHU_PYSPY): no profile", flush=True)
        return None
    work = Path(tempfile.mkdtemp(prefix="shouhu-api-profile-"))
    stacks: dict[str, Path] = {}
    for mode in ("off", "on"):
        proc = _serve(env, port, mode)
        raw = work / f"{mode}.txt"
        spy_proc = subprocess.Popen(
            [spy, "record", "--format", "raw", "--rate", "250", "-o", str(raw), "--pid", str(proc.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)
            _measure(port, token if mode == "on" else None, ids, warmup)
        finally:
            spy_proc.send_signal(2)
            spy_proc.wait(timeout=60)
            proc.terminate()
            proc.wait(timeout=30)
        if raw.exists():
            stacks[mode] = raw
    try:
        if set(stacks) != {"off", "on"}:
            return None
        from bench.profile_report import compare

        return compare(stacks["off"], stacks["on"], requests=len(ids), rate=250)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(
    persons: int = 50_000,
    requests: int = 2000,
    warmup: int = 200,
    seed: int = 11,
    *,
    rounds: int = 4,
    profile: bool = False,
    measure: bool = True,
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="shouhu-api-bench-"))
    try:
        port = _free_port()
        env = server_env(tmp, port, 2048)
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
        add_agency(
            engine,
            agency_id="ps-500101",
            name="县公安局",
            agency_type="public_security",
            jurisdiction="500101000000",
        )
        client_id, _ = add_client(
            engine, agency_id="ps-500101", role="officer", scopes="read:identity", name="bench"
        )
        token = issue_token_for_client(engine, settings, client_id).access_token
        engine.dispose()

        rng = random.Random(seed)
        ids = [rng.choice(children) for _ in range(requests + warmup)]  # the last `warmup` warm up
        results: dict[str, Any] = {}
        samples_by: dict[str, list[float]] = {"off": [], "on": []}
        errors_by = {"off": 0, "on": 0}
        per_round = -(-requests // rounds)
        for r in range(rounds if measure else 0):
            chunk = ids[r * per_round : (r + 1) * per_round]
            if not chunk:
                break
            for mode in ("off", "on"):
                proc = _serve(env, port, mode)
                try:
                    # Each server warms up on the first ids of the whole sequence, then serves its
                    # round's share: both modes answer the same ids in the same order.
                    samples, errors = _measure(
                        port, token if mode == "on" else None, ids[requests:] + chunk, len(ids) - requests
                    )
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                samples_by[mode] += samples
                errors_by[mode] += errors
        for mode in ("off", "on") if measure else ():
            samples = samples_by[mode]
            results[mode] = {
                **percentiles(samples),
                "mean_ms": round(sum(samples) / len(samples) * 1000, 3),
                "errors": errors_by[mode],
            }
        figures: dict[str, Any] = (
            {}
            if not measure
            else {
                "persons": persons,
                "requests": requests,
                "policy_and_audit_off": results["off"],
                "policy_and_audit_on": results["on"],
                "ratio_mean": round(results["on"]["mean_ms"] / results["off"]["mean_ms"], 3),
                "ratio_p50": round(results["on"]["p50_ms"] / results["off"]["p50_ms"], 3),
                "ratio_p99": round(results["on"]["p99_ms"] / results["off"]["p99_ms"], 3),
                "rounds": rounds,
                "conditions": f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the end",
            }
        )
        if measure:
            write("api", figures)
        if profile:
            out = _profile(env, port, token, ids[: min(len(ids), 600)], 50)
            if out is not None:
                print(out.read_text(encoding="utf-8"))
                print(f"-> {out}")
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
