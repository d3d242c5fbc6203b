"""``resolve``: stable person keys for person mentions, and the review queue that corrects them.

How a run goes:

1. Mentions already linked by an earlier run keep their person key (their stored
   attributes are refreshed if the source changed them; the link is not revisited).
2. New mentions join the population of every mention the resolver has seen
   (``resolution_mention``), so they are compared with existing people as well as with
   each other.
3. Deterministic linkage: mentions with the same valid ID number are one person, and a
   person never holds two different valid ID numbers.
4. Probabilistic linkage with Splink on DuckDB (:mod:`connectors.resolution.linkage`,
   comparisons in :mod:`connectors.resolution.chinese`) for every pair with at least
   one new side and at least one side without an ID number. Clusters merge when the
   median match weight over their pairs reaches ``match_threshold``; a record that fits
   two identified namesakes about equally well is linked to neither.
5. Existing people keep their keys. One exception: a *provisional* person, known only
   from mentions without an ID number, is absorbed into the identified person it turns
   out to be once the evidence reaches the threshold. The merge is recorded in
   ``merge_history`` (``decided_by = "resolver"``), reported by
   :func:`resolve_with_changes`, and can be undone, after which it is not repeated.
   Two identified people are never merged automatically.
6. Pairs of people scoring between ``review_threshold`` and ``match_threshold`` (or above
   it, where an automatic merge was refused as ambiguous) become ``review_item`` rows.
   A caseworker resolves them with :func:`merge` or :func:`reject`; :func:`undo_merge`
   takes a merge back. Each returns the person keys whose mentions changed, so the
   pipeline can re-project those people into the graph.

Model parameters: the m and u probabilities are estimated from the data (u from random
pairs, m from the pairs of mentions that share a valid ID number, which are known
matches) and stored in ``resolution_model``; later runs reuse the stored model and
retrain once the number of labelled pairs has doubled. A comparison the data cannot
train yet keeps :data:`connectors.resolution.chinese.DEFAULT_PARAMETERS` (from a
200,000-person training run). Thresholds are in :class:`ResolverSettings`.

Person keys are ``uuid4().hex``: random, never derived from an ID number or a name.
Runs are meant to be serialised (the sync runner resolves one batch at a time); two
concurrent runs over the same new mentions would both try to insert their links and
one would fail on the primary key.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, or_, select, tuple_, update

from connectors.mentions import PersonMention
from connectors.resolution.chinese import PERSON_SPEC, STORED_COLUMNS, mention_row, to_frame
from connectors.resolution.evidence import family_evidence, id_conflicts, twin_guards
from connectors.resolution.linkage import (
    ClusterResult,
    LinkageSpec,
    ReviewCandidate,
    default_model,
    label_pairs,
    link,
    predict,
    train,
)
from connectors.resolution.tables import (
    MergeHistory,
    PersonLink,
    ReprojectQueue,
    ResolutionMention,
    ResolutionModel,
    ReviewItem,
)
from kernel import clock
from kernel.db.tables import utcnow

__all__ = [
    "RESOLVER",
    "MentionView",
    "MergeOutcome",
    "Resolution",
    "ResolutionError",
    "ResolverSettings",
    "Review",
    "get_review",
    "merge",
    "open_review_count",
    "open_reviews",
    "person_mentions",
    "reject",
    "resolve",
    "resolve_with_changes",
    "undo_merge",
]

log = logging.getLogger(__name__)

LINK = PersonLink.__table__  # type: ignore[attr-defined]
MENTION = ResolutionMention.__table__  # type: ignore[attr-defined]
REVIEW = ReviewItem.__table__  # type: ignore[attr-defined]
MERGE = MergeHistory.__table__  # type: ignore[attr-defined]
MODEL = ResolutionModel.__table__  # type: ignore[attr-defined]
REPROJECT = ReprojectQueue.__table__  # type: ignore[attr-defined]

_INSERT_CHUNK = 5_000


@dataclass(frozen=True)
class ResolverSettings:
    """Thresholds of one resolution run.

    ``match_threshold`` and ``review_threshold`` are match probabilities (Splink's, the
    median over the scored pairs of records of the two candidate people). On a
    200,000-person synthetic county (bench/resolution_bench.py) 0.9 gave pairwise
    precision 1.0 and recall 0.997 on the pairs involving a mention without an ID number
    (0.9999 and 0.995 when resolved in pipeline batches of 20,000), and about one review
    item per 1,000 people.
    ``ambiguity_margin`` is in bits of match weight: a record without an ID number is
    only linked automatically if its best person beats every conflicting rival by that
    much. ``retrain_growth``: retrain when the labelled pairs have grown by this factor.
    """

    match_threshold: float = 0.9
    review_threshold: float = 0.3
    ambiguity_margin: float = 3.0
    retrain_growth: float = 2.0
    seed: int = 1


class ResolutionError(ValueError):
    """A review or merge request that cannot be carried out (unknown, already decided, undone)."""


# ---------------------------------------------------------------------------------------- resolve


@dataclass(frozen=True)
class Resolution:
    """What one :func:`resolve_with_changes` run decided.

    ``keys`` maps every input mention to its person key. ``merges`` are the provisional
    people (known so far only from mentions without an ID number) that this run
    absorbed into another person because their counterpart turned up; each is recorded
    in ``merge_history`` and can be undone with :func:`undo_merge`. The pipeline
    re-projects the ``changed_keys`` of each.
    """

    keys: dict[tuple[str, str], str]
    merges: list[MergeOutcome]
    new_people: int
    review_items: int


def resolve(
    engine: Engine,
    mentions: Sequence[PersonMention],
    *,
    settings: ResolverSettings | None = None,
    today: date | None = None,
) -> dict[tuple[str, str], str]:
    """A stable person key for every ``(system, record_id)`` in ``mentions``.

    Re-running with the same mentions returns the same keys; running with more mentions
    returns the same keys for the old ones and links the new ones to existing people
    where they match. See the module docstring for the method, and
    :func:`resolve_with_changes` for the people a run merged.
    """
    return resolve_with_changes(engine, mentions, settings=settings, today=today).keys


def resolve_with_changes(
    engine: Engine,
    mentions: Sequence[PersonMention],
    *,
    settings: ResolverSettings | None = None,
    today: date | None = None,
) -> Resolution:
    """:func:`resolve`, also reporting the existing people the run merged."""
    settings = settings or ResolverSettings()
    today = today or clock.today()
    t0 = time.perf_counter()
    latest: dict[tuple[str, str], PersonMention] = {}
    for m in mentions:
        latest[m.key] = m
    incoming = [mention_row(m, today=today) for m in latest.values()]

    existing, stored = _load_population(engine)
    known = {(row[0], row[1]): row for row in stored}
    fresh_rows = [row for row in incoming if (row["system"], row["record_id"]) not in known]
    changed = [
        row
        for row in incoming
        if (old := known.get((row["system"], row["record_id"]))) is not None
        and tuple(row[c] for c in STORED_COLUMNS) != tuple(old[: len(STORED_COLUMNS)])
    ]
    if changed:
        _refresh(engine, changed)
    old_keys = dict(
        zip(zip(existing["system"], existing["record_id"], strict=True), existing["person_key"], strict=True)
    )
    if not fresh_rows:
        return Resolution({m.key: old_keys[m.key] for m in latest.values()}, [], 0, 0)

    new = pd.DataFrame.from_records(fresh_rows, columns=STORED_COLUMNS)
    rows = pd.concat([existing[list(STORED_COLUMNS)], new], ignore_index=True) if len(existing) else new
    n_old = len(existing)
    fresh = np.zeros(len(rows), dtype=bool)
    fresh[n_old:] = True
    frame = to_frame(rows, fresh)
    person_keys: list[str | None] = [*existing["person_key"].tolist(), *([None] * len(new))]

    with engine.connect() as conn:
        reviewed, blocked = _reviewed_person_pairs(conn)
    # An ID number is strong evidence, not a verdict: a record that contradicts its
    # number's holder loses the number for this run and is kept from the holder.
    conflicts = id_conflicts(frame, person_keys)
    issued = [x if isinstance(x, str) else None for x in frame["id_number"].tolist()]
    if conflicts.demoted:
        frame.loc[sorted(conflicts.demoted), "id_number"] = pd.NA
    guards = [*conflicts.guards, *twin_guards(frame, issued)]
    if frame["id_number"].notna().all():
        result = _deterministic_only(frame, person_keys)
        edges = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
    else:
        model = _model(engine, frame, PERSON_SPEC, settings)
        result, edges = link(
            frame,
            PERSON_SPEC,
            model,
            match_threshold=settings.match_threshold,
            review_threshold=settings.review_threshold,
            existing=person_keys,
            fresh=fresh,
            reviewed_pairs=reviewed,
            rejected_pairs=blocked,
            extra_condition="l.fresh OR r.fresh",
            ambiguity_margin=settings.ambiguity_margin,
            guards=guards,
            collective=lambda labels: family_evidence(frame, labels),
        )
        result.reviews.extend(_conflict_reviews(frame, PERSON_SPEC, model, result, conflicts.guards))
    plan = _assign(frame, rows, person_keys, result, edges, n_old)
    now = utcnow()
    merges: list[MergeOutcome] = []
    with engine.begin() as conn:
        _insert(conn, MENTION, [{**r, "seen_at": now} for r in fresh_rows])
        _insert(conn, LINK, [{**lk, "linked_at": now} for lk in plan.links])
        for survivor, absorbed in plan.absorbed:
            merges.append(_absorb(conn, survivor, absorbed, now))
        if merges:
            _close_answered_reviews(conn, now)
        _insert_reviews(conn, plan.reviews, now)
    keys = {k: plan.renamed.get(v, v) for k, v in old_keys.items()}
    keys.update({(lk["system"], lk["record_id"]): lk["person_key"] for lk in plan.links})
    new_people = len({lk["person_key"] for lk in plan.links} - set(existing["person_key"]))
    log.info(
        "resolved %d new mentions against %d known in %.1fs: %d new people, %d merged, %d review items; "
        "refused %s",
        len(new),
        n_old,
        time.perf_counter() - t0,
        new_people,
        len(merges),
        len(plan.reviews),
        result.refused,
    )
    return Resolution({m.key: keys[m.key] for m in latest.values()}, merges, new_people, len(plan.reviews))


def _load_population(engine: Engine) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """Every mention resolved so far with its person key, as a frame and as row tuples."""
    cols = [MENTION.c[c] for c in STORED_COLUMNS]
    query = select(*cols, LINK.c.person_key).join(
        LINK, and_(LINK.c.system == MENTION.c.system, LINK.c.record_id == MENTION.c.record_id)
    )
    with engine.connect() as conn:
        data = [tuple(r) for r in conn.execute(query)]
    return pd.DataFrame.from_records(data, columns=[*STORED_COLUMNS, "person_key"]), data


def _refresh(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Store a known mention's new attributes; its link stays (see module docstring)."""
    now = utcnow()
    with engine.begin() as conn:
        for row in rows:
            values = {c: row[c] for c in STORED_COLUMNS if c not in ("system", "record_id")}
            conn.execute(
                update(MENTION)
                .where(MENTION.c.system == row["system"], MENTION.c.record_id == row["record_id"])
                .values(**values, seen_at=now)
            )


