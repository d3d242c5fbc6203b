"""Validation rules that bound what one document may cost: no response to an abusive query."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLError, ValidationContext, ValidationRule
from graphql.language import DirectiveNode, OperationDefinitionNode

LIST_DEFAULT = 20


def cost_rule(max_cost: int) -> type[ValidationRule]:
    """Each field costs 1, multiplied by the page size of every list field above it."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            total = _cost(node.selection_set, 1, self.context, set())
            if total > max_cost:
                self.report_error(
                    GraphQLError("query is too expensive", extensions={"code": "QUERY_TOO_EXPENSIVE"})
                )

    return CostLimit


def _cost(selection_set: Any, multiplier: int, ctx: ValidationContext, seen: set[str]) -> int:
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            size = 1
            for arg in sel.arguments or ():
                if arg.name.value in ("first", "last") and hasattr(arg.value, "value"):
                    try:
                        size = max(1, int(arg.value.value))
                    except ValueError:
                        size = LIST_DEFAULT
            if sel.selection_set is not None and size == 1 and sel.name.value in _LIST_FIELDS:
                size = LIST_DEFAULT
            total += multiplier + _cost(sel.selection_set, multiplier * size, ctx, seen)
        elif hasattr(sel, "selection_set") and sel.selection_set is not None:  # inline fragment
            total += _cost(sel.selection_set, multiplier, ctx, seen)
        else:  # fragment spread
            name = sel.name.value
            frag = ctx.get_fragment(name)
            if frag is not None and name not in seen:
                total += _cost(frag.selection_set, multiplier, ctx, seen | {name})
    return total


_LIST_FIELDS = {
    "parents",
    "children",
    "guardians",
    "wards",
    "members",
    "enrolments",
    "visits",
    "cases",
    "reports",
    "healthEvents",
    "educationEvents",
    "edges",
    "_entities",
    "agreements",
    "sources",
    "conflicts",
}


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
