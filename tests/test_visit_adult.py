"""A screening visit is for a child: the server refuses one for an adult, in Chinese, writing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from graph.records import NodeRecord
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import person
from tests.screening_support import data, error, store_of

RECORD = "mutation($in: VisitInput!) { recordVisit(input: $in) { status record { version } } }"
STATE = "query($id: ID!) { childVisitRecord(personId: $id) { version } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("visit-adult")):
        today = date.today()
        nodes: list[NodeRecord] = [
            # 23 today, and one who turns 18 tomorrow (still a child today).
            person("adult", name="甲成", birth_date=f"{today.year - 23}-01-01", sex="M"),
            person(
                "almost",
                name="甲近",
                birth_date=(date(today.year - 18, today.month, today.day) + timedelta(days=1)).isoformat()
                if not (today.month == 2 and today.day == 29)
                else f"{today.year - 18}-03-01",
                sex="F",
            ),
        ]
        store_of(a).upsert_nodes(nodes)
        yield a


def visit(person_id: str, client_id: str) -> dict:
    return {
        "clientId": client_id,
        "personId": person_id,
        "visitedOn": date.today().isoformat(),
        "findings": [],
        "livingArrangement": "with_parents",
        "baseVersion": 0,
    }


def test_a_visit_for_an_adult_is_refused_in_chinese_and_nothing_is_written(api: Api) -> None:
    e = error(api.gql("village", RECORD, {"in": visit("person:adult", "adult-0001")}, purpose="screening"))
    assert e["extensions"]["code"] == "BAD_REQUEST" and e["extensions"]["reason"] == "adult", e
    assert "已满18周岁" in e["message"], e
    state = data(api.gql("village", STATE, {"id": "person:adult"}, purpose="screening"))
    assert state["childVisitRecord"]["version"] == 0
    assert store_of(api).get_node("visit:app-adult-0001") is None


def test_a_child_the_day_before_their_eighteenth_birthday_is_still_visited(api: Api) -> None:
    out = data(api.gql("village", RECORD, {"in": visit("person:almost", "almost-0001")}, purpose="screening"))
    assert out["recordVisit"]["status"] == "RECORDED"
