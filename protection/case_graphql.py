"""The protection workflows over GraphQL: 强制报告, 应急处置, 评估帮扶, 监护干预, agreements,
accountability, webhooks.

Resolvers are thin: they name the caller (``Actor``), check the capability, find the child in the
caller's scope, run one domain function inside one transaction (``protection.cases.work``), put the
change on the audit entry, and project the result into the graph after the commit. Every personal or
case field they return is read through the guard under the policy class of the graph property it
corresponds to (a report's summary is ``Report.summary``, an intervention's grounds
``Intervention.grounds`` …), so the field policy applies to workflow records exactly as to the graph.
"""

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from auth.enforce import lookups, scope
from auth.enforce.context import Context
from auth.enforce.errors import (
    bad_request,
    domain_errors,
    forbidden,
    from_exception,
    not_found,
    sql_unavailable,
    store_unavailable,
)
from auth.enforce.records import Person
from graph.port import GraphStoreError, GraphUnavailable
from graph.profile import Profile
from kernel import clock
from kernel.db import session
from protection import agreements as agr
from protection import assessment as asm
from protection import emergency as emg
from protection import intervention as itv
from protection import reports as rep
from protection import transitions as tr
from protection import webhooks as wh
from protection.accountability import missed_reports, overdue_steps
from protection.cases import Actor, CaseFile, Work, WorkflowError, case_file, cases_of
from protection.projection import carry_out

T = TypeVar("T")


# ---- plumbing --------------------------------------------------------------------------------


def _actor(info: Info[Context, None], capability: str | None = None) -> Actor:
    ctx = info.context
    if capability:
        ctx.guard.authorize(capability)
    if ctx.principal is None or ctx.sql is None or ctx.settings is None:
        raise forbidden("no_principal")
    return Actor.of(ctx.principal)


def _step(
    info: Info[Context, None], machine: Mapping[str, tr.Transition], action: str, fn: Callable[[Work], T]
) -> T:
    """The workflow step `action` of `machine`: the caller must hold the capability its row in the
    transition table (protection/transitions.py) names, so a step's rule is written in one place; the
    step function checks the same row's source statuses, acting agency and facts."""
    return _run(info, machine[action].capability, fn)


def _run(info: Info[Context, None], capability: str, fn: Callable[[Work], T]) -> T:
    """The change (protection.projection.carry_out), then what it wrote on the audit trail."""
    actor = _actor(info, capability)
    ctx = info.context
    if ctx.sql is None or ctx.settings is None:
        raise sql_unavailable()
    with domain_errors(WorkflowError):
        result, w = carry_out(ctx.sql, ctx.store, actor, ctx.settings, fn, _reads_case(info))
    for case_id in w.touched_cases:
        ctx.guard.wrote(f"protectioncase:{case_id}", "ProtectionCase.status")
    for agreement_id in w.touched_agreements:
        ctx.guard.wrote(f"agreement:{agreement_id}", "Agreement.kind", "Agreement.valid_to")
    return result


def _people(info: Info[Context, None], *ids: str | None) -> None:
    """Person ids a workflow record names must be people of the graph (else the projection could
    not link them). Existence only: a court names a guardian outside its row scope. So it is asked
    only by `_naming`, once the step's own checks have passed."""
    wanted = [i for i in ids if i]
    if not wanted:
        return
    try:
        found = info.context.store.get_nodes([i for i in wanted if i.startswith("person:")])
    except GraphUnavailable:  # the store closed or reopening: say so, never "not in the register"
        raise store_unavailable() from None
    except (GraphStoreError, ValueError):
        found = {}
    if any(i not in found for i in wanted):
        raise bad_request("a person named is not in the register")


def _naming(info: Info[Context, None], step: Callable[[Work], T], *ids: str | None) -> Callable[[Work], T]:
    """`step`, then the people it names checked (`_people`), in its transaction: a refusal keeps
    nothing. Asked first, whether an id is a person of the register was told to any agency holding
    the capability, the case absent or not its own (an oracle for person ids); asked after, only
    to an agency the step let act on a case it may read."""

    def run(w: Work) -> T:
        result = step(w)
        _people(info, *ids)
        return result

    return run


