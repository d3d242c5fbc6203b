"""``resolve``: stable person keys for person mentions, and the review queue that corrects them.

How a run goes:

1. Mentions already linked by an earlier run keep their person key (their stored
   attributes are refreshed if the source changed them; the link is not revisited).
2. New mentions join the population of every mention the resolver has seen
   (``resolution_mention``), so they are compared with existing people as well as with
   each other. A process keeps the population its last run committed in memory and uses
   it while the store's resolver tables are unchanged since (``_Population``); otherwise,
   and on PostgreSQL, the population is read from the store.
3. Deterministic linkage: mentions with the same valid ID number are one person, and a
   person never holds two different valid ID numbers.
4. Probabilistic linkage with Splink on DuckDB (:mod:`connectors.resolution.linking`,
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, literal_column, select, update

from connectors.mentions import PersonMention
from connectors.resolution.assignment import (
    absorb,
    assign,
    close_answered_reviews,
    insert_reviews,
    reviewed_person_pairs,
)
from connectors.resolution.chinese import PERSON_SPEC, STORED_COLUMNS, mention_row, to_frame
from connectors.resolution.clustering import ClusterResult, ReviewCandidate
from connectors.resolution.evidence import (
    IdConflicts,
    birth_from_id,
    family_evidence,
    id_conflicts,
    parse_birth,
    twin_guards,
)
from connectors.resolution.linking import link
from connectors.resolution.review_queue import MergeOutcome
from connectors.resolution.scoring import Scorer, ScoringTable
from connectors.resolution.spec import LinkageSpec
from connectors.resolution.store import LINK, MENTION, MODEL, batch_page_cache, insert_chunked
from connectors.resolution.training import default_model, label_pairs, train
from kernel import clock
from kernel.db.engine import for_writing
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
    db = str(engine.url)
    if changed and (dropped := _POPULATIONS.pop(db, None)) is not None:
        # The store is about to differ from what this process remembers of it.
        dropped.table.close()
    if not fresh_rows:
        if changed:
            _refresh(engine, changed)
        return Resolution({m.key: known[m.key][-1] for m in latest.values()}, [], 0, 0)
    cached = _cached_population(engine) if not changed else None
    new = pd.DataFrame.from_records(fresh_rows, columns=STORED_COLUMNS)
    new_hashes = np.fromiter(
        (hash(tuple(r[c] for c in STORED_COLUMNS)) for r in fresh_rows), dtype=np.int64, count=len(fresh_rows)
    )
    read_as: tuple[Any, ...] | None
    if cached is not None:
        # Served from memory: the rows this process itself left in the store last time,
        # which the store still holds (see _cached_population). The new rows go after
        # them, where the store's population query returns them.
        n_old = len(cached.keys)
        fresh = np.zeros(n_old + len(new), dtype=bool)
        fresh[n_old:] = True
        hashes = np.concatenate([cached.hashes, new_hashes])
        tail = to_frame(new, fresh[n_old:], start=n_old)
        frame = pd.concat([cached.frame, tail]) if n_old else tail
        frame["fresh"] = fresh
        _FRAMES.clear()
        _FRAMES[db] = (hashes, frame)
        systems = [*cached.systems, *new["system"].tolist()]
        records = [*cached.records, *new["record_id"].tolist()]
        person_keys: list[str | None] = [*cached.keys, *([None] * len(new))]
        index, table = cached.index, cached.table
        read_as = cached.signature
    else:
        existing, stored, read_as = _load_population(engine, signed=not changed)
        if changed:
            _refresh(engine, changed)
        rows = pd.concat([existing[list(STORED_COLUMNS)], new], ignore_index=True) if len(existing) else new
        n_old = len(existing)
        fresh = np.zeros(len(rows), dtype=bool)
        fresh[n_old:] = True
        width = len(STORED_COLUMNS)
        hashes = np.concatenate(
            [np.fromiter((hash(r[:width]) for r in stored), dtype=np.int64, count=n_old), new_hashes]
        )
        frame = _frame(db, rows, hashes, fresh)
        systems, records = rows["system"].tolist(), rows["record_id"].tolist()
        person_keys = [*existing["person_key"].tolist(), *([None] * len(new))]
        index, table = _Index(), ScoringTable()
        del existing, stored, rows
    # The index of ID numbers grows with the new rows (the population's own rows never
    # change number: a refreshed mention drops the cache).
    index.add(frame, start=n_old if cached is not None else 0)
    by_id = index.by_id

    with engine.connect() as conn:
        reviewed, blocked = reviewed_person_pairs(conn)
    # An ID number is strong evidence, not a verdict: a record that contradicts its
    # number's holder loses the number for this run and is kept from the holder.
    conflicts = _id_conflicts(frame, person_keys, index, n_old)
    issued = _issued(frame["id_number"])
    if conflicts.demoted:
        frame = frame.copy()  # the kept frame (see _frame) stays as stored
        frame.loc[sorted(conflicts.demoted), "id_number"] = pd.NA
    guards = [*conflicts.guards, *_twin_guards(frame, issued, index, conflicts.demoted)]
    if frame["id_number"].notna().all():
        result = _deterministic_only(frame, person_keys, n_old)
        edges = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
    else:
        labelled = _labelled_pairs(index.pairs, by_id, issued, conflicts.demoted)
        model = _model(engine, frame, PERSON_SPEC, settings, labelled=labelled)
        stored_ids = {i: issued[i] for i in conflicts.demoted}
        with Scorer(frame, PERSON_SPEC, model, table=table, overrides=stored_ids) as scorer:
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
                # "One side is new". The new rows are the last ones and Splink only pairs
                # l.unique_id < r.unique_id, so that is "r is new": a condition on one side,
                # which DuckDB applies before the join instead of joining the population
                # with itself and filtering afterwards ("l.fresh OR r.fresh", same pairs).
                extra_condition="r.fresh",
                ambiguity_margin=settings.ambiguity_margin,
                guards=guards,
                collective=lambda labels: family_evidence(frame, labels),
                scorer=scorer,
            )
            result.reviews.extend(_conflict_reviews(scorer, result, conflicts.guards))
    plan = assign(frame, systems, records, person_keys, result, edges, n_old)
    now = utcnow()
    merges: list[MergeOutcome] = []
    cacheable = _cacheable(engine) and not changed and read_as is not None
    signature = None
    # A cacheable run takes the write lock at BEGIN, so that what it reads first is what it writes on.
    with (for_writing(engine) if cacheable else engine).begin() as conn:
        if cacheable and _signature(conn) != read_as:
            # Another writer (a caseworker's merge or undo in the service's other thread, another
            # process) committed since this run read the population: the store it leaves is not
            # the population it resolved against plus its own rows. The next run reads it again.
            log.info("the resolver's tables changed while this run resolved: population not kept")
            cacheable = False
        with batch_page_cache(conn):
            insert_chunked(conn, MENTION, [{**r, "seen_at": now} for r in fresh_rows])
            insert_chunked(conn, LINK, [{**lk, "linked_at": now} for lk in plan.links])
        for survivor, absorbed in plan.absorbed:
            merges.append(absorb(conn, survivor, absorbed, now))
        if merges:
            close_answered_reviews(conn, now)
        insert_reviews(conn, plan.reviews, now)
        if cacheable:
            # Read inside the write transaction: nobody else can write in between.
            signature = _signature(conn)
    renamed = plan.renamed
    if signature is not None:
        after = [*person_keys[:n_old], *(lk["person_key"] for lk in plan.links)]
        if renamed:
            after = [renamed.get(k, k) for k in after]
        kept_frame = _FRAMES[db][1] if db in _FRAMES else frame
        _release()
        _POPULATIONS[db] = _Population(signature, systems, records, after, hashes, kept_frame, index, table)
    else:
        table.close()
    keys = {k: renamed.get(known[k][-1], known[k][-1]) if k in known else "" for k in latest}
    keys.update({(lk["system"], lk["record_id"]): lk["person_key"] for lk in plan.links})
    new_people = len(plan.created)
    log.info(
        "resolved %d new mentions against %d known in %.1fs: %d new people, %d merged, %d review items; "
        "refused %s; population %s",
        len(new),
        n_old,
        time.perf_counter() - t0,
        new_people,
        len(merges),
        len(plan.reviews),
        result.refused,
        "from memory" if cached is not None else "loaded",
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


@dataclass
class _Population:
    """What this process left in the store after its last run, kept for the next run.

    The rows of the population in the order the population query returns them (a row's
    position is its record index), with their person keys, stored-value hashes and
    record frame (see :func:`_frame`), and the :class:`_Index` of their ID numbers,
    birth dates and households. ``signature`` is
    :func:`_signature` of the store as that run committed it: a run uses this copy only
    while the store still has that signature, and otherwise loads the population again.
    """

    signature: tuple[Any, ...]
    systems: list[str]
    records: list[str]
    keys: list[str]
    hashes: np.ndarray
    frame: pd.DataFrame
    index: _Index
    table: ScoringTable  # the frame as Scorer scores it, in DuckDB (see ScoringTable)


_POPULATIONS: dict[str, _Population] = {}
"""Per database URL, the population the last run of this process left there (one at a time)."""


def release_population() -> None:
    """Give back what this process keeps of the last run's population (the frame, the ID index): about
    a gigabyte at 200,000 persons. A first load calls it before building the graph, whose fold and
    COPY need the memory more; the next run loads the population again (and keeps it from then)."""
    _release()
    _FRAMES.clear()


def _release() -> None:
    """Forget the kept populations, closing their DuckDB tables."""
    for kept in _POPULATIONS.values():
        kept.table.close()
    _POPULATIONS.clear()


def _cacheable(engine: Engine) -> bool:
    """A SQLite file: its population query returns rows in insertion (rowid) order, new rows last.

    On PostgreSQL the order of an unordered query is not the insertion order, and an
    in-memory SQLite URL does not name one database; those load the population every run.
    """
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


_NEWEST = (
    "SELECT (SELECT count(*) FROM {table}), (SELECT max(rowid) FROM {table}),"
    " (SELECT max({stamp}) FROM {table})"
)


def _signature(conn: Any) -> tuple[Any, ...]:
    """What changes whenever the resolver's rows change: mentions added or re-sent (``seen_at``),
    links added or moved (``linked_at``; every merge and undo also writes ``merge_history``).

    Aggregates SQLite answers without handing rows to Python, each in its own subquery: alone,
    ``max(rowid)`` and ``max(seen_at)``/``max(linked_at)`` are read off the end of the table's
    b-tree and of the timestamp's index (migration 0015), and ``count(*)`` scans the smallest
    index; asked together in one select, they were a scan of the whole table, three times a
    batch. The newest link's person key (random) tells apart two databases that went
    through the same steps at the same URL (a data directory deleted and made again).
    """
    mention = conn.exec_driver_sql(_NEWEST.format(table="resolution_mention", stamp="seen_at")).one()
    link_ = conn.exec_driver_sql(_NEWEST.format(table="person_link", stamp="linked_at")).one()
    last = conn.exec_driver_sql("SELECT person_key FROM person_link ORDER BY rowid DESC LIMIT 1").first()
    merge = conn.exec_driver_sql(
        "SELECT count(*), max(id), count(undone_at), max(undone_at) FROM merge_history"
    ).one()
    return (*mention, *link_, last[0] if last else None, *merge)


def _cached_population(engine: Engine) -> _Population | None:
    """The population this process left in the store, if the store has not changed since."""
    db = str(engine.url)
    cached = _POPULATIONS.pop(db, None)  # back only when this run commits (not if it fails)
    if cached is None:
        return None
    if not _cacheable(engine):
        cached.table.close()
        return None
    with engine.connect() as conn:
        now = _signature(conn)
    if now != cached.signature:
        cached.table.close()
        log.info("the resolver's tables changed outside this process: population loaded again")
        return None
    return cached


@dataclass
class _Index:
    """What the evidence checks read of a frame's rows, by the values they look rows up by.

    Built once over the population and extended with each run's new rows (:meth:`add`), so
    that :func:`_id_conflicts` and :func:`_twin_guards` find the records they must judge
    without a pass over the whole population every run. Everything here is of the rows'
    stored values (a number set aside for one run is not taken out): the population's
    rows never change while it is kept (a refreshed mention drops the cache).

    - ``by_id``: ID number → positions; ``by_birth``: the number's birth date → numbers;
      ``pairs``: pairs of rows sharing a number (what :func:`label_pairs` counts).
    - ``born``: the number's birth date → ``(number, name, household)`` of every row with
      that number and a name (what :func:`id_conflicts` reads as ``born_that_day``).
    - ``homes``: (household, birth date) → number → positions, of the register's rows
      (a number, a household number, a birth date and a name); ``twins``: those of its
      keys holding two or more numbers (the twins :func:`twin_guards` finds).
    - ``unnumbered``: birth date → positions of the rows without a number.
    """

    by_id: dict[str, list[int]] = field(default_factory=dict)
    by_birth: dict[date, list[str]] = field(default_factory=dict)
    pairs: int = 0
    born: dict[date, list[tuple[str, str, str | None]]] = field(default_factory=dict)
    homes: dict[tuple[str, str], dict[str, list[int]]] = field(default_factory=dict)
    twins: set[tuple[str, str]] = field(default_factory=set)
    unnumbered: dict[str, list[int]] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, *, start: int) -> None:
        """Index the frame's rows from ``start`` on."""
        by_id, by_birth, born = self.by_id, self.by_birth, self.born
        columns = ("id_number", "name", "household_number", "birth_date")
        values = zip(*(frame[c].array[start:].tolist() for c in columns), strict=True)
        for i, (x, name, hh, day) in enumerate(values, start):
            name = name if isinstance(name, str) and name else None
            day = day if isinstance(day, str) and day else None
            if not isinstance(x, str) or not x:
                if day is not None:
                    self.unnumbered.setdefault(day, []).append(i)
                continue
            hh = hh if isinstance(hh, str) and hh else None
            group = by_id.get(x)
            b = birth_from_id(x)
            if group is None:
                by_id[x] = [i]
                if b is not None:
                    by_birth.setdefault(b, []).append(x)
            else:
                self.pairs += len(group)
                group.append(i)
            if name is not None:
                if b is not None:
                    born.setdefault(b, []).append((x, name, hh))
                if hh is not None and day is not None:
                    home = self.homes.setdefault((hh, day), {})
                    home.setdefault(x, []).append(i)
                    if len(home) > 1:
                        self.twins.add((hh, day))


