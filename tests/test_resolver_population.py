"""The resolver's in-memory population: a run of the same process reuses what the last run left in
the store instead of reading it again, and must decide exactly what a run that reads it would.

Also: a comparison the training data never observed keeps the spec's default parameters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from connectors.idnumber import make_id_number
from connectors.mentions import PersonMention
from connectors.resolution import resolver
from connectors.resolution.adversarial import generate_population
from connectors.resolution.chinese import DEFAULT_PARAMETERS, mention_frame
from connectors.resolution.evidence import (
    _ROLE_SEX,
    _ROLE_ZH,
    FAMILY_BONUS,
    REASON_FAMILY,
    _strs,
    family_evidence,
    id_conflicts,
    twin_guards,
)
from connectors.resolution.resolver import resolve_with_changes
from connectors.resolution.store import LINK, MERGE, MODEL, REVIEW
from kernel.db import make_engine, migrate

TODAY = date(2024, 9, 30)
VILLAGE = "500248101201"  # a village of every generated county


def _engine(path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{path.as_posix()}")
    migrate(eng)
    return eng


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    a, b = _engine(tmp_path / "a.sqlite3"), _engine(tmp_path / "b.sqlite3")
    yield a, b
    a.dispose()
    b.dispose()


def _outcome(engine: Engine) -> tuple[Any, ...]:
    """What the store says was decided, person keys replaced by the partition they make."""
    people: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with engine.connect() as conn:
        links = conn.execute(select(LINK.c.system, LINK.c.record_id, LINK.c.person_key, LINK.c.method)).all()
        reviews = conn.execute(
            select(
                REVIEW.c.left_system,
                REVIEW.c.left_record_id,
                REVIEW.c.right_system,
                REVIEW.c.right_record_id,
                REVIEW.c.score,
                REVIEW.c.reason,
            ).order_by(REVIEW.c.id)
        ).all()
        merges = conn.execute(select(MERGE.c.moved).order_by(MERGE.c.id)).all()
        models = conn.execute(select(MODEL.c.records, MODEL.c.labelled_pairs).order_by(MODEL.c.id)).all()
    for system, record_id, key, _ in links:
        people[key].add((system, record_id))
    return (
        {frozenset(v) for v in people.values()},
        sorted((s, r, m) for s, r, _, m in links),
        [tuple(r) for r in reviews],
        [sorted(map(tuple, m)) for (m,) in merges],
        [tuple(m) for m in models],
    )


def test_batches_from_memory_decide_as_batches_that_load_everything(
    engines: tuple[Engine, Engine],
    county_mentions_small: list[PersonMention],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cached, loaded = engines
    # every source in each
    batches = [[*planted, *county_mentions_small[i::4]] for i, planted in enumerate(_planted())]
    caplog.set_level("INFO", logger=resolver.__name__)
    for batch in batches:
        resolve_with_changes(cached, batch, today=TODAY)
    assert sum("population from memory" in r.getMessage() for r in caplog.records) == len(batches) - 1
    # The reference: every run loads the population and judges the evidence over all of it.
    monkeypatch.setattr(resolver, "_id_conflicts", lambda frame, keys, *_: id_conflicts(frame, keys))
    monkeypatch.setattr(resolver, "_twin_guards", lambda frame, issued, *_: twin_guards(frame, issued))
    monkeypatch.setattr(resolver, "_labelled_pairs", lambda *_: None)  # _model counts them itself
    for batch in batches:
        resolver._POPULATIONS.clear()
        resolver._FRAMES.clear()
        resolve_with_changes(loaded, batch, today=TODAY)
    outcome = _outcome(cached)
    assert outcome == _outcome(loaded)
    assert len(outcome[3]) == 1 and any(r[5] for r in outcome[2])  # the merge, the set-aside number


def _planted() -> list[list[PersonMention]]:
    """Four batches of events an incremental run must carry over: a provisional person (batch 2)
    absorbed when her ID number turns up (batch 3), then in batch 4 a record of hers and a record
    whose ID number contradicts its holder (set aside, reviewed)."""
    birth = date(1958, 2, 14)
    number = make_id_number("500248", birth, 88)
    phone = "13912345678"
    holder = PersonMention(
        "police_hukou",
        "2010999601",
        "member",
        name="龙秀英",
        id_number=number,
        sex="F",
        birth_date=birth,
        division=VILLAGE,
        household_number="2010999",
    )
    carer = PersonMention(
        "police_incident", "J1#guardian", "guardian", name="龙秀兰", division=VILLAGE, phone=phone
    )
    forms = [
        PersonMention(
            "survey",
            f"{VILLAGE}-96{i}#guardian",
            "guardian",
            name="龙秀英",
            id_number=number,
            sex="F",
            division=VILLAGE,
            phone=phone,
        )
        for i in (1, 2)
    ]
    again = PersonMention(
        "health", "RelatedPerson/r9", "related", name="龙秀英", sex="F", division=VILLAGE, phone=phone
    )
    wrong = PersonMention(
        "education", "P-9001", "pupil", name="张伟", id_number=number, sex="M", birth_date=date(2015, 3, 1)
    )
    return [[holder], [carer], forms, [wrong, again]]


def test_a_store_changed_by_another_process_is_read_again(
    tmp_path: Path, county_mentions_small: list[PersonMention], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here: the same code with its own memory) resolves a person this process
    has not seen; this process's next run must compare with that person too."""
    engine = _engine(tmp_path / "s.sqlite3")
    resolve_with_changes(engine, county_mentions_small, today=TODAY)
    birth = date(1987, 4, 12)
    registered = PersonMention(
        "police_hukou",
        "2010999777",
        "member",
        name="龙秀英",
        id_number=make_id_number("500248", birth, 77),
        sex="F",
        birth_date=birth,
        division=VILLAGE,
        household_number="2019997",
    )
    with monkeypatch.context() as other_process:
        other_process.setattr(resolver, "_POPULATIONS", {})
        other_process.setattr(resolver, "_FRAMES", {})
        person = resolve_with_changes(engine, [registered], today=TODAY).keys[registered.key]
    later = PersonMention(
        "survey",
        f"{VILLAGE}-9777",
        "child",
        name="龙秀英",
        sex="F",
        birth_date=birth,
        division=VILLAGE,
    )
    assert resolve_with_changes(engine, [later], today=TODAY).keys[later.key] == person
    engine.dispose()


