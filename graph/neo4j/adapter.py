"""The GraphStore port on a Neo4j 5 server, over Bolt with the official ``neo4j`` driver.

Every statement comes from ``graph.neo4j.queries``. Outside a transaction each primitive
runs as one managed transaction (``Driver.execute_query``: retried on transient errors,
reads routed to readers in a cluster); between ``_begin`` and ``_commit``/``_rollback``
every primitive runs in the one explicit transaction the port opened, so that reads see
the transaction's own writes and everything commits or rolls back together. Explicit
transactions share the bookmark manager of ``execute_query``, so a read after a commit
sees that commit even when it is routed to another cluster member.

Rows come back as plain dicts with exactly the keys the LadybugDB adapter gives: ``id``
and every column of the kind (absent properties as ``None``, since Neo4j stores no nulls).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator, Sequence
from typing import Any, LiteralString
from urllib.parse import urlsplit

from neo4j import READ_ACCESS, Driver, GraphDatabase, RoutingControl, Session, Transaction
from neo4j.exceptions import AuthError, DriverError, Neo4jError

from graph.model import NODE_KINDS, REL_KINDS, label_of
from graph.neo4j import queries as q
from graph.port import FamilyRows, GraphStore, GraphStoreError
from graph.records import Selection, Step

log = logging.getLogger(__name__)

# Bolt schemes only: the driver would also accept http(s):// for its preview Query API,
# which needs other packages and does not support explicit transactions the same way.
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")

_NODE_COLUMNS = {label: q.node_columns(label) for label in NODE_KINDS}
_REL_COLUMNS = {rel_type: q.rel_columns(rel_type) for rel_type in REL_KINDS}


class Neo4jStore(GraphStore):
    backend = "neo4j"
    # ``chunk_size`` (the port's) also bounds the statements the port does not chunk: the
    # id look-ups of get_nodes() and the frontier of a traversal, so no parameter list is
    # one huge Bolt message and no statement holds all of it in server memory at once.

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str | None = None,
        *,
        connection_timeout: float = 5.0,
    ) -> None:
        """Connect and check at once that the server answers, the login works and the database exists.

        Fails with one line naming the URI and the cause, so that a wrong setting is seen
        at start-up rather than at the first request. The password is never part of it.
        """
        super().__init__()
        self.uri = uri
        self.database = database or None
        self._session: Session | None = None
        self._tx: Transaction | None = None
        parts = urlsplit(uri)
        if parts.username is not None or parts.password is not None:
            # Do not echo it back: the part before '@' may be a password.
            shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
            raise GraphStoreError(
                f"cannot use the Neo4j URI {shown}: give the user and password as settings, not in the URI"
            )
        if parts.scheme not in BOLT_SCHEMES:
            raise GraphStoreError(
                f"cannot use the Neo4j URI {uri}: the scheme must be one of {', '.join(BOLT_SCHEMES)}"
            )
        try:
            self._driver: Driver = GraphDatabase.driver(
                uri, auth=(user, password), connection_timeout=connection_timeout
            )
        except (DriverError, ValueError) as exc:
            raise GraphStoreError(f"cannot use the Neo4j URI {uri}: {_first_line(exc)}") from None
        try:
            self._driver.verify_connectivity()
            # verify_connectivity() checks the server and the login; a query also checks
            # that the configured database exists and that this user may read it.
            with self._driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
                session.run(q.PING).consume()
        except (DriverError, Neo4jError, OSError) as exc:
            self._driver.close()
            raise GraphStoreError(self._connect_message(user, exc)) from None
        except BaseException:
            self._driver.close()
            raise

    def _connect_message(self, user: str, exc: BaseException) -> str:
        if isinstance(exc, AuthError):
            return f"cannot log in to Neo4j at {self.uri} as {user!r}: {_server_message(exc)}"
        if isinstance(exc, Neo4jError):
            where = f"database {self.database!r}" if self.database else "the default database"
            return f"cannot use {where} on Neo4j at {self.uri}: {_server_message(exc)}"
        return f"cannot reach Neo4j at {self.uri}: {_network_cause(exc)}"

    # ---- running statements ------------------------------------------------------------------
    def _run(
        self, statement: str, params: dict[str, Any] | None = None, *, read: bool = False
    ) -> list[dict[str, Any]]:
        """Run one statement in the open transaction, else as its own managed transaction.

        ``read`` routes a statement outside a transaction to a reader; it must only be
        set for statements that write nothing (a cluster refuses writes on a reader).
        """
        query: LiteralString = statement  # built from the domain model's names only
        try:
            if self._tx is not None:
                return [record.data() for record in self._tx.run(query, params or {})]
            records, _summary, _keys = self._driver.execute_query(
                query,
                params or {},
                routing_=RoutingControl.READ if read else RoutingControl.WRITE,
                database_=self.database,
            )
            return [record.data() for record in records]
        except Neo4jError as exc:
            raise GraphStoreError(f"Neo4j: {_server_message(exc)}") from exc
        except DriverError as exc:
            raise GraphStoreError(f"Neo4j at {self.uri}: {_first_line(exc)}") from exc

    def init_schema(self) -> None:
        """Constraints and indexes, each IF NOT EXISTS, so running it again changes nothing."""
        with self._lock:
            if self._tx is not None:
                # Neo4j refuses schema changes in a transaction that also writes data.
                raise GraphStoreError("init_schema() cannot run inside a transaction")
            for statement in q.schema_statements():
                self._run(statement)

    def close(self) -> None:
        with self._lock:
            if self._tx is not None:
                self._rollback()
                self._tx_depth = 0
            self._driver.close()

    # ---- transactions --------------------------------------------------------------------------
    def _begin(self) -> None:
        if self._tx is not None:
            raise GraphStoreError("a Neo4j transaction is already open")
        try:
            session = self._driver.session(
                database=self.database, bookmark_manager=self._driver.execute_query_bookmark_manager
            )
        except DriverError as exc:
            raise GraphStoreError(f"Neo4j at {self.uri}: {_first_line(exc)}") from exc
        try:
            self._tx = session.begin_transaction()
        except BaseException as exc:
            _close_quietly(session)
            if isinstance(exc, Neo4jError):
                raise GraphStoreError(f"Neo4j: {_server_message(exc)}") from exc
            if isinstance(exc, DriverError):
                raise GraphStoreError(f"Neo4j at {self.uri}: {_first_line(exc)}") from exc
            raise
        self._session = session

    def _take(self) -> tuple[Transaction, Session]:
        tx, session = self._tx, self._session
        if tx is None or session is None:
            raise GraphStoreError("no Neo4j transaction is open")
        self._tx = self._session = None
        return tx, session

    def _commit(self) -> None:
        tx, session = self._take()
        try:
            tx.commit()
        except Neo4jError as exc:
            raise GraphStoreError(f"Neo4j did not commit: {_server_message(exc)}") from exc
        except DriverError as exc:
            # IncompleteCommit among them: the outcome is unknown, say so rather than guess.
            raise GraphStoreError(
                f"Neo4j at {self.uri} did not confirm the commit: {_first_line(exc)}"
            ) from exc
        finally:
            _close_quietly(session)

    def _rollback(self) -> None:
        # Called while another exception propagates: a failure here must not replace it.
        # A transaction the server already ended (after a failed statement) or one on a
        # lost connection is rolled back by the server anyway.
        tx, session = self._take()
        try:
            tx.close()
        except (Neo4jError, DriverError, OSError) as exc:
            log.warning("Neo4j rollback failed (the server rolls the transaction back): %s", _first_line(exc))
        finally:
            _close_quietly(session)

    # ---- reads of stored rows ------------------------------------------------------------------
    def _fetch_nodes(self, label: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        statement = q.fetch_nodes(label)
        out: list[dict[str, Any]] = []
        for chunk in _chunks(list(ids), self.chunk_size):
            out += [_node_row(r["node"], label) for r in self._run(statement, {"ids": chunk}, read=True)]
        return out

    def _fetch_rel_provenance(
        self, rel_type: str, src_label: str, dst_label: str, keys: Sequence[tuple[str, str]]
    ) -> dict[str, tuple[str, str]]:
        statement = q.fetch_rel_provenance(rel_type, src_label, dst_label)
        out: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(list(keys), self.chunk_size):
            params = {"keys": [{"id": rel_id, "src": src} for rel_id, src in chunk]}
            for r in self._run(statement, params, read=True):
                out[r["id"]] = (r["sources"], r["claims"])
        return out

    # ---- writes --------------------------------------------------------------------------------
    def _write_nodes(self, label: str, rows: list[dict[str, Any]], *, new: bool) -> None:
        # MERGE whatever `new` says: on Neo4j it costs about what CREATE does, and it cannot
        # duplicate a node another writer created since the port's lookup.
        del new
        statement = q.write_nodes(label)
        columns = _NODE_COLUMNS[label]
        # Within one transaction, so that the chunks of one call land together or not at all
        # (the port always has one open; this only joins it).
        with self.transaction():
            for chunk in _chunks(rows, self.chunk_size):
                # Every column, None included: ``SET n += row.props`` then replaces the row.
                params = {"rows": [{"id": r["id"], "props": {k: r.get(k) for k in columns}} for r in chunk]}
                self._run(statement, params)

    def _write_rels(
        self, rel_type: str, src_label: str, dst_label: str, rows: list[dict[str, Any]], *, new: bool = True
    ) -> int:
        """MERGE whether the port found the rows new or not (``new`` is deliberately unused).

        Neo4j's MERGE between two bound nodes expands only the lower-degree node's
        relationships of this type, so it costs about what CREATE does; and unlike CREATE
        it locks both ends and checks again, so a second writer (another importer process)
        that created the same relationship since the port looked cannot cause a duplicate.
        """
        statement = q.write_rels(rel_type, src_label, dst_label)
        columns = _REL_COLUMNS[rel_type]
        matched = 0
        with self.transaction():
            for chunk in _chunks(rows, self.chunk_size):
                params = {
                    "rows": [
                        {
                            "id": r["id"],
                            "src": r["src"],
                            "dst": r["dst"],
                            "props": {k: r.get(k) for k in columns},
                        }
                        for r in chunk
                    ]
                }
                result = self._run(statement, params)
                matched += int(result[0]["matched"]) if result else 0
        return matched

    # ---- traversals ----------------------------------------------------------------------------
    def _expand(
        self, ids_by_label: dict[str, list[str]], rel_types: Sequence[str] | None
    ) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        # Every start node carries :Entity, so one statement serves all kinds at once.
        ids = sorted({i for label_ids in ids_by_label.values() for i in label_ids})
        types = _type_filter(rel_types)
        statement = q.expand(filtered=types is not None)
        out: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for chunk in _chunks(ids, self.chunk_size):
            params: dict[str, Any] = {"ids": chunk}
            if types is not None:
                params["types"] = types
            for r in self._run(statement, params, read=True):
                out.append((_rel_row(r["rel"]), _node_row(r["neighbour"]), _node_row(r["origin"])))
        return out

    def _shortest(
        self, a: str, b: str, max_depth: int, rel_types: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        types = _type_filter(rel_types)
        params: dict[str, Any] = {"a": a, "b": b}
        if types is not None:
            params["types"] = types
        rows = self._run(q.shortest(max_depth, filtered=types is not None), params, read=True)
        if not rows:
            return None
        return [_node_row(n) for n in rows[0]["nodes"]], [_rel_row(e) for e in rows[0]["rels"]]

    # ---- network analysis ----------------------------------------------------------------------
    def _guardian_loads(
        self, prefix: str, min_children: int, as_of: str, limit: int
    ) -> list[tuple[str, list[str]]]:
        params = {"prefix": prefix, "k": min_children, "as_of": as_of, "limit": limit}
        return [(r["gid"], sorted(r["wards"])) for r in self._run(q.guardian_loads(), params, read=True)]

    def _case_subjects(self, label: str, prefix: str, limit: int) -> list[tuple[str, str]]:
        if limit <= 0:
            return []
        rows = self._run(q.case_subjects(label), {"prefix": prefix, "limit": limit}, read=True)
        return [(r["record"], r["person"]) for r in rows]

    def _household_members(self, prefix: str, after: str, limit: int) -> list[tuple[str, str | None]]:
        params = {"prefix": prefix, "after": after, "limit": limit}
        return [(r["household"], r["person"]) for r in self._run(q.household_members(), params, read=True)]

    def _child_guardians(
        self, prefix: str, born_after: str, after: str, limit: int
    ) -> list[tuple[str, str | None, str | None, str | None]]:
        params = {"prefix": prefix, "born_after": born_after, "after": after, "limit": limit}
        rows = self._run(q.child_guardians(), params, read=True)
        return [(r["child"], r["guardian"], r["rel_type"], r["until"]) for r in rows]

    def _child_families(self, prefix: str, born_since: str, claim_key: str, system_key: str) -> FamilyRows:
        params: dict[str, Any] = {"prefix": prefix, "born": born_since}
        claim = {**params, "key": claim_key}
        people = self._run(q.family_people(), params, read=True)
        return FamilyRows(
            [
                (
                    r["id"],
                    r["division"],
                    r["birth_date"],
                    r["deceased"],
                    r["hukou_type"],
                    r["conflicted"],
                    r["sources"],
                )
                for r in people
            ],
            [(r["child"], r["status"]) for r in self._run(q.family_enrolments(), params, read=True)],
            [
                (r["child"], r["parent"], r["role"], r["rel"])
                for r in self._run(q.family_parents(), params, read=True)
            ],
            [(r["child"], r["household"]) for r in self._run(q.family_households(), params, read=True)],
            [(r["parent"], r["claims"]) for r in self._run(q.family_parent_claims(), claim, read=True)],
            [
                (r["parent"], r["household"])
                for r in self._run(q.family_parent_households(), {**claim, "system": system_key}, read=True)
            ],
        )

    # ---- set reads ------------------------------------------------------------------------------
    def _set_params(self, selection: Selection) -> list[dict[str, Any]]:
        if selection.division_prefix is None:
            return [{"ids": chunk} for chunk in _chunks(list(selection.ids), self.chunk_size)]
        params: dict[str, Any] = {"prefix": selection.division_prefix}
        if selection.born_from is not None:
            params["born_from"] = selection.born_from
        return [params]

    def _start_label(self, selection: Selection) -> str | None:
        return None if selection.division_prefix is None else selection.label

    def _select(self, selection: Selection) -> list[dict[str, Any]]:
        statement = q.select(self._start_label(selection), selection.born_from is not None)
        rows = [r for p in self._set_params(selection) for r in self._run(statement, p, read=True)]
        return [_node_row(r["node"]) for r in rows if label_of(r["node"]["id"]) == selection.label]

    def _hops(
        self, selection: Selection, path: Sequence[Step]
    ) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        statement = q.hops(
            self._start_label(selection), tuple(s.direction for s in path), selection.born_from is not None
        )
        steps = {f"t{i}": s.rel_type for i, s in enumerate(path)} | {
            f"l{i}": s.label for i, s in enumerate(path)
        }
        out = []
        for params in self._set_params(selection):
            for r in self._run(statement, {**params, **steps}, read=True):
                out.append((r["near"], _rel_row(r["rel"]), _node_row(r["far"])))
        return out

    # ---- listings and counts -------------------------------------------------------------------
    def _list_division(self, label: str, prefix: str, after: str, limit: int) -> list[dict[str, Any]]:
        params = {"prefix": prefix, "after": after, "limit": limit}
        rows = self._run(q.list_division(label), params, read=True)
        return [_node_row(r["node"], label) for r in rows]

    def _residents(self, prefix: str, after: str, limit: int) -> list[str]:
        params = {"prefix": prefix, "after": after, "limit": limit}
        return [r["id"] for r in self._run(q.residents(), params, read=True)]

    def _conflicted(self, label: str, limit: int) -> list[dict[str, Any]]:
        rows = self._run(q.conflicted(label), {"limit": limit}, read=True)
        return [_node_row(r["node"], label) for r in rows]

    def _find(self, label: str, prop: str, values: Sequence[Any], limit: int) -> list[dict[str, Any]]:
        rows = self._run(q.find(label, prop), {"values": list(values), "limit": limit}, read=True)
        return [_node_row(r["node"], label) for r in rows]

    def _count_nodes(self, label: str) -> int:
        return int(self._run(q.count_nodes(label), read=True)[0]["total"])

    def _delete_nodes(self, label: str, ids: Sequence[str]) -> None:
        for chunk in _chunks(list(ids), self.chunk_size):
            self._run(q.delete_nodes(label), {"ids": list(chunk)})

    def _delete_rels(self, rel_type: str, src_label: str, keys: Sequence[tuple[str, str]]) -> None:
        for chunk in _chunks(list(keys), self.chunk_size):
            self._run(q.delete_rels(rel_type, src_label), {"keys": [{"id": i, "src": s} for i, s in chunk]})

    def _count_rels(self, rel_type: str) -> int:
        return int(self._run(q.count_rels(rel_type), read=True)[0]["total"])

    # ---- the projection's bookkeeping and full reads -------------------------------------------
    def _read_meta(self, key: str) -> str | None:
        rows = self._run(q.read_meta(), {"key": key}, read=True)
        return str(rows[0]["value"]) if rows and rows[0]["value"] is not None else None

    def _write_meta(self, key: str, value: str) -> None:
        self._run(q.write_meta(), {"key": key, "value": value})

    def _all_nodes(self, label: str) -> list[dict[str, Any]]:
        return [_node_row(r["node"], label) for r in self._run(q.all_nodes(label), read=True)]

    def _all_rels(self, rel_type: str) -> list[dict[str, Any]]:
        rows = [_rel_row(r["rel"]) for r in self._run(q.all_rels(rel_type), read=True)]
        for row in rows:
            row.pop("type", None)
        return rows


# ---- rows ------------------------------------------------------------------------------------
def _node_row(props: dict[str, Any], label: str | None = None) -> dict[str, Any]:
    """A stored node's properties as the port expects them: id plus every column of its kind."""
    node_id = props["id"]
    columns = _NODE_COLUMNS[label or label_of(node_id)]
    return {"id": node_id, **{k: props.get(k) for k in columns}}


