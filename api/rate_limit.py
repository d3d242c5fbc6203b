"""The per-client request rate of POST /graphql.

Its own module so that the endpoint (api/graphql_app.py) stays about one request's path; a limiter
shared across processes would replace this one class and nothing else.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque


class RateLimiter:
    """A sliding one-minute window per client; in process, which is what one server needs."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        hits = self._hits[client]
        while hits and now - hits[0] > 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        return True
