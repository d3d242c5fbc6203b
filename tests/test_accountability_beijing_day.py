"""Missed mandatory reports counted in the Beijing day: a hospital that reports an injury the
morning it treats it has done its duty, whatever the UTC date of the filing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE, person

MISSED = "query M { missedReports { kind eventId childId institution occurredOn daysSince } }"
FILE = """mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"""
PUPIL = "person:pupil"
INJURED_ON = "2026-11-20"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("acct-day"), webhook_worker=False):
        store = a.client.app.state.graph  # type: ignore[attr-defined]
        src = Assertion("health", "ENC-9", datetime(2026, 11, 20, 1))
        store.upsert_nodes(
            [
                person("pupil", name="甲癸", birth_date="2016-05-01", sex="M", hukou_type="rural"),
                NodeRecord(
                    "healthevent:enc-9",
                    {
                        "kind": "encounter",
                        "icd10": "S52.5",
                        "occurred_on": INJURED_ON,
                        "facility": "H9",
                        "division": VILLAGE,
                    },
                    src,
                ),
            ]
        )
        store.upsert_rels([RelRecord("CONCERNS", "healthevent:enc-9", PUPIL, {}, src)])
        yield a


def gql(api: Api, who: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = api.gql(who, query, variables).json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))


def test_an_injury_reported_the_same_beijing_morning_is_not_a_missed_report(api: Api) -> None:
    """zhenjiang-2017-implementation-opinions.txt: a medical institution finding a child
    "疑似遭受意外伤害或不法侵害的,应当第一时间内向公安机关报告". The hospital treats the fracture on
    20 November (Beijing) and files at 07:30 Beijing that morning (23:30 UTC on the 19th); the
    platform took the filing's UTC date, 19 November, as before the injury and listed H9 as having
    failed its reporting duty."""
    with clock.pinned(datetime(2026, 11, 19, 23, 30, tzinfo=UTC)):
        assert clock.today().isoformat() == INJURED_ON
        before = [(m["kind"], m["institution"]) for m in gql(api, "county", MISSED)]
        assert before == [("injury_encounter", "H9")]
        gql(
            api,
            "doctor",
            FILE,
            {"input": {"childId": PUPIL, "situation": "INJURY_OR_HARM", "summary": "前臂骨折，疑似外伤"}},
        )
        assert gql(api, "county", MISSED) == []