def _rel_row(rel: dict[str, Any]) -> dict[str, Any]:
    """``{props, type, src, dst}`` from a statement as id, type, src, dst plus every column."""
    rel_type = rel["type"]
    props = rel["props"]
    return {
        "id": props.get("id"),
        **{k: props.get(k) for k in _REL_COLUMNS[rel_type]},
        "type": rel_type,
        "src": rel["src"],
        "dst": rel["dst"],
    }


def _type_filter(rel_types: Sequence[str] | None) -> list[str] | None:
    """The ``$types`` parameter: None for no filter (an empty list too, as in LadybugDB)."""
    if not rel_types:
        return None
    unknown = set(rel_types) - set(REL_KINDS)
    if unknown:
        raise GraphStoreError(f"unknown relationship types {sorted(unknown)}")
    return sorted(set(rel_types))


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- error messages ------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _server_message(exc: Neo4jError) -> str:
    message = _first_line(exc) if not exc.message else exc.message.strip().splitlines()[0]
    return f"{message} ({exc.code})" if exc.code else message


def _network_cause(exc: BaseException) -> str:
    """The operating system's reason behind a driver's connection error, in a few words.

    The driver wraps it (in ServiceUnavailable, and for neo4j:// in an ExceptionGroup of
    per-address failures); its own text repeats resolved addresses over several lines.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    innermost = exc
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if not isinstance(current, BaseExceptionGroup):
            innermost = current
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, TimeoutError):
            return "no answer (connection timed out)"
        if isinstance(current, socket.gaierror):
            return f"cannot resolve the host name ({current.strerror or current})"
        if isinstance(current, ssl.SSLError):
            return f"TLS failed ({current.reason or current})"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror[0].lower() + current.strerror[1:]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    # No operating-system error: the deepest driver error says most (e.g. "looks like HTTP").
    return _first_line(innermost)


def _close_quietly(session: Session) -> None:
    try:
        session.close()
    except (Neo4jError, DriverError, OSError) as exc:
        log.warning("closing a Neo4j session failed: %s", _first_line(exc))
