"""Ways around row scope and field policy that must all fail.

The fixture family (tests/contract) plus a second child out of the callers' scope: 甲壬, the
uncle's son, in village 500101002001, in household H2 there, with the uncle as his guardian,
enrolled at school S2, treated at facility F2, with a case assigned to another court. The
uncle is also registered in the grandmother's household H1, so callers who may see the uncle
stand one step from 甲壬 — there is something to leak, and a path to try.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from graph.model import node_id
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord
from graph.search import name_key
from kernel.messages import say
from kernel.settings import Settings
from tests.api_fixtures import start_app
from tests.contract.test_graph_store import (
    HUKOU,
    SCHOOL,
    TOWN,
    VILLAGE,
    VILLAGE2,
    family,
    person,
    registered,
)

COUNTY = "500101000000"
TOWN2 = "500101002000"
ELSEWHERE = "500102000000"
CASEWORK = Assertion("civil_affairs", "CA-9", datetime(2026, 4, 10, 10, 0))
CLINIC = Assertion("health", "HIS-4", datetime(2026, 4, 11, 10, 0))

# key: (agency id, type, role, jurisdiction, institutions)
AGENCIES: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "village": ("vc-1", "village_committee", "child_welfare_supervisor", VILLAGE, ()),
    "village2": ("vc-2", "village_committee", "child_welfare_supervisor", VILLAGE2, ()),
    "township": ("tw-1", "township", "caseworker", TOWN, ()),
    "teacher": ("edu-s1", "education", "teacher", ELSEWHERE, ("S1",)),
    "doctor": ("hc-f1", "health", "doctor", ELSEWHERE, ("F1",)),
    "court": ("crt-1", "court", "judge", ELSEWHERE, ()),
    "analyst": ("ana-1", "analyst", "analyst", COUNTY, ()),
    "police": ("ps-1", "public_security", "officer", COUNTY, ()),
}

# Every personal value in the graph: none may appear in a response its reader may not see.
PEOPLE: dict[str, dict[str, str]] = {
    "child": {"name": "甲乙", "id_number": "500101201503011234", "phone": "13812345678"},
    "father": {"name": "甲丙", "id_number": "500101198801012218", "phone": "13900002218"},
    "mother": {"name": "丁戊", "id_number": "500101199002023341", "phone": "13900003341"},
    "granny": {"name": "己庚", "id_number": "500101195505054426", "phone": "13900004426"},
    "uncle": {"name": "甲辛", "id_number": "500101198306065531", "phone": "13900005531"},
    "other": {"name": "甲壬", "id_number": "500101201707076612", "phone": "13900006612"},
}
OTHER = PEOPLE["other"]
OTHER_CASE = "邻居反映甲壬的父亲酗酒打人"
OTHER_DIAGNOSIS = "T74.1"


def populate(store: GraphStore) -> None:
    family(store)
    p = lambda k: node_id("Person", k)  # noqa: E731
    store.upsert_nodes(
        [
            person("child", name="甲乙", birth_date="2015-03-01", sex="F", hukou_type="rural",
                   id_number=PEOPLE["child"]["id_number"], phone=PEOPLE["child"]["phone"],
                   name_pinyin=name_key("甲乙")),
            person("father", name="甲丙", works_away=True, work_destination="广东东莞",
                   id_number=PEOPLE["father"]["id_number"], phone=PEOPLE["father"]["phone"]),
            person("mother", name="丁戊", works_away=True,
                   id_number=PEOPLE["mother"]["id_number"], phone=PEOPLE["mother"]["phone"]),
            person("granny", name="己庚", guardianship_capacity=True,
                   id_number=PEOPLE["granny"]["id_number"], phone=PEOPLE["granny"]["phone"]),
            person("uncle", name="甲辛", division=VILLAGE2,
                   id_number=PEOPLE["uncle"]["id_number"], phone=PEOPLE["uncle"]["phone"]),
            person("other", name="甲壬", division=VILLAGE2, birth_date="2017-07-07", sex="M",
                   id_number=OTHER["id_number"], phone=OTHER["phone"], name_pinyin=name_key("甲壬"),
                   residence_address="重庆市宁川县石桥镇河坝村5组8号", disability="visual-1"),
            NodeRecord(node_id("Division", TOWN2), {"code": TOWN2, "name": "D2000", "level": "township",
                                                    "parent_code": COUNTY, "division": TOWN2}, HUKOU),
            NodeRecord(node_id("Household", "H2"),
                       {"household_number": "H2", "hukou_type": "rural", "division": VILLAGE2}, HUKOU),
            NodeRecord(node_id("School", "S2"), {"code": "S2", "name": "河坝小学", "division": TOWN2},
                       SCHOOL),
            NodeRecord(node_id("HealthEvent", "HE-other"),
                       {"kind": "injury", "icd10": OTHER_DIAGNOSIS, "occurred_on": "2026-02-02",
                        "facility": "F2", "division": VILLAGE2}, CLINIC),
            NodeRecord(node_id("ProtectionCase", "C-other"),
                       {"kind": "abuse", "status": "open", "opened_at": "2026-03-03", "agency": "crt-other",
                        "division": VILLAGE2, "summary": OTHER_CASE}, CASEWORK),
            # The child's own case, assigned to the court that is one of the callers.
            NodeRecord(node_id("ProtectionCase", "C-child"),
                       {"kind": "neglect", "status": "open", "opened_at": "2026-04-01", "agency": "crt-1",
                        "division": VILLAGE, "summary": "邻居反映孩子长期独自在家"}, CASEWORK),
        ]
    )  # fmt: skip
    store.upsert_rels(
        [
            RelRecord("PART_OF", node_id("Division", TOWN2), node_id("Division", COUNTY), {}, HUKOU),
            RelRecord("MEMBER_OF", p("uncle"), node_id("Household", "H1"), {"relation_to_head": "子"}, HUKOU),
            RelRecord("MEMBER_OF", p("uncle"), node_id("Household", "H2"), {"relation_to_head": "户主"},
                      HUKOU),
            RelRecord("MEMBER_OF", p("other"), node_id("Household", "H2"), {"relation_to_head": "子"}, HUKOU),
            RelRecord("PARENT_OF", p("uncle"), p("other"), {"role": "father"}, HUKOU),
            RelRecord("GUARDIAN_OF", p("uncle"), p("other"), {"kind": "legal", "since": "2017-07-07"}, HUKOU),
            RelRecord("ENROLLED_AT", p("other"), node_id("School", "S2"), {"grade": "3"}, SCHOOL,
                      qualifier="2024"),
            RelRecord("CONCERNS", node_id("HealthEvent", "HE-other"), p("other"), {}, CLINIC),
            RelRecord("CONCERNS", node_id("ProtectionCase", "C-other"), p("other"), {}, CASEWORK),
            RelRecord("CONCERNS", node_id("ProtectionCase", "C-child"), p("child"), {}, CASEWORK),
        ]
    )  # fmt: skip
    registered(store, ("child", "father", "mother", "granny", "uncle", "other"))


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def post(
        self, who: str, query: str, variables: dict | None = None, purpose: str = "case_work"
    ) -> httpx.Response:
        return self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.tokens[who]}", "X-Purpose-Of-Use": purpose},
        )

    def gql(self, who: str, query: str, variables: dict | None = None, purpose: str = "case_work") -> dict:
        r = self.post(who, query, variables, purpose)
        assert r.status_code == 200, r.text
        return r.json()


def serve_bypass(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256)
    agencies = {
        k: (aid, atype, juris, inst, role, "read:identity")
        for k, (aid, atype, role, juris, inst) in AGENCIES.items()
    }
    for client, tokens, _ in start_app(settings, agencies, populate):
        yield Api(client, tokens)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_bypass(tmp_path_factory.mktemp("bypass"))


def _values(*keys: str, fields: tuple[str, ...] = ("name", "id_number", "phone")) -> set[str]:
    return {PEOPLE[k][f] for k in keys for f in fields}


def assert_absent(text: str, values: set[str]) -> None:
    """None of the values anywhere in the response text, raw or JSON-escaped."""
    for v in values:
        assert v not in text, v
        assert json.dumps(v)[1:-1] not in text, v


def _ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


NOT_FOUND = {"code": "NOT_FOUND", "reason": "not_found_or_out_of_scope"}


# ---- households ------------------------------------------------------------------------------


def test_a_household_lists_only_the_members_in_scope(api: Api) -> None:
    # The uncle is registered in H1 too, so village 2 may see him, and H1 through him; the
    # child and the grandmother in H1 live in village 1 and stay hidden.
    r = api.post(
        "village2",
        """{ person(id: "person:uncle") { name
              household { householdNumber members { relationToHead person { id name } } } } }""",
    )
    person = r.json()["data"]["person"]
    assert person["name"] == "甲辛"
    assert person["household"]["householdNumber"] == "H1"
    assert [m["person"]["id"] for m in person["household"]["members"]] == ["person:uncle"]
    assert_absent(r.text, _values("child", "granny") | {"孙女", "户主"})


def test_a_school_sees_its_pupil_but_not_the_pupils_household(api: Api) -> None:
    r = api.post(
        "teacher",
        """{ person(id: "person:child") { name
              household { householdNumber members { person { id name } } } } }""",
    )
    person = r.json()["data"]["person"]
    assert person["name"] == "甲乙"
    assert person["household"]["householdNumber"] == "***"
    assert [m["person"]["id"] for m in person["household"]["members"]] == ["person:child"]
    assert_absent(r.text, _values("granny", "uncle", "other"))


# ---- guardians, wards, parents, children -------------------------------------------------------


def test_a_guardian_in_scope_does_not_lead_to_wards_out_of_scope(api: Api) -> None:
    # Village 1 sees the uncle (registered in H1); his son and ward 甲壬 lives in village 2.
    r = api.post(
        "village",
        """{ person(id: "person:uncle") { name
              wards { kind person { id name } } children { role person { id name } } } }""",
    )
    person = r.json()["data"]["person"]
    assert person == {"name": "甲辛", "wards": [], "children": []}
    assert_absent(r.text, _values("other"))


def test_two_steps_through_the_family_do_not_lead_out_of_scope(api: Api) -> None:
    # granny → children → uncle (in scope) → wards/children → 甲壬 (not).
    r = api.post(
        "village",
        """{ person(id: "person:granny") { children { person { id
               wards { person { id name phone } } children { person { id name } } } } } }""",
    )
    children = {c["person"]["id"]: c["person"] for c in r.json()["data"]["person"]["children"]}
    assert set(children) == {"person:father", "person:uncle"}
    assert children["person:uncle"]["wards"] == children["person:uncle"]["children"] == []
    assert [c["person"]["id"] for c in children["person:father"]["children"]] == ["person:child"]
    assert_absent(r.text, _values("other"))


def test_a_court_sees_the_child_of_its_case_but_not_her_family(api: Api) -> None:
    r = api.post(
        "court",
        """{ person(id: "person:child") { name guardians { person { id name } } parents { person { id name } }
              household { members { person { id name } } } cases { agency summary } } }""",
    )
    person = r.json()["data"]["person"]
    assert person["name"] == "甲乙"
    assert person["guardians"] == [] and person["parents"] == []
    assert [m["person"]["id"] for m in person["household"]["members"]] == ["person:child"]
    assert [c["agency"] for c in person["cases"]] == ["crt-1"]
    assert_absent(r.text, _values("father", "mother", "granny", "uncle", "other") | {OTHER_CASE})


# ---- schools and cases: no field leads from them to people -------------------------------------

# Every field through which a person can be reached. A new one is a new way around row scope:
# add it here only together with a bypass test for it.
PATHS_TO_PEOPLE = {
    "Query.person",
    "Query.villageChildren",
    "Query.personByIdNumber",
    "Query.searchPeople",
    "Query.people",
    "Query._entities",
    "PersonConnection.edges",
    "PersonEdge.node",
    "Person.household",
    "Person.parents",
    "Person.children",
    "Person.guardians",
    "Person.wards",
    "Household.members",
    "Kinship.person",
    "Guardianship.person",
    "Membership.person",
    # Workflow records name people; each is served through the guard's row scope (or null).
    "ProtectionCaseFile.child",
    "ProtectionCaseFile.emergencyActions",
    "ProtectionCaseFile.interventions",
    "EmergencyAction.person",
    "CaseIntervention.guardian",
    "CaseIntervention.newGuardian",
    "GuardianshipAgreement.guardian",
    "Query.protectionCase",
    "Query.protectionCases",
    "Query.agreements",
    *(
        f"Mutation.{m}"
        for m in (
            "arrangeServices",
            "closeCase",
            "completeService",
            "decideGuardianship",
            "notifyTownship",
            "openAssessment",
            "petitionCourt",
            "recordAgreement",
            "recordAssessment",
            "recordEmergencyAction",
            "recordFollowUp",
            "recordIntervention",
        )
    ),
    # The cross-check's examples: only people in the caller's scope.
    "Query.crossCheck",
    "CrossCheckReport.findings",
    "CrossCheckFinding.examples",
}


def test_schools_cases_and_events_lead_to_no_person() -> None:
    from graphql import GraphQLObjectType, GraphQLUnionType, get_named_type

    from api.schema import build_schema

    schema = build_schema()._schema
    leads: dict[str, set[str]] = {}  # type name → its fields whose type leads to a Person

    def reaches_person(type_name: str, seen: frozenset[str]) -> bool:
        named = schema.get_type(type_name)
        if type_name == "Person":
            return True
        if isinstance(named, GraphQLUnionType):
            return any(reaches_person(t.name, seen | {type_name}) for t in named.types)
        if not isinstance(named, GraphQLObjectType) or type_name in seen:
            return False
        return any(
            reaches_person(get_named_type(f.type).name, seen | {type_name}) for f in named.fields.values()
        )

    for name, named in schema.type_map.items():
        if isinstance(named, GraphQLObjectType) and not name.startswith("__"):
            leads[name] = {
                f
                for f, d in named.fields.items()
                if reaches_person(get_named_type(d.type).name, frozenset({name}))
            }
    found = {f"{t}.{f}" for t, fs in leads.items() for f in fs if t != "Person" or f != "id"}
    # Person's own fields that lead back to people are the family links; everything else
    # (enrolments → School, cases, events, agreements) ends without a person.
    assert found == PATHS_TO_PEOPLE
    for kind in ("School", "ProtectionCase", "HealthEvent", "EducationEvent", "Report", "Visit", "Agreement",
                 "Division", "Enrolment"):  # fmt: skip
        assert leads[kind] == set(), kind


def test_a_case_about_an_out_of_scope_child_does_not_reach_her(api: Api) -> None:
    for who in ("court", "village", "teacher", "doctor", "township"):
        r = api.post(who, '{ person(id: "person:other") { name cases { summary } healthEvents { icd10 } } }')
        body = r.json()
        assert body["data"] == {"person": None}, who
        assert body["errors"][0]["extensions"] == NOT_FOUND, who
        assert_absent(r.text, _values("other") | {OTHER_CASE, OTHER_DIAGNOSIS})


# ---- _entities ---------------------------------------------------------------------------------


def test_entities_resolve_only_people_in_scope(api: Api) -> None:
    query = """{ _entities(representations: [
        {__typename: "Person", id: "person:child"},
        {__typename: "Person", id: "person:other"},
        {__typename: "Person", id: "person:nobody"}
      ]) { ... on Person { id name idNumber phone } } }"""
    r = api.post("village", query)
    body = r.json()
    entities = body["data"]["_entities"]
    assert entities[0]["name"] == "甲乙"
    assert entities[1] is None and entities[2] is None
    by_path = {tuple(e["path"]): e for e in body["errors"]}
    assert by_path[("_entities", 1)]["extensions"] == NOT_FOUND
    assert by_path[("_entities", 1)]["message"] == by_path[("_entities", 2)]["message"]
    assert_absent(r.text, _values("other"))


@pytest.mark.parametrize(
    "representation",
    [
        '{__typename: "Household", id: "household:H2"}',
        '{__typename: "ProtectionCase", id: "protectioncase:C-other"}',
        '{__typename: "HealthEvent", id: "healthevent:HE-other"}',
        '{__typename: "Person", id: "person:other", name: "甲壬"}',
        '{__typename: "NoSuchType", id: "person:other"}',
    ],
)
def test_entities_of_other_kinds_reveal_nothing(api: Api, representation: str) -> None:
    query = f"""{{ _entities(representations: [{representation}]) {{
        ... on Household {{ householdNumber members {{ person {{ name }} }} }}
        ... on ProtectionCase {{ summary }} ... on HealthEvent {{ icd10 }}
        ... on Person {{ name phone }} }} }}"""
    r = api.post("village", query)
    body = r.json()
    assert body.get("data") in (None, {"_entities": None}, {"_entities": [None]})
    assert body["errors"]
    assert "Traceback" not in r.text
    assert_absent(r.text, _values("other", "uncle") | {"H2", OTHER_CASE, OTHER_DIAGNOSIS})


@pytest.mark.parametrize(
    ("who", "node"),
    [
        ("village2", "household:H2"),
        ("village2", "protectioncase:C-other"),
        ("village2", "healthevent:HE-other"),
        ("village", "division:500101001001"),
        ("village", "household:H1"),
        ("teacher", "school:S1"),
    ],
)
def test_a_record_of_another_kind_is_not_served_as_a_person(api: Api, who: str, node: str) -> None:
    # Type confusion: these ids name records in the caller's area; `person` and `_entities`
    # used to wrap them as a Person judged on the record's own division.
    missing = api.gql(who, '{ person(id: "person:nobody") { id division name } }')
    direct = api.gql(who, f'{{ person(id: "{node}") {{ id division name }} }}')
    assert direct == missing
    via = api.gql(
        who,
        f'{{ _entities(representations: [{{__typename: "Person", id: "{node}"}}]) '
        "{ ... on Person { id division } } }",
    )
    assert via["data"] == {"_entities": [None]}
    assert via["errors"][0]["extensions"] == NOT_FOUND


# ---- search, ID number, division listing --------------------------------------------------------


def test_looking_up_an_out_of_scope_id_number_is_like_looking_up_none(api: Api) -> None:
    query = "query ($n: String!) { personByIdNumber(idNumber: $n) { id name } }"
    # The township sees ID numbers in full; the other child is outside its jurisdiction.
    other = api.post("township", query, {"n": OTHER["id_number"]})
    missing = api.post("township", query, {"n": "500101201707070000"})
    assert other.json() == missing.json()
    assert other.json()["errors"][0]["extensions"] == NOT_FOUND
    assert_absent(other.text, _values("other"))
    own = api.gql("township", query, {"n": PEOPLE["child"]["id_number"]})
    assert own["data"]["personByIdNumber"] == {"id": "person:child", "name": "甲乙"}
    # The village committee sees ID numbers masked: no lookup by one at all, whatever the number
    # (a lookup would confirm a guess the mask hides).
    refused = [api.post("village", query, {"n": n}).json() for n in (PEOPLE["child"]["id_number"], "1")]
    assert refused[0] == refused[1]
    assert refused[0]["errors"][0]["extensions"] == {"code": "FORBIDDEN", "reason": "lookup_not_permitted"}


def test_search_and_listing_return_only_people_in_scope(api: Api) -> None:
    searched = api.post("village", '{ searchPeople(name: "甲壬") { edges { node { id name } } } }')
    assert _ids(searched.json()["data"]["searchPeople"]) == []
    # Same sound, other characters (homophone search): still nobody out of scope.
    homophone = api.post("village", '{ searchPeople(name: "佳任") { edges { node { id name } } } }')
    assert _ids(homophone.json()["data"]["searchPeople"]) == []
    listed = api.post("village", '{ people(division: "500101002001") { edges { node { id name } } } }')
    assert _ids(listed.json()["data"]["people"]) == ["person:uncle"]
    county = api.post("village", '{ people(division: "500101000000", first: 100) { edges { node { id } } } }')
    assert _ids(county.json()["data"]["people"]) == [
        "person:child", "person:father", "person:granny", "person:mother", "person:uncle",
    ]  # fmt: skip
    for r in (searched, homophone, listed, county):
        assert_absent(r.text, _values("other"))
    # The one who may see 甲壬 finds him: the searches above are not simply broken.
    found = api.gql("village2", '{ searchPeople(name: "甲壬") { edges { node { id name } } } }')
    assert _ids(found["data"]["searchPeople"]) == ["person:other"]


def test_page_cursors_do_not_reveal_out_of_scope_people(api: Api) -> None:
    texts = [
        api.post("village", '{ searchPeople(name: "甲壬") { pageInfo { endCursor hasNextPage } } }').text,
        api.post(
            "village",
            '{ people(division: "500101000000", first: 5) { edges { node { id } } pageInfo { endCursor } } }',
        ).text,
        api.post(
            "village",
            '{ people(division: "500101000000", first: 1, after: "person:mother") '
            "{ pageInfo { endCursor } } }",
        ).text,
    ]
    for text in texts:
        assert "person:other" not in text


# ---- aliases and fragments ---------------------------------------------------------------------


def test_aliases_and_fragments_get_the_same_decision_as_the_field(api: Api) -> None:
    # The analyst: identity masked, ID numbers and phones denied.
    query = """
    query { person(id: "person:child") {
        idNumber a: idNumber b: idNumber ...Ids ... on Person { c: idNumber phone name }
        n: name ...Deeper
        household { ... on Household { members { person { ...Ids } } } }
    } }
    fragment Ids on Person { d: idNumber e: phone name }
    fragment Deeper on Person { ... on Person { ...Ids f: idNumber } }
    """
    r = api.post("analyst", query)
    body = r.json()
    person = body["data"]["person"]
    for key in ("idNumber", "a", "b", "c", "d", "e", "f", "phone"):
        assert person[key] is None, key
    assert person["name"] == person["n"] == "甲*"
    member = person["household"]["members"][0]["person"]
    assert member["d"] is None and member["e"] is None and member["name"] in ("甲*", "己*")
    denied = {tuple(e["path"]) for e in body["errors"]}
    for key in ("idNumber", "a", "b", "c", "d", "e", "f", "phone"):
        assert ("person", key) in denied, key
    assert all(e["extensions"]["reason"] == "denied_by_policy" for e in body["errors"])
    assert_absent(r.text, _values("child", "father", "mother", "granny", "uncle", "other"))


def test_an_alias_does_not_unmask_a_masked_field(api: Api) -> None:
    # Village committee: ID numbers masked.
    r = api.post(
        "village",
        'query { person(id: "person:child") { idNumber x: idNumber ...F ... on Person { y: idNumber } } }'
        " fragment F on Person { z: idNumber }",
    )
    person = r.json()["data"]["person"]
    assert set(person.values()) == {"500***********1234"}
    assert_absent(r.text, {PEOPLE["child"]["id_number"]})


# ---- errors never echo personal data ------------------------------------------------------------


ECHO_ATTEMPTS: list[tuple[str, dict[str, Any]]] = [
    # A variable of the wrong type: graphql-core quotes the value it could not coerce.
    ("query ($n: String!) { personByIdNumber(idNumber: $n) { id } }", {"n": int(OTHER["id_number"])}),
    ("query ($n: ID!) { person(id: $n) { id } }", {"n": {"name": OTHER["name"], "phone": OTHER["phone"]}}),
    ("query ($n: String!) { personByIdNumber(idNumber: $n) { id } }", {"n": [OTHER["name"]]}),
    ('query ($n: Int) { searchPeople(name: "x", first: $n) { edges { cursor } } }', {"n": OTHER["phone"]}),
    # A literal of the wrong type: "found <value>".
    (f"{{ personByIdNumber(idNumber: {OTHER['id_number']}) {{ id }} }}", {}),
    (f'{{ searchPeople(name: "x", first: "{OTHER["name"]}") {{ edges {{ cursor }} }} }}', {}),
    (f'{{ people(division: "1", first: {OTHER["phone"]}) {{ edges {{ cursor }} }} }}', {}),
    # Syntax errors around a value: the lexer quotes the offending token or character.
    (f"{{ person(id: {OTHER['name']}) {{ id }} }}", {}),
    (f'{{ person(id: "person:other") {{ id }} }} "{OTHER["name"]}"', {}),
    (f'{{ person(id: "person:other" {OTHER["id_number"]}) {{ id }} }}', {}),
    (f'{{ person(id: """{OTHER["name"]}) {{ id }} }}', {}),
    # Unknown arguments and fields around values.
    (f'{{ personByIdNumber(idNumber: "{OTHER["id_number"]}", name: "{OTHER["name"]}") {{ id }} }}', {}),
    (f'{{ person(id: "person:other") {{ id nmae(x: "{OTHER["name"]}") }} }}', {}),
    # A name the caller wrote, carrying a number: said back in the engine's refusal it would be the
    # number itself in an error panel (the audit log's operation name refuses such a name too).
    (f'{{ person(id: "person:other") {{ id n{OTHER["id_number"]} }} }}', {}),
    (f'{{ person(id: "person:other", p{OTHER["phone"]}: 1) {{ id }} }}', {}),
    (f"query ($v{OTHER['id_number']}: ID) {{ __typename }}", {}),
    (f'{{ person(id: "person:other") {{ ...F }} }} fragment F on T{OTHER["id_number"]} {{ id }}', {}),
    (f'{{ person(id: "person:other") {{ ...F{OTHER["phone"]} }} }}', {}),
    # An out-of-scope lookup by each key.
    (f'{{ personByIdNumber(idNumber: "{OTHER["id_number"]}") {{ name phone }} }}', {}),
    (f'{{ searchPeople(name: "{OTHER["name"]}") {{ edges {{ node {{ name phone }} }} }} }}', {}),
    ('{ person(id: "person:other") { name phone idNumber } }', {}),
]


