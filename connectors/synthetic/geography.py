"""One synthetic county: townships, villages, schools and health facilities, with codes.

Codes follow the 12-digit statistical division scheme (province 2, city 4, county 6,
township 9, village 12 significant digits): towns (镇) are numbered 1xx and rural
townships (乡) 2xx, residents' committees (社区, 居委会) 0xx and villages (村委会) 2xx,
as the national statistical code table does. Some villages were formed by merging older
ones; the retired codes and names are kept so stale addresses and old records can be
mapped to the current village.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from connectors.synthetic import vocab

COUNTY_CODE = vocab.COUNTY_CODE6 + "000000"
CITY_CODE = vocab.COUNTY_CODE6[:4] + "00000000"
PROVINCE_CODE = vocab.COUNTY_CODE6[:2] + "0000000000"


@dataclass(eq=False)
class Village:
    code: str
    name: str
    township: Township
    urban: bool  # a residents' committee (社区) in the township seat
    weight: float  # relative population
    former_names: list[tuple[str, str]] = field(default_factory=list)  # (retired code, name)
    persons: int = 0  # person budget assigned by the generator

    @property
    def full_name(self) -> str:
        return f"{vocab.PROVINCE_NAME}{vocab.COUNTY_NAME}{self.township.name}{self.name}"


@dataclass(eq=False)
class School:
    code: str  # 10-digit 学校标识码
    name: str
    kind: str  # kindergarten | primary | middle | high
    township: Township
    grades: tuple[int, ...]

    @property
    def division_code(self) -> str:
        return self.township.code


@dataclass(eq=False)
class Facility:
    id: str
    name: str
    kind: str  # township_health_centre | county_hospital
    division_code: str


@dataclass(eq=False)
class Township:
    code: str
    name: str
    index: int
    # The retired 6-digit region code older residents carry on their ID cards: the last
    # third of townships came from the county merged in 1997, the rest from the old county.
    retired_region6: str
    villages: list[Village] = field(default_factory=list)
    kindergarten: School | None = None
    primary: School | None = None
    middle: School | None = None
    health_centre: Facility | None = None


@dataclass(eq=False)
class County:
    code: str
    name: str
    townships: list[Township]
    schools: list[School]
    high_schools: list[School]
    hospital: Facility

    @property
    def villages(self) -> list[Village]:
        return [v for t in self.townships for v in t.villages]


def _unique_name(rng: random.Random, taken: set[str], make: Callable[[], str]) -> str:
    for _ in range(1000):
        name = make()
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("ran out of place names")


def _community_name(rng: random.Random, seat: str) -> str:
    """A residents' committee of the township seat: 东/南/西/北/新 + 街社区."""
    return seat + rng.choice("东南西北新") + "街社区"


