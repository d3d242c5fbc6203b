"""What a resolver may expect of the per-request context, without importing the app.

`api.context.Context` is the concrete value; the domain GraphQL modules live below `api/` and
type their `info` against this protocol instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from auth.principal import Principal
from graph.port import GraphStore

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from auth.audit import AuditLog
    from auth.enforce.guard import Guard
    from kernel.settings import Settings


class Context(Protocol):
    guard: Guard
    principal: Principal | None
    store: GraphStore
    audit: AuditLog | None
    sql: Engine | None
    settings: Settings | None
