"""The protection domain's background worker, started by the API: it delivers due webhooks and
catches up graph projections that a failed write left pending."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from graph.port import GraphStore
from kernel.settings import Settings


def start_worker(engine: Engine, settings: Settings, store: GraphStore) -> Any:
    """The API's background thread: deliver due webhooks, catch up pending graph projections."""
    if not settings.webhook_worker:
        return None
    from protection.projection import reproject_pending
    from protection.webhooks import DeliveryWorker

    worker = DeliveryWorker(engine, settings)
    worker.on_idle.append(lambda: reproject_pending(store, engine))
    worker.start()
    return worker
