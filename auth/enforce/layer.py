"""The one layer every value leaves through: each field of the built schema, wrapped.

Every output field of every GraphQL type has a declared sensitivity class in the policy file:
a graph property through `sensitivity.<Kind>.<prop>` (the record types register which property
each field shows), every other field (workflow records, derived values, counts, ids, links,
the query and mutation roots) through `fields.<Type>.<field>`. `enforce` walks the built schema
and wraps each field's resolver, so a resolver's return value reaches the caller only after the
guard decided its class for this caller: allowed as is, masked with the declared mask, or denied
(null with a FORBIDDEN error; a denied list is empty, its records left out whole). A field with
no declaration is denied, and `undeclared` names it for the schema-walk test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    default_field_resolver,
)

from auth.enforce.errors import store_unavailable
from auth.enforce.guard import FieldDenied
from auth.policy import Policy
from auth.policy.vocabulary import UNCLASSIFIED

# (GraphQL type, field) → (graph kind, property), registered by the record types as they are built.
GRAPH_FIELDS: dict[tuple[str, str], tuple[str, str]] = {}


def declare_graph_field(type_name: str, field_name: str, kind: str, prop: str) -> None:
    GRAPH_FIELDS[type_name, field_name] = (kind, prop)


@dataclass(frozen=True, slots=True)
class Declaration:
    """Where a field's class is declared: a graph property, or the policy's `fields` table."""

    type_name: str
    field_name: str
    kind: str | None = None
    prop: str | None = None
    is_list: bool = False


def declaration(policy: Policy, type_name: str, field_name: str) -> str | None:
    """The class a field is declared with, or None (undeclared)."""
    graph = GRAPH_FIELDS.get((type_name, field_name))
    if graph is not None:
        return policy.sensitivity(*graph)
    return policy.api_field_class(type_name, field_name)


def _object_types(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    return [
        t
        for name, t in sorted(schema.type_map.items())
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    ]


def undeclared(schema: GraphQLSchema, policy: Policy) -> list[str]:
    """Every `Type.field` of the schema without a declared class."""
    return [
        f"{t.name}.{name}"
        for t in _object_types(schema)
        for name in t.fields
        if declaration(policy, t.name, name) is None
    ]


def _is_list(gql_type: Any) -> bool:
    """A non-null list: denied, it is empty (a nullable field is null with the error)."""
    return isinstance(gql_type, GraphQLNonNull) and isinstance(gql_type.of_type, GraphQLList)


def _mask_value(mask: Callable[[Any], Any], value: Any) -> Any:
    """A mask applies to scalars (each item of a list); records pass, their own fields decide.
    A non-text value has no partial form: masked, it is absent."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_mask_value(mask, v) for v in value]
    if hasattr(value, "__strawberry_definition__"):
        return value
    masked = mask(value)
    if not isinstance(value, str) and masked is not value:
        return None
    return masked


def release(info: Any, decl: Declaration, value: Any) -> Any:
    """The value as this caller may see it, decided by the field's declared class."""
    guard = info.context.guard
    if not guard.enforcing:
        return value
    policy: Policy = guard.policy
    try:
        kind, prop = decl.kind, decl.prop
        if kind is not None and prop is not None:
            if guard.decide(kind, prop) == "allow":
                return value
            return _mask_value(lambda v: policy.mask(kind, prop, v), value)
        if guard.decide_field(decl.type_name, decl.field_name) == "allow":
            return value
        if value is not None and policy.masks_to_pseudonym(decl.type_name, decl.field_name):
            return _pseudonym(info, str(value))
        return _mask_value(lambda v: policy.mask_api_field(decl.type_name, decl.field_name, v), value)
    except FieldDenied:
        if decl.is_list:
            return []
        if value is not None and policy.masks_to_pseudonym(decl.type_name, decl.field_name):
            # An id cannot be absent without losing the record it names: opaque instead.
            return _pseudonym(info, str(value))
        raise


