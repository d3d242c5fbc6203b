"""One layer through which every value leaves (issue 10, class 1 and 5): derived texts are
composed from values that passed the field policy, a fact of a denied class is left out whole,
and a list of a denied class is empty (no ids of records the caller may not see)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.api_fixtures import Api
from tests.security.field_support import DIAGNOSIS, DISABILITY, PEOPLE, serve_county

CLASSIFY = """query($id: ID!) { classification(personId: $id) {
  categories reasons { rule evidence } facts { kind prop text value } } }"""
HEALTH = """query($id: ID!) { person(id: $id) { healthEvents { id icd10 } } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_county(tmp_path_factory.mktemp("field_layer"))


def _classification(api: Api, who: str, purpose: str = "case_work") -> dict:
    body = api.gql(who, CLASSIFY, {"id": PEOPLE["ill"]}, purpose=purpose).json()
    assert not body.get("errors"), body
    return body["data"]["classification"]


def test_the_full_reader_sees_the_diagnosis_and_grade(api: Api) -> None:
    c = _classification(api, "civil")
    texts = " ".join(f["text"] for f in c["facts"])
    assert DIAGNOSIS in texts and DISABILITY in texts
    assert "serious_illness" in c["categories"] and "disability" in c["categories"]


def test_a_denied_class_is_left_out_of_facts_and_reasons_whole(api: Api) -> None:
    """The village committee may not read health: no fact, text or evidence carries the code."""
    c = _classification(api, "village", purpose="screening")
    dumped = json.dumps(c, ensure_ascii=False)
    assert DIAGNOSIS not in dumped and "Q**" not in dumped
    assert all(f["kind"] != "HealthEvent" for f in c["facts"])
    # The disability grade is allowed to the village committee (disability = allow).
    assert any(DISABILITY in f["text"] for f in c["facts"])


def test_masked_values_stay_masked_inside_texts(api: Api) -> None:
    """The auditor sees health and disability masked: the texts carry the masks, not the values."""
    c = _classification(api, "auditor", purpose="audit")
    dumped = json.dumps(c, ensure_ascii=False)
    assert DIAGNOSIS not in dumped and DISABILITY not in dumped
    health = [f for f in c["facts"] if f["kind"] == "HealthEvent"]
    assert health and all(f["value"] == "Q**.*" and "Q**.*" in f["text"] for f in health)
    grade = [f for f in c["facts"] if f["prop"] == "disability"]
    assert grade and all(f["value"] == "multiple" and "multiple" in f["text"] for f in grade)
    evidence = [e for r in c["reasons"] for e in r["evidence"]]
    assert all(DIAGNOSIS not in e and DISABILITY not in e for e in evidence)


def test_a_list_of_a_denied_class_names_no_ids(api: Api) -> None:
    """healthEvents where health is denied: an empty list, not the events' ids."""
    full = api.gql("civil", HEALTH, {"id": PEOPLE["ill"]}).json()["data"]["person"]["healthEvents"]
    assert len(full) == 1 and full[0]["icd10"] == DIAGNOSIS
    body = api.gql("village", HEALTH, {"id": PEOPLE["ill"]}, purpose="screening").json()
    assert body["data"]["person"]["healthEvents"] == []
