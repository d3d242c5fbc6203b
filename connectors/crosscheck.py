"""Cross-checking the sources against each other (MCA notice §3.3: survey × registry × register).

What the county needs to get the true count of left-behind children is not any one
source but where they disagree:

* **missing from a source**: children the household register knows that no source of
  another agency has, and the reverse (a child the school or a village supervisor knows
  who is not registered: an unregistered birth, or a family that moved in);
* **school-age children with no enrolment**: aged 6–15 (compulsory education) on the
  as-of day, alive, with no ``ENROLLED_AT`` whose status is 在读 — dropouts and children
  the registry never had;
* **facts that conflict between sources**: attributes on which sources disagree (the
  provenance keeps every claim: ``graph.provenance``), and the case the seeds single
  out — the survey says both parents work away while the household register shows the
  mother registered in the child's own household, not moved out.

Works through the GraphStore port only (so on LadybugDB and Neo4j alike):
``crosscheck(graph)`` pages through people by division, then reads the page's children's
neighbourhoods together and checks each. ``CrossCheck.as_json()`` is what
``shouhu crosscheck --json`` prints and what a GraphQL resolver can return.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from graph.port import GraphStore
from graph.records import Node, Subgraph
from kernel import clock

__all__ = ["CrossCheck", "crosscheck"]

SYSTEMS = ("police_hukou", "education", "health", "survey", "police_incident")
COMPULSORY = (6, 15)


def _age(birth: str | None, on: date) -> int | None:
    try:
        b = date.fromisoformat(birth or "")
    except ValueError:
        return None
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _systems(node: Node) -> set[str]:
    return {s["system"] for s in node.sources if s.get("system") in SYSTEMS}


def _claims(node: Node, attr: str, system: str) -> list[Any]:
    return [c["value"] for c in node.claims.get(attr, []) if c.get("system") == system]


@dataclass
class CrossCheck:
    """Counts and examples (person node ids) of every disagreement found."""

    as_of: date
    children: int = 0
    by_sources: Counter[str] = field(default_factory=Counter)
    missing: dict[str, list[str]] = field(default_factory=dict)
    school_age_not_enrolled: list[str] = field(default_factory=list)
    conflicting_attributes: Counter[str] = field(default_factory=Counter)
    parents_away_but_mother_registered_home: list[str] = field(default_factory=list)
    examples: int = 20

    def as_json(self) -> dict[str, Any]:
        def head(ids: list[str]) -> dict[str, Any]:
            return {"count": len(ids), "examples": sorted(ids)[: self.examples]}

        return {
            "as_of": self.as_of.isoformat(),
            "children": self.children,
            "children_by_sources": dict(self.by_sources.most_common()),
            "missing": {k: head(v) for k, v in sorted(self.missing.items())},
            "school_age_not_enrolled": head(self.school_age_not_enrolled),
            "conflicting_attributes": dict(self.conflicting_attributes.most_common()),
            "survey_parents_away_but_register_mother_home": head(
                self.parents_away_but_mother_registered_home
            ),
        }


# What each child's check reads: parents (and their other household ties), households, schools.
FAMILY: tuple[str, ...] = ("PARENT_OF", "MEMBER_OF", "ENROLLED_AT")
DEPTH = 2
PAGE = 1000  # people per division page; their children's neighbourhoods are read together


def crosscheck(
    graph: GraphStore,
    *,
    as_of: date | None = None,
    division_prefix: str = "",
    progress: Callable[[int], None] | None = None,
) -> CrossCheck:
    """Cross-check every living child under 18 of the division (default: everywhere).

    Set-based: a page of people costs one division read and one neighbourhood read for all of
    its children (`GraphStore.neighbourhoods`, each child's cut exactly as its own read), not one
    traversal per child. ``progress(n)`` after each page, with the number of people read.
    """
    on = as_of or clock.today()
    report = CrossCheck(on)
    # Person.division is set by the register, the survey, and schools' and hospitals'
    # addresses when they name a village; a person with none of these is not listed here.
    prefixes = [division_prefix] if division_prefix else [str(d) for d in range(1, 10)]
    for prefix in prefixes:
        after: str | None = None
        while True:
            page = graph.list_by_division("Person", prefix, first=PAGE, after=after)
            children = [
                (node, age) for node in page.items if (age := _count_child(node, on, report)) is not None
            ]
            subs = graph.neighbourhoods([n.id for n, _ in children], DEPTH, FAMILY)
            for node, age in children:
                _check_family(node, age, subs.get(node.id, Subgraph({node.id: node}, {})), report)
            if progress is not None:
                progress(len(page.items))
            if not page.has_next:
                break
            after = page.end_cursor
    return report


def _count_child(node: Node, on: date, report: CrossCheck) -> int | None:
    """The checks on the person's own record; their age if a living child (else None)."""
    age = _age(node.props.get("birth_date"), on)
    if age is None or age >= 18 or node.props.get("deceased"):
        return None
    report.children += 1
    systems = _systems(node)
    report.by_sources["+".join(sorted(systems)) or "none"] += 1
    if "police_hukou" not in systems:
        report.missing.setdefault("not_in_household_register", []).append(node.id)
    elif not systems - {"police_hukou"}:
        report.missing.setdefault("only_in_household_register", []).append(node.id)
    if "survey" not in systems and "police_hukou" in systems and node.props.get("hukou_type") == "rural":
        report.missing.setdefault("rural_not_surveyed", []).append(node.id)
    for attr in filter(None, (node.props.get("conflicted") or "").split(",")):
        report.conflicting_attributes[attr] += 1
    return age


def _check_family(node: Node, age: int, sub: Subgraph, report: CrossCheck) -> None:
    """The checks on the child's neighbourhood (`FAMILY` within `DEPTH` hops)."""
    enrolled = any(
        r.type == "ENROLLED_AT" and r.src == node.id and (r.props.get("status") or "在读") == "在读"
        for r in sub.rels.values()
    )
    if COMPULSORY[0] <= age <= COMPULSORY[1] and not enrolled:
        report.school_age_not_enrolled.append(node.id)
    parents = {
        r.props.get("role"): sub.nodes.get(r.src)
        for r in sub.rels.values()
        if r.type == "PARENT_OF" and r.dst == node.id
    }
    father, mother = parents.get("father"), parents.get("mother")
    if father is None or mother is None:
        return
    away = [True in _claims(p, "works_away", "survey") for p in (father, mother)]
    if not all(away):
        return
    homes = {r.dst for r in sub.rels.values() if r.type == "MEMBER_OF" and r.src == node.id}
    mother_home = any(
        r.type == "MEMBER_OF"
        and r.src == mother.id
        and r.dst in homes
        and any(s.get("system") == "police_hukou" for s in r.sources)
        for r in sub.rels.values()
    )
    if mother_home:
        report.parents_away_but_mother_registered_home.append(node.id)


def dumps(report: CrossCheck) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False)