def _model(
    engine: Engine, frame: pd.DataFrame, spec: LinkageSpec, settings: ResolverSettings
) -> dict[str, Any]:
    """The stored model, retrained when the labelled pairs have grown enough (then stored)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(MODEL.c.settings, MODEL.c.labelled_pairs)
            .where(MODEL.c.spec == spec.name, MODEL.c.version == spec.version)
            .order_by(MODEL.c.id.desc())
            .limit(1)
        ).first()
    labelled = label_pairs(frame, spec.label_column) if spec.label_column else 0
    enough = labelled >= spec.min_label_pairs
    if row is not None and not (enough and labelled >= settings.retrain_growth * max(row.labelled_pairs, 1)):
        return dict(row.settings)
    model = train(frame, spec, seed=settings.seed) if enough else default_model(spec, len(frame))
    if row is None or enough:
        with engine.begin() as conn:
            conn.execute(
                MODEL.insert().values(
                    spec=spec.name,
                    version=spec.version,
                    trained_at=utcnow(),
                    records=len(frame),
                    labelled_pairs=labelled if enough else 0,
                    settings=model,
                )
            )
    return model


def _conflict_reviews(
    frame: pd.DataFrame,
    spec: LinkageSpec,
    model: dict[str, Any],
    result: ClusterResult,
    guards: Sequence[tuple[int, int, str]],
) -> list[ReviewCandidate]:
    """A review item for every record whose ID number was set aside and that its holder did not get.

    Unlike an ordinary candidate it is queued whatever the pair scores: the two records
    share a valid ID number, and only a person can say which of them is wrong.
    """
    labels = result.labels
    pending = [(x, y, reason) for x, y, reason in guards if labels[x] != labels[y]]
    if not pending:
        return []
    queued = {frozenset((int(labels[r.left]), int(labels[r.right]))) for r in result.reviews}
    pairs = pd.DataFrame({"l": [min(x, y) for x, y, _ in pending], "r": [max(x, y) for x, y, _ in pending]})
    scored = predict(frame, spec, model, threshold=None, pairs=pairs)
    prob = {
        (a, b): p
        for a, b, p in zip(
            scored["unique_id_l"].tolist(),
            scored["unique_id_r"].tolist(),
            scored["match_probability"].tolist(),
            strict=True,
        )
    }
    out = []
    for x, y, reason in pending:
        key = frozenset((int(labels[x]), int(labels[y])))
        if key in queued:
            continue
        queued.add(key)
        out.append(ReviewCandidate(x, y, float(prob.get((min(x, y), max(x, y)), 0.0)), reason))
    return out


def _deterministic_only(frame: pd.DataFrame, person_keys: Sequence[str | None]) -> ClusterResult:
    """Every mention has a valid ID number: link by it, no scoring needed."""
    from connectors.resolution.linkage import cluster

    empty = pd.DataFrame(
        {
            "unique_id_l": pd.Series(dtype="int64"),
            "unique_id_r": pd.Series(dtype="int64"),
            "match_weight": pd.Series(dtype="float64"),
            "match_probability": pd.Series(dtype="float64"),
        }
    )
    return cluster(
        len(frame),
        empty,
        match_threshold=1.0,
        review_threshold=1.0,
        identifiers=[x if isinstance(x, str) else None for x in frame["id_number"].tolist()],
        existing=person_keys,
    )


@dataclass
class _Plan:
    links: list[dict[str, Any]]
    absorbed: list[tuple[str, str]]  # (survivor, absorbed) existing person keys
    renamed: dict[str, str]  # absorbed key -> survivor key
    reviews: list[dict[str, Any]]


def _assign(
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    person_keys: Sequence[str | None],
    result: ClusterResult,
    edges: pd.DataFrame,
    n_old: int,
) -> _Plan:
    """Person keys for the new mentions, existing people to absorb, and the review pairs.

    A cluster holding mentions of two existing people keeps the key of the one with an
    ID number among its mentions (the clustering allows at most one such), else the key
    with most mentions (then the smaller key, so that reruns agree).
    """
    labels = result.labels
    has_id = frame["id_number"].notna().to_numpy()
    members: dict[int, dict[str, list[int]]] = {}
    clustered = result.nodes if result.nodes is not None else np.arange(len(labels))
    for i in clustered[clustered < n_old].tolist():
        members.setdefault(int(labels[i]), {}).setdefault(person_keys[i], []).append(i)
    cluster_key: dict[int, str] = {}
    absorbed: list[tuple[str, str]] = []
    renamed: dict[str, str] = {}
    for c, by_key in members.items():
        ranked = sorted(
            by_key.items(), key=lambda kv: (not any(has_id[i] for i in kv[1]), -len(kv[1]), kv[0])
        )
        survivor = ranked[0][0]
        cluster_key[c] = survivor
        for old_key, _ in ranked[1:]:
            absorbed.append((survivor, old_key))
            renamed[old_key] = survivor
    sizes = np.bincount(labels, minlength=len(labels))
    best = _best_edge_within(edges, labels)
    systems, records = rows["system"].tolist(), rows["record_id"].tolist()
    links: list[dict[str, Any]] = []
    for i in range(n_old, len(frame)):
        c = int(labels[i])
        key = cluster_key.get(c)
        if key is None:
            key = cluster_key[c] = uuid.uuid4().hex
        if has_id[i]:
            method, score = "id_number", None
        elif sizes[c] > 1:
            method, score = "probabilistic", best.get(i)
        else:
            method, score = "new", None
        links.append(
            {
                "system": systems[i],
                "record_id": records[i],
                "person_key": key,
                "method": method,
                "score": None if score is None else round(float(score), 6),
            }
        )
    reviews = [
        {
            "left_system": systems[r.left],
            "left_record_id": records[r.left],
            "right_system": systems[r.right],
            "right_record_id": records[r.right],
            "score": round(float(r.probability), 6),
            "reason": r.reason,
        }
        for r in result.reviews
    ]
    return _Plan(links, absorbed, renamed, reviews)


def _absorb(conn: Connection, survivor: str, absorbed: str, now: datetime) -> MergeOutcome:
    """Move a provisional person's mentions to ``survivor``, recorded so it can be undone."""
    moved = [
        [s, r, m, sc]
        for s, r, m, sc in conn.execute(
            select(LINK.c.system, LINK.c.record_id, LINK.c.method, LINK.c.score).where(
                LINK.c.person_key == absorbed
            )
        )
    ]
    conn.execute(update(LINK).where(LINK.c.person_key == absorbed).values(person_key=survivor, linked_at=now))
    merge_id = _row_id(
        conn.execute(
            MERGE.insert().values(
                review_id=None,
                survivor_key=survivor,
                absorbed_key=absorbed,
                moved=moved,
                decided_by=RESOLVER,
                decided_at=now,
            )
        ).inserted_primary_key
    )
    # The graph must show it too (absorbed person gone, its records on the survivor): queued with
    # the merge, so a kill before the pipeline's next graph write cannot lose it.
    conn.execute(
        REPROJECT.insert(),
        [{"person_key": k, "merge_id": merge_id, "enqueued_at": now} for k in (survivor, absorbed)],
    )
    return MergeOutcome(merge_id, survivor, absorbed, len(moved), frozenset((survivor, absorbed)))


