"""A protection case as the caller reads it: the case file with every step and record of it.

The view types of the case's records (a report, a step, its history, an emergency measure, the
assessment, a service, a follow-up, an intervention) and the case file that lists them, with the
two ways to read cases (`protectionCase`, `protectionCases`). Every step's mutation answers with
the case file (`case_view`), so the types are here once for all of them; each field is read through
the guard under the policy class of the graph property it corresponds to (a report's summary is
``Report.summary``, an intervention's grounds ``Intervention.grounds`` …), so the field policy
applies to workflow records exactly as to the graph.
"""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import sql_unavailable
from protection import assessment as asm
from protection import emergency as emg
from protection import workflow_graphql as wf
from protection.cases import CaseFile, case_file, cases_of
from protection.rows_graphql import IdentifiedRowView, RowView, column, named_person, views


@strawberry.type(description="A 强制报告 (or a written dropout report) and where it was routed.")
class MandatoryReport(IdentifiedRowView):
    @strawberry.field
    def case_id(self) -> strawberry.ID | None:
        return strawberry.ID(self._row.case_id) if self._row.case_id else None

    @strawberry.field
    def child_id(self) -> strawberry.ID:
        return strawberry.ID(self._row.child_id)

    channel = column("channel")
    situation = column("situation")
    status = column("status")
    summary = column("summary")
    reporter_agency_id = column("reporter_agency_id")
    receiving_agency_id = column("receiving_agency_id")
    filed_at = column("filed_at")
    accept_due_at = column("accept_due_at")
    acknowledged_at = column("acknowledged_at")
    accepted_at = column("accepted_at")
    division = column("division")

    @staticmethod
    def of(row: Any) -> "MandatoryReport":
        return MandatoryReport(_row=row, _rid=f"report:{row.id}")


@strawberry.type(
    description="A duty on the case with its deadline (accept, notify, assess, plan, follow up …)."
)
class CaseStep(IdentifiedRowView):
    @strawberry.field
    def case_id(self) -> strawberry.ID:
        return strawberry.ID(self._row.case_id)

    kind = column("kind")
    agency_id = column("agency_id")
    status = column("status")
    due_at = column("due_at")
    done_at = column("done_at")

    @strawberry.field(description="Past its deadline and still open.")
    def overdue(self) -> bool:
        return bool(
            self._row.status == "open"
            and self._row.due_at is not None
            and self._row.due_at < datetime.now(self._row.due_at.tzinfo)
        )


@strawberry.type(description="Who (agency, client) did what to the case, and when.")
class CaseHistoryEntry(RowView):
    at = column("at")
    agency_id = column("agency_id")
    client_id = column("client_id")
    action = column("action")

    @strawberry.field(description="The facts recorded (JSON); a case narrative (case_investigation).")
    def detail(self) -> str | None:
        import json

        return json.dumps(self._row.detail, ensure_ascii=False, sort_keys=True)


@strawberry.type(description="One 应急处置 measure.")
class EmergencyAction(RowView):
    action = column("action")
    agency_id = column("agency_id")
    occurred_on = column("occurred_on")
    placement_kind = column("placement_kind")
    place = column("place")
    since = column("since")
    severity = column("severity")
    note = column("note")

    person = named_person("person_id", "The guardian named or the relative entrusted, if in your scope.")


@strawberry.type(name="CaseAssessment", description="评估: safety, guardianship, health, risk level.")
class AssessmentView(IdentifiedRowView):
    participants = column("participants")
    safety = column("safety")
    guardianship = column("guardianship")
    physical_health = column("physical_health")
    mental_health = column("mental_health")
    risk_level = column("risk_level")
    assessed_on = column("assessed_on")


@strawberry.type(name="CaseService", description="A service of the 帮扶 plan and its provider.")
class ServiceView(IdentifiedRowView):
    kind = column("kind")
    provider = column("provider")
    provider_agency_id = column("provider_agency_id")
    status = column("status")
    opened_at = column("opened_at")
    closed_at = column("closed_at")
    outcome = column("outcome")


@strawberry.type(name="CaseFollowUp", description="A follow-up on the plan.")
class FollowUpView(RowView):
    service_id = column("service_id")
    agency_id = column("agency_id")
    at = column("at")
    note = column("note")
    next_due_on = column("next_due_on")


