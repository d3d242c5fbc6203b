"""Classification through the API: left-behind and in-distress, explained, recomputed, counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from graph.records import Assertion, NodeRecord
from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE, VILLAGE2
from tests.screening_support import SURVEY, Families, away, data, error, store_of

CLASSIFY = """query($id: ID!) { classification(personId: $id) {
  leftBehind inDistress categories arrangement schooling caseStatus priority
  verdicts { category holds missing } reasons { rule zh weight evidence }
  facts { about basis text record kind prop value sources { system recordId } } } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children removed snapshotId } }"
COUNTS = "query($d: String!) { classificationCounts(division: $d) { division counts { key count } } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("classification"))


def _verdict(c: dict, category: str) -> dict:
    """The verdict with the facts it rests on (listed flat in the classification)."""
    v = next(v for v in c["verdicts"] if v["category"] == category)
    facts = [f for f in c["facts"] if f["about"] == category and f["basis"] == "verdict"]
    return {**v, "facts": facts}


def test_fixture_child_is_left_behind_with_facts_and_sources(api: Api) -> None:
    c = data(api.gql("civil", CLASSIFY, {"id": "person:child"}))["classification"]
    assert c["leftBehind"] is True and c["categories"] == ["left_behind"]
    assert c["arrangement"] == "entrusted_guardian" and c["schooling"] == "enrolled"
    lb = _verdict(c, "left_behind")
    texts = {f["text"]: f for f in lb["facts"]}
    assert texts["father works away (外出务工)"]["record"] == "person:father"
    assert texts["father works away (外出务工)"]["value"] == "True"
    assert texts["father works away (外出务工)"]["sources"] == [
        {"system": "police_hukou", "recordId": "HK-1"}
    ]
    assert texts["rural household registration"]["prop"] == "hukou_type"
    assert any(t.startswith("age ") for t in texts)
    assert lb["missing"] == []
    # a girl left behind is one of the seeds' priority groups
    assert "priority_girl" in {r["rule"] for r in c["reasons"]}


def test_reclassified_after_a_parent_returns(api: Api) -> None:
    store = store_of(api)
    # The materialised rows this test reads before the recompute: its own, not another test's.
    data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
    back = Assertion("manual", "correction-1", datetime(2026, 6, 1, 10, 0))
    store.upsert_nodes([NodeRecord("person:mother", {"works_away": False}, back)])
    try:
        # Not reclassified until a recompute: the materialised row is what counts read.
        assert data(api.gql("civil", CLASSIFY, {"id": "person:child"}))["classification"]["leftBehind"]
        r = data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))["recomputeClassification"]
        assert r["children"] >= 1 and r["snapshotId"] is not None
        c = data(api.gql("civil", CLASSIFY, {"id": "person:child"}))["classification"]
        assert c["leftBehind"] is False and c["arrangement"] == "with_parents"
        mother = next(f for f in _verdict(c, "left_behind")["facts"] if f["record"] == "person:mother")
        assert mother["text"] == "mother lives at home (在家)"
        assert {"system": "manual", "recordId": "correction-1"} in mother["sources"]
    finally:
        again = Assertion("manual", "correction-1", datetime(2026, 6, 2, 10, 0))
        store.upsert_nodes([NodeRecord("person:mother", {"works_away": True}, again)])
        data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
    assert data(api.gql("civil", CLASSIFY, {"id": "person:child"}))["classification"]["leftBehind"] is True


