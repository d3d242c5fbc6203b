"""监护干预: admonition, public-security penalty, criminal referral, temporary guardianship, and the
petition to the court to revoke guardianship, with its statutory grounds checked against the record.

Chongqing §3.4, Zhangye §5, Zhenjiang §5: the police educate (批评教育) guardians who commit domestic
violence, abuse or abandonment, penalise them where needed and open a criminal case when it is an
offence. Near relatives, the village committee or county civil affairs petition the court to revoke
guardianship when the guardian (a) left a child under 16 unsupervised and in danger and did not change
after education, (b) refused the duty for six months or more leaving the child without support, or
(c) committed domestic violence, abuse or abandonment seriously harming the child; the court names a
new guardian, which the projection writes into the graph's GUARDIAN_OF relationships.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from sqlmodel import col, select

from kernel import clock
from kernel.messages import language, say
from protection import transitions as tr
from protection.case_tables import (
    CaseIntervention,
    EmergencyActionRow,
    MandatoryReport,
    ProtectionCaseRow,
    new_id,
)
from protection.cases import Work, WorkflowError, not_found
from protection.webhooks import enqueue

KINDS: dict[str, str] = {
    "admonition": "批评教育、训诫",
    "public_security_penalty": "治安管理处罚",
    "criminal_referral": "立案侦查",
    "temporary_guardianship": "临时监护",
}
POLICE_KINDS = frozenset({"admonition", "public_security_penalty", "criminal_referral"})
GROUNDS: dict[str, str] = {
    "unsupervised_in_danger_unchanged": "置于无人监管和照看状态导致面临危险且经教育不改",
    "duty_refused_six_months": "拒不履行监护职责六个月以上导致生活无着",
    "abuse_serious_harm": "实施家庭暴力、虐待或遗弃导致身心健康严重受损",
}
# What the record lacks for a ground, by code: the value is what `extensions.grounds` lists (the
# console keys its Chinese words on these texts, so they stay as they are); the message says each
# in the caller's language (catalogue: workflow.ground_fact.<code>).
GROUND_FACTS: dict[str, str] = {
    "unsupervised_report": "a report of the child unsupervised (living alone, neglect or missing)",
    "admonition": "an admonition (训诫/批评教育) of the guardian on record",
    "unchanged_after_admonition": "a later report showing no change after the admonition (经教育不改)",
    "demand": "a demand on the guardian to take up the duty (order back, contact, admonition)",
    "six_months": "six months since the first demand on the guardian",
    "no_guardian_named": "no guardian named since the demand (the duty was taken up)",
    "without_support": "the child without support: a temporary care placement or temporary guardianship",
    "harm_case": "a case of domestic violence, abuse or harm",
    "serious_injury": "an injury assessment finding serious harm (重伤)",
    "penalty": "a penalty or criminal referral against this guardian",
}
# 拒不履行监护职责6个月以上: six calendar months (以上 includes six), from the first demand.
DUTY_REFUSED_MONTHS = 6
_UNSUPERVISED = ("living_alone", "guardian_neglect", "missing")
_HARM = ("domestic_violence", "injury_or_harm")


def _months_after(day: date, months: int) -> date:
    """The same day `months` calendar months later, or that month's last day where it has none."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _kind_name(kind: str) -> str:
    """An intervention as a refusal names it: its Chinese name, or its code in English."""
    return kind if language() == "en" else KINDS.get(kind, kind)


def _lacking_words(unsupported: dict[str, list[str]]) -> str:
    """Each unsupported ground and what the record lacks for it, in the caller's language: a ground
    by its Chinese name (its code in English), as `_kind_name` names an intervention."""
    return say("workflow.clause_sep").join(
        say(
            "workflow.ground_lacks",
            ground=ground if language() == "en" else GROUNDS.get(ground, ground),
            facts=say("workflow.list_sep").join(say(f"workflow.ground_fact.{f}") for f in facts),
        )
        for ground, facts in unsupported.items()
    )


def _open_case(w: Work, case_id: str, action: str) -> ProtectionCaseRow:
    case = w.case(case_id)
    w.require(case, action)
    return case


