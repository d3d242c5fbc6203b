"""Classification: left-behind (留守儿童) and in-distress (困境儿童) children, from the graph.

Definitions (seeds: Chongqing, Zhangye for left-behind; Ziyang for in distress):

* **left-behind** — under 16, rural household registration (Person.hukou_type, else the
  household's), and both parents away for work (Person.works_away), or one away and the
  other without guardianship capacity (Person.guardianship_capacity false, or deceased);
* **orphan** (孤儿) — both parents deceased or missing (失联, from incapacity_reason);
* **de facto unsupported** (事实无人抚养) — no parent able to raise the child: each is
  deceased, missing or without guardianship capacity, and not all are deceased/missing;
* **disability** (残疾) — Person.disability names one;
* **serious illness** (重病) — a HealthEvent whose ICD-10 code is on the configured list;
* **poor family** (低保/特困) — no social-assistance register is connected, so the source
  is the village screening survey's 家庭救助 (carried in a Visit's findings) or a
  supervisor's visit finding ``poor_family``. Where neither exists, the child is not counted
  poor: absence of evidence, said so in the explanation.

Every verdict carries the facts it rests on, each naming the node or relationship, the
property, the value and the source records that claim it (graph.provenance), so a
caseworker can see *why* a child is on the ledger and which register to correct.

The results are materialised in ``child_classification`` so counts by division and
worklists are one query; ``recompute`` refreshes them after a visit or any mutation that
changes a fact, and takes a statistics snapshot each time. After a sync, the people it wrote
wait in the durable ``derived_queue`` (written by the pipeline with the landing rows it marks
loaded) until :func:`drain` recomputes them: at the end of ``shouhu sync`` and in the API's
background worker, so a kill during reclassification resumes at the next drain.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, select

from connectors.tables import DerivedQueue
from graph.crash import crash_point
from graph.model import division_prefix, label_of
from graph.port import GraphStore
from graph.profile import Profile
from graph.records import Node, Rel, Selection, Step, Subgraph
from kernel import clock
from kernel.collector import cycle_collection_paused
from kernel.db.tables import utcnow
from protection.screening_config import ScreeningConfig, config
from protection.screening_tables import ChildClassification, StatCount, StatSnapshot

_Item = TypeVar("_Item")

# The child's neighbourhood the rules read: family and events two hops out (a guardian's
# other wards and own illnesses), enrolment and registration one hop (two hops of
# ENROLLED_AT would pull in the whole school).
FAMILY_RELS: tuple[str, ...] = ("PARENT_OF", "GUARDIAN_OF", "CONCERNS")
NEAR_RELS: tuple[str, ...] = ("ENROLLED_AT", "MEMBER_OF")
DIMENSIONS: tuple[str, ...] = ("category", "arrangement", "schooling", "case_status", "sex")
CATEGORIES: tuple[str, ...] = (
    "left_behind",
    "orphan",
    "de_facto_unsupported",
    "disability",
    "serious_illness",
    "poor_family",
)
DISTRESS: tuple[str, ...] = CATEGORIES[1:]
# The policy classes of the facts each category is derived from: a count by a category tells those
# facts of the children counted (auth.enforce.counts withholds its small counts from a role that may
# not see them in full). In distress, and not, is any of the distress categories.
CATEGORY_CLASSES: dict[str, tuple[str, ...]] = {
    "left_behind": ("family",),
    "orphan": ("family",),
    "de_facto_unsupported": ("family",),
    "disability": ("disability",),
    "serious_illness": ("health",),
    "poor_family": ("household", "case"),
}
CATEGORY_CLASSES["in_distress"] = CATEGORY_CLASSES["not_in_distress"] = tuple(
    sorted({c for k in DISTRESS for c in CATEGORY_CLASSES[k]})
)
# The classes of the facts the other dimensions of the statistics are derived from: a guardianship
# arrangement (with whom a child lives, an entrusted guardian) is a family fact, a schooling status
# an education fact, a case status a case fact. Every value of the dimension tells that class.
DIMENSION_CLASSES: dict[str, tuple[str, ...]] = {
    "arrangement": ("family",),
    "schooling": ("education",),
    "case_status": ("case",),
}
_SCHOOL_STATUS = {
    "在读": "enrolled",
    "enrolled": "enrolled",
    "辍学": "dropout",
    "dropout": "dropout",
    "休学": "suspended",
    "suspended": "suspended",
}
# Survey findings (Chinese, in the Visit summary) and the codes a supervisor records.
SURVEY_FINDINGS = {
    "独居": "living_alone",
    "无人监护": "unsupervised",
    "监护人年老体弱": "guardian_frail",
    "辍学": "dropout",
    "未签订委托监护协议": "no_entrustment_agreement",
    "委托监护协议过期": "agreement_expired",
    "性格孤僻": "withdrawn",
    "不良行为": "behaviour_problems",
}


@dataclass
class Fact:
    """One fact a verdict rests on: which record, which property, what value, from where."""

    text: str
    record: str
    kind: str
    prop: str
    value: Any
    sources: list[dict[str, str]]


@dataclass
class Verdict:
    category: str
    holds: bool
    facts: list[Fact] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class Risk:
    rule: str
    zh: str
    weight: int
    facts: list[Fact]


@dataclass
class ChildResult:
    person_id: str
    division: str
    sex: str | None
    age: int | None
    verdicts: list[Verdict]
    arrangement: str
    schooling: str
    case_status: str
    last_visit: str | None
    risks: list[Risk] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        return [v.category for v in self.verdicts if v.holds]

    @property
    def left_behind(self) -> bool:
        return "left_behind" in self.categories

    @property
    def in_distress(self) -> bool:
        return any(c in DISTRESS for c in self.categories)

    @property
    def concern(self) -> bool:
        return self.left_behind or self.in_distress

    @property
    def priority(self) -> int:
        return sum(r.weight for r in self.risks)

    def values(self, computed_at: datetime | None = None) -> dict[str, Any]:
        """The ``child_classification`` row as plain column values, for a bulk insert."""
        return {
            "person_id": self.person_id,
            "division": self.division,
            "sex": self.sex,
            "age": self.age,
            "left_behind": self.left_behind,
            "in_distress": self.in_distress,
            "categories": self.categories,
            "arrangement": self.arrangement,
            "schooling": self.schooling,
            "case_status": self.case_status,
            "risks": [r.rule for r in self.risks],
            "priority": self.priority,
            "last_visit": self.last_visit,
            "explanation": {
                "verdicts": [_verdict_plain(v) for v in self.verdicts],
                "risks": [_risk_plain(r) for r in self.risks],
            },
            "computed_at": computed_at or utcnow(),
        }

    def row(self) -> ChildClassification:
        return ChildClassification(**self.values())


# The explanation as JSON-ready dicts, field by field in the dataclasses' order (what
# `dataclasses.asdict` gives, without its reflection and deep copies: building the rows of a
# township took a fifth of its reclassification that way). A fact's sources are shared, not copied.
def _fact_plain(f: Fact) -> dict[str, Any]:
    return {
        "text": f.text,
        "record": f.record,
        "kind": f.kind,
        "prop": f.prop,
        "value": f.value,
        "sources": f.sources,
    }


def _verdict_plain(v: Verdict) -> dict[str, Any]:
    return {
        "category": v.category,
        "holds": v.holds,
        "facts": [_fact_plain(f) for f in v.facts],
        "missing": v.missing,
    }


def _risk_plain(r: Risk) -> dict[str, Any]:
    return {"rule": r.rule, "zh": r.zh, "weight": r.weight, "facts": [_fact_plain(f) for f in r.facts]}


# ---- reading the child's neighbourhood ------------------------------------------------------


def claim_sources(element: Node | Rel, prop: str) -> list[dict[str, str]]:
    """The source records claiming this property's value (all sources if it has no claims)."""
    value = element.props.get(prop)
    claims = [c for c in element.claims.get(prop, []) if c.get("value") == value]
    items = claims or element.sources
    return [{"system": c["system"], "record_id": c["record_id"], "at": c["at"]} for c in items]


