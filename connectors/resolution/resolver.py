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
   A caseworker resolves them with :func:`~connectors.resolution.review_decisions.merge` or
   :func:`~connectors.resolution.review_decisions.reject`;
   :func:`~connectors.resolution.review_decisions.undo_merge` takes a merge back.
   Each returns the person keys whose mentions changed, so the
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, select, tuple_, update

from connectors.mentions import PersonMention
from connectors.resolution.assignment import (
    _absorb,
    _assign,
    _close_answered_reviews,
    _insert_reviews,
    _reviewed_person_pairs,
)
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
from connectors.resolution.review_queue import MergeOutcome
from connectors.resolution.store import LINK, MENTION, MODEL, _insert
from kernel import clock
from kernel.db.tables import utcnow

__all__ = [
    "Resolution",
    "ResolverSettings",
    "resolve",
    "resolve_with_changes",
]

log = logging.getLogger(__name__)


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

    # Only this batch's mentions first: when they are all known (a batch seen before) the
    # run is a lookup, whatever the size of the population.
    known = _load_known(engine, list(latest))
    fresh_rows = [row for row in incoming if (row["system"], row["record_id"]) not in known]
    changed = [
        row
        for row in incoming
        if (old := known.get((row["system"], row["record_id"]))) is not None
        and tuple(row[c] for c in STORED_COLUMNS) != tuple(old[: len(STORED_COLUMNS)])
    ]
    if not fresh_rows:
        if changed:
            _refresh(engine, changed)
        return Resolution({m.key: known[m.key][-1] for m in latest.values()}, [], 0, 0)
    existing, stored = _load_population(engine)
    if changed:
        _refresh(engine, changed)
    old_keys = dict(
        zip(zip(existing["system"], existing["record_id"], strict=True), existing["person_key"], strict=True)
    )

    new = pd.DataFrame.from_records(fresh_rows, columns=STORED_COLUMNS)
    rows = pd.concat([existing[list(STORED_COLUMNS)], new], ignore_index=True) if len(existing) else new
    n_old = len(existing)
    fresh = np.zeros(len(rows), dtype=bool)
    fresh[n_old:] = True
    width = len(STORED_COLUMNS)
    hashes = np.fromiter(
        (
            *(hash(r[:width]) for r in stored),
            *(hash(tuple(r[c] for c in STORED_COLUMNS)) for r in fresh_rows),
        ),
        dtype=np.int64,
        count=len(rows),
    )
    frame = _frame(str(engine.url), rows, hashes, fresh)
    person_keys: list[str | None] = [*existing["person_key"].tolist(), *([None] * len(new))]

    with engine.connect() as conn:
        reviewed, blocked = _reviewed_person_pairs(conn)
    # An ID number is strong evidence, not a verdict: a record that contradicts its
    # number's holder loses the number for this run and is kept from the holder.
    conflicts = id_conflicts(frame, person_keys)
    issued = [x if isinstance(x, str) else None for x in frame["id_number"].tolist()]
    if conflicts.demoted:
        frame = frame.copy()  # the kept frame (see _frame) stays as stored
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


_FRAMES: dict[str, tuple[np.ndarray, pd.DataFrame]] = {}
"""Per database URL: the record frame of the last run's rows (``fresh`` all false in use
below) and a hash of each of those rows' stored values. See :func:`_frame`."""


def _frame(db: str, rows: pd.DataFrame, hashes: np.ndarray, fresh: np.ndarray) -> pd.DataFrame:
    """``to_frame(rows, fresh)``, reusing the frame of the previous run where its rows are the same.

    A frame row depends on its own stored row and position alone, so the rows of the
    previous run's frame up to the first row whose stored values (compared by hash) or
    position differ are taken as they are, and only the rest is built. Nothing about
    what the previous run decided is kept: a row the store changed (a refreshed mention)
    or a different order is simply built again, so the frame is the same as one built
    from scratch whatever happened in between, including a run killed half way.
    """
    kept = _FRAMES.pop(db, None)
    start = 0
    if kept is not None:
        old_hashes, old_frame = kept
        m = min(len(old_hashes), len(hashes))
        differ = np.flatnonzero(old_hashes[:m] != hashes[:m])
        start = int(differ[0]) if len(differ) else m
    if start == 0:
        frame = to_frame(rows, fresh)
    else:
        head = old_frame.iloc[:start]
        tail = to_frame(rows.iloc[start:], fresh[start:], start=start)
        frame = pd.concat([head, tail]) if len(tail) else head.copy()
        frame["fresh"] = fresh
    _FRAMES.clear()  # one database at a time: the frame of a large county is not small
    _FRAMES[db] = (hashes, frame)
    return frame


def _population_query() -> Any:
    cols = [MENTION.c[c] for c in STORED_COLUMNS]
    return select(*cols, LINK.c.person_key).join(
        LINK, and_(LINK.c.system == MENTION.c.system, LINK.c.record_id == MENTION.c.record_id)
    )


def _load_population(engine: Engine) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """Every mention resolved so far with its person key, as a frame and as row tuples."""
    with engine.connect() as conn:
        data = [tuple(r) for r in conn.execute(_population_query())]
    return pd.DataFrame.from_records(data, columns=[*STORED_COLUMNS, "person_key"]), data


_KEYS_PER_QUERY = 400


def _load_known(engine: Engine, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The stored rows (as :func:`_load_population` gives them) of those of ``keys`` already resolved."""
    query = _population_query()
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            for r in conn.execute(query.where(tuple_(MENTION.c.system, MENTION.c.record_id).in_(chunk))):
                row = tuple(r)
                out[(row[0], row[1])] = row
    return out


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


"""``decided_by`` of the merges the resolver makes itself."""
