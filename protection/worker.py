"""The protection domain's background worker, started by the API: it delivers due webhooks,
catches up graph projections that a failed write left pending, and drains the derived-state
queue (reclassification after a sync or a merge)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from graph.port import GraphStore
from kernel.settings import Settings


def start_worker(engine: Engine, settings: Settings, store: GraphStore) -> Any:
    """The API's background thread: deliver due webhooks, catch up pending graph projections,
    reclassify the people the derived-state queue names."""
    if not settings.webhook_worker:
        return None
    from protection.classification import drain
    from protection.projection import reproject_pending
    from protection.webhooks import DeliveryWorker

    worker = DeliveryWorker(engine, settings)
    worker.on_idle.append(lambda: reproject_pending(store, engine))
    worker.on_idle.append(lambda: drain(store, engine, trigger="worker"))
    worker.start()
    return worker
