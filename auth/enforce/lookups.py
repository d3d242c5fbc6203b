"""Lookups by an identifying value (an ID number, a name): who may, and how many.

A lookup that answers "this number is that child" is an oracle: a role that sees ID numbers
masked could confirm guesses one by one (the auditor recovered a full number from its mask and
a birth year in 308 lookups). So a lookup by a value is only for a role that may see that value
unmasked, and every principal has a volume limit (the policy's disclosure.lookups_per_hour);
a refusal carries its reason onto the request's audit entry.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from auth.enforce.errors import refused
from auth.enforce.guard import FieldDenied, Guard
from kernel.messages import say

WINDOW_SECONDS = 3600.0


class LookupBudget:
    """Per-principal sliding-window counts, process-wide (one service owns the API)."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str, limit: int, now: float | None = None) -> bool:
        at = time.monotonic() if now is None else now
        with self._lock:
            q = self._seen.setdefault(who, deque())
            while q and q[0] <= at - WINDOW_SECONDS:
                q.popleft()
            if len(q) >= limit:
                return False
            q.append(at)
            return True


BUDGET = LookupBudget()


def by_value(guard: Guard, kind: str, prop: str) -> None:
    """Refuse a lookup by ``kind.prop`` unless the caller sees it unmasked and has budget left."""
    if not guard.enforcing:
        return
    if guard.policy is None or guard.principal is None:
        raise FieldDenied("no_principal")
    try:
        decision = guard.decide(kind, prop)
    except FieldDenied:
        decision = "deny"
    if decision != "allow":
        guard.trail.reasons.add("lookup_not_permitted")
        raise refused(say("api.lookup_not_permitted"), "FORBIDDEN", "lookup_not_permitted")
    p = guard.principal
    if not BUDGET.take(f"{p.issuer}|{p.client_id}|{p.subject}", guard.policy.lookups_per_hour):
        guard.trail.reasons.add("lookup_limit")
        raise refused(say("api.lookup_limit"), "FORBIDDEN", "lookup_limit")
