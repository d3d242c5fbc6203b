"""Class 5 (ids and cursors), over HTTP: every paging cursor is opaque and good only for the caller
and the list it was given for. It names no record (not even the last one scanned, which may be out
of the caller's scope), pages on exactly as the store does, and another caller or another list gets
the same BAD_REQUEST `invalid_cursor` for it as for any string, on the record."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, VILLAGE
from tests.security.support import entries, head

PEOPLE = """query($d: String!, $first: Int!, $after: String) {
  people(division: $d, first: $first, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
CHILDREN = """query($d: String!, $after: String) {
  villageChildren(division: $d, first: 1, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
RECORD_KEY = re.compile(r"person:|household:|child|father|mother|granny|uncle|other")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("cursors"))


def _people(api: Api, who: str, after: str | None, first: int = 1, division: str = COUNTY) -> Any:
    return api.gql(who, PEOPLE, {"d": division, "first": first, "after": after}, purpose="screening").json()


def _walk(api: Api, who: str) -> tuple[list[str], list[str]]:
    """Every person of the county list, one per page; and every cursor handed out on the way."""
    seen: list[str] = []
    cursors: list[str] = []
    after = None
    for _ in range(20):
        page = _people(api, who, after)["data"]["people"]
        seen += [e["node"]["id"] for e in page["edges"]]
        cursors += [e["cursor"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        cursors.append(after)
    return seen, cursors


def test_cursors_name_nothing_and_page_through_every_visible_person(api: Api) -> None:
    everyone = [e["node"]["id"] for e in _people(api, "village", None, first=100)["data"]["people"]["edges"]]
    assert everyone  # the village committee sees its villagers
    seen, cursors = _walk(api, "village")
    # One at a time, across pages whose only person is out of scope (`person:other`): nobody missed.
    assert seen == everyone
    assert cursors and all(c.startswith("c~") and not RECORD_KEY.search(c) for c in cursors)


def test_a_cursor_is_refused_to_another_caller_and_tells_nothing(api: Api) -> None:
    page = _people(api, "village", None)["data"]["people"]
    theirs = page["pageInfo"]["endCursor"]
    before = head(api)
    stolen = _people(api, "village2", theirs)
    forged = _people(api, "village2", "c~" + "a" * len(theirs[2:]))
    raw = _people(api, "village2", "person:mother")
    answers = [
        (r["data"], [(e["message"], e["extensions"]) for e in r["errors"]]) for r in (stolen, forged, raw)
    ]
    assert answers[0] == answers[1] == answers[2]  # the same answer whatever the cursor holds
    assert answers[0][1][0][1] == {"code": "BAD_REQUEST", "reason": "invalid_cursor"}
    assert not RECORD_KEY.search(str(stolen))
    logged = entries(api, before)
    assert len(logged) == 3 and all("invalid_cursor" in e.reasons for e in logged)
    # The owner pages on with it.
    assert _people(api, "village", theirs)["data"]["people"]["edges"]


def test_a_cursor_of_one_list_does_not_page_another(api: Api) -> None:
    county = _people(api, "village", None)["data"]["people"]["pageInfo"]["endCursor"]
    village = _people(api, "village", county, division=VILLAGE)
    assert village["errors"][0]["extensions"]["reason"] == "invalid_cursor"
    children = api.gql("village", CHILDREN, {"d": VILLAGE, "after": county}, purpose="screening").json()
    assert children["errors"][0]["extensions"]["reason"] == "invalid_cursor"
    first = api.gql("village", CHILDREN, {"d": VILLAGE, "after": None}, purpose="screening").json()
    conn = first["data"]["villageChildren"]
    assert all(not RECORD_KEY.search(e["cursor"]) for e in conn["edges"])
    if conn["pageInfo"]["endCursor"]:
        assert not RECORD_KEY.search(conn["pageInfo"]["endCursor"])
        other = _people(api, "village", conn["pageInfo"]["endCursor"])
        assert other["errors"][0]["extensions"]["reason"] == "invalid_cursor"


def _pages(api: Api, who: str, division: str) -> list[Any]:
    """Every page of a division's list, one person a page, as the caller gets them."""
    pages: list[Any] = []
    after = None
    for _ in range(20):
        page = _people(api, who, after, division=division)["data"]["people"]
        pages.append(([e["node"]["id"] for e in page["edges"]], page["pageInfo"]["hasNextPage"]))
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


def test_paging_counts_no_one_outside_the_callers_scope(api: Api) -> None:
    # Another village's list, in which the second village committee sees nobody, reads exactly as a
    # village where nobody lives: one empty last page (it answered one empty page with hasNextPage
    # per villager, so paging one by one counted the people of a village out of scope).
    assert _pages(api, "village2", VILLAGE) == _pages(api, "village2", "500101009001") == [([], False)]
    # In scope, the last person seen is the last page: the people after them (out of scope) are
    # neither shown nor counted by an empty page after it; the school sees its pupil and no more.
    village = _pages(api, "village", COUNTY)
    assert village[-1][0] and village[-1][1] is False and all(ids for ids, _ in village)
    assert _pages(api, "school", COUNTY) == [(["person:child"], False)]
