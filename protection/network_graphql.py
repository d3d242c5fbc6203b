"""Analysts' network tracing over GraphQL: networks, connections, risk patterns, pseudonyms.

Resolvers are thin: graph/network.py finds the records and applies row scope through the
predicate given here (the guard's); this module only renders what is left, every property
through the guard's field policy. Out-of-scope people are left out, never shown as
placeholders (graph/network.py says why).

Pseudonymised mode is policy data: principals holding the capability
``pseudonymised_networks`` (the analyst agency type in the default policy) get stable
pseudonyms (auth/pseudonym.py) instead of record ids, and never the direct identifiers (names,
ID numbers, contacts, addresses), whatever the field matrix says. ``networkReidentify`` turns
pseudonyms back into records for holders of ``reidentify`` who declare a purpose of use
(X-Purpose-Of-Use); the audit entry of that request names the records and the reason
``reidentify``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from auth.audit import check_record_id
from auth.enforce import cursors
from auth.enforce.context import Context
from auth.enforce.errors import call, not_found, refused
from auth.enforce.guard import FieldDenied, Guard
from auth.enforce.layer import id_masked, opaque_id, released_id
from auth.enforce.records import camel
from auth.policy.vocabulary import PURPOSE_NOT_PERMITTED, PURPOSE_REQUIRED, FieldDecision
from auth.pseudonym import (
    DIRECT_IDENTIFIER_CLASSES,
    DIRECT_IDENTIFIER_FIELDS,
    Pseudonymizer,
    is_pseudonym,
    pseudonymizer,
)
from graph import network as net
from graph.model import NODE_KINDS, REL_KINDS, division_prefix, label_of
from graph.port import GraphStoreError
from graph.profile import Profile
from graph.records import Node, Rel, Subgraph
from kernel import clock
from kernel.messages import say

PSEUDONYMISED = "pseudonymised"
MAX_REIDENTIFY = 100


# ---- GraphQL types --------------------------------------------------------------------------
@strawberry.type(description="One property of a record as the caller may see it.")
class NetworkProperty:
    name: str
    value: JSON | None
    decision: str = strawberry.field(description="allow | mask | deny | pseudonymised")
    reason: str | None


@strawberry.type(description="A record in a network: a person, household, case, division …")
class NetworkNode:
    id: strawberry.ID = strawberry.field(description="The record id, or its stable pseudonym.")
    kind: str
    label: str | None = strawberry.field(description="A display name as the policy allows; null when none.")
    properties: list[NetworkProperty]


@strawberry.type(description="A relationship between two records of a network, source to target.")
class NetworkEdge:
    id: strawberry.ID
    type: str
    source: strawberry.ID
    target: strawberry.ID
    properties: list[NetworkProperty]


@strawberry.type(description="A family and guardianship network, only what the caller may see.")
class Network:
    start: strawberry.ID
    depth: int
    pseudonymised: bool
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
    truncated: bool = strawberry.field(
        default=False, description="A cap cut the network (fan-out per record or size); narrow it."
    )


@strawberry.type(description="One hop of a connection, in path order.")
class NetworkHop:
    index: int
    type: str
    direction: str = strawberry.field(description="forward: the relationship points source → target")
    source: strawberry.ID
    target: strawberry.ID
    edge: NetworkEdge


@strawberry.type(description="A shortest connection between two records.")
class NetworkPath:
    length: int
    pseudonymised: bool
    nodes: list[NetworkNode]
    hops: list[NetworkHop]


@strawberry.type(name="GuardianLoad", description="A guardian of many children (GUARDIAN_OF).")
class GuardianLoadView:
    guardian: NetworkNode
    children: list[NetworkNode]
    count: int


@strawberry.type(name="CaseCluster", description="People touched by cases and linked by family or a case.")
class CaseClusterView:
    size: int
    people: list[NetworkNode]
    cases: list[NetworkNode]
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]


@strawberry.type(name="AbsentAdult")
class AbsentAdultView:
    person: NetworkNode
    reasons: list[str] = strawberry.field(description="works_away | deceased | lives_elsewhere")


@strawberry.type(name="HouseholdAbsence", description="A household with children and no adult present.")
class HouseholdAbsenceView:
    household: NetworkNode
    children: list[NetworkNode]
    absent_adults: list[AbsentAdultView]


@strawberry.type
class HouseholdAbsencePage:
    items: list[HouseholdAbsenceView]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(name="GuardianStatus")
class GuardianStatusView:
    guardian: NetworkNode
    relation: str = strawberry.field(description="PARENT_OF | GUARDIAN_OF")
    reasons: list[str] = strawberry.field(description="works_away | deceased | lacks_capacity")


@strawberry.type(name="UnguardedChild", description="A child whose every guardian is away or unable.")
class UnguardedChildView:
    child: NetworkNode
    guardians: list[GuardianStatusView]
    no_guardian_recorded: bool


@strawberry.type
class UnguardedChildPage:
    items: list[UnguardedChildView]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(
    description="A pseudonym turned back into its record id (null: unknown or not in scope); the "
    "record itself is then read like any other, e.g. person(id:), under the field policy."
)
class Reidentification:
    pseudonym: strawberry.ID
    id: strawberry.ID | None
    kind: str | None


# ---- rendering under the guard --------------------------------------------------------------
class _NodeFacts(Profile):
    """Scope facts from one node: an acceptance stands, a refusal is re-judged on the person's
    whole profile by the guard (complete_for is never true), so a decision only fails closed."""

    def complete_for(self, node_id: str) -> bool:
        return False


class _View:
    """One request's rendering: pseudonymised or not, decisions cached per field."""

    def __init__(self, info: Info[Context, None]) -> None:
        ctx = info.context
        self.guard: Guard = ctx.guard
        self.ctx = ctx
        self.guard.authorize("trace_networks")
        policy, principal = self.guard.policy, ctx.principal
        self.pseudonyms: Pseudonymizer | None = None
        if policy is not None and principal is not None and policy.can(principal, "pseudonymised_networks"):
            self.pseudonyms = self._pseudonymizer()
            self.guard.trail.reasons.add(PSEUDONYMISED)
        self._decisions: dict[tuple[str, str], FieldDecision] = {}
        self.info = info
        self._released: dict[str, str] = {}
        # Pseudonyms are made for the agency that receives them (auth/pseudonym.py): two agencies'
        # pseudonymised answers do not join on them.
        self.audience = principal.agency_id if principal is not None else None

    def _pseudonymizer(self) -> Pseudonymizer:
        if self.ctx.settings is None:
            raise refused(say("api.pseudonyms_not_configured"), "INTERNAL")
        return pseudonymizer(self.ctx.settings)

    @property
    def pseudonymised(self) -> bool:
        return self.pseudonyms is not None

    # ids in and out
    def record_id(self, raw: str) -> str:
        """A record id from what the caller sent: an id, or a pseudonym this deployment made."""
        value = str(raw).strip()
        sent_pseudonym = is_pseudonym(value)
        if sent_pseudonym:
            found = self._pseudonymizer().decode(value, self.audience)
            if found is None:
                raise not_found()
            _asked(self.guard, found)
            if self.pseudonyms is None and (not self._may_reidentify() or _identity_refused(self.guard)):
                # A pseudonym in, the record out is re-identification: for a caller that neither
                # works with pseudonyms nor may re-identify, a pseudonym names nothing (a village
                # handed an analyst's finding got the child's id and name back).
                raise not_found()
            value = found
        try:
            kind = label_of(value)
        except ValueError:
            raise refused(say("api.not_a_record_id"), "BAD_REQUEST") from None
        if self.pseudonyms is not None and not sent_pseudonym and kind not in net.PUBLIC_KINDS:
            # A real id in, its pseudonym out would link the two: a pseudonymised caller names
            # people by pseudonym unless it may re-identify them, for a declared purpose that
            # sees identity in full (under statistics, one request per person built a table).
            if not self._may_reidentify():
                self.guard.trail.reasons.add("pseudonym_required")
                raise refused(say("api.pseudonym_required"), "FORBIDDEN", "pseudonym_required")
            if (why := _identity_refused(self.guard)) is not None:
                self.guard.trail.reasons.add(why)
                raise refused(say("api.purpose_masks_identity"), "FORBIDDEN", why)
            self.guard.trail.reasons.add("named_by_record_id")
            self.guard.trail.records.add(value)
        return value

    def _may_reidentify(self) -> bool:
        """The reidentify capability, with a declared purpose of use the policy knows. (That the
        purpose sees identity in full is checked where an id is turned into its pseudonym, to say
        so; a pseudonym in is turned back only for a purpose that does, see ``record_id``.)"""
        policy, principal = self.guard.policy, self.ctx.principal
        if policy is None or principal is None:
            return not self.guard.enforcing
        return principal.purpose in policy.purpose_codes and policy.can(principal, "reidentify")

    def out_id(self, record_id: str) -> strawberry.ID:
        if self.pseudonyms is None or label_of(record_id) in net.PUBLIC_KINDS:
            return strawberry.ID(self._released_id(record_id))
        return strawberry.ID(self.pseudonyms.encode(record_id, self.audience))

    def out_rel_id(self, rel: Rel) -> strawberry.ID:
        if self.pseudonyms is not None:
            return strawberry.ID(self.pseudonyms.encode(rel.id, self.audience))
        if self._released_id(rel.src) != rel.src or self._released_id(rel.dst) != rel.dst:
            # The relationship's id embeds its ends' (`MEMBER_OF:person:…>household:<number>`).
            return strawberry.ID(self._opaque(opaque_id(self.info, rel.id)))
        return strawberry.ID(rel.id)

    def _released_id(self, record_id: str) -> str:
        """A record id as the field layer gives it to this caller (`Household.id`: opaque where the
        household number is masked or denied), the one decision for every id a network gives out:
        a caller reading the number masked got `household:<number>` as a node, an edge's end and
        inside an edge's id. The opaque id is not a network pseudonym: nothing starts from it."""
        if record_id not in self._released:
            self._released[record_id] = self._opaque(released_id(self.info, label_of(record_id), record_id))
        return self._released[record_id]

    def _opaque(self, value: str | None) -> str:
        if value is None:
            raise refused(say("api.pseudonyms_not_configured"), "INTERNAL")
        return value

    def order(self, kind: str) -> Any:
        """The order a list of `kind` records is paged and cut (`first`) in for this caller: None
        (record ids), unless pseudonymised, then its pseudonyms' (graph/network.py `_keyed_page`),
        or unless the field layer makes the ids opaque, then the opaque ids'. A list in record-id
        order zips with the ids another list gives in that order into a table from ids to
        pseudonyms; households in the order of `household:<number>` tell the masked numbers' order."""
        keys = self.pseudonyms
        if keys is not None:
            return lambda record_id: keys.encode(record_id, self.audience)
        if id_masked(self.info, kind):
            return self._released_id
        return None

    def listing(self, name: str, prefix: str, order: Any) -> str:
        """What a list's cursors are bound to (besides the caller): the list, its division, and
        whether it pages in a keyed order (a cursor of one order continues no other)."""
        return f"{name}|{prefix}" + ("" if order is None else "|keyed")

    def cursor_in(self, listing: str, after: str | None) -> str | None:
        """A cursor this caller was given for this list: opaque, bound to the caller (no record id inside)."""
        return cursors.unseal(self.ctx, listing, after)

    def cursor_out(self, listing: str, cursor: str | None) -> str | None:
        """The store's cursor is the last record scanned, in scope or not: sealed, it names none."""
        return cursors.seal(self.ctx, listing, cursor)

    # row scope
    def visible(self, node: Node) -> bool:
        return self.guard.visible_person(_NodeFacts(node.id, Subgraph({node.id: node}, {})), node.id)

    def division(self, division: str) -> str:
        """The division prefix to scan: the request's, narrowed to the caller's jurisdiction when
        only a jurisdiction can put anyone in scope. Lists select records by their own division
        (a child's, a household's, a guardian's); every row is still checked for scope."""
        code = division.strip()
        if not code.isdigit() or len(code) > 12:
            raise refused(say("api.division_code_or_prefix"), "BAD_REQUEST")
        try:
            prefix = division_prefix(code) if len(code) == 12 else code
        except ValueError:
            raise refused(say("api.division_code_or_prefix"), "BAD_REQUEST") from None
        policy, principal = self.guard.policy, self.ctx.principal
        if policy is None or principal is None:
            return prefix
        rule = policy.row_scope(principal)
        if rule.break_glass_prefix or not set(rule.kinds) <= {"jurisdiction", "village"}:
            return prefix
        own = rule.division_prefix
        if own is None or own.startswith(prefix):
            return own or prefix
        return prefix

    # fields
    def _decide(self, kind: str, prop: str) -> FieldDecision | None:
        policy, principal = self.guard.policy, self.ctx.principal
        if policy is None or principal is None:
            return None
        key = (kind, prop)
        if key not in self._decisions:
            self._decisions[key] = policy.decide(principal, kind, prop)
        return self._decisions[key]

    def _hidden_by_pseudonyms(self, kind: str, prop: str) -> bool:
        if self.pseudonyms is None:
            return False
        if f"{kind}.{prop}" in DIRECT_IDENTIFIER_FIELDS:
            return True
        policy = self.guard.policy
        return policy is not None and policy.sensitivity(kind, prop) in DIRECT_IDENTIFIER_CLASSES

    def _property(self, kind: str, prop: str, raw: Any) -> NetworkProperty | None:
        name = camel(prop)
        if self._hidden_by_pseudonyms(kind, prop):
            return NetworkProperty(name=name, value=None, decision=PSEUDONYMISED, reason=PSEUDONYMISED)
        decision = self._decide(kind, prop)
        if decision is None:
            return (
                None if raw is None else NetworkProperty(name=name, value=raw, decision="allow", reason=None)
            )
        try:
            value = self.guard.decide_and_apply(kind, prop, raw)
        except FieldDenied:
            # Listed whether or not there is a value, so that a denial says nothing about one.
            return NetworkProperty(name=name, value=None, decision="deny", reason=decision.reason)
        if raw is None:
            return None
        return NetworkProperty(name=name, value=value, decision=decision.decision, reason=decision.reason)

    def node(self, node: Node) -> NetworkNode:
        if self.guard.enforcing:
            self.guard.trail.records.add(node.id)
        props = [self._property(node.label, p, node.props.get(p)) for p in NODE_KINDS[node.label].props]
        shown = [p for p in props if p is not None]
        return NetworkNode(
            id=self.out_id(node.id), kind=node.label, label=self._label(node, shown), properties=shown
        )

    def _label(self, node: Node, props: list[NetworkProperty]) -> str | None:
        wanted = {"Person": "name", "Household": "householdNumber", "Division": "name", "School": "name"}
        name = wanted.get(node.label)
        for p in props:
            if p.name == name and p.decision in ("allow", "mask") and p.value is not None:
                return str(p.value)
        return None

    def edge(self, rel: Rel) -> NetworkEdge:
        props = [self._property(rel.type, p, rel.props.get(p)) for p in REL_KINDS[rel.type].props]
        return NetworkEdge(
            id=self.out_rel_id(rel),
            type=rel.type,
            source=self.out_id(rel.src),
            target=self.out_id(rel.dst),
            properties=[p for p in props if p is not None],
        )

    def nodes(self, nodes: list[Node]) -> list[NetworkNode]:
        """Records as a set (a network's, a cluster's, a guardian's wards), not a path."""
        return self.ordered([self.node(n) for n in nodes], lambda n: n.id)

    def edges(self, rels: list[Rel]) -> list[NetworkEdge]:
        return self.ordered([self.edge(r) for r in rels], lambda e: e.id)

    def ordered(self, items: list[Any], key: Any) -> list[Any]:
        """A pseudonymised set in the order of its pseudonyms. The store's is the order of the record
        ids: a village's people by pseudonym (`network(start: <division>)`) zipped with the same
        people by id (`people(division:)`) into a table from ids to pseudonyms."""
        return items if self.pseudonyms is None else sorted(items, key=key)