def record_intervention(
    w: Work,
    case_id: str,
    kind: str,
    *,
    guardian_id: str | None,
    occurred_on: date | None,
    temporary_guardian: str | None = None,
    note: str | None = None,
) -> CaseIntervention:
    if kind not in KINDS:
        raise WorkflowError(
            "BAD_REQUEST", say("workflow.unknown_value", field="kind", allowed=", ".join(KINDS))
        )
    case = _open_case(w, case_id, "intervention")
    if kind in POLICE_KINDS and w.actor.agency_id != case.police_agency_id:
        raise WorkflowError(
            "FORBIDDEN", say("workflow.police_kind", kind=_kind_name(kind)), "not_case_agency"
        )
    if kind == "temporary_guardianship" and not (
        w.actor.agency_id in {case.township_agency_id, case.police_agency_id} or w.actor.covers(case.division)
    ):
        raise WorkflowError("FORBIDDEN", say("workflow.temporary_guardianship_local"))
    if kind in POLICE_KINDS and not guardian_id:
        raise WorkflowError("MISSING_FACTS", say("workflow.kind_needs_guardian", kind=_kind_name(kind)))
    if kind == "temporary_guardianship" and not temporary_guardian:
        raise WorkflowError("MISSING_FACTS", say("workflow.temporary_guardian_needed"))
    # A temporary guardian who is a person of the register becomes a GUARDIAN_OF in the graph.
    named = temporary_guardian if temporary_guardian and temporary_guardian.startswith("person:") else None
    row = CaseIntervention(
        id=new_id("itv"),
        case_id=case.id,
        kind=kind,
        agency_id=w.actor.agency_id,
        guardian_id=named if kind == "temporary_guardianship" else guardian_id,
        temporary_guardian=temporary_guardian,
        occurred_on=occurred_on or clock.local(w.at).date(),
        recorded_at=w.at,
        note=note,
    )
    w.s.add(row)
    w.changed(case, f"intervention:{kind}", intervention_id=row.id, occurred_on=row.occurred_on)
    return row


def _child_record(
    w: Work, child_id: str
) -> tuple[list[ProtectionCaseRow], list[EmergencyActionRow], list[CaseIntervention], list[MandatoryReport]]:
    cases = list(w.s.exec(select(ProtectionCaseRow).where(ProtectionCaseRow.child_id == child_id)))
    ids = [c.id for c in cases]
    actions = list(w.s.exec(select(EmergencyActionRow).where(col(EmergencyActionRow.case_id).in_(ids))))
    itvs = list(w.s.exec(select(CaseIntervention).where(col(CaseIntervention.case_id).in_(ids))))
    reports = list(
        w.s.exec(
            select(MandatoryReport).where(
                MandatoryReport.child_id == child_id, MandatoryReport.channel == "mandatory"
            )
        )
    )
    return cases, actions, itvs, reports


def check_grounds(
    w: Work, child_id: str, guardian_id: str, grounds: Sequence[str], today: date
) -> dict[str, list[str]]:
    """For each claimed ground, the facts the record lacks, as codes of `GROUND_FACTS` (an empty list:
    the ground is supported)."""
    cases, actions, itvs, reports = _child_record(w, child_id)
    situation = {c.id: c.situation for c in cases}
    educated = sorted(
        [a.occurred_on for a in actions if a.action == "admonish_parents"]
        + [i.occurred_on for i in itvs if i.kind == "admonition" and i.guardian_id == guardian_id]
    )
    out: dict[str, list[str]] = {}
    for ground in grounds:
        lacks: list[str] = []
        if ground == "unsupervised_in_danger_unchanged":
            if not any(r.situation in _UNSUPERVISED for r in reports):
                lacks.append("unsupervised_report")
            if not educated:
                lacks.append("admonition")
            elif not any(
                r.situation in _UNSUPERVISED and clock.local(r.filed_at).date() > educated[0] for r in reports
            ):
                lacks.append("unchanged_after_admonition")
        elif ground == "duty_refused_six_months":
            demands = sorted(
                [
                    a.occurred_on
                    for a in actions
                    if a.action in ("order_parents_back", "contact_parents", "admonish_parents")
                ]
                + [i.occurred_on for i in itvs if i.kind == "admonition" and i.guardian_id == guardian_id]
            )
            if not demands:
                lacks.append("demand")
            elif today < _months_after(demands[0], DUTY_REFUSED_MONTHS):
                lacks.append("six_months")
            elif any(
                a.action in ("entrusted_guardian_named", "entrust_relative") and a.occurred_on >= demands[0]
                for a in actions
            ):
                lacks.append("no_guardian_named")
            if not any(a.action == "temporary_care_placement" for a in actions) and not any(
                i.kind == "temporary_guardianship" for i in itvs
            ):
                lacks.append("without_support")
        elif ground == "abuse_serious_harm":
            harm_cases = {cid for cid, s in situation.items() if s in _HARM}
            if not harm_cases:
                lacks.append("harm_case")
            if not any(
                a.action == "injury_assessment" and a.severity == "serious" and a.case_id in harm_cases
                for a in actions
            ):
                lacks.append("serious_injury")
            if not any(
                i.kind in ("public_security_penalty", "criminal_referral") and i.guardian_id == guardian_id
                for i in itvs
            ):
                lacks.append("penalty")
        else:
            raise WorkflowError(
                "BAD_REQUEST", say("workflow.unknown_value", field="ground", allowed=", ".join(GROUNDS))
            )
        out[ground] = lacks
    return out