def _by_id_number(info: Info[Context, None], id_number: str, also_named: str | None) -> str:
    """The person with this resident ID number (existence only, like `_people`). A lookup by an
    identifying value: only for a caller who may see ID numbers in full, and counted against the
    lookup budget; the answer names no one (the person stays outside the caller's row scope)."""
    info.context.guard.authorize("decide_guardianship")
    if also_named:
        raise bad_request("name the new guardian by id or by ID number, not both")
    lookups.by_value(info.context.guard, "Person", "id_number")
    try:
        found = info.context.store.find("Person", "id_number", [id_number.strip().upper()], limit=2)
    except GraphUnavailable:  # closed or reopening: not "no one has this number"
        raise store_unavailable() from None
    except (GraphStoreError, ValueError):
        found = []
    if len(found) != 1:
        raise bad_request(
            "no one in the register has this ID number" if not found else "the ID number is not unique",
            "unknown_id_number" if not found else "ambiguous_id_number",
        )
    info.context.guard.trail.records.add(found[0].id)  # a lookup by identifying value is on the record
    return found[0].id


def _reads_case(info: Info[Context, None]) -> Callable[[CaseFile], bool]:
    """Whether the caller may read a case: participants read their cases; others only if the
    child is in their row scope."""
    actor = _actor(info)
    return lambda f: (
        actor.agency_id in f.participants or (scope.visible(info.context.guard, f.case.child_id) is not None)
    )


def _readable(info: Info[Context, None], f: CaseFile | None) -> CaseFile:
    if f is None or not _reads_case(info)(f):
        raise not_found("case")
    return f


def _file(info: Info[Context, None], case_id: str) -> "ProtectionCaseFile":
    if info.context.sql is None:
        raise sql_unavailable()
    return ProtectionCaseFile.of(_readable(info, case_file(info.context.sql, case_id)))


def _text(raw: Any) -> Any:
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    if isinstance(raw, list):
        return ",".join(str(x) for x in raw)
    return raw


def _col(attr: str, doc: str | None = None) -> Any:
    """A column of the workflow row as text. Its class is declared in the policy file
    (`fields.<Type>.<field>`) and decided by the enforcement layer, like every field's."""

    def resolve(self: Any, info: Info[Context, None]) -> str | None:
        raw = _text(getattr(self._row, attr))
        guard = info.context.guard
        if guard.enforcing:
            guard.trail.records.add(self._rid)
        return None if raw is None else str(raw)

    return strawberry.field(resolver=resolve, description=doc)


def _person(attr: str, doc: str | None = None) -> Any:
    """A person the workflow row names (by the column `attr`), as the Person type, if in the
    caller's row scope (else null)."""

    def resolve(self: Any, info: Info[Context, None]) -> Person | None:
        return scope.person(info.context.guard, getattr(self._row, attr))

    return strawberry.field(resolver=resolve, description=doc)


# ---- output types ----------------------------------------------------------------------------


@strawberry.type
class _RowView:
    """A workflow row as a GraphQL object: `_row` the row, `_rid` the record id its reads are
    audited under. A base only (no field returns it): each view type is its own type in the
    schema, with these fields first."""

    _row: strawberry.Private[Any]
    _rid: strawberry.Private[str]


@strawberry.type
class _IdentifiedRowView(_RowView):
    """A workflow row with an id of its own: `id` is the type's first field."""

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self._row.id)


