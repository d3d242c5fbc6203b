"""Class 5 (lists), over HTTP: a network list's `hasNextPage` reflects only rows the caller may see.

The county's other police (ps-500102) sees, in a township of this county, only the children of the
cases referred to it. Its page of households with no adult present (or of children without a
capable guardian) ends with those children; whether other households follow in the township —
households it may not see — must not show in `hasNextPage`, which would tell it one yes/no fact
about them per request (paging with `first: 1` across a division counts its people).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.records import Assertion, NodeRecord, RelRecord
from tests.api_fixtures import Api, serve_populated

SRC = Assertion("survey", "paging-test", datetime(2026, 5, 1))
TOWN4 = "500101004000"
VILLAGE4 = "500101004001"
HOUSEHOLDS = 6  # T4H0 … T4H5, every one with both parents away
REFERRED = ("T4H0", "T4H2")  # the children police2 may see: cases referred to it

LIST_HOUSEHOLDS = """query H($d: String!, $after: String) {
  networkHouseholdsWithoutAdults(division: $d, first: 1, after: $after, asOf: "2026-06-01") {
    items { household { id } children { id } } endCursor hasNextPage } }"""
LIST_CHILDREN = """query U($d: String!, $after: String) {
  networkChildrenWithoutCapableGuardian(division: $d, first: 1, after: $after, asOf: "2026-06-01") {
    items { child { id } } endCursor hasNextPage } }"""


def township(store: LadybugStore) -> None:
    nodes = [
        NodeRecord(node_id("Division", TOWN4), {"code": TOWN4, "level": "township", "division": TOWN4}, SRC),
        NodeRecord(
            node_id("Division", VILLAGE4), {"code": VILLAGE4, "level": "village", "division": VILLAGE4}, SRC
        ),
    ]
    rels = []
    for h in range(HOUSEHOLDS):
        key = f"T4H{h}"
        hid = node_id("Household", key)
        nodes.append(NodeRecord(hid, {"household_number": key, "division": VILLAGE4}, SRC))
        father, mother, kid = (node_id("Person", f"{key}-{r}") for r in ("f", "m", "c"))
        for pid, props in (
            (father, {"birth_date": "1985-03-03", "works_away": True}),
            (mother, {"birth_date": "1987-04-04", "works_away": True}),
            (kid, {"birth_date": "2016-05-05"}),
        ):
            nodes.append(NodeRecord(pid, {"name": f"名{h}", "division": VILLAGE4, **props}, SRC))
            rels.append(RelRecord("MEMBER_OF", pid, hid, {}, SRC))
        rels.append(RelRecord("PARENT_OF", father, kid, {"role": "father"}, SRC))
        rels.append(RelRecord("PARENT_OF", mother, kid, {"role": "mother"}, SRC))
        if key in REFERRED:
            case = node_id("ProtectionCase", f"PC-{key}")
            nodes.append(
                NodeRecord(case, {"status": "open", "agency": "ps-500102", "division": VILLAGE4}, SRC)
            )
            rels.append(RelRecord("CONCERNS", case, kid, {}, SRC))
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_populated(tmp_path_factory, "network-paging", township)


def _walk(api: Api, who: str, query: str, field: str) -> list[dict[str, Any]]:
    """Every page of the list, one item a page, with what each page said about the next."""
    pages = []
    after = None
    for _ in range(HOUSEHOLDS + 2):
        r = api.gql(who, query, {"d": TOWN4, "after": after})
        body = r.json()
        assert "errors" not in body, body
        page = body["data"][field]
        pages.append(page)
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    return pages


def test_households_list_ends_with_the_last_household_the_caller_may_see(api: Api) -> None:
    pages = _walk(api, "police2", LIST_HOUSEHOLDS, "networkHouseholdsWithoutAdults")
    shown = [i["household"]["id"] for p in pages for i in p["items"]]
    assert len(shown) == len(REFERRED)
    # Two pages of one household each, and the second says there is no more: the four households
    # after and between them are out of its scope and count for nothing.
    assert [len(p["items"]) for p in pages] == [1, 1]
    assert [p["hasNextPage"] for p in pages] == [True, False]
    # The police of this county sees every household, and pages through all six.
    everyone = _walk(api, "police", LIST_HOUSEHOLDS, "networkHouseholdsWithoutAdults")
    assert sum(len(p["items"]) for p in everyone) == HOUSEHOLDS
    assert [p["hasNextPage"] for p in everyone] == [True] * (HOUSEHOLDS - 1) + [False]


def test_children_list_ends_with_the_last_child_the_caller_may_see(api: Api) -> None:
    pages = _walk(api, "police2", LIST_CHILDREN, "networkChildrenWithoutCapableGuardian")
    assert [len(p["items"]) for p in pages] == [1, 1]
    assert [p["hasNextPage"] for p in pages] == [True, False]
    everyone = _walk(api, "police", LIST_CHILDREN, "networkChildrenWithoutCapableGuardian")
    assert [p["hasNextPage"] for p in everyone] == [True] * (HOUSEHOLDS - 1) + [False]
