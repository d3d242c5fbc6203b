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

Works through the GraphStore port only (so on LadybugDB and Neo4j alike), set-based:
``crosscheck(graph)`` reads the division's children with every fact it compares in one
`GraphStore.child_families` call (six engine reads whatever the county's size) and checks
them in one pass in Python. Reading each page's neighbourhoods instead took 969 s for
79,959 children at 200,000 persons; the findings are the same (tests/test_connectors_pipeline
checks them against reading each child's own neighbourhood). ``CrossCheck.as_json()`` is what
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
from graph.records import ChildFamilies, YoungPerson
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


PASS = 5000  # people checked between two progress reports


def crosscheck(
    graph: GraphStore,
    *,
    as_of: date | None = None,
    division_prefix: str = "",
    progress: Callable[[int], None] | None = None,
) -> CrossCheck:
    """Cross-check every living child under 18 of the division (default: everywhere).

    One batched read of the children and their families (`GraphStore.child_families`), then one
    pass. ``progress(n)`` as the pass goes, with the number of people (born in the last 18 or so
    years) checked since the last call.
    """
    on = as_of or clock.today()
    report = CrossCheck(on)
    # Anyone under 18 on `on` was born in `on.year - 18` or later; the exact age is decided here.
    families = graph.child_families(
        division_prefix, f"{on.year - 18:04d}-01-01", "works_away", "police_hukou"
    )
    done = 0
    for i, person in enumerate(families.people, 1):
        # Person.division is set by the register, the survey, and schools' and hospitals'
        # addresses when they name a village; a person with none of these is not listed here.
        if division_prefix or (person.division or " ")[0] in "123456789":
            age = _count_child(person, on, report)
            if age is not None:
                _check_family(person, age, families, report)
        if progress is not None and (i % PASS == 0 or i == len(families.people)):
            progress(i - done)
            done = i
    return report


def _count_child(person: YoungPerson, on: date, report: CrossCheck) -> int | None:
    """The checks on the person's own record; their age if a living child (else None)."""
    age = _age(person.birth_date, on)
    if age is None or age >= 18 or person.deceased:
        return None
    report.children += 1
    systems = {s for s in person.systems if s in SYSTEMS}
    report.by_sources["+".join(sorted(systems)) or "none"] += 1
    if "police_hukou" not in systems:
        report.missing.setdefault("not_in_household_register", []).append(person.id)
    elif not systems - {"police_hukou"}:
        report.missing.setdefault("only_in_household_register", []).append(person.id)
    if "survey" not in systems and "police_hukou" in systems and person.hukou_type == "rural":
        report.missing.setdefault("rural_not_surveyed", []).append(person.id)
    for attr in filter(None, (person.conflicted or "").split(",")):
        report.conflicting_attributes[attr] += 1
    return age


def _check_family(person: YoungPerson, age: int, families: ChildFamilies, report: CrossCheck) -> None:
    """The checks on the child's family: enrolment, parents' survey claims, households."""
    enrolled = any((status or "在读") == "在读" for status in person.enrolment_statuses)
    if COMPULSORY[0] <= age <= COMPULSORY[1] and not enrolled:
        report.school_age_not_enrolled.append(person.id)
    # Two parents recorded in one role (sources not yet resolved into one person): the one on
    # the relationship with the greater id counts, the same on every engine and every run.
    parents = {role: parent for parent, role, _rel in person.parents}
    father, mother = parents.get("father"), parents.get("mother")
    if father is None or mother is None:
        return
    away = [
        True in [c["value"] for c in families.parent_claims.get(p, []) if c.get("system") == "survey"]
        for p in (father, mother)
    ]
    if not all(away):
        return
    # The household register (not the survey) has the mother in the child's own household.
    homes = set(person.households)
    mother_home = any(home in homes for home in families.parent_households.get(mother, []))
    if mother_home:
        report.parents_away_but_mother_registered_home.append(person.id)


def dumps(report: CrossCheck) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False)