@strawberry.type(description="A 强制报告 (or a written dropout report) and where it was routed.")
class MandatoryReport(_IdentifiedRowView):
    @strawberry.field
    def case_id(self) -> strawberry.ID | None:
        return strawberry.ID(self._row.case_id) if self._row.case_id else None

    @strawberry.field
    def child_id(self) -> strawberry.ID:
        return strawberry.ID(self._row.child_id)

    channel = _col("channel")
    situation = _col("situation")
    status = _col("status")
    summary = _col("summary")
    reporter_agency_id = _col("reporter_agency_id")
    receiving_agency_id = _col("receiving_agency_id")
    filed_at = _col("filed_at")
    accept_due_at = _col("accept_due_at")
    acknowledged_at = _col("acknowledged_at")
    accepted_at = _col("accepted_at")
    division = _col("division")

    @staticmethod
    def of(row: Any) -> "MandatoryReport":
        return MandatoryReport(_row=row, _rid=f"report:{row.id}")


@strawberry.type(
    description="A duty on the case with its deadline (accept, notify, assess, plan, follow up …)."
)
class CaseStep(_IdentifiedRowView):
    @strawberry.field
    def case_id(self) -> strawberry.ID:
        return strawberry.ID(self._row.case_id)

    kind = _col("kind")
    agency_id = _col("agency_id")
    status = _col("status")
    due_at = _col("due_at")
    done_at = _col("done_at")

    @strawberry.field(description="Past its deadline and still open.")
    def overdue(self) -> bool:
        return bool(
            self._row.status == "open"
            and self._row.due_at is not None
            and self._row.due_at < datetime.now(self._row.due_at.tzinfo)
        )


@strawberry.type(description="Who (agency, client) did what to the case, and when.")
class CaseHistoryEntry(_RowView):
    at = _col("at")
    agency_id = _col("agency_id")
    client_id = _col("client_id")
    action = _col("action")

    @strawberry.field(description="The facts recorded (JSON); a case narrative (case_investigation).")
    def detail(self) -> str | None:
        import json

        return json.dumps(self._row.detail, ensure_ascii=False, sort_keys=True)


@strawberry.type(description="One 应急处置 measure.")
class EmergencyAction(_RowView):
    action = _col("action")
    agency_id = _col("agency_id")
    occurred_on = _col("occurred_on")
    placement_kind = _col("placement_kind")
    place = _col("place")
    since = _col("since")
    severity = _col("severity")
    note = _col("note")

    person = _person("person_id", "The guardian named or the relative entrusted, if in your scope.")


@strawberry.type(name="CaseAssessment", description="评估: safety, guardianship, health, risk level.")
class AssessmentView(_IdentifiedRowView):
    participants = _col("participants")
    safety = _col("safety")
    guardianship = _col("guardianship")
    physical_health = _col("physical_health")
    mental_health = _col("mental_health")
    risk_level = _col("risk_level")
    assessed_on = _col("assessed_on")


@strawberry.type(name="CaseService", description="A service of the 帮扶 plan and its provider.")
class ServiceView(_IdentifiedRowView):
    kind = _col("kind")
    provider = _col("provider")
    provider_agency_id = _col("provider_agency_id")
    status = _col("status")
    opened_at = _col("opened_at")
    closed_at = _col("closed_at")
    outcome = _col("outcome")


@strawberry.type(name="CaseFollowUp", description="A follow-up on the plan.")
class FollowUpView(_RowView):
    service_id = _col("service_id")
    agency_id = _col("agency_id")
    at = _col("at")
    note = _col("note")
    next_due_on = _col("next_due_on")


@strawberry.type(
    name="CaseIntervention", description="监护干预, including a court petition and its decision."
)
class InterventionView(_IdentifiedRowView):
    kind = _col("kind")
    grounds = _col("grounds")
    status = _col("status")
    agency_id = _col("agency_id")
    petitioner_agency_id = _col("petitioner_agency_id")
    occurred_on = _col("occurred_on")
    decision = _col("decision")
    decided_on = _col("decided_on")
    temporary_guardian = _col("temporary_guardian")
    note = _col("note")

    guardian = _person("guardian_id", "The guardian the intervention is directed at, if in your scope.")
    new_guardian = _person("new_guardian_id", "The guardian the court named, if in your scope.")


