"""Statistics over time: counts of children by division, category, guardianship arrangement,
schooling status, case status and sex, from the snapshots every recompute takes.

A snapshot holds counts only for the villages a recompute touched (a visit touches one
village, a sync all of them). A village's counts stand until its next snapshot, so the
figure for any division at a moment is the sum, over its villages, of each village's latest
counts at or before that moment. Each snapshot time in the window is one point of the series.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from graph.model import LEVEL_DIGITS, DivisionLevel, division_level, division_prefix
from kernel.messages import say
from protection.screening_tables import StatCount, StatSnapshot

GROUPS: dict[str, str] = {
    "division": "total",
    "category": "category",
    "arrangement": "arrangement",
    "schooling": "schooling",
    "case_status": "case_status",
    "sex": "sex",
}
_NEXT = {
    DivisionLevel.PROVINCE: DivisionLevel.CITY,
    DivisionLevel.CITY: DivisionLevel.COUNTY,
    DivisionLevel.COUNTY: DivisionLevel.TOWNSHIP,
    DivisionLevel.TOWNSHIP: DivisionLevel.VILLAGE,
    DivisionLevel.VILLAGE: DivisionLevel.VILLAGE,
}


# The keys of the category group that partition the children: every other category overlaps.
_CATEGORY_PARTITION = ("in_distress", "not_in_distress")


def partition(group_by: str, counts: Counter[str]) -> dict[str, int]:
    """The counts of a point that add up to the children counted (which other figures show): every
    group's but the category group's, where only in distress and not do."""
    if group_by == "category":
        return {k: counts[k] for k in _CATEGORY_PARTITION if k in counts}
    return dict(counts)


@dataclass
class Point:
    taken_at: datetime
    counts: Counter[str]


def series(
    engine: Engine,
    division: str,
    group_by: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Point]:
    """One point per snapshot in the window: counts by the group's values (or sub-divisions)."""
    if group_by not in GROUPS:
        raise ValueError(say("statistics.group_by", allowed=say("workflow.list_sep").join(GROUPS)))
    prefix = division_prefix(division)
    digits = LEVEL_DIGITS[_NEXT[division_level(division)]]
    dim = GROUPS[group_by]
    S = StatSnapshot.__table__  # type: ignore[attr-defined]
    C = StatCount.__table__  # type: ignore[attr-defined]
    q = (
        select(S.c.id, S.c.taken_at, C.c.division, C.c.dimension, C.c.value, C.c.count)
        .join(C, C.c.snapshot_id == S.c.id)
        .where(C.c.division.startswith(prefix) & (C.c.dimension.in_({dim, "total"})))
        .order_by(S.c.id)
    )
    if until is not None:
        q = q.where(S.c.taken_at <= until)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    by_snap: dict[int, list[tuple[str, str, str, int]]] = defaultdict(list)
    times: dict[int, datetime] = {}
    for sid, at, div, d, value, count in rows:
        times[sid] = at
        by_snap[sid].append((div, value, d, count))
    latest: dict[str, Counter[str]] = {}
    out: list[Point] = []
    for sid in sorted(by_snap):
        fresh: dict[str, Counter[str]] = defaultdict(Counter)
        for div, value, d, count in by_snap[sid]:
            if d != dim:  # the village's total row: it was refreshed, even if now empty
                fresh.setdefault(div, Counter())
                continue
            key = div[:digits].ljust(12, "0") if group_by == "division" else value
            if count:
                fresh[div][key] += count
        latest.update(fresh)
        if since is not None and times[sid] < since:
            continue
        total: Counter[str] = Counter()
        for c in latest.values():
            total.update(c)
        out.append(Point(times[sid], total))
    return out
