"""The child profile over HTTP as each agency sees it: scope, masks, denials, errors, audit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_fixtures import Api, serve

PROFILE = """
query ChildProfile($id: ID!) {
  person(id: $id) {
    id name idNumber birthDate
    household { householdNumber members { relationToHead person { id name } } }
    parents { role person { id name worksAway workDestination } }
    guardians { kind since person { id name } }
    enrolments { grade boarding school { name } }
    sources { system recordId }
  }
}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("api"))


def test_police_see_the_whole_profile(api: Api) -> None:
    r = api.gql("police", PROFILE, {"id": "person:child"})
    assert r.status_code == 200, r.text
    body = r.json()
    person = body["data"]["person"]
    assert person["name"] == "甲乙"
    assert {p["role"] for p in person["parents"]} == {"father", "mother"}
    father = next(p for p in person["parents"] if p["role"] == "father")
    assert father["person"]["worksAway"] is True
    assert person["guardians"][0]["kind"] == "entrusted"
    assert person["guardians"][0]["person"]["id"] == "person:granny"


def test_village_supervisor_sees_a_child_of_their_village(api: Api) -> None:
    r = api.gql("village", PROFILE, {"id": "person:child"})
    person = r.json()["data"]["person"]
    assert person["name"] == "甲乙"


def test_other_village_gets_the_same_answer_as_for_a_missing_child(api: Api) -> None:
    other = api.gql("village2", PROFILE, {"id": "person:child"}).json()
    missing = api.gql("village2", PROFILE, {"id": "person:nobody"}).json()
    assert other["data"]["person"] is None
    assert other["errors"][0]["extensions"]["reason"] == "not_found_or_out_of_scope"
    assert other["errors"][0]["message"] == missing["errors"][0]["message"]
    assert "甲乙" not in str(other)


def test_bad_query_is_a_graphql_error_not_a_500(api: Api) -> None:
    r = api.gql("police", 'query { person(id: "person:child") { nmae } }')
    assert r.status_code == 200
    err = r.json()["errors"][0]
    assert "Did you mean" not in err["message"]
    assert "Traceback" not in r.text


def test_missing_token_is_401(api: Api) -> None:
    r = api.client.post("/graphql", json={"query": '{ person(id: "person:child") { name } }'})
    assert r.status_code == 401
    assert "甲乙" not in r.text


def test_every_request_left_an_intact_audit_trail_without_personal_data(api: Api) -> None:
    import io

    from auth.audit import AuditLog
    from kernel.db import make_engine

    # The requests whose trail this test reads are its own (tests run in any order).
    api.gql("village2", PROFILE, {"id": "person:child"})
    api.gql("police", PROFILE, {"id": "person:child"})
    api.gql("village", PROFILE, {"id": "person:child"})
    engine = make_engine(api.settings.sql_url)
    log = AuditLog(engine)
    assert log.verify().ok
    seen = log.accesses_to_record("person:child")
    assert {e.agency_id for e in seen.items} >= {"ps-500101", "vc-500101001001"}
    denied = log.denied_attempts()
    assert "vc-500101002001" in {e.agency_id for e in denied.items}
    out = io.StringIO()
    log.export_jsonl(out)
    assert "甲乙" not in out.getvalue() and "广东东莞" not in out.getvalue()
    engine.dispose()
