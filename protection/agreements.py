"""监护责任书 and 委托监护协议, with validity; flags for left-behind children not safely entrusted.

Seeds (Chongqing §2.1, Zhangye §1): parents sign a guardianship responsibility letter with the village
committee; parents who both work away (or one away, the other without capacity) entrust the child to an
adult with guardianship capacity by agreement; a child under 16 may not live alone. A left-behind child
with no valid entrustment, or entrusted to someone without capacity, is flagged for the village.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine
from sqlmodel import col, select

from graph.port import GraphStore
from graph.profile import load_profile
from graph.records import Node
from kernel.db import session
from kernel.messages import say
from protection import transitions as tr
from protection.case_tables import GuardianshipAgreement, new_id
from protection.cases import Work, WorkflowError

KINDS: dict[str, str] = {"responsibility_letter": "监护责任书", "entrustment": "委托监护协议"}


def record_agreement(
    w: Work,
    *,
    kind: str,
    child_id: str,
    division: str,
    parent_ids: list[str],
    guardian_id: str | None,
    signed_on: date,
    valid_from: date,
    valid_to: date,
) -> GuardianshipAgreement:
    if kind not in KINDS:
        raise WorkflowError(
            "BAD_REQUEST", say("workflow.unknown_value", field="kind", allowed=", ".join(KINDS))
        )
    if not parent_ids:
        raise WorkflowError("MISSING_FACTS", say("workflow.agreement_needs_parents"))
    if kind == "entrustment" and not guardian_id:
        raise WorkflowError("MISSING_FACTS", say("workflow.entrustment_needs_guardian"))
    if valid_to <= valid_from:
        raise WorkflowError("BAD_REQUEST", say("workflow.valid_to_after_from"))
    row = GuardianshipAgreement(
        id=new_id("agr"),
        kind=kind,
        child_id=child_id,
        division=division,
        parent_ids=sorted(set(parent_ids)),
        guardian_id=guardian_id,
        village_agency_id=(
            w.actor.agency_id if w.actor.agency_type == tr.AgencyType.VILLAGE_COMMITTEE else None
        ),
        signed_on=signed_on,
        valid_from=valid_from,
        valid_to=valid_to,
        recorded_by=w.actor.agency_id,
        recorded_at=w.at,
    )
    w.s.add(row)
    w.touched_agreements.add(row.id)
    return row


def agreements_of(engine: Engine, child_id: str) -> list[GuardianshipAgreement]:
    with session(engine) as s:
        q = select(GuardianshipAgreement).where(GuardianshipAgreement.child_id == child_id)
        return list(s.exec(q.order_by(col(GuardianshipAgreement.valid_from))))


def _age(birth: str | None, on: date) -> int | None:
    try:
        b = date.fromisoformat(birth or "")
    except ValueError:
        return None
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def lacks_capacity(person: Node, on: date) -> str | None:
    """Why a guardian cannot care for a child, from the graph's facts (None: no known reason)."""
    p = person.props
    if p.get("deceased"):
        return "deceased"
    if p.get("guardianship_capacity") is False:
        return "lacks_capacity"
    age = _age(p.get("birth_date"), on)
    if age is not None and age < 18:
        return "minor"
    return None


@dataclass
class AgreementFlag:
    child_id: str
    reason: str  # no_valid_entrustment | guardian_lacks_capacity
    guardian_id: str | None
    detail: str | None


def left_behind(profile_child: Node, parents: list[Node], on: date) -> bool:
    """Under 16, rural registration, both parents away — or one away and the other without capacity."""
    age = _age(profile_child.props.get("birth_date"), on)
    if age is None or age >= 16 or profile_child.props.get("hukou_type") not in (None, "rural"):
        return False
    if len(parents) < 2:
        return any(p.props.get("works_away") for p in parents) and len(parents) == 1
    away = [p for p in parents if p.props.get("works_away")]
    return len(away) == 2 or (len(away) == 1 and any(lacks_capacity(p, on) for p in parents if p not in away))


def agreement_flags(
    store: GraphStore, engine: Engine, division_prefix: str, on: date, limit: int = 5000
) -> list[AgreementFlag]:
    """Left-behind children of a division subtree without a valid, capable entrusted guardian."""
    flags: list[AgreementFlag] = []
    after: str | None = None
    seen = 0
    with session(engine) as s:
        valid = {
            (a.child_id, a.guardian_id)
            for a in s.exec(
                select(GuardianshipAgreement).where(
                    GuardianshipAgreement.kind == "entrustment",
                    GuardianshipAgreement.valid_from <= on,
                    GuardianshipAgreement.valid_to >= on,
                )
            )
        }
    while seen < limit:
        page = store.list_by_division("Person", division_prefix, 500, after)
        for node in page.items:
            seen += 1
            age = _age(node.props.get("birth_date"), on)
            if age is None or age >= 16:
                continue
            prof = load_profile(store, node.id)
            if prof is None:
                continue
            parents = [p for _, p in prof.incoming(node.id, "PARENT_OF", "Person")]
            if not left_behind(node, parents, on):
                continue
            entrusted = [
                g for _, g in prof.incoming(node.id, "GUARDIAN_OF", "Person") if (node.id, g.id) in valid
            ]
            if not entrusted:
                flags.append(AgreementFlag(node.id, "no_valid_entrustment", None, None))
                continue
            for g in entrusted:
                why = lacks_capacity(g, on)
                if why:
                    flags.append(AgreementFlag(node.id, "guardian_lacks_capacity", g.id, why))
        if not page.has_next:
            break
        after = page.end_cursor
    return flags
