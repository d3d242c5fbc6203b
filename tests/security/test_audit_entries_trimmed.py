"""What an audit entry names is shown to its reader only as far as the reader may see it. The case
owner's `accessesToMyCase` gave each other agency's entry whole: a police query that read the
owner's child and, with it, a person of another township showed the township that other person's
record id (and that the police looked them up together). An entry read through another record is
now trimmed to the records the reader may see."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from graph.records import Assertion, NodeRecord, RelRecord
from tests.api_fixtures import Api, serve

BOTH = '{ a: person(id: "person:child") { name } b: person(id: "person:uncle") { name } }'
MINE = '{ accessesToMyCase(personId: "person:child") { entries { agencyId records } } }'


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in serve(tmp_path_factory.mktemp("audit_trim")):
        store = api.client.app.state.graph  # type: ignore[attr-defined]
        src = Assertion("manual", "case-1", datetime(2026, 5, 1))
        # The child's open case is the township's (tw-500101001, township 500101001000).
        store.upsert_nodes(
            [
                NodeRecord(
                    "protectioncase:c1",
                    {"status": "open", "agency": "tw-500101001", "division": "500101001001"},
                    src,
                )
            ]
        )
        store.upsert_rels([RelRecord("CONCERNS", "protectioncase:c1", "person:child", {}, src)])
        yield api


def test_the_case_owner_sees_only_its_records_of_anothers_entry(api: Api) -> None:
    # The uncle lives in the other township: out of the township's scope.
    seen = api.gql("township", '{ person(id: "person:uncle") { name } }').json()
    assert seen["data"]["person"] is None
    body = api.gql("police", BOTH).json()
    assert body["data"]["a"] and body["data"]["b"]  # the county's police read both
    mine = api.gql("township", MINE).json()
    entries = mine["data"]["accessesToMyCase"]["entries"]
    police = [e for e in entries if e["agencyId"] == "ps-500101"]
    assert police, mine
    assert all("person:child" in e["records"] for e in police)
    named = {r for e in entries for r in e["records"]}
    assert "person:uncle" not in named, mine