RESOLVER = "resolver"
"""``decided_by`` of the merges the resolver makes itself."""


def _close_answered_reviews(conn: Connection, now: datetime) -> None:
    """Open review items whose two mentions are now one person: closed as merged by the resolver."""
    sides = _Sides()
    ids = [
        i
        for (i,) in conn.execute(
            sides.joined(select(REVIEW.c.id)).where(
                REVIEW.c.status == "open", sides.ll.c.person_key == sides.rl.c.person_key
            )
        )
    ]
    for chunk in _chunks(ids, 500):
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id.in_(chunk))
            .values(status="merged", decided_by=RESOLVER, decided_at=now)
        )


def _best_edge_within(edges: pd.DataFrame, labels: np.ndarray) -> dict[int, float]:
    """Each record's best match probability to another record of its own cluster."""
    if not len(edges):
        return {}
    left = edges["unique_id_l"].to_numpy(dtype=np.int64)
    right = edges["unique_id_r"].to_numpy(dtype=np.int64)
    prob = edges["match_probability"].to_numpy(dtype=np.float64)
    inside = labels[left] == labels[right]
    best: dict[int, float] = {}
    for a, b, p in zip(left[inside].tolist(), right[inside].tolist(), prob[inside].tolist(), strict=True):
        if p > best.get(a, -1.0):
            best[a] = p
        if p > best.get(b, -1.0):
            best[b] = p
    return best


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_CHUNK):
        conn.execute(table.insert(), list(rows[start : start + _INSERT_CHUNK]))


