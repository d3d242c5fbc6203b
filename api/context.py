"""The per-request context handed to resolvers: the caller, the guard, the stores."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from auth.audit import AuditLog
from auth.enforce.guard import Guard
from auth.principal import Principal
from graph.port import GraphStore
from kernel.settings import Settings


@dataclass
class Context:
    guard: Guard
    principal: Principal | None
    store: GraphStore
    audit: AuditLog | None = None
    # The relational store (workflows, review queue, landing) and the settings of this app.
    sql: Engine | None = None
    settings: Settings | None = None
    # Records and list items resolved so far, and the bound (api.limits.bound_responses; 0: none).
    response_nodes: int = 0
    max_response_nodes: int = 0
