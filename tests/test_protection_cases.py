"""Protection cases walked through the HTTP API by the agencies involved, each with its own token:
强制报告 → 受理 → 应急处置 → 通报 → 评估 → 帮扶 → follow-ups → closure, and 监护干预 up to the court's
decision naming a new guardian; with the refusals (wrong agency, invalid transition, missing facts,
petition without grounds)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.model import node_id
from graph.records import NodeRecord
from kernel import clock
from kernel.settings import Settings
from protection import transitions as tr
from tests.api_fixtures import AGENCIES, Api, serve, start_app
from tests.contract.test_graph_store import HUKOU, VILLAGE2, family
from tests.security.support import entries, head

CASE_FIELDS = """
  id status situation agencyId townshipAgencyId riskLevel closureReason
  reports { id status receivingAgencyId reporterAgencyId summary }
  steps { kind agencyId status dueAt overdue }
  history { action agencyId clientId at }
  emergencyActions { action placementKind place since severity }
  missingEmergencyActions
  assessments { safety guardianship physicalHealth mentalHealth riskLevel participants }
  services { id kind provider status outcome }
  followUps { note }
  interventions { id kind status grounds decision guardian { id } newGuardian { id } }
"""
FILE = """
mutation File($input: FileReportInput!) {
  fileMandatoryReport(input: $input) { id caseId status receivingAgencyId reporterAgencyId acceptDueAt }
}"""
ACK = "mutation Ack($id: ID!) { acknowledgeReport(reportId: $id) { id status acknowledgedAt } }"
ACCEPT = "mutation Accept($id: ID!) { acceptReport(reportId: $id) { id status acceptedAt } }"


def _case_op(kind: str, signature: str, call: str) -> str:
    """An operation returning the whole case file."""
    return f"{kind} {signature} {{ {call} {{ {CASE_FIELDS} }} }}"


ACTION = _case_op("mutation", "Act($input: EmergencyActionInput!)", "recordEmergencyAction(input: $input)")
NOTIFY = _case_op("mutation", "Notify($id: ID!)", 'notifyTownship(caseId: $id, note: "通报")')
OPEN = _case_op("mutation", "Open($id: ID!, $p: [String!]!)", "openAssessment(caseId: $id, participants: $p)")
ASSESS = _case_op("mutation", "Assess($input: AssessmentInput!)", "recordAssessment(input: $input)")
PLAN = _case_op(
    "mutation", "Plan($id: ID!, $s: [ServiceInput!]!)", "arrangeServices(caseId: $id, services: $s)"
)
FOLLOW = _case_op(
    "mutation",
    "Follow($id: ID!, $svc: ID, $note: String!)",
    "recordFollowUp(caseId: $id, serviceId: $svc, note: $note)",
)
COMPLETE = _case_op(
    "mutation", "Done($svc: ID!, $o: String!)", "completeService(serviceId: $svc, outcome: $o)"
)
CLOSE = _case_op("mutation", "Close($id: ID!, $r: String!)", "closeCase(caseId: $id, reason: $r)")
CASE = _case_op("query", "Case($id: ID!)", "protectionCase(id: $id)")
INTERVENE = _case_op("mutation", "Itv($input: InterventionInput!)", "recordIntervention(input: $input)")
PETITION = _case_op("mutation", "Petition($input: PetitionInput!)", "petitionCourt(input: $input)")
DECIDE = _case_op(
    "mutation", "Decide($input: GuardianshipDecisionInput!)", "decideGuardianship(input: $input)"
)
GUARDIANS = """query G($id: ID!) { person(id: $id) {
  guardians { kind since until person { id } } cases { status agency } reports { situation status } } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("cases"), webhook_worker=False)


def ok(api: Api, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = api.gql(who, query, variables)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))


