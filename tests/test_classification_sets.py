"""Set-based classification reaches the same verdicts as classifying each child alone.

A seeded synthetic county (parents away, home, dead, missing or incapable; guardians with many
wards, old or ill; households carrying the registration type; enrolments, truancy, dropout,
injuries, illnesses, visits with survey findings, open and closed cases; adults and people just
past the age lines) is classified three ways: each child from its own neighbourhood
(`assess`, the per-child path), the county's children in one set read (`assess_division`), and
the same people given by id (`assess_all`), all at once and one at a time. Every row,
explanation included, must be identical.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord
from protection.classification import assess, assess_all, assess_division
from tests.screening_support import HEALTH, HUKOU, SCHOOL, SURVEY, Families

AS_OF = date(2026, 9, 1)
COUNTY = "500101000000"
VILLAGES = [f"500101{t:03d}{v:03d}" for t in (1, 2) for v in (1, 2, 3)]
CHILDREN = 40
COURT = Assertion("court", "CT-SYN", datetime(2026, 5, 1, 9, 0))


def _parent(rng: random.Random) -> dict[str, Any]:
    """A parent away, at home, dead, missing, incapable or with nothing known."""
    kind = rng.choice(["away", "away", "home", "dead", "missing", "incapable", "unknown"])
    birth = f"19{rng.randint(75, 95)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    spec: dict[str, Any] = {"birth_date": birth}
    if kind == "away":
        spec |= {"works_away": True, "work_destination": "广东"}
    elif kind == "home":
        spec["works_away"] = False
    elif kind == "dead":
        spec["deceased"] = True
    elif kind == "missing":
        spec |= {"guardianship_capacity": False, "incapacity_reason": "失联"}
    elif kind == "incapable":
        spec |= {"guardianship_capacity": False, "incapacity_reason": "重残"}
    return spec


class _Writer:
    """Collects the county's records and writes them in a few batches (one transaction each)."""

    def __init__(self, seed: int) -> None:
        self.fam = Families(None, seed)  # type: ignore[arg-type]  (names, birth dates and keys only)
        self.nodes: list[NodeRecord] = []
        self.rels: list[RelRecord] = []

    def person(self, key: str, division: str, props: dict[str, Any], source: Assertion = HUKOU) -> str:
        pid = node_id("Person", self.fam.key(key))
        self.nodes.append(NodeRecord(pid, {"name": self.fam.name(), "division": division, **props}, source))
        return pid

    def event(self, about: str, label: str, props: dict[str, Any], source: Assertion) -> None:
        eid = node_id(label, self.fam.key("e"))
        self.nodes.append(NodeRecord(eid, props, source))
        self.rels.append(RelRecord("CONCERNS", eid, about, {}, source))

    def write(self, store: GraphStore) -> None:
        store.upsert_nodes(self.nodes)
        store.upsert_rels(self.rels)


