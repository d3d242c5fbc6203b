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
from connectors.resolution.chinese import PERSON_SPEC, mention_frame
from connectors.resolution.scoring import Scorer, predict
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
