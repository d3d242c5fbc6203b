"""The resolver's per-batch passes over the whole population, done in bulk, answer as the
record-by-record versions they replace; its change check reads indexes, not whole tables.

Each batch of a county sync runs these over every mention resolved so far, so they are written
with numpy and pandas; here each is compared with the plain loop it stands for, on seeded
random inputs that include every kind of missing value the frames hold.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from connectors.mentions import PersonMention
from connectors.resolution import resolver
from connectors.resolution.assignment import assign
from connectors.resolution.cluster_state import Clusters, is_text
from connectors.resolution.clustering import cluster
from connectors.resolution.evidence import _in_labels
from connectors.resolution.linking import _affected, _column, _first_of_entity
from connectors.resolution.resolver import resolve_with_changes

MISSING: list[Any] = [None, "", float("nan"), pd.NA]


def _first_by_loop(existing: Sequence[Any]) -> np.ndarray:
    labels = np.arange(len(existing), dtype=np.int64)
    first: dict[str, int] = {}
    for i, key in enumerate(existing):
        if is_text(key):
            labels[i] = first.setdefault(key, i)
    return labels


def _affected_by_sets(
    n: int, edges: pd.DataFrame, fresh: np.ndarray, columns: Sequence[Sequence[str | None]]
) -> np.ndarray:
    marked = set(np.flatnonzero(fresh).tolist())
    marked.update(edges["unique_id_l"].tolist(), edges["unique_id_r"].tolist())
    while True:
        before = len(marked)
        for col in columns:
            wanted = {col[i] for i in marked if col[i] is not None}
            marked.update(i for i in range(n) if col[i] in wanted)
        if len(marked) == before:
            return np.array(sorted(marked), dtype=np.int64)


def test_each_record_is_labelled_by_the_first_record_of_its_key_as_the_loop_labels_it() -> None:
    rng = random.Random(11)
    for _ in range(400):
        n = rng.randint(1, 40)
        pool = [*MISSING, *(f"k{i}" for i in range(rng.randint(1, 8)))]
        existing = [rng.choice(pool) for _ in range(n)]
        assert _first_by_loop(existing).tolist() == _first_of_entity(existing).tolist(), existing


def test_the_affected_records_are_the_closure_over_identifiers_and_people() -> None:
    rng = random.Random(12)
    for _ in range(400):
        n = rng.randint(1, 50)
        identifiers = [rng.choice([None, "", "110", "111", "112", "113"]) for _ in range(n)]
        people = [rng.choice([None, "p", "q", "r", "s", "t", "u"]) for _ in range(n)]
        fresh = np.array([rng.random() < 0.1 for _ in range(n)], dtype=bool)
        m = rng.randint(0, 4)
        edges = pd.DataFrame(
            {
                "unique_id_l": [rng.randrange(n) for _ in range(m)],
                "unique_id_r": [rng.randrange(n) for _ in range(m)],
            }
        )
        expected = _affected_by_sets(n, edges, fresh, [identifiers, people])
        assert _affected(n, edges, fresh, identifiers, people).tolist() == expected.tolist()
        expected = _affected_by_sets(n, edges, fresh, [identifiers])
        assert _affected(n, edges, fresh, identifiers, None).tolist() == expected.tolist()


def test_a_column_reads_as_its_non_empty_strings_whatever_its_dtype() -> None:
    rng = random.Random(13)
    for _ in range(100):
        n = rng.randint(0, 30)
        values = [rng.choice([None, "", "a", "b", "350102"]) for _ in range(n)]
        frame = pd.DataFrame(
            {"text": pd.array(values, dtype="string"), "objects": pd.Series(values, dtype=object)}
        )
        expected = [x if isinstance(x, str) and x else None for x in values]
        assert _column(frame, "text", n) == expected
        assert _column(frame, "objects", n) == expected
    assert _column(pd.DataFrame({"x": [1]}), None, 1) == [None]


def test_records_of_labels_are_found_as_isin_finds_them() -> None:
    rng = np.random.default_rng(14)
    for trial in range(300):
        n = int(rng.integers(1, 40))
        low, high = (0, n) if trial % 2 else (-3, n + 3)  # record indices, or any integers
        labels = rng.integers(low, high, n)
        wanted = labels[rng.random(n) < 0.3]
        assert _in_labels(labels, wanted).tolist() == np.isin(labels, wanted).tolist()


def test_the_change_check_reads_indexes_and_still_sees_a_mention_sent_again(engine: Engine) -> None:
    """No plain scan of either table (the signature runs three times a batch), and a re-sent
    mention, which changes no count and no rowid, still changes the signature."""
    today = date(2024, 9, 30)
    first = PersonMention("survey", "r1", "child", name="龙秀英", sex="F", birth_date=date(2015, 4, 12))
    other = PersonMention("survey", "r2", "child", name="龙秀兰", sex="F", birth_date=date(2016, 5, 1))
    resolve_with_changes(engine, [first, other], today=today)
    with engine.connect() as conn:
        for table, stamp in (("resolution_mention", "seen_at"), ("person_link", "linked_at")):
            sql = resolver._NEWEST.format(table=table, stamp=stamp)
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            assert not [step for step in plan if step == f"SCAN {table}"], plan
            assert any(f"SEARCH {table} USING COVERING INDEX ix_" in step for step in plan), plan
        before = resolver._signature(conn)
    moved = PersonMention("survey", "r1", "child", name="龙秀英", sex="F", birth_date=date(2015, 4, 13))
    resolve_with_changes(engine, [moved], today=today)
    with engine.connect() as conn:
        after = resolver._signature(conn)
    assert after != before
    assert after[:2] == before[:2]  # same count, same newest rowid: the timestamp told


def test_the_stored_id_numbers_read_as_the_loop_reads_them() -> None:
    rng = random.Random(15)
    for _ in range(100):
        n = rng.randint(0, 30)
        values = [rng.choice([None, "", "110101201501010011", "11010120150101002X"]) for _ in range(n)]
        for column in (pd.Series(pd.array(values, dtype="string")), pd.Series(values, dtype=object)):
            expected = [x if isinstance(x, str) else None for x in column.tolist()]
            assert resolver._issued(column) == expected


def test_every_records_root_is_the_root_find_gives() -> None:
    """Asked before any find compresses the paths: chains of unions left as they are."""
    rng = random.Random(16)
    for _ in range(200):
        n = rng.randint(1, 40)
        clusters = Clusters(n, [None] * n, [None] * n, [None] * n, frozenset(), set())
        for _ in range(rng.randint(0, n)):
            a, b = rng.randrange(n), rng.randrange(n)
            while clusters.parent[a] != a:  # a root, without compressing anything
                a = clusters.parent[a]
            while clusters.parent[b] != b:
                b = clusters.parent[b]
            if a != b:
                clusters.union(a, b)
        roots = clusters.roots().tolist()
        assert roots == [clusters.find(i) for i in range(n)]


def _plan_shape(plan: Any, n_old: int) -> tuple[Any, ...]:
    """What a plan decides, with the random keys of new people named by their first new record."""
    named: dict[str, str] = {}
    links = []
    for i, link in enumerate(plan.links, n_old):
        key = link["person_key"]
        if key in plan.created:
            key = named.setdefault(key, f"new{i}")
        links.append((link["record_id"], key, link["method"]))
    return links, sorted(plan.absorbed), sorted(plan.renamed.items())


def test_linking_by_id_number_alone_decides_as_over_the_whole_population() -> None:
    """Only the groups of the new records and the ID numbers two people hold are clustered;
    the links, the people absorbed and the renames are those of a run over everything."""
    rng = random.Random(17)
    for _ in range(300):
        n_old, n_new = rng.randint(0, 30), rng.randint(1, 8)
        numbers = [f"1101012015010100{k:02d}" for k in range(rng.randint(1, 10))]
        keys = [f"p{k}" for k in range(rng.randint(1, 8))]
        ids = [rng.choice(numbers) for _ in range(n_old + n_new)]
        person_keys: list[str | None] = [rng.choice(keys) for _ in range(n_old)] + [None] * n_new
        frame = pd.DataFrame({"id_number": pd.array(ids, dtype="string")})
        records = [f"r{i}" for i in range(n_old + n_new)]
        systems = ["s"] * len(records)
        empty = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])
        whole = cluster(
            len(frame),
            empty,
            match_threshold=1.0,
            review_threshold=1.0,
            identifiers=list(ids),
            existing=person_keys,
        )
        part = resolver._deterministic_only(frame, person_keys, n_old)
        assert part.reviews == whole.reviews == []
        expected = _plan_shape(assign(frame, systems, records, person_keys, whole, empty, n_old), n_old)
        got = _plan_shape(assign(frame, systems, records, person_keys, part, empty, n_old), n_old)
        assert got == expected