def build_county(rng: random.Random, persons: int) -> County:
    """Lay out the county; the number of townships grows with population (10 to 25)."""
    n_townships = max(10, min(25, 10 + persons // 13_000))
    # Villages per township: 5–20, fewer for small populations so villages are not empty.
    max_villages = max(5, min(20, persons // (n_townships * 400)))
    taken: set[str] = set()
    surnames = [s for s, _ in vocab.SURNAMES]
    townships: list[Township] = []
    n_towns = max(3, n_townships // 3)  # 镇 first, then 乡
    merged_from = n_townships - n_townships // 3
    for i in range(n_townships):
        is_town = i < n_towns
        number = 101 + i if is_town else 201 + (i - n_towns)
        name = _unique_name(
            rng,
            taken,
            lambda: rng.choice(vocab.PLACE_FIRST) + rng.choice(vocab.PLACE_FIRST + vocab.PLACE_SECOND),
        ) + ("镇" if is_town else "乡")
        retired = vocab.RETIRED_COUNTY_CODES[1 if i >= merged_from else 0][0]
        townships.append(
            Township(code=f"{vocab.COUNTY_CODE6}{number:03d}", name=name, index=i, retired_region6=retired)
        )

    for t in townships:
        n_villages = rng.randint(5, max(5, max_villages))
        # The township seat has one residents' committee (社区) with urban registrations.
        community_name = _unique_name(rng, taken, partial(_community_name, rng, t.name[:-1]))
        t.villages.append(
            Village(
                code=f"{t.code}001", name=community_name, township=t, urban=True, weight=rng.uniform(1.2, 2.0)
            )
        )
        retired_seq = 400
        for j in range(n_villages - 1):

            def village_name() -> str:
                if rng.random() < 0.5:
                    stem = rng.choice(vocab.VILLAGE_SURNAME_PATTERNS).format(s=rng.choice(surnames))
                else:
                    stem = rng.choice(vocab.PLACE_FIRST) + rng.choice(vocab.PLACE_SECOND)
                return stem + "村"

            village = Village(
                code=f"{t.code}{201 + j:03d}",
                name=_unique_name(rng, taken, village_name),
                township=t,
                urban=False,
                weight=rng.lognormvariate(0, 0.35),
            )
            # About a third of villages absorbed a neighbour in the 2015–2019 mergers.
            if rng.random() < 0.33:
                for _ in range(rng.randint(1, 2)):
                    village.former_names.append(
                        (f"{t.code}{retired_seq:03d}", _unique_name(rng, taken, village_name))
                    )
                    retired_seq += 1
            t.villages.append(village)

    schools: list[School] = []
    seq = 1

    def school(name: str, kind: str, t: Township, grades: tuple[int, ...]) -> School:
        nonlocal seq
        s = School(code=f"3{vocab.COUNTY_CODE6}{seq:03d}", name=name, kind=kind, township=t, grades=grades)
        seq += 1
        schools.append(s)
        return s

    for t in townships:
        t.kindergarten = school(f"{vocab.COUNTY_NAME}{t.name}中心幼儿园", "kindergarten", t, (-2, -1, 0))
        t.primary = school(f"{vocab.COUNTY_NAME}{t.name}中心小学", "primary", t, (1, 2, 3, 4, 5, 6))
    # One middle school (初级中学) serves three or four neighbouring townships.
    for start in range(0, n_townships, 4 if n_townships > 16 else 3):
        host = townships[start]
        middle = school(f"{vocab.COUNTY_NAME}{host.name}中学", "middle", host, (7, 8, 9))
        for t in townships[start : start + (4 if n_townships > 16 else 3)]:
            t.middle = middle
    seat = townships[0]
    high_schools = [school(f"{vocab.COUNTY_NAME}第一中学", "high", seat, (10, 11, 12))]
    if n_townships > 16:
        high_schools.append(school(f"{vocab.COUNTY_NAME}第二中学", "high", townships[1], (10, 11, 12)))

    for t in townships:
        t.health_centre = Facility(
            id=f"thc{t.code}",
            name=f"{vocab.COUNTY_NAME}{t.name}卫生院",
            kind="township_health_centre",
            division_code=t.code + "000",
        )
    hospital = Facility(
        id=f"cph{vocab.COUNTY_CODE6}",
        name=f"{vocab.COUNTY_NAME}人民医院",
        kind="county_hospital",
        division_code=seat.code + "000",
    )
    return County(
        code=COUNTY_CODE,
        name=vocab.COUNTY_NAME,
        townships=townships,
        schools=schools,
        high_schools=high_schools,
        hospital=hospital,
    )


def allocate_persons(county: County, persons: int) -> None:
    """Split the person budget over villages by weight, exactly (largest remainder)."""
    villages = county.villages
    total = sum(v.weight for v in villages)
    shares = [persons * v.weight / total for v in villages]
    floors = [int(s) for s in shares]
    rest = persons - sum(floors)
    order = sorted(range(len(villages)), key=lambda i: (floors[i] - shares[i], i))
    for i in order[:rest]:
        floors[i] += 1
    for v, n in zip(villages, floors, strict=True):
        v.persons = n


def division_rows(county: County) -> list[dict[str, str]]:
    """The division reference table, current and retired codes, parents before children."""
    rows: list[dict[str, str]] = []

    def row(
        code: str,
        name: str,
        level: str,
        parent: str,
        status: str = "current",
        successor: str = "",
        retired_on: str = "",
        note: str = "",
    ) -> None:
        rows.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "parent_code": parent,
                "status": status,
                "successor_code": successor,
                "retired_on": retired_on,
                "note": note,
            }
        )

    row(PROVINCE_CODE, vocab.PROVINCE_NAME, "province", "")
    row(CITY_CODE, "县", "city", PROVINCE_CODE, note="重庆市辖县")
    row(county.code, county.name, "county", CITY_CODE, note="synthetic county")
    for t in county.townships:
        row(t.code + "000", t.name, "township", county.code)
        for v in t.villages:
            row(v.code, v.name, "village", t.code + "000", note="社区（居委会）" if v.urban else "村委会")
            for old_code, old_name in v.former_names:
                row(
                    old_code,
                    old_name,
                    "village",
                    t.code + "000",
                    status="retired",
                    successor=v.code,
                    retired_on="2017-12-31",
                    note=f"并入{v.name}",
                )
    row("510000000000", "四川省", "province", "", note="listed only as the parent of retired codes")
    row(
        RETIRED_PREFECTURE_CODE,
        vocab.RETIRED_PREFECTURE[1],
        "city",
        "510000000000",
        status="retired",
        successor=CITY_CODE,
        retired_on="1997-06-18",
        note="pre-1997 Sichuan code",
    )
    for code6, name, retired_on in vocab.RETIRED_COUNTY_CODES:
        row(
            code6 + "000000",
            name,
            "county",
            RETIRED_PREFECTURE_CODE,
            status="retired",
            successor=county.code,
            retired_on=retired_on,
            note="ID numbers issued before 1997 carry this code",
        )
    return rows


RETIRED_PREFECTURE_CODE = vocab.RETIRED_PREFECTURE[0] + "000000"