def refused(api: Api, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = api.gql(who, query, variables).json()
    assert body.get("errors"), body
    return body["errors"][0]


def test_living_alone_walked_from_report_to_closure(api: Api) -> None:
    report = ok(
        api,
        "school",
        FILE,
        {"input": {"childId": "person:child", "situation": "LIVING_ALONE", "summary": "连续三天独自在家"}},
    )
    # Routed to the police of the child's jurisdiction, with an acceptance deadline.
    assert report["receivingAgencyId"] == "ps-500101" and report["reporterAgencyId"] == "sch-s1"
    assert report["status"] == "filed" and report["acceptDueAt"]
    case_id = report["caseId"]

    # Another county's police may not act on it, and is answered as for an unknown report (no
    # existence oracle; tests/security/test_workflow_ids.py).
    err = refused(api, "police2", ACCEPT, {"id": report["id"]})
    assert err["extensions"]["code"] == "NOT_FOUND"
    assert refused(api, "police", ACCEPT, {"id": "rpt-nope"})["extensions"]["code"] == "NOT_FOUND"
    # A school cannot accept reports at all.
    assert refused(api, "school", ACCEPT, {"id": report["id"]})["extensions"]["code"] == "FORBIDDEN"

    assert ok(api, "police", ACK, {"id": report["id"]})["status"] == "acknowledged"
    assert refused(api, "police", ACK, {"id": report["id"]})["extensions"]["code"] == "INVALID_TRANSITION"
    assert ok(api, "police", ACCEPT, {"id": report["id"]})["status"] == "accepted"

    # 应急处置 for a child living alone: a measure of another situation is refused …
    err = refused(api, "police", ACTION, {"input": {"caseId": case_id, "action": "missing_search_started"}})
    assert err["extensions"]["code"] == "INVALID_TRANSITION"
    # … temporary care needs the parents unreachable first, and then where and since when.
    err = refused(api, "police", ACTION, {"input": {"caseId": case_id, "action": "temporary_care_placement"}})
    assert err["extensions"]["code"] == "INVALID_TRANSITION"
    case = ok(api, "police", ACTION, {"input": {"caseId": case_id, "action": "order_parents_back"}})
    assert case["missingEmergencyActions"] == ["admonish_parents"]
    err = refused(api, "police", NOTIFY, {"id": case_id})
    assert err["extensions"]["code"] == "MISSING_FACTS" and err["extensions"]["missing"] == [
        "admonish_parents"
    ]
    ok(
        api,
        "police",
        ACTION,
        {"input": {"caseId": case_id, "action": "admonish_parents", "note": "当面训诫"}},
    )
    case = ok(api, "police", NOTIFY, {"id": case_id})
    assert case["status"] == "assessment_pending" and case["townshipAgencyId"] == "tw-500101001"
    assert case["agencyId"] == "tw-500101001"

    # 评估: township-led, with civil affairs and the police.
    err = refused(api, "township", OPEN, {"id": case_id, "p": ["ca-500101"]})
    assert err["extensions"]["code"] == "MISSING_FACTS" and err["extensions"]["missing"] == [
        "public_security"
    ]
    assert (
        refused(api, "police", OPEN, {"id": case_id, "p": ["ca-500101"]})["extensions"]["code"] == "FORBIDDEN"
    )
    # The case names whom to open it with (the township does not know other agencies' ids).
    named = ok(api, "township", "query($id: ID!) { protectionCase(id: $id) { assessmentParticipants } }",
               {"id": case_id})["assessmentParticipants"]  # fmt: skip
    assert named == ["ps-500101", "ca-500101"]
    case = ok(api, "township", OPEN, {"id": case_id, "p": named})
    assert case["status"] == "assessment"
    err = refused(
        api, "township", ASSESS, {"input": {"caseId": case_id, "safety": "安全", "riskLevel": "medium"}}
    )
    assert err["extensions"]["code"] == "MISSING_FACTS"
    assert set(err["extensions"]["missing"]) == {"guardianship", "physical_health", "mental_health"}
    findings = {
        "safety": "已安全",
        "guardianship": "祖母照料",
        "physicalHealth": "良好",
        "mentalHealth": "孤独",
    }
    case = ok(api, "township", ASSESS, {"input": {"caseId": case_id, **findings, "riskLevel": "medium"}})
    assert case["status"] == "assistance" and case["riskLevel"] == "medium"
    assert case["assessments"][0]["participants"] == "ca-500101,ps-500101,tw-500101001"

    # 帮扶: a plan with providers; social assistance needs the policy the family qualifies under.
    err = refused(
        api, "township", PLAN, {"id": case_id, "s": [{"kind": "social_assistance", "provider": "镇民政办"}]}
    )
    assert err["extensions"]["code"] == "MISSING_FACTS"
    case = ok(
        api,
        "township",
        PLAN,
        {
            "id": case_id,
            "s": [
                {"kind": "guardianship_guidance", "provider": "镇社工站"},
                {
                    "kind": "psychological_counselling",
                    "provider": "县心理服务中心",
                    "providerAgencyId": "ca-500101",
                },
            ],
        },
    )
    services = {s["kind"]: s for s in case["services"]}
    # Closing with services still open is refused and changes nothing.
    err = refused(api, "township", CLOSE, {"id": case_id, "r": "done"})
    assert err["extensions"]["code"] == "MISSING_FACTS"
    assert ok(api, "township", CASE, {"id": case_id})["status"] == "assistance"
    for kind, who in (("guardianship_guidance", "township"), ("psychological_counselling", "civil")):
        ok(api, who, FOLLOW, {"id": case_id, "svc": services[kind]["id"], "note": "回访：情况好转"})
        ok(api, who, COMPLETE, {"svc": services[kind]["id"], "o": "已完成"})
    case = ok(api, "township", CLOSE, {"id": case_id, "r": "父母一方返乡照料"})
    assert case["status"] == "closed" and case["closureReason"] == "父母一方返乡照料"
    assert all(s["status"] in ("done", "cancelled") for s in case["steps"])
    actions = [h["action"] for h in case["history"]]
    assert (
        actions[:3] == ["report_filed", "report_acknowledged", "report_accepted"] and actions[-1] == "closed"
    )
    by_action = {h["action"]: h["agencyId"] for h in case["history"]}
    assert by_action["report_filed"] == "sch-s1" and by_action["township_notified"] == "ps-500101"
    assert by_action["assessed"] == "tw-500101001"

    # Every change is on the audit log: who wrote the case, by which operation.
    audit = ok(
        api,
        "auditor",
        """query A($id: ID!) { auditAccessesToRecord(recordId: $id) {
             entries { agencyId operation allowedFields } } }""",
        {"id": f"protectioncase:{case_id}"},
    )
    writes = {(e["agencyId"], e["operation"]) for e in audit["entries"]}
    assert ("sch-s1", "mutation File") in writes and ("tw-500101001", "mutation Close") in writes
    assert ("ps-500101", "mutation Notify") in writes

    # Nothing further once closed.
    err = refused(api, "police", ACTION, {"input": {"caseId": case_id, "action": "admonish_parents"}})
    assert err["extensions"]["code"] == "INVALID_TRANSITION"

    # The graph copy: the child's profile shows the case and the report.
    person = ok(api, "police", GUARDIANS, {"id": "person:child"})
    assert {"status": "closed", "agency": "tw-500101001"} in person["cases"]
    assert {"situation": "living_alone", "status": "accepted"} in person["reports"]


def test_the_field_policy_applies_to_case_records(api: Api) -> None:
    report = ok(
        api,
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "MISSING", "summary": "放学未归"}},
    )
    body = api.gql("village", CASE, {"id": report["caseId"]}).json()
    # The village committee took part (it reported) and sees the case, but not narratives.
    case = body["data"]["protectionCase"]
    assert case["status"] == "reported" and case["reports"][0]["summary"] is None
    assert any(e["extensions"]["reason"] == "denied_by_policy" for e in body["errors"])
    assert ok(api, "police", CASE, {"id": report["caseId"]})["reports"][0]["summary"] == "放学未归"
    # Another village (out of scope, not a participant) gets the same answer as for no case.
    other = refused(api, "village2", CASE, {"id": report["caseId"]})
    missing = refused(api, "village2", CASE, {"id": "case-nope"})
    assert other["message"] == missing["message"] and other["extensions"]["code"] == "NOT_FOUND"
    # Missing child: the search must start before the child is found.
    ok(api, "police", ACCEPT, {"id": report["id"]})
    err = refused(api, "police", ACTION, {"input": {"caseId": report["caseId"], "action": "child_found"}})
    assert err["extensions"]["code"] == "INVALID_TRANSITION"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Api]:
    """An app of this test's own: the grounds of a petition are facts about the child from any of
    the child's cases (a parent unreachable for six months, a penalty on record), and a court's
    decision changes the child's guardians, so this walk neither sees nor leaves such facts for
    the other tests of the module's shared app."""
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256, webhook_worker=False)
    for client, tokens, secrets in start_app(settings, AGENCIES, _family_with_id_numbers):
        yield Api(client, tokens, settings, secrets)


