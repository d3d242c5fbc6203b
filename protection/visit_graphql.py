"""Screening visits (走访) over GraphQL: the village supervisor's phone page and the visiting rounds.

Beside protection/visits.py: the phone page uses ``childVisitRecord``, ``recordVisit``,
``visitConflicts`` and ``resolveVisitConflict``; an entry recorded offline is idempotent by its
client id and one made against a stale version is held as a conflict to resolve. A visit's content
goes through the field policy like a Visit node's (``_guarded``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import from_exception, refused, store_unavailable
from graph.port import GraphStoreError
from kernel import clock
from kernel.messages import say
from protection import visits
from protection.screening_common_graphql import caller_names, sql_engine
from protection.screening_tables import ChildVisitState, VisitConflict, VisitRecord


@strawberry.enum
class VisitStatus(Enum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    DISCARDED = "discarded"


@strawberry.enum
class ConflictChoice(Enum):
    KEEP_MINE = "keep_mine"
    KEEP_THEIRS = "keep_theirs"
    MERGE = "merge"


@strawberry.input(description="A screening visit as the device recorded it (possibly offline).")
class VisitInput:
    client_id: str = strawberry.field(description="Generated on the device; resending it is safe.")
    person_id: strawberry.ID
    visited_on: date
    findings: list[str]
    living_arrangement: str
    notes: str | None = None
    base_version: int = strawberry.field(
        description="Version of the child's visit record the device last saw."
    )


@strawberry.input(description="The fields a supervisor settles on when merging a conflict.")
class VisitFieldsInput:
    visited_on: date | None = None
    findings: list[str] | None = None
    living_arrangement: str | None = None
    notes: str | None = None


@strawberry.type(description="The child's current visit record and its version (the baseVersion to send).")
class ChildVisitRecord:
    person_id: strawberry.ID
    version: int
    visited_on: date | None
    findings: list[str]
    living_arrangement: str | None
    notes: str | None
    updated_at: datetime | None

    @staticmethod
    def of(person_id: str, s: ChildVisitState | None) -> ChildVisitRecord:
        if s is None:
            return ChildVisitRecord(
                person_id=strawberry.ID(person_id),
                version=0,
                visited_on=None,
                findings=[],
                living_arrangement=None,
                notes=None,
                updated_at=None,
            )
        return ChildVisitRecord(
            person_id=strawberry.ID(person_id),
            version=s.version,
            visited_on=s.visited_on,
            findings=list(s.findings or []),
            living_arrangement=s.living_arrangement,
            notes=s.notes,
            updated_at=s.updated_at,
        )


@strawberry.type
class VisitEntry:
    client_id: str
    person_id: strawberry.ID
    visited_on: date
    visitor: str
    findings: list[str]
    living_arrangement: str
    notes: str | None
    version: int
    recorded_at: datetime

    @staticmethod
    def of(v: VisitRecord) -> VisitEntry:
        return VisitEntry(
            client_id=v.client_id,
            person_id=strawberry.ID(v.person_id),
            visited_on=v.visited_on,
            visitor=v.visitor,
            findings=list(v.findings or []),
            living_arrangement=v.living_arrangement,
            notes=v.notes,
            version=v.version,
            recorded_at=v.recorded_at,
        )


@strawberry.type(description="One side of a conflict: the fields and the version they belong to.")
class VisitSide:
    version: int
    visited_on: str | None
    findings: list[str]
    living_arrangement: str | None
    notes: str | None


@strawberry.type(description="An entry that arrived against a visit record that had changed meanwhile.")
class VisitConflictInfo:
    id: int
    client_id: str
    person_id: strawberry.ID
    status: str
    resolution: str | None
    mine: VisitSide = strawberry.field(description="What the device sent (made against baseVersion).")
    theirs: VisitSide = strawberry.field(description="The record as it stands (currentVersion).")
    raised_at: datetime

    @staticmethod
    def of(c: VisitConflict) -> VisitConflictInfo:
        p, cur = c.proposed, c.current
        return VisitConflictInfo(
            id=int(c.id or 0),
            client_id=c.client_id,
            person_id=strawberry.ID(c.person_id),
            status=c.status,
            resolution=c.resolution,
            mine=VisitSide(
                version=c.base_version,
                visited_on=p.get("visited_on"),
                findings=list(p.get("findings") or []),
                living_arrangement=p.get("living_arrangement"),
                notes=p.get("notes"),
            ),
            theirs=VisitSide(
                version=c.current_version,
                visited_on=cur.get("visited_on"),
                findings=list(cur.get("findings") or []),
                living_arrangement=cur.get("living_arrangement"),
                notes=cur.get("notes"),
            ),
            raised_at=c.raised_at,
        )


@strawberry.type(description="What happened to a visit entry: recorded, a replay, or a conflict to resolve.")
class VisitOutcome:
    status: VisitStatus
    record: ChildVisitRecord
    visit: VisitEntry | None
    conflict: VisitConflictInfo | None


def _outcome(info: Info[Context, None], person_id: str, o: visits.Outcome) -> VisitOutcome:
    return VisitOutcome(
        status=VisitStatus(o.status),
        record=_guarded(info, ChildVisitRecord.of(person_id, o.state)),
        visit=_guarded(info, VisitEntry.of(o.visit)) if o.visit else None,
        conflict=_guarded(info, VisitConflictInfo.of(o.conflict)) if o.conflict else None,
    )


# What a visit says, by the Visit property whose sensitivity class governs it.
_VISIT_FIELDS = {
    "findings": "findings",
    "living_arrangement": "findings",
    "notes": "findings",
    "visitor": "visitor",
    "visited_on": "visited_on",
}
_V = TypeVar("_V")


def _guarded(info: Info[Context, None], item: _V) -> _V:
    """A visit's content through the field policy, like a Visit node's: allowed as it is, masked
    to '***', or refused whole (a visit without its findings means nothing)."""
    guard = info.context.guard
    if not guard.enforcing:
        return item
    sides = [item.mine, item.theirs] if isinstance(item, VisitConflictInfo) else [item]
    for side in sides:
        for attr, prop in _VISIT_FIELDS.items():
            if not hasattr(side, attr):
                continue
            raw = getattr(side, attr)
            if guard.decide("Visit", prop) == "mask" and raw not in (None, [], ""):
                setattr(side, attr, ["***"] if isinstance(raw, list) else "***")
    return item


@strawberry.type
class VisitRound:
    kind: str
    start: date
    end: date
    due: int
    visited: int


@strawberry.type(description="A village's visiting rounds: regular, winter and summer holiday screening.")
class VillageSchedule:
    division: str
    name: str | None
    children_of_concern: int
    rounds: list[VisitRound]


@strawberry.type
class VisitQuery:
    @strawberry.field(
        description="Visiting rounds per village for a year: regular, winter and summer screening."
    )
    def visit_schedule(
        self, info: Info[Context, None], division: str, year: int | None = None
    ) -> list[VillageSchedule]:
        info.context.guard.authorize("read_worklist")
        scope.division_within(info.context.guard, division)
        out = visits.schedule(sql_engine(info), info.context.store, division, year or clock.today().year)
        return [
            VillageSchedule(
                division=v.division,
                name=v.name,
                children_of_concern=v.children_of_concern,
                rounds=[
                    VisitRound(kind=r.kind, start=r.start, end=r.end, due=r.due, visited=r.visited)
                    for r in v.rounds
                ],
            )
            for v in out
        ]

    @strawberry.field(description="The child's visit record and its version: send it as baseVersion.")
    def child_visit_record(self, info: Info[Context, None], person_id: strawberry.ID) -> ChildVisitRecord:
        info.context.guard.authorize("read_worklist")
        scope.child_division(info.context.guard, str(person_id))
        return _guarded(
            info, ChildVisitRecord.of(str(person_id), visits.current_state(sql_engine(info), str(person_id)))
        )

    @strawberry.field(description="Visits recorded for a child through the platform, newest first.")
    def visit_history(self, info: Info[Context, None], person_id: strawberry.ID) -> list[VisitEntry]:
        info.context.guard.authorize("read_worklist")
        scope.child_division(info.context.guard, str(person_id))
        info.context.guard.trail.records.add(str(person_id))
        return [_guarded(info, VisitEntry.of(v)) for v in visits.history(sql_engine(info), str(person_id))]

    @strawberry.field(description="Open visit conflicts in a division, to resolve.")
    def visit_conflicts(self, info: Info[Context, None], division: str) -> list[VisitConflictInfo]:
        info.context.guard.authorize("read_worklist")
        prefix = scope.division_within(info.context.guard, division)
        return [
            _guarded(info, VisitConflictInfo.of(c)) for c in visits.open_conflicts(sql_engine(info), prefix)
        ]


@strawberry.type
class VisitMutation:
    @strawberry.mutation(
        description="Record a screening visit (idempotent by clientId; a stale baseVersion is a CONFLICT)."
    )
    def record_visit(self, info: Info[Context, None], input: VisitInput) -> VisitOutcome:
        guard = info.context.guard
        guard.authorize("record_visit")
        person_id = str(input.person_id)
        division = scope.child_division(info.context.guard, person_id)
        visitor, by = caller_names(info)
        inp = visits.VisitInput(
            client_id=input.client_id.strip(),
            person_id=person_id,
            visited_on=input.visited_on,
            findings=tuple(input.findings),
            living_arrangement=input.living_arrangement,
            notes=input.notes,
            base_version=input.base_version,
        )
        try:
            outcome = visits.record(
                sql_engine(info), info.context.store, inp, division=division, visitor=visitor, recorded_by=by
            )
        except visits.VisitError as exc:
            raise from_exception(exc) from exc
        except GraphStoreError as exc:
            raise store_unavailable(cause=exc) from exc
        guard.trail.records.add(person_id)
        if outcome.status == "recorded":
            guard.wrote(f"visit:app-{inp.client_id}", "Visit.visited_on", "Visit.visitor", "Visit.findings")
            guard.wrote(person_id, "ChildVisitRecord.version")
        elif outcome.status == "conflict":
            guard.wrote(
                f"visit_conflict:{outcome.conflict.id if outcome.conflict else ''}", "VisitConflict.status"
            )
        return _outcome(info, person_id, outcome)

    @strawberry.mutation(
        description="Settle a visit conflict: KEEP_MINE, KEEP_THEIRS or MERGE (with the merged fields)."
    )
    def resolve_visit_conflict(
        self,
        info: Info[Context, None],
        conflict_id: int,
        choice: ConflictChoice,
        merged: VisitFieldsInput | None = None,
    ) -> VisitOutcome:
        guard = info.context.guard
        guard.authorize("record_visit")
        visitor, by = caller_names(info)
        fields = None
        if merged is not None:
            fields = {
                "visited_on": merged.visited_on.isoformat() if merged.visited_on else None,
                "findings": merged.findings,
                "living_arrangement": merged.living_arrangement,
                "notes": merged.notes,
            }
        try:
            outcome = visits.resolve(
                sql_engine(info),
                info.context.store,
                conflict_id,
                choice.value,
                merged=fields,
                visitor=visitor,
                resolved_by=by,
                allowed_prefix=scope.own_prefix(info.context.guard),
            )
        except visits.VisitError as exc:
            raise from_exception(exc) from exc
        except GraphStoreError as exc:
            raise store_unavailable(cause=exc) from exc
        if outcome.conflict is None:
            raise refused(say("api.visit_no_outcome"), "CONFLICT", "no_outcome")
        person_id = outcome.conflict.person_id
        guard.wrote(f"visit_conflict:{conflict_id}", "VisitConflict.status", "VisitConflict.resolution")
        if outcome.visit is not None:
            guard.wrote(
                f"visit:app-{outcome.visit.client_id}", "Visit.visited_on", "Visit.visitor", "Visit.findings"
            )
            guard.wrote(person_id, "ChildVisitRecord.version")
        return _outcome(info, person_id, outcome)


__all__ = ["VisitMutation", "VisitQuery"]
