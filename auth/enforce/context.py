"""What a resolver may expect of the per-request context, without importing the app.

`api.context.Context` is the concrete value; the domain GraphQL modules live below `api/` and
type their `info` against this protocol instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from auth.policy import Policy
from auth.principal import Principal
from graph.port import GraphStore

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from auth.audit import AuditLog
    from auth.enforce.guard import Guard
    from kernel.settings import Settings

# The default policy file, read once, gives the schema its @requiresScopes directives so a
# Federation router can enforce the same rules as a second line.
POLICY_FOR_SCHEMA: Policy | None = Policy.load()


class Context(Protocol):
    guard: Guard
    principal: Principal | None
    store: GraphStore
    audit: AuditLog | None
    sql: Engine | None
    settings: Settings | None
