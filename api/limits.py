"""Validation rules that bound what one document may cost: no response to an abusive query."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLSyntaxError,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    parse,
    value_from_ast_untyped,
)
from graphql.language import (
    DirectiveNode,
    DocumentNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    VariableNode,
)

from kernel.messages import say

LIST_DEFAULT = 20


class ResponseTooLarge(BaseException):
    """Raised by a field when the response would hold more than its bound of records and list items. A
    BaseException, so that neither graphql-core nor a resolver's ``except Exception`` turns it into one
    field's error and goes on building the rest of the response."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def bound_responses(schema: Any) -> Any:
    """Count, per request, what each record-valued or list-valued field returns (one per record, one per
    list item) in the context's ``response_nodes``, and stop the request past ``max_response_nodes``.

    The cost rule prices a document before it runs, from page sizes; what a field returns can still
    exceed the price (a list without a page, a division with thousands of people, a hub's fan-out).
    Memory grows with records and list items; a record's own scalars are bounded by its type. So only
    these fields are wrapped (scalar fields pay nothing), outside the policy layer: a denied list counts
    as the empty list it becomes."""
    from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType

    for name, t in schema.type_map.items():
        if not isinstance(t, GraphQLObjectType) or name.startswith("__"):
            continue
        for f in t.fields.values():
            listed = isinstance(get_nullable_type(f.type), GraphQLList)
            named = get_named_type(f.type)
            if listed or isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                f.resolve = _counted(f.resolve, listed)
    return schema


def _counted(resolve: Any, listed: bool) -> Any:
    from graphql import default_field_resolver

    inner = resolve or default_field_resolver

    def resolver(parent: Any, info: Any, /, **kwargs: Any) -> Any:
        value = inner(parent, info, **kwargs)
        context = info.context
        bound = getattr(context, "max_response_nodes", 0)
        if bound and value is not None:
            if listed and not isinstance(value, list | tuple):
                value = list(value)  # an iterator is counted too (graphql-core would iterate it anyway)
            context.response_nodes += len(value) if listed else 1
            if context.response_nodes > bound:
                raise ResponseTooLarge(bound)
        return value

    resolver.__wrapped__ = inner  # type: ignore[attr-defined]
    resolver.__enforced__ = getattr(inner, "__enforced__", False)  # type: ignore[attr-defined]
    return resolver


