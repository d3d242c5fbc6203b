"""Screening (预警排查), classification, visits, the reporting chain and statistics over GraphQL.

Thin resolvers over protection/: each checks a capability, confines divisions to the caller's
jurisdiction (a village supervisor: their own village), reads personal values through the
guard and puts every change on the audit entry. The village supervisor's phone page uses
``childVisitRecord``, ``recordVisit``, ``visitConflicts`` and ``resolveVisitConflict``.
"""

from __future__ import annotations

import base64
from collections import Counter
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import from_exception, refused, store_unavailable
from auth.enforce.guard import FieldDenied
from auth.enforce.records import Source
from graph.port import GraphStoreError
from kernel import clock
from protection import classification as cls
from protection import reporting, screening, statistics, visits
from protection import transitions as tr
from protection.screening_config import config
from protection.screening_tables import ChildClassification, ChildVisitState, VisitConflict, VisitRecord


def _engine(info: Info[Context, None]) -> Any:
    if info.context.sql is None:
        raise refused("the relational store is not available", "UNAVAILABLE", "no_sql")
    return info.context.sql


def _who(info: Info[Context, None]) -> tuple[str, str]:
    """(visitor name, recorded_by) of the caller; 'system' when enforcement is off."""
    p = info.context.principal
    if p is None:
        return "system", "system"
    return p.user or p.subject, f"{p.agency_id}/{p.client_id}"


# ---- facts and explanations --------------------------------------------------------------------


@strawberry.type(description="A fact a verdict or a risk rests on, with the source records behind it.")
class ExplainedFact:
    about: str = strawberry.field(description="The category (verdict) or rule (risk) it supports.")
    basis: str = strawberry.field(description="verdict | rule")
    text: str
    record: str = strawberry.field(description="The node or relationship id the fact is read from.")
    kind: str
    prop: str
    _value: strawberry.Private[Any]
    _sources: strawberry.Private[list[dict[str, str]]]

    @strawberry.field(description="The value as the field policy lets you see it (masked if so).")
    def value(self) -> str | None:
        # Released with the fact (_released): a fact of a denied class is not here at all.
        return None if self._value is None else str(self._value)

    @strawberry.field(description="Source records (system, record id, when) claiming the value.")
    def sources(self, info: Info[Context, None]) -> list[Source] | None:
        items = info.context.guard.read_provenance(self.kind, self._sources)
        if items is None:
            return None
        return [Source(system=s["system"], record_id=s["record_id"], at=s["at"]) for s in items]

    @staticmethod
    def of(d: dict[str, Any], about: str, basis: str) -> ExplainedFact:
        return ExplainedFact(
            about=about,
            basis=basis,
            text=d["text"],
            record=d["record"],
            kind=d["kind"],
            prop=d["prop"],
            _value=d["value"],
            _sources=d["sources"],
        )


@strawberry.type(description="Whether the child is in one category (its facts: Classification.facts).")
class Verdict:
    category: str
    holds: bool
    missing: list[str] = strawberry.field(description="Facts the graph lacks to decide (e.g. a parent).")


@strawberry.type(description="A screening rule that holds for the child, with its weight and evidence.")
class RiskReason:
    rule: str
    zh: str
    weight: int
    evidence: list[str]


def _released(info: Info[Context, None], f: dict[str, Any]) -> dict[str, Any] | None:
    """A stored fact as this caller may see it, its text composed from the value that passed the
    field policy; None for a fact whose class is denied: left out whole, never summarised (a
    text "serious illness diagnosis Q21.0" beside a null value would be the leak)."""
    guard = info.context.guard
    if not guard.enforcing or f["prop"] == "id":
        return f
    guard.trail.records.add(f["record"])
    raw = f["value"]
    try:
        value = guard.decide_and_apply(f["kind"], f["prop"], raw)
    except FieldDenied:
        return None
    text = f["text"]
    if value != raw and raw not in (None, ""):
        shown = "***" if value is None else str(value)
        text = text.replace(str(raw), shown)
    return {**f, "text": text, "value": value}


