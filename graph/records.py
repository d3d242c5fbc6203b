"""Values that cross the GraphStore port: what callers write and what the store returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graph.model import NODE_KINDS, REL_KINDS, label_of


@dataclass(frozen=True)
class Assertion:
    """Who said it: a source system, the id of its record, and when the source said it."""

    system: str
    record_id: str
    at: datetime

    def as_json(self) -> dict[str, str]:
        return {"system": self.system, "record_id": self.record_id, "at": self.at.isoformat()}


@dataclass(frozen=True)
class NodeRecord:
    id: str
    props: dict[str, Any]
    source: Assertion

    @property
    def label(self) -> str:
        return label_of(self.id)

    def __post_init__(self) -> None:
        unknown = set(self.props) - set(NODE_KINDS[self.label].props)
        if unknown:
            raise ValueError(f"{self.label} has no properties {sorted(unknown)}")


@dataclass(frozen=True)
class RelRecord:
    type: str
    src: str
    dst: str
    props: dict[str, Any]
    source: Assertion
    # Distinguishes parallel relationships of one type between the same two nodes
    # (e.g. two enrolments at one school); empty for the usual single one.
    qualifier: str = ""

    @property
    def id(self) -> str:
        base = f"{self.type}:{self.src}>{self.dst}"
        return f"{base}#{self.qualifier}" if self.qualifier else base

    def __post_init__(self) -> None:
        kind = REL_KINDS.get(self.type)
        if kind is None:
            raise ValueError(f"unknown relationship type {self.type!r}")
        pair = (label_of(self.src), label_of(self.dst))
        if pair not in kind.pairs:
            raise ValueError(f"{self.type} does not go from {pair[0]} to {pair[1]}")
        unknown = set(self.props) - set(kind.props)
        if unknown:
            raise ValueError(f"{self.type} has no properties {sorted(unknown)}")


@dataclass
class Node:
    id: str
    label: str
    props: dict[str, Any]
    sources: list[dict[str, str]]
    claims: dict[str, list[dict[str, Any]]]


@dataclass
class Rel:
    id: str
    type: str
    src: str
    dst: str
    props: dict[str, Any]
    sources: list[dict[str, str]]
    claims: dict[str, list[dict[str, Any]]]


@dataclass
class Subgraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    rels: dict[str, Rel] = field(default_factory=dict)


@dataclass
class Path:
    nodes: list[Node]
    rels: list[Rel]

    @property
    def length(self) -> int:
        return len(self.rels)


@dataclass(frozen=True)
class Step:
    """One hop of a set walk (GraphStore.hops): a relationship type, the direction it is walked
    in ("out": from its source to its target, "in": against it) and, optionally, the one kind of
    node the hop may end at."""

    rel_type: str
    direction: str
    label: str | None = None


@dataclass(frozen=True)
class Selection:
    """The start of a set read (GraphStore.select, GraphStore.hops): nodes of one kind given by
    id, or every node of the kind in a division subtree, optionally only people whose birth date
    is on or after ``born_from`` (an ISO-8601 prefix, compared as text)."""

    label: str
    ids: tuple[str, ...] = ()
    division_prefix: str | None = None
    born_from: str | None = None

    @classmethod
    def of_ids(cls, label: str, ids: Iterable[str]) -> Selection:
        return cls(label, ids=tuple(sorted(set(ids))))

    @classmethod
    def in_division(cls, label: str, prefix: str, born_from: str | None = None) -> Selection:
        return cls(label, division_prefix=prefix, born_from=born_from)


@dataclass
class Page:
    items: list[Node]
    end_cursor: str | None
    has_next: bool


@dataclass
class Conflict:
    """Two or more sources assert different values for one attribute of one node or relationship."""

    element_id: str
    attribute: str
    claims: list[dict[str, Any]]


@dataclass
class RetractResult:
    """Elements rewritten without the retracted sources, and elements deleted (none left)."""

    updated: int = 0
    deleted: int = 0


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass
class YoungPerson:
    """A person of a division born since a day, with the family facts a cross-check compares:
    their own record's provenance, their enrolments, parents and households (one hop each)."""

    id: str
    division: str | None
    birth_date: str | None
    deceased: bool | None
    hukou_type: str | None
    conflicted: str | None
    systems: list[str]  # the source systems of the person's record (its sources), in order
    enrolment_statuses: list[str | None] = field(default_factory=list)
    # (parent id, role, relationship id), in relationship id order
    parents: list[tuple[str, str | None, str]] = field(default_factory=list)
    households: list[str] = field(default_factory=list)


@dataclass
class ChildFamilies:
    """`GraphStore.child_families`: a division's young people and, for their parents who carry a
    claim of one attribute, those claims and the households one source system registers them in."""

    people: list[YoungPerson] = field(default_factory=list)
    # parent id -> every claim of the attribute asked for (parents without one are left out)
    parent_claims: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # parent id -> households whose membership the system asked for asserts, for the same parents
    parent_households: dict[str, list[str]] = field(default_factory=dict)
