"""Every Cypher statement the Neo4j adapter sends, built from the domain model.

Only names from ``graph.model`` (labels, relationship types, property keys) and integer
depths are ever written into a statement, and each builder checks its names against the
model first; every value, including the relationship-type filters of a traversal, goes in
as a parameter. That keeps the set of statements finite, so :func:`all_statements` can
list every one of them for the offline Cypher check in the test suite, and it gives
Neo4j's plan cache one entry per statement shape.

Shapes chosen for Neo4j 5 (reasons beside each builder):

* nodes carry their kind's label and the shared ``:Entity`` label, so an id alone finds a
  node through one unique index whatever its kind (traversals start from bare ids);
* batch writes ``UNWIND $rows`` and ``MERGE`` on ``id``, which a uniqueness constraint
  backs, so a concurrent writer can never create a second node with the same id;
* endpoints are matched as ``MATCH (a:Label) WHERE a.id = row.src`` rather than
  ``MATCH (a:Label {id: row.src})``: the planner turns both into the same unique index
  seek, but Neo4j's linter mistakes a map key inside a named node's property map for a
  graph property key and warns that ``src`` is not one;
* endpoints are matched in two ``MATCH`` clauses, never one comma-joined pattern, which
  Neo4j reports as a cartesian product.
"""

from __future__ import annotations

from graph.model import NODE_KINDS, REL_KINDS, SYSTEM_PROPS
from graph.port import GraphStore, GraphStoreError

# The label every node of every kind carries besides its own.
ENTITY = "Entity"

# Deepest shortest-path search the port allows; the bound of a variable-length pattern
# must be a literal in Cypher, so there is one statement per depth.
MAX_DEPTH = GraphStore.max_depth

# Every parameter name any statement uses (the test suite declares them to the linter,
# which then rejects any other ``$name``).
PARAMETERS: frozenset[str] = frozenset(
    {
        "rows",
        "keys",
        "ids",
        "types",
        "a",
        "b",
        "prefix",
        "after",
        "limit",
        "values",
        "k",
        "as_of",
        "born_after",
        "born",
        "system",
        "born_from",
        "t0",
        "t1",
        "l0",
        "l1",
        "key",
        "value",
    }
)

# The node that holds the store's own notes (the projection watermark), outside the domain model.
META = "ShouhuMeta"

# Sent once by the constructor: proves the database exists and the user may read it.
PING = "RETURN 1 AS ok"


# ---- names --------------------------------------------------------------------------------
def _label(label: str) -> str:
    if label not in NODE_KINDS:
        raise GraphStoreError(f"unknown node label {label!r}")
    return label


def _rel_type(rel_type: str) -> str:
    if rel_type not in REL_KINDS:
        raise GraphStoreError(f"unknown relationship type {rel_type!r}")
    return rel_type


def _pair(rel_type: str, src_label: str, dst_label: str) -> tuple[str, str, str]:
    if (src_label, dst_label) not in REL_KINDS[_rel_type(rel_type)].pairs:
        raise GraphStoreError(f"{rel_type} does not go from {src_label} to {dst_label}")
    return rel_type, src_label, dst_label


def node_columns(label: str) -> list[str]:
    """Every stored property of a kind except ``id``: its typed properties, then the system ones."""
    return [*NODE_KINDS[_label(label)].props, *SYSTEM_PROPS]


def rel_columns(rel_type: str) -> list[str]:
    """Every stored property of a relationship type except ``id``."""
    return [*REL_KINDS[_rel_type(rel_type)].props, *SYSTEM_PROPS]


def _index_name(*parts: str) -> str:
    # Constraint and index names share one namespace in Neo4j; lower-cased model names
    # joined by underscores cannot collide with one another.
    return "_".join(p.lower() for p in parts)