def cost_rule(max_cost: int) -> type[ValidationRule]:
    """Each field costs 1, multiplied by the page size of every list field above it."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            total = _cost(node.selection_set, root, self.context, {}, frozenset())
            if total > max_cost:
                self.report_error(
                    GraphQLError(say("api.query_too_expensive"), extensions={"code": "QUERY_TOO_EXPENSIVE"})
                )

    return CostLimit


# A variable page size is unknown when the document is validated: assume the largest page the
# people resolvers serve.
VARIABLE_PAGE = 100
_CAP = 10**12  # costs beyond any budget are all the same; keeps the integers small


def _paged(field: FieldNode) -> bool:
    return any(a.name.value in ("first", "last") for a in field.arguments or ())


def _page_size(field: FieldNode, is_list: bool, in_page: bool = False) -> int:
    """How many times the field's selection may be resolved: its `first`/`last`, the number of
    literal `_entities` representations, or the default page of a list field. A list directly
    inside a paged field (a connection's `edges`, a page's `items`) is that page, already
    counted."""
    for arg in field.arguments or ():
        name, value = arg.name.value, arg.value
        if name in ("first", "last"):
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            return VARIABLE_PAGE if isinstance(value, VariableNode) else LIST_DEFAULT
        if name == "representations" and isinstance(value, ListValueNode):
            return max(1, len(value.values))
    return LIST_DEFAULT if is_list and field.selection_set is not None and not in_page else 1


def _list_argument_size(field: FieldNode, parent: Any) -> int:
    """The longest list argument of the field: a literal list's length; a variable of list type at
    VARIABLE_PAGE (the endpoint refuses longer list variables, so the price holds)."""
    fields = getattr(parent, "fields", None) or {}
    definition = fields.get(field.name.value)
    longest = 0
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last"):
            continue
        value = arg.value
        if isinstance(value, ListValueNode):
            longest = max(longest, len(value.values))
        elif isinstance(value, VariableNode) and definition is not None:
            arg_def = definition.args.get(arg.name.value)
            if arg_def is not None and isinstance(get_nullable_type(arg_def.type), GraphQLList):
                longest = max(longest, VARIABLE_PAGE)
    return longest


def _field_type(parent: Any, name: str) -> tuple[Any, bool]:
    """The named type of ``parent.name`` and whether the field is a list; (None, False) when the
    schema has no such field (graphql-core's own rules refuse the document then)."""
    fields = getattr(parent, "fields", None)
    if not fields or name not in fields:
        return None, False
    field_type = fields[name].type
    return get_named_type(field_type), isinstance(get_nullable_type(field_type), GraphQLList)


def _cost(
    selection_set: Any,
    parent: Any,
    ctx: ValidationContext,
    fragments: dict[str, int],
    spreading: frozenset[str],
    in_page: bool = False,
) -> int:
    """The cost of a selection set resolved once. Cost is linear in how often a selection is
    resolved, so each fragment is costed once and reused: a fragment spread twice by a fragment
    spread twice by … is priced in linear time, not in exponential time. Whether a field is a
    list comes from the schema, so every area's lists are priced alike."""
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            child, is_list = _field_type(parent, sel.name.value)
            # A paged field that is not itself a list is a connection: its list is the page.
            connection = _paged(sel) and not is_list
            inner_cost = _cost(sel.selection_set, child, ctx, fragments, spreading, connection)
            # Every list argument is work: its items are each looked at (added to the field's own
            # cost), and a list field returns up to one item per argument item (`_entities`, a
            # lookup of many ids), so its selection is priced that many times.
            given = _list_argument_size(sel, parent)
            times = _page_size(sel, is_list, in_page)
            if is_list:
                times = max(times, given)
            total += 1 + given + times * inner_cost
        elif isinstance(sel, InlineFragmentNode):
            cond = sel.type_condition
            inner = ctx.schema.get_type(cond.name.value) if cond is not None else parent
            total += _cost(sel.selection_set, inner, ctx, fragments, spreading, in_page)
        else:  # fragment spread
            name = sel.name.value
            if name in spreading:
                continue  # a cycle: graphql-core's own rule refuses the document
            if name not in fragments:
                frag = ctx.get_fragment(name)
                fragments[name] = (
                    _cost(
                        frag.selection_set,
                        ctx.schema.get_type(frag.type_condition.name.value),
                        ctx,
                        fragments,
                        spreading | {name},
                    )
                    if frag is not None
                    else 0
                )
            total += fragments[name]
        total = min(total, _CAP)
    return total


def directive_rule(max_directives: int) -> type[ValidationRule]:
    class DirectiveLimit(ValidationRule):
        count = 0

        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            self.count += 1
            if self.count == max_directives + 1:
                self.report_error(
                    GraphQLError(say("api.too_many_directives"), extensions={"code": "TOO_MANY_DIRECTIVES"})
                )

    return DirectiveLimit


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """Nesting of fields with selections (``person { parents { person { id } } }`` is 3) at most
    ``max_depth``; introspection fields do not count. Like strawberry's QueryDepthLimiter, but
    each fragment is measured once, so a fragment spread twice by a fragment spread twice by …
    costs linear time to check, not exponential time."""

    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _depth(node.selection_set, self.context, {}, frozenset())
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        say("api.query_too_deep", depth=depth, limit=max_depth),
                        [node],
                        extensions={"code": "QUERY_TOO_DEEP"},
                    )
                )

    return DepthLimit