def _id_conflicts(
    frame: pd.DataFrame,
    person_keys: Sequence[str | None],
    index: _Index,
    n_old: int,
) -> IdConflicts:
    """:func:`id_conflicts` over the rows it can judge: those of the numbers a new row carries.

    It judges only numbers shared with a fresh row, comparing their records with each
    other and with the identified records born on the number's birth date. So it is run
    on exactly the records of those numbers (in frame order), reading the records born
    that day from the index (``born_that_day``), and gives the same answer as over the
    whole frame, in time that follows the new rows and not the population (most of a
    health batch shares a number with the register, and the records born on those days
    are most of the population).
    """
    by_id = index.by_id
    numbers = {x for x in frame["id_number"].array[n_old:].tolist() if isinstance(x, str) and x}
    shared = [x for x in numbers if len(by_id[x]) > 1]
    if not shared:
        return IdConflicts()
    positions = np.array(sorted(i for x in shared for i in by_id[x]), dtype=np.int64)
    found = id_conflicts(
        frame.iloc[positions], [person_keys[i] for i in positions.tolist()], born_that_day=index.born
    )
    back = positions.tolist()
    return IdConflicts(
        demoted={back[i] for i in found.demoted},
        guards=[(back[x], back[y], reason) for x, y, reason in found.guards],
    )


