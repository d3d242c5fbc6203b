"""Every Cypher statement the LadybugDB adapter sends, built from the domain model.

Batch writes scan a pyarrow table with ``LOAD FROM $rows`` and look endpoints up with one
``MATCH (x:Label {id: col})`` clause each: measured here, that form upserts 100,000
relationships in about a second, while ``UNWIND $rows ... MATCH (a), (b)`` took a minute for
1,000. Column names carry a ``c_`` prefix so they never shadow pattern variables.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph.model import NODE_KINDS, REL_KINDS, SYSTEM_PROPS, PropType

_TYPES = {
    PropType.STRING: "STRING",
    PropType.BOOL: "BOOLEAN",
    PropType.INT: "INT64",
    PropType.FLOAT: "DOUBLE",
}


def node_columns(label: str) -> dict[str, PropType]:
    return {**NODE_KINDS[label].props, **SYSTEM_PROPS}


def rel_columns(rel_type: str) -> dict[str, PropType]:
    return {**REL_KINDS[rel_type].props, **SYSTEM_PROPS}


def create_node_table(label: str) -> str:
    cols = ", ".join(f"{k} {_TYPES[t]}" for k, t in node_columns(label).items())
    return f"CREATE NODE TABLE IF NOT EXISTS {label}(id STRING PRIMARY KEY, {cols})"


def create_rel_table(rel_type: str) -> str:
    pairs = ", ".join(f"FROM {a} TO {b}" for a, b in REL_KINDS[rel_type].pairs)
    cols = ", ".join(f"{k} {_TYPES[t]}" for k, t in rel_columns(rel_type).items())
    return f"CREATE REL TABLE IF NOT EXISTS {rel_type}({pairs}, id STRING, {cols})"


def fetch_nodes(label: str) -> str:
    """Primary-key lookups under UNWIND: as fast as `LOAD FROM` an Arrow table of the ids (20,000
    in ~0.2 s at 200,000 persons), and unlike it they leave no buffer-pool pages held (see
    LadybugStore.ARROW_STATEMENT), which a profile read, done for every row of every list, must not."""
    return f"UNWIND $ids AS i MATCH (n:{label} {{id: i}}) RETURN n"


def fetch_rel_provenance(rel_type: str, src_label: str) -> str:
    """Every relationship of the type leaving the source nodes, through their primary keys under
    `UNWIND` (a list of ids); the caller keeps the ones it asked for. Joining on the relationship id
    instead scans the whole relationship table; and the same lookup from a `LOAD FROM` of an Arrow
    table of (source, id) pairs holds the buffer-pool pages it touched until the database is
    reopened (measured at 60,000 persons: 50-60 MB per 5,000 keys, read after read, until a 256 MB
    pool was full), while this form holds none (ten such reads left a 256 MB pool at 109 MB: the
    pages cached) and took 0.2-0.5 s against 0.4-0.9 s. A sync writes its relationships after
    this lookup, so the lookup's held pages were what filled its pool and made the store reopen,
    a checkpoint of the touched tables first (`LadybugStore._begin`)."""
    return (
        f"UNWIND $ids AS i MATCH (a:{src_label} {{id: i}})-[e:{rel_type}]->() "
        "RETURN e.id, a.id, e.sources, e.claims"
    )


def create_nodes(label: str) -> str:
    """CREATE for ids the port found absent: LadybugDB's MERGE measured 4× the buffer-pool
    use of CREATE per row written, and 5× the time at 150,000 persons."""
    props = ", ".join(f"{k}: c_{k}" for k in node_columns(label))
    return f"LOAD FROM $rows CREATE (n:{label} {{id: c_id, {props}}})"


def update_nodes(label: str) -> str:
    sets = ", ".join(f"n.{k} = c_{k}" for k in node_columns(label))
    return f"LOAD FROM $rows MATCH (n:{label} {{id: c_id}}) SET {sets}"


def create_rels(rel_type: str, src_label: str, dst_label: str) -> str:
    """CREATE, not MERGE: the port has checked existence, and MERGE measured 5× slower at
    150,000 persons (its existence check scans the relationship table)."""
    props = ", ".join(f"{k}: c_{k}" for k in rel_columns(rel_type))
    return (
        f"LOAD FROM $rows MATCH (a:{src_label} {{id: c_src}}) MATCH (b:{dst_label} {{id: c_dst}}) "
        f"CREATE (a)-[e:{rel_type} {{id: c_id, {props}}}]->(b) RETURN count(*)"
    )


def update_rels(rel_type: str, src_label: str) -> str:
    """Through the source node's primary key, like fetch_rel_provenance: matching the bare
    relationship id scans every relationship of the type (measured: 90 ms per small update at
    20,000 persons, and the pages it touched stayed pinned)."""
    sets = ", ".join(f"e.{k} = c_{k}" for k in rel_columns(rel_type))
    return (
        f"LOAD FROM $rows MATCH (a:{src_label} {{id: c_src}})-[e:{rel_type}]->() WHERE e.id = c_id "
        f"SET {sets} RETURN count(*)"
    )


# One relationship at a time, with scalar parameters. The same patterns behind `LOAD FROM` plan
# as a scan of every relationship of the type (measured at 20,000 persons: 15 ms a lookup
# against 0.12 ms), so the small writes of a workflow step go one by one.
def fetch_rel_provenance_one(rel_type: str, src_label: str) -> str:
    return (
        f"MATCH (a:{src_label} {{id: $src}})-[e:{rel_type}]->() WHERE e.id = $id "
        "RETURN e.id, e.sources, e.claims"
    )


def update_rel_one(rel_type: str, src_label: str) -> str:
    sets = ", ".join(f"e.{k} = $p_{k}" for k in rel_columns(rel_type))
    return (
        f"MATCH (a:{src_label} {{id: $src}})-[e:{rel_type}]->() WHERE e.id = $id SET {sets} RETURN count(*)"
    )


def delete_rel_one(rel_type: str, src_label: str) -> str:
    return f"MATCH (a:{src_label} {{id: $src}})-[e:{rel_type}]->() WHERE e.id = $id DELETE e"


def delete_nodes(label: str) -> str:
    """Through the primary key, relationships included (a retracted element leaves no edge)."""
    return f"LOAD FROM $rows MATCH (n:{label} {{id: c_id}}) DETACH DELETE n"


def delete_rels(rel_type: str, src_label: str) -> str:
    """Anchored on the source node, like fetch_rel_provenance: a bare id match scans the table."""
    return (
        f"LOAD FROM $rows MATCH (a:{src_label} {{id: c_src}})-[e:{rel_type}]->() WHERE e.id = c_id DELETE e"
    )


def _rel_pattern(rel_types: Sequence[str] | None) -> str:
    return f"e:{'|'.join(rel_types)}" if rel_types else "e"


def expand_types(label: str, rel_types: Sequence[str] | None, outgoing: bool) -> list[str]:
    """The relationship types (of `rel_types`, or all) that leave (or enter) a node of `label`:
    naming a type that cannot touch the label in a pattern is a binder error in LadybugDB."""
    end = 0 if outgoing else 1
    return [t for t in (rel_types or REL_KINDS) if any(pair[end] == label for pair in REL_KINDS[t].pairs)]


def expand_props(rel_types: Sequence[str]) -> list[str]:
    """Every column a relationship of one of `rel_types` carries (sources and claims included)."""
    return list(dict.fromkeys(p for t in rel_types for p in rel_columns(t)))


def expand(label: str, rel_types: Sequence[str], outgoing: bool) -> str:
    """One hop in one direction from every node of `label` in `$ids`: each relationship as
    columns (from-node id, neighbour id, type, relationship id, its properties).

    The starts are primary-key lookups under `UNWIND`, and the hop an `OPTIONAL MATCH` from each:
    measured at 200,000 persons, 100 starts answer in ~2 ms this way, while every other form
    scanned a table first — `a.id IN $ids` before a pattern (0.5 s), `LOAD FROM` or a plain
    `MATCH` of the whole pattern after the lookup (3-12 s). A start without such a relationship
    gives one row of nulls (the caller drops it). Properties are named columns, not the
    relationship value: the binding turns a relationship into a Python dict at ~0.1 ms a row.
    The direction is the pattern's: `start_node(e)` in an undirected pattern names `a` always."""
    arrow = f"-[e:{'|'.join(rel_types)}]->" if outgoing else f"<-[e:{'|'.join(rel_types)}]-"
    cols = "".join(f", e.{p}" for p in expand_props(rel_types))
    return (
        f"UNWIND $ids AS i MATCH (a:{label} {{id: i}}) OPTIONAL MATCH (a){arrow}(b) "
        f"RETURN a.id, b.id, label(e), e.id{cols}"
    )


