"""Counts of children over time (statistics snapshots) over GraphQL, beside protection/statistics.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from auth.enforce import counts, scope
from auth.enforce.context import Context
from protection import statistics
from protection.classification import CATEGORY_CLASSES, DIMENSION_CLASSES
from protection.screening_common_graphql import KeyCount, key_counts, sql_engine


@strawberry.enum
class StatGroup(Enum):
    DIVISION = "division"
    CATEGORY = "category"
    ARRANGEMENT = "arrangement"
    SCHOOLING = "schooling"
    CASE_STATUS = "case_status"
    SEX = "sex"


@strawberry.type
class StatPoint:
    taken_at: datetime
    counts: list[KeyCount]


def _classes(group_by: StatGroup, cells: Mapping[str, int]) -> counts.Classes | None:
    """The classes each key's count is derived from: a category's own, or the dimension's for
    every value of it (an arrangement is a family fact whatever its value)."""
    if group_by == StatGroup.CATEGORY:
        return CATEGORY_CLASSES
    dim = DIMENSION_CLASSES.get(group_by.value)
    return {str(k): dim for k in cells} if dim else None


@strawberry.type
class StatisticsQuery:
    @strawberry.field(description="Counts of children over time, grouped by division or a dimension.")
    def statistics(
        self,
        info: Info[Context, None],
        division: str,
        group_by: StatGroup,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[StatPoint]:
        info.context.guard.authorize("read_statistics")
        scope.division_within(info.context.guard, division)
        points = statistics.series(sql_engine(info), division, group_by.value, since, until)
        guard = info.context.guard
        out = []
        for p in points:
            classes = _classes(group_by, p.counts)
            hidden = counts.small(guard, p.counts, classes)
            hidden |= counts.withheld(guard, statistics.partition(group_by.value, p.counts), classes)
            out.append(StatPoint(taken_at=p.taken_at, counts=key_counts(p.counts, hidden)))
        return out


__all__ = ["StatisticsQuery"]
