"""An adversarial test population for entity resolution, written apart from ``connectors.synthetic``.

The project's own generator and its resolver were written side by side, so scoring the one
on the other risks measuring a mirror. This module is a second, independent county: its
own surname and given-name lists, its own divisions and ID-number region, its own sources
(the household register, the student registry, village survey forms) and, above all, the
noise that broke the resolver on records it had never seen:

- twins, with the same birth date, often the same sex, given names sharing a character, and
  sometimes names of identical pinyin (金瑞豪/金瑞浩); a clerk who copied the co-twin's ID
  number onto one twin's school or survey record;
- nicknames on survey forms (小明, 明明, with or without the surname), swapped given-name
  characters (王明志 for 王志明), homophones, birth dates off by one day;
- families that moved to a village of another township (register still at the old one);
- parents and carers named on survey forms without an ID number;
- siblings with similar names (a shared generation character), namesakes.

Every mention carries the noise applied to it (:attr:`Population.tags`), and the pairs
that must stay apart (twins, siblings) are listed, so :func:`evaluate_by_noise` reports
pairwise precision, recall and F1 per noise type as well as overall. It does not import
``connectors.synthetic``; it writes :class:`PersonMention` objects directly (the form
every connector produces), so it measures the resolver, not a reader.

Everything is seeded: the same ``(persons, seed, missing_child_ids)`` gives the same
population. Names are drawn from generic lists; no real person is described.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from connectors.mentions import PersonMention, mention_record_id
from kernel.names import given_pinyin

__all__ = [
    "NOISE_TYPES",
    "Population",
    "evaluate_by_noise",
    "generate_population",
    "twin_pairs_merged",
]

# Surnames with rough weights: a few very common ones (namesakes happen) and rare ones.
_SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 30),
    ("李", 28),
    ("张", 25),
    ("刘", 20),
    ("陈", 18),
    ("杨", 14),
    ("黄", 10),
    ("赵", 10),
    ("吴", 9),
    ("周", 9),
    ("徐", 7),
    ("孙", 7),
    ("马", 6),
    ("朱", 6),
    ("胡", 6),
    ("郭", 5),
    ("何", 5),
    ("罗", 5),
    ("高", 4),
    ("林", 4),
    ("梁", 4),
    ("宋", 3),
    ("唐", 3),
    ("韩", 3),
    ("冯", 3),
    ("邓", 3),
    ("曹", 3),
    ("彭", 3),
    ("曾", 2),
    ("肖", 2),
    ("田", 2),
    ("董", 2),
    ("潘", 2),
    ("袁", 2),
    ("蒋", 2),
    ("蔡", 2),
    ("余", 2),
    ("杜", 2),
    ("叶", 2),
    ("程", 2),
    ("金", 1),
    ("郝", 1),
    ("覃", 1),
    ("韦", 1),
    ("蒙", 1),
    ("冉", 1),
    ("谭", 1),
    ("龙", 1),
    ("石", 1),
    ("岑", 1),
    ("莫", 1),
    ("黎", 1),
    ("卢", 1),
    ("廖", 1),
    ("钟", 1),
    ("雷", 1),
)
# Given-name characters of children (born after 2007) and of their parents' generation.
_CHILD_BOY = "瑞豪浩宇轩涵博晨俊航泽睿杰鹏凯磊涛明子梓文天一嘉佳思辰铭逸诚安乐宁远星阳晓"
_CHILD_GIRL = "欣怡婷琪雨涵萱静雅思梓佳嘉璐慧敏娜琳诗语可馨月晓丹悦彤妍菲雪蕾洁玉"
_ADULT_MAN = "建国志强军平华明伟勇刚斌海林波永春德成江清兴福生荣贵祥"
_ADULT_WOMAN = "秀英兰芳玉梅丽红霞凤琴桂珍云燕萍艳华芬翠莲群娟"
# Characters read alike in standard Mandarin: a clerk who hears a name may write any of them.
_HOMOPHONE_GROUPS = (
    "豪浩皓昊",
    "瑞睿锐",
    "宇雨语羽禹",
    "涵含晗",
    "欣馨鑫新心",
    "怡仪宜",
    "轩萱宣",
    "婷庭亭",
    "琪棋淇奇祺",
    "晨辰臣",
    "涛韬",
    "磊蕾",
    "杰洁",
    "伟玮炜",
    "航杭",
    "佳嘉家",
    "静婧靖",
    "梓子紫",
    "俊骏峻",
    "明铭鸣",
    "思斯",
    "雅亚",
    "凯恺",
    "鹏朋",
    "泽择",
    "璐露路",
    "文雯",
    "慧惠蕙",
    "敏闽",
    "娜纳",
    "琳林霖淋",
    "华骅",
    "军君",
    "平萍",
    "芳方",
    "红宏鸿",
    "英鹰",
)


def _homophones() -> dict[str, tuple[str, ...]]:
    """Character → other characters of the same toneless pinyin (checked, not assumed)."""
    out: dict[str, tuple[str, ...]] = {}
    for group in _HOMOPHONE_GROUPS:
        for ch in group:
            same = tuple(o for o in group if o != ch and given_pinyin(o) == given_pinyin(ch))
            if same:
                out[ch] = same
    return out


_HOMOPHONE = _homophones()

_REGION = "452627"  # the ID-number region of this fictional county (province 45)
_TOWNSHIPS = 12
_VILLAGES = 9  # per township

NOISE_TYPES: tuple[str, ...] = (
    "clean",
    "homophone",
    "swapped_given",
    "birth_date_off_by_one",
    "nickname",
    "moved_village",
    "child_no_id",
    "father_no_id",
    "mother_no_id",
    "guardian_no_id",
    "twin_id_copied",
    "twins",
    "twins_same_pinyin",
    "siblings",
    "similar_siblings",
)
"""The record noise (tagged on mentions) and hard non-match kinds (tagged on pairs) evaluated."""


@dataclass
class _Person:
    pid: str
    name: str
    sex: str
    birth: date
    id_number: str
    household: str
    village: str
    adult: bool
    twin_of: str | None = None
    siblings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Population:
    """Mentions, the true person of each, the noise on each, and the pairs that must stay apart.

    ``apart`` maps a kind (``twins``, ``twins_id_copied``, ``twins_same_pinyin``,
    ``siblings``, ``similar_siblings``) to pairs of *person* ids of different people who a
    resolver could easily take for one.
    """

    mentions: list[PersonMention]
    truth: dict[tuple[str, str], str]
    tags: dict[tuple[str, str], frozenset[str]]
    apart: dict[str, list[tuple[str, str]]]
    persons: int
    seed: int
    missing_child_ids: float


def _id_number(rng: random.Random, village: str, birth: date, sex: str, used: set[str]) -> str:
    """A valid 18-character number (own MOD 11-2 computation, odd sequence for a man)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    while True:
        seq = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
        first = f"{_REGION}{birth:%Y%m%d}{seq:03d}"
        total = sum(int(c) * w for c, w in zip(first, weights, strict=True))
        number = first + "10X98765432"[total % 11]
        if number not in used:
            used.add(number)
            return number