UNCLE_ID_NUMBER = "500101197503082311"


def _family_with_id_numbers(store: Any) -> None:
    """The family, the uncle with his resident ID number (how a court names him)."""
    family(store)
    store.upsert_nodes(
        [
            NodeRecord(
                node_id("Person", "uncle"),
                {"division": VILLAGE2, "name": "甲辛", "id_number": UNCLE_ID_NUMBER},
                HUKOU,
            )
        ]
    )


def test_intervention_up_to_the_court_naming_a_new_guardian(fresh: Api) -> None:
    api = fresh
    report = ok(
        api,
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "DOMESTIC_VIOLENCE", "summary": "身上多处伤痕"}},
    )
    case_id = report["caseId"]
    ok(api, "police", ACCEPT, {"id": report["id"]})
    for action in (
        {"action": "harm_stopped"},
        {
            "action": "shelter_placement",
            "placementKind": "temporary_shelter",
            "place": "县未成年人救助保护中心",
            "since": "2026-11-20",
        },
        {"action": "evidence_collected"},
        {"action": "medical_care", "place": "县人民医院"},
        {"action": "injury_assessment", "severity": "serious"},
    ):
        ok(api, "police", ACTION, {"input": {"caseId": case_id, **action}})
    ok(
        api,
        "police",
        INTERVENE,
        {"input": {"caseId": case_id, "kind": "admonition", "guardianId": "person:father"}},
    )

    # Without the record for it, a ground is refused, naming what is missing.
    petition = {"caseId": case_id, "guardianId": "person:father", "grounds": ["abuse_serious_harm"]}
    err = refused(api, "civil", PETITION, {"input": petition})
    assert err["extensions"]["code"] == "MISSING_GROUNDS"
    assert err["extensions"]["grounds"] == {
        "abuse_serious_harm": ["a penalty or criminal referral against this guardian"]
    }
    err = refused(api, "civil", PETITION, {"input": {**petition, "grounds": ["duty_refused_six_months"]}})
    assert err["extensions"]["code"] == "MISSING_GROUNDS"
    # Only the police of the case impose penalties; then the ground is on record.
    err = refused(
        api,
        "civil",
        INTERVENE,
        {"input": {"caseId": case_id, "kind": "public_security_penalty", "guardianId": "person:father"}},
    )
    assert err["extensions"]["code"] == "FORBIDDEN"
    ok(
        api,
        "police",
        INTERVENE,
        {"input": {"caseId": case_id, "kind": "criminal_referral", "guardianId": "person:father"}},
    )
    # A petition can only name someone on record as the child's parent or guardian.
    err = refused(api, "civil", PETITION, {"input": {**petition, "guardianId": "person:uncle"}})
    assert err["extensions"]["code"] == "MISSING_FACTS"
    case = ok(api, "civil", PETITION, {"input": petition})
    pet = next(i for i in case["interventions"] if i["kind"] == "court_petition")
    assert pet["status"] == "pending" and pet["grounds"] == "abuse_serious_harm"
    assert refused(api, "civil", PETITION, {"input": petition})["extensions"]["code"] == "CONFLICT"

    decision = {
        "interventionId": pet["id"],
        "decision": "revoked",
        "newGuardianId": "person:uncle",
        "decidedOn": "2026-11-24",
    }
    # The police cannot decide; the court must name a new guardian.
    assert refused(api, "police", DECIDE, {"input": decision})["extensions"]["code"] == "FORBIDDEN"
    err = refused(api, "court", DECIDE, {"input": {**decision, "newGuardianId": None}})
    assert err["extensions"]["code"] == "MISSING_FACTS"
    # No register oracle: an ID number is looked up only for a petition this court may decide now,
    # so a made-up petition answers the same whether the number is someone's or not.
    probe = {**decision, "interventionId": "intervention-unknown", "newGuardianId": None}
    answers = [
        refused(api, "court", DECIDE, {"input": {**probe, "newGuardianIdNumber": n}})
        for n in ("500101199001011237", UNCLE_ID_NUMBER)
    ]
    assert answers[0] == answers[1] and answers[0]["extensions"]["code"] == "NOT_FOUND"
    # The court identifies the new guardian by ID number: someone in the register, named once.
    by_number = {**decision, "newGuardianId": None, "newGuardianIdNumber": "500101199001011237"}
    err = refused(api, "court", DECIDE, {"input": by_number})
    assert err["extensions"]["code"] == "BAD_REQUEST" and err["extensions"]["reason"] == "unknown_id_number"
    err = refused(api, "court", DECIDE, {"input": {**decision, "newGuardianIdNumber": UNCLE_ID_NUMBER}})
    assert err["extensions"]["code"] == "BAD_REQUEST"
    before = head(api)
    case = ok(api, "court", DECIDE, {"input": {**by_number, "newGuardianIdNumber": UNCLE_ID_NUMBER}})
    # The lookup is on the record: the decision's audit entry names the person the number found.
    assert any("person:uncle" in e.records for e in entries(api, before))
    pet = next(i for i in case["interventions"] if i["kind"] == "court_petition")
    assert pet["decision"] == "revoked"
    # The court's row scope is its referred cases: it sees the child, not the adults around the child.
    assert pet["newGuardian"] is None
    case = ok(api, "police", CASE, {"id": case_id})
    pet = next(i for i in case["interventions"] if i["kind"] == "court_petition")
    assert pet["guardian"] == {"id": "person:father"} and pet["newGuardian"] == {"id": "person:uncle"}
    assert refused(api, "court", DECIDE, {"input": decision})["extensions"]["code"] == "INVALID_TRANSITION"

    # The graph: the uncle is the child's legal guardian from the decision; the father's ended.
    guardians = {
        g["person"]["id"]: g for g in ok(api, "police", GUARDIANS, {"id": "person:child"})["guardians"]
    }
    assert guardians["person:uncle"]["kind"] == "legal" and guardians["person:uncle"]["since"] == "2026-11-24"
    assert guardians["person:father"]["until"] == "2026-11-24"
    # The court, whose scope is referred cases, now sees the child.
    assert any(
        c["agency"] == "ps-500101" for c in ok(api, "court", GUARDIANS, {"id": "person:child"})["cases"]
    )