def _as_of(value: date | None) -> date:
    return value or clock.today()


def _clamp(first: int, most: int) -> int:
    return max(1, min(first, most))


def _call(fn: Any) -> Any:
    """A network function; its refusals are BAD_REQUEST, an engine failure UNAVAILABLE (one mapping)."""
    return call(fn, net.NetworkError)


# ---- the query root ----------------------------------------------------------------------------
@strawberry.type
class NetworkQuery:
    @strawberry.federation.field(
        authenticated=True,
        description="The family and guardianship network of a record to `depth` hops (≤ 4); relTypes "
        "filters relationship types (default PARENT_OF, GUARDIAN_OF, MEMBER_OF).",
    )
    def network(
        self,
        info: Info[Context, None],
        start: strawberry.ID,
        depth: int = 2,
        rel_types: list[str] | None = None,
        expand_hubs: bool = False,
    ) -> Network:
        view = _View(info)
        start_id = view.record_id(start)
        sub = _call(
            lambda: net.trace(
                info.context.store, start_id, depth, rel_types, view.visible, expand_hubs=expand_hubs
            )
        )
        if start_id not in sub.nodes:
            raise not_found()
        return Network(
            start=view.out_id(start_id),
            depth=depth,
            pseudonymised=view.pseudonymised,
            nodes=view.nodes(list(sub.nodes.values())),
            edges=view.edges(list(sub.rels.values())),
            truncated=sub.truncated,
        )

    @strawberry.federation.field(
        authenticated=True,
        description="A shortest connection between two records (≤ maxDepth hops) and what each hop is; "
        "null when there is none in your scope.",
    )
    def network_path(
        self,
        info: Info[Context, None],
        source: strawberry.ID,
        target: strawberry.ID,
        max_depth: int = 4,
        rel_types: list[str] | None = None,
    ) -> NetworkPath | None:
        view = _View(info)
        a, b = view.record_id(source), view.record_id(target)
        found = _call(lambda: net.connection(info.context.store, a, b, max_depth, rel_types, view.visible))
        if found is None:
            return None
        nodes, hops = found
        return NetworkPath(
            length=len(hops),
            pseudonymised=view.pseudonymised,
            nodes=[view.node(n) for n in nodes],  # path order
            hops=[
                NetworkHop(
                    index=i,
                    type=h.rel.type,
                    direction="forward" if h.forward else "backward",
                    source=view.out_id(h.source.id),
                    target=view.out_id(h.target.id),
                    edge=view.edge(h.rel),
                )
                for i, h in enumerate(hops)
            ],
        )

    @strawberry.federation.field(
        authenticated=True,
        description="Guardians in a division with current guardianship (GUARDIAN_OF) of at least "
        "minChildren children in your scope, most first.",
    )
    def network_guardians_of_many(
        self,
        info: Info[Context, None],
        division: str,
        min_children: int = 3,
        first: int = 50,
        as_of: date | None = None,
    ) -> list[GuardianLoadView]:
        view = _View(info)
        prefix = view.division(division)
        # A guardianship's end compared no finer than the caller sees it (moved a day at a time,
        # asOf said the day it ended).
        on = view.guard.dates_on("GUARDIAN_OF", "until", _as_of(as_of))
        loads = _call(
            lambda: net.guardians_of_many(
                info.context.store,
                prefix,
                min_children,
                on,
                _clamp(first, 200),
                view.visible,
                view.order("Person"),
            )
        )
        return view.ordered(  # most first; a tie in the order of the pseudonyms, not of the ids
            [
                GuardianLoadView(
                    guardian=view.node(g.guardian), children=view.nodes(g.wards), count=len(g.wards)
                )
                for g in loads
            ],
            lambda g: (-g.count, g.guardian.id),
        )

    @strawberry.federation.field(
        authenticated=True,
        description="Clusters of people touched by cases (ProtectionCase, Report) in a division, linked "
        "within two hops of family, household, guardianship or a shared case; largest first.",
    )
    def network_case_clusters(
        self, info: Info[Context, None], division: str, min_people: int = 2, first: int = 20
    ) -> list[CaseClusterView]:
        view = _View(info)
        prefix = view.division(division)
        clusters = _call(
            lambda: net.case_clusters(
                info.context.store,
                prefix,
                min_people,
                _clamp(first, 100),
                view.visible,
                order=view.order("Person"),
            )
        )
        return view.ordered(  # largest first; a tie in the order of the pseudonyms, not of the ids
            [
                CaseClusterView(
                    size=len(c.people),
                    people=view.nodes(c.people),
                    cases=view.nodes(c.cases),
                    nodes=view.nodes(list(c.sub.nodes.values())),
                    edges=view.edges(list(c.sub.rels.values())),
                )
                for c in clusters
            ],
            lambda c: (-c.size, -len(c.nodes), c.people[0].id),
        )

    @strawberry.federation.field(
        authenticated=True,
        description="Households of a division with children and no adult present (all adults away for "
        "work, deceased or living elsewhere); cursor pages.",
    )
    def network_households_without_adults(
        self,
        info: Info[Context, None],
        division: str,
        first: int = 50,
        after: str | None = None,
        as_of: date | None = None,
    ) -> HouseholdAbsencePage:
        view = _View(info)
        prefix = view.division(division)
        order = view.order("Household")
        listing = view.listing("networkHouseholdsWithoutAdults", prefix, order)
        cursor = view.cursor_in(listing, after)
        # Who is a child is decided no finer than the birth dates the caller may see: moved a day at
        # a time, asOf found a birthday shown to it as a year.
        on = view.guard.ages_on(_as_of(as_of))
        page = _call(
            lambda: net.households_without_adults(
                info.context.store, prefix, on, _clamp(first, 200), cursor, view.visible, order=order
            )
        )
        return HouseholdAbsencePage(
            items=[
                HouseholdAbsenceView(
                    household=view.node(h.household),
                    children=view.nodes(h.children),
                    absent_adults=view.ordered(
                        [
                            AbsentAdultView(person=view.node(a.person), reasons=a.reasons)
                            for a in h.absent_adults
                        ],
                        lambda a: a.person.id,
                    ),
                )
                for h in page.items
            ],
            end_cursor=view.cursor_out(listing, page.end_cursor),
            has_next_page=page.has_next,
        )

    @strawberry.federation.field(
        authenticated=True,
        description="Children of a division under maxAge whose every parent and guardian is away for "
        "work, deceased or lacks guardianship capacity, or who have none recorded; cursor pages.",
    )
    def network_children_without_capable_guardian(
        self,
        info: Info[Context, None],
        division: str,
        max_age: int = net.LEFT_BEHIND_AGE,
        first: int = 50,
        after: str | None = None,
        as_of: date | None = None,
    ) -> UnguardedChildPage:
        view = _View(info)
        prefix = view.division(division)
        order = view.order("Person")
        listing = view.listing("networkChildrenWithoutCapableGuardian", prefix, order)
        cursor = view.cursor_in(listing, after)
        on = _as_of(as_of)
        page = _call(
            lambda: net.children_without_capable_guardian(
                info.context.store,
                prefix,
                view.guard.dates_on("GUARDIAN_OF", "until", on),  # guardianships' ends, likewise
                max_age,
                _clamp(first, 200),
                cursor,
                view.visible,
                ages_on=view.guard.ages_on(on),  # no finer than the birth dates the caller may see
                order=order,
            )
        )
        return UnguardedChildPage(
            items=[
                UnguardedChildView(
                    child=view.node(c.child),
                    guardians=view.ordered(
                        [
                            GuardianStatusView(
                                guardian=view.node(g.guardian), relation=g.relation, reasons=g.reasons
                            )
                            for g in c.guardians
                        ],
                        lambda g: g.guardian.id,
                    ),
                    no_guardian_recorded=c.no_guardian_recorded,
                )
                for c in page.items
            ],
            end_cursor=view.cursor_out(listing, page.end_cursor),
            has_next_page=page.has_next,
        )

    @strawberry.federation.field(
        authenticated=True,
        description="再识别: the records behind pseudonyms. Needs the reidentify capability and a "
        "declared purpose of use (X-Purpose-Of-Use); the audit entry names every record.",
    )
    def network_reidentify(
        self, info: Info[Context, None], pseudonyms: list[strawberry.ID]
    ) -> list[Reidentification]:
        guard = info.context.guard
        guard.authorize("reidentify")
        policy, principal = guard.policy, info.context.principal
        if policy is not None and principal is not None:
            if not principal.purpose:
                guard.trail.reasons.add(PURPOSE_REQUIRED)
                raise refused(say("api.purpose_required"), "FORBIDDEN", PURPOSE_REQUIRED)
            if principal.purpose not in policy.purpose_codes:
                guard.trail.reasons.add(PURPOSE_NOT_PERMITTED)
                raise refused(say("api.purpose_unknown"), "FORBIDDEN", PURPOSE_NOT_PERMITTED)
        if len(pseudonyms) > MAX_REIDENTIFY:
            raise refused(say("api.too_many_pseudonyms", limit=MAX_REIDENTIFY), "BAD_REQUEST")
        if info.context.settings is None:
            raise refused(say("api.pseudonyms_not_configured"), "INTERNAL")
        keys = pseudonymizer(info.context.settings)
        guard.trail.reasons.add("reidentify")
        audience = principal.agency_id if principal is not None else None
        decoded = [keys.decode(str(raw), audience) if is_pseudonym(str(raw)) else None for raw in pseudonyms]
        for record_id in decoded:
            if record_id is not None:
                _asked(guard, record_id)
        if (why := _identity_refused(guard)) is not None:  # after _asked: the refused look is on the record
            guard.trail.reasons.add(why)
            raise refused(say("api.purpose_masks_identity"), "FORBIDDEN", why)
        guard.preload([i for i in decoded if i is not None and i.startswith("person:")])
        out = []
        for raw, record_id in zip(pseudonyms, decoded, strict=True):
            if record_id is None or not _reidentifiable(info, record_id):
                out.append(Reidentification(pseudonym=raw, id=None, kind=None))
                continue
            guard.trail.records.add(record_id)
            # As the field layer gives the id to this caller: a household's id carries its number,
            # which an analyst sees masked under every purpose (the layer's opaque id instead).
            shown = released_id(info, label_of(record_id), record_id)
            if shown is None:
                raise refused(say("api.pseudonyms_not_configured"), "INTERNAL")
            out.append(Reidentification(pseudonym=raw, id=strawberry.ID(shown), kind=label_of(record_id)))
        return out


