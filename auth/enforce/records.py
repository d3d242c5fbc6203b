"""GraphQL object types over the domain model. Every property goes through the guard.

Property fields are generated from graph/model.py so that a property added to the model is
either exposed through the policy or not at all; relationship fields navigate a loaded
profile and check row scope for every person they hand out.
"""

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

import strawberry
from strawberry.types import Info

from auth.enforce.context import Context
from auth.enforce.guard import FieldDenied
from auth.enforce.layer import declare_graph_field
from auth.policy import default_policy
from graph.model import NODE_KINDS, REL_KINDS, PropType
from graph.profile import Profile
from graph.records import Node, Rel

_PY = {PropType.STRING: str, PropType.BOOL: bool, PropType.INT: int, PropType.FLOAT: float}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _scopes(kind: str, prop: str) -> list[list[str]]:
    """The field's @requiresScopes, so a Federation router can enforce the same rules as a second line.

    Read from the *default* policy file (`default_policy`, loaded once per process), not the one the
    running service names: these field classes are built when this module is imported, before any
    settings are read, and the published SDL must be the same whichever policy a deployment runs.
    The service's own policy (``settings.policy_file``) decides every request."""
    scopes = default_policy().scopes_for(kind, prop)
    return [scopes] if scopes else []


def _node_prop_field(kind: str, prop: str, py_type: type) -> Any:
    def resolve(self: Any, info: Info[Context, None]) -> Any:
        # The raw value: the enforcement layer (auth.enforce.layer) decides it as kind.prop.
        guard = info.context.guard
        if guard.enforcing:
            guard.trail.records.add(self._node.id)
        return self._node.props.get(prop)

    resolve.__annotations__ = {"self": Any, "info": Info, "return": py_type | None}
    return strawberry.federation.field(
        resolver=resolve,
        name=camel(prop),
        requires_scopes=_scopes(kind, prop),
        description=f"{kind}.{prop}",
    )


def _rel_prop_field(rel_type: str, prop: str, py_type: type) -> Any:
    def resolve(self: Any, info: Info[Context, None]) -> Any:
        guard = info.context.guard
        if guard.enforcing:
            guard.trail.records.add(self._rel.id)
        return self._rel.props.get(prop)

    resolve.__annotations__ = {"self": Any, "info": Info, "return": py_type | None}
    return strawberry.federation.field(
        resolver=resolve,
        name=camel(prop),
        requires_scopes=_scopes(rel_type, prop),
        description=f"{rel_type}.{prop}",
    )


def _with_props(cls: type, kind: str, skip: tuple[str, ...] = ()) -> type:
    for prop, ptype in NODE_KINDS[kind].props.items():
        if prop not in skip:
            setattr(cls, prop, _node_prop_field(kind, prop, _PY[ptype]))
            declare_graph_field(cls.__name__, camel(prop), kind, prop)
            cls.__annotations__[prop] = _PY[ptype] | None
    return cls


def _with_rel_props(cls: type, rel_type: str) -> type:
    for prop, ptype in REL_KINDS[rel_type].props.items():
        setattr(cls, prop, _rel_prop_field(rel_type, prop, _PY[ptype]))
        declare_graph_field(cls.__name__, camel(prop), rel_type, prop)
        cls.__annotations__[prop] = _PY[ptype] | None
    return cls


@strawberry.type(description="One source record behind a fact.")
class Source:
    system: str
    record_id: str
    at: str


@strawberry.type(description="Sources that disagree on one attribute, with each one's value.")
class FieldConflict:
    attribute: str
    values: list[str]
    sources: list[Source]


def _sources(info: Info[Context, None], kind: str, node_or_rel: Node | Rel) -> list[Source] | None:
    guard = info.context.guard
    items = guard.read_provenance(kind, node_or_rel.sources)
    if items is None:
        return None
    return [Source(system=s["system"], record_id=s["record_id"], at=s["at"]) for s in items]


@strawberry.interface(name="Record", description="Any record of the graph: id and the sources behind it.")
class _NodeBase:
    _node: strawberry.Private[Node]
    _profile: strawberry.Private[Profile]

    @strawberry.field(description="Stable id, e.g. person:…")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self._node.id)

    @strawberry.field(description="The source records behind this record (provenance).")
    def sources(self, info: Info[Context, None]) -> list[Source] | None:
        return _sources(info, self._node.label, self._node)


def _node_type(kind: str, doc: str, skip: tuple[str, ...] = ()) -> Any:
    def deco(cls: type) -> Any:
        cls.__annotations__ = dict(getattr(cls, "__annotations__", {}))
        _with_props(cls, kind, skip)
        return strawberry.federation.type(cls, keys=["id"], description=doc)

    return deco


