"""The protection domain's background worker, started by the API: it delivers due webhooks,
catches up graph projections that a failed write left pending, and drains the derived-state
queue (reclassification after a sync or a merge)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from graph.port import GraphStore
from kernel.settings import Settings

if TYPE_CHECKING:
    from auth.policy import Policy


def start_worker(engine: Engine, settings: Settings, store: GraphStore, policy: Policy | None = None) -> Any:
    """The API's background thread: deliver due webhooks (their fields decided by ``policy``, the one
    the API serves), catch up pending graph projections, reclassify the people the derived-state
    queue names."""
    if not settings.webhook_worker:
        return None
    from protection.classification import drain
    from protection.projection import reproject_pending
    from protection.webhooks import DeliveryWorker

    worker = DeliveryWorker(engine, settings, policy)
    worker.on_idle.append(lambda: reproject_pending(store, engine))
    worker.on_idle.append(lambda: drain(store, engine, trigger="worker"))
    worker.start()
    return worker
