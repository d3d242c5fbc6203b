"""memberAgencies stays read_audit_log-only however it is asked (alias, fragment, batch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.model import node_id
from tests.api_fixtures import Api, serve


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(Path(tmp_path_factory.mktemp("ma")))


QUERIES = [
    "{ m: memberAgencies { id name } }",
    "query { ...F } fragment F on Query { memberAgencies { id name agencyType } }",
    "{ a: me { role } b: memberAgencies { name } c: memberAgencies { id } }",
    "{ ... on Query { memberAgencies { id } } }",
]


@pytest.mark.parametrize("who", ["police", "civil", "analyst", "county", "village"])
@pytest.mark.parametrize("query", QUERIES)
def test_non_auditor_gets_no_agency(api: Api, who: str, query: str) -> None:
    for purpose in ("case_work", "audit", None):
        r = api.gql(who, query, purpose=purpose)
        body = r.text
        assert "ps-500101" not in body and "aud-500101" not in body, (who, purpose, body)


def test_batched_non_auditor(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['police']}", "X-Purpose-Of-Use": "audit"}
    r = api.client.post(
        "/graphql",
        json=[{"query": "{ me { role } }"}, {"query": "{ memberAgencies { id name } }"}],
        headers=headers,
    )
    assert "aud-500101" not in r.text, r.text


def test_auditor_sees_names(api: Api) -> None:
    r = api.gql("auditor", "{ memberAgencies { id name agencyType } }", purpose="audit").json()
    assert r["data"]["memberAgencies"]


def test_audit_label_name_is_masked_for_auditor(api: Api) -> None:
    """The console's "said by name" label asks person(id){name} as the auditor: the name comes masked."""
    pid = node_id("Person", "child")
    r = api.gql(
        "auditor", "query($p: ID!) { p0: person(id: $p) { id name } }", {"p": pid}, purpose="audit"
    ).json()
    assert "甲乙" not in str(r)


def test_member_agencies_audited_as_audit_review(api: Api) -> None:
    """Listing agencies to review is an auditor's act: its entry says so, as other audit fields' do."""
    api.gql("auditor", "query MA { memberAgencies { id } }", purpose="audit")
    page = api.gql(
        "auditor",
        '{ auditAccessesByAgency(agencyId: "aud-500101", first: 50) { entries { seq operation reasons } } }',
        purpose="audit",
    ).json()
    entries = page["data"]["auditAccessesByAgency"]["entries"]
    mine = [e for e in entries if "MA" in (e["operation"] or "")]
    assert mine and "audit_review" in mine[-1]["reasons"], entries


def test_refused_member_agencies_is_a_denied_attempt(api: Api) -> None:
    """A non-auditor asking for the agency list shows among the denied attempts an auditor reviews."""
    api.gql("police", "query Probe { memberAgencies { id } }")
    denied = api.gql(
        "auditor",
        "{ auditDeniedAttempts(first: 200) { entries { agencyId operation decision } } }",
        purpose="audit",
    ).json()
    ops = {(e["agencyId"], e["operation"]) for e in denied["data"]["auditDeniedAttempts"]["entries"]}
    assert ("ps-500101", "query Probe") in ops, ops