@_node_type("Division", "An administrative division (12-digit statistical code).")
class Division(_NodeBase):
    pass


@_node_type("School", "A school or kindergarten.")
class School(_NodeBase):
    pass


@_node_type("Household", "A registered household (户).")
class Household(_NodeBase):
    @strawberry.field(description="Members in your scope, with their relation to the head.")
    def members(self, info: Info[Context, None]) -> list["Membership"]:
        guard = info.context.guard
        out = []
        for rel, person in self._profile.incoming(self._node.id, "MEMBER_OF", "Person"):
            if guard.visible_person(self._profile, person.id):
                out.append(Membership(_rel=rel, _profile=self._profile, _person=person))
        return out


@_node_type("Agreement", "委托监护协议 (entrustment) or 监护责任书 (responsibility letter).")
class Agreement(_NodeBase):
    pass


@_node_type("Visit", "A screening visit (预警排查).")
class Visit(_NodeBase):
    pass


@_node_type("ProtectionCase", "A protection case.")
class ProtectionCase(_NodeBase):
    pass


@_node_type("Report", "A mandatory report (强制报告).")
class Report(_NodeBase):
    pass


@_node_type("HealthEvent", "A health encounter, condition or observation.")
class HealthEvent(_NodeBase):
    pass


@_node_type("EducationEvent", "Truancy, dropout or return to school.")
class EducationEvent(_NodeBase):
    pass


def _person(profile: Profile, node: Node) -> "Person":
    return Person(_node=node, _profile=profile)


def _related_profile(info: Info[Context, None], profile: Profile, person_id: str) -> Profile:
    """Navigation from a person at the edge of a loaded profile loads that person's own."""
    if profile.complete_for(person_id):
        return profile
    return info.context.guard.profile(person_id) or profile


@_node_type("Person", "A child or an adult.")
class Person(_NodeBase):
    @strawberry.field(description="Household (户) this person is registered in.")
    def household(self, info: Info[Context, None]) -> Household | None:
        prof = _related_profile(info, self._profile, self._node.id)
        for _, hh in prof.outgoing(self._node.id, "MEMBER_OF"):
            return Household(_node=hh, _profile=prof)
        return None

    @strawberry.field(description="Father and mother in your scope, and whether each is away for work.")
    def parents(self, info: Info[Context, None]) -> list["Kinship"]:
        return _kin(info, self, "PARENT_OF", incoming=True)

    @strawberry.field(description="Children in your scope.")
    def children(self, info: Info[Context, None]) -> list["Kinship"]:
        return _kin(info, self, "PARENT_OF", incoming=False)

    @strawberry.field(description="Legal, entrusted (委托监护) and temporary guardians in your scope.")
    def guardians(self, info: Info[Context, None]) -> list["Guardianship"]:
        return _guardianships(info, self, incoming=True)

    @strawberry.field(description="Children this person is guardian of, in your scope.")
    def wards(self, info: Info[Context, None]) -> list["Guardianship"]:
        return _guardianships(info, self, incoming=False)

    @strawberry.field(
        description="Entrusted-guardianship agreements and responsibility letters about this child."
    )
    def agreements(self, info: Info[Context, None]) -> list[Agreement]:
        prof = _related_profile(info, self._profile, self._node.id)
        if not info.context.guard.visible_person(prof, self._node.id):
            return []
        return [
            Agreement(_node=a, _profile=prof) for _, a in prof.incoming(self._node.id, "COVERS", "Agreement")
        ]

    @strawberry.field(description="School enrolment history.")
    def enrolments(self, info: Info[Context, None]) -> list["Enrolment"]:
        prof = _related_profile(info, self._profile, self._node.id)
        return [
            Enrolment(_rel=r, _profile=prof, _school=s)
            for r, s in prof.outgoing(self._node.id, "ENROLLED_AT")
        ]

    @strawberry.field
    def visits(self, info: Info[Context, None]) -> list[Visit]:
        return [Visit(_node=n, _profile=p) for n, p in _concerning(info, self, "Visit")]

    @strawberry.field
    def cases(self, info: Info[Context, None]) -> list[ProtectionCase]:
        return [ProtectionCase(_node=n, _profile=p) for n, p in _concerning(info, self, "ProtectionCase")]

    @strawberry.field
    def reports(self, info: Info[Context, None]) -> list[Report]:
        return [Report(_node=n, _profile=p) for n, p in _concerning(info, self, "Report")]

    @strawberry.field(name="healthEvents")
    def health_events(self, info: Info[Context, None]) -> list[HealthEvent]:
        return [HealthEvent(_node=n, _profile=p) for n, p in _concerning(info, self, "HealthEvent")]

    @strawberry.field(name="educationEvents")
    def education_events(self, info: Info[Context, None]) -> list[EducationEvent]:
        return [EducationEvent(_node=n, _profile=p) for n, p in _concerning(info, self, "EducationEvent")]

    @strawberry.field(description="Attributes on which sources disagree, with every source's value.")
    def conflicts(self, info: Info[Context, None]) -> list[FieldConflict]:
        """A conflict says that a source holds a value for the attribute: one on an attribute the
        caller may not read is left out whole, and the field's own class is decided before any
        conflict is looked at (denied, it is empty, as the layer leaves it), so a refusal never
        tells which people have such conflicts."""
        guard = info.context.guard
        if guard.enforcing:
            try:
                guard.decide_field("Person", "conflicts")
            except FieldDenied:
                return []
        out = []
        for attr in filter(None, (self._node.claims and sorted(self._node.claims)) or []):
            claims = self._node.claims[attr]
            if len({repr(c["value"]) for c in claims}) < 2:
                continue
            try:
                values = [guard.read(self._node, attr, c["value"]) for c in claims]
                srcs = guard.read_provenance("Person", claims)
            except FieldDenied:
                continue
            out.append(
                FieldConflict(
                    attribute=camel(attr),
                    values=[str(v) for v in values],
                    sources=[
                        Source(system=s["system"], record_id=s["record_id"], at=s["at"]) for s in (srcs or [])
                    ],
                )
            )
        return out