@strawberry.type(
    name="CaseIntervention", description="监护干预, including a court petition and its decision."
)
class InterventionView(IdentifiedRowView):
    kind = column("kind")
    grounds = column("grounds")
    status = column("status")
    agency_id = column("agency_id")
    petitioner_agency_id = column("petitioner_agency_id")
    occurred_on = column("occurred_on")
    decision = column("decision")
    decided_on = column("decided_on")
    temporary_guardian = column("temporary_guardian")
    note = column("note")

    guardian = named_person("guardian_id", "The guardian the intervention is directed at, if in your scope.")
    new_guardian = named_person("new_guardian_id", "The guardian the court named, if in your scope.")


@strawberry.type(description="A child's protection case: report to closure, with every step and record.")
class ProtectionCaseFile(IdentifiedRowView):
    _f: strawberry.Private[CaseFile]

    @staticmethod
    def of(f: CaseFile) -> "ProtectionCaseFile":
        return ProtectionCaseFile(_f=f, _row=f.case, _rid=f"protectioncase:{f.case.id}")

    @strawberry.field
    def child_id(self) -> strawberry.ID:
        return strawberry.ID(self._row.child_id)

    child = named_person("child_id", "The child, if in your row scope.")

    situation = column("situation")
    status = column("status")
    agency_id = column("agency_id")
    police_agency_id = column("police_agency_id")
    township_agency_id = column("township_agency_id")
    risk_level = column("risk_level")
    division = column("division")
    opened_at = column("opened_at")
    closed_at = column("closed_at")
    closure_reason = column("closure_reason")

    @strawberry.field
    def reports(self) -> list[MandatoryReport]:
        return [MandatoryReport.of(r) for r in self._f.reports]

    @strawberry.field
    def steps(self) -> list[CaseStep]:
        return views(CaseStep, self._f.steps, self._rid)

    @strawberry.field
    def history(self) -> list[CaseHistoryEntry]:
        return views(CaseHistoryEntry, self._f.history, self._rid)

    @strawberry.field
    def emergency_actions(self) -> list[EmergencyAction]:
        return views(EmergencyAction, self._f.actions, self._rid)

    @strawberry.field(description="应急处置 measures still needed before the township can be notified.")
    def missing_emergency_actions(self) -> list[str]:
        return emg.missing_before_notify(self._row.situation, {a.action for a in self._f.actions})

    @strawberry.field(description="Measures the situation allows (for the console's action menu).")
    def allowed_emergency_actions(self) -> list[str]:
        return sorted(emg.RULES[self._row.situation].allowed)

    @strawberry.field(
        description="Agency ids the assessment is opened with (the police of the case and civil affairs "
        "of the child's area), for openAssessment's participants."
    )
    def assessment_participants(self, info: Info[Context, None]) -> list[str]:
        if info.context.sql is None:
            raise sql_unavailable()
        return asm.participants(info.context.sql, self._row)

    @strawberry.field
    def assessments(self) -> list[AssessmentView]:
        return views(AssessmentView, self._f.assessments, "assessment")

    @strawberry.field
    def services(self) -> list[ServiceView]:
        return views(ServiceView, self._f.services, "service")

    @strawberry.field
    def follow_ups(self) -> list[FollowUpView]:
        return views(FollowUpView, self._f.follow_ups, self._rid)

    @strawberry.field
    def interventions(self) -> list[InterventionView]:
        return views(InterventionView, self._f.interventions, "intervention")


def case_view(info: Info[Context, None], case_id: str) -> ProtectionCaseFile:
    """The case file as the caller may read it (NOT_FOUND, as for an absent case, otherwise): what
    every step's mutation answers with."""
    if info.context.sql is None:
        raise sql_unavailable()
    return ProtectionCaseFile.of(wf.readable(info, case_file(info.context.sql, case_id)))


@strawberry.type
class CaseQuery:
    @strawberry.field(
        description="One protection case, if you take part in it or the child is in your scope."
    )
    def protection_case(self, info: Info[Context, None], id: strawberry.ID) -> ProtectionCaseFile:
        return case_view(info, str(id))

    @strawberry.field(
        description="Cases your agency handles or took part in (or one child's, in your scope)."
    )
    def protection_cases(
        self, info: Info[Context, None], child_id: strawberry.ID | None = None, open_only: bool = True
    ) -> list[ProtectionCaseFile]:
        actor = wf.actor(info)
        if info.context.sql is None:
            raise sql_unavailable()
        if child_id is not None:
            scope.child(info.context.guard, str(child_id))
            rows = cases_of(info.context.sql, child_id=str(child_id), open_only=open_only)
        else:
            rows = cases_of(info.context.sql, agency_id=actor.agency_id, open_only=open_only)
        # Row scope and each case's `child` from one bounded read for the list, not one per case.
        info.context.guard.preload([r.child_id for r in rows if r.child_id])
        return [case_view(info, r.id) for r in rows]
