"""A child with no birth date stays in the living-alone screening, flagged for the age to be checked.

chongqing-2016-implementation-opinions.txt: "不得让不满十六周岁的儿童脱离监护单独居住生活". The rule
holds under 16; a child whose birth date the platform lacks had no age, and the screening skipped
the child: a visit found the child alone and no worklist said so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from kernel import clock
from kernel.messages import say
from protection.classification import assess_all
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, VILLAGE
from tests.screening_support import Families, away, data, store_of

IDS = """query($d: String!, $rule: String) { worklist(division: $d, rule: $rule) {
  entries { personId rules reasons } } }"""
CLASSIFY = """query($id: ID!) { classification(personId: $id) {
  reasons { rule evidence } } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("screening-undated")):
        fam = Families(store_of(a), seed=31)
        recent = (clock.today() - timedelta(days=10)).isoformat()
        # Found alone by the village's visit; no birth date on record.
        alone = fam.child(VILLAGE, father=away(), mother=away(), birth_date=None)
        fam.event(alone, "Visit", {"visited_on": recent, "findings": "living_alone", "division": VILLAGE})
        # Visited and fine, no birth date: nothing holds without an age.
        fine = fam.child(VILLAGE, father=away(), mother=away(), birth_date=None)
        fam.event(fine, "Visit", {"visited_on": recent, "findings": "发现问题：无", "division": VILLAGE})
        data(a.gql("civil", RECOMPUTE, {"d": COUNTY}))
        a.ids = {"alone": alone, "fine": fine}  # type: ignore[attr-defined]
        yield a


def test_a_child_found_alone_without_a_birth_date_is_on_the_worklist_flagged(api: Api) -> None:
    ids = api.ids  # type: ignore[attr-defined]
    entries = {
        e["personId"]: e
        for e in data(api.gql("civil", IDS, {"d": VILLAGE, "rule": "living_alone"}))["worklist"]["entries"]
    }
    assert ids["alone"] in entries and ids["fine"] not in entries
    reasons = data(api.gql("civil", CLASSIFY, {"id": ids["alone"]}))["classification"]["reasons"]
    (alone,) = [r for r in reasons if r["rule"] == "living_alone"]
    assert say("screening.birth_date_unknown") in alone["evidence"], alone
    # No other rule holds without an age (a girl, a missed visit...): only this one.
    assert [r["rule"] for r in reasons] == ["living_alone"]
    # One child at a time (after a sync) alike.
    (result,) = assess_all(store_of(api), [ids["alone"], ids["fine"]])
    assert result.person_id == ids["alone"] and [r.rule for r in result.risks] == ["living_alone"]
