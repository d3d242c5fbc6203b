"""Checks of the Neo4j adapter that need no Neo4j server.

No Neo4j server can run where these tests run, so the adapter's Cypher is judged by
Neo4j's own front end (graph.cypher_lint): every statement the adapter can send, as listed
by ``graph.neo4j.queries.all_statements()``, must parse and pass semantic analysis as
Cypher 5 against the domain model's schema with no error and no warning (a deprecation
is a failure too). A fake driver then checks that the adapter sends only statements from
that list, in the right transaction, and turns the answers into the port's rows. The
behaviour against a real server is the contract suite's (tests/contract, when
SHOUHU_NEO4J_URI is set).

Only the lint tests are skipped, and only when Node.js is not installed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from graph.cypher_lint import CypherDiagnostic, format_diagnostics, lint_cypher
from graph.model import NODE_KINDS, REL_KINDS, SYSTEM_PROPS
from graph.neo4j import Neo4jStore
from graph.neo4j import adapter as neo4j_adapter
from graph.neo4j import queries as q
from graph.port import GraphStoreError
from graph.records import Assertion, NodeRecord, RelRecord

needs_node = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="Node.js (`node`) is not on PATH; the Cypher linter runs under Node.js",
)


def _property_keys() -> set[str]:
    keys = {"id", "key", "value", *SYSTEM_PROPS}
    for kind in NODE_KINDS.values():
        keys |= set(kind.props)
    for rel in REL_KINDS.values():
        keys |= set(rel.props)
    return keys


# The graph as the domain model defines it (plus the :Entity label every node carries),
# and the parameters the adapter binds: any other name in a statement is reported.
SCHEMA: dict[str, Any] = {
    "labels": [*NODE_KINDS, q.ENTITY, q.META],
    "relationship_types": list(REL_KINDS),
    "property_keys": _property_keys(),
    "parameters": q.PARAMETERS,
}


# Linting all ~350 statements takes about 30 s on an idle 2-core machine and several times that
# under the load of a shared machine: past lint_cypher's default 120 s the fixture errored in some
# runs. A hung linter is still caught, just later.
LINT_TIMEOUT = 900.0


# ---- every statement passes Neo4j's front end --------------------------------------------------
@pytest.fixture(scope="module")
def statement_diagnostics() -> list[CypherDiagnostic]:
    return lint_cypher(q.all_statements(), **SCHEMA, timeout=LINT_TIMEOUT)


@needs_node
def test_every_statement_passes_neo4j_cypher5_front_end(
    statement_diagnostics: list[CypherDiagnostic],
) -> None:
    assert statement_diagnostics == [], (
        f"{len({d.index for d in statement_diagnostics})} of {len(q.all_statements())} statements "
        f"have diagnostics:\n{format_diagnostics(statement_diagnostics)}"
    )


def _broken(statement: str, old: str, new: str) -> str:
    assert old in statement, f"{old!r} is not in {statement!r}"
    return statement.replace(old, new, 1)


# Deliberately broken variants of the adapter's own statements: each must be reported, which
# shows that the check above can fail and that the schema given to it is enforced.
BROKEN: dict[str, tuple[Callable[[], str], str, str]] = {
    "typo_keyword": (
        lambda: _broken(q.write_rels("PARENT_OF", "Person", "Person"), "MERGE", "MERGR"),
        "error",
        "Invalid input",
    ),
    "misspelt_property": (
        lambda: _broken(q.list_division("Person"), "n.division", "n.divison"),
        "warning",
        "divison is not present",
    ),
    # Labels and types are judged in MATCH only (a write may create new ones), so the names
    # in MERGE and SET rest on the builders' check against the model (tested further down).
    "unknown_label": (
        lambda: _broken(q.write_rels("PARENT_OF", "Person", "Person"), "(a:Person)", "(a:Persn)"),
        "warning",
        "Label Persn is not present",
    ),
    "unknown_relationship_type": (
        lambda: _broken(q.count_rels("PART_OF"), ":PART_OF", ":PARTOF"),
        "warning",
        "PARTOF is not present",
    ),
    "deprecated_id_function": (
        lambda: _broken(q.fetch_nodes("School"), "properties(n)", "id(n)"),
        "warning",
        "deprecated",
    ),
    "undeclared_parameter": (
        lambda: _broken(q.shortest(3, filtered=True), "$types", "$type"),
        "error",
        "Parameter $type is not defined",
    ),
}


@pytest.fixture(scope="module")
def broken_diagnostics() -> dict[str, list[CypherDiagnostic]]:
    names = list(BROKEN)
    found = lint_cypher([BROKEN[name][0]() for name in names], **SCHEMA, timeout=LINT_TIMEOUT)
    by_name: dict[str, list[CypherDiagnostic]] = {name: [] for name in names}
    for d in found:
        by_name[names[d.index]].append(d)
    return by_name


@needs_node
@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_statement_is_caught(
    name: str, broken_diagnostics: dict[str, list[CypherDiagnostic]]
) -> None:
    build, severity, fragment = BROKEN[name]
    found = broken_diagnostics[name]
    assert any(d.severity == severity and fragment in d.message for d in found), (
        f"expected a {severity} containing {fragment!r} for {build()!r}, got:\n{format_diagnostics(found)}"
    )


# ---- the statement list itself -------------------------------------------------------------------
def test_all_statements_covers_the_model_once_each() -> None:
    statements = q.all_statements()
    assert len(statements) == len(set(statements))
    pairs = sum(len(rel.pairs) for rel in REL_KINDS.values())
    labels = len(NODE_KINDS)
    with_division = sum(kind.has_division for kind in NODE_KINDS.values())
    finds = sum(len(kind.props) + 1 for kind in NODE_KINDS.values())
    rel_sources = sum(len({src for src, _ in rel.pairs}) for rel in REL_KINDS.values())
    expected = (
        1  # ping
        + 1
        + labels
        + with_division
        + len(REL_KINDS)
        + 1  # schema (the last: the meta node's key)
        + labels * 5
        + with_division
        + finds  # write, fetch, conflicted, count, delete; list; find
        + len(REL_KINDS)
        + pairs * 2
        + rel_sources  # count; write and provenance per pair; delete
        + 2 * (1 + q.MAX_DEPTH)  # expand and shortest per depth, with and without a type filter
        + 4
        + len(q.CASE_LABELS)  # guardian loads, households, children, residents; case subjects
        + len(q.FAMILY_STATEMENTS)  # a division's children and their families (child_families)
        + 2
        + labels
        + len(REL_KINDS)  # watermark read and write; full reads for graph verify
        + (2 + with_division) * (1 + 6)  # set reads from ids, people born since, each kind with a
        # division: select, and hops of 1 and 2 steps in either direction (2 + 4 shapes)
    )
    assert len(statements) == expected
    text = "\n".join(statements)
    for name in [*NODE_KINDS, *REL_KINDS]:
        assert f":{name} " in text or f":{name})" in text or f":{name}]" in text, name


@pytest.mark.parametrize(
    "build",
    [
        lambda: q.write_nodes("Person) DETACH DELETE (n"),
        lambda: q.write_rels("KNOWS", "Person", "Person"),
        lambda: q.write_rels("PARENT_OF", "Person", "School"),
        lambda: q.fetch_rel_provenance("PARENT_OF", "School", "Person"),
        lambda: q.find("Person", "name} RETURN n //"),
        lambda: q.find("Person", "sources"),
        lambda: q.count_rels("parent_of"),
        lambda: q.shortest(0, filtered=False),
        lambda: q.shortest(q.MAX_DEPTH + 1, filtered=True),
    ],
)
def test_names_outside_the_model_are_refused(build: Callable[[], str]) -> None:
    with pytest.raises(GraphStoreError):
        build()


# ---- connecting ----------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["x", "Pw-s3cret-Zq9"])
def test_unreachable_server_is_one_clear_line(password: str) -> None:
    started = time.perf_counter()
    with pytest.raises(GraphStoreError) as caught:
        Neo4jStore("bolt://127.0.0.1:1", "neo4j", password, connection_timeout=2.0)
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert "bolt://127.0.0.1:1" in message
    assert password not in message
    assert "\n" not in message
    assert message == "cannot reach Neo4j at bolt://127.0.0.1:1: connection refused"
    # No driver traceback chained under it.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_default_timeout_fails_fast_too() -> None:
    started = time.perf_counter()
    with pytest.raises(GraphStoreError, match=r"bolt://127\.0\.0\.1:1"):
        Neo4jStore("bolt://127.0.0.1:1", "neo4j", "x")
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("http://127.0.0.1:7474", "scheme must be one of"),
        ("127.0.0.1:7687", "scheme must be one of"),
        ("bolt://neo4j:Pw-s3cret-Zq9@127.0.0.1:1", "not in the URI"),
    ],
)
def test_unusable_uri_is_refused_without_echoing_secrets(uri: str, fragment: str) -> None:
    with pytest.raises(GraphStoreError, match=fragment) as caught:
        Neo4jStore(uri, "neo4j", "Pw-s3cret-Zq9")
    assert "Pw-s3cret-Zq9" not in str(caught.value)


# ---- a fake driver: what is sent where, and what comes back ----------------------------------------
class FakeRecord(dict[str, Any]):
    def data(self) -> dict[str, Any]:
        return dict(self)


class FakeNeo4j:
    """Records (statement, params, where) for every statement; answers from ``respond``."""

    def __init__(self, respond: Callable[[str, dict[str, Any]], list[dict[str, Any]]] | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.events: list[str] = []
        self.respond = respond or (lambda _statement, _params: [])
        self.execute_query_bookmark_manager = object()
        self.matched: int | None = None  # None: every row of a relationship write finds both ends

    def answer(self, statement: str, params: dict[str, Any], where: str) -> list[FakeRecord]:
        self.sent.append((statement, params, where))
        if "AS matched" in statement:
            return [FakeRecord(matched=len(params["rows"]) if self.matched is None else self.matched)]
        if "AS total" in statement:
            return [FakeRecord(total=7)]
        return [FakeRecord(r) for r in self.respond(statement, params)]

    # the driver
    def verify_connectivity(self) -> None:
        self.events.append("verify")

    def session(self, **config: Any) -> FakeSession:
        return FakeSession(self, config)

    def execute_query(
        self, query: str, params: dict[str, Any], *, routing_: Any, database_: str | None
    ) -> Any:
        return self.answer(query, params, f"auto:{routing_.value}"), None, []

    def close(self) -> None:
        self.events.append("driver.close")


class FakeSession:
    def __init__(self, fake: FakeNeo4j, config: dict[str, Any]) -> None:
        self.fake, self.config = fake, config

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, query: str) -> SimpleNamespace:
        self.fake.answer(query, {}, "session")
        return SimpleNamespace(consume=lambda: None)

    def begin_transaction(self) -> FakeTx:
        assert self.config.get("bookmark_manager") is self.fake.execute_query_bookmark_manager
        self.fake.events.append("begin")
        return FakeTx(self.fake)

    def close(self) -> None:
        self.fake.events.append("session.close")


class FakeTx:
    def __init__(self, fake: FakeNeo4j) -> None:
        self.fake = fake

    def run(self, query: str, params: dict[str, Any]) -> list[FakeRecord]:
        return self.fake.answer(query, params, "tx")

    def commit(self) -> None:
        self.fake.events.append("commit")

    def close(self) -> None:
        self.fake.events.append("rollback")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNeo4j]:
    driver = FakeNeo4j()
    monkeypatch.setattr(neo4j_adapter, "GraphDatabase", SimpleNamespace(driver=lambda _uri, **_kw: driver))
    yield driver
    known = set(q.all_statements())
    unlisted = [s for s, _p, _w in driver.sent if s not in known]
    assert not unlisted, f"the adapter sent statements all_statements() does not list: {unlisted}"


HUKOU = Assertion("police_hukou", "HK-1", datetime(2026, 3, 1, 9, 0))
VILLAGE = "500101001001"


def _store(fake: FakeNeo4j) -> Neo4jStore:
    store = Neo4jStore("bolt://db.example:7687", "neo4j", "pw", "shouhu")
    fake.sent.clear()
    fake.events.clear()
    return store


def test_constructor_checks_the_database_with_a_query(fake: FakeNeo4j) -> None:
    Neo4jStore("bolt://db.example:7687", "neo4j", "pw", "shouhu")
    assert fake.events[0] == "verify"
    assert fake.sent == [(q.PING, {}, "session")]


def test_writes_run_in_one_explicit_transaction_and_reads_outside_go_to_readers(fake: FakeNeo4j) -> None:
    store = _store(fake)
    store.init_schema()
    assert [s for s, _p, _w in fake.sent] == q.schema_statements()
    assert {w for _s, _p, w in fake.sent} == {"auto:w"}
    fake.sent.clear()

    store.upsert_nodes(
        [
            NodeRecord("person:child", {"name": "甲乙", "division": VILLAGE}, HUKOU),
            NodeRecord("person:mother", {"name": "丁戊", "division": VILLAGE}, HUKOU),
            NodeRecord("school:S1", {"name": "中心小学", "division": VILLAGE}, HUKOU),
        ]
    )
    store.upsert_rels([RelRecord("PARENT_OF", "person:mother", "person:child", {"role": "mother"}, HUKOU)])
    assert {w for _s, _p, w in fake.sent} == {"tx"}
    assert fake.events == ["begin", "commit", "session.close"] * 2
    writes = {s: p for s, p, _w in fake.sent if s.startswith("UNWIND $rows")}
    person_rows = writes[q.write_nodes("Person")]["rows"]
    assert [r["id"] for r in person_rows] == ["person:child", "person:mother"]
    # Every column is sent (None removes the property), and nothing else.
    assert set(person_rows[0]["props"]) == set(q.node_columns("Person"))
    assert person_rows[0]["props"]["birth_date"] is None
    [rel_row] = writes[q.write_rels("PARENT_OF", "Person", "Person")]["rows"]
    assert (rel_row["id"], rel_row["src"], rel_row["dst"]) == (
        "PARENT_OF:person:mother>person:child",
        "person:mother",
        "person:child",
    )
    assert rel_row["props"]["role"] == "mother"
    fake.sent.clear()
    fake.events.clear()

    assert store.stats()["nodes"]["Person"] == 7
    store.find("Person", "name", ["甲乙"])
    store.list_by_division("Person", "500101", first=10)
    store.conflicts("Person")
    store.get_nodes(["person:child", "school:S1"])
    store.shortest_path("person:mother", "school:S1", max_depth=3, rel_types=["PARENT_OF"])
    assert {w for _s, _p, w in fake.sent} == {"auto:r"}
    assert fake.events == []


def test_a_failed_transaction_is_rolled_back_and_every_statement_ran_in_it(fake: FakeNeo4j) -> None:
    store = _store(fake)
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.upsert_nodes([NodeRecord("person:ghost", {"name": "无"}, HUKOU)])
        with store.transaction():  # nested: joins the outer one
            store.get_node("person:ghost")
        raise RuntimeError("boom")
    assert fake.events == ["begin", "rollback", "session.close"]
    assert {w for _s, _p, w in fake.sent} == {"tx"}


def test_missing_end_nodes_are_counted_from_matched(fake: FakeNeo4j) -> None:
    store = _store(fake)
    fake.matched = 0  # the server found neither end
    with pytest.raises(GraphStoreError, match="does not exist"):
        store.upsert_rels(
            [RelRecord("PARENT_OF", "person:nobody", "person:child", {"role": "father"}, HUKOU)]
        )
    assert fake.events == ["begin", "rollback", "session.close"]


def _rel(rel_type: str, src: str, dst: str, **props: Any) -> dict[str, Any]:
    stored = {"id": f"{rel_type}:{src}>{dst}", "sources": "[]", "claims": "{}", "conflicted": "", **props}
    return {"props": stored, "type": rel_type, "src": src, "dst": dst}


def test_rows_come_back_with_the_ladybug_keys(fake: FakeNeo4j) -> None:
    granny = {"id": "person:granny", "name": "己庚", "sources": "[]", "claims": "{}", "conflicted": ""}
    child = {"id": "person:child", "name": "甲乙", "division": VILLAGE}
    school = {"id": "school:S1", "name": "中心小学"}

    def respond(statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if statement == q.expand(filtered=False):
            assert params == {"ids": ["person:child"]}
            return [
                {
                    "origin": child,
                    "neighbour": granny,
                    "rel": _rel("GUARDIAN_OF", "person:granny", "person:child", kind="entrusted"),
                },
                {
                    "origin": child,
                    "rel": _rel("ENROLLED_AT", "person:child", "school:S1", grade="5"),
                    "neighbour": school,
                },
            ]
        if statement == q.shortest(6, filtered=True):
            assert params == {"a": "person:granny", "b": "school:S1", "types": ["ENROLLED_AT", "GUARDIAN_OF"]}
            return [
                {
                    "nodes": [granny, child, school],
                    "rels": [
                        _rel("GUARDIAN_OF", "person:granny", "person:child", kind="entrusted"),
                        _rel("ENROLLED_AT", "person:child", "school:S1", grade="5"),
                    ],
                }
            ]
        if statement == q.fetch_nodes("Person"):
            return [{"node": n} for n in (granny, child) if n["id"] in params["ids"]]
        return []

    fake.respond = respond
    store = _store(fake)

    [(rel, neighbour, origin), _] = store._expand({"Person": ["person:child"]}, None)
    assert rel == {
        "id": "GUARDIAN_OF:person:granny>person:child",
        "type": "GUARDIAN_OF",
        "src": "person:granny",
        "dst": "person:child",
        "kind": "entrusted",
        "since": None,
        "until": None,
        "sources": "[]",
        "claims": "{}",
        "conflicted": "",
    }
    assert set(neighbour) == {"id", *q.node_columns("Person")}
    assert set(origin) == {"id", *q.node_columns("Person")}

    sub = store.neighbourhood("person:child", 1)
    assert set(sub.nodes) == {"person:child", "person:granny", "school:S1"}
    assert sub.rels["GUARDIAN_OF:person:granny>person:child"].props == {
        "kind": "entrusted",
        "since": None,
        "until": None,
    }

    # Repeated and unordered types become one sorted parameter.
    path = store.shortest_path(
        "person:granny", "school:S1", rel_types=["GUARDIAN_OF", "ENROLLED_AT", "GUARDIAN_OF"]
    )
    assert path is not None
    assert [n.id for n in path.nodes] == ["person:granny", "person:child", "school:S1"]
    assert [(r.type, r.src, r.dst) for r in path.rels] == [
        ("GUARDIAN_OF", "person:granny", "person:child"),
        ("ENROLLED_AT", "person:child", "school:S1"),
    ]
    assert store.shortest_path("person:granny", "person:child", max_depth=2) is None


def test_large_batches_are_sent_in_chunks_within_one_transaction(
    fake: FakeNeo4j, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(fake)
    monkeypatch.setattr(store, "chunk_size", 2)
    store._write_nodes("Person", [{"id": f"person:p{i}", "name": str(i)} for i in range(5)], new=True)
    writes = [p for s, p, _w in fake.sent if s == q.write_nodes("Person")]
    assert [len(p["rows"]) for p in writes] == [2, 2, 1]
    assert fake.events == ["begin", "commit", "session.close"]
    assert {w for _s, _p, w in fake.sent} == {"tx"}
    fake.sent.clear()
    # get_nodes() is not chunked by the port; the adapter bounds each statement itself.
    store.get_nodes([f"person:p{i}" for i in range(5)])
    assert [len(p["ids"]) for _s, p, _w in fake.sent] == [2, 2, 1]


def test_set_reads_send_listed_statements_with_their_hops_as_parameters(fake: FakeNeo4j) -> None:
    from graph.records import Selection, Step

    rel = {
        "props": {
            "id": "GUARDIAN_OF:person:g>person:w",
            "kind": "entrusted",
            "sources": "[]",
            "claims": "{}",
        },
        "type": "GUARDIAN_OF",
        "src": "person:g",
        "dst": "person:w",
    }
    fake.respond = lambda statement, _p: (
        [{"near": "person:g", "rel": rel, "far": {"id": "person:w", "name": "甲"}}]
        if "AS near" in statement
        else []
    )
    store = _store(fake)
    walk = [Step("GUARDIAN_OF", "in", "Person"), Step("GUARDIAN_OF", "out")]
    by_division = Selection.in_division("Person", VILLAGE[:9], born_from="2008")
    [(near, got, far)] = store.hops(by_division, walk)
    assert (near, got.id, got.src, got.dst, got.props["kind"], far.id, far.props["name"]) == (
        "person:g",
        "GUARDIAN_OF:person:g>person:w",
        "person:g",
        "person:w",
        "entrusted",
        "person:w",
        "甲",
    )
    statement, params, where = fake.sent[-1]
    assert where == "auto:r" and "MATCH (a:Person) WHERE a.division STARTS WITH $prefix" in statement
    assert params == {
        "prefix": "500101001",
        "born_from": "2008",
        "t0": "GUARDIAN_OF",
        "l0": "Person",
        "t1": "GUARDIAN_OF",
        "l1": None,
    }
    store.hops(Selection.of_ids("Person", ["person:c"]), walk)
    assert fake.sent[-1][1]["ids"] == ["person:c"] and "UNWIND $ids" in fake.sent[-1][0]
    store.select(Selection.of_ids("Person", ["person:c"]))
    assert "UNWIND $ids" in fake.sent[-1][0]
