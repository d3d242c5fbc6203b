"""应急处置: the police's measures per situation, as a state machine, then the township's notification.

Chongqing §3.2 and Zhangye §3 list the measures by situation: a child living alone → order the parents
back or have them name an entrusted guardian, and admonish (训诫) them; a guardian without capacity or
failing the duty → contact the parents or entrust a relative; parents unreachable in either case →
escort the child to relatives, the village committee, or a rescue or welfare institution for temporary
care; missing → the rapid child-search mechanism; domestic violence → stop it and, with civil affairs,
place the child in a shelter; injury or harm → stop it, protect, collect evidence, medical care and
injury assessment. Then the police notify (通报) the township, which opens the assessment.

The rules are data (``RULES``): which measures a situation allows, which must come first, and which
combinations must be on record before the township can be notified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from kernel import clock
from kernel.messages import language, say
from protection import transitions as tr
from protection.case_tables import EmergencyActionRow, ProtectionCaseRow, new_id
from protection.cases import Work, WorkflowError
from protection.webhooks import enqueue

ACTIONS: dict[str, str] = {
    "order_parents_back": "责令父母立即返回",
    "entrusted_guardian_named": "确定受委托监护人",
    "admonish_parents": "对父母进行训诫",
    "contact_parents": "联系父母立即返回",
    "entrust_relative": "委托其他亲属监护照料",
    "parents_unreachable": "联系不上父母",
    "temporary_care_placement": "护送至近亲属、村(居)委会或救助管理、福利机构临时监护照料",
    "missing_search_started": "启动儿童失踪快速查找机制",
    "child_found": "儿童已找到",
    "harm_stopped": "依法制止侵害、实施保护",
    "shelter_placement": "安置到临时庇护场所、救助管理机构或福利机构",
    "evidence_collected": "调查取证",
    "medical_care": "协助就医",
    "injury_assessment": "鉴定伤情",
}
PLACEMENT_KINDS: tuple[str, ...] = (
    "relatives",
    "village_committee",
    "rescue_institution",
    "welfare_institution",
)
SHELTER_KINDS: tuple[str, ...] = ("temporary_shelter", "rescue_institution", "welfare_institution")
INJURY_SEVERITIES: tuple[str, ...] = ("none", "minor", "light", "serious")  # 轻微伤, 轻伤, 重伤
# Measures civil affairs may record itself (it receives the child); the rest are the police's.
CIVIL_AFFAIRS_ACTIONS: frozenset[str] = frozenset({"shelter_placement", "temporary_care_placement"})


@dataclass(frozen=True)
class SituationRule:
    allowed: frozenset[str]
    # Alternatives: any one set fully on record lets the township be notified.
    before_notify: tuple[frozenset[str], ...]
    requires: dict[str, frozenset[str]] = field(default_factory=dict)


_PARENTAL = frozenset({"parents_unreachable", "temporary_care_placement"})
_HARM = frozenset({"harm_stopped", "evidence_collected", "medical_care", "injury_assessment"})
RULES: dict[str, SituationRule] = {
    "living_alone": SituationRule(
        frozenset({"order_parents_back", "entrusted_guardian_named", "admonish_parents"}) | _PARENTAL,
        (
            frozenset({"order_parents_back", "admonish_parents"}),
            frozenset({"entrusted_guardian_named", "admonish_parents"}),
            _PARENTAL,
        ),
        {"temporary_care_placement": frozenset({"parents_unreachable"})},
    ),
    "guardian_incapable": SituationRule(
        frozenset({"contact_parents", "entrust_relative"}) | _PARENTAL,
        (frozenset({"contact_parents"}), frozenset({"entrust_relative"}), _PARENTAL),
        {"temporary_care_placement": frozenset({"parents_unreachable"})},
    ),
    "guardian_neglect": SituationRule(
        frozenset({"contact_parents", "entrust_relative", "admonish_parents"}) | _PARENTAL,
        (frozenset({"contact_parents"}), frozenset({"entrust_relative"}), _PARENTAL),
        {"temporary_care_placement": frozenset({"parents_unreachable"})},
    ),
    "missing": SituationRule(
        frozenset({"missing_search_started", "child_found"}),
        (frozenset({"missing_search_started", "child_found"}),),
        {"child_found": frozenset({"missing_search_started"})},
    ),
    "domestic_violence": SituationRule(
        _HARM | {"shelter_placement"},
        (frozenset({"harm_stopped", "evidence_collected"}),),
        {"injury_assessment": frozenset({"medical_care"})},
    ),
    "injury_or_harm": SituationRule(
        _HARM,
        (frozenset({"harm_stopped", "evidence_collected"}),),
        {"injury_assessment": frozenset({"medical_care"})},
    ),
}


def _action_name(action: str) -> str:
    """A measure as a refusal names it: its Chinese name, or its code in English (agency developers
    send the code; the console names it itself)."""
    return action if language() == "en" else ACTIONS.get(action, action)


def _action_names(actions: list[str]) -> str:
    return say("workflow.list_sep").join(_action_name(a) for a in actions)


def done_actions(w: Work, case_id: str) -> set[str]:
    from sqlmodel import select

    return {
        a.action for a in w.s.exec(select(EmergencyActionRow).where(EmergencyActionRow.case_id == case_id))
    }


def missing_before_notify(situation: str, done: set[str]) -> list[str]:
    """The measures still needed (the closest alternative) before the township can be notified."""
    options = RULES[situation].before_notify
    best = min(options, key=lambda o: (len(o - done), sorted(o)))
    return sorted(best - done)


def record_action(
    w: Work,
    case_id: str,
    action: str,
    *,
    occurred_on: date | None = None,
    person_id: str | None = None,
    placement_kind: str | None = None,
    place: str | None = None,
    since: date | None = None,
    severity: str | None = None,
    note: str | None = None,
) -> EmergencyActionRow:
    case = w.case(case_id)
    if action not in ACTIONS:
        raise WorkflowError(
            "BAD_REQUEST", say("workflow.unknown_value", field="action", allowed=", ".join(ACTIONS))
        )
    _may_act(w, case, action)
    w.require(case, "emergency_action")
    rule = RULES[case.situation]
    if action not in rule.allowed:
        raise WorkflowError(
            "INVALID_TRANSITION",
            say("workflow.measure_not_for_situation"),
            allowed=sorted(rule.allowed),
        )
    done = done_actions(w, case.id)
    before = rule.requires.get(action, frozenset()) - done
    if before:
        raise WorkflowError(
            "INVALID_TRANSITION",
            say("workflow.needs_first", action=_action_name(action), first=_action_names(sorted(before))),
            needs=sorted(before),
        )
    # `missing` (the extension) keeps its English hints, which clients may read; the message names
    # the same facts in the caller's language.
    missing: list[str] = []
    named: list[str] = []

    def need(key: str, hint: str, **values: str) -> None:
        missing.append(hint)
        named.append(say(f"workflow.fact.{key}", **values))

    if action in ("entrusted_guardian_named", "entrust_relative") and not person_id:
        need("guardian_named", "personId (the guardian named)")
    if action == "temporary_care_placement":
        if placement_kind not in PLACEMENT_KINDS:
            kinds = ", ".join(PLACEMENT_KINDS)
            need("placement_kind", f"placementKind ({kinds})", kinds=kinds)
        if not place:
            need("care_place", "place (where the child is cared for)")
        if since is None:
            need("since", "since (from when)")
    if action == "shelter_placement":
        if placement_kind not in SHELTER_KINDS:
            kinds = ", ".join(SHELTER_KINDS)
            need("placement_kind", f"placementKind ({kinds})", kinds=kinds)
        if not place:
            need("place", "place")
        if since is None:
            need("since_short", "since")
    if action == "medical_care" and not place:
        need("medical_place", "place (the medical institution)")
    if action == "injury_assessment" and severity not in INJURY_SEVERITIES:
        kinds = ", ".join(INJURY_SEVERITIES)
        need("severity", f"severity ({kinds})", kinds=kinds)
    if missing:
        raise WorkflowError(
            "MISSING_FACTS",
            say(
                "workflow.measure_needs",
                action=_action_name(action),
                missing=say("workflow.fact_sep").join(named),
            ),
            missing=missing,
        )
    row = EmergencyActionRow(
        id=new_id("act"),
        case_id=case.id,
        action=action,
        agency_id=w.actor.agency_id,
        occurred_on=occurred_on or clock.local(w.at).date(),
        recorded_at=w.at,
        person_id=person_id,
        placement_kind=placement_kind,
        place=place,
        since=since,
        severity=severity,
        note=note,
    )
    w.s.add(row)
    w.changed(case, f"emergency:{action}", action_id=row.id, occurred_on=row.occurred_on)
    return row


def _may_act(w: Work, case: ProtectionCaseRow, action: str) -> None:
    if w.actor.agency_id == case.police_agency_id:
        return
    if (
        action in CIVIL_AFFAIRS_ACTIONS
        and w.actor.agency_type == tr.AgencyType.CIVIL_AFFAIRS
        and w.actor.covers(case.division)
    ):
        return
    raise WorkflowError("FORBIDDEN", say("workflow.not_case_police"), "not_case_agency")


def notify_township(w: Work, case_id: str, note: str | None = None) -> ProtectionCaseRow:
    """通报: the township of the child's division takes the lead and must open the assessment."""
    case = w.case(case_id)
    if w.actor.agency_id != case.police_agency_id:
        raise WorkflowError("FORBIDDEN", say("workflow.notify_by_case_police"))
    w.require(case, "notify_township")
    missing = missing_before_notify(case.situation, done_actions(w, case.id))
    if missing:
        raise WorkflowError(
            "MISSING_FACTS",
            say("workflow.measures_missing", first=_action_names(missing)),
            missing=missing,
        )
    township = w.agency_for(tr.AgencyType.TOWNSHIP, case.division)
    if township is None:
        raise WorkflowError("NO_RECEIVING_AGENCY", say("workflow.no_township"))
    w.advance(case, "notify_township")
    case.township_agency_id, case.agency_id = township.id, township.id
    w.close_steps(case.id, "notify_township")
    w.open_step(case, "assess", township.id, timedelta(days=w.settings.assessment_days))
    w.changed(case, "township_notified", township=township.id, note=note)
    enqueue(
        w.s,
        "case.township_notified",
        [township.id],
        {"case_id": case.id, "situation": case.situation, "division": case.division},
    )
    return case
