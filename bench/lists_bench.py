"""Lists and batch work at county scale (issue 12): a page of people over HTTP, classification,
cross-check, and a 3-hop network over every person relationship type.

Runs on the network benchmark's graph (``bench.network_bench.build``: households, parents,
grandparents, entrusted guardians, everyone RESIDES_IN a village, so every person's profile
passes through a village hub). Each figure is printed beside the figure issue 12 reported.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.api_bench import _free_port, _serve, server_env
from bench.network_bench import COUNTY, _police_client, build, data_dir
from bench.report import RESULTS, percentiles, write
from graph.ladybug import LadybugStore
from graph.model import REL_KINDS
from kernel.db import make_engine
from kernel.settings import Settings

PAGE = """query Page($d: String!, $after: String) { people(division: $d, first: 100, after: $after) {
  edges { node { id name birthDate sex } } pageInfo { hasNextPage endCursor } } }"""
NETWORK_ALL = """query Net($id: ID!, $types: [String!]) { network(start: $id, depth: 3, relTypes: $types) {
  nodes { id kind } edges { type } truncated } }"""
# What issue 12 measured before this work, to print beside each figure.
BEFORE = {
    "people_page_100": "2.3-3.0 s per page on a 2,000-person county (about 25 ms a row)",
    "classification": "54 children/s (make serve's sync, ~70 s of reclassification)",
    "crosscheck": "171 s on the 20,000-person demo county; 969 s for 79,959 children on this graph "
    "(load average ~20, neighbourhoods read a page of 1,000 people at a time)",
    "crosscheck_township": "13.4 s for crossCheck over GraphQL for one township of the demo county; "
    "56.4 s for this township (3,241 children) with the page-by-page cross-check, in process, load ~15",
    "three_hop_all_types": "p50 535 ms, p99 1,070 ms on the 1,000,000-person graph",
}


def _pages(port: int, token: str, requests: int, warmup: int, seed: int) -> tuple[dict[str, Any], int]:
    """Pages of 100 people of random villages (first page or the next one), policy and audit on."""
    rng = random.Random(seed)
    villages = [f"500101{t:03d}{v:03d}" for t in range(1, 26) for v in range(1, 41)]
    headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "case_work"}
    samples, errors = [], 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
        for i in range(requests + warmup):
            variables = {"d": rng.choice(villages), "after": None}
            t = time.perf_counter()
            r = client.post("/graphql", json={"query": PAGE, "variables": variables})
            elapsed = time.perf_counter() - t
            body = r.json()
            edges = ((body.get("data") or {}).get("people") or {}).get("edges")
            if r.status_code != 200 or body.get("errors") or not edges:
                errors += 1
                if errors == 1:
                    print(f"  first failed page: {r.status_code} {r.text[:300]}", flush=True)
                continue
            if i >= warmup:
                samples.append(elapsed)
    return percentiles(samples), errors


def _networks(
    port: int, token: str, households: int, requests: int, warmup: int, seed: int
) -> dict[str, Any]:
    """network(start, depth: 3) over every person relationship type (the default), hubs not expanded."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "case_work"}
    samples, sizes, errors = [], [], 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
        for i in range(requests + warmup):
            pid = f"person:{rng.randint(1, households)}-c0"
            t = time.perf_counter()
            r = client.post(
                "/graphql", json={"query": NETWORK_ALL, "variables": {"id": pid, "types": sorted(REL_KINDS)}}
            )
            elapsed = time.perf_counter() - t
            net = ((r.json().get("data") or {}).get("network")) if r.status_code == 200 else None
            if not net:
                errors += 1
                if errors == 1:
                    print(f"  first failed network: {r.status_code} {r.text[:300]}", flush=True)
                continue
            if i >= warmup:
                samples.append(elapsed)
                sizes.append(len(net["nodes"]))
    return {**percentiles(samples), "errors": errors, "mean_nodes": round(sum(sizes) / max(1, len(sizes)), 1)}