def _identity_refused(guard: Guard) -> str | None:
    """Why the caller's declared purpose may not see a person's identity in full (statistics and
    audit mask it), or None. Re-identification in either direction hands the identity over."""
    policy, principal = guard.policy, guard.principal
    if policy is None or principal is None:
        return None
    return policy.purpose_refuses_in_full(principal, policy.sensitivity("Person", "name"))


def _asked(guard: Guard, record_id: str) -> None:
    """A record the request named by its pseudonym: on the audit entry, refused or not, as an id
    named in an argument is (`auth.audit.record_ids.named_record_ids` sees only the pseudonym)."""
    try:
        check_record_id(record_id)
    except ValueError:
        return
    guard.trail.asked.add(record_id)


def _reidentifiable(info: Info[Context, None], record_id: str) -> bool:
    """Whether the caller may see the record: a person in scope, or a record touching one."""
    guard = info.context.guard
    try:
        kind = label_of(record_id)
        if kind == "Person":
            profile = guard.profile(record_id)
            return profile is not None and guard.visible_person(profile, record_id)
        sub = info.context.store.neighbourhood(record_id, 1)
    except (GraphStoreError, ValueError):
        return False
    if record_id not in sub.nodes:
        return False
    if kind in net.PUBLIC_KINDS:
        return True

    def visible(n: Node) -> bool:
        return guard.visible_person(_NodeFacts(n.id, Subgraph({n.id: n}, {})), n.id)

    return record_id in net.restrict(sub, None, visible).nodes
