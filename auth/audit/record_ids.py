"""The record ids an audit entry names: those a request names in its arguments and those its
response returns, found by walking the operation's selections over the schema.

Owned by the audit package, not the endpoint, because which ids go on an entry (and which values
are never ids: relationships, pseudonyms, data) is the audit log's rule; it needs the GraphQL
schema and the parsed document, not HTTP. The endpoint (api/graphql_app.py) parses the document
into `DocumentFacts` and calls `named_record_ids` before execution and `returned_record_ids` after.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLInputObjectType, get_named_type, value_from_ast_untyped
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
)

from auth.audit.event import check_record_id

_REL_ID = re.compile(r"[A-Z][A-Z_]*:")
_RECORD_ID_FORM = re.compile(r"[a-z][a-z0-9_]{0,39}:[A-Za-z0-9][A-Za-z0-9._:\-]{0,159}")


# ---- what the document is (parsed by the endpoint) -----------------------------------------------


@dataclass(frozen=True)
class DocumentFacts:
    """What the audit entry and the limits need to know about a document, from graphql-core's AST.

    `kind` and `name` are those of the operation that runs: the one `operationName` names, or the
    only one. A document in which that cannot be decided (it then does not run) is recorded with
    the most consequential kind it contains, so a refused mutation is never filed as a query.

    Defined here, beside the walks that read it, so the audit package needs nothing from `api`; the
    endpoint builds it (`api.graphql_app.document_facts`) and `api.limits.check_document` reads it.
    """

    document: DocumentNode | None
    operation: OperationDefinitionNode | None
    operation_name: str | None
    kind: str
    name: str
    parse_error: str | None = None


def loggable_record_ids(records: set[str]) -> list[str]:
    """The record ids of an entry. Relationships (`PARENT_OF:person:a>person:b`) are named by their
    two ends, which are on the trail themselves; every other id goes to the log as it is, and one
    the log refuses (a value built into an id) fails the request closed."""
    return sorted(r for r in records if not _REL_ID.match(r))


# ---- which records the response names ---------------------------------------------------------


def returned_record_ids(schema: Any, facts: DocumentFacts, data: Any) -> set[str]:
    """Every value of an `ID` field in the response that is a record id (`kind:key`).

    Resolvers put the records whose fields they read on the guard's trail; this adds the ones a
    response names without reading a guarded field (a list of ids, `person { id }`), so an entry
    names every record returned whichever resolver returned it. The walk follows the operation's
    selections (aliases, fragments) over the response; it is linear in the response."""
    if data is None or facts.operation is None or facts.document is None:
        return set()
    gql_schema = schema._schema
    root = gql_schema.get_root_type(facts.operation.operation)
    fragments = {d.name.value: d for d in facts.document.definitions if isinstance(d, FragmentDefinitionNode)}
    found: set[str] = set()
    stack: list[tuple[Any, Any, Any]] = [(data, facts.operation.selection_set, root)]
    while stack:
        value, selection_set, parent = stack.pop()
        if isinstance(value, list):
            stack.extend((v, selection_set, parent) for v in value)
            continue
        if not isinstance(value, dict) or selection_set is None:
            continue
        for key, (field_type, sub) in _selected(gql_schema, selection_set, parent, fragments).items():
            if key not in value:
                continue
            item = value[key]
            named = get_named_type(field_type) if field_type is not None else None
            if named is not None and named.name == "ID":
                found.update(_ids_in(item))
            elif sub is not None:
                for part, part_type in sub:
                    stack.append((item, part, part_type))
    return found


# Workflow ids are bare (`case-<hex>`); the argument says which kind of record they name.
_WORKFLOW_ID_ARGS = {"caseId": "protectioncase", "reportId": "report", "serviceId": "service"}
_WORKFLOW_ID_FIELDS = {"protectionCase": "protectioncase"}


def named_record_ids(schema: Any, facts: DocumentFacts, variables: dict[str, Any]) -> set[str]:
    """Every record id the request itself names in an argument of the operation that runs: `ID`
    arguments (a person, a child, a network's start), `_entities` representations, and workflow
    ids (a case, a report) under their record kind.

    The entry names them whether or not they were found or in scope: a refused look at a child is
    a look at that child on the record, and an auditor asking "who tried to see this child" finds
    it. Values that are not in record-id form (pseudonyms, strings built from data) are left out:
    the log takes ids, never data values."""
    if facts.operation is None or facts.document is None:
        return set()
    gql_schema = schema._schema
    fragments = {d.name.value: d for d in facts.document.definitions if isinstance(d, FragmentDefinitionNode)}
    found: set[str] = set()
    pending: list[tuple[Any, Any]] = [
        (facts.operation.selection_set, gql_schema.get_root_type(facts.operation.operation))
    ]
    seen: set[str] = set()
    while pending:
        sel_set, typ = pending.pop()
        for sel in sel_set.selections:
            if isinstance(sel, FieldNode):
                definition = (getattr(typ, "fields", None) or {}).get(sel.name.value)
                if definition is None:
                    continue
                for arg in sel.arguments or ():
                    arg_def = definition.args.get(arg.name.value)
                    if arg_def is None:
                        continue
                    named = get_named_type(arg_def.type).name
                    value = value_from_ast_untyped(arg.value, variables)
                    if named == "_Any":
                        reps = value if isinstance(value, list) else [value]
                        found.update(_ids_in([r.get("id") for r in reps if isinstance(r, dict)]))
                    elif named == "ID":
                        kind = _WORKFLOW_ID_ARGS.get(arg.name.value) or (
                            _WORKFLOW_ID_FIELDS.get(sel.name.value) if arg.name.value == "id" else None
                        )
                        found.update(_named_ids(value, kind))
                    elif isinstance(get_named_type(arg_def.type), GraphQLInputObjectType):
                        # A visit's child, a report's child, an agreement's parents: named as
                        # much as a top-level argument is.
                        found.update(_input_ids(get_named_type(arg_def.type), value))
                if sel.selection_set is not None:
                    pending.append((sel.selection_set, get_named_type(definition.type)))
            else:
                _follow_fragment(sel, typ, gql_schema, fragments, seen, pending)
    return {r for r in found if _valid_record_id(r)}


def _follow_fragment(
    sel: Any, typ: Any, gql_schema: Any, fragments: dict[str, Any], seen: set[str], pending: list[Any]
) -> None:
    """An inline fragment's selections, or a named fragment's (each name once), queued with the
    type they select on: the two walks of a document (named ids, selected fields) follow both."""
    if isinstance(sel, InlineFragmentNode):
        cond = sel.type_condition
        pending.append((sel.selection_set, gql_schema.get_type(cond.name.value) if cond else typ))
    elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
        seen.add(sel.name.value)
        frag = fragments.get(sel.name.value)
        if frag is not None:
            pending.append((frag.selection_set, gql_schema.get_type(frag.type_condition.name.value)))


def _named_ids(value: Any, kind: str | None) -> Iterator[str]:
    """The record ids in an `ID` value (one or a list); a bare workflow id under `kind`."""
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, str) and kind is not None and ":" not in v:
            v = f"{kind}:{v}"
        yield from _ids_in(v)


def _input_ids(typ: GraphQLInputObjectType, value: Any, depth: int = 0) -> Iterator[str]:
    """The record ids in the `ID` fields of an input object value (nested inputs and lists too)."""
    if depth > 10:
        return
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict):
            continue
        for name, field_def in typ.fields.items():
            v = item.get(name)
            if v is None:
                continue
            inner = get_named_type(field_def.type)
            if inner.name == "ID":
                yield from _named_ids(v, _WORKFLOW_ID_ARGS.get(name))
            elif isinstance(inner, GraphQLInputObjectType):
                yield from _input_ids(inner, v, depth + 1)


def _valid_record_id(value: str) -> bool:
    try:
        check_record_id(value)
    except ValueError:
        return False
    return True


def _ids_in(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for v in value:
            yield from _ids_in(v)
    elif isinstance(value, str) and _RECORD_ID_FORM.fullmatch(value) and not _REL_ID.match(value):
        yield value


def _selected(
    gql_schema: Any, selection_set: Any, parent: Any, fragments: dict[str, FragmentDefinitionNode]
) -> dict[str, tuple[Any, list[tuple[Any, Any]] | None]]:
    """Response key -> (field type, [(sub-selection, its parent type)]), fragments flattened."""
    out: dict[str, tuple[Any, list[tuple[Any, Any]] | None]] = {}
    pending: list[tuple[Any, Any]] = [(selection_set, parent)]
    seen: set[str] = set()
    while pending:
        sel_set, typ = pending.pop()
        for sel in sel_set.selections:
            if isinstance(sel, FieldNode):
                fields = getattr(typ, "fields", None) or {}
                definition = fields.get(sel.name.value)
                key = sel.alias.value if sel.alias else sel.name.value
                field_type = definition.type if definition is not None else None
                prev_type, subs = out.get(key, (None, None))
                if sel.selection_set is not None and field_type is not None:
                    subs = [*(subs or []), (sel.selection_set, get_named_type(field_type))]
                out[key] = (field_type or prev_type, subs)
            else:
                _follow_fragment(sel, typ, gql_schema, fragments, seen, pending)
    return out
