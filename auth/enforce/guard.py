"""Every value a resolver returns passes through here: row scope, field policy, audit trail.

Resolvers never read a node's properties directly; they ask the guard, which decides (policy
file, cached per request), masks, or raises a field error carrying the path and a reason code,
and records the decision for the request's audit entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from graphql import GraphQLError

from auth.enforce.errors import NOT_VISIBLE, forbidden
from auth.policy import Policy
from auth.policy.vocabulary import UNCLASSIFIED, FieldDecision, ScopeFacts
from auth.principal import Principal
from graph.port import GraphStore, GraphStoreError, GraphUnavailable
from graph.profile import PersonFacts, Profile, load_profile, load_profiles, person_facts
from graph.records import Node, Rel
from kernel.messages import say

PERSON_PREFIX = "person:"
PROBE = "division:000000000000"  # the id /health reads: no such division, one cheap statement
# People whose profiles are read together (a page of a list holds at most 100; a longer list of
# flags is read a chunk at a time so one read's union stays the size of a page's).
PRELOAD_CHUNK = 200  # a list request scans at most 200 records (auth/enforce/cursors.SCAN_BUDGET)
UNDECLARED = FieldDecision("deny", UNCLASSIFIED, "")
# Classes whose allowed reads are not listed field by field on the audit entry (links, ids,
# capability-gated metadata): the records they lead to are.
_UNRECORDED = frozenset({"public", "system", "link", "operational"})
__all__ = ["NOT_VISIBLE", "AuditTrail", "FieldDenied", "Guard"]


class FieldDenied(GraphQLError):
    """A denied field: null in the data, this error (path + reason code) beside it."""

    def __init__(self, reason: str) -> None:
        super().__init__(say("api.field_denied"), extensions={"code": "FORBIDDEN", "reason": reason})


@dataclass
class AuditTrail:
    """What the request touched: record ids and the decision for each Kind.prop read."""

    records: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)
    """Record ids the request named (an argument), served or not: a refused look is on the record."""
    fields: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    reasons: set[str] = field(default_factory=set)
    break_glass: bool = False


@dataclass
class Guard:
    store: GraphStore
    principal: Principal | None
    policy: Policy | None  # None: enforcement off (benchmark baseline only)
    trail: AuditTrail = field(default_factory=AuditTrail)
    _decisions: dict[tuple[str, str], Any] = field(default_factory=dict)
    _profiles: dict[str, Profile | None] = field(default_factory=dict)
    _visible: dict[str, bool] = field(default_factory=dict)

    @property
    def enforcing(self) -> bool:
        return self.policy is not None

    # ---- reads from the store, one bounded call per profile -------------------------------
    def profile(self, person_id: str) -> Profile | None:
        if person_id not in self._profiles:
            self._profiles[person_id] = load_profile(self.store, person_id)
        return self._profiles[person_id]

    def preload(self, person_ids: list[str]) -> None:
        """Read the profiles of a page of people together (a bounded number of store calls for
        the whole page), so row scope and the rows' fields are then decided from memory. Each
        profile is exactly the one `profile` would read alone, so no decision changes."""
        missing = [
            pid
            for pid in dict.fromkeys(person_ids)
            if pid.startswith(PERSON_PREFIX) and pid not in self._profiles
        ]
        for i in range(0, len(missing), PRELOAD_CHUNK):
            try:
                self._profiles.update(load_profiles(self.store, missing[i : i + PRELOAD_CHUNK]))
            except (GraphStoreError, ValueError):
                return  # a malformed id: each row is then read (and refused) on its own

    def visible_people(self, person_ids: Sequence[str]) -> list[str]:
        """Those of the ids the caller may see, in their order: row scope for a whole list, from
        its profiles read together (`preload`), so deciding it costs a bounded number of store
        reads whatever the list's length. Every list decides row scope here."""
        self.preload(list(person_ids))
        out: list[str] = []
        for pid in person_ids:
            profile = self.profile(pid)
            if profile is not None and self.visible_person(profile, pid):
                out.append(pid)
        return out

    def graph_answers(self) -> bool:
        """Whether the graph store answers now: False only while it is closed or reopening
        (GraphUnavailable). Another engine error is an answer here as in `scope.visible` (there,
        a person not seen), so it does not count as unavailable."""
        try:
            self.store.get_node(PROBE)
        except GraphUnavailable:
            return False
        except (GraphStoreError, ValueError):
            return True
        return True

    def release(self) -> None:
        """Drop the request's profiles once it is answered (and audited): freed at once by
        reference counting instead of by the cyclic collector's next full pass."""
        self._profiles.clear()
        self._visible.clear()

    def case_owners(self, person_id: str) -> set[str]:
        """Agencies responsible for an open case about this person (notified of others' access).

        Read from the profiles this request already loaded (a case about a person is one hop
        from them, so any profile complete for the person holds it): telling owners costs no
        extra graph read.
        """
        for profile in self._profiles.values():
            if profile is not None and person_id in profile.sub.nodes and profile.complete_for(person_id):
                return {
                    case.props["agency"]
                    for _, case in profile.incoming(person_id, "CONCERNS", "ProtectionCase")
                    if case.props.get("agency") and (case.props.get("status") or "open") != "closed"
                }
        return set()

    # ---- row scope --------------------------------------------------------------------------
    def visible_person(self, profile: Profile, person_id: str) -> bool:
        """Whether the caller may see this person at all; decided once per request per person."""
        if not self.enforcing:
            return True
        if person_id not in self._visible:
            # Only a Person record is a person: `person(id: "household:…")` or an _entities
            # representation naming a case must not be served as a Person scoped on its division.
            is_person = person_id.startswith(PERSON_PREFIX)
            visible = is_person and self._in_scope(person_facts(profile, person_id))
            if is_person and not visible and not profile.complete_for(person_id):
                # Facts from the edge of a profile can only be fewer than the person's own, so a
                # refusal on them is re-judged on the person's full record (one more read), while
                # an acceptance stands.
                own = self.profile(person_id)
                visible = own is not None and self._in_scope(person_facts(own, person_id))
            self._visible[person_id] = visible
            if not visible:
                self.trail.reasons.add("out_of_scope")
                self.trail.fields["deny"].add("Person.row")
        return self._visible[person_id]

    def _in_scope(self, facts: PersonFacts) -> bool:
        if self.policy is None or self.principal is None:
            raise RuntimeError("an enforcing check without a policy and a principal")
        decision = self.policy.in_scope(
            self.principal,
            ScopeFacts(
                divisions=facts.divisions,
                school_codes=facts.school_codes,
                facility_codes=facts.facility_codes,
                case_agencies=facts.case_agencies,
            ),
        )
        if decision.reason == "break_glass":
            self.trail.break_glass = True
        return decision.allowed

    # ---- actions ----------------------------------------------------------------------------
    def authorize(self, capability: str) -> None:
        """Refuse an action (a mutation, a workflow query) the caller's role does not hold.

        With enforcement off (benchmark baseline) every action is allowed, as every field is.
        """
        if not self.enforcing:
            return
        if self.policy is None or self.principal is None:
            raise RuntimeError("an enforcing check without a policy and a principal")
        if not self.policy.can(self.principal, capability):
            self.trail.reasons.add("capability_missing")
            raise forbidden("capability_missing")
        self.trail.reasons.add(capability)

    def scope_prefix(self) -> str | None:
        """The division subtree whose rows the caller may see: "" everywhere, None none by place
        (a school sees its pupils, a court its referred cases). Narrows a query at the source;
        each row is still checked."""
        if not self.enforcing:
            return ""
        if self.policy is None or self.principal is None:
            raise RuntimeError("an enforcing check without a policy and a principal")
        return self.policy.row_scope(self.principal).division_prefix

    def divisions_visible(self, divisions: set[str]) -> bool:
        """Row scope for a record known only by its places (a source record awaiting review)."""
        if not self.enforcing:
            return True
        if self.policy is None or self.principal is None:
            raise RuntimeError("an enforcing check without a policy and a principal")
        facts = ScopeFacts(divisions=frozenset(d for d in divisions if d))
        allowed = self.policy.in_scope(self.principal, facts).allowed
        if not allowed:
            self.trail.reasons.add("out_of_scope")
        return allowed

    def wrote(self, record_id: str, *paths: str) -> None:
        """Put a change on the request's audit entry: the record and each `Kind.field` written."""
        self.trail.records.add(record_id)
        self.trail.fields["write"].update(paths)

    def visible_node(self, profile: Profile, node: Node) -> bool:
        """Non-person records (cases, events, agreements) follow the person they concern."""
        return self.visible_person(profile, profile.root)

    # ---- fields -----------------------------------------------------------------------------
    def read(self, node: Node, prop: str, value: Any | None = None) -> Any:
        """The value of one property as this caller may see it; raises FieldDenied."""
        raw = node.props.get(prop) if value is None else value
        if not self.enforcing:
            return raw
        self.trail.records.add(node.id)
        return self.decide_and_apply(node.label, prop, raw)

    def decide_and_apply(self, kind: str, prop: str, raw: Any) -> Any:
        if self.decide(kind, prop) == "allow":
            return raw
        if self.policy is None:
            raise RuntimeError("an enforcing check without a policy")
        return self.policy.mask(kind, prop, raw)

    def decide(self, kind: str, prop: str) -> str:
        """ "allow" or "mask" for ``kind.prop``, on the audit trail; FieldDenied for a denial. For
        values that are not one property's scalar (a list of findings), which the caller masks."""
        if self.policy is None or self.principal is None:
            raise RuntimeError("an enforcing check without a policy and a principal")
        key = (kind, prop)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = self.policy.decide(self.principal, kind, prop)
        self.trail.fields[decision.decision].add(f"{kind}.{prop}")
        return self._settle(decision)

    def _settle(self, decision: FieldDecision) -> str:
        """A field decision's outcome on the trail: "allow", "mask" (its reason kept), or
        FieldDenied; a decision made under break-glass marks the request."""
        if decision.reason == "break_glass":
            self.trail.break_glass = True
        if decision.decision == "allow":
            return "allow"
        self.trail.reasons.add(decision.reason)
        if decision.decision == "mask":
            return "mask"
        raise FieldDenied(decision.reason)

    def ages_on(self, on: date) -> date:
        """The reference date for ages a caller may choose (`asOf`), no finer than the birth dates
        it may see: a role that sees birth dates as years gets the end of the year. Counts on two
        consecutive days differ by the children born that day (an analyst learnt a child's
        birthday from a village's count on 1 and 2 June); counts at year ends differ only by what
        the birth year it is shown already says."""
        return self.dates_on("Person", "birth_date", on)

    def dates_on(self, kind: str, prop: str, on: date) -> date:
        """The reference date a caller may choose (`asOf`) for comparisons with the date property
        `kind.prop`, no finer than the caller sees it: the day when it sees the property in full,
        else the last day of the year (a list moved a day at a time said the day a guardianship
        ended, to a caller shown the year)."""
        if not self.enforcing:
            return on
        try:
            if self.decide(kind, prop) == "allow":
                return on
        except FieldDenied:
            pass
        return date(on.year, 12, 31)

    def decide_field(self, type_name: str, field_name: str) -> str:
        """ "allow" or "mask" for a declared API field (`fields.<Type>.<field>` in the policy);
        FieldDenied for a denial or a field with no declared class (fail closed)."""
        if self.policy is None or self.principal is None:
            raise FieldDenied("no_principal")
        key = ("@" + type_name, field_name)
        decision = self._decisions.get(key)
        if decision is None:
            cls = self.policy.api_field_class(type_name, field_name)
            decision = self._decisions[key] = (
                self.policy.decide_class(self.principal, cls) if cls else UNDECLARED
            )
        if decision.decision != "allow" or decision.sensitivity not in _UNRECORDED:
            self.trail.fields[decision.decision].add(f"{type_name}.{field_name}")
        return self._settle(decision)

    def value_withheld(self, type_name: str, field_name: str, value: Any) -> bool:
        """Whether this caller gets `value` of a declared API field withheld: the field refused (or
        undeclared: fail closed), or masked to nothing (a small count for a role without row
        access). What goes with such a value is withheld too where it would tell it (a
        cross-check finding's examples, whose number is its count). Not recorded on the audit
        trail: the field itself, when served, is decided (and recorded) by the field layer."""
        if self.policy is None or self.principal is None:
            return False
        cls = self.policy.api_field_class(type_name, field_name)
        decision = self.policy.decide_class(self.principal, cls).decision if cls else "deny"
        if decision == "allow":
            return False
        if decision == "mask":
            return self.policy.mask_api_field(type_name, field_name, value) is None
        return True

    def read_rel(self, rel: Rel, prop: str) -> Any:
        raw = rel.props.get(prop)
        if not self.enforcing:
            return raw
        self.trail.records.add(rel.id)
        return self.decide_and_apply(rel.type, prop, raw)

    def read_provenance(self, kind: str, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Sources behind a fact: which systems and records. Masked, the record ids are hidden."""
        if not self.enforcing:
            return items
        if self.policy is None or self.principal is None:
            raise RuntimeError("an enforcing check without a policy and a principal")
        decision = self.policy.decide(self.principal, kind, "sources")
        self.trail.fields[decision.decision].add(f"{kind}.sources")
        if decision.decision == "allow":
            return items
        self.trail.reasons.add(decision.reason)
        if decision.decision == "mask":
            return [{"system": s["system"], "record_id": "***", "at": s["at"][:4]} for s in items]
        raise FieldDenied(decision.reason)