def _reviewed_person_pairs(conn: Connection) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Pairs of current person keys with a review item: (any status, rejected).

    Rejected pairs are never merged automatically. An open item is not a bar: when later
    mentions make the match certain, the resolver merges (recorded, undoable) and closes
    the item as merged by :data:`RESOLVER`.
    """
    left, right = LINK.alias("l"), LINK.alias("r")
    query = (
        select(left.c.person_key, right.c.person_key, REVIEW.c.status)
        .select_from(REVIEW)
        .join(left, and_(left.c.system == REVIEW.c.left_system, left.c.record_id == REVIEW.c.left_record_id))
        .join(
            right,
            and_(right.c.system == REVIEW.c.right_system, right.c.record_id == REVIEW.c.right_record_id),
        )
    )
    reviewed: set[tuple[str, str]] = set()
    rejected: set[tuple[str, str]] = set()
    for a, b, status in conn.execute(query):
        reviewed.add((a, b))
        if status == "rejected":
            rejected.add((a, b))
    return reviewed, rejected


def _insert_reviews(conn: Connection, reviews: Sequence[dict[str, Any]], now: datetime) -> None:
    """Review items for the candidate pairs; a pair already queued (either way round) is skipped."""
    if not reviews:
        return
    known = {
        frozenset(((a, b), (c, d)))
        for a, b, c, d in conn.execute(
            select(
                REVIEW.c.left_system, REVIEW.c.left_record_id, REVIEW.c.right_system, REVIEW.c.right_record_id
            )
        )
    }
    rows = []
    for r in reviews:
        pair = frozenset(((r["left_system"], r["left_record_id"]), (r["right_system"], r["right_record_id"])))
        if pair in known:
            continue
        known.add(pair)
        rows.append({**r, "status": "open", "created_at": now})
    _insert(conn, REVIEW, rows)


# ----------------------------------------------------------------------------------- review queue


@dataclass(frozen=True)
class MentionView:
    """One mention as a caseworker needs to see it to decide a review.

    It carries personal data (name, ID number, phone): whoever serves it must apply the
    field policy (masking, purpose) like any other read of personal data.
    """

    system: str
    record_id: str
    person_key: str
    role: str | None
    name: str | None
    id_number: str | None
    sex: str | None
    birth_date: date | None
    division: str | None
    phone: str | None
    method: str
    score: float | None


@dataclass(frozen=True)
class Review:
    """A review item with both mentions, as the GraphQL layer presents it."""

    id: int
    left: MentionView
    right: MentionView
    score: float
    status: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None = None


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge or its undoing did.

    ``changed_keys`` are the person keys whose set of mentions changed: the pipeline
    re-projects exactly these people into the graph (the absorbed key's node goes away
    on a merge and comes back on an undo).
    """

    merge_id: int | None
    survivor_key: str
    absorbed_key: str
    moved: int
    changed_keys: frozenset[str]