def petition_court(
    w: Work,
    case_id: str,
    *,
    guardian_id: str,
    guardians_of_child: set[str],
    grounds: Sequence[str],
    note: str | None = None,
) -> CaseIntervention:
    """申请撤销监护人资格: refused unless every ground claimed is supported by the record."""
    case = _open_case(w, case_id, "petition_court")
    if not (w.actor.covers(case.division) or w.actor.agency_id in {case.township_agency_id}):
        raise WorkflowError("FORBIDDEN", say("workflow.petition_local"))
    if not grounds:
        raise WorkflowError("MISSING_FACTS", say("workflow.petition_needs_ground"), missing=list(GROUNDS))
    if guardian_id not in guardians_of_child:
        raise WorkflowError("MISSING_FACTS", say("workflow.not_a_guardian"))
    lacking = check_grounds(w, case.child_id, guardian_id, grounds, clock.local(w.at).date())
    unsupported = {g: facts for g, facts in lacking.items() if facts}
    if unsupported:
        raise WorkflowError(
            "MISSING_GROUNDS",
            say("workflow.grounds_not_supported", details=_lacking_words(unsupported)),
            "grounds_not_supported",
            grounds={g: [GROUND_FACTS[f] for f in facts] for g, facts in unsupported.items()},
        )
    court = w.agency_for(tr.AgencyType.COURT, case.division)
    if court is None:
        raise WorkflowError("NO_RECEIVING_AGENCY", say("workflow.no_court"))
    pending = w.s.exec(
        select(CaseIntervention).where(
            CaseIntervention.case_id == case.id,
            CaseIntervention.kind == "court_petition",
            CaseIntervention.status == tr.PetitionStatus.PENDING,
        )
    ).first()
    if pending is not None:
        raise WorkflowError("CONFLICT", say("workflow.petition_exists"))
    row = CaseIntervention(
        id=new_id("itv"),
        case_id=case.id,
        kind="court_petition",
        agency_id=court.id,
        petitioner_agency_id=w.actor.agency_id,
        guardian_id=guardian_id,
        grounds=sorted(set(grounds)),
        status=tr.PetitionStatus.PENDING,
        occurred_on=clock.local(w.at).date(),
        recorded_at=w.at,
        note=note,
    )
    w.s.add(row)
    w.open_step(case, "court_decision", court.id, None, row.id)
    w.changed(case, "court_petition_filed", intervention_id=row.id, court=court.id, grounds=row.grounds)
    enqueue(
        w.s,
        "intervention.petition_filed",
        [court.id],
        {"case_id": case.id, "intervention_id": row.id, "grounds": row.grounds, "division": case.division},
    )
    return row


def decide_guardianship(
    w: Work,
    intervention_id: str,
    decision: str,
    new_guardian_id: str | None,
    decided_on: date | None,
    find_guardian: Callable[[], str] | None = None,
) -> CaseIntervention:
    """The court's decision: revoked (with the newly named guardian) or dismissed.

    `find_guardian` names the new guardian by a lookup (the court's by ID number): it runs only
    once the petition is known to be this court's to decide now and the decision revokes, so a
    made-up or decided petition is no way to ask the register whether a number is someone's."""
    row = w.s.get(CaseIntervention, intervention_id)
    if row is None or row.kind != "court_petition":
        raise not_found("petition")
    case = w.case(row.case_id, "petition")
    if row.agency_id != w.actor.agency_id:
        raise WorkflowError("FORBIDDEN", say("workflow.not_petitioned_court"), "not_petitioned_court")
    if not tr.PETITION["decide"].allows(row.status):
        raise WorkflowError("INVALID_TRANSITION", say("workflow.petition_decided"))
    if decision not in ("revoked", "dismissed"):
        raise WorkflowError("BAD_REQUEST", say("workflow.decision_value"))
    if decision == "revoked" and find_guardian is not None:
        new_guardian_id = find_guardian()
    if decision == "revoked" and not new_guardian_id:
        raise WorkflowError("MISSING_FACTS", say("workflow.revocation_needs_guardian"))
    if new_guardian_id is not None and new_guardian_id == row.guardian_id:
        raise WorkflowError("BAD_REQUEST", say("workflow.new_guardian_same"))
    row.status, row.decision = tr.PetitionStatus.DECIDED, decision
    row.decided_on = decided_on or clock.local(w.at).date()
    row.new_guardian_id = new_guardian_id if decision == "revoked" else None
    w.s.add(row)
    w.close_steps(case.id, "court_decision", ref_id=row.id)
    w.changed(case, f"court_decision:{decision}", intervention_id=row.id, decided_on=row.decided_on)
    enqueue(
        w.s,
        "intervention.decided",
        [row.petitioner_agency_id or "", case.township_agency_id or "", case.police_agency_id],
        {"case_id": case.id, "intervention_id": row.id, "decision": decision},
    )
    return row
