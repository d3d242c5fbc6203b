"""Deadlines over GraphQL: an agency's open steps (its worklist), the steps past their deadline, and
the events in the synced data that should have produced a report and did not.

Reads only, from protection/accountability.py; the broad views need ``read_accountability``.
"""

from datetime import datetime

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import sql_unavailable
from kernel.db import session
from protection import workflow_graphql as wf
from protection.accountability import missed_reports, overdue_steps
from protection.case_views_graphql import CaseStep
from protection.rows_graphql import views


@strawberry.type(description="An event that should have produced a report and did not.")
class MissedReport:
    kind: str
    event_id: strawberry.ID
    child_id: strawberry.ID
    institution: str
    division: str | None
    occurred_on: str | None
    days_since: int | None


@strawberry.type(description="An open step past its deadline.")
class OverdueStep:
    step_id: strawberry.ID
    case_id: strawberry.ID
    kind: str
    agency_id: str
    division: str
    due_at: datetime
    hours_overdue: float


@strawberry.type
class AccountabilityQuery:
    @strawberry.field(description="Your agency's open steps with their deadlines (the worklist).")
    def my_open_steps(self, info: Info[Context, None]) -> list[CaseStep]:
        from sqlmodel import col, select

        from protection.case_tables import CaseStep as Row

        actor = wf.actor(info)
        if info.context.sql is None:
            raise sql_unavailable()
        with session(info.context.sql) as s:
            q = select(Row).where(Row.agency_id == actor.agency_id, Row.status == "open")
            rows = list(s.exec(q.order_by(col(Row.due_at)).limit(500)))
        return views(CaseStep, rows, "step")

    @strawberry.field(
        description="Overdue steps: your agency's own; with read_accountability, every agency's in your "
        "jurisdiction (optionally a division subtree of it)."
    )
    def overdue_steps(self, info: Info[Context, None], division: str | None = None) -> list[OverdueStep]:
        actor = wf.actor(info)
        ctx = info.context
        if ctx.sql is None or ctx.principal is None:
            raise sql_unavailable()
        broad = ctx.guard.policy is None or ctx.guard.policy.can(ctx.principal, "read_accountability")
        prefix = scope.division_within(info.context.guard, division) if broad else None
        rows = overdue_steps(ctx.sql, division_prefix=prefix, agency_id=None if broad else actor.agency_id)
        return [
            OverdueStep(
                step_id=strawberry.ID(o.step.id),
                case_id=strawberry.ID(o.case_id),
                kind=o.step.kind,
                agency_id=o.step.agency_id,
                division=o.division,
                due_at=o.step.due_at,  # type: ignore[arg-type]
                hours_overdue=o.hours_overdue,
            )
            for o in rows
        ]

    @strawberry.field(
        description="Events in the synced data that should have produced a report and did not, "
        "per institution."
    )
    def missed_reports(self, info: Info[Context, None], division: str | None = None) -> list[MissedReport]:
        wf.actor(info, "read_accountability")
        ctx = info.context
        if ctx.sql is None:
            raise sql_unavailable()
        return [
            MissedReport(
                kind=m.kind,
                event_id=strawberry.ID(m.event_id),
                child_id=strawberry.ID(m.child_id),
                institution=m.institution,
                division=m.division,
                occurred_on=m.occurred_on,
                days_since=m.days_since,
            )
            for m in missed_reports(ctx.store, ctx.sql, scope.division_within(info.context.guard, division))
        ]