# ---- schema -------------------------------------------------------------------------------
def entity_id_constraint() -> str:
    """One id across all kinds: lets ``(:Entity {id: $id})`` find any node by index."""
    return (
        f"CREATE CONSTRAINT {_index_name(ENTITY, 'id', 'unique')} IF NOT EXISTS "
        f"FOR (n:{ENTITY}) REQUIRE n.id IS UNIQUE"
    )


def id_constraint(label: str) -> str:
    """Per kind, so that ``MERGE (n:Label {id: ...})`` is index-backed and race-free."""
    return (
        f"CREATE CONSTRAINT {_index_name(label, 'id', 'unique')} IF NOT EXISTS "
        f"FOR (n:{_label(label)}) REQUIRE n.id IS UNIQUE"
    )


def division_index(label: str) -> str:
    """A range index answers ``n.division STARTS WITH $prefix`` (the subtree listing)."""
    if not NODE_KINDS[_label(label)].has_division:
        raise GraphStoreError(f"{label} has no division")
    return (
        f"CREATE RANGE INDEX {_index_name(label, 'division')} IF NOT EXISTS FOR (n:{label}) ON (n.division)"
    )


def rel_id_index(rel_type: str) -> str:
    """Lets a relationship be found by its id without first finding an end node."""
    return (
        f"CREATE RANGE INDEX {_index_name('rel', rel_type, 'id')} IF NOT EXISTS "
        f"FOR ()-[r:{_rel_type(rel_type)}]-() ON (r.id)"
    )


def schema_statements() -> list[str]:
    """What ``init_schema`` runs, in order; each is idempotent (IF NOT EXISTS)."""
    return [
        entity_id_constraint(),
        *(id_constraint(label) for label in NODE_KINDS),
        *(division_index(label) for label, kind in NODE_KINDS.items() if kind.has_division),
        *(rel_id_index(rel_type) for rel_type in REL_KINDS),
        meta_constraint(),
    ]


# ---- writes -------------------------------------------------------------------------------
def write_nodes(label: str) -> str:
    """Create or replace nodes; ``$rows`` is ``[{id, props: {every column}}]``.

    ``+=`` with every column present replaces the row as the LadybugDB adapter does: a
    ``null`` in the map removes that property, which in Neo4j is how a value is absent.
    ``SET n:Entity`` is a no-op for a node that already has the label.
    """
    return f"UNWIND $rows AS row MERGE (n:{_label(label)} {{id: row.id}}) SET n:{ENTITY}, n += row.props"


def write_rels(rel_type: str, src_label: str, dst_label: str) -> str:
    """Create or replace relationships; ``$rows`` is ``[{id, src, dst, props}]``.

    Rows whose ends are missing drop out at the ``MATCH``es, so ``matched`` counts the
    rows that found both ends. With both ends bound, ``MERGE`` looks for a relationship
    of this type from a to b whose ``id`` equals ``row.id`` and creates one only if there
    is none (taking locks on both ends and re-checking first), so parallel relationships
    with different qualifiers (different ids) stay apart and a rerun creates nothing.
    """
    rel_type, src_label, dst_label = _pair(rel_type, src_label, dst_label)
    return (
        f"UNWIND $rows AS row "
        f"MATCH (a:{src_label}) WHERE a.id = row.src "
        f"MATCH (b:{dst_label}) WHERE b.id = row.dst "
        f"MERGE (a)-[e:{rel_type} {{id: row.id}}]->(b) "
        "SET e += row.props "
        "RETURN count(*) AS matched"
    )


# ---- reads --------------------------------------------------------------------------------
# Nodes come back as ``properties(n)`` maps and relationships as a map of their properties
# plus type and end ids, so the driver hands back plain dicts and no graph objects.
_REL_MAP = "{{props: properties({r}), type: type({r}), src: startNode({r}).id, dst: endNode({r}).id}}"