def shortest(src_label: str, dst_label: str, max_depth: int, rel_types: Sequence[str] | None) -> str:
    return (
        f"MATCH p = (a:{src_label} {{id: $a}})-[{_rel_pattern(rel_types)}* SHORTEST 1..{int(max_depth)}]-"
        f"(b:{dst_label} {{id: $b}}) RETURN nodes(p), rels(p) LIMIT 1"
    )


def list_division(label: str) -> str:
    return (
        f"MATCH (n:{label}) WHERE n.division STARTS WITH $prefix AND n.id > $after "
        "RETURN n ORDER BY n.id LIMIT $limit"
    )


def residents(whole_code: bool, through_household: bool) -> str:
    """People REGISTERED_IN or RESIDES_IN the divisions of a subtree (or, `through_household`,
    MEMBER_OF a household LOCATED_IN one), from the divisions outward, each once, by id.

    A whole 12-digit code is one primary-key lookup (`$division` is the Division's id); a
    shorter prefix scans the Division table (a county's thousand rows, not its people). The cursor
    is applied after a `WITH`: as a `WHERE` on the pattern's Person LadybugDB 0.22 plans a scan
    of the Person table joined to the walk (measured at 200,000 persons: 48 ms for a village's
    page against 1-2 ms, 108 ms for a township's against 8). The two ways in are two
    statements: a `UNION` of them measured 3× slower. A county's page walks every person of it
    (0.65 s at 200,000 persons against 0.33 s for `list_by_division`'s scan)."""
    where = "d.id = $division" if whole_code else "d.id STARTS WITH $division"
    walk = (
        "MATCH (d)<-[:LOCATED_IN]-(:Household)<-[:MEMBER_OF]-(p:Person) "
        if through_household
        else "MATCH (d)<-[:RESIDES_IN|REGISTERED_IN]-(p:Person) "
    )
    return (
        f"MATCH (d:Division) WHERE {where} {walk}"
        "WITH p WHERE p.id > $after RETURN DISTINCT p.id ORDER BY p.id LIMIT $limit"
    )


