"""The role matrix: one fixed synthetic child, every agency type and role of the default policy.

Each (agency type, role) gets its own agency and OAuth client, placed so that the child is in
its row scope by the role's own rule (a county jurisdiction, the child's village, the child's
school S1, the facility F1 of the child's health event, or a protection case about the child
assigned to the agency). Then the same query is sent with a declared purpose and every field is
asserted to come back allowed (the exact value), masked (the exact masked value) or denied
(null, plus an error with the field's path and a reason code).

The expectations below are written out by hand from auth/policies/default.toml. They are
deliberately NOT computed from the policy engine: a test that asks the engine what the engine
will do cannot fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from graph.model import node_id
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.messages import say
from kernel.settings import Settings
from tests.api_fixtures import start_app
from tests.contract.test_graph_store import SCHOOL, TOWN, VILLAGE, family, person

COUNTY = "500101000000"
ELSEWHERE = "500102000000"  # another county: roles scoped by relationship get no rows from it
CASEWORK = Assertion("civil_affairs", "CA-9", datetime(2026, 4, 10, 10, 0))
CLINIC = Assertion("health", "HIS-4", datetime(2026, 4, 11, 10, 0))

# key: (agency id, agency type, role, jurisdiction, institution codes, how the child is in scope)
ROLES: dict[str, tuple[str, str, str, str, tuple[str, ...], str]] = {
    "civil_caseworker": ("ca-cw", "civil_affairs", "caseworker", COUNTY, (), "jurisdiction"),
    "civil_supervisor": ("ca-sv", "civil_affairs", "supervisor", COUNTY, (), "jurisdiction"),
    "civil_director": ("ca-dr", "civil_affairs", "director", COUNTY, (), "jurisdiction"),
    "township_caseworker": ("tw-cw", "township", "caseworker", TOWN, (), "jurisdiction"),
    "township_leader": ("tw-ld", "township", "leader", TOWN, (), "jurisdiction"),
    "village_supervisor": ("vc-cd", "village_committee", "child_welfare_supervisor", VILLAGE, (), "village"),
    "edu_teacher": ("edu-t", "education", "teacher", ELSEWHERE, ("S1",), "pupils"),
    "edu_registrar": ("edu-r", "education", "registrar", ELSEWHERE, ("S1",), "pupils"),
    "edu_bureau": ("edu-b", "education", "bureau_officer", COUNTY, (), "jurisdiction"),
    "police_officer": ("ps-o", "public_security", "officer", COUNTY, (), "jurisdiction"),
    "police_registrar": ("ps-hr", "public_security", "household_registrar", COUNTY, (), "jurisdiction"),
    "health_doctor": ("hc-d", "health", "doctor", ELSEWHERE, ("F1",), "patients"),
    "health_officer": ("hc-ph", "health", "public_health_officer", COUNTY, (), "jurisdiction"),
    "justice_lawyer": ("jus-la", "justice", "legal_aid_lawyer", ELSEWHERE, (), "referred_cases"),
    "justice_officer": ("jus-o", "justice", "officer", ELSEWHERE, (), "referred_cases"),
    "court_judge": ("crt-j", "court", "judge", ELSEWHERE, (), "referred_cases"),
    "court_clerk": ("crt-c", "court", "clerk", ELSEWHERE, (), "referred_cases"),
    "prosecutor": ("pro-p", "procuratorate", "prosecutor", ELSEWHERE, (), "referred_cases"),
    "womens_federation": ("wf-o", "womens_federation", "officer", COUNTY, (), "jurisdiction"),
    "dpf_officer": ("dpf-o", "disabled_persons_federation", "officer", COUNTY, (), "jurisdiction"),
    "dpf_rehab": (
        "dpf-r",
        "disabled_persons_federation",
        "rehabilitation_worker",
        ELSEWHERE,
        (),
        "referred_cases",
    ),
    "social_worker": ("sw-s", "social_work", "social_worker", ELSEWHERE, (), "referred_cases"),
    "welfare_staff": ("wi-s", "welfare_institution", "staff", ELSEWHERE, (), "referred_cases"),
    "auditor": ("aud-a", "auditor", "auditor", COUNTY, (), "jurisdiction"),
    "analyst": ("ana-a", "analyst", "analyst", COUNTY, (), "jurisdiction"),
}
REFERRED = [aid for aid, _, _, _, _, how in ROLES.values() if how == "referred_cases"]

# The child's full record and the exact masked form of every field queried.
# column: (GraphQL path below `person`, full value, masked value)
SOURCE = {"system": "police_hukou", "recordId": "HK-1"}
COLUMNS: dict[str, tuple[tuple[str, ...], Any, Any]] = {
    "nam": (("name",),                        "甲乙",                 "甲*"),
    "brt": (("birthDate",),                   "2015-03-01",           "2015"),
    "idn": (("idNumber",),                    "500101201503011234",   "500***********1234"),
    "tel": (("phone",),                       "13812345678",          "138****5678"),
    "adr": (("residenceAddress",),            "重庆市宁川县青石镇龙桥村3组12号",
                                              "重庆市宁川县青石镇龙桥村"),
    "hh":  (("household", "householdNumber"), "H1",                   "***"),
    "agr": (("agreements", "signedOn"),       "2024-02-01",           "2024"),
    "grd": (("enrolments", "grade"),          "5",                    "5"),
    "cls": (("enrolments", "className"),      "五年级二班",            "***"),
    "icd": (("healthEvents", "icd10"),        "F84.0",                "F**.*"),
    "dis": (("disability",),                  "intellectual-2",       "intellectual"),
    "opn": (("cases", "openedAt"),            "2026-04-01",           "2026"),
    "nar": (("cases", "summary"),             "邻居反映孩子长期独自在家", "***"),
    "src": (("sources",),                     [SOURCE],               [{**SOURCE, "recordId": "***"}]),
}  # fmt: skip

# One row per role, one column per field of COLUMNS, in order:
#   A = allowed: the full value; M = masked: the masked value; D = denied: null, and an error at
#   its path with reason denied_by_policy; X = the list itself is of a denied class, so it is
#   empty (its records left out whole, not even their ids). A role that sees idNumber masked
#   sees birthDate as a year (masks against reconstruction, policy [reconstruction]).
#   Purpose declared: case_work, which every sensitive
#   class accepts in full, so the letters are the policy's rules themselves.
# (hh is the household class, agr the family class, grd/cls education, icd health, opn the case
# class, nar case_investigation, src provenance; grade's mask keeps it, so A and M look alike.)
#                           nam brt idn tel adr hh  agr grd cls icd dis opn nar src
MATRIX: dict[str, str] = {
    "civil_caseworker":    "A   A   A   A   A   A   A   A   A   A   A   A   A   A",
    "civil_supervisor":    "A   A   A   A   A   A   A   A   A   A   A   A   A   A",
    "civil_director":      "A   M   M   M   M   A   A   A   A   M   A   A   D   M",
    "township_caseworker": "A   A   A   A   A   A   A   A   A   M   A   A   A   M",
    "township_leader":     "A   M   M   M   A   A   A   A   A   M   A   A   M   M",
    "village_supervisor":  "A   M   M   A   A   A   A   A   A   X   A   A   D   D",
    "edu_teacher":         "A   M   M   A   M   M   A   A   A   X   M   M   D   D",
    "edu_registrar":       "A   A   A   A   M   M   A   A   A   X   M   M   D   D",
    "edu_bureau":          "A   M   M   M   M   M   M   A   A   X   M   M   D   D",
    "police_officer":      "A   A   A   A   A   A   A   M   M   M   A   A   A   M",
    "police_registrar":    "A   A   A   A   A   A   A   M   M   X   A   A   D   A",
    "health_doctor":       "A   A   A   A   M   D   M   X   X   A   A   M   D   D",
    "health_officer":      "A   M   M   M   M   D   M   X   X   A   A   M   D   D",
    "justice_lawyer":      "A   A   A   A   A   M   A   X   X   M   A   A   A   D",
    "justice_officer":     "A   M   M   M   M   M   M   X   X   X   A   M   D   D",
    "court_judge":         "A   A   A   M   A   A   A   M   M   M   A   A   A   A",
    "court_clerk":         "A   A   A   A   A   A   A   M   M   X   A   A   M   M",
    "prosecutor":          "A   A   A   M   A   A   A   M   M   M   A   A   A   A",
    "womens_federation":   "M   M   D   D   M   M   M   M   M   X   M   M   D   D",
    "dpf_officer":         "M   M   D   D   M   M   M   M   M   M   A   M   D   D",
    "dpf_rehab":           "A   M   M   A   A   M   M   M   M   A   A   M   D   D",
    "social_worker":       "A   M   M   A   A   A   A   A   A   M   A   A   D   D",
    "welfare_staff":       "A   A   A   A   A   A   A   A   A   A   A   A   M   D",
    "auditor":             "M   M   M   M   M   M   M   M   M   M   M   A   D   A",
    "analyst":             "M   M   D   D   M   M   M   M   M   M   M   M   D   D",
}  # fmt: skip

QUERY = """
query RoleMatrix($id: ID!) {
  person(id: $id) {
    id division name birthDate idNumber phone residenceAddress disability
    household { householdNumber }
    agreements { signedOn }
    enrolments { grade className }
    healthEvents { icd10 }
    cases { openedAt summary }
    sources { system recordId }
  }
}
"""


def child_record(store: GraphStore) -> None:
    """The fixture family (tests/contract), with the child's record filled in and the records
    that put the child in the relationship-scoped roles' rows."""
    family(store)
    store.upsert_nodes(
        [
            person(
                "child",
                name="甲乙",
                birth_date="2015-03-01",
                sex="F",
                hukou_type="rural",
                id_number="500101201503011234",
                phone="13812345678",
                residence_address="重庆市宁川县青石镇龙桥村3组12号",
                disability="intellectual-2",
            ),
            NodeRecord(
                node_id("Agreement", "A1"),
                {"kind": "entrustment", "signed_on": "2024-02-01", "division": VILLAGE},
                CASEWORK,
            ),
            NodeRecord(
                node_id("HealthEvent", "HE1"),
                {"kind": "diagnosis", "icd10": "F84.0", "occurred_on": "2025-06-01", "facility": "F1",
                 "division": VILLAGE},
                CLINIC,
            ),
            *(
                NodeRecord(
                    node_id("ProtectionCase", f"C-{aid}"),
                    {"kind": "neglect", "status": "open", "opened_at": "2026-04-01", "agency": aid,
                     "division": VILLAGE, "summary": "邻居反映孩子长期独自在家"},
                    CASEWORK,
                )
                for aid in REFERRED
            ),
        ]
    )  # fmt: skip
    child = node_id("Person", "child")
    store.upsert_rels(
        [
            RelRecord(
                "ENROLLED_AT",
                child,
                node_id("School", "S1"),
                {"grade": "5", "boarding": True, "status": "enrolled", "class_name": "五年级二班"},
                SCHOOL,
                qualifier="2024",
            ),
            RelRecord("COVERS", node_id("Agreement", "A1"), child, {}, CASEWORK),
            RelRecord("CONCERNS", node_id("HealthEvent", "HE1"), child, {}, CLINIC),
            *(
                RelRecord("CONCERNS", node_id("ProtectionCase", f"C-{aid}"), child, {}, CASEWORK)
                for aid in REFERRED
            ),
        ]
    )


