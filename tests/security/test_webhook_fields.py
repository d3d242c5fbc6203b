"""A webhook tells a subscriber no more than GraphQL would. The court's decision on a guardianship
petition (CaseIntervention.decision, class guardianship_intervention) is refused to a school over
GraphQL; the school that petitioned received it in the signed `intervention.decided` event. Each
field of an event is now decided by the policy for the subscribing system (its agency's type and the
role of the client that subscribed), as the same field is over GraphQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from kernel import clock
from tests.api_fixtures import Api, serve
from tests.test_webhooks import SUBSCRIBE, Receiver, _wait

FILE = "mutation F($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"
ACCEPT = "mutation A($id: ID!) { acceptReport(reportId: $id) { id } }"
ACTION = "mutation E($input: EmergencyActionInput!) { recordEmergencyAction(input: $input) { id } }"
PETITION = "mutation P($input: PetitionInput!) { petitionCourt(input: $input) { id } }"
DECIDE = "mutation D($input: GuardianshipDecisionInput!) { decideGuardianship(input: $input) { id } }"
CASE = "query C($id: ID!) { protectionCase(id: $id) { interventions { id kind status decision } } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(
        tmp_path_factory.mktemp("webhook_fields"),
        webhook_poll_seconds=0.1,
        webhook_allowed_networks=["127.0.0.0/8"],
    )


def ok(api: Api, who: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = api.gql(who, query, variables).json()
    assert not body.get("errors"), body
    return next(iter(body["data"].values()))


def _subscribe(api: Api, who: str, receiver: Receiver) -> str:
    r = api.gql(who, SUBSCRIBE, {"url": receiver.url, "events": ["intervention.decided"]}).json()
    return str(r["data"]["subscribeWebhook"]["secret"])


def test_a_petitioning_school_is_not_sent_the_decision_it_may_not_read(api: Api) -> None:
    school, police = Receiver(fail=0), Receiver(fail=0)
    try:
        school_secret = _subscribe(api, "school", school)
        police_secret = _subscribe(api, "police", police)
        report = ok(
            api,
            "school",
            FILE,
            {
                "input": {
                    "childId": "person:child",
                    "situation": "GUARDIAN_NEGLECT",
                    "summary": "长期无人照看",
                }
            },
        )
        case_id = report["caseId"]
        ok(api, "police", ACCEPT, {"id": report["id"]})
        months_ago = (clock.today() - timedelta(days=200)).isoformat()
        act = {"caseId": case_id, "action": "contact_parents", "occurredOn": months_ago}
        ok(api, "police", ACTION, {"input": act})
        ok(api, "police", ACTION, {"input": {"caseId": case_id, "action": "parents_unreachable"}})
        placement = {
            "caseId": case_id,
            "action": "temporary_care_placement",
            "placementKind": "relatives",
            "place": "伯父家",
            "since": months_ago,
        }
        ok(api, "police", ACTION, {"input": placement})
        petition = {"caseId": case_id, "guardianId": "person:mother", "grounds": ["duty_refused_six_months"]}
        api.gql("school", PETITION, {"input": petition})  # the school files (its view of the case is partial)
        case = ok(api, "police", CASE, {"id": case_id})
        pet = next(i for i in case["interventions"] if i["kind"] == "court_petition")
        ok(api, "court", DECIDE, {"input": {"interventionId": pet["id"], "decision": "dismissed"}})

        # Over GraphQL the school is refused the decision.
        body = api.gql("school", CASE, {"id": case_id}).json()
        seen = [i for i in (body.get("data") or {}).get("protectionCase", {}).get("interventions", [])]
        assert all(i["decision"] != "dismissed" for i in seen), body

        _wait(lambda: bool(school.requests) and bool(police.requests))
        headers, raw = school.requests[-1]
        event = Webhook(school_secret).verify(raw, headers)
        assert event["type"] == "intervention.decided"
        assert event["data"]["case_id"] == case_id  # ids pass: the school reads the case with its token
        assert "decision" not in event["data"], event
        assert b"dismissed" not in raw
        # The police, who may read it, are told.
        headers, raw = police.requests[-1]
        assert Webhook(police_secret).verify(raw, headers)["data"]["decision"] == "dismissed"
    finally:
        school.close()
        police.close()
