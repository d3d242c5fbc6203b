"""Accountability and agreements through the HTTP API: missed reports found in the synced data, listed
per institution until someone files; overdue steps per agency; 委托监护协议 flags."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import SCHOOL, VILLAGE, person

MISSED = "query M { missedReports { kind eventId childId institution occurredOn daysSince } }"
OVERDUE = "query O { overdueSteps { stepId caseId kind agencyId hoursOverdue } }"
FILE = """mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"""
DROPOUT = """mutation D($c: ID!) {
  fileDropoutReport(childId: $c, summary: "三次家访劝返无效") { id receivingAgencyId } }"""
FLAGS = "query F { agreementFlags { childId reason guardianId detail } }"
AGREE = """mutation A($input: AgreementInput!) {
  recordAgreement(input: $input) { id kind validTo guardian { id } } }"""
# The missed-report events concern a second child of their own: the other tests file reports about
# person:child (a MISSING report would discharge the living-alone duty), so sharing one child made
# the missed-report list depend on test order.
PUPIL = "person:pupil"
PROFILE = """query P { person(id: "person:child") {
  agreements { kind validTo } guardians { kind until person { id } } } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from _served(tmp_path_factory.mktemp("acct"))


@pytest.fixture(scope="module")
def school_code_shape_masked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A policy masking EducationEvent.school_code with a mask that keeps part of it (the name mask)."""
    from auth.policy import DEFAULT_PATH

    tmp = tmp_path_factory.mktemp("acct-masked")
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    line = '"EducationEvent.school_code" = "keep"'
    assert text.count(line) == 1
    (tmp / "policy.toml").write_text(
        text.replace(line, '"EducationEvent.school_code" = "name"'), encoding="utf-8"
    )
    yield from _served(tmp, policy_file=tmp / "policy.toml")


def _served(tmp: Any, **overrides: Any) -> Iterator[Api]:
    # Acceptance "at once" taken literally: any report not yet accepted is overdue.
    for a in serve(tmp, report_accept_minutes=0, webhook_worker=False, **overrides):
        store = a.client.app.state.graph  # type: ignore[attr-defined]
        src = Assertion("health", "ENC-1", datetime(2026, 11, 1, 10))
        on = (clock.today() - timedelta(days=20)).isoformat()
        store.upsert_nodes(
            [
                person("pupil", name="甲壬", birth_date="2016-05-01", sex="M", hukou_type="rural"),
                NodeRecord(
                    "healthevent:enc-1",
                    {
                        "kind": "encounter",
                        "icd10": "S52.5",
                        "occurred_on": on,
                        "facility": "H9",
                        "division": VILLAGE,
                    },
                    src,
                ),
                NodeRecord(
                    "healthevent:enc-2",
                    {
                        "kind": "encounter",
                        "icd10": "J06.9",
                        "occurred_on": on,
                        "facility": "H9",
                        "division": VILLAGE,
                    },
                    src,
                ),
                NodeRecord(
                    "educationevent:drop-1",
                    {"kind": "dropout", "occurred_on": on, "school_code": "S1", "division": VILLAGE},
                    Assertion("education", "D-1", src.at),
                ),
                NodeRecord(
                    "visit:v-1",
                    {
                        "visited_on": on,
                        "visitor": "vc-500101001001",
                        "findings": "living_alone,withdrawn",
                        "division": VILLAGE,
                    },
                    Assertion("survey", "V-1", src.at),
                ),
            ]
        )
        store.upsert_rels(
            [
                RelRecord("CONCERNS", e, PUPIL, {}, src)
                for e in ("healthevent:enc-1", "healthevent:enc-2", "educationevent:drop-1", "visit:v-1")
            ]
            + [
                RelRecord(
                    "ENROLLED_AT",
                    PUPIL,
                    "school:S1",
                    {"grade": "4", "boarding": False, "status": "enrolled"},
                    SCHOOL,
                    qualifier="2024",
                )
            ]
        )
        yield a


def gql(api: Api, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = api.gql(who, query, variables).json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))


def test_a_school_is_named_only_to_a_caller_shown_its_code_as_it_is(school_code_shape_masked: Api) -> None:
    """The dropout line names the school when the caller reads its code as it is; a caller shown the
    code through a mask that keeps part of it gets the code so masked, not the name masked the same
    way (part of 中心小学 would be the school)."""
    lines = {m["kind"]: m["institution"] for m in gql(school_code_shape_masked, "county", MISSED)}
    assert lines["dropout_unreported"] == "中心小学"
    masked = {m["kind"]: m["institution"] for m in gql(school_code_shape_masked, "auditor", MISSED)}
    assert masked["dropout_unreported"] not in ("中心小学", "S1")
    assert not set(masked["dropout_unreported"]) & set("中心小学")


def test_missed_reports_are_listed_per_institution_until_filed(api: Api) -> None:
    missed = {(m["kind"], m["institution"]): m for m in gql(api, "county", MISSED)}
    # The fracture (S52) is a missed report; the cold (J06) is not. The school and the village
    # committee are named as officials know them (they were "S1" and "village committee <code>").
    assert set(missed) == {
        ("injury_encounter", "H9"),
        ("dropout_unreported", "中心小学"),
        ("living_alone_unreported", "D1001村民委员会"),
    }
    assert all(m["childId"] == PUPIL and m["daysSince"] == 20 for m in missed.values())
    # The auditor reads health records masked: the same lines, the hospital and the day of the
    # injury visit masked as the health event's facility and occurred_on are (see below).
    assert {(m["kind"], m["institution"]) for m in gql(api, "auditor", MISSED)} == {
        ("injury_encounter", "***"),
        ("dropout_unreported", "中心小学"),
        ("living_alone_unreported", "D1001村民委员会"),
    }
    # Holding no accountability duty, a school may not list them.
    body = api.gql("school", MISSED).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # The school files its written dropout report (to the township); the village reports living alone.
    assert gql(api, "school", DROPOUT, {"c": PUPIL})["receivingAgencyId"] == "tw-500101001"
    gql(
        api,
        "village",
        FILE,
        {"input": {"childId": PUPIL, "situation": "LIVING_ALONE", "summary": "走访发现独居"}},
    )
    left = [(m["kind"], m["institution"]) for m in gql(api, "county", MISSED)]
    # A report of another situation does not discharge the hospital's duty to report the injury.
    assert left == [("injury_encounter", "H9")]
    gql(
        api,
        "doctor",
        FILE,
        {
            "input": {
                "childId": PUPIL,
                "situation": "INJURY_OR_HARM",
                "summary": "前臂骨折，疑似外伤",
            }
        },
    )
    assert gql(api, "auditor", MISSED) == gql(api, "county", MISSED) == []


def test_overdue_steps_are_listed_per_agency(api: Api) -> None:
    report = gql(
        api, "school", FILE, {"input": {"childId": "person:child", "situation": "MISSING", "summary": "未归"}}
    )
    overdue = gql(api, "auditor", OVERDUE)
    mine = [o for o in overdue if o["caseId"] == report["caseId"]]
    assert [(o["kind"], o["agencyId"]) for o in mine] == [("accept_report", "ps-500101")]
    # Without read_accountability an agency sees its own overdue steps only.
    assert {o["agencyId"] for o in gql(api, "police", OVERDUE)} == {"ps-500101"}
    assert gql(api, "school", OVERDUE) == []
    gql(api, "police", "mutation A($id: ID!) { acceptReport(reportId: $id) { id } }", {"id": report["id"]})
    assert report["caseId"] not in {
        o["caseId"] for o in gql(api, "auditor", OVERDUE) if o["kind"] == "accept_report"
    }


def test_left_behind_child_without_a_valid_entrustment_is_flagged(api: Api) -> None:
    # Both parents away; the grandmother cares for the child but no agreement is on record.
    assert gql(api, "village", FLAGS) == [
        {"childId": "person:child", "reason": "no_valid_entrustment", "guardianId": None, "detail": None}
    ]
    assert api.gql("school", FLAGS).json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    today = clock.today()
    expired = {
        "kind": "entrustment",
        "childId": "person:child",
        "parentIds": ["person:father", "person:mother"],
        "guardianId": "person:granny",
        "signedOn": (today - timedelta(days=800)).isoformat(),
        "validFrom": (today - timedelta(days=800)).isoformat(),
        "validTo": (today - timedelta(days=435)).isoformat(),
    }
    gql(api, "village", AGREE, {"input": expired})
    assert [f["reason"] for f in gql(api, "village", FLAGS)] == ["no_valid_entrustment"]
    bad = api.gql("village", AGREE, {"input": {**expired, "guardianId": None}}).json()
    assert bad["errors"][0]["extensions"]["code"] == "MISSING_FACTS"
    current = {
        **expired,
        "signedOn": today.isoformat(),
        "validFrom": today.isoformat(),
        "validTo": (today + timedelta(days=365)).isoformat(),
    }
    created = gql(api, "village", AGREE, {"input": current})
    assert created["kind"] == "entrustment" and created["guardian"] == {"id": "person:granny"}
    assert gql(api, "village", FLAGS) == []
    # The graph copy: the agreement in the child's profile, the entrusted guardian's term.
    profile = gql(api, "police", PROFILE)
    assert {a["validTo"] for a in profile["agreements"]} >= {current["validTo"]}
    granny = next(g for g in profile["guardians"] if g["person"]["id"] == "person:granny")
    assert granny["kind"] == "entrusted"
