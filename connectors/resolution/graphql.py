"""Caseworkers' review queue for entity resolution, and the cross-check report, over GraphQL.

A review shows what two source records say about a person; those values are personal data and
pass the field policy like a Person's (names masked, ID numbers denied to whoever may not see
them). Deciding needs the `review_matches` capability; the cross-check `read_crosscheck`.
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import from_exception, not_found, sql_not_available
from auth.enforce.guard import FieldDenied
from auth.enforce.records import Person
from kernel import clock

# Which Person field each value of a source record is, for the field policy.
_FIELDS = {
    "name": "name",
    "id_number": "id_number",
    "sex": "sex",
    "birth_date": "birth_date",
    "division": "division",
    "phone": "phone",
}


def _engine(info: Info[Context, None]):  # type: ignore[no-untyped-def]
    if info.context.sql is None:
        raise sql_not_available()
    return info.context.sql


def _value(info: Info[Context, None], prop: str, raw: object) -> str | None:
    try:
        value = (
            info.context.guard.decide_and_apply("Person", prop, raw) if info.context.guard.enforcing else raw
        )
    except FieldDenied:
        return None
    return None if value is None else str(value)


@strawberry.type(description="What one source record says about the person it names.")
class SourceMention:
    system: str
    record_id: str
    person_id: strawberry.ID
    role: str | None
    name: str | None
    id_number: str | None = strawberry.field(description="null when the policy denies it")
    sex: str | None
    birth_date: str | None
    division: str | None
    phone: str | None
    link_method: str

    @staticmethod
    def of(info: Info[Context, None], m) -> SourceMention:  # type: ignore[no-untyped-def]
        info.context.guard.trail.records.add(f"person:{m.person_key}")
        birth = m.birth_date.isoformat() if isinstance(m.birth_date, date) else m.birth_date
        raw = {"name": m.name, "id_number": m.id_number, "sex": m.sex, "birth_date": birth,
               "division": m.division, "phone": m.phone}  # fmt: skip
        seen = {k: _value(info, _FIELDS[k], v) for k, v in raw.items()}
        return SourceMention(
            system=m.system,
            record_id=m.record_id,
            person_id=strawberry.ID(f"person:{m.person_key}"),
            role=m.role,
            link_method=m.method,
            **seen,
        )


@strawberry.type(description="A proposed match below certainty, for a caseworker to decide.")
class MatchReview:
    id: int
    score: float
    status: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    left: SourceMention
    right: SourceMention


@strawberry.type
class MatchReviewPage:
    items: list[MatchReview]
    total_in_scope: int


@strawberry.type(description="What a merge or its undoing changed.")
class MergeResult:
    merge_id: int | None
    survivor_id: strawberry.ID
    absorbed_id: strawberry.ID
    moved_records: int
    reprojected_records: int


@strawberry.type(description="How many children, and which (those in your scope), fall under a finding.")
class CrossCheckFinding:
    finding: str
    count: int | None
    examples: list[Person]


@strawberry.type(description="An attribute the sources disagree on, and for how many children.")
class CrossCheckConflict:
    attribute: str
    count: int | None


@strawberry.type(description="Where the sources disagree (MCA 2016 notice §3.3), for one division.")
class CrossCheckReport:
    as_of: date
    division: str
    children: int | None
    findings: list[CrossCheckFinding]
    conflicting_attributes: list[CrossCheckConflict]


def _review(info: Info[Context, None], r) -> MatchReview | None:  # type: ignore[no-untyped-def]
    guard = info.context.guard
    if not guard.divisions_visible({r.left.division or "", r.right.division or ""}):
        return None
    return MatchReview(
        id=r.id,
        score=r.score,
        status=r.status,
        created_at=r.created_at,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        left=SourceMention.of(info, r.left),
        right=SourceMention.of(info, r.right),
    )


def _reviewable(info: Info[Context, None], review_id: int) -> None:
    """The review exists and lies in the caller's jurisdiction; the same answer otherwise."""
    from connectors.resolution import ResolutionError, get_review

    try:
        r = get_review(_engine(info), review_id)
    except ResolutionError:
        r = None
    if r is None or not info.context.guard.divisions_visible({r.left.division or "", r.right.division or ""}):
        raise not_found("review")


def _decided_by(info: Info[Context, None]) -> str:
    p = info.context.principal
    return f"{p.agency_id}/{p.client_id}" if p is not None else "unauthenticated-benchmark"