PARTS = ("pages", "network", "batch")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cost(pid: int, cpu_before: float, requests: int) -> dict[str, Any]:
    """The server's CPU per request over a part (warm-up included) and its peak RSS so far: on a
    shared 2-core machine the latencies follow the load, the CPU a request costs much less so."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {
        "server_cpu_ms_per_request": round((_cpu_seconds(pid) - cpu_before) / requests * 1000, 1),
        "server_peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024),
    }


def run(
    persons: int = 1_000_000,
    requests: int = 200,
    warmup: int = 20,
    seed: int = 17,
    parts: tuple[str, ...] = PARTS,
) -> dict[str, Any]:
    """Every part by default; `parts` runs some (pages and network over HTTP, batch the
    classification and cross-check) and keeps the other parts' figures from the last run."""
    meta = build(persons)
    root = data_dir(persons)
    port = _free_port()
    settings = Settings(data_dir=root, port=port, rate_limit_per_minute=0)
    figures: dict[str, Any] = {"persons": meta["persons"]}
    loads = [os.getloadavg()[0]]
    if "pages" in parts or "network" in parts:
        police_id = _police_client(root, settings)
        from auth.identities import issue_token_for_client

        engine = make_engine(settings.sql_url)
        police = issue_token_for_client(engine, settings, police_id).access_token
        engine.dispose()
        env = server_env(root, port)
        proc = _serve(env, port, "on")
        try:
            if "pages" in parts:
                cpu = _cpu_seconds(proc.pid)
                page, page_errors = _pages(port, police, requests, warmup, seed)
                loads.append(os.getloadavg()[0])
                figures["people_page_100"] = {
                    "query": PAGE_LABEL,
                    **page,
                    **_server_cost(proc.pid, cpu, requests + warmup),
                    "errors": page_errors,
                    "before": BEFORE["people_page_100"],
                    "target": "p99 <= 100 ms on 1,000,000 persons",
                }
            if "network" in parts:
                cpu = _cpu_seconds(proc.pid)
                network = _networks(port, police, meta["households"], requests, warmup, seed)
                loads.append(os.getloadavg()[0])
                figures["three_hop_all_types"] = {
                    "query": "network(start, depth: 3), every person relationship type, hubs not expanded",
                    **network,
                    **_server_cost(proc.pid, cpu, requests + warmup),
                    "before": BEFORE["three_hop_all_types"],
                    "target": "p99 <= 50 ms on 1,000,000 persons",
                }
        finally:
            proc.terminate()
            proc.wait(timeout=60)

    if "batch" in parts:
        from connectors.crosscheck import crosscheck

        engine = make_engine(settings.sql_url)
        store = LadybugStore(settings.graph_path, 4096)
        try:
            t = time.perf_counter()
            report = crosscheck(store, as_of=date(2026, 9, 1), division_prefix=COUNTY[:6])
            crosscheck_s = time.perf_counter() - t
            classification = _classification(store, engine)
        finally:
            store.close()
            engine.dispose()
        loads.append(os.getloadavg()[0])
        figures["classification"] = classification
        figures["crosscheck"] = {
            "children": report.children,
            "seconds": round(crosscheck_s, 2),
            "before": BEFORE["crosscheck"],
            "target": "<= 20 s on 200,000 persons",
        }
    note = (
        "measured on a 2-core machine shared with other jobs; 1-minute load average "
        f"{min(loads):.1f}-{max(loads):.1f} while it ran"
    )
    section = _size_key(persons)
    previous = _previous(section)
    kept = {
        k: {"measured_at": previous.get("at"), "load_average": previous.get("note"), **v}
        for k, v in previous.items()
        if k in PART_KEYS and k not in figures
    }
    for key in figures:
        if key in PART_KEYS:
            figures[key]["load_average"] = note
    earlier = previous.get("earlier", [])
    if any(k in previous for k in PART_KEYS if k in figures):
        earlier = [*earlier, {k: previous[k] for k in (*PART_KEYS, "at", "note") if k in previous}][-4:]
    out = {**kept, **figures, "note": note, "earlier": earlier}
    if "profiles" in previous:  # where a request's time goes, profiled by hand (kept as written)
        out["profiles"] = previous["profiles"]
    if section is not None:
        build_figures = {
            k: meta[k] for k in ("load_seconds", "peak_rss_mb", "pool_mb", "load_average") if k in meta
        }
        out = {"build": build_figures, **out}
    out = {k: out[k] for k in ("persons", "build", "note", *PART_KEYS, "profiles", "earlier") if k in out}
    _write(section, out)
    return out


