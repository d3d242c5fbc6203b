"""Caseworkers' review queue for entity resolution, and the cross-check report, over GraphQL."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.context import Context


@strawberry.type
class ResolutionQuery:
    @strawberry.field(description="Open match reviews in your jurisdiction.")
    def review_queue_size(self, info: Info[Context, None]) -> int:
        from connectors.resolution import open_review_count

        info.context.guard.authorize("review_matches")
        assert info.context.sql is not None
        return open_review_count(info.context.sql)


@strawberry.type
class ResolutionMutation:
    @strawberry.mutation(description="Reject a proposed match: the two mentions are different people.")
    def reject_match(self, info: Info[Context, None], review_id: int) -> bool:
        from connectors.resolution import reject

        info.context.guard.authorize("review_matches")
        assert info.context.sql is not None and info.context.principal is not None
        reject(info.context.sql, review_id, info.context.principal.client_id)
        return True
