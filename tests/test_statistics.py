"""Statistics over time through the API: counts by division and dimension across snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from graph.records import Assertion, NodeRecord
from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE, VILLAGE2
from tests.screening_support import Families, away, data, error, store_of

STATS = """query($d: String!, $g: StatGroup!, $since: DateTime, $until: DateTime) {
  statistics(division: $d, groupBy: $g, since: $since, until: $until) { takenAt counts { key count } } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children snapshotId } }"
RECORD = """mutation($in: VisitInput!) { recordVisit(input: $in) { status } }"""


def counts(point: dict) -> dict[str, int]:
    return {c["key"]: c["count"] for c in point["counts"]}


@pytest.fixture
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A fresh app per test: snapshots are a history, and each test reads the one it made."""
    for a in serve(tmp_path_factory.mktemp("statistics")):
        fam = Families(store_of(a), seed=31)
        fam.child(VILLAGE, father=away(), mother=away(), sex="F")
        fam.child(VILLAGE2, father={"deceased": True}, mother={"deceased": True})
        fam.child(VILLAGE2, father={"works_away": False}, mother={"works_away": False})
        yield a


def test_series_over_two_snapshots(api: Api) -> None:
    # Read by the county supervisor, who has row access: the analyst gets small counts
    # suppressed (tests/security/test_small_counts.py).
    assert data(api.gql("county", STATS, {"d": COUNTY, "g": "CATEGORY"}))["statistics"] == []
    first = data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))["recomputeClassification"]
    assert first["children"] == 4
    # Snapshot 2: the fixture child's mother comes home; a new left-behind child appears.
    back = Assertion("manual", "stat-1", datetime(2026, 6, 1))
    store_of(api).upsert_nodes([NodeRecord("person:mother", {"works_away": False}, back)])
    Families(store_of(api), seed=32).child(VILLAGE2, father=away(), mother=away())
    data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))

    series = data(api.gql("county", STATS, {"d": COUNTY, "g": "CATEGORY"}))["statistics"]
    assert len(series) == 2 and series[0]["takenAt"] <= series[1]["takenAt"]
    one, two = counts(series[0]), counts(series[1])
    assert one["left_behind"] == 2 and two["left_behind"] == 2  # one left the category, one joined
    assert one["orphan"] == two["orphan"] == 1
    assert one["none"] == 1 and two["none"] == 2
    assert sum(counts(p).get("in_distress", 0) + counts(p).get("not_in_distress", 0) for p in series) == 4 + 5

    by_division = data(api.gql("county", STATS, {"d": COUNTY, "g": "DIVISION"}))["statistics"]
    assert counts(by_division[0]) == {TOWN: 2, "500101002000": 2}
    assert counts(by_division[1]) == {TOWN: 2, "500101002000": 3}
    by_village = data(api.gql("county", STATS, {"d": TOWN, "g": "DIVISION"}))["statistics"]
    assert counts(by_village[-1]) == {VILLAGE: 2}

    arrangement = data(api.gql("county", STATS, {"d": COUNTY, "g": "ARRANGEMENT"}))["statistics"]
    assert counts(arrangement[0])["entrusted_guardian"] == 1
    assert counts(arrangement[1])["with_parents"] == 2
    schooling = counts(data(api.gql("county", STATS, {"d": COUNTY, "g": "SCHOOLING"}))["statistics"][-1])
    assert schooling == {"enrolled": 1, "not_enrolled": 4}
    cases = counts(data(api.gql("county", STATS, {"d": COUNTY, "g": "CASE_STATUS"}))["statistics"][-1])
    assert cases == {"none": 5}

    # A window keeps the later point only; the earlier village counts still carry forward.
    since = series[1]["takenAt"]
    later = data(api.gql("county", STATS, {"d": COUNTY, "g": "CATEGORY", "since": since}))["statistics"]
    assert len(later) == 1 and counts(later[0]) == two
    until = data(api.gql("county", STATS, {"d": COUNTY, "g": "CATEGORY", "until": series[0]["takenAt"]}))
    assert [counts(p) for p in until["statistics"]] == [one]


def test_a_visit_snapshot_updates_only_its_village(api: Api) -> None:
    data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))  # the snapshot the visit's one adds to
    before = data(api.gql("analyst", STATS, {"d": COUNTY, "g": "DIVISION"}))["statistics"]
    visit = {
        "clientId": "stat-visit-1",
        "personId": "person:child",
        "visitedOn": clock.today().isoformat(),
        "findings": [],
        "livingArrangement": "with_parents",
        "baseVersion": 0,
    }
    assert data(api.gql("village", RECORD, {"in": visit}))["recordVisit"]["status"] == "RECORDED"
    after = data(api.gql("analyst", STATS, {"d": COUNTY, "g": "DIVISION"}))["statistics"]
    assert len(after) == len(before) + 1
    assert counts(after[-1]) == counts(before[-1])  # other villages carried forward, nothing lost


def test_statistics_need_the_capability_and_jurisdiction(api: Api) -> None:
    assert (
        error(api.gql("civil", STATS, {"d": COUNTY, "g": "SEX"}))["extensions"]["reason"]
        == "capability_missing"
    )
    assert error(api.gql("village", STATS, {"d": COUNTY, "g": "SEX"}))["extensions"]["reason"] == (
        "capability_missing"
    )
    assert error(api.gql("analyst", STATS, {"d": "500102000000", "g": "SEX"}))["extensions"]["reason"] == (
        "out_of_scope"
    )
    children = data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))["recomputeClassification"]["children"]
    sex = counts(data(api.gql("county", STATS, {"d": COUNTY, "g": "SEX"}))["statistics"][-1])
    assert children == 4 and sum(sex.values()) == children