def _released_facts(info: Info[Context, None], facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in (_released(info, f) for f in facts) if r is not None]


def _reasons(info: Info[Context, None], explanation: dict[str, Any]) -> list[RiskReason]:
    return [
        RiskReason(
            rule=r["rule"],
            zh=r["zh"],
            weight=r["weight"],
            evidence=[f["text"] for f in _released_facts(info, r["facts"])],
        )
        for r in explanation.get("risks", [])
    ]


def _lines(info: Info[Context, None], explanation: dict[str, Any]) -> list[str]:
    """One line per rule that holds: its Chinese name and the evidence the caller may see."""
    return [
        f"{r['zh']}: " + "; ".join(f["text"] for f in _released_facts(info, r["facts"]))
        for r in explanation.get("risks", [])
    ]


@strawberry.type(
    description="A child's classification (留守儿童 / 困境儿童) and screening result. Lists are kept flat "
    "(verdicts, reasons, and every fact once with what it supports) so a full explanation stays "
    "within the query cost limit."
)
class Classification:
    person_id: strawberry.ID
    division: str
    age: int | None
    left_behind: bool
    in_distress: bool
    categories: list[str]
    arrangement: str
    schooling: str
    case_status: str
    priority: int
    last_visit: str | None
    computed_at: datetime
    verdicts: list[Verdict]
    reasons: list[RiskReason]
    facts: list[ExplainedFact]

    @staticmethod
    def of(row: ChildClassification, info: Info[Context, None]) -> Classification:
        ex = row.explanation or {}
        facts = [
            ExplainedFact.of(f, v["category"], "verdict")
            for v in ex.get("verdicts", [])
            for f in _released_facts(info, v["facts"])
        ]
        facts += [
            ExplainedFact.of(f, r["rule"], "rule")
            for r in ex.get("risks", [])
            for f in _released_facts(info, r["facts"])
        ]
        return Classification(
            person_id=strawberry.ID(row.person_id),
            division=row.division,
            age=row.age,
            left_behind=row.left_behind,
            in_distress=row.in_distress,
            categories=list(row.categories or []),
            arrangement=row.arrangement,
            schooling=row.schooling,
            case_status=row.case_status,
            priority=row.priority,
            last_visit=row.last_visit,
            computed_at=row.computed_at,
            verdicts=[
                Verdict(category=v["category"], holds=v["holds"], missing=list(v["missing"]))
                for v in ex.get("verdicts", [])
            ],
            reasons=_reasons(info, ex),
            facts=facts,
        )


@strawberry.type
class KeyCount:
    key: str
    # Null: fewer than the policy's disclosure.min_count, suppressed for this caller.
    count: int | None


def _kc(counter: Any) -> list[KeyCount]:
    return [KeyCount(key=k, count=int(v)) for k, v in sorted(counter.items())]


@strawberry.type(description="Counts of children by category in one division.")
class DivisionCounts:
    division: str
    counts: list[KeyCount]


@strawberry.type(description="One child on a worklist, highest priority first, with the reasons.")
class WorklistEntry:
    person_id: strawberry.ID
    division: str
    categories: list[str]
    priority: int
    last_visit: str | None
    rules: list[str] = strawberry.field(description="The rules that hold, by name.")
    reasons: list[str] = strawberry.field(description="One line per rule: 中文名: evidence; evidence.")
    _name: strawberry.Private[Any]

    @strawberry.field(description="The child's name (declared identity, masked as Person.name).")
    def name(self, info: Info[Context, None]) -> str | None:
        guard = info.context.guard
        if guard.enforcing:
            guard.trail.records.add(str(self.person_id))
        return self._name


@strawberry.type
class Worklist:
    division: str
    total: int
    by_rule: list[KeyCount]
    entries: list[WorklistEntry]


# ---- visits -----------------------------------------------------------------------------------


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


# ---- reports and statistics -------------------------------------------------------------------


@strawberry.enum
class ReportFormat(Enum):
    CSV = "csv"
    XLSX = "xlsx"