@pytest.mark.parametrize(("query", "variables"), ECHO_ATTEMPTS)
def test_no_error_echoes_a_personal_value(api: Api, query: str, variables: dict[str, Any]) -> None:
    r = api.post("village", query, variables)
    assert r.status_code in (200, 400), r.text
    assert "Traceback" not in r.text
    # The caller sent 甲壬's values themselves, and may not see him: nothing comes back.
    assert_absent(r.text, _values("other"))


def test_an_unknown_operation_name_is_a_clean_400(api: Api) -> None:
    for name in (OTHER["name"] + OTHER["id_number"], "B"):
        r = api.client.post(
            "/graphql",
            json={"query": 'query A { person(id: "person:child") { id } }', "operationName": name},
            headers={"Authorization": f"Bearer {api.tokens['village']}", "X-Purpose-Of-Use": "case_work"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert_absent(r.text, _values("other", "child"))
    r = api.client.post(
        "/graphql",
        json={"query": "query A { __typename }", "operationName": ["A"]},
        headers={"Authorization": f"Bearer {api.tokens['village']}"},
    )
    assert r.status_code == 400, r.text


def test_several_operations_and_no_operation_name_is_refused(api: Api) -> None:
    """GraphQL spec 6.1 (GetOperation): a document of several operations without operationName is
    a request error. The first operation ran instead (the child's name came back) and went on the
    audit record as `query anonymous`, not as the operation that was served."""
    document = (
        'query A { person(id: "person:child") { id name } } query B { person(id: "person:child") { id } }'
    )
    for operation_name in (None, "C"):
        r = api.client.post(
            "/graphql",
            json={"query": document, "operationName": operation_name},
            headers={"Authorization": f"Bearer {api.tokens['village']}", "X-Purpose-Of-Use": "case_work"},
        )
        assert r.status_code == 400, r.text
        assert "data" not in r.json(), r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST", r.text
        assert r.json()["errors"][0]["message"] == say("api.operation_undetermined"), r.text
        assert_absent(r.text, _values("child"))
    r = api.client.post(
        "/graphql",
        json={"query": document, "operationName": "B"},
        headers={"Authorization": f"Bearer {api.tokens['village']}", "X-Purpose-Of-Use": "case_work"},
    )
    assert r.json() == {"data": {"person": {"id": "person:child"}}}, r.text


def test_a_value_the_api_cannot_serialize_is_not_quoted_back() -> None:
    # A store value of the wrong type makes graphql-core quote it ("String cannot represent
    # value: …"): that would be data in an error. The formatter says the catalogue's internal error
    # (the API's fault, not the caller's), with neither the engine's text nor the value.
    from graphql import GraphQLError

    from api.errors import format_error

    for message in (
        f"String cannot represent value: {OTHER['name']!r}",
        f"Boolean cannot represent a non boolean value: {OTHER['phone']!r}",
        f"Int cannot represent non-integer value: {OTHER['id_number']!r}",
        f"ID cannot represent value: {{'id_number': {OTHER['id_number']!r}}}",
    ):
        out = format_error(
            GraphQLError(message, path=["person", "name"], original_error=GraphQLError(message))
        )
        assert_absent(json.dumps(out, ensure_ascii=False), _values("other"))
        assert out["message"] == say("api.internal_error"), out


# ---- a denied or out-of-scope value never appears anywhere in a response -------------------------

PERSON_FIELDS = "id name idNumber phone birthDate residenceAddress disability"
EVERYTHING = f"""
query Everything {{
  child: person(id: "person:child") {{
    {PERSON_FIELDS} sources {{ recordId }} conflicts {{ attribute values }}
    household {{ householdNumber members {{ relationToHead person {{ {PERSON_FIELDS} }} }} }}
    parents {{ role person {{ {PERSON_FIELDS} children {{ person {{ id name }} }} }} }}
    guardians {{ kind person {{ {PERSON_FIELDS} wards {{ person {{ id name idNumber }} }} }} }}
    cases {{ summary agency }} healthEvents {{ icd10 }} enrolments {{ grade school {{ name }} }}
  }}
  uncle: person(id: "person:uncle") {{ {PERSON_FIELDS} wards {{ person {{ {PERSON_FIELDS} }} }}
    children {{ person {{ {PERSON_FIELDS} }} }} household {{ members {{ person {{ {PERSON_FIELDS} }} }} }} }}
  other: person(id: "person:other") {{ {PERSON_FIELDS} }}
  byNumber: personByIdNumber(idNumber: "{OTHER["id_number"]}") {{ {PERSON_FIELDS} }}
  found: searchPeople(name: "{OTHER["name"]}") {{ edges {{ node {{ {PERSON_FIELDS} }} }} }}
  listed: people(division: "500101000000", first: 10) {{ edges {{ node {{ {PERSON_FIELDS} }} }} }}
  entities: _entities(representations: [{{__typename: "Person", id: "person:other"}}]) {{
    ... on Person {{ {PERSON_FIELDS} }} }}
}}
"""

# What each caller must never receive, by hand from the policy: out-of-scope people entirely;
# denied fields of anyone; masked fields in full.
NEVER: dict[str, set[str]] = {
    # village 1: everyone but 甲壬 in scope; ID numbers masked.
    "village": _values("other")
    | _values("child", "father", "mother", "granny", "uncle", fields=("id_number",))
    | {OTHER_CASE, OTHER_DIAGNOSIS, "HK-1"},
    # a teacher: only the pupil; her ID number masked.
    "teacher": _values("father", "mother", "granny", "uncle", "other")
    | {PEOPLE["child"]["id_number"], "HK-1"},
    # a court with the child's case: only her; her phone masked.
    "court": _values("father", "mother", "granny", "uncle", "other") | {PEOPLE["child"]["phone"], OTHER_CASE},
    # the analyst sees the whole county (甲壬 too) but nobody identifiable.
    "analyst": _values("child", "father", "mother", "granny", "uncle", "other")
    | {OTHER_CASE, "邻居反映孩子长期独自在家", OTHER_DIAGNOSIS, "HK-1"},
    # a doctor whose facility treated nobody here: nothing at all.
    "doctor": _values("child", "father", "mother", "granny", "uncle", "other")
    | {OTHER_CASE, OTHER_DIAGNOSIS},
}


@pytest.mark.parametrize("who", list(NEVER))
def test_nothing_denied_or_out_of_scope_appears_anywhere_in_a_response(api: Api, who: str) -> None:
    r = api.post(who, EVERYTHING)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "QUERY_TOO_EXPENSIVE" not in r.text and body.get("data") is not None, r.text[:500]
    assert_absent(r.text, NEVER[who])
