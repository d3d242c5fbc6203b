"""Class 7 and 8: the audit record is complete and right, and no child is unreadable because of it.

Over HTTP against the real app: every request leaves an entry (refused and unauthenticated ones
too), the entry names every record returned (lists included), the operation kind is the one that
ran (graphql-core's AST, not a regex), a change commits only with its entry, and record ids are
judged by their form, never refused for digits inside an opaque key.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import inspect

from auth.audit import AuditEntry, check_record_id, entry_hash
from auth.audit.event import HASHED_COLUMNS
from graph.model import node_id
from graph.records import Assertion, NodeRecord
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE, registered
from tests.security.support import audit_refuses_inserts, digit_run_key, entries, head, rows

SRC = Assertion("police_hukou", "HK-sec", datetime(2026, 3, 1, 9, 0))
RNG_SEED = 20261206
DIGIT_KEYS = [digit_run_key(random.Random(RNG_SEED + i)) for i in range(3)]
SUBSCRIBE = """mutation Sub($url: String!) {
  subscribeWebhook(url: $url, events: ["report.filed"]) { subscription { id url } } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in serve(tmp_path_factory.mktemp("audit-record"), webhook_allowed_networks=["127.0.0.0/8"]):
        store = api.client.app.state.graph  # type: ignore[attr-defined]
        store.upsert_nodes(
            [
                NodeRecord(
                    node_id("Person", key),
                    {"division": VILLAGE, "name": f"测试{i}", "birth_date": "2016-05-0{i + 1}"},
                    SRC,
                )
                for i, key in enumerate(DIGIT_KEYS)
            ]
        )
        registered(store, tuple(DIGIT_KEYS))
        yield api


# ---- class 8: ids judged by form ----------------------------------------------------------------


def _old_rule_refuses(key: str) -> bool:
    """The refused rule, kept here to show the property test meets real cases: any digit run of
    15 with a plausible YYMMDD at positions 7-12 anywhere in the key."""
    for run in re.findall(r"[0-9]{15,}", key):
        for i in range(len(run) - 14):
            part = run[i : i + 15]
            try:
                date(1900 + int(part[6:8]), int(part[8:10]), int(part[10:12]))
            except ValueError:
                continue
            return True
    return False


def test_random_person_keys_are_never_refused_for_their_digits() -> None:
    rng = random.Random(RNG_SEED)
    keys = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(100_000)]
    old_refusals = sum(_old_rule_refuses(k) for k in keys)
    assert old_refusals > 0, "the sample holds no key the old rule refused; the test would prove nothing"
    for key in keys:
        assert check_record_id(f"person:{key}") == f"person:{key}"


def test_ids_built_from_values_are_still_refused() -> None:
    for value in ("person:110101199003074477", "person:h-510123100815123-x", "person:tel-13912345678"):
        with pytest.raises(ValueError):
            check_record_id(value)


@pytest.mark.parametrize("key", DIGIT_KEYS)
def test_a_child_whose_key_holds_a_digit_run_can_be_read_and_is_audited(api: Api, key: str) -> None:
    assert _old_rule_refuses(key)
    before = head(api)
    r = api.gql("police", "query P($id: ID!) { person(id: $id) { id name } }", {"id": f"person:{key}"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["person"]["id"] == f"person:{key}"
    named = [e for e in entries(api, before) if f"person:{key}" in e.records]
    assert named and named[-1].agency_id == "ps-500101"


# ---- class 7: an entry for every request ---------------------------------------------------------


def test_a_forged_token_leaves_an_entry_with_its_hash_never_the_token(api: Api) -> None:
    before = head(api)
    real = api.tokens["police"]
    forged = real[:-6] + ("BBBBBB" if real.endswith("AAAAAA") else "AAAAAA")
    r = api.client.post(
        "/graphql",
        json={"query": '{ person(id: "person:child") { name } }'},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert r.status_code == 401
    new = entries(api, before)
    assert len(new) == 1
    entry = new[0]
    assert entry.operation == "auth.bearer_refused" and entry.decision == "deny" and entry.status == 401
    assert entry.user == "token-sha256:" + hashlib.sha256(forged.encode()).hexdigest()
    assert forged not in str(entry.model_dump())


def test_a_request_without_token_is_on_the_record(api: Api) -> None:
    before = head(api)
    r = api.client.post("/graphql", json={"query": "{ __typename }"})
    assert r.status_code == 401
    new = entries(api, before)
    assert [(e.operation, e.reasons, e.user) for e in new] == [
        ("auth.bearer_refused", ["missing_token"], None)
    ]


def test_refused_documents_are_on_the_record(api: Api) -> None:
    before = head(api)
    r = api.client.post(
        "/graphql",
        content=b"[" * 20_000 + b"]" * 20_000,
        headers={"Authorization": f"Bearer {api.tokens['police']}", "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 413)
    new = entries(api, before)
    assert len(new) == 1 and new[0].decision == "deny" and new[0].agency_id == "ps-500101"


def test_failed_client_authentication_is_on_the_record(api: Api) -> None:
    cid, _ = api.credentials["analyst"]
    before = head(api)
    r = api.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, "wrong-secret"))
    assert r.status_code == 401
    new = entries(api, before)
    assert len(new) == 1
    assert new[0].operation == "token.refused" and new[0].client_id == cid and new[0].decision == "deny"
    assert "wrong-secret" not in str(new[0].model_dump())


# ---- class 7: every record returned is named ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        (
            "query L($d: String!) { people(division: $d, first: 50) { edges { node { id } } } }",
            {"d": VILLAGE},
            {"person:child", "person:granny", *(f"person:{k}" for k in DIGIT_KEYS)},
        ),
        ('{ person(id: "person:child") { id } }', {}, {"person:child"}),
        (
            '{ p: person(id: "person:child") { ...F } } fragment F on Person { parents { person { id } } }',
            {},
            {"person:father", "person:mother"},
        ),
    ],
)
def test_an_entry_names_every_record_the_response_returns(
    api: Api, query: str, variables: dict, expected: set[str]
) -> None:
    before = head(api)
    r = api.gql("police", query, variables)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    returned = set(re.findall(r'"(person:[^"]+)"', r.text))
    assert expected <= returned
    new = entries(api, before)
    assert len(new) == 1
    assert returned <= set(new[0].records)