@strawberry.type
class ReportRow:
    division: str
    counts: list[KeyCount]


@strawberry.type
class DivisionStatus:
    division: str
    status: str


@strawberry.type(description="A quarterly or annual report of one division, its deadline and state.")
class PeriodicReport:
    division: str
    level: str
    kind: str
    period: str
    deadline: date
    status: str
    overdue: bool
    submitted_at: datetime | None
    decided_at: datetime | None
    note: str | None
    rows: list[ReportRow]
    totals: list[KeyCount]
    lower_levels: list[DivisionStatus]

    @staticmethod
    def of(v: reporting.ReportView) -> PeriodicReport:
        rec = v.record
        return PeriodicReport(
            division=v.division,
            level=v.level,
            kind=v.period.kind,
            period=v.period.label,
            deadline=v.deadline,
            status=v.status,
            overdue=v.overdue and v.status not in ("approved",),
            submitted_at=rec.submitted_at if rec else None,
            decided_at=rec.decided_at if rec else None,
            note=rec.note if rec else None,
            rows=[ReportRow(division=code, counts=_kc(c)) for code, c in v.rows],
            totals=_kc(v.totals),
            lower_levels=[DivisionStatus(division=d, status=s) for d, s in sorted(v.children_status.items())],
        )


@strawberry.type(description="An exported report: the file's name, media type and base64 content.")
class ReportFile:
    filename: str
    content_type: str
    content_base64: str


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


def _report(info: Info[Context, None], division: str, period: str) -> reporting.ReportView:
    scope.division_within(info.context.guard, division)
    try:
        return reporting.view(_engine(info), division, period)
    except reporting.ReportError as exc:
        raise from_exception(exc) from exc


def _names(info: Info[Context, None], codes: list[str]) -> dict[str, str]:
    nodes = info.context.store.get_nodes([f"division:{c}" for c in codes])
    return {n.props["code"]: n.props.get("name") or "" for n in nodes.values() if n.props.get("code")}


