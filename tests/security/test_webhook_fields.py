"""A webhook tells a subscriber no more than GraphQL would. The court's decision on a guardianship
petition (CaseIntervention.decision, class guardianship_intervention) is refused to a school over
GraphQL; the school that petitioned received it in the signed `intervention.decided` event. Each
field of an event is now decided by the policy for the subscribing system (its agency's type and the
role of the client that subscribed), as the same field is over GraphQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from auth.policy import DEFAULT_PATH
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


def _petition_decided(api: Api) -> str:
    """A school's report, the police's measures, the school's petition and the court's dismissal:
    the case's id."""
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
    case_id = str(report["caseId"])
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
    return case_id


def test_a_petitioning_school_is_not_sent_the_decision_it_may_not_read(api: Api) -> None:
    school, police = Receiver(fail=0), Receiver(fail=0)
    try:
        school_secret = _subscribe(api, "school", school)
        police_secret = _subscribe(api, "police", police)
        case_id = _petition_decided(api)

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


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    """A service serving the policy of a file that is edited once it runs (the next version being
    prepared in place, to be served at the next start)."""
    tmp = tmp_path_factory.mktemp("webhook_policy")
    policy_file = tmp / "policy.toml"
    policy_file.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    for api in serve(
        tmp,
        webhook_poll_seconds=0.1,
        webhook_allowed_networks=["127.0.0.0/8"],
        policy_file=policy_file,
    ):
        yield api, policy_file


def test_an_event_is_decided_by_the_policy_the_service_serves(edited: tuple[Api, Path]) -> None:
    """The service reads its policy once, at start, and decides every field by it; the outbox read the
    file again at its first delivery. A file edited meanwhile (schools allowed the court's decision)
    sent the school the decision GraphQL still refused it: two versions of the policy in one service."""
    api, policy_file = edited
    text = policy_file.read_text(encoding="utf-8")
    head, sep, rest = text.partition('[rules.education."*"]')
    assert sep and 'guardianship_intervention = "deny"' in rest
    policy_file.write_text(
        head
        + sep
        + rest.replace('guardianship_intervention = "deny"', 'guardianship_intervention = "allow"', 1),
        encoding="utf-8",
    )
    school = Receiver(fail=0)
    try:
        secret = _subscribe(api, "school", school)
        case_id = _petition_decided(api)
        body = api.gql("school", CASE, {"id": case_id}).json()
        seen = [i for i in (body.get("data") or {}).get("protectionCase", {}).get("interventions", [])]
        assert all(i["decision"] != "dismissed" for i in seen), body  # the served policy: refused
        _wait(lambda: bool(school.requests))
        headers, raw = school.requests[-1]
        event = Webhook(secret).verify(raw, headers)
        assert event["data"]["case_id"] == case_id
        assert "decision" not in event["data"], event
    finally:
        school.close()


@pytest.fixture(scope="module")
def disabling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(
        tmp_path_factory.mktemp("webhook_disabled"),
        webhook_poll_seconds=0.1,
        webhook_allowed_networks=["127.0.0.0/8"],
    )


def test_a_disabled_clients_subscription_is_sent_ids_only(disabling: Api) -> None:
    """An operator disables an agency system's client ('shouhu client disable': a system retired,
    or one thought compromised). Its subscription went on receiving every event decided by the
    disabled client's role: the court's decision, to the URL that system registered. A subscription
    whose client is disabled is an unknown subscriber: ids only, as for a client no longer the
    agency's."""
    api = disabling
    police = Receiver(fail=0)
    try:
        secret = _subscribe(api, "police", police)
        client_id = api.credentials["police"][0]
        out = subprocess.run(
            [sys.executable, "-m", "shouhu.cli", "client", "disable", client_id],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")},
                "SHOUHU_DATA_DIR": str(api.settings.data_dir),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        case_id = _petition_decided(api)  # the police's token still runs until it expires
        _wait(lambda: bool(police.requests))
        headers, raw = police.requests[-1]
        event = Webhook(secret).verify(raw, headers)
        assert event["data"]["case_id"] == case_id
        assert "decision" not in event["data"], event
    finally:
        police.close()