def _county(store: GraphStore, seed: int = 7) -> list[str]:
    """The synthetic county; returns every person id in it."""
    rng = random.Random(seed)
    w = _Writer(seed)
    people: list[str] = []
    # Grandparents who look after several children (many wards, old, some ill or incapable).
    carers = []
    for i in range(6):
        props: dict[str, Any] = {"birth_date": f"19{rng.randint(48, 70)}-03-0{rng.randint(1, 9)}"}
        if i % 3 == 1:
            props["guardianship_capacity"] = False
        gid = w.person("g", VILLAGES[i], props, SURVEY)
        if i % 2 == 0:
            w.event(
                gid, "HealthEvent", {"kind": "condition", "icd10": rng.choice(["C91", "I10", "E10"])}, HEALTH
            )
        carers.append(gid)
        people.append(gid)
    for n in range(CHILDREN):
        village = VILLAGES[n % len(VILLAGES)]
        age = rng.choice([1, 2, 5, 8, 11, 14, 15, 16, 17, 18, 19, 30])
        props = {"birth_date": w.fam.birth(age, AS_OF), "sex": rng.choice("MF")}
        hukou = rng.choice(["rural", "rural", "urban", None])
        if hukou:  # else the registration type is only on the household, if any
            props["hukou_type"] = hukou
        if rng.random() < 0.2:
            props["disability"] = rng.choice(["none", "肢体-2", "无", "intellectual-1"])
        cid = w.person("c", village, props)
        people.append(cid)
        for role in ("father", "mother"):
            if rng.random() < 0.88:
                pid = w.person(role[0], village, _parent(rng))
                w.rels.append(RelRecord("PARENT_OF", pid, cid, {"role": role}, HUKOU))
                people.append(pid)
        if rng.random() < 0.35:
            w.rels.append(RelRecord("GUARDIAN_OF", rng.choice(carers), cid, {"kind": "entrusted"}, SURVEY))
        elif rng.random() < 0.2:
            gid = w.person(
                "g", village, {"birth_date": "1950-01-01", "guardianship_capacity": rng.random() < 0.7}
            )
            kind = rng.choice(["temporary", "entrusted", "legal"])
            w.rels.append(RelRecord("GUARDIAN_OF", gid, cid, {"kind": kind}, SURVEY))
            people.append(gid)
        if rng.random() < 0.5:
            hid = node_id("Household", f"syn{seed}h{n}")
            hh = {
                "household_number": f"H{n}",
                "hukou_type": rng.choice(["rural", "urban"]),
                "division": village,
            }
            w.nodes.append(NodeRecord(hid, hh, HUKOU))
            w.rels.append(RelRecord("MEMBER_OF", cid, hid, {"relation_to_head": "孙子女"}, HUKOU))
        if rng.random() < 0.5:
            sid = node_id("School", f"syn{seed}s{n % 3}")
            w.nodes.append(
                NodeRecord(sid, {"code": f"S{n % 3}", "name": "学校", "division": village}, SCHOOL)
            )
            status = rng.choice(["在读", "辍学", "休学", None])
            w.rels.append(RelRecord("ENROLLED_AT", cid, sid, {"status": status, "grade": "3"}, SCHOOL))
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            when = (AS_OF - timedelta(days=rng.randint(10, 500))).isoformat()
            kind = rng.choice(["truancy", "truancy", "dropout", "return"])
            w.event(cid, "EducationEvent", {"kind": kind, "occurred_on": when}, SCHOOL)
        for _ in range(rng.choice([0, 0, 1, 2])):
            when = (AS_OF - timedelta(days=rng.randint(10, 600))).isoformat()
            code = rng.choice(["S52", "T74", "C91", "J10", "Q21"])
            w.event(cid, "HealthEvent", {"kind": "encounter", "icd10": code, "occurred_on": when}, HEALTH)
        for _ in range(rng.choice([0, 1, 2])):
            when = (AS_OF - timedelta(days=rng.randint(5, 300))).isoformat()
            findings = rng.choice(
                ["", "独居", "低保", "性格孤僻,不良行为", "poor_family", "监护人年老体弱；辍学"]
            )
            w.event(cid, "Visit", {"visited_on": when, "visitor": "村委", "findings": findings}, SURVEY)
        if rng.random() < 0.15:
            status = rng.choice(["open", "closed", None])
            w.event(cid, "ProtectionCase", {"status": status, "kind": "guardianship"}, COURT)
    w.write(store)
    return people


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, list[str]]]:
    store = LadybugStore(Path(tmp_path_factory.mktemp("sets")) / "graph.lbug", buffer_pool_mb=1024)
    store.init_schema()
    people = _county(store)
    yield store, people
    store.close()


def _rows(results: list[Any]) -> dict[str, dict[str, Any]]:
    stamp = datetime(2026, 9, 1, tzinfo=UTC)
    return {r.person_id: r.values(stamp) for r in results}


def test_a_county_classified_as_a_set_equals_each_child_classified_alone(
    county: tuple[GraphStore, list[str]],
) -> None:
    store, people = county
    alone = _rows([r for pid in people if (r := assess(store, pid, as_of=AS_OF)) is not None])
    by_division = _rows(assess_division(store, COUNTY, as_of=AS_OF))
    by_id = _rows(assess_all(store, people, as_of=AS_OF))
    # The county is varied enough to mean something: every category and most rules occur.
    categories = {c for row in alone.values() for c in row["categories"]}
    rules = {r for row in alone.values() for r in row["risks"]}
    assert len(alone) >= 25
    assert {
        "left_behind",
        "orphan",
        "de_facto_unsupported",
        "disability",
        "serious_illness",
        "poor_family",
    } <= categories
    assert {
        "guardian_many_children",
        "guardian_ill",
        "guardian_very_old",
        "repeated_truancy",
        "injury",
    } <= rules
    # One child at a time by id, as a visit or a case reclassifies it: a guardian's other wards
    # are then outside the selection and reached only through the guardian.
    one_by_one = _rows([r for pid in people for r in assess_all(store, [pid], as_of=AS_OF)])
    assert sorted(by_division) == sorted(alone)
    assert one_by_one == alone
    assert sorted(by_id) == sorted(alone)
    for pid, row in alone.items():
        assert by_division[pid] == row, pid
        assert by_id[pid] == row, pid