def test_a_comparison_the_training_data_never_observed_keeps_its_default_parameters(
    tmp_path: Path, county_mentions_small: list[PersonMention]
) -> None:
    """Life stage only speaks when a birth date is missing: with every birth date known, no pair
    observes it, and the trained model keeps the spec's defaults for it (not the floor m and the
    smallest u, which would add twenty bits to every pair whatever it found)."""
    engine = _engine(tmp_path / "m.sqlite3")
    dated = [m for m in county_mentions_small if m.birth_date is not None]
    resolve_with_changes(engine, dated, today=TODAY)
    with engine.connect() as conn:
        trained = conn.execute(
            select(MODEL.c.settings, MODEL.c.labelled_pairs).order_by(MODEL.c.id.desc())
        ).first()
    engine.dispose()
    assert trained is not None and trained.labelled_pairs >= 200  # trained, not the default model
    assert _levels(trained.settings, "adult") == pytest.approx(_flat(DEFAULT_PARAMETERS["adult"]))
    # ... while a comparison the data did observe was trained.
    assert _levels(trained.settings, "birth_date") != pytest.approx(_flat(DEFAULT_PARAMETERS["birth_date"]))


def _flat(parameters: dict[str, tuple[float, float]]) -> dict[str, float]:
    return {f"{label} {p}": x for label, mu in parameters.items() for p, x in zip("mu", mu, strict=True)}