def test_a_refused_change_leaves_nothing_behind(api: Api) -> None:
    report = ok(
        api,
        "school",
        FILE,
        {"input": {"childId": "person:child", "situation": "GUARDIAN_INCAPABLE", "summary": "祖母住院"}},
    )
    ok(api, "police", ACCEPT, {"id": report["id"]})
    before = ok(api, "police", CASE, {"id": report["caseId"]})
    err = refused(
        api,
        "police",
        ACTION,
        {"input": {"caseId": report["caseId"], "action": "entrust_relative"}},  # no person named
    )
    assert err["extensions"]["code"] == "MISSING_FACTS"
    # A guardian named must be a person of the register (the graph link could not be made otherwise).
    err = refused(
        api,
        "police",
        ACTION,
        {"input": {"caseId": report["caseId"], "action": "entrust_relative", "personId": "household:H1"}},
    )
    assert err["extensions"]["code"] == "BAD_REQUEST"
    after = ok(api, "police", CASE, {"id": report["caseId"]})
    assert after["history"] == before["history"] and after["emergencyActions"] == []
    # An unknown child is not found, before anything is written.
    err = refused(
        api, "school", FILE, {"input": {"childId": "person:nobody", "situation": "MISSING", "summary": "x"}}
    )
    assert err["extensions"]["code"] == "NOT_FOUND"


