"""Lookups by identifying value and pseudonyms (issue 10, classes 2–4): a lookup by ID number or
name is for roles that see that value in full; each principal has a volume limit whose refusal
is audited; a pseudonymised network does not turn a real id into its pseudonym."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth.policy import Policy
from tests.api_fixtures import Api
from tests.security.field_support import ID_NUMBER, PEOPLE, serve_county

BY_ID = "query($n: String!) { personByIdNumber(idNumber: $n) { id } }"
SEARCH = 'query { searchPeople(name: "甲乙") { edges { node { id } } } }'
NETWORK = "query($s: ID!) { network(start: $s, depth: 1) { start pseudonymised nodes { id } } }"
DENIED = "query { auditDeniedAttempts(first: 100) { entries { agencyId reasons } } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_county(tmp_path_factory.mktemp("lookups"))


def _error(resp) -> dict:  # type: ignore[no-untyped-def]
    body = resp.json()
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]


@pytest.mark.parametrize("who", ["school", "village", "analyst", "auditor"])
def test_id_number_lookup_refused_where_the_number_is_masked_or_denied(api: Api, who: str) -> None:
    ext = _error(api.gql(who, BY_ID, {"n": ID_NUMBER}))
    assert ext["code"] == "FORBIDDEN" and ext["reason"] == "lookup_not_permitted"


def test_id_number_lookup_answers_a_role_that_sees_the_number(api: Api) -> None:
    body = api.gql("police", BY_ID, {"n": ID_NUMBER}).json()
    assert body["data"]["personByIdNumber"]["id"] == PEOPLE["ill"]


def test_name_search_refused_where_names_are_masked(api: Api) -> None:
    assert _error(api.gql("analyst", SEARCH, purpose="statistics"))["reason"] == "lookup_not_permitted"
    assert not api.gql("civil", SEARCH).json().get("errors")


def test_volume_limit_refuses_and_the_refusal_is_audited(api: Api) -> None:
    limit = Policy.load().lookups_per_hour
    for _ in range(limit):
        assert not api.gql("county", BY_ID, {"n": ID_NUMBER}).json().get("errors")
    ext = _error(api.gql("county", BY_ID, {"n": ID_NUMBER}))
    assert ext["code"] == "FORBIDDEN" and ext["reason"] == "lookup_limit"
    # Another principal's budget is its own.
    assert not api.gql("police", BY_ID, {"n": ID_NUMBER}).json().get("errors")
    entries = api.gql("auditor", DENIED, purpose="audit").json()["data"]["auditDeniedAttempts"]["entries"]
    assert any("lookup_limit" in e["reasons"] and e["agencyId"] == "ca-500101-sup" for e in entries)


def test_a_real_id_does_not_get_its_pseudonym_without_reidentification(api: Api) -> None:
    ext = _error(api.gql("analyst", NETWORK, {"s": PEOPLE["ill"]}, purpose=None))
    assert ext["code"] == "FORBIDDEN" and ext["reason"] == "pseudonym_required"
    # Nor under a purpose that masks identity (statistics): the pseudonym would still name the id.
    ext = _error(api.gql("analyst", NETWORK, {"s": PEOPLE["ill"]}, purpose="statistics"))
    assert ext["code"] == "FORBIDDEN" and ext["reason"] == "purpose_not_permitted"
    # With the capability (reidentify) and a purpose that sees identity it is allowed, and on the record.
    ok = api.gql("analyst", NETWORK, {"s": PEOPLE["ill"]}, purpose="assessment").json()
    assert not ok.get("errors"), ok
    assert ok["data"]["network"]["pseudonymised"] is True
    assert "~" in ok["data"]["network"]["start"]
