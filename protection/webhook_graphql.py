"""Webhooks over GraphQL: an agency's system subscribes to workflow events, reads its outbox and
queues failed deliveries again. Everything here needs ``manage_webhooks`` and concerns the
caller's own agency; protection/webhooks.py signs and delivers.
"""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from auth.enforce.context import Context
from auth.enforce.errors import from_exception, not_found, sql_unavailable
from protection import webhooks as wh
from protection import workflow_graphql as wf


@strawberry.type(description="An agency system's webhook endpoint.")
class WebhookSubscription:
    id: strawberry.ID
    url: str
    events: list[str]
    active: bool
    created_at: datetime


@strawberry.type(description="A new subscription; the signing secret is shown only here, once.")
class WebhookSubscriptionCreated:
    subscription: WebhookSubscription
    secret: str


@strawberry.type(description="One outbox entry (its id is the webhook-id header).")
class WebhookDelivery:
    id: strawberry.ID
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None


def _subscription(s: Any) -> WebhookSubscription:
    return WebhookSubscription(
        id=strawberry.ID(s.id), url=s.url, events=list(s.events), active=s.active, created_at=s.created_at
    )


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Your agency's webhook subscriptions.")
    def webhook_subscriptions(self, info: Info[Context, None]) -> list[WebhookSubscription]:
        actor = wf.actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        return [_subscription(s) for s in wh.subscriptions(info.context.sql, actor.agency_id)]

    @strawberry.field(description="Your agency's webhook deliveries (outbox), newest first.")
    def webhook_deliveries(
        self, info: Info[Context, None], status: str | None = None
    ) -> list[WebhookDelivery]:
        actor = wf.actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        return [
            WebhookDelivery(
                id=strawberry.ID(d.id),
                event_type=d.event_type,
                status=d.status,
                attempts=d.attempts,
                created_at=d.created_at,
                delivered_at=d.delivered_at,
                last_error=d.last_error,
            )
            for d in wh.deliveries(
                info.context.sql, actor.agency_id, status, policy=info.context.guard.policy
            )
        ]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Subscribe your agency's system to workflow events (signed webhooks).")
    def subscribe_webhook(
        self, info: Info[Context, None], url: str, events: list[str] | None = None
    ) -> WebhookSubscriptionCreated:
        actor = wf.actor(info, "manage_webhooks")
        ctx = info.context
        if ctx.sql is None or ctx.settings is None:
            raise sql_unavailable()
        try:
            sub, secret = wh.subscribe(
                ctx.sql, ctx.settings, actor.agency_id, actor.client_id, url, events or []
            )
        except wh.WebhookError as exc:
            raise from_exception(exc) from None
        ctx.guard.wrote(f"webhook:{sub.id}", "WebhookSubscription.url")
        return WebhookSubscriptionCreated(subscription=_subscription(sub), secret=secret)

    @strawberry.mutation(description="Stop a subscription of your agency.")
    def unsubscribe_webhook(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        actor = wf.actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        if not wh.unsubscribe(info.context.sql, actor.agency_id, str(id)):
            raise not_found("subscription")
        info.context.guard.wrote(f"webhook:{id}", "WebhookSubscription.active")
        return True

    @strawberry.mutation(description="Queue your agency's failed deliveries again.")
    def retry_failed_webhooks(self, info: Info[Context, None]) -> int:
        actor = wf.actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        return wh.retry_failed(info.context.sql, actor.agency_id)