def _depth(
    selection_set: Any, ctx: ValidationContext, fragments: dict[str, int], spreading: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            if sel.selection_set is None or sel.name.value.startswith("__"):
                continue
            d = 1 + _depth(sel.selection_set, ctx, fragments, spreading)
        elif isinstance(sel, InlineFragmentNode):
            d = _depth(sel.selection_set, ctx, fragments, spreading)
        else:
            name = sel.name.value
            if name in spreading:
                continue
            if name not in fragments:
                frag = ctx.get_fragment(name)
                fragments[name] = (
                    _depth(frag.selection_set, ctx, fragments, spreading | {name}) if frag is not None else 0
                )
            d = fragments[name]
        deepest = max(deepest, d)
    return deepest


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    """At most ``max_aliases`` aliased fields in the document, counting a fragment's aliases each
    time it is spread (as strawberry's MaxAliasesLimiter does), in linear time."""

    class AliasLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            fragments: dict[str, int] = {}
            total = sum(
                _aliases(d.selection_set, self.context, fragments, frozenset())
                for d in node.definitions
                if isinstance(d, OperationDefinitionNode)
            )
            if total > max_aliases:
                self.report_error(
                    GraphQLError(
                        say("api.too_many_aliases", count=min(total, _CAP), limit=max_aliases),
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return AliasLimit


def _aliases(
    selection_set: Any, ctx: ValidationContext, fragments: dict[str, int], spreading: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            total += (1 if sel.alias else 0) + _aliases(sel.selection_set, ctx, fragments, spreading)
        elif isinstance(sel, InlineFragmentNode):
            total += _aliases(sel.selection_set, ctx, fragments, spreading)
        else:
            name = sel.name.value
            if name in spreading:
                continue
            if name not in fragments:
                frag = ctx.get_fragment(name)
                fragments[name] = (
                    _aliases(frag.selection_set, ctx, fragments, spreading | {name})
                    if frag is not None
                    else 0
                )
            total += fragments[name]
        total = min(total, _CAP)
    return total


# ---- checks on the request itself, before validation --------------------------------------------

MAX_JSON_DEPTH = 64
"""Nesting of a request body's JSON (variables included); GraphQL inputs are never this deep."""
MAX_TOKENS = 6000
"""Lexical tokens of a document: the parser stops counting here, so a huge document costs no more
to refuse than a legitimate one costs to parse."""
MAX_FIELDS = 500
"""Field selections in a document (each fragment counted once). Validation compares fields that
share a response name pairwise (OverlappingFieldsCanBeMerged is quadratic): 1,500 copies of one
field took seconds; the console's largest operation has fewer than 100."""
MAX_LIST_VARIABLE = VARIABLE_PAGE
"""The longest list a variable may carry: the cost rule prices a list variable at this length, so
a longer one would run work the price did not cover."""


class NestingTooDeep(ValueError):
    """A JSON body nested deeper than MAX_JSON_DEPTH."""


def parse_json(body: bytes) -> Any:
    """json.loads that refuses deep nesting with NestingTooDeep instead of a RecursionError (a 500)
    here or later in variable coercion, which recurses too. The depth walk is iterative."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise NestingTooDeep() from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise NestingTooDeep()
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return value


@lru_cache(maxsize=512)
def parse_document(query: str) -> tuple[DocumentNode | None, str | None]:
    """The document's AST (cached: agency systems send the same few documents), or None and why.
    A syntax error is left for the executor to report as usual; only size is refused here."""
    try:
        return parse(query, max_tokens=MAX_TOKENS), None
    except GraphQLSyntaxError as exc:
        return None, "too_many_tokens" if "more than" in exc.message and "tokens" in exc.message else None
    except RecursionError:
        return None, "too_deep"


def check_document(
    schema: Any, facts: Any, variables: dict[str, Any], settings: Any
) -> tuple[str, str] | None:
    """(message, code) refusing the request before validation, or None.

    Size (tokens, field selections), the length of list variables (priced by the cost rule at
    MAX_LIST_VARIABLE), and `_entities` representations naming a type that cannot be resolved by
    reference (a clear error instead of an internal one)."""
    if facts.parse_error == "too_many_tokens":
        return say("api.too_many_tokens", limit=MAX_TOKENS), "QUERY_TOO_LARGE"
    if facts.parse_error == "too_deep":
        return say("api.document_too_deep"), "QUERY_TOO_LARGE"
    document = facts.document
    if document is None:
        return None
    fields = _count_fields(document)
    if fields > MAX_FIELDS:
        return say("api.too_many_fields", count=fields, limit=MAX_FIELDS), "QUERY_TOO_LARGE"
    longest = _longest_list(variables)
    if longest > MAX_LIST_VARIABLE:
        return (
            say("api.list_variable_too_long", count=longest, limit=MAX_LIST_VARIABLE),
            "QUERY_TOO_EXPENSIVE",
        )
    unknown = _unresolvable_entities(schema, document, variables)
    if unknown:
        return (
            say(
                "api.unresolvable_entities",
                types=", ".join(sorted(unknown)),
                resolvable=", ".join(sorted(resolvable_entities(schema))),
            ),
            "BAD_REQUEST",
        )
    return None


def _count_fields(document: DocumentNode) -> int:
    total = 0
    stack = [s for d in document.definitions if (s := getattr(d, "selection_set", None)) is not None]
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FieldNode):
                total += 1
            if getattr(sel, "selection_set", None) is not None:
                stack.append(sel.selection_set)
    return total


def _longest_list(value: Any) -> int:
    longest = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            longest = max(longest, len(item))
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return longest


def resolvable_entities(schema: Any) -> set[str]:
    """Types of the `_Entity` union whose class resolves a reference itself (strawberry's default
    builds the type from the representation alone, which fails on any type with other fields)."""
    union = schema._schema.get_type("_Entity")
    names = {t.name for t in getattr(union, "types", ())}
    converter = getattr(schema, "schema_converter", None)
    type_map = getattr(converter, "type_map", {})
    out = set()
    for name in names:
        definition = getattr(type_map.get(name), "definition", None)
        origin = getattr(definition, "origin", None)
        if origin is not None and any("resolve_reference" in vars(k) for k in origin.__mro__[:-1]):
            out.add(name)
    return out


def _unresolvable_entities(schema: Any, document: DocumentNode, variables: dict[str, Any]) -> set[str]:
    representations: list[Any] = []
    stack = [s for d in document.definitions if (s := getattr(d, "selection_set", None)) is not None]
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FieldNode) and sel.name.value == "_entities":
                for arg in sel.arguments or ():
                    if arg.name.value != "representations":
                        continue
                    if isinstance(arg.value, VariableNode):
                        given = variables.get(arg.value.name.value)
                        representations.extend(given if isinstance(given, list) else [given])
                    elif isinstance(arg.value, ListValueNode):
                        representations.extend(value_from_ast_untyped(v) for v in arg.value.values)
                    else:
                        representations.append(value_from_ast_untyped(arg.value, variables))
            if getattr(sel, "selection_set", None) is not None:
                stack.append(sel.selection_set)
    if not representations:
        return set()
    allowed = resolvable_entities(schema)
    named = {r.get("__typename") for r in representations if isinstance(r, dict)}
    return {str(n) for n in named if n not in allowed}


# ---- who may read the schema ------------------------------------------------------------------------

SCHEMA_SCOPE = "read:schema"
"""The OAuth scope of a schema reader: a Federation router's client, which composes the supergraph
from `_service { sdl }`."""
SCHEMA_FIELDS = frozenset({"__schema", "__type", "_service"})


def schema_reader(principal: Any, dev_mode: bool) -> bool:
    """The one policy for introspection and `_service { sdl }`, which give the same information:
    everyone in dev mode (GraphiQL), otherwise only clients granted `read:schema`. Without a policy
    (the benchmark's enforcement-off app) there is no caller to refuse."""
    if dev_mode or principal is None:
        return True
    return SCHEMA_SCOPE in getattr(principal, "scopes", ())


def asks_for_schema(document: DocumentNode | None) -> bool:
    """Whether any selection of the document (fragments included) is `__schema`, `__type` or
    `_service`; `__typename` is not the schema."""
    if document is None:
        return False
    stack = [s for d in document.definitions if (s := getattr(d, "selection_set", None)) is not None]
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FieldNode) and sel.name.value in SCHEMA_FIELDS:
                return True
            if getattr(sel, "selection_set", None) is not None:
                stack.append(sel.selection_set)
    return False
