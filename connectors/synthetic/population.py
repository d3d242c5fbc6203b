"""The true population of one village: households, people and their family facts.

This is the ground truth every source is a noisy, partial view of. It is built one
village at a time and dropped once the village's records are written, so memory stays
flat however many people are generated.

The family facts are chosen so that the seeds' categories occur at plausible rates and
in their hard cases: both parents away; one away and the other ill, disabled, in prison,
missing (失联) or dead; orphans; children of 低保/特困 households; entrusted guardians with
a valid, an expired or no written agreement; children nobody is looking after.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from connectors.idnumber import make_id_number
from connectors.synthetic import vocab
from connectors.synthetic.geography import Village

DEFAULT_AS_OF = date(2024, 9, 30)


@dataclass(slots=True, eq=False)
class Agreement:
    """A 委托监护协议; ``status`` missing means the arrangement exists with no paper."""

    id: str
    status: str  # valid | expired | missing
    signed_on: date | None
    valid_to: date | None


@dataclass(slots=True, eq=False)
class Person:
    key: str
    name: str
    sex: str  # "M" | "F"
    birth: date
    id_number: str
    household: Household
    ethnicity: str
    relation: str = ""  # 与户主关系, set once the head is known
    role: str = ""  # father | mother | child | grandfather | grandmother | adult | elder
    phone: str = ""
    deceased: bool = False
    death_date: date | None = None
    missing: bool = False  # whereabouts unknown (失联)
    works_away: bool = False
    work_destination: str = ""
    work_since: date | None = None
    capable: bool = True  # guardianship capacity
    incapacity_reason: str = ""
    disability: str = ""  # "physical-2" …
    serious_illness: str = ""  # ICD-10 code
    moved_in: date | None = None
    moved_in_from: str = ""
    moved_out: date | None = None
    moved_out_to: str = ""
    retired_region: bool = False  # ID number carries a retired region code
    father: Person | None = None
    mother: Person | None = None
    guardian: Person | None = None  # who actually looks after the child
    guardian_kind: str = ""  # legal | entrusted
    guardian_relation: str = ""  # 祖母, 叔叔 …
    agreement: Agreement | None = None

    def age(self, as_of: date) -> int:
        b = self.birth
        return as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day))

    @property
    def present(self) -> bool:
        """Alive, registered here, not missing, not away: physically able to be at home."""
        return (
            not self.deceased
            and not self.missing
            and not self.works_away
            and self.moved_out is None
            and self.incapacity_reason != vocab.INCAPACITY_PRISON
        )

    @property
    def can_care(self) -> bool:
        """At home and with guardianship capacity: can look after a child day to day."""
        return self.present and self.capable

    @property
    def lacks_capacity(self) -> bool:
        """For the left-behind test: dead, missing or without capacity all count as unable."""
        return self.deceased or self.missing or not self.capable


@dataclass(slots=True, eq=False)
class Household:
    number: str
    village: Village
    hukou_type: str  # rural | urban
    address: str
    locality: str = ""  # the part after the village name: "3组12号"
    assistance: str = ""  # "" | dibao (低保) | tekun (特困)
    members: list[Person] = field(default_factory=list)
    head: Person | None = None


def left_behind_reason(child: Person, as_of: date) -> str:
    """Why the child is a left-behind child by the seeds' definition, or ''.

    Under 16, rural registration, and both parents away, or one away while the other
    lacks guardianship capacity (a dead or missing parent counts as lacking it).
    """
    if child.deceased or child.age(as_of) >= 16 or child.household.hukou_type != "rural":
        return ""
    f, m = child.father, child.mother
    f_away = f is not None and f.works_away and not f.deceased
    m_away = m is not None and m.works_away and not m.deceased
    f_unable = f is None or f.lacks_capacity
    m_unable = m is None or m.lacks_capacity
    if f_away and m_away:
        return "both_away"
    if f_away and m_unable:
        return "father_away_mother_unable"
    if m_away and f_unable:
        return "mother_away_father_unable"
    return ""


def distress_categories(child: Person, as_of: date) -> list[str]:
    """The 困境儿童 categories that apply to a living child under 18 (Ziyang notice)."""
    if child.deceased or child.age(as_of) >= 18:
        return []
    cats: list[str] = []
    f, m = child.father, child.mother
    if (f is None or f.deceased) and (m is None or m.deceased):
        cats.append("orphan")
    elif _unable_to_support(f) and _unable_to_support(m):
        # 事实无人抚养: each parent dead, missing, in prison, or seriously ill or disabled.
        cats.append("de_facto_unsupported")
    if child.disability:
        cats.append("disabled")
    if child.serious_illness:
        cats.append("seriously_ill")
    if child.household.assistance == "dibao":
        cats.append("dibao")
    elif child.household.assistance == "tekun":
        cats.append("tekun")
    return cats


def _unable_to_support(parent: Person | None) -> bool:
    return parent is None or parent.deceased or parent.missing or not parent.capable


class _Weighted:
    """Fast weighted choice over a fixed table (random.choices rebuilds cum weights)."""

    def __init__(self, items: tuple[tuple[str, int], ...] | list[tuple[str, float]]) -> None:
        self.values = [v for v, _ in items]
        self.cum = list(accumulate(w for _, w in items))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        return self.values[bisect(self.cum, rng.random() * self.total)]


_SURNAMES = _Weighted(vocab.SURNAMES)
_DESTINATIONS = _Weighted(vocab.WORK_DESTINATIONS)
_ETHNICITY = _Weighted(vocab.ETHNICITIES)
_PARENT_INCAPACITY = _Weighted(vocab.INCAPACITY_REASONS_PARENT)


class PopulationBuilder:
    """Makes households village by village; holds only what must be unique county-wide."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self._person_seq = 0
        self._agreement_seq = 0
        self._used_id17: set[str] = set()
        self._used_phones: set[str] = set()

    # -- small draws -------------------------------------------------------------------

    def _birth_for_age(self, age: int) -> date:
        """A birth date at which someone is exactly ``age`` on the as-of day."""
        end = (
            self.as_of.replace(year=self.as_of.year - age)
            if not (self.as_of.month == 2 and self.as_of.day == 29)
            else date(self.as_of.year - age, 2, 28)
        )
        start = date(end.year - 1, end.month, end.day if not (end.month == 2 and end.day == 29) else 28)
        return start + timedelta(days=1 + self.rng.randrange((end - start).days))

    def _days_ago(self, lo: int, hi: int, not_before: date | None = None) -> date:
        d = self.as_of - timedelta(days=self.rng.randint(lo, hi))
        if not_before is not None and d < not_before:
            d = not_before + timedelta(days=self.rng.randint(0, max(0, (self.as_of - not_before).days)))
        return min(d, self.as_of)

    def phone(self) -> str:
        while True:
            number = self.rng.choice(vocab.PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self._used_phones:
                self._used_phones.add(number)
                return number

    def _given(self, sex: str, birth_year: int) -> str:
        if birth_year < 1968:
            pool = vocab.GIVEN_OLD_M if sex == "M" else vocab.GIVEN_OLD_F
        elif birth_year < 1995:
            pool = vocab.GIVEN_MID_M if sex == "M" else vocab.GIVEN_MID_F
        else:
            pool = vocab.GIVEN_NEW_M if sex == "M" else vocab.GIVEN_NEW_F
        rng = self.rng
        if rng.random() < 0.18:
            return rng.choice(pool)
        first = rng.choice(pool)
        second = rng.choice(pool)
        # 小/晓 lead a name (张小明), they do not end one; doubled characters are rare.
        while second in "小晓" or (second == first and rng.random() < 0.9):
            second = rng.choice(pool)
        return first + second

    def _id_number(self, region6: str, birth: date, sex: str) -> str:
        rng = self.rng
        stem = f"{region6}{birth:%Y%m%d}"
        while True:
            seq = rng.randrange(500) * 2 + (1 if sex == "M" else 0)
            if stem + f"{seq:03d}" not in self._used_id17:
                self._used_id17.add(stem + f"{seq:03d}")
                return make_id_number(region6, birth, seq)

    def person(
        self,
        hh: Household,
        surname: str,
        sex: str,
        age: int,
        role: str,
        origin: tuple[str, str] | None = None,
    ) -> Person:
        """A new person; ``origin`` (region code, place) marks someone who moved in."""
        self._person_seq += 1
        birth = self._birth_for_age(age)
        retired = False
        if origin is not None:
            region = origin[0]
        elif birth.year < 1985 and self.rng.random() < 0.8:
            region = hh.village.township.retired_region6
            retired = True
        else:
            region = vocab.COUNTY_CODE6
        p = Person(
            key=f"P{self._person_seq:07d}",
            name=surname + self._given(sex, birth.year),
            sex=sex,
            birth=birth,
            id_number=self._id_number(region, birth, sex),
            household=hh,
            ethnicity=_ETHNICITY.pick(self.rng),
            role=role,
            retired_region=retired,
        )
        if origin is not None:
            p.moved_in_from = origin[1]
        if age >= 18 and self.rng.random() < (0.95 if age < 65 else 0.45):
            p.phone = self.phone()
        hh.members.append(p)
        return p

    # -- households --------------------------------------------------------------------

    def village(self, village: Village) -> list[Household]:
        """All households of a village, exactly ``village.persons`` people in total."""
        rng = self.rng
        budget = village.persons
        households: list[Household] = []
        helpers: list[Person] = []  # capable adults at home: candidates for entrusted care
        local_surname = village.name[0] if "家" in village.name else ""
        seq = 0
        while budget > 0:
            seq += 1
            number = f"{village.code[6:]}{seq:04d}"
            if village.urban:
                locality = f"{rng.choice('新老')}街{rng.randint(1, 300)}号"
                hukou = "urban" if rng.random() < 0.85 else "rural"
            else:
                locality = f"{rng.randint(1, 8)}组{rng.randint(1, 120)}号"
                hukou = "rural" if rng.random() < 0.97 else "urban"
            hh = Household(
                number=number,
                village=village,
                hukou_type=hukou,
                address=village.full_name + locality,
                locality=locality,
            )
            surname = local_surname if local_surname and rng.random() < 0.4 else _SURNAMES.pick(rng)
            r = rng.random()
            if budget >= 3 and r < 0.62:
                self._family(hh, surname, budget, helpers)
            elif budget >= 1 and r < 0.84:
                self._elderly(hh, surname, budget)
            else:
                self._adults(hh, surname, budget)
            self._finish(hh)
            budget -= len(hh.members)
            households.append(hh)
            helpers.extend(p for p in hh.members if p.can_care and 25 <= p.age(self.as_of) <= 72)
        return households

    def _death(self, p: Person, within_days: int, after: date | None = None) -> None:
        p.deceased = True
        p.death_date = self._days_ago(30, within_days, not_before=after)
        if p.death_date < p.birth:
            p.death_date = p.birth + timedelta(days=1)
        p.phone = ""

    def _elderly(self, hh: Household, surname: str, budget: int) -> None:
        rng = self.rng
        age = rng.randint(58, 90)
        if budget >= 2 and rng.random() < 0.65:
            head = self.person(hh, surname, "M", age, "elder")
            spouse = self.person(hh, _SURNAMES.pick(rng), "F", max(50, age - rng.randint(-3, 5)), "elder")
            members = [head, spouse]
        else:
            head = self.person(hh, surname, "F" if rng.random() < 0.55 else "M", age, "elder")
            members = [head]
        for p in members:
            self._elder_health(p)
        if len(members) == 2 and rng.random() < 0.12:
            self._death(rng.choice(members), 3000)
        living = [p for p in members if not p.deceased]
        hh.head = living[0]
        if hh.hukou_type == "rural" and len(living) == 1 and living[0].age(self.as_of) >= 70:
            hh.assistance = "tekun" if rng.random() < 0.12 else ("dibao" if rng.random() < 0.15 else "")

    def _adults(self, hh: Household, surname: str, budget: int) -> None:
        rng = self.rng
        age = rng.randint(20, 58)
        sex = "M" if rng.random() < 0.62 else "F"
        first = self.person(hh, surname, sex, age, "adult")
        members = [first]
        if budget >= 2 and rng.random() < 0.55:
            other = "F" if sex == "M" else "M"
            members.append(
                self.person(hh, _SURNAMES.pick(rng), other, max(20, age + rng.randint(-5, 5)), "adult")
            )
        for p in members:
            if rng.random() < 0.4:
                self._send_away(p, None)
            elif rng.random() < 0.03:
                p.capable = False
                p.incapacity_reason = _PARENT_INCAPACITY.pick(rng)
        hh.head = first

    def _elder_health(self, p: Person) -> None:
        rng = self.rng
        age = p.age(self.as_of)
        if age >= 75 and rng.random() < 0.45:
            p.capable, p.incapacity_reason = False, vocab.INCAPACITY_ELDERLY
        elif rng.random() < 0.08:
            p.capable, p.incapacity_reason = False, "重病"
        elif rng.random() < 0.04:
            p.capable, p.incapacity_reason = False, "残疾"
            p.disability = f"physical-{rng.randint(1, 3)}"

    def _send_away(self, p: Person, not_before: date | None) -> None:
        rng = self.rng
        p.works_away = True
        p.work_destination = _DESTINATIONS.pick(rng)
        adult = (
            p.birth.replace(year=p.birth.year + 18)
            if (p.birth.month, p.birth.day) != (2, 29)
            else date(p.birth.year + 18, 3, 1)
        )
        floor = max(adult, not_before) if not_before else adult
        p.work_since = self._days_ago(60, 10 * 365, not_before=floor)
        if not p.phone:
            p.phone = self.phone()

    def _family(self, hh: Household, surname: str, budget: int, helpers: list[Person]) -> None:
        rng = self.rng
        as_of = self.as_of
        mother_age = rng.randint(22, 50)
        n_kids = 1 if (r := rng.random()) < 0.45 else (2 if r < 0.87 else 3)
        kid_ages = sorted({mother_age - rng.randint(20, 38) for _ in range(n_kids)}, reverse=True)
        kid_ages = [a for a in kid_ages if a >= 0] or [max(0, mother_age - 24)]
        father_age = max(22, mother_age + rng.randint(-1, 6))
        with_gp = rng.random() < (0.55 if kid_ages[0] < 18 else 0.25)
        maternal = with_gp and rng.random() < 0.15
        n_gp = 2 if with_gp else 0
        while 2 + len(kid_ages) + n_gp > budget:
            if n_gp:
                n_gp -= 1
            elif len(kid_ages) > 1:
                kid_ages.pop()
            else:
                break
        mother_surname = _SURNAMES.pick(rng)
        moved_in = hh.hukou_type == "rural" and rng.random() < 0.3
        origin = rng.choice(vocab.ORIGIN_COUNTIES) if moved_in else None
        father = self.person(hh, surname, "M", father_age, "father")
        mother = self.person(hh, mother_surname, "F", mother_age, "mother", origin=origin)
        kids: list[Person] = []
        for age in kid_ages:
            sex = "M" if rng.random() < 0.53 else "F"
            kid_surname = surname if rng.random() < 0.9 else mother_surname
            kid = self.person(hh, kid_surname, sex, age, "child")
            kid.father, kid.mother = father, mother
            kids.append(kid)
        if moved_in:
            first_birth = min(k.birth for k in kids)
            mother.moved_in = max(
                first_birth - timedelta(days=rng.randint(200, 1200)),
                mother.birth.replace(year=mother.birth.year + 19)
                if (mother.birth.month, mother.birth.day) != (2, 29)
                else date(mother.birth.year + 19, 3, 1),
            )
        gps: list[Person] = []
        if n_gp:
            gp_surname = mother_surname if maternal else surname
            gf_age = min(95, (mother_age if maternal else father_age) + rng.randint(22, 32))
            gps.append(self.person(hh, gp_surname, "M", gf_age, "grandfather"))
            if n_gp > 1:
                gps.append(
                    self.person(
                        hh, _SURNAMES.pick(rng), "F", max(40, gf_age - rng.randint(-2, 5)), "grandmother"
                    )
                )
            for gp in gps:
                self._elder_health(gp)
                if gp.age(as_of) > 70 and rng.random() < 0.02 * (gp.age(as_of) - 70):
                    self._death(gp, 3000)
        youngest = max(k.birth for k in kids)

        # Parents' situation: a rare hard case first, else independent draws.
        scenario = rng.random()
        if scenario < 0.005:  # orphans
            self._death(father, 2500, after=youngest)
            self._death(mother, 2500, after=youngest)
        elif scenario < 0.013:  # de facto unsupported (事实无人抚养)
            fate = rng.random()
            if fate < 0.4:
                self._death(father, 2500, after=youngest)
            elif fate < 0.7:
                father.missing = True
            else:
                father.capable, father.incapacity_reason = False, vocab.INCAPACITY_PRISON
            fate = rng.random()
            if fate < 0.5:
                mother.missing = True
            else:
                mother.capable = False
                mother.incapacity_reason = _PARENT_INCAPACITY.pick(rng)
        else:
            if rng.random() < 0.012:
                self._death(father, 3000, after=youngest)
            elif rng.random() < 0.008:
                father.missing = True
            elif rng.random() < 0.006:
                father.capable, father.incapacity_reason = False, vocab.INCAPACITY_PRISON
            if rng.random() < 0.008:
                self._death(mother, 3000, after=youngest)
            elif rng.random() < 0.025:
                mother.missing = True
            rural = hh.hukou_type == "rural"
            if father.present:
                father.works_away = rng.random() < (0.46 if rural else 0.22)
            if mother.present:
                p_mother = 0.5 if father.works_away else (0.35 if not father.present else 0.1)
                mother.works_away = rng.random() < p_mother * (1 if rural else 0.6)
            for p in (father, mother):
                if p.works_away:
                    p.works_away = False  # _send_away sets it with the details
                    self._send_away(p, youngest if rng.random() < 0.7 else None)
                elif p.present and rng.random() < 0.05:
                    p.capable = False
                    p.incapacity_reason = _PARENT_INCAPACITY.pick(rng)
                    if p.incapacity_reason == "残疾":
                        p.disability = (
                            f"{rng.choice(['physical', 'visual', 'intellectual'])}-{rng.randint(1, 2)}"
                        )
        for p in (father, mother):
            if p.missing:
                p.phone = ""

        for kid in kids:
            age = kid.age(as_of)
            if age < 18:
                if rng.random() < 0.012:
                    kind, _, _ = rng.choice(vocab.DISABILITY_KINDS)
                    kid.disability = f"{kind}-{rng.randint(1, 4)}"
                if rng.random() < 0.006:
                    kid.serious_illness = rng.choice(vocab.SERIOUS_ILLNESSES)[0]
                if rng.random() < 0.0008:
                    self._death(kid, 1500, after=kid.birth)
            else:
                if age <= 32 and rng.random() < 0.25:
                    kid.moved_out = self._days_ago(
                        30,
                        8 * 365,
                        not_before=kid.birth.replace(year=kid.birth.year + 18)
                        if (kid.birth.month, kid.birth.day) != (2, 29)
                        else date(kid.birth.year + 18, 3, 1),
                    )
                    kid.moved_out_to = rng.choice(vocab.MOVE_OUT_DESTINATIONS)
                elif rng.random() < 0.6:
                    self._send_away(kid, None)

        self._head_and_relations(hh, father, mother, kids, gps, maternal)
        self._guardians(hh, father, mother, kids, gps, maternal, helpers)

        poor = any(p.lacks_capacity for p in (father, mother)) or any(
            k.disability or k.serious_illness for k in kids
        )
        if hh.hukou_type == "rural":
            orphaned = father.deceased and mother.deceased
            if orphaned and rng.random() < 0.5:
                hh.assistance = "tekun"
            elif rng.random() < (0.3 if poor else 0.045):
                hh.assistance = "dibao"

    def _head_and_relations(
        self,
        hh: Household,
        father: Person,
        mother: Person,
        kids: list[Person],
        gps: list[Person],
        maternal: bool,
    ) -> None:
        rng = self.rng
        living_gp = [g for g in gps if not g.deceased]
        if living_gp and living_gp[0].sex == "M" and rng.random() < 0.45:
            head = living_gp[0]
        elif not father.deceased and not father.missing and not maternal:
            head = father
        elif not mother.deceased and not mother.missing:
            head = mother
        elif living_gp:
            head = living_gp[0]
        elif not father.deceased:
            head = father
        else:
            head = kids[0]
        hh.head = head
        for p in [father, mother, *kids, *gps]:
            p.relation = _relation(p, head, maternal)

    def _guardians(
        self,
        hh: Household,
        father: Person,
        mother: Person,
        kids: list[Person],
        gps: list[Person],
        maternal: bool,
        helpers: list[Person],
    ) -> None:
        rng = self.rng
        minors = [k for k in kids if not k.deceased and k.age(self.as_of) < 18]
        if not minors:
            return
        carer = next((p for p in (mother, father) if p.can_care), None)
        if carer is not None:
            for k in minors:
                k.guardian, k.guardian_kind = carer, "legal"
                k.guardian_relation = "母亲" if carer is mother else "父亲"
            return
        capable_gp = [g for g in gps if g.can_care]
        guardian: Person | None = None
        relation = ""
        if capable_gp and rng.random() < 0.92:
            guardian = rng.choice(capable_gp)
            side = "外" if maternal else ""
            relation = side + ("祖父" if guardian.sex == "M" else "祖母")
        elif helpers and rng.random() < 0.9:
            guardian = rng.choice(helpers)
            g_age = guardian.age(self.as_of)
            if g_age >= 55:
                relation = "外祖父" if guardian.sex == "M" else "外祖母"
            else:
                relation = (
                    rng.choice(("伯父", "叔叔", "舅舅"))
                    if guardian.sex == "M"
                    else rng.choice(("姑姑", "姨妈", "伯母"))
                )
        if guardian is None:
            return  # nobody: the children are de facto unsupervised
        # A parent who works away entrusts the children (委托监护) and may sign an agreement;
        # when no parent works away and none can care (dead, missing, in prison, ill), the
        # carer is a legal guardian by the Civil Code's order (grandparents first).
        entrusted = father.works_away or mother.works_away
        agreement: Agreement | None = None
        if entrusted:
            self._agreement_seq += 1
            status_draw = rng.random()
            term = rng.randint(365, 3 * 365)
            if status_draw < 0.62:
                valid_to = self.as_of + timedelta(days=rng.randint(1, term - 30))
                agreement = Agreement(
                    f"WT{self._agreement_seq:07d}", "valid", valid_to - timedelta(days=term), valid_to
                )
            elif status_draw < 0.8:
                valid_to = self.as_of - timedelta(days=rng.randint(1, 700))
                agreement = Agreement(
                    f"WT{self._agreement_seq:07d}", "expired", valid_to - timedelta(days=term), valid_to
                )
            else:
                agreement = Agreement(f"WT{self._agreement_seq:07d}", "missing", None, None)
        for k in minors:
            k.guardian = guardian
            k.guardian_kind = "entrusted" if entrusted else "legal"
            k.guardian_relation = relation
            k.agreement = agreement

    def _finish(self, hh: Household) -> None:
        if hh.head is None:
            hh.head = hh.members[0]
        for p in hh.members:
            if not p.relation:
                p.relation = "户主" if p is hh.head else ("配偶" if p.role in ("elder", "adult") else "其他")


def _relation(p: Person, head: Person, maternal: bool) -> str:
    """与户主关系 of ``p`` in a family household, from the head's point of view."""
    if p is head:
        return "户主"
    hr, pr = head.role, p.role
    son = p.sex == "M"
    if hr == "father":
        return {
            "mother": "配偶",
            "child": "子" if son else "女",
            "grandfather": "岳父" if maternal else "父亲",
            "grandmother": "岳母" if maternal else "母亲",
        }[pr]
    if hr == "mother":
        return {
            "father": "配偶",
            "child": "子" if son else "女",
            "grandfather": "父亲" if maternal else "公公",
            "grandmother": "母亲" if maternal else "婆婆",
        }[pr]
    if hr in ("grandfather", "grandmother"):
        if pr in ("grandfather", "grandmother"):
            return "配偶"
        if pr == "father":
            return "女婿" if maternal else "子"
        if pr == "mother":
            return "女" if maternal else "儿媳"
        return ("外孙子" if son else "外孙女") if maternal else ("孙子" if son else "孙女")
    # The eldest child heads the household (both parents dead or gone, no grandparent).
    if pr == "child":
        older = p.birth < head.birth
        return ("兄" if older else "弟") if son else ("姐" if older else "妹")
    if pr == "father":
        return "父亲"
    if pr == "mother":
        return "母亲"
    side = "外" if maternal else ""
    return side + ("祖父" if son else "祖母")