class RoleApi:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def query(self, who: str, purpose: str | None = "case_work", query: str = QUERY) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if purpose:
            headers["X-Purpose-Of-Use"] = purpose
        r = self.client.post(
            "/graphql", json={"query": query, "variables": {"id": "person:child"}}, headers=headers
        )
        assert r.status_code == 200, r.text
        return r.json()


def serve_roles(tmp_path: Path) -> Iterator[RoleApi]:
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256)
    agencies = {
        k: (aid, atype, juris, inst, role, "read:identity")
        for k, (aid, atype, role, juris, inst, _) in ROLES.items()
    }
    for client, tokens, _ in start_app(settings, agencies, child_record):
        yield RoleApi(client, tokens)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoleApi]:
    yield from serve_roles(tmp_path_factory.mktemp("roles"))


def _cells(value: Any, path: tuple[str, ...], at: list[str | int]) -> list[tuple[list[str | int], Any]]:
    """Every (response path, value) the column's path reaches: lists are walked element by element."""
    if not path:
        return [(at, value)]
    if isinstance(value, list):
        out = []
        for i, item in enumerate(value):
            out += _cells(item, path, [*at, i])
        return out
    assert isinstance(value, dict), (at, value)
    return _cells(value[path[0]], path[1:], [*at, path[0]])


