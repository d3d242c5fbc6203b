"""Class 3 (lookups), over HTTP: what a name search answers does not depend on people out of scope.

`searchPeople` asked the store for the exact name (and its sound) across the whole graph, `first`
at most, and only then kept the people in the caller's scope; the surname search of the caller's
own division ran only when that found nobody at all. So a namesake outside the caller's scope
changed the answer, and the answer told of the namesake:

* 乙丙 (a two-character name, as most are) found the caller's own 乙丙丁 by surname only while
  nobody called exactly 乙丙 existed anywhere: with one in another county the answer was empty;
* with `first: 1`, the one exact match taken could be another county's 丙丁, and the caller's own
  丙丁 was not found, so `first: 1` against `first: 50` said whether others share the name.

The same for `personByIdNumber`: two records carrying one ID number (the same person registered in
two counties, not yet merged) were read two at most and the first by id answered, so the other
county's police got NOT_FOUND for their own record when the number's other holder sorted first:
the answer said that the number is also held out of their scope.

The other county's police (ps-500102) search here; the namesakes live in county 500101.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from connectors.idnumber import make_id_number
from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.records import Assertion, NodeRecord
from tests.api_fixtures import Api, serve_populated
from tests.contract.test_graph_store import VILLAGE

SRC = Assertion("survey", "namesakes", datetime(2026, 5, 1))
OTHER_COUNTY_VILLAGE = "500102001001"  # police2's jurisdiction

DUPLICATE = make_id_number("500102", date(2015, 6, 1), 77)  # synthetic (GB 11643 check digit)
BY_ID = "query($n: String!) { personByIdNumber(idNumber: $n) { id } }"
SEARCH = "query($n: String!, $f: Int!) { searchPeople(name: $n, first: $f) { edges { node { id name } } } }"


def populate(store: LadybugStore) -> None:
    people = [
        # police2's own people
        ("ns-own-1", "乙丙丁", OTHER_COUNTY_VILLAGE),
        ("ns-own-2", "乙戊己", OTHER_COUNTY_VILLAGE),
        ("zz-own-3", "丙丁", OTHER_COUNTY_VILLAGE),
        # namesakes in county 500101, out of police2's scope
        ("ns-far-1", "乙丙", VILLAGE),
        ("aa-far-2", "丙丁", VILLAGE),
        ("ab-far-3", "丙丁", VILLAGE),
    ]
    store.upsert_nodes(
        [
            NodeRecord(node_id("Person", key), {"name": name, "birth_date": "2015-01-01", "division": d}, SRC)
            for key, name, d in people
        ]
        + [  # one number, two records: county 500101's sorts first
            NodeRecord(node_id("Person", key), {"id_number": DUPLICATE, "division": d}, SRC)
            for key, d in (("aa-dup", VILLAGE), ("zz-dup", OTHER_COUNTY_VILLAGE))
        ]
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_populated(tmp_path_factory, "namesakes", populate)


def _found(api: Api, name: str, first: int = 50) -> list[str]:
    body = api.gql("police2", SEARCH, {"n": name, "f": first}).json()
    assert "errors" not in body, body
    return [e["node"]["id"] for e in body["data"]["searchPeople"]["edges"]]


def test_a_namesake_out_of_scope_does_not_hide_the_callers_own_people(api: Api) -> None:
    # 乙戊 is nobody's name: the surname search finds police2's 乙戊己.
    assert _found(api, "乙戊") == ["person:ns-own-2"]
    # 乙丙 is the name of someone in another county: the answer must be the same in kind.
    assert _found(api, "乙丙") == ["person:ns-own-1"]


def test_first_one_finds_the_callers_own_namesake_whoever_else_bears_the_name(api: Api) -> None:
    assert _found(api, "丙丁") == ["person:zz-own-3"]
    assert _found(api, "丙丁", first=1) == ["person:zz-own-3"]


def test_an_id_number_also_held_out_of_scope_still_finds_the_callers_own_record(api: Api) -> None:
    body = api.gql("police2", BY_ID, {"n": DUPLICATE}).json()
    assert "errors" not in body, body
    assert body["data"]["personByIdNumber"] == {"id": "person:zz-dup"}