def conflicted(label: str) -> str:
    return f"MATCH (n:{label}) WHERE n.conflicted <> '' RETURN n ORDER BY n.id LIMIT $limit"


def find(label: str, prop: str) -> str:
    return f"MATCH (n:{label}) WHERE n.{prop} IN $values RETURN n ORDER BY n.id LIMIT $limit"


def count_nodes(label: str) -> str:
    return f"MATCH (n:{label}) RETURN count(n)"


def count_rels(rel_type: str) -> str:
    return f"MATCH ()-[e:{rel_type}]->() RETURN count(e)"


# ---- network analysis ----------------------------------------------------------------------
def guardian_loads() -> str:
    """Guardians of a division with their current wards, counted in the engine."""
    return (
        "MATCH (g:Person)-[e:GUARDIAN_OF]->(c:Person) WHERE g.division STARTS WITH $prefix "
        "AND (e.until IS NULL OR e.until = '' OR e.until >= $as_of) "
        "WITH g.id AS gid, collect(DISTINCT c.id) AS wards WHERE size(wards) >= $k "
        "RETURN gid, wards ORDER BY size(wards) DESC, gid LIMIT $limit"
    )


def case_subjects(label: str) -> str:
    return (
        f"MATCH (c:{label})-[:CONCERNS]->(p:Person) WHERE p.division STARTS WITH $prefix "
        "RETURN c.id, p.id ORDER BY p.id, c.id LIMIT $limit"
    )