_VIEW_COLUMNS = (
    "system",
    "record_id",
    "person_key",
    "role",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "division",
    "phone",
    "method",
    "score",
)


def _view_query(alias_link: Any, alias_mention: Any) -> list[Any]:
    cols = []
    for c in _VIEW_COLUMNS:
        table = alias_link if c in ("system", "record_id", "person_key", "method", "score") else alias_mention
        cols.append(table.c[c])
    return cols


class _Sides:
    """The link and mention rows of both sides of a review item, as aliases of one query."""

    def __init__(self) -> None:
        self.ll, self.lm = LINK.alias("ll"), MENTION.alias("lm")
        self.rl, self.rm = LINK.alias("rl"), MENTION.alias("rm")

    def joined(self, query: Any) -> Any:
        ll, lm, rl, rm = self.ll, self.lm, self.rl, self.rm
        return (
            query.select_from(REVIEW)
            .join(ll, and_(ll.c.system == REVIEW.c.left_system, ll.c.record_id == REVIEW.c.left_record_id))
            .join(lm, and_(lm.c.system == REVIEW.c.left_system, lm.c.record_id == REVIEW.c.left_record_id))
            .join(rl, and_(rl.c.system == REVIEW.c.right_system, rl.c.record_id == REVIEW.c.right_record_id))
            .join(rm, and_(rm.c.system == REVIEW.c.right_system, rm.c.record_id == REVIEW.c.right_record_id))
        )

    def open(self, division_prefix: str | None) -> list[Any]:
        """Open items whose two mentions are still two people (a merge may have joined them)."""
        conditions: list[Any] = [REVIEW.c.status == "open", self.ll.c.person_key != self.rl.c.person_key]
        if division_prefix:
            conditions.append(
                or_(
                    self.lm.c.division.startswith(division_prefix),
                    self.rm.c.division.startswith(division_prefix),
                )
            )
        return conditions


