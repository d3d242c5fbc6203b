"""The spill a rebuild and verify fold through (graph.fold.Spill) gives the rows of the in-memory
fold (graph.fold.Fold, the port's own ``_fold``), whichever way its records come: as record objects
or as the plain tuples a landing projection holds (``upsert_plain_nodes``/``upsert_plain_rels``),
and whether an element has one record (the spill's short path) or many, in one upsert chunk or
across several, with sources that agree, disagree, or assert the same record again."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from graph.fold import Fold, Spill
from graph.records import Assertion, NodeRecord, RelRecord

SYSTEMS = ["police_hukou", "education", "health", "survey", "manual"]
TIMES = [
    "2025-03-01T08:00:00",
    "2025-03-01T08:00:00.250000",
    "2025-06-02T09:30:00+08:00",
    "2026-01-01T00:00:00",
]


def _records(seed: int) -> list[tuple[list[NodeRecord], list[RelRecord]]]:
    """Writes as a sync makes them, one landing row each: a few nodes, then relationships."""
    rng = random.Random(seed)
    writes = []
    for _ in range(120):
        nodes: list[NodeRecord] = []
        rels: list[RelRecord] = []
        for _ in range(rng.randint(0, 4)):
            props: dict[str, Any] = {
                "name": rng.choice(["张三", "李四", None]),
                "division": rng.choice(["110101001001", "110101001002"]),
            }
            if rng.random() < 0.3:
                props["deceased"] = rng.choice([True, False, None])
            # many people asserted once (the short path), a few by many records
            key = rng.randint(0, 400) if rng.random() < 0.6 else rng.randint(0, 6)
            source = Assertion(
                rng.choice(SYSTEMS), f"r{rng.randint(0, 5)}", datetime.fromisoformat(rng.choice(TIMES))
            )
            nodes.append(NodeRecord(f"person:p{key}", props, source))
        for _ in range(rng.randint(0, 2)):
            source = Assertion(
                rng.choice(SYSTEMS), f"h{rng.randint(0, 3)}", datetime.fromisoformat(rng.choice(TIMES))
            )
            nodes.append(
                NodeRecord(
                    f"household:h{rng.randint(0, 8)}", {"address": rng.choice(["东街1号", "西街2号"])}, source
                )
            )
        writes.append((nodes, rels))
    people = sorted({n.id for ns, _ in writes for n in ns if n.id.startswith("person:")})
    households = sorted({n.id for ns, _ in writes for n in ns if n.id.startswith("household:")})
    for _, rels in writes:
        for _ in range(rng.randint(0, 3)):
            source = Assertion(
                rng.choice(SYSTEMS), f"m{rng.randint(0, 3)}", datetime.fromisoformat(rng.choice(TIMES))
            )
            if rng.random() < 0.5:
                rels.append(
                    RelRecord(
                        "MEMBER_OF",
                        rng.choice(people),
                        rng.choice(households),
                        {"relation_to_head": rng.choice(["子", "女"])},
                        source,
                    )
                )
            else:
                rels.append(
                    RelRecord(
                        "PARENT_OF",
                        rng.choice(people[:8]),
                        rng.choice(people[:8]),
                        {"role": "母"},
                        source,
                        rng.choice(["", "2"]),
                    )
                )
    return writes


def _plain_nodes(nodes: list[NodeRecord]) -> list[tuple[Any, ...]]:
    return [(n.id, n.props, n.source.system, n.source.record_id, n.source.at.isoformat()) for n in nodes]


def _plain_rels(rels: list[RelRecord]) -> list[tuple[Any, ...]]:
    return [
        (
            r.type,
            r.src,
            r.dst,
            r.props,
            r.source.system,
            r.source.record_id,
            r.source.at.isoformat(),
            r.qualifier,
        )
        for r in rels
    ]


def _spilled(spill: Spill) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    out: tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]] = ({}, {})
    for section, kind, rows in spill.elements():
        out[0 if section == "node" else 1][kind] = list(rows)
    return out


def test_the_spill_folds_plain_and_record_writes_to_the_rows_of_the_in_memory_fold() -> None:
    for seed, chunk in ((1, 3), (2, 7), (3, 1000)):
        writes = _records(seed)
        fold = Fold(chunk_size=chunk)
        for nodes, _ in writes:
            fold.upsert_nodes(nodes)
        for _, rels in writes:
            fold.upsert_rels(rels)
        expected = fold.rows()
        with (
            Spill(chunk_size=chunk, read_chunk=50) as objects,
            Spill(chunk_size=chunk, read_chunk=50) as plain,
        ):
            for nodes, _ in writes:
                objects.upsert_nodes(nodes)
                plain.upsert_plain_nodes(_plain_nodes(nodes))
            for _, rels in writes:
                objects.upsert_rels(rels)
                plain.upsert_plain_rels(_plain_rels(rels))
            assert objects.count() == plain.count() == fold.count()
            assert _spilled(objects) == expected, f"seed {seed}, chunk {chunk}"
            assert _spilled(plain) == expected, f"seed {seed}, chunk {chunk}"
        singles = sum(
            1 for rows in expected[0].values() for r in rows if r["sources"].count("record_id") == 1
        )
        assert singles > 50  # the short path is taken, and so is the general one
        assert any(r["conflicted"] for r in expected[0]["Person"])


def test_an_empty_spill_counts_nothing() -> None:
    with Spill() as spill:
        assert spill.count() == 0