def test_graph_projection_is_idempotent_and_catches_up(api: Api) -> None:
    from kernel.db import make_engine
    from protection.projection import project_case, reproject_pending

    report = ok(
        api,
        "school",
        FILE,
        {"input": {"childId": "person:child", "situation": "GUARDIAN_NEGLECT", "summary": "长期无人照看"}},
    )
    store = api.client.app.state.graph  # type: ignore[attr-defined]
    engine = make_engine(api.settings.sql_url)
    try:
        before = store.stats()
        assert project_case(store, engine, report["caseId"])
        assert store.stats() == before  # the same records again change nothing
        assert reproject_pending(store, engine) == 0  # every case's graph copy is current
        # A case whose projection fell behind (graph down at commit) is caught up by the worker's pass.
        from sqlalchemy import text

        with engine.begin() as conn:
            conn.execute(
                text("UPDATE protection_case SET projected_version = 0 WHERE id = :id"),
                {"id": report["caseId"]},
            )
        assert reproject_pending(store, engine) == 1
        assert store.stats() == before
    finally:
        engine.dispose()


def test_a_petition_on_duty_refused_for_six_months_is_checked_against_dates(api: Api) -> None:
    from datetime import timedelta

    report = ok(
        api,
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "GUARDIAN_NEGLECT", "summary": "父母长期不管"}},
    )
    case_id = report["caseId"]
    ok(api, "police", ACCEPT, {"id": report["id"]})
    months_ago = (clock.today() - timedelta(days=200)).isoformat()
    ok(
        api,
        "police",
        ACTION,
        {"input": {"caseId": case_id, "action": "contact_parents", "occurredOn": months_ago}},
    )
    ok(api, "police", ACTION, {"input": {"caseId": case_id, "action": "parents_unreachable"}})
    placement = {"caseId": case_id, "action": "temporary_care_placement", "placementKind": "relatives"}
    err = refused(api, "police", ACTION, {"input": placement})
    assert err["extensions"]["code"] == "MISSING_FACTS"
    assert err["extensions"]["missing"] == ["place (where the child is cared for)", "since (from when)"]
    ok(api, "police", ACTION, {"input": {**placement, "place": "伯父家", "since": months_ago}})
    petition = {"caseId": case_id, "guardianId": "person:mother", "grounds": ["duty_refused_six_months"]}
    # An analyst holds no petition duty; the village committee of the child's village does.
    assert refused(api, "analyst", PETITION, {"input": petition})["extensions"]["code"] == "FORBIDDEN"
    body = api.gql("village", PETITION, {"input": petition}).json()
    # The village committee files, but reads the case under its policy: narratives and grounds hidden.
    assert body["data"]["petitionCourt"]["interventions"][-1]["grounds"] == "***"
    assert {e["extensions"]["reason"] for e in body["errors"]} == {"denied_by_policy"}
    case = ok(api, "police", CASE, {"id": case_id})
    pet = next(i for i in case["interventions"] if i["kind"] == "court_petition" and i["status"] == "pending")
    assert pet["grounds"] == "duty_refused_six_months"
    ok(api, "court", DECIDE, {"input": {"interventionId": pet["id"], "decision": "dismissed"}})
    # Unsupervised and unchanged after education: needs the admonition and a report after it.
    err = refused(
        api, "village", PETITION, {"input": {**petition, "grounds": ["unsupervised_in_danger_unchanged"]}}
    )
    assert err["extensions"]["code"] == "MISSING_GROUNDS"
    assert list(err["extensions"]["grounds"]) == ["unsupervised_in_danger_unchanged"]


