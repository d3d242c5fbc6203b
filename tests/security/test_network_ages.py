"""Class 4 (masks), over HTTP: a network list's `asOf` does not give back a birth date shown as a year.

A village committee sees ID numbers masked, so it sees birth dates as years (the policy's
reconstruction rule: a full birth date and the village give back the masked number's middle). The
lists of children whose every guardian is away (`maxAge`) and of households with no adult present
decide who is a child on the caller's `asOf`; moved a day at a time, a child's entry and exit
said on which day the child turns 16 (or 18): the birth date, to the day, in about nine requests.
As for counts (Guard.ages_on), a caller that sees birth dates as years gets ages on the last day of
the year it names; a caller that sees them in full (the police) still gets the day it asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.records import Assertion, NodeRecord, RelRecord
from tests.api_fixtures import Api, serve_populated
from tests.contract.test_graph_store import VILLAGE

SRC = Assertion("survey", "ages", datetime(2026, 5, 1))
BORN = "2012-07-15"  # turns 16 on 2028-07-15 and 18 on 2030-07-15

CHILDREN = """query($d: String!, $on: Date!) {
  networkChildrenWithoutCapableGuardian(division: $d, maxAge: 16, asOf: $on, first: 200) {
    items { child { id } } } }"""
HOUSEHOLDS = """query($d: String!, $on: Date!) {
  networkHouseholdsWithoutAdults(division: $d, asOf: $on, first: 200) {
    items { household { id } children { id } } } }"""
PERSON = """{ person(id: "person:ag-kid") { birthDate } }"""


def populate(store: LadybugStore) -> None:
    kid, father, mother = (node_id("Person", f"ag-{r}") for r in ("kid", "father", "mother"))
    home = node_id("Household", "AG1")
    store.upsert_nodes(
        [
            NodeRecord(home, {"household_number": "AG1", "division": VILLAGE}, SRC),
            NodeRecord(kid, {"birth_date": BORN, "division": VILLAGE}, SRC),
            NodeRecord(father, {"birth_date": "1985-01-01", "works_away": True, "division": VILLAGE}, SRC),
            NodeRecord(mother, {"birth_date": "1986-01-01", "works_away": True, "division": VILLAGE}, SRC),
        ]
    )
    store.upsert_rels(
        [
            RelRecord("PARENT_OF", father, kid, {"role": "father"}, SRC),
            RelRecord("PARENT_OF", mother, kid, {"role": "mother"}, SRC),
            *(RelRecord("MEMBER_OF", p, home, {}, SRC) for p in (kid, father, mother)),
        ]
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_populated(tmp_path_factory, "network-ages", populate)


def _listed(api: Api, who: str, query: str, on: str) -> bool:
    body = api.gql(who, query, {"d": VILLAGE, "on": on}).json()
    assert "errors" not in body, body
    items = next(iter(body["data"].values()))["items"]
    return any("person:ag-kid" in str(item) for item in items)


def test_the_village_sees_the_birth_year_only(api: Api) -> None:
    body = api.gql("village", PERSON).json()
    assert body["data"]["person"]["birthDate"] == BORN[:4], body


@pytest.mark.parametrize(
    ("query", "day_before", "birthday"),
    [(CHILDREN, "2028-07-14", "2028-07-15"), (HOUSEHOLDS, "2030-07-14", "2030-07-15")],
)
def test_moving_as_of_a_day_does_not_find_the_birthday(
    api: Api, query: str, day_before: str, birthday: str
) -> None:
    # The police see the birth date: the list changes on the birthday.
    assert _listed(api, "police", query, day_before) is True
    assert _listed(api, "police", query, birthday) is False
    # The village sees the year: the same answer on both days.
    assert _listed(api, "village", query, day_before) == _listed(api, "village", query, birthday)


GUARDIANS = """query($d: String!, $on: Date!) {
  networkGuardiansOfMany(division: $d, minChildren: 3, asOf: $on) { guardian { id } count } }"""
UNTIL = "2027-03-10"  # the carer's guardianships end on this day


def test_moving_as_of_a_day_does_not_find_when_a_guardianship_ended(api: Api) -> None:
    """An analyst sees a guardianship's dates as years (family masked); which guardians hold at
    least three children on `asOf`, moved a day at a time, said the day a guardianship ended."""
    store = api.client.app.state.graph  # type: ignore[attr-defined]
    carer = node_id("Person", "ag-carer")
    kids = [node_id("Person", f"ag-ward{i}") for i in range(3)]
    store.upsert_nodes(
        [NodeRecord(carer, {"birth_date": "1960-01-01", "division": VILLAGE}, SRC)]
        + [NodeRecord(k, {"birth_date": "2018-01-01", "division": VILLAGE}, SRC) for k in kids]
    )
    store.upsert_rels(
        [RelRecord("GUARDIAN_OF", carer, k, {"kind": "entrusted", "until": UNTIL}, SRC) for k in kids]
    )

    def held(who: str, on: str) -> bool:
        purpose = "statistics" if who == "analyst" else "case_work"
        body = api.gql(who, GUARDIANS, {"d": VILLAGE, "on": on}, purpose=purpose).json()
        assert "errors" not in body, body
        return len(body["data"]["networkGuardiansOfMany"]) == 1

    assert held("police", "2027-03-10") is True and held("police", "2027-03-11") is False
    assert held("analyst", "2027-03-10") == held("analyst", "2027-03-11")
