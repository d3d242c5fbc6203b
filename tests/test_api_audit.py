"""Auditors over GraphQL, and the case owner told of every other agency's look at its child."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from auth.audit import AuditLog
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.db import make_engine
from tests.api_fixtures import AGENCIES, Api, serve

PROFILE = '{ person(id: "person:child") { name idNumber } }'
WHO = """query Who($id: ID!) { auditAccessesToRecord(recordId: $id) {
  entries { seq agencyId agencyType role purpose operation decision deniedFields records } nextAfterSeq } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in serve(tmp_path_factory.mktemp("audit")):
        store = api.client.app.state.graph  # type: ignore[attr-defined]
        src = Assertion("manual", "case-1", datetime(2026, 5, 1))
        store.upsert_nodes(
            [
                NodeRecord(
                    "protectioncase:c1",
                    {"status": "open", "agency": "ca-500101", "division": "500101001001"},
                    src,
                )
            ]
        )
        store.upsert_rels([RelRecord("CONCERNS", "protectioncase:c1", "person:child", {}, src)])
        yield api


def test_auditor_finds_who_looked_at_a_child_and_who_was_refused(api: Api) -> None:
    assert api.gql("police", PROFILE).status_code == 200
    api.gql("village2", PROFILE)
    body = api.gql("auditor", WHO, {"id": "person:child"}, purpose="audit").json()
    entries = body["data"]["auditAccessesToRecord"]["entries"]
    agencies = {e["agencyId"] for e in entries}
    assert "ps-500101" in agencies
    # The police's profile read (its other entries, e.g. a refused audit query naming the child, may
    # come first in another test order).
    police = [(e["purpose"], e["operation"]) for e in entries if e["agencyId"] == "ps-500101"]
    assert ("case_work", "query anonymous") in police, police
    denied = api.gql(
        "auditor", "{ auditDeniedAttempts { entries { agencyId decision } } }", purpose="audit"
    ).json()
    assert "vc-500101002001" in {e["agencyId"] for e in denied["data"]["auditDeniedAttempts"]["entries"]}
    chain = api.gql("auditor", "{ auditChainStatus { ok checked } }", purpose="audit").json()
    assert chain["data"]["auditChainStatus"]["ok"] is True
    assert chain["data"]["auditChainStatus"]["checked"] >= 3


def test_only_auditors_read_the_audit_log(api: Api) -> None:
    body = api.gql("police", WHO, {"id": "person:child"}).json()
    assert body["data"] is None or body["data"].get("auditAccessesToRecord") is None
    assert body["errors"][0]["extensions"]["reason"] == "capability_missing"


def test_the_case_owner_is_told_of_other_agencies_access(api: Api) -> None:
    api.gql("police", PROFILE)
    engine = make_engine(api.settings.sql_url)
    pending = AuditLog(engine).pending_notifications("ca-500101")
    assert pending and all(n.kind == "record_accessed" for n in pending)
    assert any(
        n.payload["record_id"] == "person:child" and n.payload["accessor_agency_id"] == "ps-500101"
        for n in pending
    )
    assert "甲乙" not in str([n.payload for n in pending])
    engine.dispose()
    mine = api.gql("civil", '{ accessesToMyCase(personId: "person:child") { entries { agencyId } } }').json()
    others = {e["agencyId"] for e in mine["data"]["accessesToMyCase"]["entries"]}
    assert "ps-500101" in others and "ca-500101" not in others
    refused = api.gql(
        "police", '{ accessesToMyCase(personId: "person:child") { entries { agencyId } } }'
    ).json()
    assert refused["errors"][0]["extensions"]["reason"] == "capability_missing"


def test_a_case_owner_asking_about_no_person_id_is_refused_not_an_internal_error(api: Api) -> None:
    """`accessesToMyCase` with an id that is no person's (a name, another record's kind): the
    graph's ValueError ("node id '甲乙' has no '<kind>:' prefix") answered INTERNAL and logged the
    value with a stack trace. Said as for any child whose case is not the caller's."""
    for person_id in ("甲乙", "household:h1", "person:nobody"):
        body = api.gql(
            "civil",
            "query Mine($id: ID!) { accessesToMyCase(personId: $id) { nextAfterSeq } }",
            {"id": person_id},
        ).json()
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (person_id, body)
        assert "甲乙" not in str(body)


def test_the_auditor_lists_every_member_agency_by_name_and_no_one_else_does(api: Api) -> None:
    """`memberAgencies`: the console's "by agency" choice, by name, for read_audit_log alone."""
    listed = api.gql("auditor", "{ memberAgencies { id name agencyType } }", purpose="audit").json()["data"][
        "memberAgencies"
    ]
    assert {a["id"] for a in listed} == {spec[0] for spec in AGENCIES.values()}
    assert all(a["name"] for a in listed)
    assert [a["name"] for a in listed] == sorted(a["name"] for a in listed)
    refused = api.gql("police", "{ memberAgencies { id name } }").json()
    assert refused["data"] is None or refused["data"].get("memberAgencies") is None
    assert refused["errors"][0]["extensions"]["reason"] == "capability_missing"


def test_an_entry_is_known_by_its_document_not_by_the_name_its_client_chose(api: Api) -> None:
    """An agency system naming its own name search `ProfileFacts` was, on the audit log, the
    console's 查看人员档案 (the console said an entry in words by its operation name). The audit
    entry now says what the request is known to be (`knownOperation`): the console's own operation
    only for the console's own document (by its query hash), nothing for the borrowed name."""
    from tools.console_documents import console_documents, operation_of

    [facts] = [d for d in console_documents() if operation_of(d) == "query ProfileFacts"]
    fake = "query ProfileFacts($n: String!) { searchPeople(name: $n, first: 50) { edges { node { id } } } }"
    assert not api.gql("police", fake, {"n": "甲"}).json().get("errors")
    assert api.gql("police", facts, {"id": "person:child", "verdict": False}).status_code == 200
    named = _known_operations(api, "query ProfileFacts")
    assert named == [None, "query ProfileFacts"], named


def _known_operations(api: Api, operation: str) -> list[str | None]:
    """What the auditor's log says each police request named ``operation`` was, in the log's order."""
    body = api.gql(
        "auditor",
        """query($a: String!) { auditAccessesByAgency(agencyId: $a, first: 500) {
          entries { seq operation knownOperation } } }""",
        {"a": AGENCIES["police"][0]},
        purpose="audit",
    ).json()
    return [
        e["knownOperation"]
        for e in body["data"]["auditAccessesByAgency"]["entries"]
        if e["operation"] == operation
    ]


def test_the_consoles_document_with_other_literals_is_not_the_consoles(api: Api) -> None:
    """The query hash leaves literals out (an ID number in a document must not be recoverable from
    it), so the console's one-hop network view with `depth: 3` written in had the console's hash, and
    the police's three-hop traversal was said on the log as the console's own 查看假名化关系网络 (query
    Pseudonymised, depth 1). A document whose literals are not the console's is not the console's."""
    from tools.console_documents import console_documents, operation_of

    [console] = [d for d in console_documents() if operation_of(d) == "query Pseudonymised"]
    assert "depth: 1" in console
    deeper = console.replace("depth: 1", "depth: 3")
    for doc in (deeper, console):
        r = api.gql("police", doc, {"start": "person:child"})
        assert r.status_code == 200, r.text
    named = _known_operations(api, "query Pseudonymised")
    assert named == [None, "query Pseudonymised"], named
