"""The GraphQL schema: a Federation v2 subgraph whose fields carry their access rules.

The embedded default serves it directly; a Federation router can compose it with agencies'
own subgraphs and enforce @requiresScopes as a second line.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.types import Info

from api.context import Context
from api.limits import alias_rule, bound_responses, cost_rule, depth_rule, directive_rule
from auth.enforce import cursors, lookups, scope
from auth.enforce.errors import bad_request, domain_errors, not_found
from auth.enforce.layer import enforce
from auth.enforce.records import Division, PageInfo, Person, PersonConnection, PersonEdge
from graph.model import division_prefix, node_id
from graph.search import person_by_id_number, search_people
from kernel.messages import say

log = logging.getLogger("shouhu.api")


def _resolve_person_reference(cls: type, info: Info[Context, None], id: strawberry.ID) -> Person | None:
    return scope.visible_person(info.context.guard, str(id))


Person.resolve_reference = classmethod(_resolve_person_reference)  # type: ignore[attr-defined]


def _connection(
    info: Info[Context, None], listing: str, ids: list[str], position: str | None, more: bool
) -> PersonConnection:
    """Edges for the visible people only. Every cursor is sealed for this caller and this list
    (`auth.enforce.cursors`): an edge's cursor continues after that person, `endCursor` after the
    last record the store scanned, visible or not — which is why it can be handed out sealed and
    why a page whose people are all out of scope no longer ends the caller's paging."""
    guard = info.context.guard
    edges = []
    for pid in guard.visible_people(ids):  # the page's profiles in one bounded read, not one per row
        profile = guard.profile(pid)
        node = profile.node(pid) if profile is not None else None
        if profile is None or node is None:
            continue
        cursor = cursors.seal(info.context, listing, pid) or ""
        edges.append(PersonEdge(cursor=cursor, node=Person(_node=node, _profile=profile)))
    end = cursors.seal(info.context, listing, position) if more else None
    return PersonConnection(edges=edges, page_info=PageInfo(has_next_page=end is not None, end_cursor=end))


@strawberry.type
class Query:
    @strawberry.federation.field(authenticated=True, description="A person's profile by id.")
    def person(self, info: Info[Context, None], id: strawberry.ID) -> Person | None:
        return scope.visible_person(info.context.guard, str(id))

    @strawberry.federation.field(
        authenticated=True, description="A person by resident ID number (居民身份证号码)."
    )
    def person_by_id_number(self, info: Info[Context, None], id_number: str) -> Person | None:
        lookups.by_value(info.context.guard, "Person", "id_number")
        found = person_by_id_number(info.context.store, id_number, info.context.guard.visible_people)
        if found is None:
            raise not_found("person")
        return scope.visible_person(info.context.guard, found)

    @strawberry.field(
        description="People whose name sounds like this one (homophones tolerated), in your scope."
    )
    def search_people(self, info: Info[Context, None], name: str, first: int = 20) -> PersonConnection | None:
        lookups.by_value(info.context.guard, "Person", "name")
        first = max(1, min(first, 100))
        within = info.context.guard.scope_prefix()
        found = search_people(
            info.context.store, name, limit=first, within=within, visible=info.context.guard.visible_people
        )
        ids = [n.id for n in found]
        return _connection(info, "searchPeople", ids, None, False)

    @strawberry.field(
        description="People registered or living in a division subtree, in your scope (cursor pages)."
    )
    def people(
        self, info: Info[Context, None], division: str, first: int = 20, after: str | None = None
    ) -> PersonConnection:
        first = max(1, min(first, 100))
        # Not narrowed to the caller's own division: people living elsewhere can be in scope
        # through their household; every row passes the row-scope check instead.
        # A whole code stands for its subtree by its level (`division_prefix`): cutting every trailing
        # zero made village 010's list hold villages 010-019.
        whole = len(division) == 12 and division.isdigit()
        prefix = division_prefix(division) if whole else (division.rstrip("0") or division)
        if not prefix.isdigit() or len(division) > 12:
            raise bad_request(say("api.invalid_division"))
        # The list is bound to its division: a cursor of one division's list does not page another's.
        listing = f"people|{prefix}"
        position = cursors.unseal(info.context, listing, after)
        guard = info.context.guard

        def fetch(at: str | None, limit: int) -> tuple[list[str], bool]:
            # From the division outward (its primary key, then the relationships in): a village's
            # page no longer scans every person of the county for their `division`.
            with domain_errors():
                return info.context.store.residents(prefix, limit, at)

        # Scanned past the caller's scope, so that hasNextPage and the number of pages count only
        # people the caller may see (an empty page with hasNextPage counted another village's people).
        ids, end = cursors.visible_page(fetch, guard, first, position)
        return _connection(info, listing, ids, end, end is not None)

    @strawberry.federation.field(
        authenticated=True, description="An administrative division by its 12-digit code."
    )
    def division(self, info: Info[Context, None], code: str) -> Division | None:
        nodes = info.context.store.get_nodes([node_id("Division", code)]) if code.isdigit() else {}
        node = nodes.get(node_id("Division", code))
        if node is None:
            return None
        from graph.profile import Profile
        from graph.records import Subgraph

        return Division(_node=node, _profile=Profile(node.id, Subgraph({node.id: node}, {})))