def _reviews(
    conn: Connection, sides: _Sides, conditions: Sequence[Any], limit: int | None = None, offset: int = 0
) -> list[Review]:
    query = sides.joined(
        select(
            REVIEW.c.id,
            REVIEW.c.score,
            REVIEW.c.status,
            REVIEW.c.created_at,
            REVIEW.c.decided_by,
            REVIEW.c.decided_at,
            REVIEW.c.reason,
            *_view_query(sides.ll, sides.lm),
            *_view_query(sides.rl, sides.rm),
        )
    )
    query = query.where(*conditions).order_by(REVIEW.c.score.desc(), REVIEW.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    out = []
    k = len(_VIEW_COLUMNS)
    for row in conn.execute(query):
        values = tuple(row)
        head, left, right = values[:7], values[7 : 7 + k], values[7 + k :]
        out.append(
            Review(
                id=head[0],
                score=head[1],
                status=head[2],
                created_at=head[3],
                decided_by=head[4],
                decided_at=head[5],
                reason=head[6],
                left=MentionView(*left),
                right=MentionView(*right),
            )
        )
    return out


def open_reviews(
    engine: Engine, *, division_prefix: str | None = None, limit: int = 100, offset: int = 0
) -> list[Review]:
    """Open review items, strongest first.

    ``division_prefix`` keeps items where either mention lies inside a division (a
    township caseworker passes the township's 9-digit prefix); it narrows the queue,
    it does not replace the API's row-scope check.
    """
    sides = _Sides()
    with engine.connect() as conn:
        return _reviews(conn, sides, sides.open(division_prefix), limit=limit, offset=offset)


def open_review_count(engine: Engine, *, division_prefix: str | None = None) -> int:
    """How many :func:`open_reviews` there are."""
    sides = _Sides()
    query = sides.joined(select(func.count())).where(*sides.open(division_prefix))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def get_review(engine: Engine, review_id: int) -> Review:
    """One review item, whatever its status."""
    with engine.connect() as conn:
        found = _reviews(conn, _Sides(), [REVIEW.c.id == review_id])
    if not found:
        raise ResolutionError(f"review item {review_id} does not exist")
    return found[0]


def person_mentions(engine: Engine, person_key: str) -> list[MentionView]:
    """Every mention linked to a person, for a caseworker looking at one person's sources."""
    query = (
        select(*_view_query(LINK, MENTION))
        .select_from(LINK)
        .join(MENTION, and_(MENTION.c.system == LINK.c.system, MENTION.c.record_id == LINK.c.record_id))
        .where(LINK.c.person_key == person_key)
        .order_by(LINK.c.system, LINK.c.record_id)
    )
    with engine.connect() as conn:
        return [MentionView(*row) for row in conn.execute(query)]


def _row_id(key: Any) -> int:
    """The id of the merge row just inserted (SQLAlchemy types the key as optional)."""
    if key is None:
        raise ResolutionError("the merge record was written without an id")
    return int(key[0])


def _key_of(conn: Connection, system: str, record_id: str) -> str:
    key = conn.execute(
        select(LINK.c.person_key).where(LINK.c.system == system, LINK.c.record_id == record_id)
    ).scalar_one_or_none()
    if key is None:
        raise ResolutionError(f"mention ({system}, {record_id}) is not linked to anyone")
    return str(key)


def _open_item(conn: Connection, review_id: int) -> Any:
    item = conn.execute(select(REVIEW).where(REVIEW.c.id == review_id)).first()
    if item is None:
        raise ResolutionError(f"review item {review_id} does not exist")
    if item.status != "open":
        raise ResolutionError(f"review item {review_id} is already {item.status}")
    return item


def merge(engine: Engine, review_id: int, decided_by: str) -> MergeOutcome:
    """The two mentions of a review item are one person: merge their people.

    The person with more mentions survives (the left one on a tie), so the key most
    likely to be referenced already stays; every mention of the other person moves to
    it, and the move is recorded in ``merge_history`` for :func:`undo_merge`. Merging is
    allowed even when the two people carry different valid ID numbers: the caseworker
    may know that one of them was recorded wrongly.
    """
    if not decided_by:
        raise ResolutionError("a merge needs the name of whoever decided it")
    now = utcnow()
    with engine.begin() as conn:
        item = _open_item(conn, review_id)
        left = _key_of(conn, item.left_system, item.left_record_id)
        right = _key_of(conn, item.right_system, item.right_record_id)
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id == review_id)
            .values(status="merged", decided_by=decided_by, decided_at=now)
        )
        if left == right:
            return MergeOutcome(None, left, right, 0, frozenset())
        counts: dict[str, int] = dict(
            conn.execute(
                select(LINK.c.person_key, func.count())
                .where(LINK.c.person_key.in_((left, right)))
                .group_by(LINK.c.person_key)
            ).all()
        )
        survivor, absorbed = (right, left) if counts.get(right, 0) > counts.get(left, 0) else (left, right)
        moved = [
            [s, r, m, sc]
            for s, r, m, sc in conn.execute(
                select(LINK.c.system, LINK.c.record_id, LINK.c.method, LINK.c.score).where(
                    LINK.c.person_key == absorbed
                )
            )
        ]
        conn.execute(
            update(LINK)
            .where(LINK.c.person_key == absorbed)
            .values(person_key=survivor, method="review", score=item.score, linked_at=now)
        )
        merge_id = _row_id(
            conn.execute(
                MERGE.insert().values(
                    review_id=review_id,
                    survivor_key=survivor,
                    absorbed_key=absorbed,
                    moved=moved,
                    decided_by=decided_by,
                    decided_at=now,
                )
            ).inserted_primary_key
        )
    return MergeOutcome(merge_id, survivor, absorbed, len(moved), frozenset((survivor, absorbed)))


