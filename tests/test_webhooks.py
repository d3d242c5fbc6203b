"""Signed webhooks received by a real HTTP server on loopback: Standard Webhooks signature verified by
the receiver, retries after the receiver first fails, nothing lost while it is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from kernel.messages import say
from tests.api_fixtures import Api, serve

SUBSCRIBE = """mutation Sub($url: String!, $events: [String!]) {
  subscribeWebhook(url: $url, events: $events) { secret subscription { id url events active } } }"""
FILE = """mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"""
ACCEPT = "mutation Accept($id: ID!) { acceptReport(reportId: $id) { id status } }"
DELIVERIES = "query D { webhookDeliveries { id eventType status attempts lastError } }"


class Receiver:
    """An agency system's endpoint: answers 500 to the first `fail` requests, then 204."""

    def __init__(self, fail: int, port: int = 0) -> None:
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                failing = len(outer.requests) <= outer.fail
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/shouhu"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(
        tmp_path_factory.mktemp("webhooks"),
        webhook_poll_seconds=0.1,
        webhook_backoff_seconds=0.3,
        webhook_max_attempts=3,
        # The receiver runs on loopback: listed as the operator would list an intranet.
        webhook_allowed_networks=["127.0.0.0/8"],
    )


def _wait(cond: Any, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_report_reaches_the_police_system_signed_after_retries(api: Api) -> None:
    receiver = Receiver(fail=2)  # both quick attempts of the first delivery round fail
    try:
        r = api.gql("police", SUBSCRIBE, {"url": receiver.url, "events": ["report.filed"]}).json()
        created = r["data"]["subscribeWebhook"]
        secret = created["secret"]
        assert secret.startswith("whsec_") and created["subscription"]["events"] == ["report.filed"]
        report = api.gql(
            "school",
            FILE,
            {"input": {"childId": "person:child", "situation": "LIVING_ALONE", "summary": "独自在家"}},
        ).json()["data"]["fileMandatoryReport"]
        _wait(lambda: len(receiver.requests) >= 3)
        ids = {h["webhook-id"] for h, _ in receiver.requests}
        assert len(ids) == 1  # one event, retried under one id (receivers drop duplicates)
        headers, body = receiver.requests[-1]
        event = Webhook(secret).verify(body, headers)
        assert event["type"] == "report.filed"
        assert event["data"]["report_id"] == report["id"] and event["data"]["case_id"] == report["caseId"]
        assert "独自在家" not in body.decode()  # no case narrative or personal data in the payload
        # A forged body fails verification with the same headers.
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace(b"living_alone", b"missing"), headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "QUJD" * 8).verify(body, headers)
        _wait(
            lambda: (
                api.gql("police", DELIVERIES).json()["data"]["webhookDeliveries"][0]["status"] == "delivered"
            )
        )
        (delivery,) = api.gql("police", DELIVERIES).json()["data"]["webhookDeliveries"]
        assert delivery["attempts"] == 2 and delivery["lastError"] is None
        # The reporting school's system is not told about the police's subscription events (the
        # school's own subscriptions, made by other tests, may have deliveries of their own).
        school = api.gql("school", DELIVERIES).json()["data"]["webhookDeliveries"]
        assert delivery["id"] not in {d["id"] for d in school}
    finally:
        receiver.close()


def test_nothing_is_lost_while_the_receiver_is_down(api: Api) -> None:
    receiver = Receiver(fail=0)
    url = receiver.url
    receiver.close()  # down: nothing listens on the port
    secret = api.gql("school", SUBSCRIBE, {"url": url, "events": ["report.accepted"]}).json()["data"][
        "subscribeWebhook"
    ]["secret"]
    report = api.gql(
        "school", FILE, {"input": {"childId": "person:child", "situation": "MISSING", "summary": "未归"}}
    ).json()["data"]["fileMandatoryReport"]
    assert (
        api.gql("police", ACCEPT, {"id": report["id"]}).json()["data"]["acceptReport"]["status"] == "accepted"
    )
    _wait(lambda: api.gql("school", DELIVERIES).json()["data"]["webhookDeliveries"][0]["status"] == "failed")
    (failed,) = api.gql("school", DELIVERIES).json()["data"]["webhookDeliveries"]
    assert failed["attempts"] == 3 and failed["lastError"].startswith("unreachable")
    # The receiver comes back on the same port; the failed delivery is queued again and arrives.
    back = Receiver(fail=0, port=int(url.split(":")[2].split("/")[0]))
    try:
        assert (
            api.gql("school", "mutation { retryFailedWebhooks }").json()["data"]["retryFailedWebhooks"] == 1
        )
        _wait(lambda: len(back.requests) == 1)
        headers, body = back.requests[0]
        event = Webhook(secret).verify(body, headers)
        assert event["type"] == "report.accepted" and event["data"]["report_id"] == report["id"]
    finally:
        back.close()


def test_subscriptions_are_refused_without_the_capability_or_with_a_bad_url(api: Api) -> None:
    r = api.gql("analyst", SUBSCRIBE, {"url": "https://example.org/h"}).json()
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    r = api.gql("police", SUBSCRIBE, {"url": "http://example.org/h"}).json()
    assert r["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    r = api.gql("police", SUBSCRIBE, {"url": "https://example.org/h", "events": ["report.deleted"]}).json()
    assert r["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # Not into the platform's own network: private and link-local addresses are refused unless
    # the operator listed their network (only loopback is listed here).
    inside = {
        "https://10.1.2.3/h": "10.1.2.3",
        "https://169.254.169.254/latest/meta-data": "169.254.169.254",
        "https://[fd00::1]/h": "fd00::1",
    }
    for url, ip in inside.items():
        r = api.gql("police", SUBSCRIBE, {"url": url}).json()
        assert r["errors"][0]["extensions"]["code"] == "BAD_REQUEST", url
        assert r["errors"][0]["message"] == say("webhook.non_public", ip=ip), r