def fetch_nodes(label: str) -> str:
    """Stored rows of the given ids (``$ids``) of one kind; missing ids give no row."""
    return f"UNWIND $ids AS node_id MATCH (n:{_label(label)} {{id: node_id}}) RETURN properties(n) AS node"


def fetch_rel_provenance(rel_type: str, src_label: str, dst_label: str) -> str:
    """Provenance of existing relationships; ``$keys`` is ``[{id, src}]``."""
    rel_type, src_label, dst_label = _pair(rel_type, src_label, dst_label)
    return (
        f"UNWIND $keys AS key "
        f"MATCH (a:{src_label})-[e:{rel_type}]->(:{dst_label}) WHERE a.id = key.src AND e.id = key.id "
        "RETURN e.id AS id, e.sources AS sources, e.claims AS claims"
    )


def delete_nodes(label: str) -> str:
    """Nodes of the given ids (``$ids``) with their relationships."""
    return f"UNWIND $ids AS node_id MATCH (n:{_label(label)} {{id: node_id}}) DETACH DELETE n"


def delete_rels(rel_type: str, src_label: str) -> str:
    """Relationships by ``$keys`` (``[{id, src}]``), found from their source node."""
    return (
        f"UNWIND $keys AS key MATCH (a:{_label(src_label)})-[e:{_rel_type(rel_type)}]->() "
        "WHERE a.id = key.src AND e.id = key.id DELETE e"
    )


def expand(filtered: bool) -> str:
    """One hop in either direction from every id in ``$ids``, whatever its kind.

    The type filter is a parameter (``$types``), not a label expression, so that one
    statement serves every subset of types; ``filtered=False`` leaves the predicate out
    rather than sending ``$types IS NULL OR ...``, which would hide it from the planner.
    """
    where = " WHERE type(e) IN $types" if filtered else ""
    return (
        f"UNWIND $ids AS node_id MATCH (a:{ENTITY} {{id: node_id}})-[e]-(b){where} "
        f"RETURN properties(a) AS origin, {_REL_MAP.format(r='e')} AS rel, properties(b) AS neighbour"
    )


def shortest(max_depth: int, filtered: bool) -> str:
    """One shortest path between ``$a`` and ``$b``, ignoring direction, of 1..max_depth hops.

    ``shortestPath()`` rather than the GQL ``SHORTEST 1`` form: both pass Neo4j's linter
    for Cypher 5, but ``SHORTEST`` needs Neo4j 5.21 or later and ``shortestPath()`` works
    on every Neo4j 5. The type filter is ``all(...)`` over the path's relationships: a
    universal predicate, which Neo4j checks during its bidirectional breadth-first search
    instead of falling back to enumerating paths. ``nodes(p)`` runs from a to b;
    ``startNode``/``endNode`` give each relationship's own direction.
    """
    depth = int(max_depth)
    if not 1 <= depth <= MAX_DEPTH:
        raise GraphStoreError(f"max_depth must be between 1 and {MAX_DEPTH}, not {max_depth}")
    where = " WHERE all(r IN relationships(p) WHERE type(r) IN $types)" if filtered else ""
    return (
        f"MATCH p = shortestPath((a:{ENTITY} {{id: $a}})-[*1..{depth}]-(b:{ENTITY} {{id: $b}})){where} "
        "RETURN [n IN nodes(p) | properties(n)] AS nodes, "
        f"[r IN relationships(p) | {_REL_MAP.format(r='r')}] AS rels"
    )


def list_division(label: str) -> str:
    """A page of one kind within a division subtree, after the cursor ``$after``, by id."""
    if not NODE_KINDS[_label(label)].has_division:
        raise GraphStoreError(f"{label} is not listable by division")
    return (
        f"MATCH (n:{label}) WHERE n.division STARTS WITH $prefix AND n.id > $after "
        "RETURN properties(n) AS node ORDER BY n.id LIMIT $limit"
    )