def test_recompute_of_a_division_removes_only_that_divisions_stale_rows(
    county: tuple[GraphStore, list[str]], tmp_path: Path
) -> None:
    from sqlalchemy import select

    from kernel.db import make_engine, migrate
    from protection.classification import recompute
    from protection.screening_tables import ChildClassification

    engine = make_engine(f"sqlite:///{tmp_path / 'shouhu.sqlite3'}")
    migrate(engine)
    store, _ = county
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    gone = {
        "person:gone-in": "500101001009",
        "person:gone-next": "500101002001",
        "person:gone-out": "500102001001",
    }
    stale = [
        {
            **next(iter(_rows(assess_division(store, VILLAGES[0], as_of=AS_OF)).values())),
            "person_id": p,
            "division": d,
        }
        for p, d in gone.items()
    ]
    with engine.begin() as conn:
        conn.execute(T.insert(), stale)
    report = recompute(store, engine, division="500101001000", as_of=AS_OF, trigger="test")
    with engine.connect() as conn:
        kept = {r.person_id: r.division for r in conn.execute(select(T.c.person_id, T.c.division))}
    assert report.removed == 1 and "person:gone-in" not in kept
    assert {"person:gone-next", "person:gone-out"} <= set(kept)
    assert sorted(p for p, d in kept.items() if d.startswith("500101001")) == sorted(
        _rows(assess_division(store, "500101001000", as_of=AS_OF))
    )
    engine.dispose()


@pytest.mark.parametrize("days_before", [0, 40, 400, 3000])
def test_counts_as_of_a_past_day_equal_the_county_classified_as_of_that_day(
    county: tuple[GraphStore, list[str]], tmp_path: Path, days_before: int
) -> None:
    """A quarter's report counts its children as they were on its last day (protection/reporting.py).
    `counts_as_of` classifies again only the people whose birthday crossed an age line since;
    its figures must be those of the whole county classified as of that day."""
    from collections import Counter

    from kernel import clock
    from kernel.db import make_engine, migrate
    from protection.classification import counts_as_of, counts_by_division, recompute

    store, _ = county
    engine = make_engine(f"sqlite:///{tmp_path / 'shouhu.sqlite3'}")
    migrate(engine)
    day = AS_OF - timedelta(days=days_before)
    with clock.pinned(datetime(2026, 9, 1, 4, 0, tzinfo=UTC)):
        recompute(store, engine, division=COUNTY, as_of=AS_OF, trigger="test")
        got = counts_as_of(store, engine, "500101", 9, day)
    want: dict[str, Counter[str]] = {}
    for r in assess_division(store, COUNTY, as_of=day):
        if r.age is not None and r.age < 0:
            continue
        c = want.setdefault(r.division[:9].ljust(12, "0"), Counter())
        c["children"] += 1
        c.update(r.categories)
        c["in_distress"] += r.in_distress
    assert {k: +v for k, v in got.items()} == {k: +v for k, v in want.items()}
    if days_before >= 400:  # the day differs from today in who counts: the test means something
        assert counts_by_division(engine, "500101", 9) != got


def test_counts_as_of_count_a_child_who_moved_once(
    county: tuple[GraphStore, list[str]], tmp_path: Path
) -> None:
    """A materialised row still naming the village a child left (its division changed since the
    rows were computed): reclassified for a birthday since the day, the child counts where it lives
    now, and its old row counts nowhere. The townships' figures add up to the county's."""
    from collections import Counter

    from sqlalchemy import update

    from kernel import clock
    from kernel.db import make_engine, migrate
    from protection.classification import counts_as_of, recompute
    from protection.screening_tables import ChildClassification

    store, _ = county
    engine = make_engine(f"sqlite:///{tmp_path / 'shouhu.sqlite3'}")
    migrate(engine)
    day = AS_OF - timedelta(days=400)
    T = ChildClassification.__table__  # type: ignore[attr-defined]
    with clock.pinned(datetime(2026, 9, 1, 4, 0, tzinfo=UTC)):
        recompute(store, engine, division=COUNTY, as_of=AS_OF, trigger="test")
        with engine.begin() as conn:  # every row says the other township: all of them "moved"
            for a, b in (("500101001", "x"), ("500101002", "500101001"), ("x", "500101002")):
                conn.execute(update(T).where(T.c.division.startswith(a)).values(division=b + "001"))
        towns = [counts_as_of(store, engine, town, 9, day) for town in ("500101001", "500101002")]
        whole = counts_as_of(store, engine, "500101", 9, day)
    summed: dict[str, Counter[str]] = {}
    for t in towns:
        for code, c in t.items():
            summed.setdefault(code, Counter()).update(c)
    assert summed == whole