def _pick_surname(rng: random.Random) -> str:
    names, weights = zip(*_SURNAMES, strict=True)
    return rng.choices(names, weights=weights)[0]


def _village(rng: random.Random, township: int | None = None) -> str:
    t = rng.randrange(_TOWNSHIPS) if township is None else township
    return f"{_REGION}{100 + t:03d}{200 + rng.randrange(_VILLAGES):03d}"


def _other_township_village(rng: random.Random, village: str) -> str:
    t = int(village[6:9]) - 100
    other = (t + 1 + rng.randrange(_TOWNSHIPS - 1)) % _TOWNSHIPS
    return _village(rng, other)


def _child_given(rng: random.Random, sex: str, shared: str | None) -> str:
    pool = _CHILD_BOY if sex == "M" else _CHILD_GIRL
    if rng.random() < 0.2 and shared is None:
        return rng.choice(pool)
    first = shared or rng.choice(pool)
    second = rng.choice(pool)
    while second == first:
        second = rng.choice(pool)
    return first + second


def _homophone_of(rng: random.Random, given: str) -> str | None:
    """The given name with one character replaced by a homophone, or None if none exists."""
    spots = [i for i, ch in enumerate(given) if ch in _HOMOPHONE]
    if not spots:
        return None
    i = rng.choice(spots)
    return given[:i] + rng.choice(_HOMOPHONE[given[i]]) + given[i + 1 :]


