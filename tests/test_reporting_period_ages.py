"""A quarterly report counts the children as they were in the quarter it reports on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, VILLAGE
from tests.screening_support import Families, away, data, store_of

REPORT = """query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) {
  deadline totals { key count } } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("period-ages"))


def test_a_child_turning_sixteen_after_the_quarter_is_left_behind_in_its_report(api: Api) -> None:
    """ziyang-2017-notice.txt: "村（居）民委员会每季度向乡（镇）人民政府报告一次本村（居）农村留守儿童和
    困境儿童状况"; chongqing-2016-implementation-opinions.txt: 留守儿童 are "不满十六周岁的未成年人".
    A child 15 on 31 March and 16 on 2 April was left-behind all of Q1; the village's Q1 report,
    prepared on 3 April within its deadline (5 April), does not count the child."""
    fam = Families(store_of(api), seed=11)
    fam.child(VILLAGE, father=away(), mother=away(), birth_date="2010-04-02")
    with clock.pinned(datetime(2026, 4, 3, 2, 0, tzinfo=UTC)):
        data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
        r = data(api.gql("village", REPORT, {"d": VILLAGE, "p": "2026-Q1"}))["periodicReport"]
    assert r["deadline"] == "2026-04-05"
    totals = {c["key"]: c["count"] for c in r["totals"]}
    assert totals.get("left_behind", 0) == totals.get("children", 0) >= 1, totals
