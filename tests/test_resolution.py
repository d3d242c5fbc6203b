"""Entity resolution: surname-aware pinyin, deterministic and probabilistic linking, stable keys,
the review queue with merge and undo.

Resolution runs against a real migrated database (SQLite under tmp_path; the review round
trip also on PostgreSQL at 127.0.0.1:5432, skipped with SHOUHU_SKIP_POSTGRES=1). Most
scenarios are planted into a small generated county, so that the model sees a realistic
population (the prior, the name frequencies) rather than four records alone.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, select

from connectors.idnumber import make_id_number
from connectors.mentions import PersonMention
from connectors.resolution import (
    ResolutionError,
    get_review,
    merge,
    open_review_count,
    open_reviews,
    person_mentions,
    reject,
    resolve,
    undo_merge,
)
from connectors.resolution.resolver import resolve_with_changes
from connectors.resolution.store import RESOLVER
from connectors.resolution.tables import MergeHistory, PersonLink
from kernel.db import DatabaseUnavailable, check_reachable, make_engine, migrate
from kernel.names import NameAgreement, compare_names, fuzzy_pinyin, name_pinyin, split_name

TODAY = date(2024, 9, 30)
VILLAGE = "500248101201"  # a village of every generated county (first township, first 村)
PG_ADMIN_URL = os.environ.get("SHOUHU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# ------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("曾小明", "zeng xiao ming"),  # pypinyin alone: ceng
        ("单田芳", "shan tian fang"),  # dan
        ("解放", "xie fang"),  # jie, and the phrase 解放 must not win
        ("仇英", "qiu ying"),  # chou
        ("区志强", "ou zhi qiang"),  # qu
        ("查良镛", "zha liang yong"),  # cha
        ("朴槿惠", "piao jin hui"),  # pu
        ("盖聂", "ge nie"),  # gai
        ("翟天临", "zhai tian lin"),  # di
        ("尉迟恭", "yu chi gong"),  # compound: Yùchí, not wei
        ("欧阳修", "ou yang xiu"),
        ("司马光", "si ma guang"),
        ("诸葛亮", "zhu ge liang"),
        ("上官婉儿", "shang guan wan er"),
        ("万俟卨", "mo qi xie"),
        ("张晓明", "zhang xiao ming"),
        ("张小明", "zhang xiao ming"),  # homophones share the key
        (" 张 小明 ", "zhang xiao ming"),
        ("吕 芳", "lv fang"),  # a stray blank; ü written v
    ],
)
def test_surnames_are_read_as_surnames(name: str, expected: str) -> None:
    assert name_pinyin(name) == expected


def test_split_name_takes_a_compound_surname_only_with_a_given_name() -> None:
    assert split_name("欧阳修") == ("欧阳", "修")
    assert split_name("欧阳") == ("欧", "阳")
    assert split_name("买买提·吐尔逊") == ("买", "买提吐尔逊")


def test_name_comparison_ladder() -> None:
    assert compare_names("张晓明", "张晓明") is NameAgreement.EXACT
    assert compare_names("张晓明", "张小明") is NameAgreement.HOMOPHONE
    assert compare_names("曾小明", "增小明") is NameAgreement.HOMOPHONE  # both zeng
    assert compare_names("陈丽", "程丽") is NameAgreement.DIALECT_HOMOPHONE  # chen/cheng
    assert compare_names("王兴", "王新") is NameAgreement.DIALECT_HOMOPHONE  # xing/xin
    assert compare_names("王梓涵", "王梓轩") is NameAgreement.ONE_CHARACTER
    assert compare_names("王梓涵", "李建国") is NameAgreement.DIFFERENT
    assert fuzzy_pinyin("刘宁") == fuzzy_pinyin("刘林")  # n/l and in/ing merge in the county's speech


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of each kind."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{(tmp_path / 'shouhu.sqlite3').as_posix()}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    try:
        check_reachable(PG_ADMIN_URL)
    except DatabaseUnavailable as exc:
        if os.environ.get("SHOUHU_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL skipped (SHOUHU_SKIP_POSTGRES=1): {exc}")
        pytest.fail(f"PostgreSQL tests need the server ({exc}); or set SHOUHU_SKIP_POSTGRES=1", pytrace=False)
    name = f"shouhu_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    eng = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        migrate(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _id(birth: date, seq: int) -> str:
    return make_id_number("500248", birth, seq)


def _hukou(
    record_id: str, name: str, birth: date, sex: str, seq: int, household: str = "2010999"
) -> PersonMention:
    return PersonMention(
        "police_hukou",
        record_id,
        "member",
        name=name,
        id_number=_id(birth, seq),
        sex=sex,
        birth_date=birth,
        division=VILLAGE,
        household_number=household,
    )


def _resolve(engine: Engine, mentions: list[PersonMention]) -> dict[tuple[str, str], str]:
    return resolve(engine, mentions, today=TODAY)


# ---------------------------------------------------------------------------------- deterministic


def test_a_valid_id_number_links_whatever_else_differs(engine: Engine) -> None:
    birth = date(2014, 3, 9)
    idn = _id(birth, 123)
    keys = _resolve(
        engine,
        [
            PersonMention(
                "police_hukou", "h1", "member", name="刘芳", id_number=idn, sex="F", birth_date=birth
            ),
            # Another name, another village, lower-case/full-width forms of the same number.
            PersonMention("education", "G1", "pupil", name="柳方", id_number=idn, division="500248102201"),
            PersonMention(
                "health", "Patient/1", "patient", name="刘芳", id_number=idn.translate(_FULL_WIDTH)
            ),
        ],
    )
    assert len(set(keys.values())) == 1


_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}


def test_an_invalid_id_number_is_no_evidence(engine: Engine) -> None:
    birth = date(2014, 3, 9)
    bad = _id(birth, 123)[:-1] + ("0" if _id(birth, 123)[-1] != "0" else "1")  # wrong check digit
    keys = _resolve(
        engine,
        [
            PersonMention("education", "G1", "pupil", name="刘芳", id_number=bad, sex="F", birth_date=birth),
            PersonMention("health", "Patient/1", "patient", name="马强", id_number=bad, sex="M"),
        ],
    )
    assert keys[("education", "G1")] != keys[("health", "Patient/1")]


def test_person_keys_are_random_hex_never_the_id_number(engine: Engine) -> None:
    birth = date(1980, 1, 2)
    m = _hukou("h1", "陈伟", birth, "M", 11)
    key = _resolve(engine, [m])[m.key]
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert m.id_number is not None and m.id_number[6:14] not in key and m.id_number not in key


# ---------------------------------------------------------------------------------- probabilistic


def test_homophone_name_without_id_number_is_linked(
    engine: Engine, county_mentions_small: list[PersonMention]
) -> None:
    birth = date(2015, 7, 17)
    hukou = _hukou("2010999901", "冉晓雯", birth, "F", 222)
    survey = PersonMention(
        "survey", "500248101201-9001", "child", name="冉小雯", sex="F", birth_date=birth, division=VILLAGE
    )
    swapped = PersonMention(  # homophone surname and month/day swapped, no ID number
        "health",
        "Patient/x1",
        "patient",
        name="冉筱雯",
        sex="F",
        birth_date=date(2015, 7, 17),
        division=VILLAGE,
    )
    keys = _resolve(engine, [*county_mentions_small, hukou, survey, swapped])
    assert keys[survey.key] == keys[hukou.key] == keys[swapped.key]
    with engine.connect() as conn:
        method = conn.execute(
            select(PersonLink.method).where(
                PersonLink.system == "survey", PersonLink.record_id == survey.record_id
            )
        ).scalar_one()
    assert method == "probabilistic"


def test_twins_are_not_merged_and_each_keeps_their_own_records(
    engine: Engine, county_mentions_small: list[PersonMention]
) -> None:
    birth = date(2016, 4, 3)
    a = _hukou("2010999801", "向梓涵", birth, "M", 311, household="2019998")
    b = _hukou("2010999802", "向梓轩", birth, "M", 313, household="2019998")
    # Each twin's own screening form and clinic record, without ID numbers.
    fa = PersonMention(
        "survey", "500248101201-9101", "child", name="向梓涵", sex="M", birth_date=birth, division=VILLAGE
    )
    fb = PersonMention(
        "survey", "500248101201-9102", "child", name="向梓轩", sex="M", birth_date=birth, division=VILLAGE
    )
    pa = PersonMention(
        "health", "Patient/t1", "patient", name="向子涵", sex="M", birth_date=birth, division=VILLAGE
    )
    keys = _resolve(engine, [*county_mentions_small, a, b, fa, fb, pa])
    assert keys[a.key] != keys[b.key]
    assert keys[fa.key] == keys[a.key] and keys[pa.key] == keys[a.key]
    assert keys[fb.key] == keys[b.key]


def test_different_people_with_the_same_name_elsewhere_stay_apart(
    engine: Engine, county_mentions_small: list[PersonMention]
) -> None:
    p1 = _hukou("2010999701", "谭建华", date(1975, 5, 5), "M", 17)
    other = PersonMention(
        "survey", "500248205201-0001#father", "father", name="谭建华", sex="M", division="500248105201"
    )
    keys = _resolve(engine, [*county_mentions_small, p1, other])
    assert keys[p1.key] != keys[other.key]


# ------------------------------------------------------------------------------- stable, incremental


def test_keys_are_stable_across_reruns_and_incremental_runs(
    engine: Engine, county_mentions_small: list[PersonMention]
) -> None:
    mentions = county_mentions_small
    half = len(mentions) // 2
    first = _resolve(engine, mentions[:half])
    assert _resolve(engine, mentions[:half]) == first
    everything = _resolve(engine, mentions)
    assert {k: everything[k] for k in first} == {k: v for k, v in first.items() if k in everything}
    assert _resolve(engine, list(reversed(mentions))) == everything

    # A later record of a known person, without an ID number, joins that person.
    known = next(m for m in mentions[:half] if m.system == "police_hukou" and m.birth_date and m.name)
    later = PersonMention(
        "survey",
        f"{VILLAGE}-9999",
        "child",
        name=known.name,
        sex=known.sex,
        birth_date=known.birth_date,
        division=known.division,
    )
    assert _resolve(engine, [later])[later.key] == everything[known.key]


def test_a_provisional_person_is_absorbed_when_the_counterpart_arrives_and_can_be_split_again(
    engine: Engine, county_mentions_small: list[PersonMention]
) -> None:
    birth = date(1958, 2, 14)
    h = _hukou("2010999601", "龙秀英", birth, "F", 88)
    _resolve(engine, [*county_mentions_small, h])
    phone = "13912345678"
    # A police incident names the carer with a mistyped name, village and phone only: too
    # little to link to the register entry, so a provisional person (and a review item).
    g = PersonMention(
        "police_incident", "J1#guardian", "guardian", name="龙秀兰", division=VILLAGE, phone=phone
    )
    provisional = _resolve(engine, [g])[g.key]
    assert provisional != _resolve(engine, [h])[h.key]
    # Then two screening forms name her with her ID number and the same phone.
    forms = [
        PersonMention(
            "survey",
            f"{VILLAGE}-96{i}#guardian",
            "guardian",
            name="龙秀英",
            id_number=h.id_number,
            sex="F",
            division=VILLAGE,
            phone=phone,
        )
        for i in (1, 2)
    ]
    result = resolve_with_changes(engine, forms, today=TODAY)
    survivor = _resolve(engine, [h])[h.key]
    assert {result.keys[f.key] for f in forms} == {survivor}
    assert len(result.merges) == 1
    outcome = result.merges[0]
    assert (outcome.survivor_key, outcome.absorbed_key) == (survivor, provisional)
    assert outcome.changed_keys == {survivor, provisional}
    assert _resolve(engine, [g])[g.key] == survivor

    # A caseworker splits it again; later runs do not repeat the merge.
    assert outcome.merge_id is not None
    undone = undo_merge(engine, outcome.merge_id, "caseworker-1")
    assert undone.changed_keys == {survivor, provisional}
    assert _resolve(engine, [g])[g.key] == provisional
    r = PersonMention(
        "health", "RelatedPerson/r9", "related", name="龙秀英", sex="F", division=VILLAGE, phone=phone
    )
    keys = _resolve(engine, [r, g])
    assert keys[g.key] == provisional and keys[r.key] != provisional
    with engine.connect() as conn:
        history = conn.execute(select(MergeHistory.decided_by, MergeHistory.undone_by)).all()
    assert [tuple(h) for h in history] == [(RESOLVER, "caseworker-1")]


# ---------------------------------------------------------------------------------------- reviews


def test_review_queue_merge_undo_and_reject(
    any_engine: Engine, county_mentions_small: list[PersonMention]
) -> None:
    engine = any_engine
    # Two men of one name in one village, both registered; a screening form names a father
    # of that name without an ID number or birth date: it fits both, so it is not linked.
    h1 = _hukou("2010999501", "杨建军", date(1979, 6, 1), "M", 51, household="2019995")
    h2 = _hukou("2010999502", "杨建军", date(1984, 9, 9), "M", 53, household="2019996")
    father = PersonMention(
        "survey", f"{VILLAGE}-9501#father", "father", name="杨建军", sex="M", division=VILLAGE
    )
    keys = _resolve(engine, [*county_mentions_small, h1, h2, father])
    assert len({keys[h1.key], keys[h2.key], keys[father.key]}) == 3

    queue = [
        r
        for r in open_reviews(engine)
        if father.key in {(r.left.system, r.left.record_id), (r.right.system, r.right.record_id)}
    ]
    assert len(queue) == 2
    assert open_review_count(engine) >= 2
    assert all(0.3 <= r.score <= 1.0 and r.status == "open" for r in queue)
    assert {r.left.person_key for r in queue} | {r.right.person_key for r in queue} == {
        keys[h1.key],
        keys[h2.key],
        keys[father.key],
    }
    by_other = {
        (r.right.person_key if r.left.person_key == keys[father.key] else r.left.person_key): r for r in queue
    }
    to_h1, to_h2 = by_other[keys[h1.key]], by_other[keys[h2.key]]
    assert open_reviews(engine, division_prefix="500248101")  # the township's caseworker sees them
    assert not [r for r in open_reviews(engine, division_prefix="500248999") if r.id in (to_h1.id, to_h2.id)]

    # The caseworker knows the father is the elder: merge.
    outcome = merge(engine, to_h1.id, "caseworker-7")
    assert outcome.changed_keys == {keys[h1.key], keys[father.key]}
    assert outcome.survivor_key == keys[h1.key]  # the person with more mentions (a tie: left)
    assert _resolve(engine, [father])[father.key] == keys[h1.key]
    assert {(m.system, m.record_id) for m in person_mentions(engine, keys[h1.key])} >= {h1.key, father.key}
    assert get_review(engine, to_h1.id).status == "merged"
    with pytest.raises(ResolutionError):
        merge(engine, to_h1.id, "caseworker-7")

    # Undone: the father is his own person again and the item is open again.
    assert outcome.merge_id is not None
    back = undo_merge(engine, outcome.merge_id, "caseworker-7")
    assert back.changed_keys == {keys[h1.key], keys[father.key]}
    assert _resolve(engine, [father])[father.key] == keys[father.key]
    assert get_review(engine, to_h1.id).status == "open"
    with pytest.raises(ResolutionError):
        undo_merge(engine, outcome.merge_id, "caseworker-7")

    # Rejected items are not raised again by later runs.
    rejected = reject(engine, to_h2.id, "caseworker-7")
    assert rejected.status == "rejected" and rejected.decided_by == "caseworker-7"
    again = PersonMention("education", "L2015", "pupil", name="杨小芳", sex="F", birth_date=date(2015, 1, 1))
    _resolve(engine, [again])
    assert get_review(engine, to_h2.id).status == "rejected"
    assert len([r for r in open_reviews(engine, limit=1000) if r.id == to_h2.id]) == 0
    with pytest.raises(ResolutionError):
        merge(engine, 10**9, "caseworker-7")


def test_a_later_run_compares_with_what_a_known_mention_says_now(engine: Engine) -> None:
    """The resolver keeps the record frame of its last run in memory and rebuilds only rows the
    store changed: a mention re-sent with new attributes is compared by those from then on."""
    a = _hukou("h-1", "张三", date(1980, 1, 2), "M", 11)
    old = PersonMention("survey", "s-1", "guardian", name="李四", sex="F", birth_date=date(1985, 6, 7))
    first = _resolve(engine, [a, old])
    assert first[old.key] != first[a.key]
    now = PersonMention(
        "survey",
        "s-1",
        "guardian",
        name="王秀英",
        sex="F",
        birth_date=date(1979, 11, 23),
        division=VILLAGE,
        phone="13900001111",
    )
    assert _resolve(engine, [now])[now.key] == first[old.key]  # refreshed, link kept
    later = PersonMention(
        "health",
        "v-1",
        "patient",
        name="王秀英",
        sex="F",
        birth_date=date(1979, 11, 23),
        division=VILLAGE,
        phone="13900001111",
    )
    assert _resolve(engine, [later])[later.key] == first[old.key]
