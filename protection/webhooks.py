"""Signed webhooks to agency systems: subscriptions, the delivery outbox, the delivery worker.

Events are written to the ``webhook_delivery`` outbox in the same transaction as the change they
announce, so a receiver that is down loses nothing; the worker delivers them afterwards, signed as the
Standard Webhooks specification says (``webhook-id``, ``webhook-timestamp``, ``webhook-signature:
v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, via the ``standardwebhooks`` package, so receivers can
verify with any Standard Webhooks library). Quick retries within one attempt use ``tenacity``; after
that the outbox row waits with exponential backoff, up to ``webhook_max_attempts``.

Payloads carry ids, kinds, divisions and deadlines, never personal data: the receiving system reads
the case over GraphQL with its own token, under its own field policy. And no field the subscriber
would be refused over GraphQL: each field of an event is the API field it would be read through
(`EVENT_FIELDS`), decided at delivery for the subscribing system (its agency's type, the role of the
client that subscribed) as that field is over GraphQL; a denied one is left out, a masked one masked.
Nor an event the subscriber may not read at all: its type and time alone say what happened (a court
decided about the child), so each event type is about one record's status (`EVENT_RESOURCES`), and a
subscriber refused that field over GraphQL is not sent the event, nor shown it among its deliveries.

No signing secret is stored. Each subscription's secret is HMAC(platform webhook key, subscription id
and a random salt), shown once when the subscription is made; rotating means a new salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from auth.policy import Policy
from auth.tables import Agency, Client
from graph.crash import crash_point
from kernel.db import session, write_session
from kernel.messages import say
from kernel.settings import Settings
from protection.case_tables import WebhookDelivery, WebhookSubscription, new_id

log = logging.getLogger("shouhu.webhooks")

EVENT_TYPES: tuple[str, ...] = (
    "report.filed",
    "report.acknowledged",
    "report.accepted",
    "case.township_notified",
    "case.assessed",
    "case.closed",
    "intervention.petition_filed",
    "intervention.decided",
)
# Each field an event may carry, as the GraphQL field (type, field) the subscriber reads it through.
# A field not listed here is never delivered (fail closed).
EVENT_FIELDS: dict[str, tuple[str, str]] = {
    "report_id": ("MandatoryReport", "id"),
    "case_id": ("ProtectionCaseFile", "id"),
    "intervention_id": ("CaseIntervention", "id"),
    "channel": ("MandatoryReport", "channel"),
    "situation": ("MandatoryReport", "situation"),
    "status": ("MandatoryReport", "status"),
    "accept_due_at": ("MandatoryReport", "acceptDueAt"),
    "division": ("MandatoryReport", "division"),
    "risk_level": ("ProtectionCaseFile", "riskLevel"),
    "grounds": ("CaseIntervention", "grounds"),
    "decision": ("CaseIntervention", "decision"),
}
# What each event type is about: the status field of the record it announces, as the API serves it.
# A subscriber the served policy refuses that field is not sent the event (an event type not listed
# here is sent to no one: fail closed).
EVENT_RESOURCES: dict[str, tuple[str, str]] = {
    "report.filed": ("MandatoryReport", "status"),
    "report.acknowledged": ("MandatoryReport", "status"),
    "report.accepted": ("MandatoryReport", "status"),
    "case.township_notified": ("ProtectionCaseFile", "status"),
    "case.assessed": ("ProtectionCaseFile", "status"),
    "case.closed": ("ProtectionCaseFile", "status"),
    "intervention.petition_filed": ("CaseIntervention", "status"),
    "intervention.decided": ("CaseIntervention", "status"),
}
_MAX_BACKOFF = 3600.0


class WebhookError(ValueError):
    """A refused subscription (bad URL, unknown event); the message is safe to show."""


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached)."""


# ---- secrets ---------------------------------------------------------------------------------


