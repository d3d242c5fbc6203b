"""强制报告: filing, routing to the police of the child's jurisdiction, acknowledgement, acceptance.

The seeds (Chongqing §3.1, Zhangye §2, Zhenjiang §2) oblige schools, kindergartens, medical institutions,
village committees, social-work organisations and rescue and welfare institutions to report to the
police 第一时间 — at once — when they find a child living alone or missing, a guardian without capacity
or failing the duty, suspected domestic violence, or suspected injury or unlawful harm. The police must
accept at once; ``report_accept_minutes`` is that deadline and overdue acceptances show in
accountability. A school's written dropout report (书面报告, Zhangye §3) goes to the township instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import select

from kernel.messages import say
from protection import transitions as tr
from protection.case_tables import MandatoryReport, ProtectionCaseRow, new_id
from protection.cases import CaseFile, Work, WorkflowError, load_file, not_found
from protection.webhooks import enqueue

SITUATIONS: dict[str, str] = {
    "living_alone": "脱离监护单独居住生活",
    "missing": "失踪",
    "guardian_incapable": "监护人丧失监护能力",
    "guardian_neglect": "监护人不履行监护责任",
    "domestic_violence": "疑似遭受家庭暴力",
    "injury_or_harm": "疑似遭受意外伤害或不法侵害",
}


def _event(r: MandatoryReport) -> dict[str, object]:
    return {
        "report_id": r.id,
        "case_id": r.case_id,
        "channel": r.channel,
        "situation": r.situation,
        "division": r.division,
        "status": r.status,
        "accept_due_at": r.accept_due_at.isoformat(),
    }


def file_report(
    w: Work,
    *,
    child_id: str,
    division: str,
    situation: str,
    summary: str,
    observed_on: date | None,
    on_behalf_of_citizen: bool = False,
    client_ref: str | None = None,
) -> MandatoryReport:
    """File a report; a second report of the same situation about a child with an open case joins it.

    ``client_ref`` is the reporter's own reference (a phone's id for an entry made offline): the
    same reference again returns the report already filed instead of filing it twice, since a
    device cannot know whether a request whose answer it lost was received.
    """
    if client_ref is not None:
        if not client_ref.strip() or len(client_ref) > 64:
            raise WorkflowError("BAD_REQUEST", say("workflow.client_ref_length"))
        earlier = w.s.exec(
            select(MandatoryReport).where(
                MandatoryReport.reporter_agency_id == w.actor.agency_id,
                MandatoryReport.client_ref == client_ref,
            )
        ).first()
        if earlier is not None:
            if (earlier.child_id, earlier.situation) != (child_id, situation):
                raise WorkflowError("CONFLICT", say("workflow.client_ref_reused"))
            return earlier
    if situation not in SITUATIONS:
        raise WorkflowError(
            "BAD_REQUEST", say("workflow.unknown_value", field="situation", allowed=", ".join(SITUATIONS))
        )
    if not summary.strip():
        raise WorkflowError("MISSING_FACTS", say("workflow.summary_missing"), "summary_missing")
    if not division:
        raise WorkflowError("MISSING_FACTS", say("workflow.no_division"))
    police = w.agency_for(tr.AgencyType.PUBLIC_SECURITY, division)
    if police is None:
        raise WorkflowError("NO_RECEIVING_AGENCY", say("workflow.no_police"))
    case = w.s.exec(
        select(ProtectionCaseRow).where(
            ProtectionCaseRow.child_id == child_id,
            ProtectionCaseRow.situation == situation,
            ProtectionCaseRow.status != tr.CaseStatus.CLOSED,
        )
    ).first()
    if case is None:
        opened = tr.check(tr.CASE, "file_report", tr.NEW)
        case = ProtectionCaseRow(
            id=new_id("case"),
            child_id=child_id,
            division=division,
            situation=situation,
            status=opened.leads_to,
            agency_id=police.id,
            police_agency_id=police.id,
            opened_at=w.at,
        )
        w.s.add(case)
        w.s.flush()
    report = MandatoryReport(
        id=new_id("rpt"),
        case_id=case.id,
        channel="mandatory",
        child_id=child_id,
        division=division,
        situation=situation,
        summary=summary.strip(),
        reporter_agency_id=w.actor.agency_id,
        reporter_client_id=w.actor.client_id,
        client_ref=client_ref,
        on_behalf_of_citizen=on_behalf_of_citizen,
        receiving_agency_id=case.police_agency_id,
        status=tr.ReportStatus.FILED,
        observed_on=observed_on,
        filed_at=w.at,
        accept_due_at=w.at + timedelta(minutes=w.settings.report_accept_minutes),
    )
    w.s.add(report)
    w.open_step(case, "accept_report", report.receiving_agency_id, report.accept_due_at - w.at, report.id)
    w.changed(case, "report_filed", report_id=report.id, situation=situation, citizen=on_behalf_of_citizen)
    enqueue(w.s, "report.filed", [report.receiving_agency_id], _event(report))
    return report


def file_dropout_report(
    w: Work, *, child_id: str, division: str, summary: str, observed_on: date | None
) -> MandatoryReport:
    """A school's written report of a dropout it could not bring back (劝返无效), to the township."""
    if not summary.strip():
        raise WorkflowError("MISSING_FACTS", say("workflow.dropout_needs_attempts"))
    township = w.agency_for(tr.AgencyType.TOWNSHIP, division)
    if township is None:
        raise WorkflowError("NO_RECEIVING_AGENCY", say("workflow.no_township"))
    report = MandatoryReport(
        id=new_id("rpt"),
        channel="dropout",
        child_id=child_id,
        division=division,
        situation="dropout",
        summary=summary.strip(),
        reporter_agency_id=w.actor.agency_id,
        reporter_client_id=w.actor.client_id,
        receiving_agency_id=township.id,
        status=tr.REPORT["file_dropout"].leads_to,
        observed_on=observed_on,
        filed_at=w.at,
        accept_due_at=w.at + timedelta(days=w.settings.plan_days),
    )
    w.s.add(report)
    enqueue(w.s, "report.filed", [township.id], _event(report))
    return report


