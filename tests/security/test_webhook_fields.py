"""A webhook tells a subscriber no more than GraphQL would. The court's decision on a guardianship
petition (CaseIntervention.decision, class guardianship_intervention) is refused to a school over
GraphQL; the school that petitioned received it in the signed `intervention.decided` event. Each
field of an event is now decided by the policy for the subscribing system (its agency's type and the
role of the client that subscribed), as the same field is over GraphQL.

Nor the event itself: `intervention.decided`, stripped of its fields, still told the school when the
court decided about the child, and `intervention.petition_filed` that a petition was filed. An event
is sent only to a subscriber the served policy lets read the record it is about (a petition's status,
class guardianship_intervention, which a school is refused), and a withheld one is not among its
deliveries either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from standardwebhooks.webhooks import Webhook

from auth.policy import DEFAULT_PATH
from kernel import clock
from kernel.db import make_engine
from protection.case_tables import WebhookDelivery
from tests.api_fixtures import Api, serve
from tests.test_webhooks import DELIVERIES, SUBSCRIBE, Receiver, _wait

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


def _subscribe(
    api: Api, who: str, receiver: Receiver, events: tuple[str, ...] = ("intervention.decided",)
) -> str:
    r = api.gql(who, SUBSCRIBE, {"url": receiver.url, "events": list(events)}).json()
    return str(r["data"]["subscribeWebhook"]["secret"])


def _settled(api: Api) -> None:
    """Wait until the outbox holds nothing still to be decided (each row sent, failed or withheld)."""
    engine = make_engine(api.settings.sql_url)
    try:

        def done() -> bool:
            with Session(engine) as s:
                return not list(s.exec(select(WebhookDelivery.id).where(WebhookDelivery.status == "pending")))

        _wait(done)
    finally:
        engine.dispose()


def _types(receiver: Receiver) -> list[str]:
    return [json.loads(raw)["type"] for _, raw in receiver.requests]


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


def test_a_petitioning_school_is_sent_no_event_about_the_petition(api: Api) -> None:
    school, police, court = Receiver(fail=0), Receiver(fail=0), Receiver(fail=0)
    petition_events = ("intervention.petition_filed", "intervention.decided")
    try:
        _subscribe(api, "school", school, (*petition_events, "report.accepted"))
        police_secret = _subscribe(api, "police", police)
        court_secret = _subscribe(api, "court", court, petition_events)
        case_id = _petition_decided(api)

        # Over GraphQL the school is refused the decision.
        body = api.gql("school", CASE, {"id": case_id}).json()
        seen = [i for i in (body.get("data") or {}).get("protectionCase", {}).get("interventions", [])]
        assert all(i["decision"] != "dismissed" for i in seen), body

        _wait(lambda: bool(police.requests) and bool(court.requests))
        _settled(api)
        # The school is told its report was accepted (a case record it reads, masked), and nothing
        # of the petition: no event, and none among its deliveries.
        assert _types(school) == ["report.accepted"]
        listed = api.gql("school", DELIVERIES).json()["data"]["webhookDeliveries"]
        assert not [d for d in listed if d["eventType"].startswith("intervention.")], listed
        # The police and the court, who may read it, are told.
        headers, raw = police.requests[-1]
        assert Webhook(police_secret).verify(raw, headers)["data"]["decision"] == "dismissed"
        headers, raw = court.requests[0]
        event = Webhook(court_secret).verify(raw, headers)
        assert event["type"] == "intervention.petition_filed" and event["data"]["case_id"] == case_id
    finally:
        school.close()
        police.close()
        court.close()


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
    school, police = Receiver(fail=0), Receiver(fail=0)
    try:
        _subscribe(api, "school", school)
        _subscribe(api, "police", police)
        case_id = _petition_decided(api)
        body = api.gql("school", CASE, {"id": case_id}).json()
        seen = [i for i in (body.get("data") or {}).get("protectionCase", {}).get("interventions", [])]
        assert all(i["decision"] != "dismissed" for i in seen), body  # the served policy: refused
        _wait(lambda: bool(police.requests))
        _settled(api)
        # The served policy refuses the school the petition: not even the event is sent.
        assert school.requests == []
    finally:
        school.close()
        police.close()


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
