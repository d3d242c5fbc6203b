"""The day a case step is recorded on is the Beijing day: a police measure taken at 07:00 Beijing
is dated that day, not the UTC day before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kernel import clock
from tests.api_fixtures import Api, serve

BEIJING = timezone(timedelta(hours=8))
FILE = """mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"""
ACCEPT = "mutation Accept($id: ID!) { acceptReport(reportId: $id) { id } }"
ACTION = "mutation Act($input: EmergencyActionInput!) { recordEmergencyAction(input: $input) { id } }"
INTERVENE = "mutation Itv($input: InterventionInput!) { recordIntervention(input: $input) { id } }"
NOTIFY = 'mutation Notify($id: ID!) { notifyTownship(caseId: $id, note: "通报") { id } }'
OPEN = "mutation Open($id: ID!, $p: [String!]!) { openAssessment(caseId: $id, participants: $p) { id } }"
ASSESS = "mutation Assess($input: AssessmentInput!) { recordAssessment(input: $input) { id } }"
ASSESSED = "query Case($id: ID!) { protectionCase(id: $id) { assessments { assessedOn } } }"
CASE = """query Case($id: ID!) { protectionCase(id: $id) {
  emergencyActions { action occurredOn } interventions { kind occurredOn } } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("case-days"), webhook_worker=False)


def ok(api: Api, who: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = api.gql(who, query, variables).json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))


def test_a_measure_at_seven_in_the_morning_is_dated_that_beijing_day(api: Api) -> None:
    """zhenjiang-2017-implementation-opinions.txt: the reporting duty is "第一时间内向公安机关报告",
    and the police's 应急处置 and the admonition of the parents are the dated record on which
    the later petition (经教育不改, 6个月以上) is judged. Recorded at 07:00 Beijing on 15 June
    (23:00 UTC on the 14th) without a date, both were dated 14 June."""
    with clock.pinned(datetime(2026, 6, 15, 7, 0, tzinfo=BEIJING)):
        report = ok(
            api,
            "village",
            FILE,
            {"input": {"childId": "person:child", "situation": "GUARDIAN_NEGLECT", "summary": "父母不管"}},
        )
        case_id = report["caseId"]
        ok(api, "police", ACCEPT, {"id": report["id"]})
        ok(api, "police", ACTION, {"input": {"caseId": case_id, "action": "contact_parents"}})
        ok(
            api,
            "police",
            INTERVENE,
            {"input": {"caseId": case_id, "kind": "admonition", "guardianId": "person:father"}},
        )
        case = ok(api, "police", CASE, {"id": case_id})
    assert {a["occurredOn"] for a in case["emergencyActions"]} == {"2026-06-15"}
    assert [i["occurredOn"] for i in case["interventions"]] == ["2026-06-15"]


def test_an_assessment_at_seven_in_the_morning_is_dated_that_beijing_day(tmp_path: Path) -> None:
    """zhangye-2016-implementation-plan.txt / DESIGN.md §2.4 (评估帮扶): the township assesses the
    child's safety, guardianship, health. Recorded at 07:00 Beijing on 16 June without a date, the
    assessment was dated 15 June, the UTC day."""
    for api in serve(tmp_path, webhook_worker=False):
        with clock.pinned(datetime(2026, 6, 16, 7, 0, tzinfo=BEIJING)):
            report = ok(
                api,
                "school",
                FILE,
                {"input": {"childId": "person:child", "situation": "LIVING_ALONE", "summary": "独自在家"}},
            )
            case_id = report["caseId"]
            ok(api, "police", ACCEPT, {"id": report["id"]})
            for action in ("order_parents_back", "admonish_parents"):
                ok(api, "police", ACTION, {"input": {"caseId": case_id, "action": action}})
            ok(api, "police", NOTIFY, {"id": case_id})
            ok(api, "township", OPEN, {"id": case_id, "p": ["ps-500101", "ca-500101"]})
            findings = {"safety": "已安全", "guardianship": "祖母照料", "physicalHealth": "良好"}
            ok(
                api,
                "township",
                ASSESS,
                {"input": {"caseId": case_id, **findings, "mentalHealth": "孤独", "riskLevel": "medium"}},
            )
            case = ok(api, "township", ASSESSED, {"id": case_id})
        assert [a["assessedOn"] for a in case["assessments"]] == ["2026-06-16"]