@strawberry.type
class ResolutionQuery:
    @strawberry.field(description="Open match reviews in your jurisdiction, strongest first.")
    def match_reviews(self, info: Info[Context, None], first: int = 20, offset: int = 0) -> MatchReviewPage:
        from connectors.resolution import open_review_count, open_reviews

        guard = info.context.guard
        guard.authorize("review_matches")
        prefix = guard.scope_prefix()
        if prefix is None:
            return MatchReviewPage(items=[], total_in_scope=0)
        first, offset = max(1, min(first, 100)), max(0, offset)
        engine = _engine(info)
        found = open_reviews(engine, division_prefix=prefix or None, limit=first, offset=offset)
        items = [x for x in (_review(info, r) for r in found) if x is not None]
        return MatchReviewPage(
            items=items, total_in_scope=open_review_count(engine, division_prefix=prefix or None)
        )

    @strawberry.field(
        description="Children in one source and missing from another, school-age children with no "
        "enrolment, and facts the sources disagree on, in a division of your jurisdiction."
    )
    def cross_check(
        self, info: Info[Context, None], division: str, as_of: date | None = None, examples: int = 20
    ) -> CrossCheckReport:
        from connectors.crosscheck import crosscheck

        guard = info.context.guard
        guard.authorize("read_crosscheck")
        # The prefix the scope check approved, level by level (township 500101010 is "500101010",
        # not "50010101", which is also townships 011-019).
        code = scope.division_within(guard, division)
        on = guard.ages_on(as_of or clock.today())
        report = crosscheck(info.context.store, as_of=on, division_prefix=code)
        examples = max(0, min(examples, 100))
        lists = {f"missing.{k}": v for k, v in sorted(report.missing.items())}
        lists["school_age_not_enrolled"] = report.school_age_not_enrolled
        lists["survey_parents_away_but_register_mother_home"] = report.parents_away_but_mother_registered_home
        findings = []
        # The examples' row scope in one bounded read for every list (at most `examples` each).
        guard.preload([pid for ids in lists.values() for pid in sorted(ids)[:examples]])
        for name, ids in lists.items():
            shown: list[Person] = []
            if guard.value_withheld("CrossCheckFinding", "count", len(ids)):
                # The examples of a count this caller gets suppressed would tell it by their number.
                findings.append(CrossCheckFinding(finding=name, count=len(ids), examples=shown))
                continue
            for pid in sorted(ids):
                if len(shown) >= examples:
                    break
                profile = guard.profile(pid)
                if profile is not None and guard.visible_person(profile, pid):
                    node = profile.node(pid)
                    if node is None:
                        continue
                    shown.append(Person(_node=node, _profile=profile))
            findings.append(CrossCheckFinding(finding=name, count=len(ids), examples=shown))
        return CrossCheckReport(
            as_of=report.as_of,
            division=division,
            children=report.children,
            findings=findings,
            conflicting_attributes=[
                CrossCheckConflict(attribute=k, count=v)
                for k, v in report.conflicting_attributes.most_common()
            ],
        )


@strawberry.type
class ResolutionMutation:
    @strawberry.mutation(
        description="The two records are one person: merge them, in the links and the graph."
    )
    def merge_match(self, info: Info[Context, None], review_id: int) -> MergeResult:
        from connectors.resolution import ResolutionError
        from connectors.resolution.decisions import merge_match

        info.context.guard.authorize("review_matches")
        _reviewable(info, review_id)
        try:
            d = merge_match(_engine(info), info.context.store, review_id, _decided_by(info))
        except ResolutionError as exc:
            raise from_exception(exc, "INVALID_TRANSITION") from exc
        return _merge_result(info, d)

    @strawberry.mutation(description="The two records are different people; the pair is not proposed again.")
    def reject_match(self, info: Info[Context, None], review_id: int) -> MatchReview:
        from connectors.resolution import ResolutionError
        from connectors.resolution.decisions import reject_match

        info.context.guard.authorize("review_matches")
        _reviewable(info, review_id)
        try:
            r = reject_match(_engine(info), review_id, _decided_by(info))
        except ResolutionError as exc:
            raise from_exception(exc, "INVALID_TRANSITION") from exc
        info.context.guard.wrote(f"review:{review_id}", "MatchReview.status")
        out = _review(info, r)
        if out is None:
            raise not_found("review")
        return out

    @strawberry.mutation(description="Take a merge back: the records it moved return to the other person.")
    def undo_merge(self, info: Info[Context, None], merge_id: int) -> MergeResult:
        from connectors.resolution import ResolutionError
        from connectors.resolution.decisions import undo_match_merge

        guard = info.context.guard
        guard.authorize("review_matches")
        _merge_in_scope(info, merge_id)
        try:
            d = undo_match_merge(_engine(info), info.context.store, merge_id, _decided_by(info))
        except ResolutionError as exc:
            raise from_exception(exc, "INVALID_TRANSITION") from exc
        return _merge_result(info, d)


def _merge_in_scope(info: Info[Context, None], merge_id: int) -> None:
    from sqlalchemy import select

    from connectors.resolution.tables import MergeHistory, ResolutionMention, ReviewItem

    merges, mentions = MergeHistory.__table__, ResolutionMention.__table__  # type: ignore[attr-defined]
    reviews = ReviewItem.__table__  # type: ignore[attr-defined]
    with _engine(info).connect() as conn:
        row = conn.execute(select(merges.c.moved, merges.c.review_id).where(merges.c.id == merge_id)).first()
        divisions: set[str] = set()
        if row is not None:
            # The places of the records it moved and, for a caseworker's merge, of the
            # review item's two records (either may carry no address, as in the queue).
            places = [(m[0], m[1]) for m in (row.moved or [])]
            if row.review_id is not None:
                item = conn.execute(select(reviews).where(reviews.c.id == row.review_id)).first()
                if item is not None:
                    places += [
                        (item.left_system, item.left_record_id),
                        (item.right_system, item.right_record_id),
                    ]
            for system, record_id in places:
                divisions.update(
                    d or ""
                    for (d,) in conn.execute(
                        select(mentions.c.division).where(
                            mentions.c.system == system, mentions.c.record_id == record_id
                        )
                    )
                )
    if row is None or not info.context.guard.divisions_visible(divisions):
        raise not_found("merge")


def _merge_result(info: Info[Context, None], d) -> MergeResult:  # type: ignore[no-untyped-def]
    o = d.outcome
    for key in (o.survivor_key, o.absorbed_key):
        info.context.guard.wrote(f"person:{key}", "Person.sources")
    return MergeResult(
        merge_id=o.merge_id,
        survivor_id=strawberry.ID(f"person:{o.survivor_key}"),
        absorbed_id=strawberry.ID(f"person:{o.absorbed_key}"),
        moved_records=o.moved,
        reprojected_records=d.reprojected,
    )