def reject(engine: Engine, review_id: int, decided_by: str) -> Review:
    """The two mentions of a review item are different people; the pair is not proposed again."""
    if not decided_by:
        raise ResolutionError("a rejection needs the name of whoever decided it")
    with engine.begin() as conn:
        _open_item(conn, review_id)
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id == review_id)
            .values(status="rejected", decided_by=decided_by, decided_at=utcnow())
        )
    return get_review(engine, review_id)


def undo_merge(engine: Engine, merge_id: int, decided_by: str) -> MergeOutcome:
    """Take a merge back: the mentions it moved return to the absorbed person's key.

    Their link method and score are restored to what they were before the merge; mentions
    linked to the survivor since then stay with it. A caseworker's merge reopens its
    review item, so the pair can be decided again (rejected, if the merge was wrong); a
    merge the resolver made itself is recorded as a rejected pair, so that the next run
    does not make it again. ``changed_keys`` also names any person a later merge had
    moved those mentions into.
    """
    if not decided_by:
        raise ResolutionError("an undo needs the name of whoever decided it")
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(MERGE).where(MERGE.c.id == merge_id)).first()
        if row is None:
            raise ResolutionError(f"merge {merge_id} does not exist")
        if row.undone_at is not None:
            raise ResolutionError(f"merge {merge_id} was already undone by {row.undone_by}")
        moved = [tuple(x) for x in row.moved]
        changed = {row.survivor_key, row.absorbed_key}
        for chunk in _chunks(moved, 500):
            keys = [(x[0], x[1]) for x in chunk]
            changed.update(
                k
                for (k,) in conn.execute(
                    select(LINK.c.person_key).where(tuple_(LINK.c.system, LINK.c.record_id).in_(keys))
                )
            )
        for s, r, method, score in moved:
            conn.execute(
                update(LINK)
                .where(LINK.c.system == s, LINK.c.record_id == r)
                .values(person_key=row.absorbed_key, method=method, score=score, linked_at=now)
            )
        conn.execute(update(MERGE).where(MERGE.c.id == merge_id).values(undone_by=decided_by, undone_at=now))
        if row.review_id is not None:
            conn.execute(
                update(REVIEW)
                .where(REVIEW.c.id == row.review_id)
                .values(status="open", decided_by=None, decided_at=None)
            )
        elif moved:
            _record_rejection(conn, (moved[0][0], moved[0][1]), row.survivor_key, decided_by, now)
    return MergeOutcome(merge_id, row.survivor_key, row.absorbed_key, len(moved), frozenset(changed))


def _record_rejection(
    conn: Connection, mention: tuple[str, str], other_key: str, decided_by: str, now: datetime
) -> None:
    """A rejected review item between ``mention`` and a mention of ``other_key``.

    Undoing a merge the resolver made on its own means the two are different people;
    the rejection keeps the next run from merging them again.
    """
    other = conn.execute(
        select(LINK.c.system, LINK.c.record_id).where(LINK.c.person_key == other_key).limit(1)
    ).first()
    if other is None:
        return
    pair = {
        "left_system": mention[0],
        "left_record_id": mention[1],
        "right_system": other.system,
        "right_record_id": other.record_id,
    }
    exists = conn.execute(select(REVIEW.c.id).where(*(REVIEW.c[k] == v for k, v in pair.items()))).first()
    if exists is not None:
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id == exists.id)
            .values(status="rejected", decided_by=decided_by, decided_at=now)
        )
        return
    conn.execute(
        REVIEW.insert().values(
            **pair, score=0.0, status="rejected", created_at=now, decided_by=decided_by, decided_at=now
        )
    )


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
