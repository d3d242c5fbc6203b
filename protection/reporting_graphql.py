"""The periodic reports (季报 / 年报) of the village→township→county reporting chain over GraphQL.

Beside protection/reporting.py (not the 强制报告 of report_graphql.py): a division's report is
read, exported as CSV/XLSX, submitted by its own division's agency and approved or returned by the
level above. The capability of each step comes from the ``PERIODIC`` rows of the transition
table; ``_acting`` reads which agency the row lets act.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.counts import small, withheld_columns
from auth.enforce.errors import from_exception, refused
from auth.enforce.guard import FieldDenied
from graph.model import parent_division
from kernel.messages import say
from protection import reporting
from protection import transitions as tr
from protection.classification import CATEGORY_CLASSES
from protection.screening_common_graphql import KeyCount, caller_names, key_counts, sql_engine


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
    def of(v: reporting.ReportView, withheld: set[tuple[str, str]] | None = None) -> PeriodicReport:
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
            rows=[
                ReportRow(division=code, counts=key_counts(c, {k for r, k in withheld or () if r == code}))
                for code, c in v.rows
            ],
            totals=key_counts(v.totals, {k for r, k in withheld or () if r == "total"}),
            lower_levels=[DivisionStatus(division=d, status=s) for d, s in sorted(v.children_status.items())],
        )


@strawberry.type(description="An exported report: the file's name, media type and base64 content.")
class ReportFile:
    filename: str
    content_type: str
    content_base64: str


def _report(info: Info[Context, None], division: str, period: str) -> reporting.ReportView:
    scope.division_within(info.context.guard, division)
    try:
        return reporting.view(sql_engine(info), division, period, info.context.store)
    except reporting.ReportError as exc:
        raise from_exception(exc) from exc


def _withheld(info: Info[Context, None], v: reporting.ReportView) -> set[tuple[str, str]]:
    """The (division, key) cells of the report's rows, and ("total", key) of its totals, withheld
    from the caller: a small count (or one of a category derived from a class it may not see in
    full), and the cells that would let it be subtracted from the totals (auth.enforce.counts)."""
    guard = info.context.guard
    totals = {("total", k) for k in small(guard, v.totals, CATEGORY_CLASSES)}
    return withheld_columns(guard, dict(v.rows), CATEGORY_CLASSES) | totals


def _shown(info: Info[Context, None], v: reporting.ReportView) -> reporting.Shown:
    """Each count of an exported report as the caller gets it in ``periodicReport`` (KeyCount.count):
    a withheld cell is empty. The file is one value (ReportFile.contentBase64) to the field layer,
    so the counts inside it are decided here, and the decision on the counts goes on the audit entry
    as it does for the report."""
    guard = info.context.guard
    if guard.enforcing:
        with suppress(FieldDenied):  # denied: every count is withheld below
            guard.decide_field("KeyCount", "count")
    hidden = _withheld(info, v)

    def shown(row: str, key: str, n: int) -> int | None:
        if (row, key) in hidden or guard.value_withheld("KeyCount", "count", n):
            return None
        return n

    return shown


def _names(info: Info[Context, None], codes: list[str]) -> dict[str, str]:
    nodes = info.context.store.get_nodes([f"division:{c}" for c in codes])
    return {n.props["code"]: n.props.get("name") or "" for n in nodes.values() if n.props.get("code")}


@strawberry.type
class PeriodicReportQuery:
    @strawberry.field(description="A quarterly (2026-Q3) or annual (2026) report of a division.")
    def periodic_report(self, info: Info[Context, None], division: str, period: str) -> PeriodicReport:
        info.context.guard.authorize("read_periodic_report")
        v = _report(info, division, period)
        return PeriodicReport.of(v, _withheld(info, v))

    @strawberry.field(description="A periodic report exported as CSV or XLSX (base64 content).")
    def periodic_report_file(
        self, info: Info[Context, None], division: str, period: str, format: ReportFormat
    ) -> ReportFile:
        info.context.guard.authorize("read_periodic_report")
        v = _report(info, division, period)
        names = _names(info, [code for code, _ in v.rows])
        if format == ReportFormat.CSV:
            data, ctype = reporting.to_csv(v, names, _shown(info, v)), "text/csv; charset=utf-8"
        else:
            data = reporting.to_xlsx(v, names, _shown(info, v))
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return ReportFile(
            filename=reporting.filename(v, format.value),
            content_type=ctype,
            content_base64=base64.b64encode(data).decode(),
        )


@strawberry.type
class PeriodicReportMutation:
    @strawberry.mutation(
        description="Submit a division's periodic report to the level above (figures frozen)."
    )
    def submit_periodic_report(self, info: Info[Context, None], division: str, period: str) -> PeriodicReport:
        guard = info.context.guard
        step = tr.PERIODIC["submit"]
        guard.authorize(step.capability)
        scope.division_within(info.context.guard, division)
        _, by = caller_names(info)
        _acting(info, step, division)
        try:
            v = reporting.submit(sql_engine(info), division, period, by=by, graph=info.context.store)
        except reporting.ReportError as exc:
            raise from_exception(exc) from exc
        guard.wrote(f"periodic_report:{division}:{period}", "PeriodicReport.status", "PeriodicReport.figures")
        return PeriodicReport.of(v, _withheld(info, v))

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
        _, by = caller_names(info)
        try:
            v = reporting.decide(
                sql_engine(info),
                division,
                period,
                approve=approve,
                by=by,
                note=note,
                graph=info.context.store,
            )
        except reporting.ReportError as exc:
            raise from_exception(exc) from exc
        guard.wrote(f"periodic_report:{division}:{period}", "PeriodicReport.status")
        return PeriodicReport.of(v, _withheld(info, v))


def _acting(info: Info[Context, None], step: tr.Transition, division: str) -> None:
    """The caller's agency is the one the step's row (`acting`) lets act on this division's report:
    a report is submitted by its own division's agency, approved or returned by a level above."""
    guard = info.context.guard
    if not guard.enforcing or step.acting is None:
        return
    if guard.principal is None:
        raise refused(say("api.not_authenticated"), "UNAUTHENTICATED", "no_principal")
    own = guard.principal.jurisdiction == division
    if step.acting is tr.Acting.OWN_DIVISION and not own:
        raise refused(say("api.report_own_division"), "FORBIDDEN", "not_own_division")
    if step.acting is tr.Acting.LEVEL_ABOVE and own:
        raise refused(say("api.report_level_above"), "FORBIDDEN", "own_report")
    # 逐级报告: a village's report is its township's to decide, a township's its county's.
    above = None
    with suppress(ValueError):  # a code that is no division is refused by the report itself
        above = parent_division(division)
    if step.acting is tr.Acting.LEVEL_ABOVE and above is not None and guard.principal.jurisdiction != above:
        raise refused(say("api.report_level_above"), "FORBIDDEN", "not_level_above")


__all__ = ["PeriodicReportMutation", "PeriodicReportQuery"]