PAGE_LABEL = "people(division: <village>, first: 100) { id name birthDate sex }; policy and audit on"
PART_KEYS = ("people_page_100", "classification", "crosscheck", "three_hop_all_types")


def _doc() -> dict[str, Any]:
    path = RESULTS / "lists.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _size_key(persons: int) -> str | None:
    """Where a graph size's figures live in lists.json: the top level holds one size (the first
    measured, 200,000 persons), any other size a section of its own ("persons_1000000"), so that
    measuring one size never drops another's figures."""
    top = _doc().get("persons")
    if top is None or abs(top - persons) < 100:
        return None
    return f"persons_{persons}"


def _previous(key: str | None) -> dict[str, Any]:
    """The last figures written for the same graph size (to keep the parts not run this time, and
    to show the ones replaced beside the new)."""
    doc = _doc()
    return doc if key is None else dict(doc.get(key, {}))


def _write(key: str | None, out: dict[str, Any]) -> None:
    """The top level through `report.write` (other sizes' sections kept), or one size's section."""
    doc = _doc()
    sections = {k: v for k, v in doc.items() if k.startswith("persons_")}
    if key is None:
        write("lists", {**out, **sections})
        return
    doc[key] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **out}
    (RESULTS / "lists.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(doc[key], indent=2, ensure_ascii=False))


CROSS = """query($d: String!) { crossCheck(division: $d, asOf: "2026-09-01", examples: 20) {
  children findings { finding count examples { id } } conflictingAttributes { attribute count } } }"""
TOWNSHIP = "500101001000"
CLI_ARGS = ("crosscheck", "--division", COUNTY[:6], "--as-of", "2026-09-01", "--json")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_crosscheck(persons: int = 200_000, repeats: int = 3) -> dict[str, Any]:
    """The cross-check alone (``python -m bench crosscheck``): the county in process, as ``shouhu
    crosscheck`` runs it, and one township's ``crossCheck`` over GraphQL (analyst, policy and audit
    on). Replaces the "crosscheck" figures of lists.json, the earlier ones kept beside them."""
    from datetime import date

    from auth.identities import issue_token_for_client
    from connectors.crosscheck import crosscheck

    meta = build(persons)
    root = data_dir(persons)
    port = _free_port()
    settings = Settings(data_dir=root, port=port, rate_limit_per_minute=0)
    engine = make_engine(settings.sql_url)
    token = issue_token_for_client(engine, settings, meta["client_id"]).access_token
    engine.dispose()
    env = server_env(root, port)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "case_work"}
    township: list[float] = []
    town_children = 0
    proc = _serve(env, port, "on")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=600) as client:
            for _ in range(repeats):
                t = time.perf_counter()
                r = client.post("/graphql", json={"query": CROSS, "variables": {"d": TOWNSHIP}})
                township.append(time.perf_counter() - t)
                body = r.json()
                if r.status_code != 200 or body.get("errors"):
                    raise RuntimeError(f"crossCheck failed: {r.status_code} {r.text[:300]}")
                town_children = body["data"]["crossCheck"]["children"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    county: list[float] = []
    store = LadybugStore(settings.graph_path, 4096)
    try:
        load_before = _load()
        for _ in range(repeats):
            t = time.perf_counter()
            report = crosscheck(store, as_of=date(2026, 9, 1), division_prefix=COUNTY[:6])
            county.append(time.perf_counter() - t)
        load_after = _load()
    finally:
        store.close()
    # The command as an operator runs it, start to end (start-up and opening the stores included).
    cli_load = _load()
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from shouhu.cli import main; main()", *CLI_ARGS],
        env={**os.environ, "SHOUHU_DATA_DIR": str(root)},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    cli_seconds = time.perf_counter() - t
    if done.returncode != 0 or json.loads(done.stdout)["children"] != report.children:
        raise RuntimeError(f"shouhu crosscheck failed: {done.returncode} {done.stderr[-300:]}")
    path = RESULTS / "lists.json"
    doc: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"benchmark": "lists"}
    previous: dict[str, Any] = doc.get("crosscheck", {})
    earlier = previous
    if earlier.get("how"):  # measured by this function before: keep what it kept
        earlier = earlier.get("earlier", {})
    else:  # the figure of the whole lists benchmark, with when and under what load it was taken
        earlier = {**earlier, "at": doc.get("at"), "note": doc.get("note")}
    doc["crosscheck"] = {
        "how": "GraphStore.child_families: six batched graph reads for the county, one pass in Python",
        "persons": meta["persons"],
        "children": report.children,
        "seconds": [round(x, 2) for x in county],
        "best_seconds": round(min(county), 2),
        "load_average_1_5_15": {"before": load_before, "after": load_after},
        "shouhu_crosscheck_command": {"seconds": round(cli_seconds, 2), "load_average_1_5_15": cli_load},
        "township_graphql": {
            "division": TOWNSHIP,
            "children": town_children,
            "seconds": [round(x, 2) for x in township],
            "before": BEFORE["crosscheck_township"],
        },
        "before": BEFORE["crosscheck"],
        "target": "<= 20 s on 200,000 persons",
        "earlier": earlier,
    }
    if "demo_county" in previous:  # measured by hand beside it (old and new code on one store)
        doc["crosscheck"]["demo_county"] = previous["demo_county"]
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(doc["crosscheck"], indent=2, ensure_ascii=False))
    return dict(doc["crosscheck"])


