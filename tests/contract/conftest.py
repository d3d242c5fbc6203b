"""The contract suite runs against LadybugDB always and against Neo4j when SHOUHU_NEO4J_URI is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.port import GraphStore

BACKENDS = ["ladybug"] + (["neo4j"] if os.environ.get("SHOUHU_NEO4J_URI") else [])


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "ladybug":
        from graph.ladybug import LadybugStore

        s: GraphStore = LadybugStore(tmp_path / "graph.lbug", buffer_pool_mb=256)
    else:
        from graph.neo4j import Neo4jStore

        s = Neo4jStore(
            os.environ["SHOUHU_NEO4J_URI"],
            os.environ.get("SHOUHU_NEO4J_USER", "neo4j"),
            os.environ.get("SHOUHU_NEO4J_PASSWORD", ""),
            os.environ.get("SHOUHU_NEO4J_DATABASE") or None,
        )
        _wipe_neo4j(s)
    s.init_schema()
    yield s
    s.close()


def _wipe_neo4j(s: GraphStore) -> None:
    # The Neo4j database is dedicated to the test run; start each test from empty.
    s._run("MATCH (n) DETACH DELETE n")  # type: ignore[attr-defined]
