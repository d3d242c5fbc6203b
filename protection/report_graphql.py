"""强制报告 over GraphQL: filing a mandatory report (or a school's written dropout report), the
receiving agency's inbox, and its acknowledging and accepting (受理, which starts 应急处置).

The steps are the rows `CASE["file_report"]` and `REPORT[...]` of protection/transitions.py, done by
protection/reports.py; the capability each mutation demands is its row's.
"""

from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import sql_unavailable
from kernel.db import session
from protection import reports as rep
from protection import transitions as tr
from protection import workflow_graphql as wf
from protection.case_views_graphql import MandatoryReport


@strawberry.enum(description="The seeds' situations for a 强制报告.")
class Situation(Enum):
    LIVING_ALONE = "living_alone"
    MISSING = "missing"
    GUARDIAN_INCAPABLE = "guardian_incapable"
    GUARDIAN_NEGLECT = "guardian_neglect"
    DOMESTIC_VIOLENCE = "domestic_violence"
    INJURY_OR_HARM = "injury_or_harm"


@strawberry.input
class FileReportInput:
    child_id: strawberry.ID
    situation: Situation
    summary: str
    observed_on: date | None = None
    on_behalf_of_citizen: bool = False
    client_ref: str | None = strawberry.field(
        default=None, description="Your own id for this report: sent again, it files nothing twice."
    )


@strawberry.type
class ReportQuery:
    @strawberry.field(description="Reports routed to your agency (your inbox), newest first.")
    def reports_inbox(self, info: Info[Context, None], status: str | None = None) -> list[MandatoryReport]:
        from sqlmodel import col, select

        from protection.case_tables import MandatoryReport as Row

        actor = wf.actor(info)
        if info.context.sql is None:
            raise sql_unavailable()
        with session(info.context.sql) as s:
            q = select(Row).where(Row.receiving_agency_id == actor.agency_id)
            if status:
                q = q.where(Row.status == status)
            rows = list(s.exec(q.order_by(col(Row.filed_at).desc()).limit(200)))
        return [MandatoryReport.of(r) for r in rows]


@strawberry.type
class ReportMutation:
    @strawberry.mutation(
        description="File a 强制报告; it is routed to the police of the child's jurisdiction."
    )
    def file_mandatory_report(self, info: Info[Context, None], input: FileReportInput) -> MandatoryReport:
        wf.may(info, tr.CASE, "file_report")
        division = scope.child_division(info.context.guard, str(input.child_id))
        row = wf.step(
            info,
            tr.CASE,
            "file_report",
            lambda w: rep.file_report(
                w,
                child_id=str(input.child_id),
                division=division,
                situation=input.situation.value,
                summary=input.summary,
                observed_on=input.observed_on,
                on_behalf_of_citizen=input.on_behalf_of_citizen,
                client_ref=input.client_ref,
            ),
        )
        info.context.guard.wrote(f"report:{row.id}", "Report.situation", "Report.summary")
        return MandatoryReport.of(row)

    @strawberry.mutation(
        description="A school's written report of a dropout it could not bring back (to the township)."
    )
    def file_dropout_report(
        self,
        info: Info[Context, None],
        child_id: strawberry.ID,
        summary: str,
        observed_on: date | None = None,
    ) -> MandatoryReport:
        wf.may(info, tr.REPORT, "file_dropout")
        division = scope.child_division(info.context.guard, str(child_id))
        row = wf.step(
            info,
            tr.REPORT,
            "file_dropout",
            lambda w: rep.file_dropout_report(
                w, child_id=str(child_id), division=division, summary=summary, observed_on=observed_on
            ),
        )
        info.context.guard.wrote(f"report:{row.id}", "Report.situation", "Report.summary")
        return MandatoryReport.of(row)

    @strawberry.mutation(description="The receiving agency confirms it has the report.")
    def acknowledge_report(self, info: Info[Context, None], report_id: strawberry.ID) -> MandatoryReport:
        row = wf.step(
            info,
            tr.REPORT,
            "acknowledge",
            lambda w: rep.acknowledge_report(w, str(report_id)),
        )
        info.context.guard.wrote(f"report:{row.id}", "Report.acknowledged_at")
        return MandatoryReport.of(row)

    @strawberry.mutation(description="受理: the police accept the report; 应急处置 begins.")
    def accept_report(self, info: Info[Context, None], report_id: strawberry.ID) -> MandatoryReport:
        row = wf.step(info, tr.REPORT, "accept", lambda w: rep.accept_report(w, str(report_id)))
        info.context.guard.wrote(f"report:{row.id}", "Report.status")
        return MandatoryReport.of(row)