def _classification(store: LadybugStore, engine: Any, runs: int = 3) -> dict[str, Any]:
    """Reclassify one township `runs` times (the graph's pages warm after the first): wall and
    process CPU seconds of each, with the load average around them (the machine is shared)."""
    from protection.classification import recompute

    samples: list[dict[str, Any]] = []
    for _ in range(runs):
        load_before = os.getloadavg()[0]
        cpu = time.process_time()
        rep = recompute(store, engine, division=TOWNSHIP, as_of=date(2026, 9, 1), trigger="bench")
        samples.append(
            {
                "children": rep.children,
                "seconds": round(rep.seconds, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "children_per_second": round(rep.per_second, 1),
                "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            }
        )
    best = max(samples, key=lambda x: x["children_per_second"])
    return {
        "township": TOWNSHIP,
        "children": best["children"],
        "seconds": best["seconds"],
        "children_per_second": best["children_per_second"],
        "children_per_cpu_second": round(best["children"] / max(best["cpu_seconds"], 1e-9), 1),
        "runs": samples,
        "before": BEFORE["classification"],
        "target": ">= 2,000 children/s",
    }


def run_classification(persons: int = 200_000) -> dict[str, Any]:
    """Only the classification figure, written into lists.json beside the other figures (the
    figure it replaces kept as `previous`): the whole lists benchmark takes most of an hour."""
    meta = build(persons)
    settings = Settings(data_dir=data_dir(persons))
    engine = make_engine(settings.sql_url)
    from kernel.db import migrate

    migrate(engine)
    store = LadybugStore(settings.graph_path, 4096)
    try:
        figure = _classification(store, engine)
    finally:
        store.close()
        engine.dispose()
    path = RESULTS / "lists.json"
    doc = json.loads(path.read_text()) if path.exists() else {"persons": meta["persons"]}
    previous = doc.get("classification")
    if previous and "previous" in previous:  # a re-run: the figure replaced is still the first one
        figure["previous"] = previous["previous"]
    elif previous:
        figure["previous"] = {k: v for k, v in previous.items() if k not in ("before", "target")}
        figure["previous"]["at"] = doc.get("at")
    doc["classification"] = figure
    doc["classification_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(figure, indent=2, ensure_ascii=False))
    return figure