def _adult_given(rng: random.Random, sex: str) -> str:
    pool = _ADULT_MAN if sex == "M" else _ADULT_WOMAN
    n = 1 if rng.random() < 0.3 else 2
    return "".join(rng.choice(pool) for _ in range(n))


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("358") + "".join(str(rng.randrange(10)) for _ in range(9))


def generate_population(
    persons: int = 5000, seed: int = 1, *, missing_child_ids: float = 0.3, today: date | None = None
) -> Population:
    """A county of about ``persons`` people and their mentions in three sources.

    ``missing_child_ids`` is the share of children's school and survey records without an
    ID number (the register always has it); parents' and carers' numbers are missing from
    70% of survey forms whatever it is.
    """
    rng = random.Random(seed)
    today = today or date(2026, 9, 1)
    used: set[str] = set()
    people: dict[str, _Person] = {}
    households: list[tuple[str, str, list[_Person], list[_Person], _Person | None]] = []
    hh_no = 0
    twin_kinds: dict[tuple[str, str], str] = {}

    def person(name: str, sex: str, birth: date, household: str, village: str, adult: bool) -> _Person:
        pid = f"p{len(people):06d}"
        p = _Person(
            pid, name, sex, birth, _id_number(rng, village, birth, sex, used), household, village, adult
        )
        people[pid] = p
        return p

    while len(people) < persons:
        hh_no += 1
        household = f"{_REGION}{hh_no:08d}"
        village = _village(rng)
        surname = _pick_surname(rng)
        father_birth = today - timedelta(days=rng.randrange(26 * 365, 50 * 365))
        parents: list[_Person] = []
        if rng.random() < 0.95:
            parents.append(
                person(surname + _adult_given(rng, "M"), "M", father_birth, household, village, True)
            )
        if rng.random() < 0.93:
            mother_birth = father_birth + timedelta(days=rng.randrange(-3 * 365, 4 * 365))
            parents.append(
                person(
                    _pick_surname(rng) + _adult_given(rng, "F"), "F", mother_birth, household, village, True
                )
            )
        children: list[_Person] = []
        shared = rng.choice(_CHILD_BOY + _CHILD_GIRL) if rng.random() < 0.5 else None
        n_children = rng.choice((1, 1, 2, 2, 2, 3))
        given_used: set[str] = set()
        twins_made = False
        for _ in range(n_children):
            sex = rng.choice("MF")
            birth = today - timedelta(days=rng.randrange(30, 17 * 365))
            given = _child_given(rng, sex, shared)
            while given in given_used:
                given = _child_given(rng, sex, shared)
            given_used.add(given)
            child = person(surname + given, sex, birth, household, village, False)
            children.append(child)
            if not twins_made and rng.random() < 0.14:
                twins_made = True
                same_pinyin = len(given) == 2 and rng.random() < 0.4 and given[1] in _HOMOPHONE
                twin_sex = sex if rng.random() < 0.6 or same_pinyin else ("F" if sex == "M" else "M")
                if same_pinyin:
                    other = given[0] + rng.choice(_HOMOPHONE[given[1]])
                else:
                    other = _child_given(rng, twin_sex, given[0])
                    while other in given_used or other == given:
                        other = _child_given(rng, twin_sex, given[0])
                given_used.add(other)
                twin = person(surname + other, twin_sex, birth, household, village, False)
                child.twin_of, twin.twin_of = twin.pid, child.pid
                twin_kinds[(child.pid, twin.pid)] = "twins_same_pinyin" if same_pinyin else "twins"
                children.append(twin)
        for c in children:
            c.siblings = [o.pid for o in children if o.pid != c.pid]
        guardian: _Person | None = None
        if rng.random() < 0.25:
            g_sex = rng.choice("MF")
            g_birth = father_birth - timedelta(days=rng.randrange(22 * 365, 32 * 365))
            g_name = (surname if g_sex == "M" else _pick_surname(rng)) + _adult_given(rng, g_sex)
            # A grandparent: in the same household half the time, else one of their own.
            g_household = household if rng.random() < 0.5 else f"{_REGION}{90_000_000 + hh_no:08d}"
            guardian = person(g_name, g_sex, g_birth, g_household, village, True)
        households.append((household, village, parents, children, guardian))

    mentions: list[PersonMention] = []
    truth: dict[tuple[str, str], str] = {}
    tags: dict[tuple[str, str], frozenset[str]] = {}

    def add(m: PersonMention, p: _Person, noise: set[str]) -> None:
        mentions.append(m)
        truth[m.key] = p.pid
        tags[m.key] = frozenset(noise)

    # The household register: everyone, with their ID number, as registered.
    for p in people.values():
        add(
            PersonMention(
                "hukou",
                f"H{p.pid}",
                "member",
                name=p.name,
                id_number=p.id_number,
                sex=p.sex,
                birth_date=p.birth,
                division=p.village,
                household_number=p.household,
            ),
            p,
            set(),
        )

    def child_record(
        p: _Person, moved_to: str | None, survey: bool
    ) -> tuple[str, str | None, date, str, set[str]]:
        """Name, ID number, birth date, division and noise of one child's record.

        Name noise never lands on a sibling's registered name: a record that reads exactly
        as the co-twin's is the co-twin's, as far as any reader can tell.
        """
        noise: set[str] = set()
        surname, given = p.name[0], p.name[1:]
        name = p.name
        r = rng.random()
        if survey and r < 0.09 and given:
            noise.add("nickname")
            ch = given[-1]
            form = rng.choice(("小" + ch, ch + ch))
            name = form if rng.random() < 0.6 else surname + form
        elif r < 0.14:
            alt = _homophone_of(rng, given)
            if alt is not None:
                noise.add("homophone")
                name = surname + alt
        elif r < 0.18 and len(given) == 2:
            noise.add("swapped_given")
            name = surname + given[::-1]
        if name != p.name and name in {people[s].name for s in p.siblings}:
            name, noise = p.name, set()
        birth = p.birth
        if rng.random() < 0.04:
            noise.add("birth_date_off_by_one")
            birth = birth + timedelta(days=rng.choice((-1, 1)))
        division = p.village
        if moved_to is not None:
            noise.add("moved_village")
            division = moved_to
        id_number: str | None = p.id_number
        if rng.random() < missing_child_ids:
            id_number = None
            noise.add("child_no_id")
        return name, id_number, birth, division, noise

    form_no = 0
    for _household, village, parents, children, guardian in households:
        moved_to = _other_township_village(rng, village) if rng.random() < 0.06 else None
        copier = None
        for c in children:
            if c.twin_of is not None and copier is None and c.pid < c.twin_of and rng.random() < 0.35:
                copier = c  # one of this pair's school or survey records carries the co-twin's number
        copy_in = rng.choice(("education", "survey"))
        for c in children:
            age = (date(2026, 9, 1) - c.birth).days / 365.25
            if 6 <= age < 17.5 and rng.random() < 0.92:
                name, idn, birth, division, noise = child_record(c, moved_to, survey=False)
                if c is copier and copy_in == "education":
                    idn = people[c.twin_of].id_number  # type: ignore[index]
                    noise = (noise - {"child_no_id"}) | {"twin_id_copied"}
                add(
                    PersonMention(
                        "education",
                        f"E{c.pid}",
                        "pupil",
                        name=name,
                        id_number=idn,
                        sex=c.sex,
                        birth_date=birth,
                        division=division,
                    ),
                    c,
                    noise,
                )
            forms = 1 if rng.random() < 0.6 else 0
            if forms and rng.random() < 0.15:
                forms = 2
            if c is copier and copy_in == "survey":
                forms = max(forms, 1)
            for k in range(forms):
                form_no += 1
                fid = f"S{form_no:07d}"
                name, idn, birth, division, noise = child_record(c, moved_to, survey=True)
                if c is copier and copy_in == "survey" and k == 0:
                    idn = people[c.twin_of].id_number  # type: ignore[index]
                    noise = (noise - {"child_no_id"}) | {"twin_id_copied"}
                add(
                    PersonMention(
                        "survey",
                        fid,
                        "child",
                        name=name,
                        id_number=idn,
                        sex=c.sex,
                        birth_date=birth,
                        division=division,
                    ),
                    c,
                    noise,
                )
                carers: list[tuple[str, _Person]] = [
                    ("father" if p.sex == "M" else "mother", p) for p in parents
                ]
                if guardian is not None:
                    carers.append(("guardian", guardian))
                for role, adult in carers:
                    if rng.random() < 0.08:
                        continue  # the form leaves this person out
                    a_noise: set[str] = set()
                    a_name = adult.name
                    if rng.random() < 0.04:
                        alt = _homophone_of(rng, adult.name[1:])
                        if alt is not None:
                            a_name = adult.name[0] + alt
                            a_noise.add("homophone")
                    a_id: str | None = adult.id_number
                    if rng.random() < 0.7:
                        a_id = None
                        a_noise.add(f"{role}_no_id")
                    if moved_to is not None:
                        a_noise.add("moved_village")
                    add(
                        PersonMention(
                            "survey",
                            mention_record_id(fid, role),
                            role,
                            name=a_name,
                            id_number=a_id,
                            sex=adult.sex,
                            birth_date=None,
                            division=division,
                            phone=_phone_of(adult) if rng.random() < 0.6 else None,
                        ),
                        adult,
                        a_noise,
                    )

    apart: dict[str, list[tuple[str, str]]] = defaultdict(list)
    copied = {truth[k] for k, t in tags.items() if "twin_id_copied" in t}
    for (a, b), kind in twin_kinds.items():
        apart["twins"].append((a, b))
        if kind == "twins_same_pinyin":
            apart["twins_same_pinyin"].append((a, b))
        if a in copied or b in copied:
            apart["twin_id_copied"].append((a, b))
    for p in people.values():
        for s in p.siblings:
            if p.pid < s and people[s].twin_of != p.pid:
                apart["siblings"].append((p.pid, s))
                if set(p.name[1:]) & set(people[s].name[1:]):
                    apart["similar_siblings"].append((p.pid, s))
    return Population(mentions, truth, tags, dict(apart), len(people), seed, missing_child_ids)