def _errors_by_path(body: dict[str, Any]) -> dict[tuple[str | int, ...], dict[str, Any]]:
    return {tuple(e["path"]): e for e in body.get("errors", [])}


def test_the_matrix_covers_every_agency_type_and_role_of_the_default_policy() -> None:
    from auth.policy import Policy

    policy = Policy.load()
    declared = {(t, r) for t, info in policy.agency_types.items() for r in info.roles}
    tested = {(atype, role) for _, atype, role, *_ in ROLES.values()}
    assert tested == declared
    assert set(MATRIX) == set(ROLES)
    assert all(len(row.split()) == len(COLUMNS) for row in MATRIX.values())


def test_the_list_fields_have_exactly_the_fixture_records(api: RoleApi) -> None:
    person = api.query("civil_caseworker")["data"]["person"]
    assert len(person["agreements"]) == 1
    assert len(person["enrolments"]) == 1
    assert len(person["healthEvents"]) == 1
    assert len(person["cases"]) == len(REFERRED)


@pytest.mark.parametrize("who", list(MATRIX))
def test_role_sees_exactly_its_row(api: RoleApi, who: str) -> None:
    body = api.query(who)
    person = body["data"]["person"]
    assert person is not None, (who, body.get("errors"))
    # Row scope by the role's own rule: the child is there, with the unclassified keys.
    assert person["id"] == "person:child"
    assert person["division"] == VILLAGE
    errors = _errors_by_path(body)
    expected_error_paths: set[tuple[str | int, ...]] = set()
    for letter, (column, (path, full, masked)) in zip(MATRIX[who].split(), COLUMNS.items(), strict=True):
        if letter == "X":
            assert person[path[0]] == [], f"{who}.{column}: a denied list must be empty"
            assert ("person", path[0]) not in errors, who
            continue
        cells = _cells(person, path, ["person"])
        assert cells, f"{who}: no {column} in the response"
        for at, value in cells:
            where = f"{who}.{column} at {at}"
            if letter == "A":
                assert value == full, where
                assert tuple(at) not in errors, where
            elif letter == "M":
                assert value == masked, where
                assert tuple(at) not in errors, where
            else:
                assert letter == "D", where
                assert value is None, where
                err = errors.get(tuple(at))
                assert err is not None, f"{where}: denied without an error"
                assert err["extensions"] == {"code": "FORBIDDEN", "reason": "denied_by_policy"}, where
                assert err["message"] == say("api.field_denied"), where
                expected_error_paths.add(tuple(at))
    assert set(errors) == expected_error_paths, who