def residents() -> str:
    """People REGISTERED_IN or RESIDES_IN the divisions of a subtree, or MEMBER_OF a household
    LOCATED_IN one, from the divisions outward (a range seek on the Division `division` index,
    then the relationships in), each once, by id. Pattern comprehensions, not two OPTIONAL
    MATCHes (their cross product per division) nor `CALL {}` (its scope clause differs across
    Neo4j 5 releases)."""
    return (
        "MATCH (d:Division) WHERE d.division STARTS WITH $prefix "
        "WITH [(d)<-[:RESIDES_IN|REGISTERED_IN]-(p:Person) | p.id] "
        "+ [(d)<-[:LOCATED_IN]-(:Household)<-[:MEMBER_OF]-(p:Person) | p.id] AS ids "
        "UNWIND ids AS id WITH DISTINCT id WHERE id > $after RETURN id ORDER BY id LIMIT $limit"
    )


def conflicted(label: str) -> str:
    """Nodes on which sources disagree (``conflicted`` is ``''`` when they agree)."""
    return (
        f"MATCH (n:{_label(label)}) WHERE n.conflicted <> '' "
        "RETURN properties(n) AS node ORDER BY n.id LIMIT $limit"
    )


def find(label: str, prop: str) -> str:
    """Nodes whose property equals one of ``$values``; ``prop`` is ``id`` or a typed property."""
    if prop != "id" and prop not in NODE_KINDS[_label(label)].props:
        raise GraphStoreError(f"{label} has no property {prop!r}")
    return (
        f"MATCH (n:{label}) WHERE n.{prop} IN $values RETURN properties(n) AS node ORDER BY n.id LIMIT $limit"
    )


def count_nodes(label: str) -> str:
    # A lone label count is answered from Neo4j's count store, without a scan.
    return f"MATCH (n:{_label(label)}) RETURN count(n) AS total"


def count_rels(rel_type: str) -> str:
    return f"MATCH ()-[e:{_rel_type(rel_type)}]->() RETURN count(e) AS total"


# ---- network analysis (graph.network) -----------------------------------------------------------
# Labelled patterns throughout: each starts from the division range index of its first label.
CASE_LABELS: tuple[str, ...] = ("ProtectionCase", "Report")


def guardian_loads() -> str:
    """Guardians of a division with their current wards, counted and ranked in the server."""
    return (
        "MATCH (g:Person)-[e:GUARDIAN_OF]->(c:Person) WHERE g.division STARTS WITH $prefix "
        "AND (e.until IS NULL OR e.until = '' OR e.until >= $as_of) "
        "WITH g.id AS gid, collect(DISTINCT c.id) AS wards WHERE size(wards) >= $k "
        "RETURN gid, wards ORDER BY size(wards) DESC, gid LIMIT $limit"
    )


def case_subjects(label: str) -> str:
    """(record id, person id) for the people of a division a case or report concerns."""
    if label not in CASE_LABELS:
        raise GraphStoreError(f"{label} is not a case kind")
    return (
        f"MATCH (c:{label})-[:CONCERNS]->(p:Person) WHERE p.division STARTS WITH $prefix "
        "RETURN c.id AS record, p.id AS person ORDER BY person, record LIMIT $limit"
    )


def household_members() -> str:
    """A page of households by id, then their members; the page bounds the expansion."""
    return (
        "MATCH (h:Household) WHERE h.division STARTS WITH $prefix AND h.id > $after "
        "WITH h ORDER BY h.id LIMIT $limit "
        "OPTIONAL MATCH (p:Person)-[:MEMBER_OF]->(h) RETURN h.id AS household, p.id AS person"
    )


def child_guardians() -> str:
    """A page of a division's children by id, each with every parent and guardian recorded."""
    return (
        "MATCH (c:Person) WHERE c.division STARTS WITH $prefix AND c.id > $after "
        "AND c.birth_date > $born_after "
        "WITH c ORDER BY c.id LIMIT $limit "
        "OPTIONAL MATCH (g:Person)-[e:PARENT_OF|GUARDIAN_OF]->(c) "
        "RETURN c.id AS child, g.id AS guardian, type(e) AS rel_type, e.until AS until"
    )