def _twin_guards(
    frame: pd.DataFrame, issued: Sequence[str | None], index: _Index, demoted: Iterable[int] = ()
) -> list[tuple[int, int, str]]:
    """:func:`twin_guards` over the records it can concern, in the same order.

    Those are the register's records of the households and birth dates that hold two or
    more numbers (the twins, ``index.twins``), and the records without a number (none
    stored, ``index.unnumbered``, or one set aside this run: ``demoted``) born on a
    twin's birth date or a day off it; every other record neither forms twins nor meets
    one. All are looked up in the index, so the cost follows the twins and not the
    population. The order of the records is kept, so the guards come out as over the
    whole frame.
    """
    if not index.twins:
        return []
    twins = np.array(
        sorted(i for key in index.twins for rows in index.homes[key].values() for i in rows), dtype=np.int64
    )
    days: set[str] = set()
    for _, born in index.twins:
        if (d := parse_birth(born)) is not None:
            days.update(x.isoformat() for x in (d - timedelta(days=1), d, d + timedelta(days=1)))
    near = [i for day in days for i in index.unnumbered.get(day, ())]
    births = frame["birth_date"].array
    near.extend(i for i in demoted if births[i] in days)
    positions = np.union1d(twins, np.array(near, dtype=np.int64))
    found = twin_guards(frame.iloc[positions], [issued[i] for i in positions.tolist()])
    back = positions.tolist()
    return [(back[x], back[y], reason) for x, y, reason in found]