def fact(text: str, element: Node | Rel, prop: str) -> Fact:
    kind = element.label if isinstance(element, Node) else element.type
    return Fact(text, element.id, kind, prop, element.props.get(prop), claim_sources(element, prop))


def age_on(birth: str | None, as_of: date) -> int | None:
    if not birth:
        return None
    try:
        b = date.fromisoformat(birth[:10])
    except ValueError:
        return None
    return as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass
class ChildView:
    """The facts about one child the rules read: the child, its parents and guardians (each with
    the relationship), households, enrolments, the events concerning it, and for each guardian
    the guardian's own health events and every ward (GUARDIAN_OF out of the guardian).

    Built either from one child's loaded neighbourhood (`from_profile`, the per-child path) or
    from a set read of many children at once (`load_views`); the rules cannot tell which."""

    child: Node
    as_of: date
    cfg: ScreeningConfig
    parents: list[tuple[Rel, Node]] = field(default_factory=list)
    guardians: list[tuple[Rel, Node]] = field(default_factory=list)
    households: list[Node] = field(default_factory=list)
    enrolments: list[tuple[Rel, Node]] = field(default_factory=list)
    health: list[Node] = field(default_factory=list)
    education: list[Node] = field(default_factory=list)
    visits: list[Node] = field(default_factory=list)
    cases: list[Node] = field(default_factory=list)
    guardian_health: dict[str, list[Node]] = field(default_factory=dict)
    guardian_wards: dict[str, list[Rel]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.visits = sorted(self.visits, key=lambda v: (v.props.get("visited_on") or "", v.id))

    @classmethod
    def from_profile(cls, child: Node, p: Profile, as_of: date, cfg: ScreeningConfig) -> ChildView:
        cid = child.id
        guardians = [(r, n) for r, n in p.incoming(cid, "GUARDIAN_OF", "Person") if r.src != cid]
        return cls(
            child,
            as_of,
            cfg,
            parents=p.incoming(cid, "PARENT_OF", "Person"),
            guardians=guardians,
            households=[n for _, n in p.outgoing(cid, "MEMBER_OF")],
            enrolments=p.outgoing(cid, "ENROLLED_AT"),
            health=[n for _, n in p.incoming(cid, "CONCERNS", "HealthEvent")],
            education=[n for _, n in p.incoming(cid, "CONCERNS", "EducationEvent")],
            visits=[n for _, n in p.incoming(cid, "CONCERNS", "Visit")],
            cases=[n for _, n in p.incoming(cid, "CONCERNS", "ProtectionCase")],
            guardian_health={
                g.id: [n for _, n in p.incoming(g.id, "CONCERNS", "HealthEvent")] for _, g in guardians
            },
            guardian_wards={g.id: [r for r, _ in p.outgoing(g.id, "GUARDIAN_OF")] for _, g in guardians},
        )

    @property
    def latest_visit(self) -> Node | None:
        return self.visits[-1] if self.visits else None

    def visit_findings(self) -> tuple[set[str], Node | None]:
        """Finding codes of the latest visit: a supervisor's codes or the survey's Chinese terms."""
        visit = self.latest_visit
        if visit is None:
            return set(), None
        text = visit.props.get("findings") or ""
        codes = {c.strip() for c in text.replace("；", ",").split(",") if c.strip() in self.cfg.findings}
        for zh, code in SURVEY_FINDINGS.items():
            if zh in text:
                codes.add(code)
        return codes, visit

    def age(self, person: Node) -> int | None:
        return age_on(person.props.get("birth_date"), self.as_of)


def load_child(store: GraphStore, person_id: str) -> Profile | None:
    """The child's neighbourhood for classification and screening: two bounded reads (the
    per-child path: one child's classification on demand, and the reference `load_views`
    is checked against)."""
    wide = store.neighbourhood(person_id, 2, FAMILY_RELS)
    if person_id not in wide.nodes:
        return None
    near = store.neighbourhood(person_id, 1, NEAR_RELS)
    merged = Subgraph({**wide.nodes, **near.nodes}, {**wide.rels, **near.rels})
    return Profile(person_id, merged)


# What the rules read about a set of children, one set walk each (GraphStore.hops): the child's
# own relationships, then through each guardian its wards and its health events. Nothing walks
# on through a household, a school or a village.
_WALKS: dict[str, tuple[Step, ...]] = {
    "parents": (Step("PARENT_OF", "in", "Person"),),
    "guardians": (Step("GUARDIAN_OF", "in", "Person"),),
    "households": (Step("MEMBER_OF", "out"),),
    "enrolments": (Step("ENROLLED_AT", "out"),),
    "concerns": (Step("CONCERNS", "in"),),
    "wards": (Step("GUARDIAN_OF", "in", "Person"), Step("GUARDIAN_OF", "out")),
    "guardian_health": (Step("GUARDIAN_OF", "in", "Person"), Step("CONCERNS", "in", "HealthEvent")),
}


def load_views(store: GraphStore, selection: Selection, as_of: date, cfg: ScreeningConfig) -> list[ChildView]:
    """Every selected person's `ChildView` from one statement per walk (`_WALKS`) for the whole
    set, in id order: the same facts `ChildView.from_profile` finds in each child's own
    neighbourhood (tests/test_classification_sets.py compares the two on a synthetic county)."""
    people = store.select(selection)
    if not people:
        return []
    found = {name: store.hops(selection, path) for name, path in _WALKS.items()}
    by_child: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for name in ("parents", "guardians", "households", "enrolments", "concerns"):
        for near, rel, far in found[name]:
            by_child[near][name].append((rel, far))
    # A guardian's wards: every GUARDIAN_OF out of the guardian, the child's own included (a
    # hop may come back along the relationship the walk came by).
    wards: dict[str, dict[str, Rel]] = defaultdict(dict)
    for near, rel, _w in found["wards"]:
        wards[near][rel.id] = rel
    guardian_health: dict[str, list[Node]] = defaultdict(list)
    for near, _, event in found["guardian_health"]:
        guardian_health[near].append(event)
    views = []
    for child in people:
        mine = by_child.get(child.id, {})
        guardians = [(r, g) for r, g in mine.get("guardians", []) if r.src != child.id]
        concerns: dict[str, list[Node]] = defaultdict(list)
        for _, node in mine.get("concerns", []):
            concerns[node.label].append(node)
        views.append(
            ChildView(
                child,
                as_of,
                cfg,
                parents=mine.get("parents", []),
                guardians=guardians,
                households=[n for _, n in mine.get("households", [])],
                enrolments=mine.get("enrolments", []),
                health=concerns["HealthEvent"],
                education=concerns["EducationEvent"],
                visits=concerns["Visit"],
                cases=concerns["ProtectionCase"],
                guardian_health={g.id: guardian_health.get(g.id, []) for _, g in guardians},
                guardian_wards={g.id: [wards[g.id][k] for k in sorted(wards[g.id])] for _, g in guardians},
            )
        )
    return views


# ---- the verdicts -----------------------------------------------------------------------------


def _parent_state(parent: Node, cfg: ScreeningConfig) -> tuple[str, Fact | None]:
    """'away', 'gone' (deceased/missing), 'incapable', 'home' or 'unknown', with its fact."""
    props = parent.props
    role = "parent"
    if props.get("deceased"):
        return "gone", fact(f"{role} deceased (死亡)", parent, "deceased")
    reason = props.get("incapacity_reason") or ""
    if any(m in reason for m in cfg.section("classification")["missing_markers"]):
        return "gone", fact(f"{role} missing (失联)", parent, "incapacity_reason")
    if props.get("works_away") is True:
        return "away", fact(f"{role} works away (外出务工)", parent, "works_away")
    if props.get("guardianship_capacity") is False:
        return "incapable", fact(
            f"{role} lacks guardianship capacity (无监护能力)", parent, "guardianship_capacity"
        )
    if props.get("works_away") is False:
        return "home", fact(f"{role} lives at home (在家)", parent, "works_away")
    return "unknown", None


def _named(f: Fact | None, role: str) -> Fact | None:
    if f is not None:
        f.text = f.text.replace("parent", role, 1)
    return f


def classify(view: ChildView) -> ChildResult:
    cfg = view.cfg.section("classification")
    child = view.child
    age = view.age(child)
    verdicts: list[Verdict] = []

    # Parents by role; a duplicate (two sources, one unresolved person) counts once per role.
    by_role: dict[str, list[tuple[str, Fact | None]]] = defaultdict(list)
    for rel, parent in view.parents:
        role = rel.props.get("role") or "parent"
        state, f = _parent_state(parent, view.cfg)
        by_role[role].append((state, _named(f, role)))
    states: dict[str, tuple[str, Fact | None]] = {}
    for role, items in by_role.items():
        order = ("gone", "away", "incapable", "home", "unknown")
        states[role] = min(items, key=lambda s: order.index(s[0]))
    parent_facts = [f for _, f in states.values() if f is not None]
    known = [s for s, _ in states.values()]

    # left-behind
    lb = Verdict("left_behind", False)
    under = age is not None and age < cfg["left_behind_age_limit"]
    if age is None:
        lb.missing.append("birth date (Person.birth_date)")
    else:
        lb.facts.append(fact(f"age {age} on {view.as_of.isoformat()}", child, "birth_date"))
    hukou_node: Node | None = child if child.props.get("hukou_type") else None
    if hukou_node is None:
        hukou_node = next((h for h in view.households if h.props.get("hukou_type")), None)
    rural = hukou_node is not None and hukou_node.props.get("hukou_type") == "rural"
    if hukou_node is None:
        lb.missing.append("household registration type (hukou_type)")
    else:
        lb.facts.append(
            fact(f"{hukou_node.props['hukou_type']} household registration", hukou_node, "hukou_type")
        )
    away = known.count("away")
    unable = sum(1 for s in known if s in ("incapable", "gone"))
    parents_ok = len(known) >= 2 and away >= 1 and away + unable == len(known)
    lb.facts.extend(parent_facts)
    if len(known) < 2 and not (away and unable):
        lb.missing.append(f"{2 - len(known)} parent(s) not in the graph (PARENT_OF)")
    if "unknown" in known:
        lb.missing.append("whether a parent works away (Person.works_away)")
    lb.holds = bool(under and rural and parents_ok)
    verdicts.append(lb)

    # orphan / de facto unsupported
    gone = known.count("gone")
    orphan = Verdict("orphan", len(known) >= 2 and gone == len(known), list(parent_facts))
    unsupported = Verdict(
        "de_facto_unsupported",
        len(known) >= 2 and not orphan.holds and all(s in ("gone", "incapable") for s in known),
        list(parent_facts),
    )
    if len(known) < 2:
        orphan.missing.append("both parents (PARENT_OF)")
        unsupported.missing.append("both parents (PARENT_OF)")
    verdicts += [orphan, unsupported]

    # disability
    dis = child.props.get("disability")
    disabled = Verdict("disability", bool(dis) and dis not in cfg["no_disability"])
    if dis is not None:
        disabled.facts.append(fact(f"disability: {dis}", child, "disability"))
    verdicts.append(disabled)

    # serious illness
    ill = Verdict("serious_illness", False)
    for ev in view.health:
        code = (ev.props.get("icd10") or "").upper()
        if code and any(code.startswith(p) for p in cfg["serious_illness_icd10"]):
            ill.holds = True
            ill.facts.append(fact(f"serious illness diagnosis {code}", ev, "icd10"))
    verdicts.append(ill)

    # poor family: the survey's 家庭救助 or a supervisor's finding, on the latest visit saying so
    poor = Verdict("poor_family", False)
    for visit in reversed(view.visits):
        text = visit.props.get("findings") or ""
        if any(m in text for m in cfg["poor_family_markers"]):
            poor.holds = True
            poor.facts.append(fact("visit recorded 低保/特困 or a poor family", visit, "findings"))
            break
    if not poor.holds:
        poor.missing.append("no social-assistance (低保/特困) register is connected; no visit recorded it")
    verdicts.append(poor)

    for v in verdicts:
        if v.category != "left_behind" and v.holds and (age is None or age >= cfg["distress_age_limit"]):
            v.holds = False
            v.missing.append(f"not under {cfg['distress_age_limit']}")

    return ChildResult(
        person_id=child.id,
        division=child.props.get("division") or "",
        sex=child.props.get("sex"),
        age=age,
        verdicts=verdicts,
        arrangement=_arrangement(view, states),
        schooling="under_3"
        if _schooling(view) == "not_enrolled" and age is not None and age < 3
        else _schooling(view),
        case_status=_case_status(view),
        last_visit=(view.latest_visit.props.get("visited_on") or "")[:10] if view.latest_visit else None,
    )


def is_capable(person: Node) -> bool:
    p = person.props
    return not p.get("deceased") and p.get("guardianship_capacity") is not False


def _arrangement(view: ChildView, states: dict[str, tuple[str, Fact | None]]) -> str:
    """Guardianship arrangement: who actually looks after the child."""
    if any(s == "home" for s, _ in states.values()):
        return "with_parents"
    kinds = {r.props.get("kind") for r, g in view.guardians if is_capable(g)}
    if "temporary" in kinds:
        return "temporary_guardian"
    if "entrusted" in kinds:
        return "entrusted_guardian"
    if kinds:
        return "other_guardian"
    if any(s == "unknown" for s, _ in states.values()):
        return "unknown"
    return "no_capable_carer"


def _schooling(view: ChildView) -> str:
    if any(e.props.get("kind") == "dropout" for e in view.education):
        returned = any(e.props.get("kind") in ("return", "returned") for e in view.education)
        if not returned:
            return "dropout"
    statuses = {
        _SCHOOL_STATUS.get(r.props.get("status") or "enrolled", "enrolled") for r, _ in view.enrolments
    }
    for s in ("enrolled", "suspended", "dropout"):
        if s in statuses:
            return s
    return "not_enrolled"


def _case_status(view: ChildView) -> str:
    if not view.cases:
        return "none"
    return "open" if any((c.props.get("status") or "open") != "closed" for c in view.cases) else "closed"


# ---- recompute and materialise ----------------------------------------------------------------


@dataclass
class RecomputeReport:
    children: int
    removed: int
    seconds: float
    snapshot_id: int | None

    @property
    def per_second(self) -> float:
        return self.children / self.seconds if self.seconds > 0 else 0.0


def evaluate(view: ChildView) -> ChildResult | None:
    """Classify and screen one child from its facts (None: not a child). A person with no birth
    date is kept only where a rule that needs no age holds (a visit found them living alone),
    flagged for the age to be checked: an unknown age must not drop a child out of the screening."""
    from protection.screening import screen

    result = classify(view)
    if result.age is None:
        result.risks = screen(view, result)
        return result if result.risks else None
    if result.age >= view.cfg.section("classification")["distress_age_limit"]:
        return None
    result.risks = screen(view, result)
    return result


def assess(store: GraphStore, person_id: str, *, as_of: date | None = None) -> ChildResult | None:
    """Classify and screen one child from its own neighbourhood (None: not a person or not a
    child): the per-child path, for one child on demand; sets go through `assess_all`."""
    if label_of(person_id) != "Person":
        return None
    profile = load_child(store, person_id)
    node = profile.node(person_id) if profile is not None else None
    if profile is None or node is None:
        return None
    return evaluate(ChildView.from_profile(node, profile, as_of or clock.today(), config()))


# People whose facts are read together when they are given by id (one point statement per person
# and walk): bounds what is held at once.
BATCH = 1000
# Children evaluated between two ticks of a progress bar.
TICK = 500


def _evaluate_all(
    views: list[ChildView], progress: Callable[[int], None] | None, counted: int | None = None
) -> list[ChildResult]:
    results = []
    for i, view in enumerate(views, 1):
        if (r := evaluate(view)) is not None:
            results.append(r)
        if progress is not None and (i % TICK == 0 or i == len(views)):
            progress(TICK if i % TICK == 0 else i % TICK)
    if progress is not None and counted is not None and counted > len(views):
        progress(counted - len(views))
    return results


def assess_all(
    store: GraphStore,
    person_ids: Sequence[str],
    *,
    as_of: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ChildResult]:
    """Classify and screen the given people, `BATCH` at a time: one set read per walk the rules
    need (`load_views`), then one pass of the rules in Python."""
    as_of = as_of or clock.today()
    cfg = config()
    results: list[ChildResult] = []
    ids = list(dict.fromkeys(person_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        people = [pid for pid in chunk if label_of(pid) == "Person"]
        with cycle_collection_paused():
            views = load_views(store, Selection.of_ids("Person", people), as_of, cfg) if people else []
            results += _evaluate_all(views, progress, counted=len(chunk))
    return results


def assess_division(
    store: GraphStore,
    division: str | None,
    *,
    as_of: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ChildResult]:
    """Classify and screen every child of a division subtree (default: every county in the
    graph): the children and what the rules read about them in one statement per walk."""
    as_of = as_of or clock.today()
    cfg = config()
    limit = cfg.section("classification")["distress_age_limit"]
    prefixes: list[str]
    if division:
        prefixes = [division_prefix(division)]
    else:
        counties = store.find("Division", "level", ["county"], limit=10_000)
        prefixes = sorted({c.props["code"][:6] for c in counties if c.props.get("code")})
    # Everyone under `limit` on `as_of` was born in or after this year (the exact age is
    # `age_on`'s; the engine only narrows the scan, comparing ISO dates as text).
    born_from = f"{as_of.year - limit:04d}"
    results: list[ChildResult] = []
    for prefix in prefixes:
        with cycle_collection_paused():
            views = load_views(store, Selection.in_division("Person", prefix, born_from), as_of, cfg)
            views = [v for v in views if (a := v.age(v.child)) is not None and a < limit]
            undated = _visited_without_birth_date(store, prefix, as_of)
            if undated:
                views += load_views(store, Selection.of_ids("Person", undated), as_of, cfg)
            results += _evaluate_all(views, progress)
    return results


def _visited_without_birth_date(store: GraphStore, prefix: str, as_of: date) -> list[str]:
    """The people visits in the division concern whose age cannot be computed: the selection by
    birth year leaves them out, and `evaluate` keeps those a visit found living alone."""
    hops = store.hops(Selection.in_division("Visit", prefix), (Step("CONCERNS", "out", "Person"),))
    return sorted({p.id for _, _, p in hops if age_on(p.props.get("birth_date"), as_of) is None})


def recompute(
    store: GraphStore,
    engine: Engine,
    person_ids: Sequence[str] | None = None,
    *,
    division: str | None = None,
    as_of: date | None = None,
    trigger: str = "sync",
    snapshot: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RecomputeReport:
    """Reclassify and rescreen children and materialise the results, then take a snapshot.

    With ``person_ids`` only those people (children who stopped being one are removed);
    otherwise every person in ``division`` (default: every county in the graph), removing
    rows of people no longer there or no longer children.
    """
    started = time.perf_counter()
    as_of = as_of or clock.today()
    if person_ids is not None:
        candidates = list(dict.fromkeys(person_ids))
        results = assess_all(store, candidates, as_of=as_of, progress=progress)
    else:
        results = assess_division(store, division, as_of=as_of, progress=progress)
    done = {r.person_id for r in results}
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    # One transaction per chunk of rows: the relational store's write lock is never held for a
    # whole county (an operator's review decision waits for one chunk, not the recompute).
    computed_at = utcnow()
    for chunk in _chunks(results, WRITE_CHUNK):
        with cycle_collection_paused(), engine.begin() as conn:  # rows of a chunk: many objects, no cycles
            conn.execute(delete(T).where(T.c.person_id.in_([r.person_id for r in chunk])))
            conn.execute(T.insert(), [r.values(computed_at) for r in chunk])
    with engine.begin() as conn:
        if person_ids is not None:
            stale = [p for p in candidates if p not in done]
            touched = {r.division for r in results}
            if stale:
                touched |= {d for (d,) in conn.execute(select(T.c.division).where(T.c.person_id.in_(stale)))}
                conn.execute(delete(T).where(T.c.person_id.in_(stale)))
            removed = len(stale)
        else:
            q = select(T.c.person_id, T.c.division)
            if division:
                q = q.where(*_code_range(T.c.division, division_prefix(division)))
            existing: dict[str, str] = dict(conn.execute(q).all())
            stale = [p for p in existing if p not in done]
            for ids in _chunks(stale, 500):
                conn.execute(delete(T).where(T.c.person_id.in_(ids)))
            removed = len(stale)
            touched = {r.division for r in results} | {existing[p] for p in stale}
        snapshot_id = _snapshot(conn, sorted(d for d in touched if d), trigger) if snapshot else None
    return RecomputeReport(len(results), removed, time.perf_counter() - started, snapshot_id)


# Rows written per transaction (at most 500 ids in one IN list, SQLite's bound being 999).
WRITE_CHUNK = 500

# Past this many people queued, the townships they live in are reclassified in bulk (one read per
# township, children only) rather than person by person (a neighbourhood read and an assessment
# for every adult too): at 2,000 people, 8 s against 45 s.
RECLASSIFY_ALL_ABOVE = 200


def queued(engine: Engine) -> int:
    """People waiting in the derived-state queue (entries, not distinct people)."""
    DQ = DerivedQueue.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DQ)).scalar_one())


def drain(
    store: GraphStore,
    engine: Engine,
    *,
    as_of: date | None = None,
    trigger: str = "sync",
    progress: Callable[[int], None] | None = None,
) -> RecomputeReport | None:
    """Reclassify the people the derived-state queue names, then delete the entries read.

    At least once: the entries go only after the recompute committed, so a kill anywhere leaves
    them for the next drain, and a recompute is idempotent. The people and the children they are
    parents or guardians of are reclassified; past ``RECLASSIFY_ALL_ABOVE`` people (a first
    sync), the townships they live in are, in bulk, and those of them classified elsewhere (a
    person a merge absorbed) one by one. None when the queue was empty.
    """
    DQ = DerivedQueue.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(select(DQ.c.id, DQ.c.person_id, DQ.c.township)).all()
    if not rows:
        return None
    top = max(r.id for r in rows)
    people = {r.person_id for r in rows}
    children = removed = 0
    snapshot_id: int | None = None
    if len(people) > RECLASSIFY_ALL_ABOVE:
        townships = sorted({r.township for r in rows if r.township})
        for township in townships:
            rep = recompute(
                store, engine, division=township + "000", as_of=as_of, trigger=trigger, progress=progress
            )
            children, removed = children + rep.children, removed + rep.removed
            snapshot_id = rep.snapshot_id or snapshot_id
            crash_point("drain.township")
        # Queued people classified in a township not reclassified above: a person a merge absorbed
        # (queued without a township, its node gone) or one who moved. Their old rows would stay, and
        # an absorbed child count twice, until a full reclassification: they are reclassified (or
        # removed) one by one, as the small queue's are.
        outside = _classified_outside(engine, sorted(people), set(townships))
        if outside:
            rep = recompute(store, engine, outside, as_of=as_of, trigger=trigger, progress=progress)
            children, removed = children + rep.children, removed + rep.removed
            snapshot_id = rep.snapshot_id or snapshot_id
    else:
        ids = set(people)
        persons = Selection.of_ids("Person", [p for p in people if label_of(p) == "Person"])
        for rel_type in ("PARENT_OF", "GUARDIAN_OF"):
            ids |= {rel.dst for _, rel, _ in store.hops(persons, [Step(rel_type, "out", "Person")])}
        rep = recompute(store, engine, sorted(ids), as_of=as_of, trigger=trigger, progress=progress)
        children, removed, snapshot_id = rep.children, rep.removed, rep.snapshot_id
    crash_point("drain.recomputed")
    with engine.begin() as conn:
        conn.execute(delete(DQ).where(DQ.c.id <= top))
    return RecomputeReport(children, removed, time.perf_counter() - started, snapshot_id)


def _classified_outside(engine: Engine, people: list[str], townships: set[str]) -> list[str]:
    """Those of ``people`` with a classification row whose village is in none of ``townships``."""
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    out: list[str] = []
    with engine.connect() as conn:
        for ids in _chunks(people, WRITE_CHUNK):
            rows = conn.execute(select(T.c.person_id, T.c.division).where(T.c.person_id.in_(ids)))
            out += [p for p, d in rows if str(d or "")[:9] not in townships]
    return out


def _code_range(column: Any, prefix: str) -> tuple[Any, Any]:
    """`column STARTS WITH prefix` as a range the division index serves: SQLAlchemy's
    `startswith` is a LIKE, which SQLite answers by reading every row of the table (at 3,241
    rows with their explanations, 0.23 s of a township's 2.2 s; the whole county's rows for
    each township of a first sync). Equal for every string under the binary collation."""
    return column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _chunks(items: list[_Item], size: int) -> Iterable[list[_Item]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def dimension_values(row: Any) -> list[tuple[str, str]]:
    """The (dimension, value) pairs one child counts under."""
    cats = list(row.categories or []) or ["none"]
    pairs = [("category", c) for c in cats]
    pairs.append(("category", "in_distress") if row.in_distress else ("category", "not_in_distress"))
    pairs += [
        ("arrangement", row.arrangement),
        ("schooling", row.schooling),
        ("case_status", row.case_status),
        ("sex", row.sex or "unknown"),
        ("total", "children"),
    ]
    return pairs


def _snapshot(conn: Any, villages: list[str], trigger: str) -> int | None:
    """Counts per village and dimension for the villages this recompute touched.

    A village's counts stay valid until its next snapshot, so a series for any division
    carries each village's latest counts forward; a village left with no children writes a
    zero total so it drops out rather than keeping stale counts.
    """
    if not villages:
        return None
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    snap = conn.execute(
        StatSnapshot.__table__.insert().values(taken_at=utcnow(), trigger=trigger, villages=len(villages))  # type: ignore[attr-defined]
    ).inserted_primary_key[0]
    counts: Counter[tuple[str, str, str]] = Counter()
    for chunk in _chunks(villages, 500):
        rows = conn.execute(
            select(
                T.c.division,
                T.c.categories,
                T.c.in_distress,
                T.c.arrangement,
                T.c.schooling,
                T.c.case_status,
                T.c.sex,
            ).where(T.c.division.in_(chunk))
        ).all()
        for row in rows:
            for dim, value in dimension_values(row):
                counts[(row.division, dim, value)] += 1
    for v in villages:
        counts.setdefault((v, "total", "children"), 0)
    conn.execute(
        StatCount.__table__.insert(),  # type: ignore[attr-defined]
        [
            {"snapshot_id": snap, "division": d, "dimension": dim, "value": val, "count": n}
            for (d, dim, val), n in sorted(counts.items())
        ],
    )
    return int(snap)


def stored(engine: Engine, person_id: str) -> ChildClassification | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(ChildClassification.__table__).where(  # type: ignore[attr-defined]
                ChildClassification.__table__.c.person_id == person_id  # type: ignore[attr-defined]
            )
        ).first()
    return ChildClassification(**row._mapping) if row else None


def counts_by_division(engine: Engine, prefix: str, level_digits: int) -> dict[str, Counter[str]]:
    """Category counts per sub-division (code cut to level_digits, padded to 12), of the
    materialised classification (as of its last recompute)."""
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.c.division, T.c.categories, T.c.in_distress).where(T.c.division.startswith(prefix))
        ).all()
    return _tally(((r.division, r.categories, r.in_distress) for r in rows), level_digits)