# ---- a division's children and their families, set-wise (GraphStore.child_families) --------------
# One statement per kind of fact, each filtering the children the same way (the `division`
# range index serves STARTS WITH); the port joins them in Python.
_YOUNG = "c.division STARTS WITH $prefix AND c.birth_date >= $born"


def family_people() -> str:
    return (
        f"MATCH (c:Person) WHERE {_YOUNG} "
        "RETURN c.id AS id, c.division AS division, c.birth_date AS birth_date, "
        "c.deceased AS deceased, c.hukou_type AS hukou_type, c.conflicted AS conflicted, "
        "c.sources AS sources"
    )


def family_enrolments() -> str:
    return (
        f"MATCH (c:Person)-[e:ENROLLED_AT]->(:School) WHERE {_YOUNG} RETURN c.id AS child, e.status AS status"
    )


def family_parents() -> str:
    return (
        f"MATCH (p:Person)-[e:PARENT_OF]->(c:Person) WHERE {_YOUNG} "
        "RETURN c.id AS child, p.id AS parent, e.role AS role, e.id AS rel"
    )


def family_households() -> str:
    return (
        f"MATCH (c:Person)-[:MEMBER_OF]->(h:Household) WHERE {_YOUNG} RETURN c.id AS child, h.id AS household"
    )


def family_parent_claims() -> str:
    """Parents whose claims JSON names the attribute (`$key`: the quoted name and its colon)."""
    return (
        f"MATCH (p:Person)-[:PARENT_OF]->(c:Person) WHERE {_YOUNG} AND p.claims CONTAINS $key "
        "RETURN DISTINCT p.id AS parent, p.claims AS claims"
    )


def family_parent_households() -> str:
    """The same parents' households whose membership a system asserts (`$system`: the text
    ``"system":"<code>"`` in the membership's sources JSON)."""
    return (
        f"MATCH (p:Person)-[:PARENT_OF]->(c:Person) WHERE {_YOUNG} AND p.claims CONTAINS $key "
        "WITH DISTINCT p MATCH (p)-[m:MEMBER_OF]->(h:Household) WHERE m.sources CONTAINS $system "
        "RETURN DISTINCT p.id AS parent, h.id AS household"
    )


FAMILY_STATEMENTS = (
    family_people,
    family_enrolments,
    family_parents,
    family_households,
    family_parent_claims,
    family_parent_households,
)
# ---- set reads (GraphStore.select, GraphStore.hops) ------------------------------------------
# Walks of at most this many hops; each shape (start, directions) is one statement, the types and
# end labels of the hops are parameters, so the statements stay a finite list.
MAX_HOPS = 2


def _start(label: str | None, born_from: bool) -> str:
    """By id (``label`` None): every id in ``$ids`` through the :Entity unique index. By division:
    the kind's division index, people optionally born on or after ``$born_from``."""
    if label is None:
        return f"UNWIND $ids AS i MATCH (a:{ENTITY}) WHERE a.id = i "
    if not NODE_KINDS[_label(label)].has_division:
        raise GraphStoreError(f"{label} is not listable by division")
    where = f"MATCH (a:{label}) WHERE a.division STARTS WITH $prefix "
    return where + ("AND a.birth_date >= $born_from " if born_from else "")


def select(label: str | None, born_from: bool = False) -> str:
    return _start(label, born_from) + "RETURN properties(a) AS node"