def _concerning(info: Info[Context, None], person: Person, label: str) -> list[tuple[Node, Profile]]:
    prof = _related_profile(info, person._profile, person._node.id)
    if not info.context.guard.visible_person(prof, person._node.id):
        return []
    return [(n, prof) for _, n in prof.incoming(person._node.id, "CONCERNS", label)]


def _kin(info: Info[Context, None], person: Person, rel_type: str, incoming: bool) -> list["Kinship"]:
    prof = _related_profile(info, person._profile, person._node.id)
    guard = info.context.guard
    pairs = (
        prof.incoming(person._node.id, rel_type, "Person")
        if incoming
        else prof.outgoing(person._node.id, rel_type)
    )
    return [Kinship(_rel=r, _profile=prof, _person=p) for r, p in pairs if guard.visible_person(prof, p.id)]


def _guardianships(info: Info[Context, None], person: Person, incoming: bool) -> list["Guardianship"]:
    prof = _related_profile(info, person._profile, person._node.id)
    guard = info.context.guard
    pairs = (
        prof.incoming(person._node.id, "GUARDIAN_OF", "Person")
        if incoming
        else prof.outgoing(person._node.id, "GUARDIAN_OF")
    )
    return [
        Guardianship(_rel=r, _profile=prof, _person=p) for r, p in pairs if guard.visible_person(prof, p.id)
    ]


@strawberry.interface(name="Link", description="A relationship between two records, with its sources.")
class _RelBase:
    _rel: strawberry.Private[Rel]
    _profile: strawberry.Private[Profile]

    @strawberry.field(description="The source records behind this relationship.")
    def sources(self, info: Info[Context, None]) -> list[Source] | None:
        return _sources(info, self._rel.type, self._rel)


_T = TypeVar("_T")


@dataclass_transform()
def _rel_type(rel_type: str, doc: str) -> Callable[[type[_T]], type[_T]]:
    def deco(cls: type[_T]) -> type[_T]:
        cls.__annotations__ = dict(getattr(cls, "__annotations__", {}))
        _with_rel_props(cls, rel_type)
        return strawberry.type(cls, description=doc)

    return deco


@_rel_type("PARENT_OF", "A parent-child link; role is father or mother.")
class Kinship(_RelBase):
    _person: strawberry.Private[Node]

    @strawberry.field
    def person(self) -> Person:
        return _person(self._profile, self._person)


@_rel_type("GUARDIAN_OF", "A guardianship: legal, entrusted (委托监护) or temporary.")
class Guardianship(_RelBase):
    _person: strawberry.Private[Node]

    @strawberry.field
    def person(self) -> Person:
        return _person(self._profile, self._person)


@_rel_type("MEMBER_OF", "Membership of a household with the relation to its head.")
class Membership(_RelBase):
    _person: strawberry.Private[Node]

    @strawberry.field
    def person(self) -> Person:
        return _person(self._profile, self._person)


@_rel_type("ENROLLED_AT", "An enrolment at a school.")
class Enrolment(_RelBase):
    _school: strawberry.Private[Node]

    @strawberry.field
    def school(self) -> School:
        return School(_node=self._school, _profile=self._profile)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class PersonEdge:
    cursor: str
    node: Person


@strawberry.type(description="Relay-style connection of people.")
class PersonConnection:
    edges: list[PersonEdge]
    page_info: PageInfo
