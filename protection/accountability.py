"""Accountability (追责): reports that should have been filed and were not, and overdue steps.

The seeds hold duty holders to account for failing to report (Chongqing §3.1: 未履行报告义务的 … 严肃追责)
and for failing to respond in time. Missed reports are found in the synced graph data: a hospital
encounter of a child with an injury or maltreatment code (ICD-10 S*, T74*, T76*, Y07*), a dropout with no
written report, and a screening visit that found a child living alone — each with no report on record
since. They are listed per institution with the days since the event.

Each line carries where its institution and day come from (the event's graph kind and properties), so
the API shows them to a caller as it would show those properties (a role that sees health records
masked gets no hospital and no day of an injury visit). A child whose birth date is unknown cannot be
ruled out by age: listed, flagged for checking, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from graph.port import GraphStore
from graph.records import Node
from kernel import clock
from kernel.db import session
from kernel.messages import say
from protection.case_tables import CaseStep, MandatoryReport, ProtectionCaseRow
from protection.screening_config import config

INJURY_CODES: tuple[str, ...] = ("S", "T74", "T76", "Y07")
LIVING_ALONE_MARKERS: tuple[str, ...] = ("living_alone", "unsupervised", "单独居住", "独居", "无人监护")
CHILD_AGE = 18
# Which reported situations discharge the duty an event raised.
_HARM = ("injury_or_harm", "domestic_violence")
_ALONE = ("living_alone", "guardian_neglect", "guardian_incapable", "missing")


@dataclass
class MissedReport:
    kind: str  # injury_encounter | dropout_unreported | living_alone_unreported
    event_id: str
    child_id: str
    institution: str
    division: str | None
    occurred_on: str | None
    days_since: int | None
    # The event's graph kind and the properties the institution and the day were read from (None:
    # the institution is derived from the event's division, a location).
    event_kind: str = ""
    institution_prop: str | None = None
    occurred_prop: str = "occurred_on"
    # The institution as the event's property holds it (a school's code): what a caller not allowed
    # that property in full is shown masked, never the name it was looked up by.
    institution_value: str = ""
    # Whether the event is in the list at all rests on this property (the ICD-10 code of an injury).
    trigger_prop: str = "kind"
    # The child's age could not be computed (no or no valid birth date): listed to be checked.
    birth_date_unknown: bool = False


# Per rule: the event's graph kind, and the properties its trigger, institution and day come from.
SOURCES: dict[str, tuple[str, str, str | None, str]] = {
    "injury_encounter": ("HealthEvent", "icd10", "facility", "occurred_on"),
    "dropout_unreported": ("EducationEvent", "kind", "school_code", "occurred_on"),
    "living_alone_unreported": ("Visit", "findings", None, "visited_on"),
}


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def _is_child(birth: str | None, on: date | None, under: int = CHILD_AGE) -> bool | None:
    """Whether the person was under `under` on `on`; None when the birth date is unknown (absent or
    not a date), which no screening may read as "not a child". An event without a day: any age."""
    b = _day(birth)
    if b is None:
        return None
    if on is None:
        return True
    return (on.year - b.year - ((on.month, on.day) < (b.month, b.day))) < under


def _events(store: GraphStore, label: str, prefix: str, limit: int) -> list[Node]:
    out: list[Node] = []
    after = None
    while len(out) < limit:
        page = store.list_by_division(label, prefix, 1000, after)
        out.extend(page.items)
        if not page.has_next:
            break
        after = page.end_cursor
    return out


def _institution_names(
    store: GraphStore, candidates: list[tuple[str, Node, Any, str, Any]]
) -> dict[tuple[str, str], str]:
    """The institution of each dropout and living-alone line by name, as officials know it: the
    school by its name, the village committee by its village's (read in one go). A school the graph
    has no name for keeps its code; an unknown school or village says so."""
    wanted = {
        f"school:{code}" if kind == "dropout_unreported" else f"division:{code}"
        for kind, _, _, code, _ in candidates
        if kind != "injury_encounter" and code
    }
    nodes = store.get_nodes(sorted(wanted)) if wanted else {}
    out: dict[tuple[str, str], str] = {}
    for kind, _, _, code, _ in candidates:
        if kind == "dropout_unreported":
            node = nodes.get(f"school:{code}") if code else None
            out[(kind, code)] = (
                (node.props.get("name") if node else None) or code or say("accountability.school_unknown")
            )
        elif kind == "living_alone_unreported":
            node = nodes.get(f"division:{code}") if code else None
            village = (node.props.get("name") if node else None) or code
            out[(kind, code)] = (
                say("accountability.village_committee", village=village)
                if village
                else say("accountability.village_unknown")
            )
    return out


def missed_reports(
    store: GraphStore, engine: Engine, division_prefix: str, today: date | None = None, limit: int = 20000
) -> list[MissedReport]:
    today = today or clock.today()
    with session(engine) as s:
        filed: dict[str, list[tuple[str, date]]] = {}
        for r in s.exec(
            select(MandatoryReport).where(col(MandatoryReport.division).startswith(division_prefix))
        ):
            filed.setdefault(r.child_id, []).append((r.situation, clock.local(r.filed_at).date()))

    def reported(child: str, situations: tuple[str, ...], since: date | None) -> bool:
        # A report from anyone counts (the duty is that the police or township learn of it), but
        # only one about this kind of situation, filed on or after the event.
        return any(s in situations and (since is None or d >= since) for s, d in filed.get(child, []))

    out: list[MissedReport] = []
    # (rule, event, situations that count as reported, the institution, when)
    candidates: list[tuple[str, Node, tuple[str, ...], str, Any]] = []
    for e in _events(store, "HealthEvent", division_prefix, limit):
        code = (e.props.get("icd10") or "").upper()
        if code.startswith(INJURY_CODES):
            candidates.append(
                (
                    "injury_encounter",
                    e,
                    _HARM,
                    e.props.get("facility") or say("accountability.facility_unknown"),
                    e.props.get("occurred_on"),
                )
            )
    for e in _events(store, "EducationEvent", division_prefix, limit):
        if (e.props.get("kind") or "").lower() == "dropout":
            candidates.append(
                (
                    "dropout_unreported",
                    e,
                    ("dropout",),
                    e.props.get("school_code") or "",
                    e.props.get("occurred_on"),
                )
            )
    for e in _events(store, "Visit", division_prefix, limit):
        if any(m in (e.props.get("findings") or "") for m in LIVING_ALONE_MARKERS):
            candidates.append(
                (
                    "living_alone_unreported",
                    e,
                    _ALONE,
                    e.props.get("division") or "",
                    e.props.get("visited_on"),
                )
            )
    alone_under = config().section("classification")["left_behind_age_limit"]
    named = _institution_names(store, candidates)
    for kind, e, situations, code, when in candidates:
        institution = named.get((kind, code), code)
        sub = store.neighbourhood(e.id, 1, ["CONCERNS"])
        on = _day(when)
        for rel in sub.rels.values():
            child = sub.nodes.get(rel.dst)
            if rel.src != e.id or child is None or child.label != "Person":
                continue
            # Living alone is a duty to report about a child under 16 (不满十六周岁, the left-behind
            # line); harm and dropout about any child.
            under = alone_under if kind == "living_alone_unreported" else CHILD_AGE
            young = _is_child(child.props.get("birth_date"), on, under)
            if young is False:
                continue
            if reported(child.id, situations, on):
                continue
            out.append(
                MissedReport(
                    kind=kind,
                    event_id=e.id,
                    child_id=child.id,
                    institution=institution,
                    institution_value=code,
                    division=e.props.get("division"),
                    occurred_on=when,
                    days_since=(today - on).days if on else None,
                    event_kind=SOURCES[kind][0],
                    trigger_prop=SOURCES[kind][1],
                    institution_prop=SOURCES[kind][2],
                    occurred_prop=SOURCES[kind][3],
                    birth_date_unknown=young is None,
                )
            )
    out.sort(key=lambda m: (m.institution, -(m.days_since or 0)))
    return out


@dataclass
class OverdueStep:
    step: CaseStep
    case_id: str
    division: str
    hours_overdue: float


def overdue_steps(
    engine: Engine,
    *,
    division_prefix: str | None = None,
    agency_id: str | None = None,
    at: datetime | None = None,
) -> list[OverdueStep]:
    """Open steps past their deadline: an agency's own, or all of a jurisdiction's (per agency)."""
    at = at or clock.now()
    with session(engine) as s:
        q = (
            select(CaseStep, ProtectionCaseRow)
            .join(ProtectionCaseRow, col(ProtectionCaseRow.id) == col(CaseStep.case_id))
            .where(CaseStep.status == "open", col(CaseStep.due_at).is_not(None), col(CaseStep.due_at) < at)
        )
        if agency_id is not None:
            q = q.where(CaseStep.agency_id == agency_id)
        if division_prefix is not None:
            q = q.where(col(ProtectionCaseRow.division).startswith(division_prefix))
        rows = list(s.exec(q.order_by(col(CaseStep.agency_id), col(CaseStep.due_at))))
    return [
        OverdueStep(step, case.id, case.division, round((at - step.due_at).total_seconds() / 3600, 2))  # type: ignore[operator]
        for step, case in rows
    ]
