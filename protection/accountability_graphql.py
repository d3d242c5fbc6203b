"""Deadlines over GraphQL: an agency's open steps (its worklist), the steps past their deadline, and
the events in the synced data that should have produced a report and did not.

Reads only, from protection/accountability.py; the broad views need ``read_accountability``.
"""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import sql_unavailable
from auth.enforce.guard import FieldDenied, Guard
from kernel.db import session
from kernel.messages import say
from protection import accountability as acc
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
    birth_date_unknown: bool | None = strawberry.field(
        description="The child's birth date is unknown: listed because its age cannot rule it out."
    )
    note: str | None = strawberry.field(description="What to check about this line (the catalogue's words).")


def _shown(guard: Guard, kind: str, prop: str, value: Any) -> tuple[Any, bool]:
    """`kind.prop`'s value as the caller may read it, and whether in full; FieldDenied if refused."""
    if not guard.enforcing:
        return value, True
    if guard.decide(kind, prop) == "allow":
        return value, True
    if guard.policy is None:  # an enforcing guard has one: refuse rather than show
        raise RuntimeError("an enforcing guard without a policy")
    return guard.policy.mask(kind, prop, value), False


def _released(guard: Guard, m: acc.MissedReport) -> MissedReport | None:
    """A missed report as the caller may read the event it rests on, or None (left out whole).

    The hospital and the day of an injury visit are the health event's `facility` and `occurred_on`:
    a role that reads health masked gets them masked as the health record itself shows them, and no
    days-since (today less it is the day). A role refused the event's trigger (an injury's ICD-10
    code) may not learn that there was one: the line is left out, as a denied list leaves out its
    records."""
    try:
        _shown(guard, m.event_kind, m.trigger_prop, None)
        if m.institution_prop is None:
            institution, _ = m.institution, True
        else:
            # The name only to a caller shown the property as it is (allowed, or a mask that keeps
            # it); else the property masked, never a mask of the name (a shape-keeping mask would
            # show part of it).
            shown, _ = _shown(guard, m.event_kind, m.institution_prop, m.institution_value)
            institution = m.institution if shown == m.institution_value else shown
        occurred_on, full_day = _shown(guard, m.event_kind, m.occurred_prop, m.occurred_on)
    except FieldDenied:
        return None
    return MissedReport(
        kind=m.kind,
        event_id=strawberry.ID(m.event_id),
        child_id=strawberry.ID(m.child_id),
        institution=str(institution),
        division=m.division,
        occurred_on=occurred_on,
        days_since=m.days_since if full_day else None,
        birth_date_unknown=m.birth_date_unknown,
        note=say("screening.birth_date_unknown") if m.birth_date_unknown else None,
    )


def _order(m: MissedReport) -> tuple[str, int, str, str, str]:
    """Per institution, longest unreported first, by the values the caller is shown only: an order
    by the hospital would tell a caller shown "***" which lines share one."""
    return (m.institution, -(m.days_since or 0), m.occurred_on or "", str(m.event_id), str(m.child_id))


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
        found = missed_reports(ctx.store, ctx.sql, scope.division_within(ctx.guard, division))
        shown = [r for r in (_released(ctx.guard, m) for m in found) if r is not None]
        return sorted(shown, key=_order)
