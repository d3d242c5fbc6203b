"""Class 3 and 7: an id named in a query (a person, a child, a household, a network's start) that
is outside the caller's scope gets exactly the answer an id that does not exist gets, so ids
cannot be probed; and the refusal is on the record, naming the id asked for.

The village committee of the family's village may not see `person:uncle` (another village) nor the
household of another village; `person:nobody` and `household:NONE` do not exist at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from graph.model import node_id
from graph.records import Assertion, NodeRecord, RelRecord
from tests.api_fixtures import AGENCIES, Api, serve
from tests.contract.test_graph_store import VILLAGE2
from tests.security.support import answered_alike

SRC = Assertion("police_hukou", "HK-ids", datetime(2026, 3, 1, 9, 0))
OUT, ABSENT = "person:uncle", "person:nobody"
OUT_HH, ABSENT_HH = "household:H2", "household:NONE"

# (name, document, variables with {id} standing for the id asked about)
BY_PERSON = [
    ("person", "query($id: ID!) { person(id: $id) { id name } }", "id"),
    ("classification", "query($id: ID!) { classification(personId: $id) { categories } }", "id"),
    ("childVisitRecord", "query($id: ID!) { childVisitRecord(personId: $id) { personId } }", "id"),
    ("visitHistory", "query($id: ID!) { visitHistory(personId: $id) { visitedOn } }", "id"),
    ("agreements", "query($id: ID!) { agreements(childId: $id) { id } }", "id"),
    ("protectionCases", "query($id: ID) { protectionCases(childId: $id) { id } }", "id"),
    (
        "_entities",
        'query($id: ID!) { _entities(representations: [{__typename: "Person", id: $id}]) '
        "{ ... on Person { id name } } }",
        "id",
    ),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in serve(tmp_path_factory.mktemp("named-ids")):
        store = api.client.app.state.graph  # type: ignore[attr-defined]
        store.upsert_nodes(
            [NodeRecord(node_id("Household", "H2"), {"household_number": "H2", "division": VILLAGE2}, SRC)]
        )
        store.upsert_rels([RelRecord("MEMBER_OF", OUT, node_id("Household", "H2"), {}, SRC)])
        yield api


@pytest.mark.parametrize(("name", "document", "_var"), BY_PERSON, ids=[c[0] for c in BY_PERSON])
def test_an_out_of_scope_person_is_answered_as_an_absent_one_and_audited(
    api: Api, name: str, document: str, _var: str
) -> None:
    # No existence oracle (the same status and body, to the byte), and each look on the record.
    out, _ = answered_alike(api, "village", document, [OUT, ABSENT])
    assert "甲辛" not in out.answer  # the uncle's name
    assert out.entry is not None
    assert "out_of_scope" in out.entry.reasons or "not_found_or_out_of_scope" in out.entry.reasons


BY_HOUSEHOLD = [
    ("network", "query($id: ID!) { network(start: $id, depth: 1) { start nodes { id } } }"),
    ("person", "query($id: ID!) { person(id: $id) { id } }"),
]


@pytest.mark.parametrize(("name", "document"), BY_HOUSEHOLD, ids=[c[0] for c in BY_HOUSEHOLD])
def test_an_out_of_scope_household_is_answered_as_an_absent_one_and_audited(
    api: Api, name: str, document: str
) -> None:
    out, _ = answered_alike(api, "village", document, [OUT_HH, ABSENT_HH])
    assert "H2" not in out.answer


# Ids inside an input object (a visit's child, a report's child): named by the request as much as
# a top-level argument, and refused for an out-of-scope child exactly as for an absent one.
BY_INPUT = [
    (
        "recordVisit",
        "mutation($in: VisitInput!) { recordVisit(input: $in) { status } }",
        {
            "clientId": "named-ids-visit",
            "personId": "{id}",
            "visitedOn": "2026-05-01",
            "findings": [],
            "livingArrangement": "with_parents",
            "baseVersion": 0,
        },
    ),
    (
        "fileMandatoryReport",
        "mutation($in: FileReportInput!) { fileMandatoryReport(input: $in) { id } }",
        {"childId": "{id}", "situation": "LIVING_ALONE", "summary": "独自在家"},
    ),
]


def _fill(value: Any, record_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, record_id) for k, v in value.items()}
    return record_id if value == "{id}" else value


@pytest.mark.parametrize(("name", "document", "template"), BY_INPUT, ids=[c[0] for c in BY_INPUT])
def test_an_id_inside_an_input_object_is_on_the_record(
    api: Api, name: str, document: str, template: dict[str, Any]
) -> None:
    answered_alike(
        api, "village", document, [OUT, ABSENT], variables=lambda rid: {"in": _fill(template, rid)}
    )


# A pseudonym names a record as much as its id does: an analyst's refused re-identification (or a
# network asked by pseudonym) of a child outside its county is on the record under the child's id.
FAR = "person:far-child"  # a child of another county, outside the analyst's rows
BY_PSEUDONYM = [
    (
        "networkReidentify",
        "query($p: ID!) { networkReidentify(pseudonyms: [$p]) { pseudonym id kind } }",
    ),
    ("network", "query($p: ID!) { network(start: $p, depth: 1) { start nodes { id } } }"),
]


@pytest.mark.parametrize(("name", "document"), BY_PSEUDONYM, ids=[c[0] for c in BY_PSEUDONYM])
def test_a_refused_look_by_pseudonym_is_on_the_record(api: Api, name: str, document: str) -> None:
    from auth.pseudonym import pseudonymizer

    store = api.client.app.state.graph  # type: ignore[attr-defined]
    store.upsert_nodes(
        [NodeRecord(FAR, {"name": "远童", "division": "500102001001", "birth_date": "2016-01-01"}, SRC)]
    )
    keys = pseudonymizer(api.settings)
    ids = {keys.encode(rid, AGENCIES["analyst"][0]): rid for rid in (FAR, ABSENT)}  # the analyst's own
    far, _ = answered_alike(
        api,
        "analyst",
        document,
        list(ids),
        variables=lambda p: {"p": p},
        purpose="statistics",
        named=ids.get,
        decision=None,
    )
    assert "远童" not in far.answer