def _issued(column: pd.Series) -> list[str | None]:
    """The column's strings, None for anything else: the stored ID numbers, before a run sets any
    aside. A string column (the frame's) is converted in bulk, as this reads the population's."""
    if isinstance(column.dtype, pd.StringDtype):
        out: list[str | None] = column.to_numpy(dtype=object, na_value=None).tolist()
        return out
    return [x if isinstance(x, str) else None for x in column.tolist()]


def _present(column: pd.Series) -> np.ndarray:
    """Rows holding a non-empty string (what evidence._strs keeps)."""
    if isinstance(column.dtype, pd.StringDtype):
        return (column.notna() & column.ne("")).fillna(False).to_numpy(dtype=bool)
    return np.array([isinstance(x, str) and bool(x) for x in column.tolist()], dtype=bool)


def _labelled_pairs(
    pairs: int, by_id: dict[str, list[int]], issued: Sequence[str | None], demoted: set[int]
) -> int:
    """:func:`label_pairs` of the frame once ``demoted`` rows lost their number, from the index."""
    if not demoted:
        return pairs
    lost: dict[str, int] = {}
    for i in demoted:
        number = issued[i]
        if number:
            lost[number] = lost.get(number, 0) + 1
    for number, d in lost.items():
        s = len(by_id[number])
        pairs -= s * (s - 1) // 2 - (s - d) * (s - d - 1) // 2
    return pairs