def test_without_a_purpose_every_sensitive_field_is_denied_purpose_required(api: RoleApi) -> None:
    body = api.query("civil_caseworker", purpose=None)
    person = body["data"]["person"]
    # Keys and the division (system, location) need no purpose.
    assert person["id"] == "person:child"
    assert person["division"] == VILLAGE
    errors = _errors_by_path(body)
    for column, (path, _, _) in COLUMNS.items():
        for at, value in _cells(person, path, ["person"]):
            assert value is None, column
            assert errors[tuple(at)]["extensions"]["reason"] == "purpose_required", column
    assert {e["extensions"]["reason"] for e in body["errors"]} == {"purpose_required"}


def test_a_purpose_that_does_not_cover_a_class_masks_or_denies_it(api: RoleApi) -> None:
    body = api.query("civil_caseworker", purpose="statistics")
    person = body["data"]["person"]
    errors = _errors_by_path(body)
    # statistics: identity masked, contact and narratives not permitted, case dates in full.
    assert person["name"] == "甲*"
    assert person["idNumber"] == "500***********1234"
    assert person["phone"] is None
    assert errors[("person", "phone")]["extensions"]["reason"] == "purpose_not_permitted"
    assert person["cases"][0]["openedAt"] == "2026-04-01"
    assert person["cases"][0]["summary"] is None
    assert errors[("person", "cases", 0, "summary")]["extensions"]["reason"] == "purpose_not_permitted"


