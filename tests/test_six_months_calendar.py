"""拒不履行监护职责6个月以上 counted in calendar months of the Beijing day, not as 183 days."""

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
PETITION = "mutation Petition($input: PetitionInput!) { petitionCourt(input: $input) { id } }"
DECIDE = "mutation D($input: GuardianshipDecisionInput!) { decideGuardianship(input: $input) { id } }"
CASE = "query C($id: ID!) { protectionCase(id: $id) { interventions { id kind occurredOn decidedOn } } }"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Api]:
    yield from serve(tmp_path, webhook_worker=False)


def _demand_on(api: Api, day: str) -> dict[str, Any]:
    """A neglect case whose first demand on the parents (contact_parents) was on `day`, the child in
    temporary care since; returns the petition input on duty_refused_six_months."""
    body = api.gql(
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "GUARDIAN_NEGLECT", "summary": "父母长期不管"}},
    ).json()
    assert not body.get("errors"), body
    report = body["data"]["fileMandatoryReport"]
    case_id = report["caseId"]
    for q, v in [
        (ACCEPT, {"id": report["id"]}),
        (ACTION, {"input": {"caseId": case_id, "action": "contact_parents", "occurredOn": day}}),
        (ACTION, {"input": {"caseId": case_id, "action": "parents_unreachable"}}),
        (
            ACTION,
            {
                "input": {
                    "caseId": case_id,
                    "action": "temporary_care_placement",
                    "placementKind": "relatives",
                    "place": "伯父家",
                    "since": day,
                }
            },
        ),
    ]:
        b = api.gql("police", q, v).json()
        assert not b.get("errors"), b
    return {"caseId": case_id, "guardianId": "person:mother", "grounds": ["duty_refused_six_months"]}


def _petition(api: Api, petition: dict[str, Any]) -> str | None:
    errors = api.gql("civil", PETITION, {"input": petition}).json().get("errors")
    return errors[0]["extensions"].get("code") if errors else None


def _court_petition(api: Api, case_id: str) -> dict[str, Any]:
    body = api.gql("police", CASE, {"id": case_id}).json()
    assert not body.get("errors"), body
    return next(i for i in body["data"]["protectionCase"]["interventions"] if i["kind"] == "court_petition")


def test_six_months_are_calendar_months_from_the_first_demand(fresh: Api) -> None:
    """zhenjiang-2017-implementation-opinions.txt: a petition to revoke guardianship when the parents
    "拒不履行监护职责6个月以上导致其生活无着的" (以上 includes six months itself). The platform counted
    183 days: from a demand on 1 March it let the petition through on 31 August, a day before six
    months had passed (the court would be petitioned on a ground not yet met)."""
    with clock.pinned(datetime(2026, 8, 31, 9, 0, tzinfo=BEIJING)):
        petition = _demand_on(fresh, "2026-03-01")
        assert _petition(fresh, petition) == "MISSING_GROUNDS"
    # 07:00 Beijing on 1 September is still 31 August in UTC: the day is Beijing's.
    with clock.pinned(datetime(2026, 9, 1, 7, 0, tzinfo=BEIJING)):
        assert _petition(fresh, petition) is None
        pet = _court_petition(fresh, petition["caseId"])
        body = fresh.gql("court", DECIDE, {"input": {"interventionId": pet["id"], "decision": "dismissed"}})
        assert not body.json().get("errors"), body.json()
        pet = _court_petition(fresh, petition["caseId"])
    # Filed and decided that morning: both dated 1 September, the Beijing day.
    assert (pet["occurredOn"], pet["decidedOn"]) == ("2026-09-01", "2026-09-01")


def test_six_months_from_new_year_are_met_on_the_first_of_july(fresh: Api) -> None:
    """The same sentence from the other side: from a demand on 1 January six months have passed on
    1 July (181 days); 183 days refused the petition until 3 July."""
    with clock.pinned(datetime(2026, 7, 1, 9, 0, tzinfo=BEIJING)):
        petition = _demand_on(fresh, "2026-01-01")
        assert _petition(fresh, petition) is None