def counts_as_of(
    store: GraphStore, engine: Engine, prefix: str, level_digits: int, as_of: date
) -> dict[str, Counter[str]]:
    """``counts_by_division`` as the children were on ``as_of`` (a quarter's last day).

    The record keeps no history of facts (where a parent works, who cares for the child), so
    what differs from the materialised classification is the ages: a child who was 15 on the day
    counts as left-behind though 16 now, one who was 17 as a child, and one born since not at all.
    So only the people whose birthday put them across an age line the counts depend on (birth,
    ``left_behind_age_limit``, ``distress_age_limit``) between ``as_of`` and when the rows were
    computed are classified again, as of ``as_of``; everyone else counts as materialised. A
    quarter's report then costs a classification of a few days' births, not of its county."""
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.c.person_id, T.c.division, T.c.categories, T.c.in_distress, T.c.computed_at).where(
                T.c.division.startswith(prefix)
            )
        ).all()
    days = [clock.local(r.computed_at).date() for r in rows]
    lo, hi = min([as_of, *days]), max([as_of, clock.today(), *days])
    cfg = config().section("classification")
    lines = sorted({0, cfg["left_behind_age_limit"], cfg["distress_age_limit"]})
    born = {
        (_years_before(lo, line) + timedelta(days=d)).isoformat()
        for line in lines
        # a day of slack each side: a 29 February birthday falls on 28 February or 1 March
        for d in range(-1, (_years_before(hi, line) - _years_before(lo, line)).days + 2)
    }
    # Everyone such a birthday names, wherever they live now: a child whose row still says the
    # village it left is counted where it lives, as the reclassified (not twice, not in both).
    crossed = store.find("Person", "birth_date", sorted(born), limit=10_000_000)
    ours = sorted(n.id for n in crossed if str(n.props.get("division") or "").startswith(prefix))
    named = {n.id for n in crossed}
    kept = [(r.division, r.categories, r.in_distress) for r in rows if r.person_id not in named]
    again = [
        (r.division, r.categories, r.in_distress)
        for r in assess_all(store, ours, as_of=as_of)
        if (r.age is None or r.age >= 0) and r.division.startswith(prefix)  # born after the day: nobody yet
    ]
    return _tally([*kept, *again], level_digits)


def _years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (28 February for a 29th that year lacks)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _tally(
    rows: Iterable[tuple[str, Sequence[str] | None, bool]], level_digits: int
) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for division, categories, in_distress in rows:
        c = out[division[:level_digits].ljust(12, "0")]
        c["children"] += 1
        for cat in categories or []:
            c[cat] += 1
        if in_distress:
            c["in_distress"] += 1
    return out