def released_id(info: Any, type_name: str, record_id: str) -> str | None:
    """A record id as the field `<type_name>.id` releases it to this caller: as it is, or the
    layer's opaque id where that id carries a value the caller sees masked or denied (a policy
    `fields.<Type>.id` with mask `pseudonym`: `household:<household number>`). For ids given out
    elsewhere than a record's own `id` field (a network's nodes and edges), so that they follow
    the one decision the layer makes (None: no settings to make the opaque id with)."""
    guard = info.context.guard
    if not guard.enforcing or not guard.policy.masks_to_pseudonym(type_name, "id"):
        return record_id
    return release(info, Declaration(type_name, "id"), record_id)


def id_masked(info: Any, type_name: str) -> bool:
    """Whether `released_id` makes this caller's `<type_name>` ids opaque (the same decision)."""
    guard = info.context.guard
    if not guard.enforcing or not guard.policy.masks_to_pseudonym(type_name, "id"):
        return False
    try:
        return guard.decide_field(type_name, "id") != "allow"
    except FieldDenied:
        return True


def opaque_id(info: Any, value: str) -> str | None:
    """The layer's opaque id for `value` (one that embeds an id `released_id` makes opaque, such
    as a relationship's id, `MEMBER_OF:person:…>household:<number>`)."""
    return _pseudonym(info, value)


def _pseudonym(info: Any, record_id: str) -> str | None:
    """An id that would carry a masked value (`household:<household number>`), made opaque: the
    caller's agency's own (not one every agency shares), and not the pseudonym a network gives the
    record, nor one a network starts from: a record read by its id would otherwise hand over the
    pseudonym, re-identification without a purpose (auth/pseudonym.py FIELD_MASK)."""
    settings = info.context.settings
    if settings is None:
        return None
    from auth.pseudonym import FIELD_MASK, pseudonymizer

    principal = info.context.principal
    audience = principal.agency_id if principal is not None else None
    return pseudonymizer(settings).encode(record_id, audience, use=FIELD_MASK)


def unanswerable(info: Any, error: GraphQLError) -> bool:
    """NOT_FOUND (absent, or out of the caller's scope: one answer) while the graph store cannot
    answer. Whether the caller may see a record is decided on the graph (the child's row scope), so
    while it is closed or reopening a record that exists is answered UNAVAILABLE; an id many
    resolvers look up in the relational store first (a case, a report, a petition) would otherwise
    be NOT_FOUND at once when absent, and which of the two came back would say whether the id
    exists. So no NOT_FOUND leaves while the graph is unavailable, whichever resolver raised it:
    both are UNAVAILABLE. A party to a case still reads it (that needs no graph read)."""
    if (error.extensions or {}).get("code") != "NOT_FOUND":
        return False
    return not info.context.guard.graph_answers()


def _wrap(resolve: Callable[..., Any] | None, decl: Declaration) -> Callable[..., Any]:
    inner = resolve or default_field_resolver

    # Positional-only: a field may have an argument called `source` or `info` (networkPath).
    def resolver(parent: Any, info: Any, /, **kwargs: Any) -> Any:
        try:
            value = inner(parent, info, **kwargs)
        except GraphQLError as exc:
            if unanswerable(info, exc):
                raise store_unavailable() from None
            raise
        return release(info, decl, value)

    resolver.__wrapped__ = inner  # type: ignore[attr-defined]
    return resolver


def enforce(schema: GraphQLSchema) -> GraphQLSchema:
    """Wrap every field of every object type of the built schema in the layer (once)."""
    for t in _object_types(schema):
        for name, f in t.fields.items():
            if getattr(f.resolve, "__enforced__", False):
                continue
            graph = GRAPH_FIELDS.get((t.name, name))
            decl = Declaration(
                t.name,
                name,
                kind=graph[0] if graph else None,
                prop=graph[1] if graph else None,
                is_list=_is_list(f.type),
            )
            f.resolve = _wrap(f.resolve, decl)
            f.resolve.__enforced__ = True
    return schema


__all__ = [
    "GRAPH_FIELDS",
    "UNCLASSIFIED",
    "Declaration",
    "declaration",
    "enforce",
    "id_masked",
    "opaque_id",
    "release",
    "released_id",
    "undeclared",
]