def household_members() -> str:
    """A page of households first, then their members: the page bounds the expansion."""
    return (
        "MATCH (h:Household) WHERE h.division STARTS WITH $prefix AND h.id > $after "
        "WITH h ORDER BY h.id LIMIT $limit "
        "OPTIONAL MATCH (p:Person)-[:MEMBER_OF]->(h) RETURN h.id, p.id"
    )


def child_guardians() -> str:
    return (
        "MATCH (c:Person) WHERE c.division STARTS WITH $prefix AND c.id > $after "
        "AND c.birth_date > $born_after "
        "WITH c ORDER BY c.id LIMIT $limit "
        "OPTIONAL MATCH (g:Person)-[e:PARENT_OF|GUARDIAN_OF]->(c) "
        "RETURN c.id, g.id, label(e), e.until"
    )


# ---- a division's children and their families, set-wise (GraphStore.child_families) ----------
# Each statement scans the Person table once with the division and birth filter and expands one
# or two hops from the people it keeps: measured at 200,000 persons (79,959 children, load ~10)
# 0.1-1.8 s each, about 6 s for all six, where a neighbourhood read per page of 1,000 people
# made the cross-check take 969 s. A filter on a list of ids would not seek (see
# `neighbourhoods_nodes`), so the statements filter the same way and the port joins in Python.
_YOUNG = "c.division STARTS WITH $prefix AND c.birth_date >= $born"


def family_people() -> str:
    return (
        f"MATCH (c:Person) WHERE {_YOUNG} "
        "RETURN c.id, c.division, c.birth_date, c.deceased, c.hukou_type, c.conflicted, c.sources"
    )


def family_enrolments() -> str:
    return f"MATCH (c:Person)-[e:ENROLLED_AT]->(:School) WHERE {_YOUNG} RETURN c.id, e.status"


def family_parents() -> str:
    return f"MATCH (p:Person)-[e:PARENT_OF]->(c:Person) WHERE {_YOUNG} RETURN c.id, p.id, e.role, e.id"


def family_households() -> str:
    return f"MATCH (c:Person)-[:MEMBER_OF]->(h:Household) WHERE {_YOUNG} RETURN c.id, h.id"


def family_parent_claims() -> str:
    """Parents whose claims JSON names the attribute (`$key`: the quoted name and its colon): a
    substring test in the engine keeps the other parents' claims out of the answer."""
    return (
        f"MATCH (p:Person)-[:PARENT_OF]->(c:Person) WHERE {_YOUNG} AND p.claims CONTAINS $key "
        "RETURN DISTINCT p.id, p.claims"
    )


def family_parent_households() -> str:
    """The same parents' households whose membership a system asserts (`$system`: the text
    ``"system":"<code>"`` in the membership's sources JSON)."""
    return (
        f"MATCH (h:Household)<-[m:MEMBER_OF]-(p:Person)-[:PARENT_OF]->(c:Person) WHERE {_YOUNG} "
        "AND p.claims CONTAINS $key AND m.sources CONTAINS $system RETURN DISTINCT p.id, h.id"
    )


# ---- the projection's bookkeeping and bulk paths -------------------------------------------
META = "ShouhuMeta"  # outside the domain model: the store's own notes (the projection watermark)


def create_meta_table() -> str:
    return f"CREATE NODE TABLE IF NOT EXISTS {META}(key STRING PRIMARY KEY, value STRING)"


def read_meta() -> str:
    return f"MATCH (m:{META} {{key: $key}}) RETURN m.value"


def write_meta() -> str:
    return f"MERGE (m:{META} {{key: $key}}) SET m.value = $value"


def all_nodes(label: str) -> str:
    return f"MATCH (n:{label}) RETURN n"


def all_rels(rel_type: str) -> str:
    return f"MATCH (a)-[e:{rel_type}]->(b) RETURN a.id, b.id, e"


