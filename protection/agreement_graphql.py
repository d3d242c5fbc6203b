"""Guardianship agreements over GraphQL: a 监护责任书 or 委托监护协议 recorded for a child, the
agreements of a child, and the left-behind children not safely entrusted.

Recording an agreement is no step of a state machine (an agreement has no status), so it names
its capability, ``manage_agreements``, itself; protection/agreements.py does it.
"""

from datetime import date

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import sql_unavailable
from kernel import clock
from protection import agreements as agr
from protection import workflow_graphql as wf
from protection.case_tables import GuardianshipAgreement
from protection.rows_graphql import IdentifiedRowView, column, named_person, views


@strawberry.type(name="GuardianshipAgreement", description="监护责任书 or 委托监护协议.")
class AgreementView(IdentifiedRowView):
    kind = column("kind")
    signed_on = column("signed_on")
    valid_from = column("valid_from")
    valid_to = column("valid_to")
    division = column("division")

    guardian = named_person("guardian_id")


@strawberry.type(description="A left-behind child not safely entrusted.")
class AgreementFlag:
    child_id: strawberry.ID
    reason: str
    guardian_id: strawberry.ID | None
    detail: str | None


@strawberry.input
class AgreementInput:
    kind: str = strawberry.field(description="responsibility_letter | entrustment")
    child_id: strawberry.ID
    parent_ids: list[strawberry.ID]
    guardian_id: strawberry.ID | None = None
    signed_on: date
    valid_from: date
    valid_to: date


@strawberry.type
class AgreementQuery:
    @strawberry.field(description="Left-behind children without a valid, capable entrusted guardian.")
    def agreement_flags(self, info: Info[Context, None], division: str | None = None) -> list[AgreementFlag]:
        wf.actor(info, "manage_agreements")
        ctx = info.context
        if ctx.sql is None:
            raise sql_unavailable()
        prefix = scope.division_within(ctx.guard, division)
        flags = agr.agreement_flags(ctx.store, ctx.sql, prefix, clock.today())
        guard = ctx.guard
        guard.preload([f.child_id for f in flags])  # row scope for the whole list in one read
        out = []
        for f in flags:
            if scope.visible(guard, f.child_id) is not None:
                out.append(
                    AgreementFlag(
                        child_id=strawberry.ID(f.child_id),
                        reason=f.reason,
                        guardian_id=strawberry.ID(f.guardian_id) if f.guardian_id else None,
                        detail=f.detail,
                    )
                )
        return out

    @strawberry.field(description="Agreements about a child in your scope.")
    def agreements(self, info: Info[Context, None], child_id: strawberry.ID) -> list[AgreementView]:
        scope.child(info.context.guard, str(child_id))
        if info.context.sql is None:
            raise sql_unavailable()
        return views(AgreementView, agr.agreements_of(info.context.sql, str(child_id)), "agreement")


@strawberry.type
class AgreementMutation:
    @strawberry.mutation(description="Record a 监护责任书 or 委托监护协议 for a child in your scope.")
    def record_agreement(self, info: Info[Context, None], input: AgreementInput) -> AgreementView:
        wf.actor(info, "manage_agreements")
        division = scope.child_division(info.context.guard, str(input.child_id))
        # The graph's writer first, as for a visit: a busy writer refuses the agreement before the
        # record keeps it (the caller is told to send it again). A projection that fails once it
        # is saved stays pending (`projected` false) for the worker's catch-up, and the caller is
        # told it was recorded, which it was.
        with info.context.store.writer():
            row = _record(info, input, division)
        return AgreementView(_row=row, _rid=f"agreement:{row.id}")


def _record(info: Info[Context, None], input: AgreementInput, division: str) -> GuardianshipAgreement:
    """The agreement recorded and projected (protection.projection.carry_out)."""
    return wf.run(
        info,
        "manage_agreements",
        wf.naming(
            info,
            lambda w: agr.record_agreement(
                w,
                kind=input.kind,
                child_id=str(input.child_id),
                division=division,
                parent_ids=[str(p) for p in input.parent_ids],
                guardian_id=str(input.guardian_id) if input.guardian_id else None,
                signed_on=input.signed_on,
                valid_from=input.valid_from,
                valid_to=input.valid_to,
            ),
            *(str(p) for p in input.parent_ids),
            str(input.guardian_id) if input.guardian_id else None,
        ),
    )