def _phone_of(p: _Person) -> str:
    """The adult's own phone number (the same on every form that gives one)."""
    return _phone(random.Random(f"{p.pid}{p.id_number}"))


# ------------------------------------------------------------------------------------------ scoring


def evaluate_by_noise(
    keys: Mapping[tuple[str, str], Hashable], population: Population
) -> dict[str, dict[str, Any]]:
    """Pairwise precision, recall and F1 per noise type, and overall.

    A true pair (two mentions of one person) counts for every noise type either mention
    carries (``clean`` when neither carries any). A pair that must stay apart (two
    mentions of twins, of siblings) counts for its kind: merging it is a false positive
    there. Overall figures are the usual pairwise ones over all mentions.
    """
    from connectors.resolution.evaluate import PairScores, pairwise_scores

    by_person: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for k, pid in population.truth.items():
        by_person[pid].append(k)
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    for members in by_person.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                kinds = population.tags[a] | population.tags[b] or frozenset({"clean"})
                same = keys[a] == keys[b]
                for kind in kinds:
                    (tp if same else fn)[kind] += 1
    for kind, pairs in population.apart.items():
        for x, y in pairs:
            for a in by_person[x]:
                for b in by_person[y]:
                    if keys[a] == keys[b]:
                        fp[kind] += 1
            # the twins' own records count for the kind too (they must still be found)
            if kind.startswith("twin"):
                for members in (by_person[x], by_person[y]):
                    for i, a in enumerate(members):
                        for b in members[i + 1 :]:
                            (tp if keys[a] == keys[b] else fn)[kind] += 1
    out: dict[str, dict[str, Any]] = {}
    for kind in NOISE_TYPES:
        s = PairScores(tp[kind], tp[kind] + fp[kind], tp[kind] + fn[kind])
        if s.predicted or s.actual or kind in population.apart:
            out[kind] = {**s.as_dict(), "false_merges": fp[kind], "missed": fn[kind]}
    out["overall"] = pairwise_scores(keys, population.truth).as_dict()
    return out


def twin_pairs_merged(keys: Mapping[tuple[str, str], Hashable], population: Population) -> int:
    """How many twin pairs have any two mentions resolved to one person."""
    by_person: dict[str, set[Hashable]] = defaultdict(set)
    for k, pid in population.truth.items():
        by_person[pid].add(keys[k])
    return sum(1 for a, b in population.apart.get("twins", []) if by_person[a] & by_person[b])