def test_an_undeclared_purpose_code_is_not_permitted(api: RoleApi) -> None:
    body = api.query("civil_caseworker", purpose="curiosity")
    person = body["data"]["person"]
    assert person["name"] is None and person["idNumber"] is None
    assert {e["extensions"]["reason"] for e in body["errors"]} == {"purpose_not_permitted"}


def test_the_auditor_with_the_audit_purpose(api: RoleApi) -> None:
    body = api.query("auditor", purpose="audit")
    person = body["data"]["person"]
    assert (person["name"], person["idNumber"], person["phone"]) == (
        "甲*",
        "500***********1234",
        "138****5678",
    )
    assert person["cases"][0]["openedAt"] == "2026-04-01"
    assert person["sources"] == [{"system": "police_hukou", "recordId": "HK-1"}]


# The parents' migrant work (family class) as each role sees it, read through the child:
# "-" = the parents are outside the role's rows (they are nobody's pupils, patients or
# referred cases), so `parents` is empty; A/M/D as above for the father's worksAway and
# workDestination (masked: worksAway kept, the destination cut to its province, and
# 广东东莞 names none, so ***).
PARENTS: dict[str, str] = {
    "civil_caseworker": "A", "civil_supervisor": "A", "civil_director": "A",
    "township_caseworker": "A", "township_leader": "A", "village_supervisor": "A",
    "edu_teacher": "-", "edu_registrar": "-", "edu_bureau": "M",
    "police_officer": "A", "police_registrar": "A",
    "health_doctor": "-", "health_officer": "M",
    "justice_lawyer": "-", "justice_officer": "-", "court_judge": "-", "court_clerk": "-",
    "prosecutor": "-", "womens_federation": "M", "dpf_officer": "M", "dpf_rehab": "-",
    "social_worker": "-", "welfare_staff": "-", "auditor": "M", "analyst": "M",
}  # fmt: skip
FATHER = {"A": ("father", True, "广东东莞"), "M": ("father", True, "***")}

PARENTS_QUERY = """
query Parents($id: ID!) { person(id: $id) { parents { role person { id worksAway workDestination } } } }
"""


@pytest.mark.parametrize("who", list(PARENTS))
def test_role_sees_the_parents_migrant_work_as_its_row_says(api: RoleApi, who: str) -> None:
    body = api.query(who, query=PARENTS_QUERY)
    assert "errors" not in body, body["errors"]
    parents = body["data"]["person"]["parents"]
    if PARENTS[who] == "-":
        assert parents == []
        return
    father = next(p for p in parents if p["person"]["id"] == "person:father")
    assert (father["role"], father["person"]["worksAway"], father["person"]["workDestination"]) == FATHER[
        PARENTS[who]
    ]
    assert {p["person"]["id"] for p in parents} == {"person:father", "person:mother"}
