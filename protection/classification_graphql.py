"""A child's classification (留守儿童 / 困境儿童), its counts, the screening worklist and the
recompute, over GraphQL.

The worklist lives here with the classification because it is the same stored row
(``ChildClassification``) ranked by priority, and its reasons are the classification's explained
facts released through the field policy (``_released``): one release rule for both reads.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.counts import small, withheld_columns
from auth.enforce.errors import domain_errors, refused
from auth.enforce.guard import FieldDenied
from auth.enforce.records import Source
from kernel.messages import say
from protection import classification as cls
from protection import screening
from protection.screening_common_graphql import KeyCount, key_counts, sql_engine
from protection.screening_config import config
from protection.screening_tables import ChildClassification

# ---- facts and explanations --------------------------------------------------------------------


@strawberry.type(description="A fact a verdict or a risk rests on, with the source records behind it.")
class ExplainedFact:
    about: str = strawberry.field(description="The category (verdict) or rule (risk) it supports.")
    basis: str = strawberry.field(description="verdict | rule")
    text: str
    record: str = strawberry.field(description="The node or relationship id the fact is read from.")
    kind: str
    prop: str
    _value: strawberry.Private[Any]
    _sources: strawberry.Private[list[dict[str, str]]]

    @strawberry.field(description="The value as the field policy lets you see it (masked if so).")
    def value(self) -> str | None:
        # Released with the fact (_released): a fact of a denied class is not here at all.
        return None if self._value is None else str(self._value)

    @strawberry.field(description="Source records (system, record id, when) claiming the value.")
    def sources(self, info: Info[Context, None]) -> list[Source] | None:
        items = info.context.guard.read_provenance(self.kind, self._sources)
        if items is None:
            return None
        return [Source(system=s["system"], record_id=s["record_id"], at=s["at"]) for s in items]

    @staticmethod
    def of(d: dict[str, Any], about: str, basis: str) -> ExplainedFact:
        return ExplainedFact(
            about=about,
            basis=basis,
            text=d["text"],
            record=d["record"],
            kind=d["kind"],
            prop=d["prop"],
            _value=d["value"],
            _sources=d["sources"],
        )


@strawberry.type(description="Whether the child is in one category (its facts: Classification.facts).")
class Verdict:
    category: str
    holds: bool
    missing: list[str] = strawberry.field(description="Facts the graph lacks to decide (e.g. a parent).")


@strawberry.type(description="A screening rule that holds for the child, with its weight and evidence.")
class RiskReason:
    rule: str
    zh: str
    weight: int
    evidence: list[str]


def _released(info: Info[Context, None], f: dict[str, Any]) -> dict[str, Any] | None:
    """A stored fact as this caller may see it, its text composed from the value that passed the
    field policy; None for a fact whose class is denied: left out whole, never summarised (a
    text "serious illness diagnosis Q21.0" beside a null value would be the leak)."""
    guard = info.context.guard
    if not guard.enforcing or f["prop"] == "id":
        return f
    guard.trail.records.add(f["record"])
    raw = f["value"]
    try:
        value = guard.decide_and_apply(f["kind"], f["prop"], raw)
    except FieldDenied:
        return None
    text = f["text"]
    if value != raw and raw not in (None, ""):
        shown = "***" if value is None else str(value)
        text = text.replace(str(raw), shown)
    return {**f, "text": text, "value": value}


def _released_facts(info: Info[Context, None], facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in (_released(info, f) for f in facts) if r is not None]


def _reasons(info: Info[Context, None], explanation: dict[str, Any]) -> list[RiskReason]:
    return [
        RiskReason(
            rule=r["rule"],
            zh=r["zh"],
            weight=r["weight"],
            evidence=[f["text"] for f in _released_facts(info, r["facts"])],
        )
        for r in explanation.get("risks", [])
    ]


def _lines(info: Info[Context, None], explanation: dict[str, Any]) -> list[str]:
    """One line per rule that holds: its Chinese name and the evidence the caller may see."""
    return [
        f"{r['zh']}: " + "; ".join(f["text"] for f in _released_facts(info, r["facts"]))
        for r in explanation.get("risks", [])
    ]


@strawberry.type(
    description="A child's classification (留守儿童 / 困境儿童) and screening result. Lists are kept flat "
    "(verdicts, reasons, and every fact once with what it supports) so a full explanation stays "
    "within the query cost limit."
)
class Classification:
    person_id: strawberry.ID
    division: str
    age: int | None
    left_behind: bool
    in_distress: bool
    categories: list[str]
    arrangement: str
    schooling: str
    case_status: str
    priority: int
    last_visit: str | None
    computed_at: datetime
    verdicts: list[Verdict]
    reasons: list[RiskReason]
    facts: list[ExplainedFact]

    @staticmethod
    def of(row: ChildClassification, info: Info[Context, None]) -> Classification:
        ex = row.explanation or {}
        facts = [
            ExplainedFact.of(f, v["category"], "verdict")
            for v in ex.get("verdicts", [])
            for f in _released_facts(info, v["facts"])
        ]
        facts += [
            ExplainedFact.of(f, r["rule"], "rule")
            for r in ex.get("risks", [])
            for f in _released_facts(info, r["facts"])
        ]
        return Classification(
            person_id=strawberry.ID(row.person_id),
            division=row.division,
            age=row.age,
            left_behind=row.left_behind,
            in_distress=row.in_distress,
            categories=list(row.categories or []),
            arrangement=row.arrangement,
            schooling=row.schooling,
            case_status=row.case_status,
            priority=row.priority,
            last_visit=row.last_visit,
            computed_at=row.computed_at,
            verdicts=[
                Verdict(category=v["category"], holds=v["holds"], missing=list(v["missing"]))
                for v in ex.get("verdicts", [])
            ],
            reasons=_reasons(info, ex),
            facts=facts,
        )


@strawberry.type(description="Counts of children by category in one division.")
class DivisionCounts:
    division: str
    counts: list[KeyCount]


@strawberry.type(description="One child on a worklist, highest priority first, with the reasons.")
class WorklistEntry:
    person_id: strawberry.ID
    division: str
    categories: list[str]
    priority: int
    last_visit: str | None
    rules: list[str] = strawberry.field(description="The rules that hold, by name.")
    reasons: list[str] = strawberry.field(description="One line per rule: 中文名: evidence; evidence.")
    _name: strawberry.Private[Any]

    @strawberry.field(description="The child's name (declared identity, masked as Person.name).")
    def name(self, info: Info[Context, None]) -> str | None:
        guard = info.context.guard
        if guard.enforcing:
            guard.trail.records.add(str(self.person_id))
        return self._name


@strawberry.type
class Worklist:
    division: str
    total: int
    by_rule: list[KeyCount]
    entries: list[WorklistEntry]


@strawberry.type(description="How many children a recompute classified and how long it took.")
class RecomputeResult:
    children: int
    removed: int
    seconds: float
    snapshot_id: int | None


@strawberry.type
class ClassificationQuery:
    @strawberry.field(
        description="A child's classification (留守/困境) with the facts and sources behind it."
    )
    def classification(self, info: Info[Context, None], person_id: strawberry.ID) -> Classification | None:
        info.context.guard.authorize("read_classification")
        scope.child_division(info.context.guard, str(person_id))
        row = cls.stored(sql_engine(info), str(person_id))
        if row is None:
            cls.recompute(
                info.context.store, sql_engine(info), [str(person_id)], trigger="read", snapshot=False
            )
            row = cls.stored(sql_engine(info), str(person_id))
        info.context.guard.trail.records.add(str(person_id))
        return Classification.of(row, info) if row else None

    @strawberry.field(description="Children by category in each division one level below (and the total).")
    def classification_counts(self, info: Info[Context, None], division: str) -> list[DivisionCounts]:
        info.context.guard.authorize("read_classification")
        prefix = scope.division_within(info.context.guard, division)
        digits = min(12, {2: 4, 4: 6, 6: 9, 9: 12, 12: 12}[len(prefix)])
        counts = cls.counts_by_division(sql_engine(info), prefix, digits)
        total: Counter[str] = Counter()
        for c in counts.values():
            total.update(c)
        hidden = withheld_columns(info.context.guard, counts, cls.CATEGORY_CLASSES)
        rows = [
            DivisionCounts(division=d, counts=key_counts(c, {k for row, k in hidden if row == d}))
            for d, c in sorted(counts.items())
        ]
        shown = key_counts(total, small(info.context.guard, total, cls.CATEGORY_CLASSES))
        return [DivisionCounts(division=division, counts=shown), *rows]

    @strawberry.field(description="Children at risk in a division, by priority, with the rules that hold.")
    def worklist(
        self,
        info: Info[Context, None],
        division: str,
        rule: str | None = None,
        first: int = 50,
        offset: int = 0,
    ) -> Worklist:
        info.context.guard.authorize("read_worklist")
        prefix = scope.division_within(info.context.guard, division)
        if rule is not None and rule not in config().rules:
            raise refused(say("api.unknown_rule"), "BAD_REQUEST", "invalid_input")
        page = screening.worklist(
            sql_engine(info), prefix, rule=rule, first=max(1, min(first, 200)), offset=max(0, offset)
        )
        nodes = info.context.store.get_nodes([r.person_id for r in page.rows])
        entries = [
            WorklistEntry(
                person_id=strawberry.ID(r.person_id),
                division=r.division,
                categories=list(r.categories or []),
                priority=r.priority,
                last_visit=r.last_visit,
                rules=list(r.risks or []),
                reasons=_lines(info, r.explanation or {}),
                _name=nodes[r.person_id].props.get("name") if r.person_id in nodes else None,
            )
            for r in page.rows
        ]
        return Worklist(
            division=division, total=page.total, by_rule=key_counts(page.by_rule), entries=entries
        )


@strawberry.type
class ClassificationMutation:
    @strawberry.mutation(description="Reclassify and rescreen every child of a division after facts changed.")
    def recompute_classification(self, info: Info[Context, None], division: str) -> RecomputeResult:
        guard = info.context.guard
        guard.authorize("recompute_classification")
        scope.division_within(info.context.guard, division)
        # A busy writer is graph_busy (send it again), any other engine failure graph_error.
        with domain_errors():
            r = cls.recompute(info.context.store, sql_engine(info), division=division, trigger="manual")
        guard.wrote(
            f"classification:{division}", "ChildClassification.categories", "ChildClassification.risks"
        )
        return RecomputeResult(
            children=r.children, removed=r.removed, seconds=round(r.seconds, 3), snapshot_id=r.snapshot_id
        )


__all__ = ["ClassificationMutation", "ClassificationQuery"]
