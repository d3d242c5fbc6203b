"""Auditors' GraphQL surface: who saw which child's record, when, why, and what was refused.

Only principals the policy gives `read_audit_log` may use these fields, except
`accessesToMyCase`, which lets the agency responsible for a child's open case see every
access to that child by other agencies (as the UK's CP-IS tells the owner of each lookup).
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from auth.audit import AuditEntry as AuditRow
from auth.audit import AuditLog, Page
from auth.audit.known import known_operation
from auth.audit.queries import AuditQueryRefused
from auth.enforce.context import Context
from auth.enforce.errors import domain_errors, forbidden
from auth.enforce.guard import PERSON_PREFIX
from auth.identities import division_contains, list_agencies
from graph.port import GraphStoreError


def _log(info: Info[Context, None]) -> AuditLog:
    ctx = info.context
    if ctx.audit is None or ctx.principal is None or ctx.guard.policy is None:
        raise forbidden()
    return ctx.audit


def _auditor_log(info: Info[Context, None]) -> AuditLog:
    log = _log(info)
    policy, principal = info.context.guard.policy, info.context.principal
    if policy is None or principal is None:
        raise forbidden()
    if not policy.can(principal, "read_audit_log"):
        raise forbidden()
    info.context.guard.trail.reasons.add("audit_review")
    return log


def _area(info: Info[Context, None], log: AuditLog) -> frozenset[str]:
    """The agencies whose entries this auditor reviews: those serving a division within its own
    jurisdiction. A county's auditor (or director) reads its county's log, not the platform's: which
    child another county's police looked up is that county's to review."""
    principal = info.context.principal
    if principal is None:
        raise forbidden()
    return frozenset(
        a.id for a in list_agencies(log.engine) if division_contains(principal.jurisdiction, a.jurisdiction)
    )


def _record_area(info: Info[Context, None], record_id: str, area: frozenset[str]) -> frozenset[str] | None:
    """Whose accesses to one record the auditor reads: a child in its row scope, every agency's
    (who looked at a child of the area, from wherever); any other record, its area's agencies'. An
    absent record and one out of the area are answered alike (the area's entries: none). While the
    graph cannot say whether the child is in scope, the area's entries only: the log still answers."""
    if record_id.startswith(PERSON_PREFIX):
        try:
            if info.context.guard.visible_people([record_id]):
                return None
        except (ValueError, GraphStoreError):  # no person's id shape, or the graph not answering
            pass
    return area


@strawberry.type(description="One audited request: who, when, why, what was touched and decided.")
class AuditEntry:
    seq: int
    at: datetime
    client_id: str | None
    agency_id: str | None
    agency_type: str | None
    role: str | None
    purpose: str | None
    operation: str = strawberry.field(
        description="The operation's kind and the name its client chose (`query ProfileFacts`): any "
        "client may choose any name, so this says nothing of what the request did."
    )
    known_operation: str | None = strawberry.field(
        description="What the request is known to be: the console's own operation when its document is "
        "one of the console's (by its query hash), or the server's own entry (`token.issue`); null for "
        "any other request, whatever it named itself. The console says an entry in words by this."
    )
    decision: str
    reasons: list[str]
    records: list[str]
    allowed_fields: list[str]
    masked_fields: list[str]
    denied_fields: list[str]
    break_glass: bool
    break_glass_justification: str | None
    result_size: int
    status: int

    @staticmethod
    def of(row: AuditRow, *, justification: bool, records: list[str] | None = None) -> AuditEntry:
        """`records`: what the reader is shown of the records the entry names (None: all of them)."""
        fields = row.fields or {}
        return AuditEntry(
            seq=row.seq,
            at=row.at,
            client_id=row.client_id,
            agency_id=row.agency_id,
            agency_type=row.agency_type,
            role=row.role,
            purpose=row.purpose,
            operation=row.operation,
            known_operation=known_operation(row.operation, row.query_hash),
            decision=row.decision,
            reasons=list(row.reasons or []),
            records=list(row.records or []) if records is None else records,
            allowed_fields=list(fields.get("allow", [])),
            masked_fields=list(fields.get("mask", [])),
            denied_fields=list(fields.get("deny", [])),
            break_glass=row.break_glass,
            break_glass_justification=row.break_glass_justification if justification else None,
            result_size=row.result_size,
            status=row.status,
        )


@strawberry.type
class AuditPage:
    entries: list[AuditEntry]
    next_after_seq: int | None


@strawberry.type(
    description="A client that touched more records in a window than its history makes plausible."
)
class VolumeAlert:
    client_id: str
    agency_ids: list[str]
    count: int
    baseline_median: float | None
    threshold: float
    window_start: datetime
    window_end: datetime


@strawberry.type
class ChainStatus:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


def _page(
    page: Page[AuditRow],
    *,
    justification: bool = False,
    only: str | None = None,
    whole: frozenset[str] = frozenset(),
) -> AuditPage:
    """The page's entries. With `only` (the record asked about), an entry of an agency not in `whole`
    names that record alone: another agency's request may have read other people with it (a page
    of a village, a network), who are not the reader's to learn of through this record."""

    def records(r: AuditRow) -> list[str] | None:
        if only is None or r.agency_id in whole:
            return None
        return [x for x in (r.records or []) if x == only]

    return AuditPage(
        entries=[AuditEntry.of(r, justification=justification, records=records(r)) for r in page.items],
        next_after_seq=page.next_after_seq,
    )


def _limit(first: int) -> int:
    return max(1, min(first, 500))


@strawberry.type
class AuditQuery:
    @strawberry.federation.field(
        authenticated=True, description="Every access to one record (e.g. person:…)."
    )
    def audit_accesses_to_record(
        self,
        info: Info[Context, None],
        record_id: strawberry.ID,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int = 100,
        after_seq: int | None = None,
    ) -> AuditPage:
        log = _auditor_log(info)
        area = _area(info, log)
        with domain_errors(AuditQueryRefused):
            return _page(
                log.accesses_to_record(
                    str(record_id),
                    since=since,
                    until=until,
                    limit=_limit(first),
                    after_seq=after_seq,
                    agencies=_record_area(info, str(record_id), area),
                ),
                only=str(record_id),
                whole=area,
            )

    @strawberry.federation.field(
        authenticated=True, description="What one agency accessed between two dates."
    )
    def audit_accesses_by_agency(
        self,
        info: Info[Context, None],
        agency_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int = 100,
        after_seq: int | None = None,
    ) -> AuditPage:
        log = _auditor_log(info)
        with domain_errors(AuditQueryRefused):
            return _page(
                log.accesses_by_agency(
                    agency_id,
                    since=since,
                    until=until,
                    limit=_limit(first),
                    after_seq=after_seq,
                    agencies=_area(info, log),
                )
            )

    @strawberry.federation.field(authenticated=True, description="Requests refused in whole or in part.")
    def audit_denied_attempts(
        self,
        info: Info[Context, None],
        since: datetime | None = None,
        until: datetime | None = None,
        first: int = 100,
        after_seq: int | None = None,
    ) -> AuditPage:
        log = _auditor_log(info)
        with domain_errors(AuditQueryRefused):
            return _page(
                log.denied_attempts(
                    since=since,
                    until=until,
                    limit=_limit(first),
                    after_seq=after_seq,
                    agencies=_area(info, log),
                )
            )

    @strawberry.federation.field(
        authenticated=True, description="Break-glass uses, with the justification given."
    )
    def audit_break_glass_uses(
        self,
        info: Info[Context, None],
        since: datetime | None = None,
        until: datetime | None = None,
        reviewed: bool | None = None,
        first: int = 100,
        after_seq: int | None = None,
    ) -> AuditPage:
        log = _auditor_log(info)
        with domain_errors(AuditQueryRefused):
            page = log.break_glass_uses(
                since=since,
                until=until,
                reviewed=reviewed,
                limit=_limit(first),
                after_seq=after_seq,
                agencies=_area(info, log),
            )
        return AuditPage(
            entries=[AuditEntry.of(u.entry, justification=True) for u in page.items],
            next_after_seq=page.next_after_seq,
        )

    @strawberry.federation.field(authenticated=True, description="Clients reading far more than usual.")
    def audit_unusual_volume(
        self, info: Info[Context, None], window_minutes: int = 60, factor: float = 5.0, min_count: int = 50
    ) -> list[VolumeAlert]:
        from datetime import timedelta

        log = _auditor_log(info)
        with domain_errors(AuditQueryRefused):
            alerts = log.unusual_volume(
                window=timedelta(minutes=max(1, min(window_minutes, 24 * 60))),
                factor=factor,
                min_count=min_count,
                agencies=_area(info, log),
            )
        return [
            VolumeAlert(
                client_id=a.client_id,
                agency_ids=list(a.agency_ids),
                count=a.count,
                baseline_median=a.baseline_median,
                threshold=a.threshold,
                window_start=a.window_start,
                window_end=a.window_end,
            )
            for a in alerts
        ]

    @strawberry.federation.field(authenticated=True, description="Verify the hash chain of the audit log.")
    def audit_chain_status(self, info: Info[Context, None]) -> ChainStatus:
        result = _auditor_log(info).verify()
        return ChainStatus(
            ok=result.ok,
            checked=result.checked,
            first_broken_seq=result.first_broken_seq,
            reason=result.reason,
        )

    @strawberry.federation.field(
        authenticated=True, description="Accesses by other agencies to a child whose open case is yours."
    )
    def accesses_to_my_case(
        self,
        info: Info[Context, None],
        person_id: strawberry.ID,
        first: int = 100,
        after_seq: int | None = None,
    ) -> AuditPage:
        log = _log(info)
        principal = info.context.principal
        if principal is None:
            raise forbidden()
        if not str(person_id).startswith(PERSON_PREFIX):
            # No person's id (a name, another kind of record): no case of the caller's is about it,
            # said as for any child whose case is not the caller's, not as the graph's ValueError.
            raise forbidden()
        info.context.guard.profile(str(person_id))  # one read: the person and the cases about them
        owners = info.context.guard.case_owners(str(person_id))
        if principal.agency_id not in owners:
            raise forbidden()
        with domain_errors(AuditQueryRefused):
            return _page(
                log.accesses_to_record(
                    str(person_id),
                    exclude_agency=principal.agency_id,
                    limit=_limit(first),
                    after_seq=after_seq,
                ),
                only=str(person_id),
            )
