"""The living-alone reporting duty is about children under 16 (不满十六周岁), judged on the day of
the visit that found them alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE, person

MISSED = "query M { missedReports { kind childId institution } }"
VISITED_ON = "2026-11-20"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("acct-age"), webhook_worker=False):
        store = a.client.app.state.graph  # type: ignore[attr-defined]
        src = Assertion("survey", "V-16", datetime(2026, 11, 20, 1))
        store.upsert_nodes(
            [
                # 16 on the day of the visit, and 15 (16 the next day).
                person("sixteen", name="甲子", birth_date="2010-11-20", sex="M", hukou_type="rural"),
                person("fifteen", name="甲丑", birth_date="2010-11-21", sex="F", hukou_type="rural"),
                NodeRecord(
                    "visit:v-16",
                    {
                        "visited_on": VISITED_ON,
                        "visitor": "vc-500101001001",
                        "findings": "living_alone",
                        "division": VILLAGE,
                    },
                    src,
                ),
            ]
        )
        store.upsert_rels(
            [RelRecord("CONCERNS", "visit:v-16", p, {}, src) for p in ("person:sixteen", "person:fifteen")]
        )
        yield a


def test_living_alone_at_sixteen_is_not_a_missed_report(api: Api) -> None:
    """chongqing-2016-implementation-opinions.txt: "不得让不满十六周岁的儿童脱离监护单独居住生活", and
    the duty to report "农村留守儿童脱离监护单独居住生活" (留守儿童: "不满十六周岁的未成年人"). The
    platform held the village committee to account for a 16-year-old found living alone (its age
    line for every missed report was 18)."""
    with clock.pinned(datetime(2026, 12, 1, 4, 0, tzinfo=UTC)):
        body = api.gql("auditor", MISSED).json()
    assert not body.get("errors"), body
    listed = {(m["kind"], m["childId"]) for m in body["data"]["missedReports"]}
    assert listed == {("living_alone_unreported", "person:fifteen")}