def _views(cls: Any, rows: list[Any], prefix: str) -> list[Any]:
    return [cls(_row=r, _rid=f"{prefix}:{getattr(r, 'id', '')}") for r in rows]


@strawberry.type(description="A child's protection case: report to closure, with every step and record.")
class ProtectionCaseFile(_IdentifiedRowView):
    _f: strawberry.Private[CaseFile]

    @staticmethod
    def of(f: CaseFile) -> "ProtectionCaseFile":
        return ProtectionCaseFile(_f=f, _row=f.case, _rid=f"protectioncase:{f.case.id}")

    @strawberry.field
    def child_id(self) -> strawberry.ID:
        return strawberry.ID(self._row.child_id)

    child = _person("child_id", "The child, if in your row scope.")

    situation = _col("situation")
    status = _col("status")
    agency_id = _col("agency_id")
    police_agency_id = _col("police_agency_id")
    township_agency_id = _col("township_agency_id")
    risk_level = _col("risk_level")
    division = _col("division")
    opened_at = _col("opened_at")
    closed_at = _col("closed_at")
    closure_reason = _col("closure_reason")

    @strawberry.field
    def reports(self) -> list[MandatoryReport]:
        return [MandatoryReport.of(r) for r in self._f.reports]

    @strawberry.field
    def steps(self) -> list[CaseStep]:
        return _views(CaseStep, self._f.steps, self._rid)

    @strawberry.field
    def history(self) -> list[CaseHistoryEntry]:
        return _views(CaseHistoryEntry, self._f.history, self._rid)

    @strawberry.field
    def emergency_actions(self) -> list[EmergencyAction]:
        return _views(EmergencyAction, self._f.actions, self._rid)

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
        return _views(AssessmentView, self._f.assessments, "assessment")

    @strawberry.field
    def services(self) -> list[ServiceView]:
        return _views(ServiceView, self._f.services, "service")

    @strawberry.field
    def follow_ups(self) -> list[FollowUpView]:
        return _views(FollowUpView, self._f.follow_ups, self._rid)

    @strawberry.field
    def interventions(self) -> list[InterventionView]:
        return _views(InterventionView, self._f.interventions, "intervention")


@strawberry.type(name="GuardianshipAgreement", description="监护责任书 or 委托监护协议.")
class AgreementView(_IdentifiedRowView):
    kind = _col("kind")
    signed_on = _col("signed_on")
    valid_from = _col("valid_from")
    valid_to = _col("valid_to")
    division = _col("division")

    guardian = _person("guardian_id")


@strawberry.type(description="A left-behind child not safely entrusted.")
class AgreementFlag:
    child_id: strawberry.ID
    reason: str
    guardian_id: strawberry.ID | None
    detail: str | None


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


@strawberry.type(description="An agency system's webhook endpoint.")
class WebhookSubscription:
    id: strawberry.ID
    url: str
    events: list[str]
    active: bool
    created_at: datetime


@strawberry.type(description="A new subscription; the signing secret is shown only here, once.")
class WebhookSubscriptionCreated:
    subscription: WebhookSubscription
    secret: str


@strawberry.type(description="One outbox entry (its id is the webhook-id header).")
class WebhookDelivery:
    id: strawberry.ID
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None


def _subscription(s: Any) -> WebhookSubscription:
    return WebhookSubscription(
        id=strawberry.ID(s.id), url=s.url, events=list(s.events), active=s.active, created_at=s.created_at
    )


# ---- inputs ----------------------------------------------------------------------------------


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


@strawberry.input
class AgreementInput:
    kind: str = strawberry.field(description="responsibility_letter | entrustment")
    child_id: strawberry.ID
    parent_ids: list[strawberry.ID]
    guardian_id: strawberry.ID | None = None
    signed_on: date
    valid_from: date
    valid_to: date