def nodes_after(label: str) -> str:
    """A page of a kind in id order (graph verify reads a county's graph a page at a time)."""
    return f"MATCH (n:{label}) WHERE n.id > $after RETURN n ORDER BY n.id LIMIT $limit"


def rels_after(rel_type: str) -> str:
    return (
        f"MATCH (a)-[e:{rel_type}]->(b) WHERE e.id > $after RETURN a.id, b.id, e ORDER BY e.id LIMIT $limit"
    )


def copy_nodes(label: str) -> str:
    """Bulk load into an empty table: measured 200,000 nodes in 0.6 s (DESIGN.md)."""
    return f"COPY {label} FROM $rows"


def copy_rels(rel_type: str, src_label: str, dst_label: str) -> str:
    """Bulk load one (from, to) pair of a relationship table; 600,000 rows in 0.9 s (DESIGN.md)."""
    return f"COPY {rel_type} FROM $rows (from='{src_label}', to='{dst_label}')"


# ---- set reads (GraphStore.select, GraphStore.hops) ------------------------------------------
def _selected(label: str, by_id: bool, born_from: bool) -> tuple[str, str]:
    """The start pattern and its filter. By id, one statement per id through the primary key: a
    list of ids (`IN $ids`, `LOAD FROM`) before a relationship pattern plans as a scan of the
    relationship table (measured at 200,000 persons: 0.8-1.1 s for 200 ids, against 0.45 ms a
    point statement). By division, one scan of the kind's table, filtered on its division
    (0.1-0.3 s for a township's 3,241 children and their parents on a loaded machine)."""
    if by_id:
        return f"(a:{label} {{id: $id}})", ""
    where = "WHERE a.division STARTS WITH $prefix"
    if born_from:
        where += " AND a.birth_date >= $born_from"
    return f"(a:{label})", where


def set_columns(labels: Sequence[str]) -> list[str]:
    """The columns a set read returns for a node that may be of any of `labels` (a property no
    kind of them has is never asked for): returning whole node values measured 4× slower to turn
    into Python rows (6,482 parents: 1.07 s against 0.26 s)."""
    cols = ["id"]
    for label in labels:
        cols += [k for k in node_columns(label) if k not in cols]
    return cols


def end_labels(rel_type: str, direction: str, label: str | None) -> list[str]:
    """The kinds of node a hop along `rel_type` in `direction` can end at."""
    if label is not None:
        return [label]
    pairs = REL_KINDS[rel_type].pairs
    return list(dict.fromkeys(dst if direction == "out" else src for src, dst in pairs))


def select(label: str, by_id: bool, born_from: bool = False) -> str:
    start, where = _selected(label, by_id, born_from)
    return f"MATCH {start} {where} RETURN " + ", ".join(f"a.{c}" for c in set_columns([label]))


def hops(
    label: str, path: Sequence[tuple[str, str, str | None]], by_id: bool, born_from: bool = False
) -> str:
    """The last hop of every walk along `path` (rel type, "in"/"out", end label or None) from the
    selected nodes: the near end's id, the relationship's columns, then the far end's columns
    (`set_columns` of `end_labels`). No variable length: each hop is its own pattern element, so
    no walk passes a node the path does not name."""
    start, where = _selected(label, by_id, born_from)
    pattern = start
    near = "a"
    for i, (rel_type, direction, end_label) in enumerate(path):
        last = i == len(path) - 1
        rel, node = ("e", "b") if last else (f"e{i}", f"n{i}")
        if not last:
            near = node
        end = f"({node}:{end_label})" if end_label else f"({node})"
        pattern += f"-[{rel}:{rel_type}]->{end}" if direction == "out" else f"<-[{rel}:{rel_type}]-{end}"
    rel_type, direction, end_label = path[-1]
    rel_cols = ", ".join(f"e.{c}" for c in ["id", *rel_columns(rel_type)])
    far_cols = ", ".join(f"b.{c}" for c in set_columns(end_labels(rel_type, direction, end_label)))
    return f"MATCH {pattern} {where} RETURN {near}.id, {rel_cols}, {far_cols}"
