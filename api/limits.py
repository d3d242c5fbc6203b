"""Validation rules that bound what one document may cost: no response to an abusive query."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLList,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
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

LIST_DEFAULT = 20


def cost_rule(max_cost: int) -> type[ValidationRule]:
    """Each field costs 1, multiplied by the page size of every list field above it."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            total = _cost(node.selection_set, root, self.context, {}, frozenset())
            if total > max_cost:
                self.report_error(
                    GraphQLError("query is too expensive", extensions={"code": "QUERY_TOO_EXPENSIVE"})
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
            total += 1 + _page_size(sel, is_list, in_page) * inner_cost
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
                    GraphQLError("too many directives", extensions={"code": "TOO_MANY_DIRECTIVES"})
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
                        f"query is too deep: {depth} levels, at most {max_depth} allowed",
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
                        f"too many aliases: {min(total, _CAP)}, at most {max_aliases} allowed",
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