def _guardians(profile: Profile, child_id: str) -> set[str]:
    return {p.id for _, p in profile.incoming(child_id, "PARENT_OF", "Person")} | {
        g.id for _, g in profile.incoming(child_id, "GUARDIAN_OF", "Person")
    }


def _case_child(info: Info[Context, None], case_id: str) -> str:
    if info.context.sql is None:
        raise sql_unavailable()
    return _readable(info, case_file(info.context.sql, case_id)).case.child_id


# ---- roots -----------------------------------------------------------------------------------


@strawberry.type
class ProtectionQuery:
    @strawberry.field(
        description="One protection case, if you take part in it or the child is in your scope."
    )
    def protection_case(self, info: Info[Context, None], id: strawberry.ID) -> ProtectionCaseFile:
        return _file(info, str(id))

    @strawberry.field(
        description="Cases your agency handles or took part in (or one child's, in your scope)."
    )
    def protection_cases(
        self, info: Info[Context, None], child_id: strawberry.ID | None = None, open_only: bool = True
    ) -> list[ProtectionCaseFile]:
        actor = _actor(info)
        if info.context.sql is None:
            raise sql_unavailable()
        if child_id is not None:
            scope.child(info.context.guard, str(child_id))
            rows = cases_of(info.context.sql, child_id=str(child_id), open_only=open_only)
        else:
            rows = cases_of(info.context.sql, agency_id=actor.agency_id, open_only=open_only)
        # Row scope and each case's `child` from one bounded read for the list, not one per case.
        info.context.guard.preload([r.child_id for r in rows if r.child_id])
        return [_file(info, r.id) for r in rows]

    @strawberry.field(description="Reports routed to your agency (your inbox), newest first.")
    def reports_inbox(self, info: Info[Context, None], status: str | None = None) -> list[MandatoryReport]:
        from sqlmodel import col, select

        from protection.case_tables import MandatoryReport as Row

        actor = _actor(info)
        if info.context.sql is None:
            raise sql_unavailable()
        with session(info.context.sql) as s:
            q = select(Row).where(Row.receiving_agency_id == actor.agency_id)
            if status:
                q = q.where(Row.status == status)
            rows = list(s.exec(q.order_by(col(Row.filed_at).desc()).limit(200)))
        return [MandatoryReport.of(r) for r in rows]

    @strawberry.field(description="Your agency's open steps with their deadlines (the worklist).")
    def my_open_steps(self, info: Info[Context, None]) -> list[CaseStep]:
        from sqlmodel import col, select

        from protection.case_tables import CaseStep as Row

        actor = _actor(info)
        if info.context.sql is None:
            raise sql_unavailable()
        with session(info.context.sql) as s:
            q = select(Row).where(Row.agency_id == actor.agency_id, Row.status == "open")
            rows = list(s.exec(q.order_by(col(Row.due_at)).limit(500)))
        return _views(CaseStep, rows, "step")

    @strawberry.field(
        description="Overdue steps: your agency's own; with read_accountability, every agency's in your "
        "jurisdiction (optionally a division subtree of it)."
    )
    def overdue_steps(self, info: Info[Context, None], division: str | None = None) -> list[OverdueStep]:
        actor = _actor(info)
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
        _actor(info, "read_accountability")
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

    @strawberry.field(description="Left-behind children without a valid, capable entrusted guardian.")
    def agreement_flags(self, info: Info[Context, None], division: str | None = None) -> list[AgreementFlag]:
        _actor(info, "manage_agreements")
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
        return _views(AgreementView, agr.agreements_of(info.context.sql, str(child_id)), "agreement")

    @strawberry.field(description="Your agency's webhook subscriptions.")
    def webhook_subscriptions(self, info: Info[Context, None]) -> list[WebhookSubscription]:
        actor = _actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        return [_subscription(s) for s in wh.subscriptions(info.context.sql, actor.agency_id)]

    @strawberry.field(description="Your agency's webhook deliveries (outbox), newest first.")
    def webhook_deliveries(
        self, info: Info[Context, None], status: str | None = None
    ) -> list[WebhookDelivery]:
        actor = _actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        return [
            WebhookDelivery(
                id=strawberry.ID(d.id),
                event_type=d.event_type,
                status=d.status,
                attempts=d.attempts,
                created_at=d.created_at,
                delivered_at=d.delivered_at,
                last_error=d.last_error,
            )
            for d in wh.deliveries(info.context.sql, actor.agency_id, status)
        ]


