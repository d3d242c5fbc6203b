"""经教育不改: a report after the admonition is judged on the Beijing day it was filed."""

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
INTERVENE = "mutation Itv($input: InterventionInput!) { recordIntervention(input: $input) { id } }"
PETITION = "mutation Petition($input: PetitionInput!) { petitionCourt(input: $input) { id } }"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Api]:
    yield from serve(tmp_path, webhook_worker=False)


def ok(api: Api, who: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = api.gql(who, query, variables).json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))


def _living_alone(api: Api) -> dict[str, Any]:
    report = ok(
        api,
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "LIVING_ALONE", "summary": "走访发现独居"}},
    )
    ok(api, "police", ACCEPT, {"id": report["id"]})
    return report


def test_a_report_the_morning_after_the_admonition_shows_no_change(fresh: Api) -> None:
    """zhenjiang-2017-implementation-opinions.txt: a petition when the guardian left the child
    "置于无人监管和照看状态,导致其面临危险且经教育不改的". The father is admonished on 14 June; the
    child is found alone again and reported at 07:00 Beijing on 15 June (23:00 UTC on the 14th).
    The platform took the report's UTC date, the admonition's day, as not after it and refused the
    petition for want of a report after the admonition."""
    with clock.pinned(datetime(2026, 6, 14, 10, 0, tzinfo=BEIJING)):
        case_id = _living_alone(fresh)["caseId"]
        ok(
            fresh,
            "police",
            INTERVENE,
            {"input": {"caseId": case_id, "kind": "admonition", "guardianId": "person:father"}},
        )
    with clock.pinned(datetime(2026, 6, 15, 7, 0, tzinfo=BEIJING)):
        _living_alone(fresh)
        petition = {
            "caseId": case_id,
            "guardianId": "person:father",
            "grounds": ["unsupervised_in_danger_unchanged"],
        }
        body = fresh.gql("civil", PETITION, {"input": petition}).json()
    assert not body.get("errors"), body