@strawberry.type
class ScreeningQuery:
    @strawberry.field(
        description="A child's classification (留守/困境) with the facts and sources behind it."
    )
    def classification(self, info: Info[Context, None], person_id: strawberry.ID) -> Classification | None:
        info.context.guard.authorize("read_classification")
        scope.child_division(info.context.guard, str(person_id))
        row = cls.stored(_engine(info), str(person_id))
        if row is None:
            cls.recompute(info.context.store, _engine(info), [str(person_id)], trigger="read", snapshot=False)
            row = cls.stored(_engine(info), str(person_id))
        info.context.guard.trail.records.add(str(person_id))
        return Classification.of(row, info) if row else None

    @strawberry.field(description="Children by category in each division one level below (and the total).")
    def classification_counts(self, info: Info[Context, None], division: str) -> list[DivisionCounts]:
        info.context.guard.authorize("read_classification")
        prefix = scope.division_within(info.context.guard, division)
        digits = min(12, {2: 4, 4: 6, 6: 9, 9: 12, 12: 12}[len(prefix)])
        counts = cls.counts_by_division(_engine(info), prefix, digits)
        total: Counter[str] = Counter()
        for c in counts.values():
            total.update(c)
        rows = [DivisionCounts(division=d, counts=_kc(c)) for d, c in sorted(counts.items())]
        return [DivisionCounts(division=division, counts=_kc(total)), *rows]

    @strawberry.field(description="Children at risk in a division, by priority, with the rules that hold.")
    def worklist(
        self,
        info: Info[Context, None],
        division: str,
        rule: str | None = None,
        first: int = 50,
        offset: int = 0,
    ) -> Worklist:
        info.context.guard.authorize("read_worklist")
        prefix = scope.division_within(info.context.guard, division)
        if rule is not None and rule not in config().rules:
            raise refused(f"unknown rule {rule!r}", "BAD_REQUEST", "invalid_input")
        page = screening.worklist(
            _engine(info), prefix, rule=rule, first=max(1, min(first, 200)), offset=max(0, offset)
        )
        nodes = info.context.store.get_nodes([r.person_id for r in page.rows])
        entries = [
            WorklistEntry(
                person_id=strawberry.ID(r.person_id),
                division=r.division,
                categories=list(r.categories or []),
                priority=r.priority,
                last_visit=r.last_visit,
                rules=list(r.risks or []),
                reasons=_lines(info, r.explanation or {}),
                _name=nodes[r.person_id].props.get("name") if r.person_id in nodes else None,
            )
            for r in page.rows
        ]
        return Worklist(division=division, total=page.total, by_rule=_kc(page.by_rule), entries=entries)

    @strawberry.field(
        description="Visiting rounds per village for a year: regular, winter and summer screening."
    )
    def visit_schedule(
        self, info: Info[Context, None], division: str, year: int | None = None
    ) -> list[VillageSchedule]:
        info.context.guard.authorize("read_worklist")
        scope.division_within(info.context.guard, division)
        out = visits.schedule(_engine(info), info.context.store, division, year or clock.today().year)
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
            info, ChildVisitRecord.of(str(person_id), visits.current_state(_engine(info), str(person_id)))
        )

    @strawberry.field(description="Visits recorded for a child through the platform, newest first.")
    def visit_history(self, info: Info[Context, None], person_id: strawberry.ID) -> list[VisitEntry]:
        info.context.guard.authorize("read_worklist")
        scope.child_division(info.context.guard, str(person_id))
        info.context.guard.trail.records.add(str(person_id))
        return [_guarded(info, VisitEntry.of(v)) for v in visits.history(_engine(info), str(person_id))]

    @strawberry.field(description="Open visit conflicts in a division, to resolve.")
    def visit_conflicts(self, info: Info[Context, None], division: str) -> list[VisitConflictInfo]:
        info.context.guard.authorize("read_worklist")
        prefix = scope.division_within(info.context.guard, division)
        return [_guarded(info, VisitConflictInfo.of(c)) for c in visits.open_conflicts(_engine(info), prefix)]

    @strawberry.field(description="A quarterly (2026-Q3) or annual (2026) report of a division.")
    def periodic_report(self, info: Info[Context, None], division: str, period: str) -> PeriodicReport:
        info.context.guard.authorize("read_periodic_report")
        return PeriodicReport.of(_report(info, division, period))

    @strawberry.field(description="A periodic report exported as CSV or XLSX (base64 content).")
    def periodic_report_file(
        self, info: Info[Context, None], division: str, period: str, format: ReportFormat
    ) -> ReportFile:
        info.context.guard.authorize("read_periodic_report")
        v = _report(info, division, period)
        names = _names(info, [code for code, _ in v.rows])
        if format == ReportFormat.CSV:
            data, ctype = reporting.to_csv(v, names), "text/csv; charset=utf-8"
        else:
            data = reporting.to_xlsx(v, names)
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return ReportFile(
            filename=reporting.filename(v, format.value),
            content_type=ctype,
            content_base64=base64.b64encode(data).decode(),
        )

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
        points = statistics.series(_engine(info), division, group_by.value, since, until)
        return [StatPoint(taken_at=p.taken_at, counts=_kc(p.counts)) for p in points]


@strawberry.type(description="How many children a recompute classified and how long it took.")
class RecomputeResult:
    children: int
    removed: int
    seconds: float
    snapshot_id: int | None