@strawberry.type
class ProtectionMutation:
    @strawberry.mutation(
        description="File a 强制报告; it is routed to the police of the child's jurisdiction."
    )
    def file_mandatory_report(self, info: Info[Context, None], input: FileReportInput) -> MandatoryReport:
        _actor(info, tr.CASE["file_report"].capability)
        division = scope.child_division(info.context.guard, str(input.child_id))
        row = _step(
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
        _actor(info, tr.REPORT["file_dropout"].capability)
        division = scope.child_division(info.context.guard, str(child_id))
        row = _step(
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
        row = _step(
            info,
            tr.REPORT,
            "acknowledge",
            lambda w: rep.acknowledge_report(w, str(report_id)),
        )
        info.context.guard.wrote(f"report:{row.id}", "Report.acknowledged_at")
        return MandatoryReport.of(row)

    @strawberry.mutation(description="受理: the police accept the report; 应急处置 begins.")
    def accept_report(self, info: Info[Context, None], report_id: strawberry.ID) -> MandatoryReport:
        row = _step(info, tr.REPORT, "accept", lambda w: rep.accept_report(w, str(report_id)))
        info.context.guard.wrote(f"report:{row.id}", "Report.status")
        return MandatoryReport.of(row)

    @strawberry.mutation(description="Record one 应急处置 measure on the case.")
    def record_emergency_action(
        self, info: Info[Context, None], input: EmergencyActionInput
    ) -> ProtectionCaseFile:
        row = _step(
            info,
            tr.CASE,
            "emergency_action",
            _naming(
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
        return _file(info, row.case_id)

    @strawberry.mutation(description="通报: the police notify the township, which must open the assessment.")
    def notify_township(
        self, info: Info[Context, None], case_id: strawberry.ID, note: str | None = None
    ) -> ProtectionCaseFile:
        _step(info, tr.CASE, "notify_township", lambda w: emg.notify_township(w, str(case_id), note))
        return _file(info, str(case_id))

    @strawberry.mutation(description="The township opens the assessment with civil affairs and the police.")
    def open_assessment(
        self, info: Info[Context, None], case_id: strawberry.ID, participants: list[str]
    ) -> ProtectionCaseFile:
        _step(info, tr.CASE, "open_assessment", lambda w: asm.open_assessment(w, str(case_id), participants))
        return _file(info, str(case_id))

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
        _step(
            info,
            tr.CASE,
            "record_assessment",
            lambda w: asm.record_assessment(w, str(input.case_id), findings),
        )
        return _file(info, str(input.case_id))

    @strawberry.mutation(description="The 帮扶 plan: services with providers.")
    def arrange_services(
        self, info: Info[Context, None], case_id: strawberry.ID, services: list[ServiceInput]
    ) -> ProtectionCaseFile:
        planned = [asm.PlannedService(s.kind, s.provider, s.provider_agency_id, s.basis) for s in services]
        _step(info, tr.CASE, "arrange_services", lambda w: asm.arrange_services(w, str(case_id), planned))
        return _file(info, str(case_id))

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
        _step(
            info,
            tr.CASE,
            "follow_up",
            lambda w: asm.record_follow_up(
                w, str(case_id), str(service_id) if service_id else None, note, next_due_on
            ),
        )
        return _file(info, str(case_id))

    @strawberry.mutation(description="Complete a service with its outcome.")
    def complete_service(
        self, info: Info[Context, None], service_id: strawberry.ID, outcome: str
    ) -> ProtectionCaseFile:
        svc = _step(
            info, tr.CASE, "complete_service", lambda w: asm.complete_service(w, str(service_id), outcome)
        )
        return _file(info, svc.case_id)

    @strawberry.mutation(description="Close the case once its services are completed and followed up.")
    def close_case(
        self, info: Info[Context, None], case_id: strawberry.ID, reason: str
    ) -> ProtectionCaseFile:
        _step(info, tr.CASE, "close_case", lambda w: asm.close_case(w, str(case_id), reason))
        return _file(info, str(case_id))

    @strawberry.mutation(
        description="监护干预: admonition, penalty, criminal referral or temporary guardianship."
    )
    def record_intervention(self, info: Info[Context, None], input: InterventionInput) -> ProtectionCaseFile:
        tg = input.temporary_guardian
        _step(
            info,
            tr.CASE,
            "intervention",
            _naming(
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
        return _file(info, str(input.case_id))

    @strawberry.mutation(
        description="Petition the court to revoke guardianship; the grounds are checked against the record."
    )
    def petition_court(self, info: Info[Context, None], input: PetitionInput) -> ProtectionCaseFile:
        _actor(info, tr.CASE["petition_court"].capability)
        child_id = _case_child(info, str(input.case_id))
        profile, _ = scope.child(info.context.guard, child_id)
        guardians = _guardians(profile, child_id)
        _step(
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
        return _file(info, str(input.case_id))

    @strawberry.mutation(description="The court's decision on a petition; revoking names the new guardian.")
    def decide_guardianship(
        self, info: Info[Context, None], input: GuardianshipDecisionInput
    ) -> ProtectionCaseFile:
        new_guardian = str(input.new_guardian_id) if input.new_guardian_id else None
        number = input.new_guardian_id_number
        if number and new_guardian:
            raise bad_request("name the new guardian by id or by ID number, not both")
        # The lookups (by id, by ID number) run inside the decision, after the petition's checks.
        row = _step(
            info,
            tr.PETITION,
            "decide",
            _naming(
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
        return _file(info, row.case_id)

    @strawberry.mutation(description="Record a 监护责任书 or 委托监护协议 for a child in your scope.")
    def record_agreement(self, info: Info[Context, None], input: AgreementInput) -> AgreementView:
        _actor(info, "manage_agreements")
        division = scope.child_division(info.context.guard, str(input.child_id))
        row = _run(
            info,
            "manage_agreements",
            _naming(
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
        return AgreementView(_row=row, _rid=f"agreement:{row.id}")

    @strawberry.mutation(description="Subscribe your agency's system to workflow events (signed webhooks).")
    def subscribe_webhook(
        self, info: Info[Context, None], url: str, events: list[str] | None = None
    ) -> WebhookSubscriptionCreated:
        actor = _actor(info, "manage_webhooks")
        ctx = info.context
        if ctx.sql is None or ctx.settings is None:
            raise sql_unavailable()
        try:
            sub, secret = wh.subscribe(
                ctx.sql, ctx.settings, actor.agency_id, actor.client_id, url, events or []
            )
        except wh.WebhookError as exc:
            raise from_exception(exc) from None
        ctx.guard.wrote(f"webhook:{sub.id}", "WebhookSubscription.url")
        return WebhookSubscriptionCreated(subscription=_subscription(sub), secret=secret)

    @strawberry.mutation(description="Stop a subscription of your agency.")
    def unsubscribe_webhook(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        actor = _actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        if not wh.unsubscribe(info.context.sql, actor.agency_id, str(id)):
            raise not_found("subscription")
        info.context.guard.wrote(f"webhook:{id}", "WebhookSubscription.active")
        return True

    @strawberry.mutation(description="Queue your agency's failed deliveries again.")
    def retry_failed_webhooks(self, info: Info[Context, None]) -> int:
        actor = _actor(info, "manage_webhooks")
        if info.context.sql is None:
            raise sql_unavailable()
        return wh.retry_failed(info.context.sql, actor.agency_id)