def hops(label: str | None, directions: tuple[str, ...], born_from: bool = False) -> str:
    """The last hop of every walk from the selected nodes, one hop per direction given ("in" or
    "out"); hop i's type is ``$t<i>`` and its end label, when not null, ``$l<i>``. One MATCH per
    hop, so a hop may come back along the relationship the walk came by, as in LadybugDB (within
    one MATCH Neo4j would never use a relationship twice)."""
    if not 1 <= len(directions) <= MAX_HOPS or set(directions) - {"in", "out"}:
        raise GraphStoreError(f"a walk has 1 to {MAX_HOPS} hops, each 'in' or 'out'")
    clauses, near, prev = [], "a", "a"
    for i, direction in enumerate(directions):
        last = i == len(directions) - 1
        rel, node = ("e", "b") if last else (f"e{i}", f"n{i}")
        if not last:
            near = node
        step = f"({prev})-[{rel}]->({node})" if direction == "out" else f"({prev})<-[{rel}]-({node})"
        clauses.append(
            f"MATCH {step} WHERE type({rel}) = $t{i} AND ($l{i} IS NULL OR $l{i} IN labels({node})) "
        )
        prev = node
    return (
        _start(label, born_from)
        + "".join(clauses)
        + f"RETURN {near}.id AS near, {_REL_MAP.format(r='e')} AS rel, properties(b) AS far"
    )


def _set_reads() -> list[str]:
    shapes = [("in",), ("out",)] + [(a, b) for a in ("in", "out") for b in ("in", "out")]
    starts: list[tuple[str | None, bool]] = [(None, False), ("Person", True)]
    starts += [(label, False) for label, kind in NODE_KINDS.items() if kind.has_division]
    out = [select(label, born) for label, born in starts]
    return out + [hops(label, shape, born) for label, born in starts for shape in shapes]


# ---- the projection's bookkeeping and full reads (graph verify) -----------------------------------
def meta_constraint() -> str:
    return f"CREATE CONSTRAINT shouhumeta_key_unique IF NOT EXISTS FOR (m:{META}) REQUIRE m.key IS UNIQUE"


def read_meta() -> str:
    return f"MATCH (m:{META}) WHERE m.key = $key RETURN m.value AS value"


def write_meta() -> str:
    return f"MERGE (m:{META} {{key: $key}}) SET m.value = $value"


def all_nodes(label: str) -> str:
    return f"MATCH (n:{_label(label)}) RETURN properties(n) AS node"


def all_rels(rel_type: str) -> str:
    return f"MATCH ()-[e:{_rel_type(rel_type)}]->() RETURN {_REL_MAP.format(r='e')} AS rel"


# ---- the whole set --------------------------------------------------------------------------
def all_statements() -> list[str]:
    """Every distinct statement the adapter can send, each once, in a stable order."""
    out: list[str] = [PING, *schema_statements()]
    for label, kind in NODE_KINDS.items():
        out += [write_nodes(label), fetch_nodes(label), conflicted(label), count_nodes(label)]
        out.append(delete_nodes(label))
        if kind.has_division:
            out.append(list_division(label))
        out += [find(label, prop) for prop in ("id", *kind.props)]
    for rel_type, rel in REL_KINDS.items():
        out.append(count_rels(rel_type))
        out += [delete_rels(rel_type, src) for src in dict.fromkeys(src for src, _ in rel.pairs)]
        for src_label, dst_label in rel.pairs:
            out += [
                write_rels(rel_type, src_label, dst_label),
                fetch_rel_provenance(rel_type, src_label, dst_label),
            ]
    for filtered in (False, True):
        out.append(expand(filtered))
        out += [shortest(depth, filtered) for depth in range(1, MAX_DEPTH + 1)]
    out += [guardian_loads(), household_members(), child_guardians(), residents()]
    out += [build() for build in FAMILY_STATEMENTS]
    out += [case_subjects(label) for label in CASE_LABELS]
    out += _set_reads()
    out += [read_meta(), write_meta()]
    out += [all_nodes(label) for label in NODE_KINDS] + [all_rels(rel_type) for rel_type in REL_KINDS]
    return list(dict.fromkeys(out))