@strawberry.type
class ScreeningMutation:
    @strawberry.mutation(
        description="Record a screening visit (idempotent by clientId; a stale baseVersion is a CONFLICT)."
    )
    def record_visit(self, info: Info[Context, None], input: VisitInput) -> VisitOutcome:
        guard = info.context.guard
        guard.authorize("record_visit")
        person_id = str(input.person_id)
        division = scope.child_division(info.context.guard, person_id)
        visitor, by = _who(info)
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
                _engine(info), info.context.store, inp, division=division, visitor=visitor, recorded_by=by
            )
        except visits.VisitError as exc:
            raise from_exception(exc) from exc
        except GraphStoreError as exc:
            raise store_unavailable("the graph store refused the write; nothing was recorded") from exc
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
        visitor, by = _who(info)
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
                _engine(info),
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
            raise store_unavailable("the graph store refused the write; nothing was recorded") from exc
        if outcome.conflict is None:
            raise refused("the visit was neither recorded nor held as a conflict", "CONFLICT", "no_outcome")
        person_id = outcome.conflict.person_id
        guard.wrote(f"visit_conflict:{conflict_id}", "VisitConflict.status", "VisitConflict.resolution")
        if outcome.visit is not None:
            guard.wrote(
                f"visit:app-{outcome.visit.client_id}", "Visit.visited_on", "Visit.visitor", "Visit.findings"
            )
            guard.wrote(person_id, "ChildVisitRecord.version")
        return _outcome(info, person_id, outcome)

    @strawberry.mutation(description="Reclassify and rescreen every child of a division after facts changed.")
    def recompute_classification(self, info: Info[Context, None], division: str) -> RecomputeResult:
        guard = info.context.guard
        guard.authorize("recompute_classification")
        scope.division_within(info.context.guard, division)
        try:
            r = cls.recompute(info.context.store, _engine(info), division=division, trigger="manual")
        except GraphStoreError as exc:
            raise store_unavailable("the graph store could not be read; nothing changed") from exc
        guard.wrote(
            f"classification:{division}", "ChildClassification.categories", "ChildClassification.risks"
        )
        return RecomputeResult(
            children=r.children, removed=r.removed, seconds=round(r.seconds, 3), snapshot_id=r.snapshot_id
        )

    @strawberry.mutation(
        description="Submit a division's periodic report to the level above (figures frozen)."
    )
    def submit_periodic_report(self, info: Info[Context, None], division: str, period: str) -> PeriodicReport:
        guard = info.context.guard
        step = tr.PERIODIC["submit"]
        guard.authorize(step.capability)
        scope.division_within(info.context.guard, division)
        _, by = _who(info)
        _acting(info, step, division)
        try:
            v = reporting.submit(_engine(info), division, period, by=by)
        except reporting.ReportError as exc:
            raise from_exception(exc) from exc
        guard.wrote(f"periodic_report:{division}:{period}", "PeriodicReport.status", "PeriodicReport.figures")
        return PeriodicReport.of(v)

    @strawberry.mutation(
        description="Approve a submitted report from the level below, or return it with a note."
    )
    def decide_periodic_report(
        self, info: Info[Context, None], division: str, period: str, approve: bool, note: str | None = None
    ) -> PeriodicReport:
        guard = info.context.guard
        step = tr.PERIODIC["approve" if approve else "return"]
        guard.authorize(step.capability)
        scope.division_within(info.context.guard, division)
        _acting(info, step, division)
        _, by = _who(info)
        try:
            v = reporting.decide(_engine(info), division, period, approve=approve, by=by, note=note)
        except reporting.ReportError as exc:
            raise from_exception(exc) from exc
        guard.wrote(f"periodic_report:{division}:{period}", "PeriodicReport.status")
        return PeriodicReport.of(v)


def _acting(info: Info[Context, None], step: tr.Transition, division: str) -> None:
    """The caller's agency is the one the step's row (`acting`) lets act on this division's report:
    a report is submitted by its own division's agency, approved or returned by a level above."""
    guard = info.context.guard
    if not guard.enforcing or step.acting is None:
        return
    if guard.principal is None:
        raise refused("not authenticated", "UNAUTHENTICATED", "no_principal")
    own = guard.principal.jurisdiction == division
    if step.acting is tr.Acting.OWN_DIVISION and not own:
        raise refused("a report is submitted by its own division's agency", "FORBIDDEN", "not_own_division")
    if step.acting is tr.Acting.LEVEL_ABOVE and own:
        raise refused(
            "a report is approved by the level above, not by its own division", "FORBIDDEN", "own_report"
        )


__all__ = ["ScreeningMutation", "ScreeningQuery"]
