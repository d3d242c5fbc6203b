"""The per-request context handed to resolvers: the caller, the guard, the stores."""

from __future__ import annotations

from dataclasses import dataclass

from api.guard import Guard
from auth.audit import AuditLog
from auth.policy import Policy
from auth.principal import Principal
from graph.port import GraphStore

# The default policy file, read once, gives the schema its @requiresScopes directives so a
# Federation router can enforce the same rules as a second line.
POLICY_FOR_SCHEMA: Policy | None = Policy.load()


@dataclass
class Context:
    guard: Guard
    principal: Principal | None
    store: GraphStore
    audit: AuditLog | None = None
