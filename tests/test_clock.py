"""One clock: the local day is Beijing's, whatever the server's zone and the hour in UTC.

At 23:30 UTC it is already 07:30 the next morning in Beijing. A child whose 16th birthday is that
Beijing day is 16 in the classification, in the periodic report's counts and in the API's age checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from graph.model import node_id
from graph.records import NodeRecord, RelRecord
from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, VILLAGE2
from tests.screening_support import HUKOU, Families, away, data, store_of

# 23:30 UTC on 14 June 2026 is 07:30 on 15 June in Beijing.
LATE_UTC = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)
BEIJING_DAY = date(2026, 6, 15)

CLASSIFY = """query($id: ID!) { classification(personId: $id) {
  leftBehind categories facts { about basis text } } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"
REPORT = """query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) {
  totals { key count } } }"""
UNGUARDED = """query($d: String!) {
  networkChildrenWithoutCapableGuardian(division: $d, first: 200) { items { child { id } } } }"""


def test_the_local_day_is_beijings() -> None:
    with clock.pinned(LATE_UTC):
        assert clock.now() == LATE_UTC and clock.now().tzinfo is not None
        assert clock.today() == BEIJING_DAY
        # a pin given in another zone is the same instant
        with clock.pinned(datetime(2026, 6, 15, 0, 30, tzinfo=timezone(timedelta(hours=8)))):
            assert clock.now() == datetime(2026, 6, 14, 16, 30, tzinfo=UTC)
            assert clock.today() == BEIJING_DAY
        assert clock.now() == LATE_UTC
    with clock.pinned(datetime(2026, 6, 14, 15, 59, tzinfo=UTC)):
        assert clock.today() == date(2026, 6, 14)  # 23:59 in Beijing: still the 14th
    assert clock.now().tzinfo is not None
    with pytest.raises(ValueError), clock.pinned(datetime(2026, 6, 14, 23, 30)):
        pass


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("clock"))


def _child(fam: Families, birth: date) -> str:
    """A rural child of VILLAGE2 whose parents both work away, born on `birth`."""
    cid = node_id("Person", fam.key("c"))
    nodes = [
        NodeRecord(
            cid,
            {
                "name": fam.name(),
                "birth_date": birth.isoformat(),
                "sex": "F",
                "hukou_type": "rural",
                "division": VILLAGE2,
            },
            HUKOU,
        )
    ]
    rels = []
    for role in ("father", "mother"):
        pid = node_id("Person", fam.key(role[0]))
        nodes.append(NodeRecord(pid, {"name": fam.name(), "division": VILLAGE2, **away()}, HUKOU))
        rels.append(RelRecord("PARENT_OF", pid, cid, {"role": role}, HUKOU))
    fam.store.upsert_nodes(nodes)
    fam.store.upsert_rels(rels)
    return cid


def _left_behind_total(api: Api) -> int:
    totals = data(api.gql("civil", REPORT, {"d": VILLAGE2, "p": "2026-Q2"}))["periodicReport"]["totals"]
    return next((t["count"] for t in totals if t["key"] == "left_behind"), 0)


def test_a_sixteenth_birthday_counts_from_beijing_midnight(api: Api) -> None:
    fam = Families(store_of(api), seed=16)
    with clock.pinned(LATE_UTC):
        data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
        before_report = _left_behind_total(api)
        before_net = len(
            data(api.gql("police", UNGUARDED, {"d": VILLAGE2}))["networkChildrenWithoutCapableGuardian"][
                "items"
            ]
        )

        turns_16 = _child(fam, date(2010, 6, 15))  # 16 this Beijing morning (still the 14th in UTC)
        still_15 = _child(fam, date(2010, 6, 16))  # 16 tomorrow
        data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))

        older = data(api.gql("civil", CLASSIFY, {"id": turns_16}))["classification"]
        assert older["leftBehind"] is False and older["categories"] == []
        younger = data(api.gql("civil", CLASSIFY, {"id": still_15}))["classification"]
        assert younger["leftBehind"] is True
        age = next(f["text"] for f in younger["facts"] if f["text"].startswith("age "))
        assert BEIJING_DAY.isoformat() in age  # the verdict is as of the Beijing day

        # the periodic report counts the younger child only
        assert _left_behind_total(api) == before_report + 1
        # and the network's age check (children under 16 with no capable guardian) agrees
        after_net = len(
            data(api.gql("police", UNGUARDED, {"d": VILLAGE2}))["networkChildrenWithoutCapableGuardian"][
                "items"
            ]
        )
        assert after_net == before_net + 1