def test_worklists_for_the_console(api: Api) -> None:
    report = ok(
        api,
        "school",
        FILE,
        {"input": {"childId": "person:child", "situation": "INJURY_OR_HARM", "summary": "手臂淤青"}},
    )
    inbox = ok(api, "police", 'query I { reportsInbox(status: "filed") { id situation acceptDueAt } }')
    assert report["id"] in {r["id"] for r in inbox}
    assert ok(api, "police2", "query I { reportsInbox { id } }") == []
    steps = ok(api, "police", "query S { myOpenSteps { caseId kind dueAt overdue } }")
    assert {"caseId": report["caseId"], "kind": "accept_report"} in [
        {"caseId": s["caseId"], "kind": s["kind"]} for s in steps
    ]
    mine = ok(api, "school", "query C { protectionCases { id status reports { reporterAgencyId } } }")
    assert report["caseId"] in {c["id"] for c in mine}
    child = ok(api, "police", 'query C { protectionCases(childId: "person:child", openOnly: false) { id } }')
    assert report["caseId"] in {c["id"] for c in child}
    # Another county's police has no case of this child and cannot list the child's.
    assert ok(api, "police2", "query C { protectionCases { id } }") == []
    err = refused(api, "police2", 'query C { protectionCases(childId: "person:child") { id } }')
    assert err["extensions"]["code"] == "NOT_FOUND"


def test_a_report_sent_again_from_a_phone_is_filed_once(api: Api) -> None:
    # A village supervisor's phone lost the answer to a report it sent; it sends it again with
    # the same clientRef and gets the same report back, not a second one for the police.
    report = {
        "childId": "person:child",
        "situation": "GUARDIAN_INCAPABLE",
        "summary": "祖母卧病，无人照料",
        "clientRef": "5f0c6a8e-2b1d-4c3e-9a7f-1d2e3f4a5b6c",
    }
    first = ok(api, "village", FILE, {"input": report})
    again = ok(api, "village", FILE, {"input": report})
    assert again["id"] == first["id"] and again["caseId"] == first["caseId"]
    inbox = ok(api, "police", "{ reportsInbox { id } }")
    assert [r["id"] for r in inbox].count(first["id"]) == 1
    other = refused(api, "village", FILE, {"input": {**report, "situation": "MISSING"}})
    assert other["extensions"]["code"] == "CONFLICT"


