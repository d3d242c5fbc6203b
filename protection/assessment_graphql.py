"""评估帮扶 over GraphQL: the township opens and records the assessment, arranges the services of
the plan, follows them up, completes them and closes the case.

The steps are the rows `CASE["open_assessment"]` to `CASE["close_case"]` of
protection/transitions.py, done by protection/assessment.py; the capability each mutation demands is
its row's.
"""

from datetime import date

import strawberry
from strawberry.types import Info

from auth.enforce.context import Context
from protection import assessment as asm
from protection import transitions as tr
from protection import workflow_graphql as wf
from protection.case_views_graphql import ProtectionCaseFile, case_view


@strawberry.input
class AssessmentInput:
    case_id: strawberry.ID
    safety: str | None = None
    guardianship: str | None = None
    physical_health: str | None = None
    mental_health: str | None = None
    risk_level: str | None = None
    assessed_on: date | None = None


@strawberry.input
class ServiceInput:
    kind: str = strawberry.field(description="One of: " + ", ".join(asm.SERVICE_KINDS))
    provider: str
    provider_agency_id: str | None = None
    basis: str | None = None


@strawberry.type
class AssessmentMutation:
    @strawberry.mutation(description="The township opens the assessment with civil affairs and the police.")
    def open_assessment(
        self, info: Info[Context, None], case_id: strawberry.ID, participants: list[str]
    ) -> ProtectionCaseFile:
        wf.step(
            info, tr.CASE, "open_assessment", lambda w: asm.open_assessment(w, str(case_id), participants)
        )
        return case_view(info, str(case_id))

    @strawberry.mutation(description="Record the assessment's findings and risk level.")
    def record_assessment(self, info: Info[Context, None], input: AssessmentInput) -> ProtectionCaseFile:
        findings = asm.Findings(
            input.safety,
            input.guardianship,
            input.physical_health,
            input.mental_health,
            input.risk_level,
            input.assessed_on,
        )
        wf.step(
            info,
            tr.CASE,
            "record_assessment",
            lambda w: asm.record_assessment(w, str(input.case_id), findings),
        )
        return case_view(info, str(input.case_id))

    @strawberry.mutation(description="The 帮扶 plan: services with providers.")
    def arrange_services(
        self, info: Info[Context, None], case_id: strawberry.ID, services: list[ServiceInput]
    ) -> ProtectionCaseFile:
        planned = [asm.PlannedService(s.kind, s.provider, s.provider_agency_id, s.basis) for s in services]
        wf.step(info, tr.CASE, "arrange_services", lambda w: asm.arrange_services(w, str(case_id), planned))
        return case_view(info, str(case_id))

    @strawberry.mutation(
        description="A follow-up on the plan (optionally on one service), with the next due date."
    )
    def record_follow_up(
        self,
        info: Info[Context, None],
        case_id: strawberry.ID,
        note: str,
        service_id: strawberry.ID | None = None,
        next_due_on: date | None = None,
    ) -> ProtectionCaseFile:
        wf.step(
            info,
            tr.CASE,
            "follow_up",
            lambda w: asm.record_follow_up(
                w, str(case_id), str(service_id) if service_id else None, note, next_due_on
            ),
        )
        return case_view(info, str(case_id))

    @strawberry.mutation(description="Complete a service with its outcome.")
    def complete_service(
        self, info: Info[Context, None], service_id: strawberry.ID, outcome: str
    ) -> ProtectionCaseFile:
        svc = wf.step(
            info, tr.CASE, "complete_service", lambda w: asm.complete_service(w, str(service_id), outcome)
        )
        return case_view(info, svc.case_id)

    @strawberry.mutation(description="Close the case once its services are completed and followed up.")
    def close_case(
        self, info: Info[Context, None], case_id: strawberry.ID, reason: str
    ) -> ProtectionCaseFile:
        wf.step(info, tr.CASE, "close_case", lambda w: asm.close_case(w, str(case_id), reason))
        return case_view(info, str(case_id))