def test_in_distress_categories_from_synthetic_families(api: Api) -> None:
    fam = Families(store_of(api), seed=11)
    dead = {"deceased": True}
    unable = {"guardianship_capacity": False, "incapacity_reason": "重残"}
    orphan = fam.child(VILLAGE, father=dead, mother=dead, guardian={"guardianship_capacity": True})
    unsupported = fam.child(VILLAGE, father=dead, mother=unable)
    disabled = fam.child(VILLAGE, father={"works_away": False}, mother=away(), disability="physical-2")
    ill = fam.child(VILLAGE, father={"works_away": False}, mother={"works_away": False})
    fam.event(ill, "HealthEvent", {"kind": "condition", "icd10": "C91.0", "occurred_on": "2026-01-05"})
    poor = fam.child(VILLAGE, father=away(), mother=away(), sex="F")
    fam.event(
        poor,
        "Visit",
        {"visited_on": "2026-04-02", "findings": "发现问题：无；救助：低保", "division": VILLAGE},
        SURVEY,
    )
    urban = fam.child(VILLAGE, hukou="urban", father=away(), mother=away())
    one_away = fam.child(VILLAGE, father=away(), mother=unable)
    too_old = fam.child(VILLAGE, age=16, father=away(), mother=away())
    data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))

    def cats(pid: str) -> list[str]:
        return data(api.gql("civil", CLASSIFY, {"id": pid}))["classification"]["categories"]

    assert cats(orphan) == ["orphan"]
    assert cats(unsupported) == ["de_facto_unsupported"]
    assert cats(disabled) == ["disability"]
    assert cats(ill) == ["serious_illness"]
    assert cats(poor) == ["left_behind", "poor_family"]
    assert cats(urban) == []
    assert cats(one_away) == ["left_behind"]
    assert cats(too_old) == []  # 16: past the left-behind line, not in distress
    poor_v = _verdict(data(api.gql("civil", CLASSIFY, {"id": poor}))["classification"], "poor_family")
    assert poor_v["facts"][0]["sources"] == [{"system": "survey", "recordId": "SV-SYN"}]
    ill_c = data(api.gql("civil", CLASSIFY, {"id": urban}))["classification"]
    assert "no social-assistance" in _verdict(ill_c, "poor_family")["missing"][0]

    rows = {
        r["division"]: {c["key"]: c["count"] for c in r["counts"]}
        for r in data(api.gql("civil", COUNTS, {"d": TOWN}))["classificationCounts"]
    }
    village = rows[VILLAGE]
    assert village["left_behind"] == 3  # the fixture child, `poor` and `one_away`
    assert village["orphan"] == 1 and village["de_facto_unsupported"] == 1
    assert village["in_distress"] == 5
    assert rows[TOWN] == village


def test_scope_and_capability(api: Api) -> None:
    # Another village's supervisor: the same answer as for a child who does not exist.
    e = error(api.gql("village2", CLASSIFY, {"id": "person:child"}))
    assert e["extensions"]["code"] == "NOT_FOUND"
    assert error(api.gql("village2", CLASSIFY, {"id": "person:nobody"}))["extensions"] == e["extensions"]
    # A teacher does not hold read_classification.
    assert error(api.gql("school", CLASSIFY, {"id": "person:child"}))["extensions"]["code"] == "FORBIDDEN"
    # A village supervisor reads the verdict, but provenance is denied to them by policy.
    body = api.gql("village", CLASSIFY, {"id": "person:child"}).json()
    assert body["data"]["classification"]["leftBehind"] is True
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert all(e["path"][-1] == "sources" for e in body["errors"])
    # Counts beyond the caller's jurisdiction are refused; a village sees its own.
    assert error(api.gql("village", COUNTS, {"d": TOWN}))["extensions"]["reason"] == "out_of_scope"
    own = data(api.gql("village", COUNTS, {"d": VILLAGE}))["classificationCounts"]
    assert own[0]["division"] == VILLAGE
    assert error(api.gql("village2", COUNTS, {"d": VILLAGE2 + "0"}))["extensions"]["code"] == "BAD_REQUEST"
    # Recompute is a caseworker's action, not a supervisor's.
    assert error(api.gql("village", RECOMPUTE, {"d": VILLAGE}))["extensions"]["code"] == "FORBIDDEN"


def test_as_of_is_today(api: Api) -> None:
    c = data(api.gql("civil", CLASSIFY, {"id": "person:child"}))["classification"]
    age = next(f for f in _verdict(c, "left_behind")["facts"] if f["text"].startswith("age "))
    assert clock.today().isoformat() in age["text"]