def _levels(model: dict[str, Any], comparison: str) -> dict[str, float]:
    """(m, u) of each non-null level of one comparison of a stored model."""
    (found,) = [c for c in model["comparisons"] if c["output_column_name"] == comparison]
    return _flat(
        {
            lv["label_for_charts"]: (lv["m_probability"], lv["u_probability"])
            for lv in found["comparison_levels"]
            if not lv.get("is_null_level")
        }
    )


# ------------------------------------------------------------------ family evidence, restricted


def _family_evidence_reference(
    frame: pd.DataFrame, labels: np.ndarray, *, bonus: float = FAMILY_BONUS
) -> tuple[pd.DataFrame, dict[tuple[int, int], str]]:
    """family_evidence as it was written before it read only the records it judges (every record,
    each run): the answer the restricted one must give, pair order and reasons included."""
    roles = _strs(frame, "role")
    ids = _strs(frame, "id_number")
    grp = _strs(frame, "grp")
    sexes = _strs(frame, "sex")
    households = _strs(frame, "household_number")
    adult = frame["adult"].tolist()
    n = len(frame)
    anchored = set(labels[[i for i, x in enumerate(ids) if isinstance(x, str) and x]].tolist())
    members: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels.tolist()):
        members[lab].append(i)
    by_grp: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grp):
        if isinstance(g, str):
            by_grp[g].append(i)
    in_household: dict[str, list[int]] = defaultdict(list)
    for i, hh in enumerate(households):
        if isinstance(hh, str) and hh and isinstance(ids[i], str) and ids[i] and adult[i] is True:
            in_household[hh].append(i)
    if not in_household:
        return pd.DataFrame({"l": [], "r": [], "bonus": []}), {}
    pairs: dict[tuple[int, int], float] = {}
    reasons: dict[tuple[int, int], str] = {}
    for i in range(n):
        role = roles[i]
        if role not in _ROLE_ZH or (isinstance(ids[i], str) and ids[i]) or int(labels[i]) in anchored:
            continue
        homes: set[str] = set()
        own_group = grp[i]
        for j in by_grp.get(own_group, []) if own_group is not None else []:
            if j == i:
                continue
            for k in members[int(labels[j])]:
                hh = households[k]
                if isinstance(hh, str) and hh:
                    homes.add(hh)
        sex = _ROLE_SEX.get(role) or (sexes[i] if sexes[i] in ("M", "F") else None)
        for hh in homes:
            for c in in_household.get(hh, ()):
                if sex is not None and sexes[c] != sex:
                    continue
                for k in members[int(labels[c])]:
                    if k == i:
                        continue
                    key = (i, k) if i < k else (k, i)
                    pairs[key] = bonus
                    reasons[key] = REASON_FAMILY.format(role=_ROLE_ZH[role])
    if not pairs:
        return pd.DataFrame({"l": [], "r": [], "bonus": []}), {}
    arr = np.array(list(pairs), dtype=np.int64)
    return pd.DataFrame({"l": arr[:, 0], "r": arr[:, 1], "bonus": list(pairs.values())}), reasons


