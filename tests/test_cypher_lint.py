"""Tests for graph.cypher_lint, the offline Cypher checker built on Neo4j's own front end.

These tests pin down what the checker accepts and what it reports, because the
Neo4j adapter's tests rely on it as the only judge of their Cypher: valid
Neo4j 5 statements must come back clean (no false positives from built-in
functions, parameters or schema DDL), and syntax errors, removed features and
deprecations must come back as diagnostics.

They are skipped only when Node.js is not installed. A missing
tools/cypher-lint/node_modules is a failure, not a skip: CI installs it
(`make test` runs `npm ci --prefix tools/cypher-lint`).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from graph import cypher_lint
from graph.cypher_lint import (
    CypherDiagnostic,
    CypherLintUnavailable,
    format_diagnostics,
    lint_cypher,
)

needs_node = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="Node.js (`node`) is not on PATH; the Cypher linter runs under Node.js",
)

SCHEMA: dict[str, tuple[str, ...]] = {
    "labels": ("Person", "Child", "Case"),
    "relationship_types": ("KNOWS", "GUARDIAN_OF", "REPORTED"),
    "property_keys": ("id", "name"),
}

VALID_NEO4J_5 = [
    "UNWIND $rows AS row MERGE (n:Person {id: row.id}) SET n += row.props",
    "MATCH p = shortestPath((a:Person {id: $a})-[*..6]-(b:Person {id: $b})) "
    "RETURN nodes(p), relationships(p)",
    "CREATE CONSTRAINT person_id IF NOT EXISTS FOR (n:Person) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX person_name IF NOT EXISTS FOR (n:Person) ON (n.name)",
    # variable-length pattern with a relationship type filter
    "MATCH path = (c:Child {id: $id})-[:GUARDIAN_OF|KNOWS*1..3]-(p:Person) "
    "RETURN p.id AS id, length(path) AS hops, [r IN relationships(path) | type(r)] AS types",
    "MATCH (c:Child {id: $id})-[rels:GUARDIAN_OF*1..2]-(p:Person) RETURN p.id, size(rels) AS hops",
    # batched writes: the scoped CALL (row) { ... } form (the importing-WITH form is deprecated)
    "UNWIND $rows AS row CALL (row) { MERGE (n:Person {id: row.id}) SET n.name = row.name } "
    "IN TRANSACTIONS OF 500 ROWS",
    "MATCH (n:Person) WHERE n.name STARTS WITH $prefix "
    "RETURN coalesce(n.name, '') AS name ORDER BY name LIMIT 10",
    # two MATCH clauses, not one comma-joined pattern (that one warns about a cartesian product)
    "MATCH (a:Person {id: $a}) MATCH (b:Person {id: $b}) MERGE (a)-[k:KNOWS]->(b) RETURN elementId(k)",
    "MATCH (n:Person {id: $id}) DETACH DELETE n",
    "MATCH (c:Case)-[:REPORTED]->(ch:Child) RETURN ch.id AS child, count(c) AS cases",
    "MATCH (c:Child) WHERE NOT EXISTS { (c)<-[:GUARDIAN_OF]-(:Person) } RETURN c.id",
    "MATCH (n:Person) WHERE n.id IN $ids RETURN n {.id, .name, labels: labels(n)} AS person",
    "CALL db.labels() YIELD label RETURN label",
    "MATCH (n:Person) RETURN n;",  # a trailing semicolon is accepted by the server
    "MATCH (n:Person) WHERE n.name IS NOT NULL RETURN toUpper(n.name), elementId(n), keys(n)",
]


@pytest.fixture(scope="module")
def valid_diagnostics() -> list[CypherDiagnostic]:
    return lint_cypher(VALID_NEO4J_5, **SCHEMA)


@needs_node
def test_valid_neo4j5_statements_have_no_diagnostics(valid_diagnostics: list[CypherDiagnostic]) -> None:
    assert valid_diagnostics == [], format_diagnostics(valid_diagnostics)


# (statement, expected severity, substring of one diagnostic's message)
PROBLEMS: dict[str, tuple[str, str, str]] = {
    "syntax_error": ("MATCH (n:Person RETURN n", "error", "Invalid input 'RETURN'"),
    "undefined_variable": ("MATCH (n:Person) RETURN m", "error", "Variable `m` not defined"),
    "type_error": ("MATCH (a:Person)-[r:KNOWS*1..3]->(b) RETURN length(r)", "error", "Type mismatch"),
    # Neo4j 5 deprecations, as the linter words them
    "id_function_deprecated": ("MATCH (n:Person) RETURN id(n)", "warning", "deprecated function"),
    "colon_rel_type_alternatives": (
        "MATCH (a:Person)-[:KNOWS|:GUARDIAN_OF]->(b) RETURN b",
        "warning",
        "colon in the separation of alternative relationship types",
    ),
    "importing_with_subquery": (
        "UNWIND $rows AS row CALL { WITH row MERGE (n:Person {id: row.id}) } IN TRANSACTIONS",
        "warning",
        "CALL subquery without a variable scope clause is deprecated",
    ),
    # removed in Neo4j 5: errors, not warnings
    "exists_property_removed": (
        "MATCH (n:Person) WHERE exists(n.name) RETURN n",
        "error",
        "no longer supported",
    ),
    "old_index_syntax_removed": ("CREATE INDEX ON :Person(name)", "error", "CREATE INDEX FOR"),
    "distance_function_removed": (
        "RETURN distance(point({x: 1, y: 2}), point({x: 3, y: 4}))",
        "error",
        "Function distance is not present",
    ),
    "unknown_function": (
        "MATCH (n:Person) RETURN shouhu.nope(n)",
        "error",
        "Function shouhu.nope is not present",
    ),
    "plugin_function_not_assumed": ("RETURN apoc.text.join(['a'], ',')", "error", "is not present"),
    "unknown_procedure": ("CALL db.nope()", "error", "Procedure db.nope is not present"),
    "unknown_label": ("MATCH (n:Persn) RETURN n", "warning", "Label Persn is not present"),
    "unknown_relationship_type": (
        "MATCH (:Person)-[:KNOWZ]->(b) RETURN b",
        "warning",
        "KNOWZ is not present",
    ),
    "unknown_property": ("MATCH (n:Person) RETURN n.nmae", "warning", "nmae is not present"),
    "cartesian_product": (
        "MATCH (a:Person {id: $a}), (b:Person {id: $b}) MERGE (a)-[:KNOWS]->(b)",
        "warning",
        "cartesian product",
    ),
    "two_statements": (
        "MATCH (a:Person) RETURN a; MATCH (b:Child) RETURN b",
        "error",
        "exactly one statement",
    ),
    "empty_query": ("   ", "error", "Empty query"),
    "console_command": (":param x => 1", "error", "Console commands are unsupported"),
}


@pytest.fixture(scope="module")
def problem_diagnostics() -> dict[str, list[CypherDiagnostic]]:
    names = list(PROBLEMS)
    found = lint_cypher([PROBLEMS[name][0] for name in names], **SCHEMA)
    by_name: dict[str, list[CypherDiagnostic]] = {name: [] for name in names}
    for d in found:
        by_name[names[d.index]].append(d)
    return by_name


@needs_node
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_problem_is_reported(name: str, problem_diagnostics: dict[str, list[CypherDiagnostic]]) -> None:
    statement, severity, fragment = PROBLEMS[name]
    found = problem_diagnostics[name]
    assert any(d.severity == severity and fragment in d.message for d in found), (
        f"expected a {severity} containing {fragment!r} for {statement!r}, got:\n{format_diagnostics(found)}"
    )
    assert all(d.statement == statement for d in found)


@needs_node
def test_positions_are_one_based() -> None:
    [d] = lint_cypher(["MATCH (n:Person)\nRETURN m"], **SCHEMA)
    assert (d.severity, d.line, d.column) == ("error", 2, 8)


@needs_node
def test_declared_parameters_are_checked() -> None:
    statement = "MATCH (n:Person {id: $id}) WHERE n.name = $nmae RETURN n"
    assert lint_cypher([statement], **SCHEMA) == []  # default: bound by the driver
    found = lint_cypher([statement], parameters={"id", "name"}, **SCHEMA)
    assert [d.message for d in found] == ["Parameter $nmae is not defined."]


@needs_node
def test_without_schema_labels_and_properties_are_not_judged() -> None:
    assert lint_cypher(["MATCH (n:Anything)-[:ANY]->(m) RETURN n.whatever, elementId(m)"]) == []


@needs_node
def test_one_batch_of_50_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    real_run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run

    def counting_run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(cypher_lint.subprocess, "run", counting_run)
    statements = [f"MATCH (n:Person {{id: $id{i}}}) RETURN n.name AS name{i}" for i in range(49)]
    statements.append("MATCH (n:Person) RETURN id(n)")
    started = time.perf_counter()
    found = lint_cypher(statements, **SCHEMA)
    elapsed = time.perf_counter() - started
    assert len(calls) == 1, "all statements must be linted by a single node process"
    assert {d.index for d in found} == {49}
    assert elapsed < 60, f"linting 50 statements took {elapsed:.1f} s"


def test_rejects_a_single_string() -> None:
    with pytest.raises(TypeError, match="not a single string"):
        lint_cypher("MATCH (n) RETURN n")


def test_no_statements_needs_no_node() -> None:
    assert lint_cypher([]) == []


def test_missing_node_modules_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cypher_lint.shutil, "which", lambda _name: "/usr/bin/node")
    monkeypatch.setattr(cypher_lint, "PACKAGE_DIR", tmp_path / "missing")
    with pytest.raises(CypherLintUnavailable, match=r"npm ci --prefix tools/cypher-lint"):
        lint_cypher(["RETURN 1"])


def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cypher_lint.shutil, "which", lambda _name: None)
    with pytest.raises(CypherLintUnavailable, match="not on PATH"):
        lint_cypher(["RETURN 1"])


@needs_node
@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("not json", "stdin is not valid JSON"),
        ('{"statements": "RETURN 1"}', '"statements" must be an array of strings'),
        ('{"statements": [1]}', '"statements"[0] is not a string'),
        ('{"statements": [], "schema": {"labels": "Person"}}', '"schema.labels" must be an array of strings'),
    ],
)
def test_script_rejects_bad_input(stdin: str, message: str) -> None:
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(cypher_lint.LINT_SCRIPT)], input=stdin, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("cypher-lint: ") and message in proc.stderr


@needs_node
def test_script_without_its_package_says_how_to_install(tmp_path: Path) -> None:
    script = tmp_path / "lint.mjs"
    shutil.copy(cypher_lint.LINT_SCRIPT, script)
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(script)], input='{"statements": []}', capture_output=True, text=True, check=False
    )
    assert proc.returncode == 3
    assert "npm ci --prefix tools/cypher-lint" in proc.stderr
