"""Scoring one frame several times (:class:`connectors.resolution.scoring.Scorer`).

The resolver scores the same frame up to four times per run from one DuckDB copy of it.
Each call must score exactly what a call of its own (:func:`predict`) scores: in
particular the pairs one call was given must not become the candidates of the next.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from connectors.mentions import PersonMention
from connectors.resolution.adversarial import generate_population
from connectors.resolution.chinese import PERSON_SPEC, mention_frame
from connectors.resolution.scoring import Scorer, ScoringTable, predict
from connectors.resolution.training import default_model

TODAY = date(2024, 9, 30)
VILLAGE = "500248101201"


def _mentions() -> list[PersonMention]:
    people = [
        ("张伟", date(2010, 3, 4), "M", "13800000001"),
        ("张卫", date(2010, 3, 4), "M", None),
        ("李娜", date(2012, 7, 1), "F", "13800000002"),
        ("李娜", date(2012, 1, 7), "F", None),
        ("王芳", date(1985, 5, 5), "F", "13800000003"),
        ("王方", date(1985, 5, 6), "F", "13800000003"),
        ("陈静", date(2011, 2, 2), "F", None),
        ("陈晶", date(2011, 2, 2), None, None),
    ]
    return [
        PersonMention(
            "survey" if i % 2 else "health",
            f"r{i}",
            "subject",
            name=name,
            sex=sex,
            birth_date=born,
            division=VILLAGE,
            phone=phone,
        )
        for i, (name, born, sex, phone) in enumerate(people)
    ]


def _sorted(edges: pd.DataFrame) -> pd.DataFrame:
    return edges.sort_values(["unique_id_l", "unique_id_r"]).reset_index(drop=True)


def test_a_scorer_scores_each_call_as_a_call_of_its_own() -> None:
    mentions = _mentions()
    fresh = np.zeros(len(mentions), dtype=bool)
    fresh[len(mentions) // 2 :] = True
    frame = mention_frame(mentions, today=TODAY, fresh=fresh)
    model = default_model(PERSON_SPEC, len(frame))
    given = pd.DataFrame({"l": [0, 2], "r": [1, 3]})
    other = pd.DataFrame({"l": [4], "r": [6]})

    alone = [
        predict(frame, PERSON_SPEC, model, threshold=None, pairs=given),
        predict(frame, PERSON_SPEC, model, threshold=None, extra_condition="r.fresh"),
        predict(frame, PERSON_SPEC, model, threshold=None, pairs=other),
        predict(frame, PERSON_SPEC, model, threshold=None),
    ]
    with Scorer(frame, PERSON_SPEC, model) as scorer:
        shared = [
            scorer.predict(threshold=None, pairs=given),
            scorer.predict(threshold=None, extra_condition="r.fresh"),
            scorer.predict(threshold=None, pairs=other),
            scorer.predict(threshold=None),
        ]
    # The calls score different pairs, so reusing one call's pairs would show.
    scored = [set(zip(e["unique_id_l"].tolist(), e["unique_id_r"].tolist(), strict=True)) for e in alone]
    assert scored[0] == {(0, 1), (2, 3)} and scored[2] == {(4, 6)}
    assert len({frozenset(s) for s in scored}) == 4
    for a, b in zip(alone, shared, strict=True):
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b))


def test_a_kept_table_grown_batch_by_batch_scores_as_a_copy_of_the_whole_frame() -> None:
    """The resolver keeps the scoring table from one batch to the next: the old rows lose
    ``fresh``, the new ones are appended, and the ID numbers a batch sets aside are written in
    for that batch only. Each batch must score what a scorer copying its whole frame scores."""
    pop = generate_population(400, seed=7)
    full = mention_frame(pop.mentions, today=date(2026, 9, 1))
    n = len(full)
    model = default_model(PERSON_SPEC, n)
    rng = np.random.default_rng(3)
    numbered = np.flatnonzero(full["id_number"].notna().to_numpy())
    table = ScoringTable()
    seen = 0
    for end in (n // 3, n // 3 + 40, n):
        start = table.rows
        frame = full.iloc[:end].copy()
        frame["fresh"] = np.arange(end) >= start
        demoted = rng.choice(numbered[numbered < end], size=15, replace=False).tolist()
        run = frame.copy()
        run.loc[demoted, "id_number"] = pd.NA
        pairs = pd.DataFrame({"l": rng.integers(0, end // 2, 50), "r": rng.integers(end // 2, end, 50)})
        with Scorer(run, PERSON_SPEC, model) as alone:
            want = [
                alone.predict(threshold=None, extra_condition="r.fresh"),
                alone.predict(threshold=None, pairs=pairs),
            ]
        with Scorer(
            run, PERSON_SPEC, model, table=table, overrides={i: full["id_number"][i] for i in demoted}
        ) as kept:
            got = [
                kept.predict(threshold=None, extra_condition="r.fresh"),
                kept.predict(threshold=None, pairs=pairs),
            ]
        for a, b in zip(want, got, strict=True):
            pd.testing.assert_frame_equal(_sorted(a), _sorted(b))
        seen += len(want[0])
        # Put back as stored: the next batch's frame has the numbers again.
        held = table.con.execute(f"SELECT count(id_number), count(*) FROM {Scorer._TABLE}").fetchall()[0]
        assert held == (int(frame["id_number"].notna().sum()), end)
    table.close()
    assert seen > 100