def _population_query() -> Any:
    cols = [MENTION.c[c] for c in STORED_COLUMNS]
    return select(*cols, LINK.c.person_key).join(
        LINK, and_(LINK.c.system == MENTION.c.system, LINK.c.record_id == MENTION.c.record_id)
    )


def _load_population(
    engine: Engine, *, signed: bool = False
) -> tuple[pd.DataFrame, list[tuple[Any, ...]], tuple[Any, ...] | None]:
    """Every mention resolved so far with its person key, as a frame and as row tuples; with
    ``signed`` (and a store :func:`_cacheable`), the store's :func:`_signature` read in the same
    transaction (the population as of that signature), else None."""
    query = _population_query()
    if _cacheable(engine):
        # Insertion order, which is also what SQLite's plan (a scan of the mentions) gives:
        # said here because the in-memory population (_Population) appends in that order.
        query = query.order_by(literal_column("resolution_mention.rowid"))
    signature = None
    with engine.connect() as conn, conn.begin():
        if signed and _cacheable(engine):
            signature = _signature(conn)
        data = [tuple(r) for r in conn.execute(query)]
    return pd.DataFrame.from_records(data, columns=[*STORED_COLUMNS, "person_key"]), data, signature


_KEYS_PER_QUERY = 400


def _load_known(engine: Engine, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The stored rows (as :func:`_load_population` gives them) of those of ``keys`` already resolved.

    Asked one system at a time (``system = ? AND record_id IN (...)``): SQLite answers a
    row-value ``(system, record_id) IN (VALUES ...)`` by scanning the whole table once per
    query, which made every batch's lookup cost grow with the population.
    """
    query = _population_query()
    by_system: dict[str, list[str]] = {}
    for system, record_id in keys:
        by_system.setdefault(system, []).append(record_id)
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    with engine.connect() as conn:
        for system, ids in by_system.items():
            for start in range(0, len(ids), _KEYS_PER_QUERY):
                chunk = ids[start : start + _KEYS_PER_QUERY]
                where = query.where(MENTION.c.system == system, MENTION.c.record_id.in_(chunk))
                for r in conn.execute(where):
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
    engine: Engine,
    frame: pd.DataFrame,
    spec: LinkageSpec,
    settings: ResolverSettings,
    *,
    labelled: int | None = None,
) -> dict[str, Any]:
    """The stored model, retrained when the labelled pairs have grown enough (then stored)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(MODEL.c.settings, MODEL.c.labelled_pairs)
            .where(MODEL.c.spec == spec.name, MODEL.c.version == spec.version)
            .order_by(MODEL.c.id.desc())
            .limit(1)
        ).first()
    if labelled is None or not spec.label_column:
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
    scorer: Scorer,
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
    scored = scorer.predict(threshold=None, pairs=pairs)
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