def platform_key(settings: Settings) -> bytes:
    """The key subscription secrets derive from: the setting, else a 0600 key file in data_dir."""
    if settings.webhook_key is not None:
        return settings.webhook_key.get_secret_value().encode()
    path = Path(settings.data_dir) / "webhook.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def subscription_secret(settings: Settings, sub: WebhookSubscription) -> str:
    raw = hmac.new(platform_key(settings), f"{sub.id}:{sub.secret_salt}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(raw).decode()


# ---- subscriptions ---------------------------------------------------------------------------


def destination_problem(url: str, settings: Settings) -> str | None:
    """Why the platform must not POST to this URL, or None.

    An agency names the URL, so without this check a subscription could make the platform send
    requests into its own network (databases, metadata services): server-side request forgery.
    Every address the host resolves to must be public or inside a network the operator listed
    (`webhook_allowed_networks`, e.g. the e-government intranet). Checked at subscription and
    again before each delivery, since DNS answers can change in between.
    """
    host = urlparse(url).hostname
    if not host:
        return say("webhook.no_host")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return say("webhook.unresolved")
    allowed = [ipaddress.ip_network(n, strict=False) for n in settings.webhook_allowed_networks]
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not ip.is_global and not any(ip in net for net in allowed):
            return say("webhook.non_public", ip=ip)
    return None


def _check_url(url: str, settings: Settings) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise WebhookError(say("webhook.not_absolute"))
    problem = destination_problem(url, settings)
    if problem is not None:
        raise WebhookError(problem)
    if parsed.scheme == "http" and not (settings.dev_mode or settings.webhook_allowed_networks):
        raise WebhookError(say("webhook.https_only"))
    return url


def subscribe(
    engine: Engine, settings: Settings, agency_id: str, client_id: str, url: str, events: Iterable[str]
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (shown once)."""
    wanted = sorted(set(events))
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(say("webhook.unknown_events", unknown=unknown, known=", ".join(EVENT_TYPES)))
    _check_url(url, settings)
    sub = WebhookSubscription(
        id=new_id("whs"),
        agency_id=agency_id,
        url=url,
        events=wanted,
        secret_salt=secrets.token_hex(16),
        created_by=client_id,
    )
    with write_session(engine) as s:
        s.add(sub)
    return sub, subscription_secret(settings, sub)


def subscriptions(engine: Engine, agency_id: str) -> list[WebhookSubscription]:
    with session(engine) as s:
        q = select(WebhookSubscription).where(WebhookSubscription.agency_id == agency_id)
        return list(s.exec(q.order_by(col(WebhookSubscription.created_at))))


def unsubscribe(engine: Engine, agency_id: str, subscription_id: str) -> bool:
    with write_session(engine) as s:
        sub = s.get(WebhookSubscription, subscription_id)
        if sub is None or sub.agency_id != agency_id:
            return False
        sub.active = False
        s.add(sub)
        return True


def deliveries(
    engine: Engine,
    agency_id: str | None,
    status: str | None = None,
    limit: int = 100,
    policy: Policy | None = None,
) -> list[WebhookDelivery]:
    """An agency's outbox, newest first. With `policy` (the served one), only the events each row's
    subscriber may read: a row still pending would otherwise show the event type it will not be sent
    (the worker deletes it when it comes to it)."""
    with session(engine) as s:
        q = select(WebhookDelivery, WebhookSubscription).join(
            WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id)
        )
        if agency_id is not None:
            q = q.where(WebhookSubscription.agency_id == agency_id)
        if status is not None:
            q = q.where(WebhookDelivery.status == status)
        q = q.order_by(col(WebhookDelivery.created_at).desc())
        if policy is None:  # the operator's view (the CLI): every row
            return [d for d, _ in s.exec(q.limit(limit))]
        subscribers: dict[str, tuple[str | None, str | None]] = {}
        out: list[WebhookDelivery] = []
        for d, sub in s.exec(q):
            if sub.id not in subscribers:
                subscribers[sub.id] = subscriber(s, sub)
            if not receives(policy, *subscribers[sub.id], d.event_type):
                continue
            out.append(d)
            if len(out) >= limit:
                break
        return out


def retry_failed(engine: Engine, agency_id: str | None = None) -> int:
    """Put failed deliveries back in the queue (after the receiver is fixed)."""
    with write_session(engine) as s:
        q = select(WebhookDelivery).where(WebhookDelivery.status == "failed")
        n = 0
        for d in s.exec(q):
            sub = s.get(WebhookSubscription, d.subscription_id)
            if agency_id is None or (sub is not None and sub.agency_id == agency_id):
                d.status, d.attempts, d.next_attempt_at = "pending", 0, datetime.now(UTC)
                s.add(d)
                n += 1
        return n


# ---- the outbox ------------------------------------------------------------------------------


def enqueue(s: Session, event_type: str, agency_ids: Iterable[str], data: dict[str, Any]) -> int:
    """Outbox rows for every active subscription of the agencies that wants this event type.

    Called inside the workflow transaction: the events exist exactly when the change does.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type}")
    targets = sorted({a for a in agency_ids if a})
    if not targets:
        return 0
    at = datetime.now(UTC)
    n = 0
    q = select(WebhookSubscription).where(
        col(WebhookSubscription.agency_id).in_(targets), col(WebhookSubscription.active).is_(True)
    )
    for sub in s.exec(q):
        if sub.events and event_type not in sub.events:
            continue
        msg_id = new_id("msg")
        s.add(
            WebhookDelivery(
                id=msg_id,
                subscription_id=sub.id,
                event_type=event_type,
                payload={"type": event_type, "timestamp": at.isoformat(), "data": data},
                created_at=at,
                next_attempt_at=at,
            )
        )
        n += 1
    return n


def _masked(policy: Policy, spec: tuple[str, str], value: Any) -> Any:
    """A masked field's value (each item of a list); a non-text value has no partial form: None."""
    if isinstance(value, list):
        items = [_masked(policy, spec, v) for v in value]
        return None if any(v is None for v in items) else items
    masked = policy.mask_api_field(*spec, value)
    if not isinstance(value, str) and masked is not value:
        return None
    return masked


def subscriber(s: Session, sub: WebhookSubscription) -> tuple[str | None, str | None]:
    """The subscribing system as the policy knows it now: its agency's type and the role of the
    client that subscribed (None for a client disabled, gone, or no longer the agency's)."""
    agency, client = s.get(Agency, sub.agency_id), s.get(Client, sub.created_by)
    agency_type = agency.agency_type if agency is not None else None
    current = client is not None and not client.disabled and client.agency_id == sub.agency_id
    return agency_type, (client.role if client is not None and current else None)


def receives(policy: Policy, agency_type: str | None, role: str | None, event_type: str) -> bool:
    """Whether a subscriber may be sent an event of this type at all: the policy lets it read the
    record the event is about (allowed or masked, as over GraphQL: a masked status still says the
    record exists). A type with no record listed is sent to no one. An unknown subscriber (a client
    disabled or no longer the agency's) keeps being sent ids only (`released`)."""
    spec = EVENT_RESOURCES.get(event_type)
    cls = policy.api_field_class(*spec) if spec is not None else None
    if cls is None:
        return False
    if agency_type is None or role is None:
        return True
    try:
        return policy.rule(agency_type, role, cls) != "deny"
    except KeyError:  # a type or role the policy no longer has
        return False


def released(
    policy: Policy, agency_type: str | None, role: str | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """The event as this subscriber may receive it: each field of its data decided by the policy for
    the agency type and role, as the same field is over GraphQL (the matrix cell: a system receiving
    its workflow's events declares no purpose per event). Unknown subscriber: ids only."""
    data: dict[str, Any] = {}
    for key, value in (payload.get("data") or {}).items():
        spec = EVENT_FIELDS.get(key)
        cls = policy.api_field_class(*spec) if spec is not None else None
        if spec is None or cls is None:
            continue
        if agency_type is None or role is None:
            decision = "allow" if cls == "system" else "deny"
        else:
            try:
                decision = policy.rule(agency_type, role, cls)
            except KeyError:  # a type or role the policy no longer has
                decision = "deny"
        if decision == "allow":
            data[key] = value
        elif decision == "mask" and (shown := _masked(policy, spec, value)) is not None:
            data[key] = shown
    return {**payload, "data": data}


def signed_request(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one delivery."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


@dataclass
class Deliverer:
    """Delivers due outbox rows; one instance per process (the API's worker thread or the CLI)."""

    engine: Engine
    settings: Settings
    quick_attempts: int = 2
    policy: Policy | None = None

    def _policy(self) -> Policy:
        if self.policy is None:
            self.policy = Policy.load(self.settings.policy_file)
        return self.policy

    def run_once(self, limit: int = 50) -> int:
        """Deliver what is due now; returns how many were delivered."""
        delivered = 0
        for d_id in self._claim(limit):
            delivered += self._deliver(d_id)
        return delivered

    def _claim(self, limit: int) -> list[str]:
        """Lease due rows so that a second worker (another process) does not send them too."""
        at = datetime.now(UTC)
        lease = timedelta(seconds=self.settings.webhook_lease_seconds)
        q = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                col(WebhookDelivery.next_attempt_at) <= at,
                or_(col(WebhookDelivery.locked_until).is_(None), col(WebhookDelivery.locked_until) < at),
            )
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(limit)
        )
        with session(self.engine) as s:  # the common case, nothing due, takes no write lock
            due = list(s.exec(q))
        if not due:
            return []
        claimed = []
        with write_session(self.engine) as s:
            for d_id in due:
                r = s.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.id) == d_id,
                        col(WebhookDelivery.status) == "pending",
                        or_(
                            col(WebhookDelivery.locked_until).is_(None),
                            col(WebhookDelivery.locked_until) < at,
                        ),
                    )
                    .values(locked_until=at + lease)
                )
                if r.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(d_id)
        return claimed

    def _deliver(self, d_id: str) -> int:
        with session(self.engine) as s:
            d = s.get(WebhookDelivery, d_id)
            sub = s.get(WebhookSubscription, d.subscription_id) if d else None
            if d is None or sub is None:
                return 0
            url, secret = sub.url, subscription_secret(self.settings, sub)
            payload, attempts, event_type = d.payload, d.attempts, d.event_type
            # The subscribing client as it is now: one disabled, or no longer the agency's, is no
            # subscriber the policy knows (ids only).
            agency_type, role = subscriber(s, sub)
        if not receives(self._policy(), agency_type, role, event_type):
            # Not sent, and not kept: a row would list the event type among the agency's deliveries
            # (and the status vocabulary is the migration's). The log names no agency or record.
            with write_session(self.engine) as s:
                d = s.get(WebhookDelivery, d_id)
                if d is not None:
                    s.delete(d)
            log.info("webhook %s withheld: its subscriber may not read %s", d_id, event_type)
            return 0
        payload = released(self._policy(), agency_type, role, payload)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        error: str | None = None
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.quick_attempts),
                wait=wait_exponential(multiplier=0.2, max=2),
                retry=retry_if_exception_type(DeliveryFailed),
                reraise=True,
            ):
                with attempt:
                    self._post(url, secret, d_id, body)
            crash_point("webhook.posted")  # delivered, not yet marked so (tests only)
        except (DeliveryFailed, RetryError) as exc:
            error = str(exc)[:200]
        with write_session(self.engine) as s:
            d = s.get(WebhookDelivery, d_id)
            if d is None:
                return 0  # the delivery row is gone (its subscription was deleted)
            d.attempts = attempts + 1
            d.locked_until = None
            if error is None:
                d.status, d.delivered_at, d.last_error = "delivered", datetime.now(UTC), None
            else:
                d.last_error = error
                if d.attempts >= self.settings.webhook_max_attempts:
                    d.status = "failed"
                else:
                    wait = min(self.settings.webhook_backoff_seconds * 2 ** (d.attempts - 1), _MAX_BACKOFF)
                    d.next_attempt_at = datetime.now(UTC) + timedelta(seconds=wait)
            s.add(d)
        if error is not None:
            # The URL's host only: paths and queries can hold tokens.
            log.warning(
                "webhook %s to %s failed (attempt %d): %s", d_id, urlparse(url).hostname, attempts + 1, error
            )
        return 1 if error is None else 0

    def _post(self, url: str, secret: str, msg_id: str, body: str) -> None:
        problem = destination_problem(url, self.settings)
        if problem is not None:
            raise DeliveryFailed(problem)
        headers = signed_request(secret, msg_id, body, datetime.now(UTC))
        try:
            r = httpx.post(
                url,
                content=body.encode(),
                headers=headers,
                timeout=self.settings.webhook_timeout_seconds,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"unreachable: {type(exc).__name__}") from None
        if not 200 <= r.status_code < 300:
            raise DeliveryFailed(f"HTTP {r.status_code}")


class DeliveryWorker:
    """A daemon thread polling the outbox; started and stopped by the app's lifespan."""

    def __init__(self, engine: Engine, settings: Settings, policy: Policy | None = None) -> None:
        # The policy the API serves: an event's fields are decided as the same fields are over GraphQL.
        self.deliverer = Deliverer(engine, settings, policy=policy)
        self.interval = settings.webhook_poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
        self.on_idle: list[Any] = []  # hooks run each round (e.g. re-projecting pending cases)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def join(self, timeout: float) -> bool:
        """Wait for the round in progress (after ``stop``); True when the thread has ended."""
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliverer.run_once()
                for hook in self.on_idle:
                    hook()
            except Exception:  # the worker must outlive any one bad round; the row stays pending
                log.exception("webhook delivery round failed")
            self._stop.wait(self.interval)
