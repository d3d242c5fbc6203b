"""Shared fixtures and helpers for the connector tests (imported by tests/test_connectors_*.py).

A generated county (``connectors.synthetic``, about 2,000 persons, fixed seed) is made
once per session; each test copies what it changes. Stores are real: SQLite and
LadybugDB files under the test's tmp_path.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from connectors.pipeline import Pipeline
from connectors.sources import load_config
from graph.ladybug import LadybugStore
from graph.model import NODE_KINDS, REL_KINDS
from kernel.db import make_engine, migrate

PERSONS = 2_000
SEED = 13
# Ten times the default rate of broken rows, so that every source (police incidents too)
# has some and every quarantine reason is exercised; everything else as generated.
MALFORMED_RATE = 0.03


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated county export with its ground truth (read-only: copy before changing)."""
    from connectors.synthetic import NoiseRates, generate

    out = tmp_path_factory.mktemp("county")
    generate(out, PERSONS, SEED, noise=NoiseRates(malformed_row=MALFORMED_RATE))
    return out


def copy_county(county: Path, dest: Path) -> Path:
    shutil.copytree(county, dest)
    return dest


class Stores:
    """A relational store and a graph store in one directory, and pipelines over them."""

    def __init__(self, root: Path, pool_mb: int = 256, checkpoint_mb: int = 0) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.engine: Engine = make_engine(f"sqlite:///{(root / 'shouhu.sqlite3').as_posix()}")
        migrate(self.engine)
        self.graph = LadybugStore(root / "graph.lbug", pool_mb, checkpoint_mb)
        self.graph.init_schema()

    def pipeline(self, export_dir: Path, **kw: Any) -> Pipeline:
        return Pipeline(self.engine, self.graph, load_config(self.root, export_dir), **kw)

    def close(self) -> None:
        self.graph.close()
        self.engine.dispose()

    def statuses(self) -> dict[tuple[str, str], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT source, status, count(*) FROM landing_record GROUP BY source, status")
            )
            return {(s, st): n for s, st, n in rows}

    def quarantined(self) -> dict[tuple[str, str], str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT source, record_id, reason_code FROM landing_record WHERE status = 'quarantined'")
            )
            return {(s, r): c for s, r, c in rows}


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    s = Stores(tmp_path / "stores")
    yield s
    s.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def truth_records(county: Path) -> list[dict[str, str]]:
    return read_csv(county / "truth" / "source_records.csv")


def source_of(system: str) -> str:
    """The truth's system names are the connectors' source names."""
    return system


def graph_snapshot(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every node and relationship of a LadybugDB graph with all its properties (provenance too)."""
    store = LadybugStore(path, 256)
    try:
        nodes: dict[str, dict[str, Any]] = {}
        for label in NODE_KINDS:
            for (row,) in store._run(f"MATCH (n:{label}) RETURN n"):
                clean = store._clean(row)
                nodes[clean["id"]] = clean
        rels: dict[str, dict[str, Any]] = {}
        for rel_type in REL_KINDS:
            for (row,) in store._run(f"MATCH ()-[e:{rel_type}]->() RETURN e"):
                clean = store._clean(row)
                rels[clean["id"]] = clean
        return nodes, rels
    finally:
        store.close()


def canonical(
    nodes: dict[str, dict[str, Any]], rels: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The graph with person ids renamed after their first source record.

    Entity resolution keys people with random ids (uuid4), so two separate databases give
    the same person different ids; what must agree is which source records each person
    was made of, and everything else about the graph.
    """
    import json

    rename: dict[str, str] = {}
    for node_id, props in nodes.items():
        if node_id.startswith("person:"):
            sources = json.loads(props.get("sources") or "[]")
            first = min((s["system"], s["record_id"]) for s in sources)
            rename[node_id] = f"person:<{first[0]}|{first[1]}>"

    new_nodes = {rename.get(i, i): {**p, "id": rename.get(i, i)} for i, p in nodes.items()}
    new_rels: dict[str, dict[str, Any]] = {}
    for rel_id, props in rels.items():
        src, _, rest = rel_id.partition(":")
        ends, hash_, qualifier = rest.partition("#")
        a, _, b = ends.partition(">")
        new_id = f"{src}:{rename.get(a, a)}>{rename.get(b, b)}" + (hash_ + qualifier if hash_ else "")
        new_rels[new_id] = {**props, "id": new_id}
    assert len(new_nodes) == len(nodes) and len(new_rels) == len(rels)
    return new_nodes, new_rels


def test_generated_county_has_every_source(county: Path) -> None:
    for folder in ("reference", "police", "education", "health", "survey", "truth"):
        assert (county / folder).is_dir()
    assert any(r["malformed"] == "1" for r in truth_records(county))