def _parts() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """The query and mutation roots of each area, merged into one schema (one line per area)."""
    from auth.audit.graphql import AuditQuery
    from connectors.resolution.graphql import ResolutionMutation, ResolutionQuery
    from protection.case_graphql import ProtectionMutation, ProtectionQuery
    from protection.console_graphql import ConsoleQuery
    from protection.network_graphql import NetworkQuery
    from protection.screening_graphql import ScreeningMutation, ScreeningQuery

    queries: tuple[type, ...] = (
        Query,
        AuditQuery,
        ResolutionQuery,
        NetworkQuery,
        ProtectionQuery,
        ScreeningQuery,
        ConsoleQuery,
    )
    mutations: tuple[type, ...] = (ResolutionMutation, ProtectionMutation, ScreeningMutation)
    return queries, mutations


def build_query() -> type:
    from strawberry.tools import merge_types

    return merge_types("Query", _parts()[0])


def build_mutation() -> type:
    from strawberry.tools import merge_types

    return merge_types("Mutation", _parts()[1])


class _Schema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log errors without tracebacks or the values a caller sent (strawberry's default logs
        both); resolver crashes are logged with their stack by the endpoint."""
        from api.errors import scrub

        for error in errors:
            log.info("graphql error at %s: %s", list(error.path or []), scrub(error.message))


def build_schema(
    *,
    max_depth: int = 6,
    max_aliases: int = 15,
    max_cost: int = 5000,
    max_directives: int = 50,
    introspection: bool = False,
) -> Any:
    from graphql.validation import NoSchemaIntrospectionCustomRule

    rules: list[Any] = [cost_rule(max_cost), directive_rule(max_directives)]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # One instance of each for the schema's life (the caches live in them), handed out by factories.
    parser_cache, validation_cache = ParserCache(maxsize=256), ValidationCache(maxsize=256)
    # Linear-time depth and alias rules: strawberry's re-walk every fragment spread,
    # which a document of nested fragments turns into seconds of work.
    added_rules = AddValidationRules([depth_rule(max_depth), alias_rule(max_aliases), *rules])
    schema = _Schema(
        query=build_query(),
        mutation=build_mutation(),
        types=[Person],
        federation_version="2.7",
        extensions=[lambda: parser_cache, lambda: validation_cache, lambda: added_rules],
    )
    # Every field of every type leaves through the one layer (auth.enforce.layer).
    enforce(schema._schema)
    bound_responses(schema._schema)  # what one response may hold (api.limits)
    return schema