def test_family_evidence_reads_only_what_it_judges_and_answers_as_over_everything(
    county_mentions_small: list[PersonMention],
) -> None:
    frame = mention_frame(county_mentions_small, today=TODAY)
    n = len(frame)
    labels = np.arange(n, dtype=np.int64)
    first: dict[str, int] = {}
    for i, number in enumerate(frame["id_number"].tolist()):
        if isinstance(number, str):
            labels[i] = first.setdefault(number, i)
    rng = np.random.default_rng(5)
    found = 0
    for trial in range(4):
        glued = labels.copy()  # first passes that linked more, or other, records together
        pick = rng.choice(n, size=n // (4 + trial), replace=False)
        glued[pick] = glued[rng.choice(n, size=len(pick))]
        pairs, reasons = family_evidence(frame, glued)
        want_pairs, want_reasons = _family_evidence_reference(frame, glued)
        assert pairs.equals(want_pairs)
        assert list(reasons.items()) == list(want_reasons.items())
        found += len(pairs)
    assert found > 100


def test_twin_guards_over_the_records_they_concern_are_the_guards_over_everything() -> None:
    """The adversarial county has twins (one household, one birth date, two numbers) and records
    without a number born on their birthday or a day off; some numbers are set aside, as a run's
    ID conflicts would."""
    pop = generate_population(1500, seed=3, missing_child_ids=0.3)
    frame = mention_frame(pop.mentions, today=date(2026, 9, 1))
    issued = [x if isinstance(x, str) else None for x in frame["id_number"].tolist()]
    rng = np.random.default_rng(2)
    numbered = np.flatnonzero(frame["id_number"].notna().to_numpy())
    found = 0
    for share in (0, 10, 5):
        run, demoted = frame, np.array([], dtype=np.int64)
        if share:
            run = frame.copy()
            demoted = rng.choice(numbered, size=len(numbered) // share, replace=False)
            run.loc[demoted, "id_number"] = pd.NA
        want = twin_guards(run, issued)
        # The index is of the stored rows, built in runs of new rows as the resolver builds it.
        index = resolver._Index()
        for start in range(0, len(frame), 700):
            index.add(frame.iloc[: start + 700], start=start)
        assert resolver._twin_guards(run, issued, index, demoted.tolist()) == want
        found += len(want)
    assert found > 100


def test_an_undo_committed_while_a_run_resolves_is_not_forgotten_by_the_next_run(
    tmp_path: Path, county_mentions_small: list[PersonMention], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service resolves a sync batch in one thread while a caseworker's undo of a merge
    (undoMerge) commits in another. An undo committed after the run read the population and before
    it wrote is in the store the run leaves behind, but not in the population the run had read:
    that population must not be kept as the store's, or the next run links a record to the person
    it was merged into (its number's holder no longer) instead of the person it is again."""
    import dataclasses
    import sqlite3

    from connectors.resolution import review_decisions
    from connectors.resolution.store import REVIEW as REVIEW_T

    engine = _engine(tmp_path / "s.sqlite3")
    first, later = county_mentions_small[:-40], county_mentions_small[-40:]
    resolve_with_changes(engine, first, today=TODAY)
    with engine.connect() as conn:
        links = conn.execute(select(LINK.c.system, LINK.c.record_id, LINK.c.person_key)).all()
    people: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for s, r, k in links:
        people[k].append((s, r))
    by_key = {m.key: m for m in first}
    # Merged, then taken back: a person of one record with an ID number into one of more records.
    alone = next(k for k, ms in people.items() if len(ms) == 1 and by_key[ms[0]].id_number)
    larger = next(k for k, ms in people.items() if len(ms) > 1)
    held = by_key[people[alone][0]]
    with engine.begin() as conn:
        inserted = conn.execute(
            REVIEW_T.insert().values(
                left_system=held.system,
                left_record_id=held.record_id,
                right_system=people[larger][0][0],
                right_record_id=people[larger][0][1],
                score=0.5,
                status="open",
                created_at=resolver.utcnow(),
            )
        ).inserted_primary_key
    review_id = inserted[0] if inserted else 0
    merged = review_decisions.merge(engine, int(review_id), "caseworker")
    assert (merged.survivor_key, merged.absorbed_key) == (larger, alone)

    reviewed = resolver.reviewed_person_pairs
    undone: list[Any] = []

    def meanwhile(conn: Any) -> Any:  # the caseworker's undo commits while this run resolves
        if not undone:
            undone.append(review_decisions.undo_merge(engine, int(merged.merge_id or 0), "caseworker"))
        return reviewed(conn)

    with monkeypatch.context() as concurrent:
        concurrent.setattr(resolver, "reviewed_person_pairs", meanwhile)
        resolve_with_changes(engine, later, today=TODAY)
    assert undone

    # The same store read afresh (another process) is the reference for the next run.
    fresh = tmp_path / "fresh.sqlite3"
    with sqlite3.connect(tmp_path / "s.sqlite3") as src, sqlite3.connect(fresh) as dst:
        src.backup(dst)
    reference = _engine(fresh)
    again = dataclasses.replace(held, system="health", record_id="RelatedPerson/r-again", role="related")
    got = resolve_with_changes(engine, [again], today=TODAY).keys[again.key]
    resolver._POPULATIONS.clear()
    resolver._FRAMES.clear()
    expected = resolve_with_changes(reference, [again], today=TODAY).keys[again.key]
    assert expected == alone  # the number's holder is the person the undo gave the record back
    assert got == expected
    assert _outcome(engine)[0] == _outcome(reference)[0]
    engine.dispose()
    reference.dispose()


def test_id_conflicts_from_the_index_are_the_conflicts_over_everything() -> None:
    """The adversarial county has numbers copied onto other people's records (twins', a wrong
    sex or birth date); the last rows are a run's new ones, the earlier ones linked by number
    (some to a second person, as a reviewer may have decided). The conflicts found from the
    index, reading only the new rows' numbers, are those over the whole frame."""
    pop = generate_population(1500, seed=5, missing_child_ids=0.3)
    frame = mention_frame(pop.mentions, today=date(2026, 9, 1))
    n = len(frame)
    rng = np.random.default_rng(4)
    found = 0
    for n_old in (n // 2, n - n // 5, n - 50):
        run = frame.copy()
        run["fresh"] = np.arange(n) >= n_old
        ids = run["id_number"].tolist()
        keys: list[str | None] = [
            (f"p{x}" if isinstance(x, str) else f"q{i}") if i < n_old else None for i, x in enumerate(ids)
        ]
        for i in rng.choice(n_old, size=n_old // 50, replace=False).tolist():
            keys[i] = f"r{i}"
        index = resolver._Index()
        for start in range(0, n, 600):
            index.add(run.iloc[: start + 600], start=start)
        want = id_conflicts(run, keys)
        got = resolver._id_conflicts(run, keys, index, n_old)
        assert got.demoted == want.demoted and got.guards == want.guards
        found += len(want.guards)
    assert found > 20


def test_a_failed_batch_and_a_record_sent_again_with_another_id_number_leave_memory_as_a_load(
    engines: tuple[Engine, Engine],
    county_mentions_small: list[PersonMention],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kept population and its scoring table across what interrupts them: a batch failing after
    the table was grown (then sent again), and a record sent again with another ID number and birth
    date (its stored row changes: the memory must go). The store ends as runs that load everything."""
    from dataclasses import replace

    cached, loaded = engines
    batches = [list(county_mentions_small[i::4]) for i in range(4)]
    numbered = next(m for m in batches[0] if m.id_number and m.birth_date)
    born = date(numbered.birth_date.year - 1, 1, 2)  # type: ignore[union-attr]
    resent = replace(numbered, id_number=make_id_number(numbered.id_number[:6], born, 17), birth_date=born)
    batches[2] = [resent, *batches[2]]
    real_link = resolver.link
    failed = []

    def link_failing_once(*args: Any, **kwargs: Any) -> Any:
        if len(failed) == 0 and kwargs.get("scorer") is not None:
            failed.append(1)
            raise RuntimeError("the batch fails after the scoring table was grown")
        return real_link(*args, **kwargs)

    resolve_with_changes(cached, batches[0], today=TODAY)
    monkeypatch.setattr(resolver, "link", link_failing_once)
    with pytest.raises(RuntimeError):
        resolve_with_changes(cached, batches[1], today=TODAY)
    assert failed
    for batch in batches[1:]:
        resolve_with_changes(cached, batch, today=TODAY)
    monkeypatch.setattr(resolver, "link", real_link)
    for batch in batches:
        resolver._release()
        resolver._FRAMES.clear()
        resolve_with_changes(loaded, batch, today=TODAY)
    assert _outcome(cached) == _outcome(loaded)