def test_a_case_changes_the_childs_classification_at_once(tmp_path: Path) -> None:
    classify = "query($id: ID!) { classification(personId: $id) { caseStatus } }"
    for fresh in serve(tmp_path, webhook_worker=False):
        before = ok(fresh, "civil", classify, {"id": "person:child"})["caseStatus"]  # stored now
        report = {"childId": "person:child", "situation": "MISSING", "summary": "放学未归"}
        ok(fresh, "village", FILE, {"input": report})
        # No recompute asked for: projecting the case reclassified the child.
        after = ok(fresh, "civil", classify, {"id": "person:child"})["caseStatus"]
        assert (before, after) == ("none", "open")


def test_a_mutation_requires_the_capability_its_transition_names(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolvers take the capability from the step's row in protection/transitions.py: change the
    row and the GraphQL mutation demands the new capability (a step's rule lives in one place)."""

    def code(who: str) -> str:
        # An unknown report: who passes the capability check gets NOT_FOUND, who fails it FORBIDDEN.
        return refused(api, who, ACCEPT, {"id": "rpt-nope"})["extensions"]["code"]

    assert tr.REPORT["accept"].capability == "accept_report"
    assert (code("police"), code("school"), code("court")) == ("NOT_FOUND", "FORBIDDEN", "FORBIDDEN")
    accept = tr.REPORT["accept"]
    # Only courts hold decide_guardianship; teachers and officers hold file_mandatory_report.
    monkeypatch.setitem(tr.REPORT, "accept", dataclasses.replace(accept, capability="decide_guardianship"))
    assert (code("police"), code("school"), code("court")) == ("FORBIDDEN", "FORBIDDEN", "NOT_FOUND")
    monkeypatch.setitem(tr.REPORT, "accept", dataclasses.replace(accept, capability="file_mandatory_report"))
    assert (code("police"), code("school"), code("court")) == ("NOT_FOUND", "NOT_FOUND", "FORBIDDEN")


# Every row of the transition tables, the mutation that carries it out, and an agency holding the
# row's capability; ids that name nothing, so that no call changes anything.
_NOPE = {"id": "case-nope"}
STEP_CALLS: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    ("case", "file_report"): (
        "village",
        FILE,
        {"input": {"childId": "person:nobody", "situation": "MISSING", "summary": "x"}},
    ),
    ("case", "emergency_action"): (
        "police",
        ACTION,
        {"input": {"caseId": "case-nope", "action": "admonish_parents"}},
    ),
    ("case", "notify_township"): ("police", NOTIFY, _NOPE),
    ("case", "open_assessment"): ("township", OPEN, {**_NOPE, "p": []}),
    ("case", "record_assessment"): ("township", ASSESS, {"input": {"caseId": "case-nope"}}),
    ("case", "arrange_services"): ("township", PLAN, {**_NOPE, "s": []}),
    ("case", "follow_up"): ("township", FOLLOW, {**_NOPE, "note": "x"}),
    ("case", "complete_service"): ("township", COMPLETE, {"svc": "svc-nope", "o": "x"}),
    ("case", "close_case"): ("township", CLOSE, {**_NOPE, "r": "x"}),
    ("case", "intervention"): (
        "police",
        INTERVENE,
        {"input": {"caseId": "case-nope", "kind": "admonition"}},
    ),
    ("case", "petition_court"): (
        "village",
        PETITION,
        {"input": {"caseId": "case-nope", "guardianId": "person:nobody", "grounds": ["abandonment"]}},
    ),
    ("petition", "decide"): (
        "court",
        DECIDE,
        {"input": {"interventionId": "itv-nope", "decision": "dismissed"}},
    ),
    ("report", "file_dropout"): (
        "school",
        'mutation($id: ID!) { fileDropoutReport(childId: $id, summary: "x") { id } }',
        {"id": "person:nobody"},
    ),
    ("report", "acknowledge"): ("police", ACK, {"id": "rpt-nope"}),
    ("report", "accept"): ("police", ACCEPT, {"id": "rpt-nope"}),
    ("periodic", "submit"): (
        "township",
        'mutation { submitPeriodicReport(division: "nope", period: "2026-Q1") { status } }',
        {},
    ),
    ("periodic", "approve"): (
        "township",
        'mutation { decidePeriodicReport(division: "nope", period: "2026-Q1", approve: true) { status } }',
        {},
    ),
    ("periodic", "return"): (
        "township",
        'mutation { decidePeriodicReport(division: "nope", period: "2026-Q1", approve: false) { status } }',
        {},
    ),
}
# Rows a mutation carries out together with its own row: accepting the report also moves its case.
# The API checks the mutation's own row, so the two must name one capability.
CARRIED = {("case", "accept_report"): ("report", "accept")}


def test_every_step_has_a_mutation_that_demands_its_rows_capability() -> None:
    rows = {(m, a) for m, machine in tr.MACHINES.items() for a in machine}
    assert rows == set(STEP_CALLS) | set(CARRIED)
    for (m, a), (cm, ca) in CARRIED.items():
        assert tr.MACHINES[m][a].capability == tr.MACHINES[cm][ca].capability


@pytest.mark.parametrize(("machine", "action"), list(STEP_CALLS), ids=[f"{m}.{a}" for m, a in STEP_CALLS])
def test_a_step_demands_the_capability_of_its_row(
    api: Api, monkeypatch: pytest.MonkeyPatch, machine: str, action: str
) -> None:
    """Each step's mutation asks its row in protection/transitions.py for the capability, never a
    name of its own: a holder of the row's capability gets past the check (to NOT_FOUND or a bad
    input, the ids name nothing); with the row changed to a capability the agency lacks (reidentify,
    analysts only), the same call is FORBIDDEN capability_missing."""
    who, document, variables = STEP_CALLS[(machine, action)]

    def reason() -> str:
        return refused(api, who, document, variables)["extensions"].get("reason", "")

    assert reason() != "capability_missing"
    table = tr.MACHINES[machine]
    monkeypatch.setitem(table, action, dataclasses.replace(table[action], capability="reidentify"))
    assert reason() == "capability_missing"


@pytest.fixture
def own_api(tmp_path: Path) -> Iterator[Api]:
    """An app of its own, for a journey that leaves its child with an entrusted relative and an open
    case: the module's other journeys about the same child would join that case, or find the duty
    taken up, in whatever order they run."""
    yield from serve(tmp_path, webhook_worker=False)


def test_a_case_naming_a_person_merged_away_since_still_reaches_the_graph(own_api: Api) -> None:
    """A relative the police entrusted the child to is absorbed by a merge later (her register record
    now speaks for another person; her node goes, with its edges). The case's next steps must still
    reach the graph, whose case node gives the agencies handling it their row scope: they failed
    whole at every try (the emergency action's GUARDIAN_OF names a node that is not there), so the
    graph kept the case as it was, for good, while the record moved on. As a rebuild has it, the
    edge to the absent person is left out and the rest is written."""
    from datetime import datetime

    from graph.records import Assertion
    from protection.projection import case_node_id
    from tests.contract.test_graph_store import person

    api = own_api
    store = api.client.app.state.graph  # type: ignore[attr-defined]
    aunt = Assertion("police_hukou", "HK-AUNT-M", datetime(2026, 3, 1, 9))
    store.upsert_nodes([person("aunt-m", aunt, name="丙戊", birth_date="1980-05-01")])
    report = ok(
        api,
        "school",
        FILE,
        {"input": {"childId": "person:child", "situation": "GUARDIAN_INCAPABLE", "summary": "祖母住院"}},
    )
    case_id = report["caseId"]
    ok(api, "police", ACCEPT, {"id": report["id"]})
    act = {"caseId": case_id, "action": "entrust_relative", "personId": "person:aunt-m"}
    ok(api, "police", ACTION, {"input": act})
    store.retract(["person:aunt-m"], [("police_hukou", "HK-AUNT-M")])  # a merge absorbed her
    assert store.get_node("person:aunt-m") is None
    status = ok(api, "police", NOTIFY, {"id": case_id})["status"]
    node = store.get_node(case_node_id(case_id))
    assert node is not None and node.props["status"] == status
