"""监护干预 over GraphQL: an intervention on the guardian (or a temporary guardianship), a petition to
the court to revoke guardianship, and the court's decision naming the new guardian.

The steps are the rows `CASE["intervention"]`, `CASE["petition_court"]` and `PETITION["decide"]`
of protection/transitions.py, done by protection/intervention.py; the capability each mutation (and
the court's lookup by ID number, which runs inside the decision) demands is its row's.
"""

from datetime import date

import strawberry
from strawberry.types import Info

from auth.enforce import lookups, scope
from auth.enforce.context import Context
from auth.enforce.errors import bad_request, sql_unavailable, store_unavailable
from graph.port import GraphStoreError, GraphUnavailable
from graph.profile import Profile
from kernel.messages import say
from protection import intervention as itv
from protection import transitions as tr
from protection import workflow_graphql as wf
from protection.case_views_graphql import ProtectionCaseFile, case_view
from protection.cases import case_file


def _by_id_number(info: Info[Context, None], id_number: str, also_named: str | None) -> str:
    """The person with this resident ID number (existence only, like `workflow_graphql.people`). A
    lookup by an identifying value: only for a caller who may see ID numbers in full, and counted
    against the lookup budget; the answer names no one (the person stays outside the caller's row
    scope)."""
    info.context.guard.authorize(tr.PETITION["decide"].capability)  # the decision's, from its row
    if also_named:
        raise bad_request(say("api.guardian_by_id_or_number"))
    lookups.by_value(info.context.guard, "Person", "id_number")
    try:
        found = info.context.store.find("Person", "id_number", [id_number.strip().upper()], limit=2)
    except GraphUnavailable as exc:  # closed or reopening: not "no one has this number"
        raise store_unavailable(cause=exc) from None
    except (GraphStoreError, ValueError):
        found = []
    if len(found) != 1:
        raise bad_request(
            say("api.unknown_id_number") if not found else say("api.ambiguous_id_number"),
            "unknown_id_number" if not found else "ambiguous_id_number",
        )
    info.context.guard.trail.records.add(found[0].id)  # a lookup by identifying value is on the record
    return found[0].id


@strawberry.input
class InterventionInput:
    case_id: strawberry.ID
    kind: str = strawberry.field(description="One of: " + ", ".join(itv.KINDS))
    guardian_id: strawberry.ID | None = None
    temporary_guardian: str | None = None
    occurred_on: date | None = None
    note: str | None = None


@strawberry.input
class PetitionInput:
    case_id: strawberry.ID
    guardian_id: strawberry.ID
    grounds: list[str] = strawberry.field(description="Of: " + ", ".join(itv.GROUNDS))
    note: str | None = None


@strawberry.input
class GuardianshipDecisionInput:
    intervention_id: strawberry.ID
    decision: str = strawberry.field(description="revoked | dismissed")
    new_guardian_id: strawberry.ID | None = None
    new_guardian_id_number: str | None = strawberry.field(
        default=None,
        description="The new guardian by resident ID number (居民身份证号码), instead of newGuardianId: "
        "how a court identifies the person before it, who is outside its row scope.",
    )
    decided_on: date | None = None


def _guardians(profile: Profile, child_id: str) -> set[str]:
    return {p.id for _, p in profile.incoming(child_id, "PARENT_OF", "Person")} | {
        g.id for _, g in profile.incoming(child_id, "GUARDIAN_OF", "Person")
    }


def _case_child(info: Info[Context, None], case_id: str) -> str:
    if info.context.sql is None:
        raise sql_unavailable()
    return wf.readable(info, case_file(info.context.sql, case_id)).case.child_id


@strawberry.type
class InterventionMutation:
    @strawberry.mutation(
        description="监护干预: admonition, penalty, criminal referral or temporary guardianship."
    )
    def record_intervention(self, info: Info[Context, None], input: InterventionInput) -> ProtectionCaseFile:
        tg = input.temporary_guardian
        wf.step(
            info,
            tr.CASE,
            "intervention",
            wf.naming(
                info,
                lambda w: itv.record_intervention(
                    w,
                    str(input.case_id),
                    input.kind,
                    guardian_id=str(input.guardian_id) if input.guardian_id else None,
                    occurred_on=input.occurred_on,
                    temporary_guardian=input.temporary_guardian,
                    note=input.note,
                ),
                str(input.guardian_id) if input.guardian_id else None,
                tg if tg and tg.startswith("person:") else None,
            ),
        )
        return case_view(info, str(input.case_id))

    @strawberry.mutation(
        description="Petition the court to revoke guardianship; the grounds are checked against the record."
    )
    def petition_court(self, info: Info[Context, None], input: PetitionInput) -> ProtectionCaseFile:
        wf.may(info, tr.CASE, "petition_court")
        child_id = _case_child(info, str(input.case_id))
        profile, _ = scope.child(info.context.guard, child_id)
        guardians = _guardians(profile, child_id)
        wf.step(
            info,
            tr.CASE,
            "petition_court",
            lambda w: itv.petition_court(
                w,
                str(input.case_id),
                guardian_id=str(input.guardian_id),
                guardians_of_child=guardians,
                grounds=input.grounds,
                note=input.note,
            ),
        )
        return case_view(info, str(input.case_id))

    @strawberry.mutation(description="The court's decision on a petition; revoking names the new guardian.")
    def decide_guardianship(
        self, info: Info[Context, None], input: GuardianshipDecisionInput
    ) -> ProtectionCaseFile:
        new_guardian = str(input.new_guardian_id) if input.new_guardian_id else None
        number = input.new_guardian_id_number
        if number and new_guardian:
            raise bad_request(say("api.guardian_by_id_or_number"))
        # The lookups (by id, by ID number) run inside the decision, after the petition's checks.
        row = wf.step(
            info,
            tr.PETITION,
            "decide",
            wf.naming(
                info,
                lambda w: itv.decide_guardianship(
                    w,
                    str(input.intervention_id),
                    input.decision,
                    new_guardian,
                    input.decided_on,
                    (lambda: _by_id_number(info, number, None)) if number else None,
                ),
                new_guardian,
            ),
        )
        info.context.guard.wrote(f"intervention:{row.id}", "GUARDIAN_OF.kind", "GUARDIAN_OF.until")
        return case_view(info, row.case_id)
