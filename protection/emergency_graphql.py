"""应急处置 over GraphQL: the police record the measures the situation requires, then notify the
township (通报), which must open the assessment.

The steps are the rows `CASE["emergency_action"]` and `CASE["notify_township"]` of
protection/transitions.py, done by protection/emergency.py; the capability each mutation demands is
its row's.
"""

from datetime import date

import strawberry
from strawberry.types import Info

from auth.enforce.context import Context
from protection import emergency as emg
from protection import transitions as tr
from protection import workflow_graphql as wf
from protection.case_views_graphql import ProtectionCaseFile, case_view


@strawberry.input
class EmergencyActionInput:
    case_id: strawberry.ID
    action: str = strawberry.field(description="One of: " + ", ".join(emg.ACTIONS))
    occurred_on: date | None = None
    person_id: strawberry.ID | None = None
    placement_kind: str | None = None
    place: str | None = None
    since: date | None = None
    severity: str | None = None
    note: str | None = None


@strawberry.type
class EmergencyMutation:
    @strawberry.mutation(description="Record one 应急处置 measure on the case.")
    def record_emergency_action(
        self, info: Info[Context, None], input: EmergencyActionInput
    ) -> ProtectionCaseFile:
        row = wf.step(
            info,
            tr.CASE,
            "emergency_action",
            wf.naming(
                info,
                lambda w: emg.record_action(
                    w,
                    str(input.case_id),
                    input.action,
                    occurred_on=input.occurred_on,
                    person_id=str(input.person_id) if input.person_id else None,
                    placement_kind=input.placement_kind,
                    place=input.place,
                    since=input.since,
                    severity=input.severity,
                    note=input.note,
                ),
                str(input.person_id) if input.person_id else None,
            ),
        )
        return case_view(info, row.case_id)

    @strawberry.mutation(description="通报: the police notify the township, which must open the assessment.")
    def notify_township(
        self, info: Info[Context, None], case_id: strawberry.ID, note: str | None = None
    ) -> ProtectionCaseFile:
        wf.step(info, tr.CASE, "notify_township", lambda w: emg.notify_township(w, str(case_id), note))
        return case_view(info, str(case_id))