def _received(
    w: Work, report_id: str, reads_case: Callable[[CaseFile], bool] | None = None
) -> MandatoryReport:
    """The report, if the caller's agency is the one it was routed to. An agency that knows of the
    report (its reporter, or one that reads its case, where it is listed: `reads_case`, else the
    work's `reads`, the API's rule for reading a case; without either, a party to the case) is told
    that it is another agency's to act on; to any other it is answered as one that does not exist."""
    report = w.s.get(MandatoryReport, report_id)
    if report is None:
        raise not_found("report")
    if report.receiving_agency_id != w.actor.agency_id:
        case = load_file(w.s, report.case_id) if report.case_id else None
        reads = reads_case if reads_case is not None else w.reads
        knows = case is not None and (
            reads(case) if reads is not None else w.actor.agency_id in case.participants
        )
        if w.actor.agency_id != report.reporter_agency_id and not knows:
            raise not_found("report")
        raise WorkflowError("NOT_RECEIVING_AGENCY", say("workflow.not_receiving_agency"))
    return report


def _report_transition(report: MandatoryReport, action: str) -> tr.Transition:
    try:
        return tr.check(tr.REPORT, action, report.status, "report")
    except tr.TransitionRefused:
        raise WorkflowError(
            "INVALID_TRANSITION", say("workflow.report_already", status=tr.status_name(report.status))
        ) from None


def acknowledge_report(
    w: Work, report_id: str, reads_case: Callable[[CaseFile], bool] | None = None
) -> MandatoryReport:
    report = _received(w, report_id, reads_case)
    report.status, report.acknowledged_at = _report_transition(report, "acknowledge").leads_to, w.at
    w.s.add(report)
    if report.case_id:
        w.changed(w.case(report.case_id), "report_acknowledged", report_id=report.id)
    enqueue(w.s, "report.acknowledged", [report.reporter_agency_id], _event(report))
    return report


def accept_report(
    w: Work, report_id: str, reads_case: Callable[[CaseFile], bool] | None = None
) -> MandatoryReport:
    """Accept (受理): the police's 应急处置 starts, and with it the deadline to notify the township."""
    report = _received(w, report_id, reads_case)
    report.status, report.accepted_at = _report_transition(report, "accept").leads_to, w.at
    report.acknowledged_at = report.acknowledged_at or w.at
    w.s.add(report)
    if report.case_id:
        case = w.case(report.case_id)
        w.close_steps(case.id, "accept_report", ref_id=report.id)
        if tr.CASE["accept_report"].allows(case.status):  # a joining report leaves the case where it is
            w.advance(case, "accept_report")
            w.open_step(
                case,
                "notify_township",
                case.police_agency_id,
                timedelta(hours=w.settings.emergency_notify_hours),
            )
        w.changed(
            case,
            "report_accepted",
            report_id=report.id,
            late=report.accepted_at > report.accept_due_at,
        )
    enqueue(w.s, "report.accepted", [report.reporter_agency_id], _event(report))
    return report