def _deterministic_only(
    frame: pd.DataFrame, person_keys: Sequence[str | None], n_old: int = 0
) -> ClusterResult:
    """Every mention has a valid ID number: link by it, no scoring needed.

    With no scored pairs, :func:`cluster` only joins the records of one existing person and
    the records of one ID number, so its clusters are the connected groups of those two
    relations, each formed the same whatever else is clustered with it. Two kinds of group
    can change anything: those holding a new record (rows from ``n_old`` on), and those
    joining two existing people (an ID number whose records have two person keys). Only
    those are clustered (``nodes``), as :func:`~connectors.resolution.linking.link` does; the
    rest keep their person, as they would over the whole frame, and a run over the register
    costs what its new rows and their people cost instead of the population's size.
    """
    from connectors.resolution.clustering import cluster
    from connectors.resolution.linking import _affected, _codes, _column

    n = len(frame)
    identifiers = _column(frame, "id_number", n)
    seeds = np.zeros(n, dtype=bool)
    seeds[n_old:] = True
    id_codes, _ = _codes(identifiers)
    key_codes, _ = _codes(person_keys)  # a non-text key, were there one, only adds records: still exact
    both = (id_codes >= 0) & (key_codes >= 0)
    if both.any():
        held = np.unique(np.stack([id_codes[both], key_codes[both]], axis=1), axis=0)
        numbers, count = np.unique(held[:, 0], return_counts=True)
        shared = numbers[count > 1]  # ID numbers held by records of two or more people
        if len(shared):
            seeds |= np.isin(id_codes, shared)
    empty = pd.DataFrame(
        {
            "unique_id_l": pd.Series(dtype="int64"),
            "unique_id_r": pd.Series(dtype="int64"),
            "match_weight": pd.Series(dtype="float64"),
            "match_probability": pd.Series(dtype="float64"),
        }
    )
    nodes = _affected(n, empty, seeds, identifiers, person_keys)
    keep = nodes.tolist()
    local = cluster(
        len(nodes),
        empty,
        match_threshold=1.0,
        review_threshold=1.0,
        identifiers=[identifiers[i] for i in keep],
        existing=[person_keys[i] for i in keep],
    )
    labels = np.arange(n, dtype=np.int64)
    labels[nodes] = nodes[local.labels]
    reviews = [
        ReviewCandidate(int(nodes[r.left]), int(nodes[r.right]), r.probability, r.reason)
        for r in local.reviews
    ]
    return ClusterResult(labels=labels, reviews=reviews, refused=local.refused, nodes=nodes)


"""``decided_by`` of the merges the resolver makes itself."""
