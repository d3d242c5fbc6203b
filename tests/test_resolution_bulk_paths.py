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
from connectors.resolution.cluster_state import is_text
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
