"""A person's profile as one bounded read, and navigation within it.

The API resolves a whole child profile (household, parents, guardians, agreements,
enrolments, visits, cases, health and education events, and the people around them) from a
single depth-2 neighbourhood read, so the number of store calls does not grow with the number
of fields or related records asked for.

The read never walks through a hub (`PROFILE_HUBS`): a child's village and school are in the
profile, the village's residents and the school's other pupils are not. Through the village a
depth-2 read held everyone registered or living there (a profile the size of the village, and a
network expanding people's profiles ran into the time budget); nothing the profile shows lies
behind a hub (household members, parents, guardians, cases and their interventions, agreements
and who signed them are each one record away from the child or from a non-hub neighbour).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.model import label_of
from graph.port import GraphStore
from graph.records import Node, Rel, Subgraph

PROFILE_RELS: tuple[str, ...] = (
    "PARENT_OF",
    "GUARDIAN_OF",
    "MEMBER_OF",
    "ENROLLED_AT",
    "SIGNED",
    "COVERS",
    "CONCERNS",
    "RESIDES_IN",
    "REGISTERED_IN",
    "PART_OF_CASE",
)
PROFILE_DEPTH = 2
PROFILE_HUBS: frozenset[str] = frozenset({"Division", "School"})
"""Kinds a profile read reaches but does not pass through (thousands of records hang off each)."""


@dataclass
class Profile:
    """A loaded neighbourhood, navigable by relationship type and direction."""

    root: str
    sub: Subgraph
    _out: dict[str, list[Rel]] = field(default_factory=dict)
    _in: dict[str, list[Rel]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rel in sorted(self.sub.rels.values(), key=lambda r: r.id):
            self._out.setdefault(rel.src, []).append(rel)
            self._in.setdefault(rel.dst, []).append(rel)

    def node(self, node_id: str) -> Node | None:
        return self.sub.nodes.get(node_id)

    def outgoing(self, node_id: str, rel_type: str) -> list[tuple[Rel, Node]]:
        return [
            (r, self.sub.nodes[r.dst])
            for r in self._out.get(node_id, [])
            if r.type == rel_type and r.dst in self.sub.nodes
        ]

    def incoming(self, node_id: str, rel_type: str, label: str | None = None) -> list[tuple[Rel, Node]]:
        return [
            (r, self.sub.nodes[r.src])
            for r in self._in.get(node_id, [])
            if r.type == rel_type and r.src in self.sub.nodes and (label is None or label_of(r.src) == label)
        ]

    def complete_for(self, node_id: str) -> bool:
        """Whether this profile holds every relationship of the node (it was within depth-1)."""
        return node_id == self.root or any(
            (r.src == self.root and r.dst == node_id) or (r.dst == self.root and r.src == node_id)
            for r in self._out.get(self.root, []) + self._in.get(self.root, [])
        )


def load_profile(store: GraphStore, person_id: str) -> Profile | None:
    sub = store.neighbourhood(person_id, PROFILE_DEPTH, PROFILE_RELS, not_through=PROFILE_HUBS)
    if person_id not in sub.nodes:
        return None
    return Profile(person_id, sub)


def load_profiles(store: GraphStore, person_ids: list[str]) -> dict[str, Profile | None]:
    """`load_profile` for a page of people in one bounded read (see GraphStore.neighbourhoods):
    each profile is the same as its own read; absent ids map to None."""
    subs = store.neighbourhoods(person_ids, PROFILE_DEPTH, PROFILE_RELS, not_through=PROFILE_HUBS)
    return {pid: Profile(pid, subs[pid]) if pid in subs else None for pid in person_ids}


@dataclass(frozen=True)
class PersonFacts:
    """What row scope is decided on: where a person belongs and which institutions they touch."""

    divisions: frozenset[str]
    school_codes: frozenset[str]
    facility_codes: frozenset[str]
    case_agencies: frozenset[str]


def person_facts(profile: Profile, person_id: str) -> PersonFacts:
    """Facts about a person from a profile that holds all of their relationships.

    For a person at the edge of a profile some relationships may be missing; the facts are then
    fewer, never more, so a scope decision made on them can only fail closed.
    """
    node = profile.node(person_id)
    divisions = {node.props["division"]} if node and node.props.get("division") else set()
    for _, hh in profile.outgoing(person_id, "MEMBER_OF"):
        if hh.props.get("division"):
            divisions.add(hh.props["division"])
    for rel_type in ("RESIDES_IN", "REGISTERED_IN"):
        for _, d in profile.outgoing(person_id, rel_type):
            if d.props.get("code"):
                divisions.add(d.props["code"])
    schools = {s.props["code"] for _, s in profile.outgoing(person_id, "ENROLLED_AT") if s.props.get("code")}
    facilities = {
        e.props["facility"]
        for _, e in profile.incoming(person_id, "CONCERNS", "HealthEvent")
        if e.props.get("facility")
    }
    agencies: set[str] = set()
    for label in ("ProtectionCase", "Report"):
        for _, c in profile.incoming(person_id, "CONCERNS", label):
            if c.props.get("agency"):
                agencies.add(c.props["agency"])
            for _, part in profile.incoming(c.id, "PART_OF_CASE", "Intervention"):
                if part.props.get("agency"):
                    agencies.add(part.props["agency"])
    return PersonFacts(frozenset(divisions), frozenset(schools), frozenset(facilities), frozenset(agencies))