def test_a_lookup_by_id_number_names_the_child(api: Api) -> None:
    store = api.client.app.state.graph  # type: ignore[attr-defined]
    store.upsert_nodes([NodeRecord("person:child", {"id_number": "500101201503010021"}, SRC)])
    before = head(api)
    r = api.gql("police", '{ personByIdNumber(idNumber: "500101201503010021") { birthDate } }')
    assert r.status_code == 200 and r.json()["data"]["personByIdNumber"], r.text
    new = entries(api, before)
    assert "person:child" in new[-1].records


# ---- class 7: the operation kind is what ran ------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "operation_name", "expected"),
    [
        ("# a leading comment\nmutation Retry { retryFailedWebhooks }", None, "mutation Retry"),
        (
            "query Look { __typename }\nmutation Retry { retryFailedWebhooks }",
            "Retry",
            "mutation Retry",
        ),
        ("query Look { __typename }\nmutation Retry { retryFailedWebhooks }", "Look", "query Look"),
        ('"""described"""\nmutation { retryFailedWebhooks }', None, "mutation anonymous"),
    ],
)
def test_the_operation_kind_comes_from_the_document(
    api: Api, document: str, operation_name: str | None, expected: str
) -> None:
    before = head(api)
    r = api.client.post(
        "/graphql",
        json={"query": document, "operationName": operation_name},
        headers={"Authorization": f"Bearer {api.tokens['police']}"},
    )
    assert r.status_code in (200, 400), r.text
    assert [e.operation for e in entries(api, before)][-1] == expected


# ---- class 7: a change and its entry commit together ----------------------------------------------


def test_a_mutation_whose_entry_cannot_be_written_changes_nothing(api: Api) -> None:
    url = "http://127.0.0.1:9/hooks/fail-closed"
    with audit_refuses_inserts(api):
        r = api.gql("police", SUBSCRIBE, {"url": url})
    assert r.status_code == 503, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert rows(api, "SELECT id FROM webhook_subscription WHERE url = ?", url) == []


def test_every_committed_change_has_its_entry(api: Api) -> None:
    url = "http://127.0.0.1:9/hooks/audited"
    before = head(api)
    r = api.gql("police", SUBSCRIBE, {"url": url})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    sub_id = r.json()["data"]["subscribeWebhook"]["subscription"]["id"]
    new = entries(api, before)
    in_transaction = [e for e in new if f"webhook_subscription:{sub_id}" in e.records]
    assert len(in_transaction) == 1
    entry = in_transaction[0]
    assert entry.operation == "mutation Sub" and entry.agency_id == "ps-500101"
    assert "webhook_subscription.insert" in entry.fields["write"]
    # And the request's own entry follows it, naming what the resolver reported.
    assert any(f"webhook:{sub_id}" in e.records and e.seq > entry.seq for e in new)


def test_a_refused_mutation_is_still_a_mutation_on_the_record(api: Api) -> None:
    before = head(api)
    r = api.gql("analyst", "# sneaky\n" + SUBSCRIBE, {"url": "http://127.0.0.1:9/x"})
    assert r.status_code == 200 and r.json()["errors"][0]["extensions"]["reason"] == "capability_missing"
    assert [(e.operation, e.decision) for e in entries(api, before)] == [("mutation Sub", "deny")]


# ---- class 7: the hashed columns are pinned ---------------------------------------------------------


def test_the_hash_covers_every_column_of_an_entry(api: Api) -> None:
    """Every column of audit_entry but `hash` is hashed: leaving one out of HASHED_COLUMNS (or adding
    a column without hashing it) fails here, and so does a column whose change the hash misses."""
    columns = {c.name for c in inspect(AuditEntry).columns}  # type: ignore[union-attr]
    assert set(HASHED_COLUMNS) == columns - {"hash"}
    api.gql("police", '{ person(id: "person:child") { name } }')
    entry = entries(api, head(api) - 1)[-1]
    row = entry.model_dump()
    assert entry_hash(row) == entry.hash
    changed = {
        "seq": row["seq"] + 1,
        "at": datetime(2000, 1, 1, tzinfo=row["at"].tzinfo),
        "records": [*row["records"], "person:zz"],
        "fields": {**row["fields"], "deny": ["Person.zz"]},
        "reasons": [*row["reasons"], "zz"],
        "break_glass": not row["break_glass"],
        "result_size": row["result_size"] + 1,
        "status": 599,
    }
    for column in sorted(columns - {"hash"}):
        tampered = dict(row)
        if column in changed:
            tampered[column] = changed[column]
        elif column == "prev_hash":
            tampered[column] = "1" * 64
        else:  # the text columns
            tampered[column] = (row[column] or "") + "x"
        assert entry_hash(tampered) != entry.hash, f"changing {column} leaves the hash unchanged"
