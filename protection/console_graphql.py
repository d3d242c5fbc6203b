"""What the web console asks about its caller and the caller's village, over GraphQL.

`me` (agency, role, jurisdiction and the capabilities the console offers pages by), `agencyNames`
(member agencies' public names, so the console shows names and not ids), `memberAgencies` (every
member agency by name, for an auditor choosing whose accesses to review), `divisions` (the divisions
of the caller's scope by their public names, so a division is picked by name, not typed as a code) and
`villageChildren` (the village page's children, one store query a page). The console is a client of
/graphql like any agency system: these fields pass the same enforcement layer, row scope and audit as
every other.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from auth.enforce import cursors, scope
from auth.enforce.context import Context
from auth.enforce.errors import domain_errors, forbidden
from auth.enforce.records import Division, PageInfo, Person, PersonConnection, PersonEdge
from auth.identities import get_agency, list_agencies
from auth.policy import PolicyError
from graph.model import division_prefix, node_id
from graph.profile import Profile
from graph.records import Node, Subgraph
from kernel import clock
from kernel.messages import say
from protection.visits import ADULT_AGE

# The most divisions one `divisions` answer lists: a county has some hundreds (townships and their
# villages); a province-wide caller asks for one county at a time (`within`).
DIVISIONS_LISTED = 3000
_DIVISIONS_PAGE = 500

# ---- what the console asks about the caller ----------------------------------------------------
# The console shows names, not ids (宁川县民政局, not ca-500248), and offers only the pages the
# caller's capabilities allow. Agency names are the member units' public names, not personal data.


@strawberry.type(description="A member agency's public name.")
class AgencyName:
    id: str
    name: str | None
    agency_type: str | None


@strawberry.type(description="The signed-in caller: agency, role, jurisdiction and capabilities.")
class Me:
    agency_id: str
    agency_name: str | None
    agency_type: str
    role: str
    jurisdiction: str
    jurisdiction_name: str | None
    capabilities: list[str]


def _agency_names(info: Info[Context, None], ids: list[str]) -> dict[str, tuple[str, str]]:
    ctx = info.context
    if ctx.sql is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for agency_id in dict.fromkeys(ids):
        agency = get_agency(ctx.sql, agency_id)
        if agency is not None:
            out[agency_id] = (agency.name, agency.agency_type)
    return out


@strawberry.type
class ConsoleQuery:
    @strawberry.field(description="Who is signed in, with the agency's name and the caller's capabilities.")
    def me(self, info: Info[Context, None]) -> Me:
        ctx = info.context
        p = ctx.principal
        if p is None:
            raise GraphQLError(
                say("api.not_signed_in"), extensions={"code": "FORBIDDEN", "reason": "no_principal"}
            )
        policy = ctx.guard.policy
        caps: list[str] = []
        if policy is not None:
            for cap in policy.capability_names():
                try:
                    if policy.can(p, cap):
                        caps.append(cap)
                except PolicyError:
                    continue
        name = _agency_names(info, [p.agency_id]).get(p.agency_id)
        division = None
        if p.jurisdiction.isdigit():
            key = node_id("Division", p.jurisdiction)
            node = ctx.store.get_nodes([key]).get(key)
            division = node.props.get("name") if node is not None else None
        return Me(
            agency_id=p.agency_id,
            agency_name=name[0] if name else None,
            agency_type=p.agency_type,
            role=p.role,
            jurisdiction=p.jurisdiction,
            jurisdiction_name=division,
            capabilities=caps,
        )

    @strawberry.field(
        description="The children (under 18 on today's Beijing date) of a division in your scope, in id "
        "order, for the village page: one store query a page, not one per person."
    )
    def village_children(
        self, info: Info[Context, None], division: str, first: int = 500, after: str | None = None
    ) -> PersonConnection:
        guard = info.context.guard
        if len(division) != 12 or not division.isdigit():
            raise GraphQLError(say("api.division_12_digits"), extensions={"code": "BAD_REQUEST"})
        if not guard.divisions_visible({division}):
            raise GraphQLError(
                say("api.forbidden"), extensions={"code": "FORBIDDEN", "reason": "out_of_scope"}
            )
        first = max(1, min(first, 1000))
        today = clock.today()
        try:
            born_after = today.replace(year=today.year - ADULT_AGE).isoformat()
        except ValueError:  # 29 February
            born_after = today.replace(year=today.year - ADULT_AGE, day=28).isoformat()
        store = info.context.store
        listing = f"villageChildren|{division}"
        position = cursors.unseal(info.context, listing, after)
        nodes: dict[str, Node] = {}

        def fetch(at: str | None, limit: int) -> tuple[list[str], bool]:
            rows = store.child_guardians(division_prefix(division), born_after, at, limit=limit)
            ids = [cid for cid, _links in rows]
            nodes.update(store.get_nodes(ids))
            return ids, len(rows) == limit

        def in_scope(ids: list[str]) -> list[str]:
            # Row scope by the child's own division (each one checked, as in any list).
            return [
                cid
                for cid in ids
                if cid in nodes and guard.divisions_visible({str(nodes[cid].props.get("division") or "")})
            ]

        # Scanned past the page for one more child the caller may see, so that hasNextPage counts
        # only those (a full page said "more" when no child followed it), as the people list does;
        # the budget past the page is the lists' own.
        ids, end = cursors.visible_page(
            fetch, guard, first, position, budget=first + cursors.SCAN_BUDGET, visible=in_scope
        )
        edges = [
            PersonEdge(
                cursor=cursors.seal(info.context, listing, cid) or "",
                node=Person(_node=nodes[cid], _profile=Profile(cid, Subgraph({cid: nodes[cid]}, {}))),
            )
            for cid in ids
        ]
        # The position to page on from (the last child shown, or the last scanned when the budget
        # ran out), sealed for this caller.
        end_cursor = cursors.seal(info.context, listing, end) if end is not None else None
        return PersonConnection(
            edges=edges, page_info=PageInfo(has_next_page=end_cursor is not None, end_cursor=end_cursor)
        )

    @strawberry.field(
        description="The divisions of a subtree in your scope (by default your own), the subtree's own "
        f"first, in code order, at most {DIVISIONS_LISTED}: their public names, for picking a division "
        "by name."
    )
    def divisions(self, info: Info[Context, None], within: str | None = None) -> list[Division]:
        prefix = scope.division_within(info.context.guard, within)
        # "~": scoped by relationship only (a school, a court), no place to list; "": enforcement
        # off, every division, which is no picker.
        if not prefix.isdigit():
            return []
        store = info.context.store
        out: list[Division] = []
        after = None
        while len(out) < DIVISIONS_LISTED:
            with domain_errors():
                page = store.list_by_division(
                    "Division", prefix, min(_DIVISIONS_PAGE, DIVISIONS_LISTED - len(out)), after
                )
            out += [Division(_node=n, _profile=Profile(n.id, Subgraph({n.id: n}, {}))) for n in page.items]
            if not page.has_next:
                break
            after = page.end_cursor
        return out

    @strawberry.field(description="Member agencies' public names by id (unknown ids are left out).")
    def agency_names(self, info: Info[Context, None], ids: list[str]) -> list[AgencyName]:
        found = _agency_names(info, ids[:200])
        return [AgencyName(id=i, name=n, agency_type=t) for i, (n, t) in found.items()]

    @strawberry.field(
        description="Every member agency by its public name, in name order, for choosing whose accesses "
        "to review in the audit log (read_audit_log): an auditor picks an agency by name, not by id."
    )
    def member_agencies(self, info: Info[Context, None]) -> list[AgencyName]:
        ctx = info.context
        policy, principal = ctx.guard.policy, ctx.principal
        if policy is None or principal is None or not policy.can(principal, "read_audit_log"):
            raise forbidden()
        # An auditor's act, said as the audit fields' own (auth.audit.graphql._auditor_log).
        ctx.guard.trail.reasons.add("audit_review")
        if ctx.sql is None:
            return []
        rows = sorted(list_agencies(ctx.sql), key=lambda a: (a.name, a.id))
        return [AgencyName(id=a.id, name=a.name, agency_type=a.agency_type) for a in rows]
