"""The domain model: node kinds, relationship kinds, their properties and directions.

Chosen once here and read by both adapters (LadybugDB builds its typed tables from it,
Neo4j its constraints and indexes), by the API and by the connectors.

Directions read as a sentence from source to target::

    (Person)-[:PARENT_OF {role}]->(Person)            father/mother of a child
    (Person)-[:GUARDIAN_OF {kind, since, until}]->(Person)
                                                      legal, entrusted (委托监护) or temporary guardian
    (Person)-[:MEMBER_OF {relation_to_head}]->(Household)   户 membership
    (Person)-[:REGISTERED_IN]->(Division)             household registration (户籍地)
    (Person)-[:RESIDES_IN {address}]->(Division)      actual residence (居住地)
    (Household)-[:LOCATED_IN]->(Division)
    (School)-[:LOCATED_IN]->(Division)
    (Division)-[:PART_OF]->(Division)                 village → township → county → city → province
    (Person)-[:ENROLLED_AT {grade, class_name, boarding, status, start_date, end_date}]->(School)
    (Person)-[:SIGNED {role}]->(Agreement)            parent, entrusted guardian, village committee
    (Agreement)-[:COVERS]->(Person)                   the child an agreement is about
    (Report|ProtectionCase|Visit|HealthEvent|EducationEvent)-[:CONCERNS]->(Person)
    (Report|Visit|Assessment|Service|Intervention)-[:PART_OF_CASE]->(ProtectionCase)

Every node and relationship also carries ``sources`` and ``claims`` (see ``graph.provenance``).
Dates are ISO-8601 strings so that values from different sources compare and conflict
the same way on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PropType(StrEnum):
    STRING = "STRING"
    BOOL = "BOOL"
    INT = "INT64"
    FLOAT = "DOUBLE"


S, B, INT, F = PropType.STRING, PropType.BOOL, PropType.INT, PropType.FLOAT

# Properties every node and relationship has, maintained by the store, not by callers.
SYSTEM_PROPS: dict[str, PropType] = {"sources": S, "claims": S, "conflicted": S}


@dataclass(frozen=True)
class NodeKind:
    label: str
    props: dict[str, PropType]
    doc: str
    # Nodes with a division are listable by division subtree and scoped by jurisdiction.
    has_division: bool = True

    @property
    def id_prefix(self) -> str:
        return self.label.lower() + ":"


@dataclass(frozen=True)
class RelKind:
    type: str
    pairs: tuple[tuple[str, str], ...]
    props: dict[str, PropType] = field(default_factory=dict)
    doc: str = ""


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


# Significant digits of a 12-digit statistical division code at each level.
LEVEL_DIGITS: dict[DivisionLevel, int] = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.CITY: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.TOWNSHIP: 9,
    DivisionLevel.VILLAGE: 12,
}

_CASE_COMMON = {"status": S, "opened_at": S, "closed_at": S, "agency": S, "division": S, "summary": S}

NODE_KINDS: dict[str, NodeKind] = {
    k.label: k
    for k in [
        NodeKind(
            "Person",
            {
                "name": S,
                "name_pinyin": S,
                "id_number": S,  # 居民身份证号码 (GB 11643)
                "sex": S,  # "M" | "F"
                "birth_date": S,
                "hukou_type": S,  # "rural" | "urban"
                "disability": S,  # e.g. "none", "intellectual-2"
                "deceased": B,
                "death_date": S,
                "phone": S,
                "registered_address": S,
                "residence_address": S,
                "division": S,  # residence division code, else registered
                "works_away": B,  # 外出务工
                "work_destination": S,
                "work_since": S,
                "work_contact": S,
                "guardianship_capacity": B,  # False = lacks capacity (无监护能力)
                "incapacity_reason": S,
            },
            "A child or an adult.",
        ),
        NodeKind(
            "Household",
            {"household_number": S, "hukou_type": S, "address": S, "division": S},
            "A registered household (户).",
        ),
        NodeKind(
            "Division",
            {"code": S, "name": S, "level": S, "parent_code": S, "division": S},
            "An administrative division; id is division:<12-digit code>; division is the code itself.",
        ),
        NodeKind(
            "School",
            {"code": S, "name": S, "kind": S, "division": S},
            "A school or kindergarten.",
        ),
        NodeKind(
            "Agreement",
            {"kind": S, "signed_on": S, "valid_from": S, "valid_to": S, "division": S},
            "委托监护协议 (kind=entrustment) or 监护责任书 (kind=responsibility_letter).",
        ),
        NodeKind(
            "Report",
            {"situation": S, "reporter_agency": S, "filed_at": S, "acknowledged_at": S, **_CASE_COMMON},
            "A mandatory report (强制报告).",
        ),
        NodeKind(
            "ProtectionCase",
            {"kind": S, "risk_level": S, **_CASE_COMMON},
            "A protection case (Case is a Cypher keyword).",
        ),
        NodeKind(
            "Visit", {"visited_on": S, "visitor": S, "findings": S, "division": S}, "A screening visit."
        ),
        NodeKind(
            "Assessment",
            {
                "safety": S,
                "guardianship": S,
                "physical_health": S,
                "mental_health": S,
                "risk_level": S,
                "assessed_on": S,
                "division": S,
            },
            "An assessment (评估).",
        ),
        NodeKind("Service", {"kind": S, "provider": S, **_CASE_COMMON}, "An assistance service (帮扶)."),
        NodeKind("Intervention", {"kind": S, "grounds": S, **_CASE_COMMON}, "A guardianship intervention."),
        NodeKind(
            "HealthEvent",
            {"kind": S, "icd10": S, "occurred_on": S, "facility": S, "division": S},
            "An encounter, condition or observation.",
        ),
        NodeKind(
            "EducationEvent",
            {"kind": S, "occurred_on": S, "school_code": S, "days": INT, "division": S},
            "Truancy, dropout or return to school.",
        ),
    ]
}

_CASE_SIDE = ("Report", "ProtectionCase", "Visit", "HealthEvent", "EducationEvent")
_IN_CASE = ("Report", "Visit", "Assessment", "Service", "Intervention")

REL_KINDS: dict[str, RelKind] = {
    r.type: r
    for r in [
        RelKind("PARENT_OF", (("Person", "Person"),), {"role": S}, "father or mother of"),
        RelKind(
            "GUARDIAN_OF",
            (("Person", "Person"),),
            {"kind": S, "since": S, "until": S},
            "kind: legal | entrusted | temporary",
        ),
        RelKind("MEMBER_OF", (("Person", "Household"),), {"relation_to_head": S}),
        RelKind("REGISTERED_IN", (("Person", "Division"),)),
        RelKind("RESIDES_IN", (("Person", "Division"),), {"address": S}),
        RelKind("LOCATED_IN", (("Household", "Division"), ("School", "Division"))),
        RelKind("PART_OF", (("Division", "Division"),)),
        RelKind(
            "ENROLLED_AT",
            (("Person", "School"),),
            {
                "student_number": S,
                "grade": S,
                "class_name": S,
                "boarding": B,
                "status": S,
                "start_date": S,
                "end_date": S,
            },
        ),
        RelKind("SIGNED", (("Person", "Agreement"),), {"role": S}),
        RelKind("COVERS", (("Agreement", "Person"),)),
        RelKind("CONCERNS", tuple((k, "Person") for k in _CASE_SIDE)),
        RelKind("PART_OF_CASE", tuple((k, "ProtectionCase") for k in _IN_CASE)),
    ]
}

# Relationship types that make up the family and guardianship network.
FAMILY_RELS: tuple[str, ...] = ("PARENT_OF", "GUARDIAN_OF", "MEMBER_OF")


_LABEL_OF_PREFIX: dict[str, str] = {kind.label.lower(): kind.label for kind in NODE_KINDS.values()}


def label_of(node_id: str) -> str:
    """Node ids are '<label lowercased>:<key>'; the label is recovered from the prefix (a table:
    this runs for every record a rebuild or verify folds)."""
    prefix, sep, _ = node_id.partition(":")
    if not sep:
        raise ValueError(f"node id {node_id!r} has no '<kind>:' prefix")
    label = _LABEL_OF_PREFIX.get(prefix)
    if label is None:
        raise ValueError(f"node id {node_id!r} names an unknown kind {prefix!r}")
    return label


def node_id(label: str, key: str) -> str:
    return f"{NODE_KINDS[label].id_prefix}{key}"


def division_prefix(code: str) -> str:
    """The code prefix shared by a division and everything inside it (trailing zero groups cut)."""
    if len(code) != 12 or not code.isdigit():
        raise ValueError(f"division code {code!r} is not 12 digits")
    for level in (DivisionLevel.PROVINCE, DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP):
        digits = LEVEL_DIGITS[level]
        if set(code[digits:]) == {"0"}:
            return code[:digits]
    return code


def division_level(code: str) -> DivisionLevel:
    prefix = division_prefix(code)
    for level, digits in LEVEL_DIGITS.items():
        if len(prefix) == digits:
            return level
    raise ValueError(f"division code {code!r} has no level")


def parent_division(code: str) -> str | None:
    level = division_level(code)
    order = list(LEVEL_DIGITS)
    idx = order.index(level)
    if idx == 0:
        return None
    digits = LEVEL_DIGITS[order[idx - 1]]
    return code[:digits].ljust(12, "0")
