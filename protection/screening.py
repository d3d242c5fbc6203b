"""Screening (预警排查): risk rules over a child's facts, and worklists built from them.

The rules are named in ``screening_rules.toml`` with their weight, whom they apply to and
their thresholds; this module holds what each one looks at. Every rule that holds returns
the facts it rests on (with their sources), so a worklist line says *why* the child is on
it. A child's priority is the sum of the weights of the rules that hold; worklists are
ordered by it.

The seeds' triggers (Zhenjiang §3.1, Chongqing §3, Zhangye): a child under 16 living alone
or without guardianship; a guardian very old, ill or without capacity; dropout and truancy;
injuries; children not visited; and the priority groups (生活困难、残疾、女童、性格孤僻、
有不良行为倾向).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from graph.records import Node
from kernel.messages import say
from protection.classification import ChildResult, ChildView, Fact, Risk, fact, is_capable, parse_day
from protection.screening_config import config
from protection.screening_tables import ChildClassification

Check = Callable[[ChildView, ChildResult, dict[str, Any]], list[Fact]]


def _finding(view: ChildView, *codes: str) -> list[Fact]:
    found, visit = view.visit_findings()
    if visit is None or not found.intersection(codes):
        return []
    names = ", ".join(sorted(found.intersection(codes)))
    return [fact(f"latest visit found {names}", visit, "findings")]


def _carers(view: ChildView) -> list[tuple[Any, Node]]:
    return [(r, g) for r, g in view.guardians]


def living_alone(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    if res.age is not None and res.age >= config().section("classification")["left_behind_age_limit"]:
        return []
    facts = _finding(view, "living_alone", "unsupervised")
    if res.age is None:
        # No birth date: the under-16 line cannot rule the child out (Chongqing: 不得让不满十六周岁的
        # 儿童…单独居住生活). A visit that found them alone keeps them on the worklist, flagged for
        # the age to be checked; the household arrangement alone does not (it holds for an adult
        # whose own parents are away just as well).
        return [*facts, fact(say("screening.birth_date_unknown"), view.child, "birth_date")] if facts else []
    if res.arrangement == "no_capable_carer":
        facts.append(
            Fact(
                "no parent at home and no capable guardian in the graph",
                view.child.id,
                "Person",
                "id",
                None,
                [],
            )
        )
    return facts


def guardian_very_old(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    out = []
    for _, g in _carers(view):
        age = view.age(g)
        if age is not None and age >= s["guardian_old_age"]:
            out.append(fact(f"guardian aged {age} (≥ {s['guardian_old_age']})", g, "birth_date"))
    return out + _finding(view, "guardian_frail")


def guardian_ill(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    serious = config().section("classification")["serious_illness_icd10"]
    out = []
    for _, g in _carers(view):
        for ev in view.guardian_health.get(g.id, []):
            code = (ev.props.get("icd10") or "").upper()
            if code and any(code.startswith(p) for p in serious):
                out.append(fact(f"guardian diagnosed {code}", ev, "icd10"))
    return out + _finding(view, "guardian_ill")


def guardian_without_capacity(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    out = [
        fact("guardian lacks guardianship capacity (无监护能力)", g, "guardianship_capacity")
        for _, g in _carers(view)
        if g.props.get("guardianship_capacity") is False
    ]
    return out + _finding(view, "guardian_without_capacity")


def guardian_many_children(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    out = []
    for _, g in _carers(view):
        rels = view.guardian_wards.get(g.id, [])
        wards = {r.dst for r in rels}
        if len(wards) >= s["many_children_k"] and is_capable(g):
            rel = next(r for r in rels if r.dst == view.child.id)
            out.append(
                fact(
                    f"guardian responsible for {len(wards)} children (≥ {s['many_children_k']})", rel, "kind"
                )
            )
    return out


def dropout(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    out = [
        fact("dropout registered (辍学)", e, "kind")
        for e in view.education
        if e.props.get("kind") == "dropout"
    ]
    out += [
        fact("enrolment status dropout", r, "status")
        for r, _ in view.enrolments
        if r.props.get("status") in ("辍学", "dropout")
    ]
    return (out + _finding(view, "dropout")) if res.schooling == "dropout" or out else []


def repeated_truancy(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    since = view.as_of - timedelta(days=s["truancy_window_days"])
    events = [
        e
        for e in view.education
        if e.props.get("kind") == "truancy" and (d := parse_day(e.props.get("occurred_on"))) and d >= since
    ]
    if len(events) < s["truancy_repeats"]:
        return []
    return [fact(f"truancy on {e.props.get('occurred_on')}", e, "kind") for e in events]


def injury(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    since = view.as_of - timedelta(days=s["injury_window_days"])
    out = []
    for e in view.health:
        code = (e.props.get("icd10") or "").upper()
        d = parse_day(e.props.get("occurred_on"))
        if code and any(code.startswith(p) for p in s["injury_icd10"]) and (d is None or d >= since):
            out.append(fact(f"injury or maltreatment diagnosis {code}", e, "icd10"))
    return out + _finding(view, "injury_signs")


def no_recent_visit(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    last = view.latest_visit
    day = parse_day(last.props.get("visited_on")) if last else None
    if day is not None and (view.as_of - day).days <= s["visit_period_days"]:
        return []
    if last is None:
        return [
            Fact(
                f"no visit recorded (period {s['visit_period_days']} days)",
                view.child.id,
                "Person",
                "id",
                None,
                [],
            )
        ]
    return [fact(f"last visit more than {s['visit_period_days']} days ago", last, "visited_on")]


def priority_poor(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    return next((v.facts for v in res.verdicts if v.category == "poor_family" and v.holds), [])


def priority_disabled(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    return next((v.facts for v in res.verdicts if v.category == "disability" and v.holds), [])


def priority_girl(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    if view.child.props.get("sex") == "F" and res.left_behind:
        return [fact("left-behind girl (留守女童)", view.child, "sex")]
    return []


def priority_withdrawn(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    return _finding(view, "withdrawn")


def priority_behaviour(view: ChildView, res: ChildResult, s: dict[str, Any]) -> list[Fact]:
    return _finding(view, "behaviour_problems")


CHECKS: dict[str, Check] = {
    "living_alone": living_alone,
    "guardian_very_old": guardian_very_old,
    "guardian_ill": guardian_ill,
    "guardian_without_capacity": guardian_without_capacity,
    "guardian_many_children": guardian_many_children,
    "dropout": dropout,
    "repeated_truancy": repeated_truancy,
    "injury": injury,
    "no_recent_visit": no_recent_visit,
    "priority_poor": priority_poor,
    "priority_disabled": priority_disabled,
    "priority_girl": priority_girl,
    "priority_withdrawn": priority_withdrawn,
    "priority_behaviour": priority_behaviour,
}


# The rules that can hold for a person whose age is unknown (no birth date): a protective screening
# a child must not drop out of for want of a birth date. The others wait for the age.
UNDATED_RULES: tuple[str, ...] = ("living_alone",)


def screen(view: ChildView, result: ChildResult) -> list[Risk]:
    """The enabled rules that hold for this child, each with the facts behind it (for a person of
    unknown age, `UNDATED_RULES` only)."""
    cfg = config()
    settings = cfg.section("screening")
    out: list[Risk] = []
    for name, rule in cfg.rules.items():
        if not rule.enabled or (rule.applies_to == "concern" and not result.concern):
            continue
        if result.age is None and name not in UNDATED_RULES:
            continue
        facts = CHECKS[name](view, result, settings)
        if facts:
            out.append(Risk(name, rule.zh, rule.weight, facts))
    return out


# ---- worklists --------------------------------------------------------------------------------


@dataclass
class WorklistPage:
    rows: list[ChildClassification]
    total: int
    by_rule: Counter[str]


def worklist(
    engine: Engine, prefix: str, *, rule: str | None = None, first: int = 50, offset: int = 0
) -> WorklistPage:
    """Children in a division subtree with at least one risk, highest priority first."""
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    cond = (T.c.division.startswith(prefix)) & (T.c.priority > 0)
    with engine.connect() as conn:
        # The page in SQL (priority index); the rule tally from the small risks column only.
        risks = [(pid, r) for pid, r in conn.execute(select(T.c.person_id, T.c.risks).where(cond))]
        by_rule: Counter[str] = Counter(x for _, r in risks for x in (r or []))
        q = select(T).where(cond)
        if rule:
            matching = [pid for pid, r in risks if rule in (r or [])]
            q = q.where(T.c.person_id.in_(matching[:5000]))
            total = len(matching)
        else:
            total = len(risks)
        q = q.order_by(T.c.priority.desc(), T.c.division, T.c.person_id).offset(offset).limit(first)
        rows = [ChildClassification(**r._mapping) for r in conn.execute(q)]
    return WorklistPage(rows, total, by_rule)
