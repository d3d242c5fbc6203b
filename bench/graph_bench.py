"""The graph core at county-and-more scale on LadybugDB, through the GraphStore port.

Builds a seeded synthetic population (households, parents, grandparents, entrusted
guardians, divisions) of at least a million people, then measures load rate, point
lookups, 3-hop neighbourhoods and an idempotent re-upsert of 10,000 changed records.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from bench.report import percentiles, write
from graph.ladybug import LadybugStore
from graph.model import FAMILY_RELS, node_id
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.settings import Settings

COUNTY = "500101000000"
BATCH = 20_000  # records per upsert call (one transaction), as a connector would send
# A big build's LadybugDB buffer pool (MB) unless SHOUHU_GRAPH_BUFFER_POOL_MB says otherwise: with
# no pool given the engine takes 80% of the machine's memory and, with the store's reopen budget
# scaled to that pool, never gives it back (a 1,000,000-person build was killed at 18 GB RSS; with
# 3 GB it peaked at 3.5 GB).
BUILD_POOL_MB = 3072


def _divisions(townships: int, villages: int) -> list[str]:
    codes = []
    for t in range(1, townships + 1):
        for v in range(1, villages + 1):
            codes.append(f"500101{t:03d}{v:03d}")
    return codes


def _population(persons: int, seed: int) -> Iterator[tuple[list[NodeRecord], list[RelRecord]]]:
    """Yields households one batch at a time, so memory stays flat whatever the size."""
    rng = random.Random(seed)
    src = Assertion("police_hukou", "bench", datetime(2026, 1, 1))
    villages = _divisions(25, 40)
    nodes: list[NodeRecord] = []
    rels: list[RelRecord] = []
    made = 0
    h = 0
    while made < persons:
        h += 1
        village = villages[h % len(villages)]
        hid = node_id("Household", f"H{h}")
        nodes.append(
            NodeRecord(hid, {"household_number": f"H{h}", "hukou_type": "rural", "division": village}, src)
        )
        rels.append(RelRecord("LOCATED_IN", hid, node_id("Division", village), {}, src))
        members = []
        gm = node_id("Person", f"{h}-gm")
        father, mother = node_id("Person", f"{h}-f"), node_id("Person", f"{h}-m")
        away = rng.random() < 0.4
        members += [
            (gm, {"sex": "F", "birth_date": "1958-05-01", "guardianship_capacity": rng.random() > 0.1}),
            (father, {"sex": "M", "birth_date": "1988-02-03", "works_away": away}),
            (mother, {"sex": "F", "birth_date": "1990-07-09", "works_away": away and rng.random() < 0.7}),
        ]
        kids = [node_id("Person", f"{h}-c{k}") for k in range(rng.randint(1, 3))]
        members += [
            (
                c,
                {
                    "sex": rng.choice("MF"),
                    "birth_date": f"20{rng.randint(10, 22)}-0{rng.randint(1, 9)}-15",
                    "hukou_type": "rural",
                },
            )
            for c in kids
        ]
        for pid, props in members:
            nodes.append(NodeRecord(pid, {"name": f"人{pid[7:]}", "division": village, **props}, src))
            rels.append(RelRecord("MEMBER_OF", pid, hid, {"relation_to_head": "成员"}, src))
            rels.append(RelRecord("RESIDES_IN", pid, node_id("Division", village), {}, src))
        rels.append(RelRecord("PARENT_OF", gm, father, {"role": "mother"}, src))
        for c in kids:
            rels.append(RelRecord("PARENT_OF", father, c, {"role": "father"}, src))
            rels.append(RelRecord("PARENT_OF", mother, c, {"role": "mother"}, src))
            if away:
                rels.append(
                    RelRecord("GUARDIAN_OF", gm, c, {"kind": "entrusted", "since": "2024-01-01"}, src)
                )
        made += len(members)
        if len(nodes) >= BATCH:
            yield nodes, rels
            nodes, rels = [], []
    if nodes:
        yield nodes, rels


def _division_records() -> tuple[list[NodeRecord], list[RelRecord]]:
    src = Assertion("police_hukou", "bench", datetime(2026, 1, 1))
    nodes = [
        NodeRecord(node_id("Division", COUNTY), {"code": COUNTY, "level": "county", "division": COUNTY}, src)
    ]
    rels = []
    towns = sorted({c[:9] + "000" for c in _divisions(25, 40)})
    for t in towns:
        nodes.append(NodeRecord(node_id("Division", t), {"code": t, "level": "township", "division": t}, src))
        rels.append(RelRecord("PART_OF", node_id("Division", t), node_id("Division", COUNTY), {}, src))
    for v in _divisions(25, 40):
        nodes.append(NodeRecord(node_id("Division", v), {"code": v, "level": "village", "division": v}, src))
        rels.append(RelRecord("PART_OF", node_id("Division", v), node_id("Division", v[:9] + "000"), {}, src))
    return nodes, rels


def run(persons: int = 1_000_000, seed: int = 7, samples: int = 2000) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="shouhu-bench-"))
    store = LadybugStore(workdir / "graph.lbug", Settings().graph_buffer_pool_mb or BUILD_POOL_MB)
    store.init_schema()
    try:
        t0 = time.perf_counter()
        dn, dr = _division_records()
        store.upsert_nodes(dn)
        store.upsert_rels(dr)
        n_nodes, n_rels = len(dn), len(dr)
        person_ids: list[str] = []
        for nodes, rels in _population(persons, seed):
            store.upsert_nodes(nodes)
            store.upsert_rels(rels)
            n_nodes += len(nodes)
            n_rels += len(rels)
            person_ids += [n.id for n in nodes if n.id.startswith("person:")]
            if len(person_ids) % 100_000 < len(nodes):
                print(f"  loaded {n_nodes:,} nodes, {n_rels:,} relationships", flush=True)
        load_s = time.perf_counter() - t0
        stats = store.stats()

        rng = random.Random(seed)
        lookups = []
        for pid in rng.sample(person_ids, samples):
            t = time.perf_counter()
            assert store.get_node(pid) is not None
            lookups.append(time.perf_counter() - t)

        children = [p for p in person_ids if "-c" in p]
        hop_all, hop_family, sizes_all, sizes_family = [], [], [], []
        for cid in rng.sample(children, min(samples // 4, len(children))):
            t = time.perf_counter()
            sizes_family.append(len(store.neighbourhood(cid, 3, FAMILY_RELS).nodes))
            hop_family.append(time.perf_counter() - t)
            t = time.perf_counter()
            sizes_all.append(len(store.neighbourhood(cid, 3).nodes))
            hop_all.append(time.perf_counter() - t)

        changed_src = Assertion("survey", "bench-visit", datetime(2026, 6, 1))
        chosen = rng.sample(person_ids, 10_000)
        changes = [NodeRecord(pid, {"phone": f"1380000{i:04d}"}, changed_src) for i, pid in enumerate(chosen)]
        t = time.perf_counter()
        first = store.upsert_nodes(changes)
        reupsert_s = time.perf_counter() - t
        t = time.perf_counter()
        second = store.upsert_nodes(changes)
        repeat_s = time.perf_counter() - t
        after = store.stats()

        figures = {
            "persons": stats["nodes"]["Person"],
            "nodes": sum(stats["nodes"].values()),
            "relationships": sum(stats["relationships"].values()),
            "load_seconds": round(load_s, 1),
            "load_rate_elements_per_s": round((n_nodes + n_rels) / load_s),
            "point_lookup": percentiles(lookups),
            "three_hop_family": {
                **percentiles(hop_family),
                "mean_nodes": round(sum(sizes_family) / len(sizes_family)),
            },
            "three_hop_all_types": {
                **percentiles(hop_all),
                "mean_nodes": round(sum(sizes_all) / len(sizes_all)),
            },
            "reupsert_10000_changed": {
                "seconds": round(reupsert_s, 3),
                "result": vars(first),
                "repeat_seconds": round(repeat_s, 3),
                "repeat_result": vars(second),
                "counts_unchanged": after == stats,
            },
        }
        write("graph", figures)
        return figures
    finally:
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)
