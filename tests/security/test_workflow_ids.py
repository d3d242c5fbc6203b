"""Class 3 and 7 for workflow ids: a case or a report of another agency's child is answered, to the
byte, as one that does not exist, whatever the field that names it; and the look is on the record.

The village committee of the family's village files a report on its child; the second village's
committee (no part in it, the child out of its scope) then names the case and the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kernel.messages import say
from tests.api_fixtures import Api, serve
from tests.security.support import answered_alike, look

FILE = """mutation($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"""
BY_CASE = [
    ("protectionCase", "query($id: ID!) { protectionCase(id: $id) { id status } }"),
    ("notifyTownship", 'mutation($id: ID!) { notifyTownship(caseId: $id, note: "x") { id } }'),
    ("closeCase", 'mutation($id: ID!) { closeCase(caseId: $id, reason: "x") { id } }'),
    (
        "recordAssessment",
        'mutation($id: ID!) { recordAssessment(input: {caseId: $id, safety: "x", guardianship: "x", '
        'physicalHealth: "x", mentalHealth: "x", riskLevel: "low"}) { id } }',
    ),
]
# Callers that hold the step's capability but take no part in the case (the child out of their
# scope): they must not learn from the step's own checks (agency, status, facts) that the case exists.
BY_CASE_CAPABLE = [
    (
        "petitionCourt",
        "village2",
        'mutation($id: ID!) { petitionCourt(input: {caseId: $id, guardianId: "person:granny", '
        'grounds: ["abuse_serious_harm"]}) { id } }',
    ),
    (
        "recordIntervention",
        "village2",
        'mutation($id: ID!) { recordIntervention(input: {caseId: $id, kind: "temporary_guardianship", '
        'temporaryGuardian: "welfare home"}) { id } }',
    ),
    ("recordFollowUp", "village2", 'mutation($id: ID!) { recordFollowUp(caseId: $id, note: "x") { id } }'),
    ("notifyTownship", "police2", 'mutation($id: ID!) { notifyTownship(caseId: $id, note: "x") { id } }'),
    (
        "recordEmergencyAction",
        "police2",
        "mutation($id: ID!) { recordEmergencyAction(input: "
        '{caseId: $id, action: "admonish_parents"}) { id } }',
    ),
]
BY_REPORT = [
    ("acknowledgeReport", "mutation($id: ID!) { acknowledgeReport(reportId: $id) { id } }"),
    ("acceptReport", "mutation($id: ID!) { acceptReport(reportId: $id) { id } }"),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("workflow-ids"), webhook_worker=False)


@pytest.fixture(scope="module")
def filed(api: Api) -> dict[str, str]:
    r = api.gql(
        "village", FILE, {"input": {"childId": "person:child", "situation": "MISSING", "summary": "放学未归"}}
    )
    body = r.json()
    assert not body.get("errors"), body
    return body["data"]["fileMandatoryReport"]


@pytest.mark.parametrize(("name", "document"), BY_CASE, ids=[c[0] for c in BY_CASE])
def test_another_agencys_case_is_answered_as_none(
    api: Api, filed: dict[str, str], name: str, document: str
) -> None:
    answered_alike(
        api,
        "village2",
        document,
        [filed["caseId"], "case-0000000000000000"],
        named=lambda c: f"protectioncase:{c}",
    )


@pytest.mark.parametrize(("name", "who", "document"), BY_CASE_CAPABLE, ids=[c[0] for c in BY_CASE_CAPABLE])
def test_another_agencys_case_is_answered_as_none_to_one_that_may_do_the_step(
    api: Api, filed: dict[str, str], name: str, who: str, document: str
) -> None:
    answered_alike(
        api, who, document, [filed["caseId"], "case-0000000000000000"], named=lambda c: f"protectioncase:{c}"
    )


@pytest.mark.parametrize(("name", "document"), BY_REPORT, ids=[c[0] for c in BY_REPORT])
def test_another_agencys_report_is_answered_as_none(
    api: Api, filed: dict[str, str], name: str, document: str
) -> None:
    answered_alike(
        api, "police2", document, [filed["id"], "rpt-0000000000000000"], named=lambda r: f"report:{r}"
    )


RECORD = """mutation($in: VisitInput!) { recordVisit(input: $in) { status conflict { id } } }"""
RESOLVE = """mutation($id: Int!) { resolveVisitConflict(conflictId: $id, choice: KEEP_THEIRS) { status } }"""


def _visit(client_id: str, base: int, notes: str) -> dict[str, Any]:
    return {
        "clientId": client_id,
        "personId": "person:child",
        "visitedOn": "2026-05-02",
        "findings": [],
        "livingArrangement": "with_parents",
        "notes": notes,
        "baseVersion": base,
    }


def test_another_villages_visit_conflict_is_answered_as_none(api: Api) -> None:
    first = api.gql("village", RECORD, {"in": _visit("wid-a", 0, "a")}).json()
    assert not first.get("errors"), first
    clash = api.gql("village", RECORD, {"in": _visit("wid-b", 0, "b")}).json()
    conflict = clash["data"]["recordVisit"]["conflict"]["id"]
    answered_alike(api, "village2", RESOLVE, [conflict, 987654], named=None)


ACCEPT = "mutation($id: ID!) { acceptReport(reportId: $id) { id status } }"
ACKNOWLEDGE = "mutation($id: ID!) { acknowledgeReport(reportId: $id) { id status } }"
CASE_REPORTS = "query($id: ID!) { protectionCase(id: $id) { reports { id status } } }"


@pytest.mark.parametrize("document", [ACCEPT, ACKNOWLEDGE], ids=["acceptReport", "acknowledgeReport"])
def test_an_agency_that_reads_the_case_is_told_it_is_not_the_receiving_one(
    api: Api, filed: dict[str, str], document: str
) -> None:
    """NOT_FOUND hides a report from whoever may not know it exists. The township of the child's
    village holds `accept_report` (written dropout reports) and reads the case (the child is in its
    row scope), and with it the report: it is told plainly that the report is another agency's to
    accept, in Chinese, with a code of its own, and nothing changes. The second township (the child
    outside its scope) still gets the answer an absent report gets."""

    def reports() -> dict[str, str]:
        r = api.gql("township", CASE_REPORTS, {"id": filed["caseId"]}).json()
        return {x["id"]: x["status"] for x in r["data"]["protectionCase"]["reports"]}

    before = reports()
    assert filed["id"] in before, before
    told = look(api, "township", document, filed["id"])
    assert told.entry is not None and told.entry.decision == "deny", told.entry
    assert f"report:{filed['id']}" in told.entry.records and "not_receiving_agency" in told.entry.reasons
    body = api.gql("township", document, {"id": filed["id"]}).json()
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "NOT_RECEIVING_AGENCY", "reason": "not_receiving_agency"}, error
    assert error["message"] == say("workflow.not_receiving_agency"), error
    assert "受理" in error["message"] and "no such" not in error["message"]
    assert reports() == before
    # Whoever cannot read the case: the same answer as for a report that does not exist.
    answered_alike(
        api, "township2", document, [filed["id"], "rpt-0000000000000000"], named=lambda r: f"report:{r}"
    )


# A step that names people (the guardian an intervention is directed at, a relative entrusted):
# whether an id is a person of the register is told only to an agency the step lets act.
NAMING = [
    (
        "recordIntervention",
        "village2",
        'mutation($case: ID!, $id: ID!) { recordIntervention(input: {caseId: $case, kind: "admonition", '
        "guardianId: $id}) { id } }",
    ),
    (
        "recordEmergencyAction",
        "police2",
        "mutation($case: ID!, $id: ID!) { recordEmergencyAction(input: "
        '{caseId: $case, action: "entrusted_guardian_named", personId: $id}) { id } }',
    ),
]


@pytest.mark.parametrize(("name", "who", "document"), NAMING, ids=[c[0] for c in NAMING])
def test_a_step_refused_does_not_tell_whether_a_person_exists(
    api: Api, filed: dict[str, str], name: str, who: str, document: str
) -> None:
    for case in (filed["caseId"], "case-0000000000000000"):
        answered_alike(
            api,
            who,
            document,
            ["person:granny", "person:00000000000000000000000000000000"],
            variables=lambda p, case=case: {"case": case, "id": p},
            named=None,
        )


AGREE = """mutation($parents: [ID!]!) { recordAgreement(input: {kind: "responsibility_letter",
  childId: "person:child", parentIds: $parents, signedOn: "2026-03-01", validFrom: "2026-03-01",
  validTo: "2027-03-01"}) { id } }"""
AGREEMENTS = """query { agreements(childId: "person:child") { id } }"""


def test_an_agency_that_may_act_is_still_told_a_person_is_not_in_the_register(api: Api) -> None:
    """The check moved into the step's transaction still refuses, and the refusal keeps nothing."""
    before = api.gql("village", AGREEMENTS).json()["data"]["agreements"]
    body = api.gql("village", AGREE, {"parents": ["person:father", "person:nobody"]}).json()
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST", error
    assert error["message"] == say("api.person_not_in_register"), error
    assert api.gql("village", AGREEMENTS).json()["data"]["agreements"] == before
    body = api.gql("village", AGREE, {"parents": ["person:father", "person:mother"]}).json()
    assert not body.get("errors"), body
