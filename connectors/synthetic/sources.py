"""What each agency's system holds about the true population, in that system's format.

The :class:`Emitter` is handed one village's households at a time and writes:

- ``police/``: the household register (户籍, one row per registered person, GB18030
  as public-security exports are) and child-related incidents (警情);
- ``education/``: the student registry (学籍) in two batches (CSV with BOM, XLSX),
  attendance and truancy records, dropout records;
- ``health/``: FHIR R4 collection Bundles per township health centre and for the county
  hospital;
- ``survey/``: the village child supervisors' screening forms, one JSON file per village,
  a few villages as XLSX;
- ``truth/``: the true persons, households, relationships and the mapping of every
  source record to the true person it is about.

School, health and incident *facts* are drawn from their own random stream and noise
from another, so a change in noise rates changes no true fact.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from connectors.sources.education import ATTENDANCE_HEADER, DROPOUT_HEADER, STUDENT_HEADER
from connectors.sources.police import HUKOU_HEADER, INCIDENT_HEADER
from connectors.sources.survey import SURVEY_XLSX_HEADER
from connectors.synthetic import vocab
from connectors.synthetic.geography import County, School, Township, Village
from connectors.synthetic.noise import Noise
from connectors.synthetic.population import (
    Household,
    Person,
    distress_categories,
    left_behind_reason,
)
from connectors.synthetic.sinks import BundleSink, CsvSink, XlsxSink, write_json_list

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OID_ID_CARD = "urn:oid:2.16.156.10011.1.3"  # 居民身份证号
OID_HEALTH_RECORD = "urn:oid:2.16.156.10011.1.2"  # 城乡居民健康档案编号
OID_OUTPATIENT = "urn:oid:2.16.156.10011.1.11"  # 门(急)诊号
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

SEX_ZH = {"M": "男", "F": "女"}
GENDER_FHIR = {"M": "male", "F": "female"}
HUKOU_ZH = {"rural": "农业", "urban": "非农业"}
DISTRESS_ZH = {
    "orphan": "孤儿",
    "de_facto_unsupported": "事实无人抚养",
    "disabled": "残疾",
    "seriously_ill": "重病",
    "dibao": "低保",
    "tekun": "特困",
}
ASSISTANCE_ZH = {"": "无", "dibao": "低保", "tekun": "特困"}
DISABILITY_ZH = {kind: zh for kind, zh, _ in vocab.DISABILITY_KINDS}
DISABILITY_ICD = {kind: icd for kind, _, icd in vocab.DISABILITY_KINDS}
SERIOUS_ZH = dict(vocab.SERIOUS_ILLNESSES)
RELATION_ROLE_CODE = {
    "父亲": ("FTH", "father"),
    "母亲": ("MTH", "mother"),
    "祖父": ("PGRFTH", "paternal grandfather"),
    "祖母": ("PGRMTH", "paternal grandmother"),
    "外祖父": ("MGRFTH", "maternal grandfather"),
    "外祖母": ("MGRMTH", "maternal grandmother"),
    "伯父": ("UNCLE", "uncle"),
    "叔叔": ("UNCLE", "uncle"),
    "舅舅": ("UNCLE", "uncle"),
    "姑姑": ("AUNT", "aunt"),
    "姨妈": ("AUNT", "aunt"),
    "伯母": ("AUNT", "aunt"),
}

# The export layouts are the connectors' own: the generator writes exactly what they read.
TRUTH_PERSON_HEADER = (
    "person_key",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "age",
    "ethnicity",
    "household_number",
    "relation_to_head",
    "hukou_type",
    "village_code",
    "township_code",
    "status",
    "death_date",
    "moved_in_date",
    "moved_in_from",
    "moved_out_date",
    "moved_out_to",
    "id_region_retired",
    "phone",
    "works_away",
    "work_destination",
    "work_since",
    "missing",
    "guardianship_capacity",
    "incapacity_reason",
    "disability",
    "serious_illness",
    "father_key",
    "mother_key",
    "guardian_key",
    "guardian_kind",
    "is_child",
    "left_behind",
    "left_behind_reason",
    "in_distress",
    "school_code",
    "grade",
    "enrolment_status",
)
TRUTH_HOUSEHOLD_HEADER = (
    "household_number",
    "village_code",
    "hukou_type",
    "address",
    "head_key",
    "assistance",
    "members",
)
TRUTH_REL_HEADER = (
    "src_key",
    "type",
    "dst_key",
    "kind",
    "relation",
    "since",
    "until",
    "agreement_id",
    "agreement_status",
    "agreement_signed_on",
    "agreement_valid_to",
)
TRUTH_RECORD_HEADER = (
    "system",
    "file",
    "record_id",
    "person_key",
    "role",
    "record_type",
    "noise",
    "malformed",
)

_BAD_DATES = ("不详", "0000-00-00", "{y}-02-30", "{y}/13/{d:02d}", "{yy}年{m}月", "{y}{m:02d}32")


def _bad_date(d: date, rng: random.Random) -> str:
    return rng.choice(_BAD_DATES).format(y=d.year, yy=d.year % 100, m=d.month, d=d.day)


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _compact(d: date | None) -> str:
    return f"{d:%Y%m%d}" if d else ""


def _cn(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def _dt(d: date, minutes: int) -> str:
    """A local (UTC+8) FHIR dateTime ``minutes`` after midnight of ``d``."""
    extra, minutes = divmod(minutes, 24 * 60)
    d = d + timedelta(days=extra)
    return f"{d.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00+08:00"


def _age_on(p: Person, d: date) -> float:
    return (d - p.birth).days / 365.2425


@dataclass(slots=True)
class Enrolment:
    school: School
    grade: int
    class_no: int
    boarding: bool
    status: str  # 在读 | 辍学 | 休学
    start: str  # 入学年月
    dropout: tuple[date, str, str, date | None] | None = None  # date, reason, outcome, report date


@dataclass(slots=True)
class HealthEvent:
    facility: str  # thc | cph
    kind: str  # checkup | illness | injury | maltreatment | serious | disability
    day: date
    minute: int
    conditions: list[tuple[str, str]] = field(default_factory=list)
    measure: bool = False
    police: str = ""  # incident category this event was reported as, if any


@dataclass(slots=True)
class ChildFacts:
    """Everything drawn about one child beyond the household facts."""

    left_behind: str
    distress: list[str]
    enrolment: Enrolment | None
    not_enrolled_dropout: tuple[date, str, str, date | None] | None
    health: list[HealthEvent]
    incidents: list[tuple[str, date]]  # (category, day) not already in health
    height_z: float
    weight_z: float


class Emitter:
    """Writes every source and the truth, one village at a time."""

    def __init__(
        self,
        out_dir: Path,
        county: County,
        as_of: date,
        noise: Noise,
        events_rng: random.Random,
        detail_rng: random.Random,
        ids_rng: random.Random,
        bundle_max_entries: int = 50_000,
    ) -> None:
        self.out = out_dir
        self.county = county
        self.as_of = as_of
        self.noise = noise
        # ``ev`` draws the facts the truth records (enrolment, health and incident events),
        # ``detail`` everything that is not in the truth and may be skipped when a record
        # is left out by noise (attendance rows, visit days, encounter lengths); so noise
        # never shifts a true fact.
        self.ev = events_rng
        self.detail = detail_rng
        self.ids = ids_rng
        self.school_year = as_of.year if (as_of.month, as_of.day) >= (9, 1) else as_of.year - 1
        self.bundle_max_entries = bundle_max_entries
        self.timestamp = _dt(as_of, 18 * 60)
        self.counts: dict[str, int] = {}
        self.households = 0
        self.children = 0
        self.left_behind = 0
        self.in_distress = 0
        self.source_records = 0
        self._seq: dict[str, int] = {}
        self._student_numbers: set[str] = set()
        self._hh_stale: dict[str, str] = {}

        gb = "gb18030"
        self.hukou = CsvSink(out_dir / "police" / "hukou.csv", HUKOU_HEADER, encoding=gb)
        self.incidents = CsvSink(out_dir / "police" / "incidents.csv", INCIDENT_HEADER, encoding=gb)
        bom = "utf-8-sig"
        self.students1 = CsvSink(
            out_dir / "education" / "students_batch1.csv", STUDENT_HEADER, encoding=bom, lineterminator="\r\n"
        )
        self.students2 = XlsxSink(
            out_dir / "education" / "students_batch2.xlsx",
            "学籍信息",
            STUDENT_HEADER,
            title="中学学生学籍信息导出",
        )
        self.attendance = CsvSink(
            out_dir / "education" / "attendance.csv", ATTENDANCE_HEADER, encoding=bom, lineterminator="\r\n"
        )
        self.dropouts = CsvSink(
            out_dir / "education" / "dropouts.csv", DROPOUT_HEADER, encoding=bom, lineterminator="\r\n"
        )
        self.hospital = BundleSink(
            out_dir / "health", county.hospital.id, self._uuid, self.timestamp, bundle_max_entries
        )
        self.centre: BundleSink | None = None
        self.centre_files: list[tuple[Path, int]] = []
        truth = out_dir / "truth"
        self.t_persons = CsvSink(truth / "persons.csv", TRUTH_PERSON_HEADER)
        self.t_households = CsvSink(truth / "households.csv", TRUTH_HOUSEHOLD_HEADER)
        self.t_rels = CsvSink(truth / "relationships.csv", TRUTH_REL_HEADER)
        self.t_records = CsvSink(truth / "source_records.csv", TRUTH_RECORD_HEADER)

    # -- bookkeeping ---------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def _next(self, name: str) -> int:
        self._seq[name] = n = self._seq.get(name, 0) + 1
        return n

    def _map(
        self,
        system: str,
        file: str,
        record_id: str,
        person: Person,
        role: str,
        record_type: str,
        applied: list[str],
        malformed: bool = False,
    ) -> None:
        kinds = list(applied)
        if malformed:
            kinds.append("malformed_row")
        self.t_records.write(
            (system, file, record_id, person.key, role, record_type, "|".join(kinds), 1 if malformed else 0)
        )
        self.source_records += 1

    def _malformed(self, system: str) -> bool:
        return self.noise.roll(system, "malformed_row")

    def _malform_row(self, row: list[Any], date_idx: int, required: tuple[int, ...]) -> list[Any]:
        """Break a CSV/XLSX row the way exports break: cut short, a garbage date, blanks."""
        rng = self.noise.rng
        how = rng.random()
        if how < 0.34:
            return row[: rng.randint(2, 4)]
        if how < 0.67:
            value = row[date_idx]
            d = value if isinstance(value, date) else self.as_of
            row[date_idx] = _bad_date(d, rng)
            return row
        for i in required:
            row[i] = ""
        return row

    def _stale_address(self, hh: Household) -> str:
        """Where the family was known to live before: a merged village's old name, or a
        neighbouring village (drawn once per household from the noise stream)."""
        key = hh.number
        cached = self._hh_stale.get(key)
        if cached is not None:
            return cached
        v = hh.village
        t = v.township
        prefix = f"{vocab.PROVINCE_NAME}{vocab.COUNTY_NAME}{t.name}"
        if v.former_names:
            stale = prefix + self.noise.rng.choice(v.former_names)[1] + hh.locality
        else:
            others = [o for o in t.villages if o is not v and not o.urban] or [v]
            other = self.noise.rng.choice(others)
            stale = (
                prefix + other.name + f"{self.noise.rng.randint(1, 8)}组{self.noise.rng.randint(1, 120)}号"
            )
        self._hh_stale[key] = stale
        return stale

    # -- township / village ---------------------------------------------------------------

    def township_start(self, t: Township) -> None:
        if t.health_centre is None:
            raise ValueError(f"township {t.code} has no health centre")
        self.centre = BundleSink(
            self.out / "health", t.health_centre.id, self._uuid, self.timestamp, self.bundle_max_entries
        )

    def township_end(self, t: Township) -> None:
        if self.centre is None:
            raise RuntimeError("township_end without township_start")
        self.centre.close()
        self.centre_files.extend(self.centre.files)
        self.centre = None

    def village(self, village: Village, households: list[Household], as_xlsx: bool) -> None:
        as_of = self.as_of
        self._hh_stale.clear()  # household numbers are unique; keep memory flat
        facts: dict[str, ChildFacts] = {}
        minors: list[Person] = []
        for hh in households:
            self.households += 1
            for p in hh.members:
                if not p.deceased and p.age(as_of) < 18:
                    minors.append(p)
                    facts[p.key] = self._child_facts(p)
        for hh in households:
            self._truth_household(hh, facts)
            self._hukou(hh)
        for child in minors:
            f = facts[child.key]
            self.children += 1
            self.left_behind += bool(f.left_behind)
            self.in_distress += bool(f.distress)
            self._education(child, f)
            self._health(child, f)
            self._incidents(child, f)
        self._survey(village, households, minors, facts, as_xlsx)

    # -- facts ------------------------------------------------------------------------------

    def _child_facts(self, child: Person) -> ChildFacts:
        ev = self.ev
        as_of = self.as_of
        lb = left_behind_reason(child, as_of)
        distress = distress_categories(child, as_of)
        unsupervised = child.guardian is None
        enrolment, never = self._enrolment(child, bool(lb))
        health: list[HealthEvent] = []
        age_days = (as_of - child.birth).days
        window_start = as_of - timedelta(days=730)
        # 0–6 health management: 4 visits in the first year, 2 a year to 3, then yearly.
        attend = 0.72 if lb else 0.86
        for months in (1, 3, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72):
            day = child.birth + timedelta(days=int(months * 30.44))
            if day > as_of:
                break
            if day > window_start and ev.random() < attend:
                event = HealthEvent("thc", "checkup", day, ev.randint(8 * 60, 16 * 60), measure=True)
                if ev.random() < (0.08 if lb else 0.04):
                    event.conditions.append(ev.choice(vocab.CHECKUP_FINDINGS))
                health.append(event)
        episodes = 0 if (r := ev.random()) > 0.33 else (1 if r > 0.08 else 2)
        for _ in range(episodes):
            day = as_of - timedelta(days=ev.randint(0, min(729, age_days)))
            facility = "cph" if ev.random() < 0.2 else "thc"
            health.append(
                HealthEvent(
                    facility,
                    "illness",
                    day,
                    ev.randint(8 * 60, 20 * 60),
                    [ev.choice(vocab.COMMON_ILLNESSES)],
                    measure=ev.random() < 0.5,
                )
            )
        if child.serious_illness:
            day = as_of - timedelta(days=ev.randint(0, min(729, age_days)))
            health.append(
                HealthEvent(
                    "cph",
                    "serious",
                    day,
                    ev.randint(8 * 60, 17 * 60),
                    [(child.serious_illness, SERIOUS_ZH[child.serious_illness])],
                    measure=True,
                )
            )
        if child.disability:
            kind = child.disability.split("-")[0]
            day = as_of - timedelta(days=ev.randint(0, min(729, age_days)))
            health.append(
                HealthEvent(
                    "thc",
                    "disability",
                    day,
                    ev.randint(8 * 60, 17 * 60),
                    [(DISABILITY_ICD[kind], DISABILITY_ZH[kind] + "残疾")],
                )
            )
        incidents: list[tuple[str, date]] = []
        if age_days > 365 and ev.random() < (0.05 if lb or unsupervised else 0.03):
            code, display, category = ev.choice(vocab.INJURIES)
            day = as_of - timedelta(days=ev.randint(0, min(729, age_days - 365)))
            serious = code in ("T75.1", "T60.0", "S06.0", "T63.0")
            police = category if serious or ev.random() < 0.15 else ""
            health.append(
                HealthEvent(
                    "cph", "injury", day, ev.randint(0, 24 * 60 - 1), [(code, display)], police=police
                )
            )
        if age_days > 365 and ev.random() < (0.006 if lb or unsupervised else 0.002):
            code, display = ev.choice(vocab.MALTREATMENT)
            day = as_of - timedelta(days=ev.randint(0, min(729, age_days - 365)))
            police = {"T74.1": "家庭暴力", "T74.3": "家庭暴力", "T74.2": "不法侵害", "T74.0": "监护缺失"}[
                code
            ]
            health.append(
                HealthEvent(
                    "cph",
                    "maltreatment",
                    day,
                    ev.randint(0, 24 * 60 - 1),
                    [(code, display)],
                    police=police if ev.random() < 0.8 else "",
                )
            )
        age = child.age(as_of)
        if age >= 3:
            alone = unsupervised and age < 16 and ev.random() < 0.35
            if alone or (lb and 10 <= age < 16 and ev.random() < 0.01):
                incidents.append(("儿童独居", as_of - timedelta(days=ev.randint(0, 700))))
            if ev.random() < (0.005 if lb else 0.002):
                incidents.append(("儿童走失", as_of - timedelta(days=ev.randint(0, 700))))
            if ev.random() < (0.005 if lb or child.guardian_kind == "entrusted" else 0.003):
                incidents.append(("家庭暴力", as_of - timedelta(days=ev.randint(0, 700))))
        health.sort(key=lambda e: (e.day, e.minute))
        return ChildFacts(
            lb,
            distress,
            enrolment,
            never,
            health,
            incidents,
            height_z=max(-2.5, min(2.5, ev.gauss(0, 1))),
            weight_z=max(-2.5, min(2.5, ev.gauss(0, 1))),
        )

    def _enrolment(self, child: Person, lb: bool) -> tuple[Enrolment | None, tuple | None]:
        ev = self.ev
        y = self.school_year
        b = child.birth
        age_aug31 = y - b.year - ((b.month, b.day) > (8, 31))
        grade = age_aug31 - 5
        if grade >= 2 and ev.random() < 0.03:
            grade -= 1  # held back a year
        if grade < -2 or grade > 12:
            return None, None
        t = child.household.village.township
        if grade <= 0:
            if ev.random() > 0.85:
                return None, None
            school, classes, level_start = t.kindergarten, 2, y - (grade + 2)
        elif grade <= 6:
            school, classes, level_start = t.primary, 3, y - (grade - 1)
        elif grade <= 9:
            school, classes, level_start = t.middle, 6, y - (grade - 7)
        else:
            if ev.random() > 0.65:
                return None, None
            school, classes, level_start = ev.choice(self.county.high_schools), 10, y - (grade - 10)
        if school is None:
            raise ValueError("the county has no school for this grade")
        if 1 <= grade <= 9 and child.disability.endswith("-1") and ev.random() < 0.4:
            return None, None  # taught at home (送教上门), not on the registry
        if 1 <= grade <= 9 and ev.random() < (0.006 if lb else 0.003):
            # Left school before this year: only a dropout record remains.
            return None, self._dropout_record(prior=True)
        if grade <= 3:
            boarding = False
        elif grade <= 6:
            boarding = ev.random() < (0.35 if lb else 0.15)
        elif grade <= 9:
            boarding = ev.random() < (0.75 if lb else 0.55)
        else:
            boarding = ev.random() < 0.9
        status = "在读"
        dropout = None
        if 4 <= grade <= 12 and ev.random() < (0.004 if grade < 7 else 0.012) * (2 if lb else 1):
            dropout = self._dropout_record(prior=False)
            status = "在读" if dropout[2] == "已返校" else "辍学"
        elif (child.serious_illness and ev.random() < 0.3) or ev.random() < 0.002:
            status = "休学"
        return Enrolment(
            school, grade, ev.randint(1, classes), boarding, status, f"{level_start}-09", dropout
        ), None

    def _dropout_record(self, prior: bool) -> tuple[date, str, str, date | None]:
        """A dropout this school year (or, ``prior``, the year before, never brought back)."""
        ev = self.ev
        day = self.as_of - timedelta(days=ev.randint(365, 700) if prior else ev.randint(0, 330))
        if day.month in (7, 8):  # summer holidays: the absence is noticed in June
            day = day.replace(month=6, day=min(day.day, 30))
        reason = ev.choice(vocab.DROPOUT_REASONS)
        outcome = "劝返无效" if prior else ev.choice(("已返校", "已返校", "劝返中", "劝返无效"))
        report = min(self.as_of, day + timedelta(days=ev.randint(7, 40))) if outcome == "劝返无效" else None
        return day, reason, outcome, report

    # -- truth ------------------------------------------------------------------------------

    def _truth_household(self, hh: Household, facts: dict[str, ChildFacts]) -> None:
        as_of = self.as_of
        v = hh.village
        if hh.head is None:
            raise ValueError("a household without a head")
        self.t_households.write(
            (hh.number, v.code, hh.hukou_type, hh.address, hh.head.key, hh.assistance, len(hh.members))
        )
        for p in hh.members:
            f = facts.get(p.key)
            enr = f.enrolment if f else None
            status = "deceased" if p.deceased else ("moved_out" if p.moved_out else "alive")
            self.t_persons.write(
                (
                    p.key,
                    p.name,
                    p.id_number,
                    p.sex,
                    p.birth.isoformat(),
                    p.age(as_of),
                    p.ethnicity,
                    hh.number,
                    p.relation,
                    hh.hukou_type,
                    v.code,
                    v.township.code + "000",
                    status,
                    _iso(p.death_date),
                    _iso(p.moved_in),
                    p.moved_in_from,
                    _iso(p.moved_out),
                    p.moved_out_to,
                    int(p.retired_region),
                    p.phone,
                    int(p.works_away),
                    p.work_destination,
                    _iso(p.work_since),
                    int(p.missing),
                    int(p.capable),
                    p.incapacity_reason,
                    p.disability,
                    p.serious_illness,
                    p.father.key if p.father else "",
                    p.mother.key if p.mother else "",
                    p.guardian.key if p.guardian else "",
                    p.guardian_kind,
                    int(p.age(as_of) < 18 and not p.deceased),
                    int(bool(f and f.left_behind)),
                    f.left_behind if f else "",
                    "|".join(f.distress) if f else "",
                    enr.school.code if enr else "",
                    vocab.GRADE_NAMES[enr.grade] if enr else "",
                    enr.status if enr else ("往年辍学" if f and f.not_enrolled_dropout else ""),
                )
            )
            if p.father is not None:
                self.t_rels.write(
                    (p.father.key, "parent_of", p.key, "father", "父亲", _iso(p.birth), "", "", "", "", "")
                )
            if p.mother is not None:
                self.t_rels.write(
                    (p.mother.key, "parent_of", p.key, "mother", "母亲", _iso(p.birth), "", "", "", "", "")
                )
            if f is None:
                continue
            for parent, rel in ((p.father, "父亲"), (p.mother, "母亲")):
                if parent is not None and not parent.deceased and not parent.missing:
                    self.t_rels.write(
                        (parent.key, "guardian_of", p.key, "legal", rel, _iso(p.birth), "", "", "", "", "")
                    )
            g = p.guardian
            if g is not None and g is not p.father and g is not p.mother:
                a = p.agreement
                since = a.signed_on if a and a.signed_on else _parents_left(p)
                self.t_rels.write(
                    (
                        g.key,
                        "guardian_of",
                        p.key,
                        p.guardian_kind,
                        p.guardian_relation,
                        _iso(since),
                        _iso(a.valid_to) if a else "",
                        a.id if a else "",
                        a.status if a else "",
                        _iso(a.signed_on) if a else "",
                        _iso(a.valid_to) if a else "",
                    )
                )

    # -- police -----------------------------------------------------------------------------

    def _hukou(self, hh: Household) -> None:
        file = "police/hukou.csv"
        as_of = self.as_of
        for i, p in enumerate(hh.members, start=1):
            record_id = f"{hh.number}{i:02d}"
            applied: list[str] = []
            if not p.deceased and p.age(as_of) < 18 and self.noise.roll("police_hukou", "absent_from_source"):
                continue  # an unregistered child (未落户)
            if p.deceased:
                state, changed = "死亡", p.death_date
            elif p.moved_out:
                state, changed = "迁出", p.moved_out
            else:
                state, changed = "正常", p.moved_in or p.birth
            row: list[Any] = [
                record_id,
                hh.number,
                p.name,
                p.id_number,
                SEX_ZH[p.sex],
                p.ethnicity,
                _compact(p.birth),
                p.relation,
                HUKOU_ZH[hh.hukou_type],
                hh.address,
                hh.village.code,
                _compact(p.moved_in),
                p.moved_in_from,
                _compact(p.moved_out),
                p.moved_out_to,
                _compact(p.death_date),
                state,
                _compact(changed),
            ]
            malformed = self._malformed("police_hukou")
            if malformed:
                row = self._malform_row(row, 6, (2, 3))
            self.hukou.write(row)
            self._map("police_hukou", file, record_id, p, "subject", "person", applied, malformed)

    def _incidents(self, child: Person, f: ChildFacts) -> None:
        events = [(e.police, e.day, e.minute) for e in f.health if e.police]
        events += [(cat, day, self.detail.randint(0, 24 * 60 - 1)) for cat, day in f.incidents]
        if not events:
            return
        file = "police/incidents.csv"
        hh = child.household
        g = child.guardian
        for category, day, minute in sorted(events, key=lambda e: (e[1], e[2])):
            n = self._next("incident")
            record_id = f"J{vocab.COUNTY_CODE6}{day:%Y%m%d}{n:05d}"
            ev = self.detail
            reporter = ev.choice(
                {
                    "儿童独居": ("村(居)委会", "学校", "群众"),
                    "儿童走失": ("亲属", "学校", "村(居)委会"),
                    "家庭暴力": ("学校", "医疗机构", "群众", "儿童本人"),
                    "溺水": ("群众", "医疗机构"),
                    "意外伤害": ("医疗机构", "亲属", "学校"),
                    "不法侵害": ("医疗机构", "学校", "亲属"),
                    "监护缺失": ("医疗机构", "村(居)委会"),
                }[category]
            )
            action = {
                "儿童独居": "责令父母返回或委托监护人，批评教育",
                "儿童走失": "启动儿童失踪快速查找机制，已找回",
                "家庭暴力": "制止侵害，护送至临时庇护场所",
                "溺水": "救助并送医",
                "意外伤害": "送医救治，调查经过",
                "不法侵害": "立案侦查，保护儿童并送医",
                "监护缺失": "联系父母及亲属，护送至亲属处临时照料",
            }[category]
            age = child.age(day) if day >= child.birth else 0
            if age < 6 and reporter in ("学校", "儿童本人"):
                reporter = "亲属"
            summary = f"{hh.village.name}{age}岁儿童{category.removeprefix('儿童')}"
            applied: list[str] = []
            system = "police_incident"
            name = self.noise.name(system, child.name, applied)
            idn = self.noise.id_number(system, child.id_number, applied)
            birth = self.noise.date(system, child.birth, applied)
            g_applied: list[str] = []
            g_name = self.noise.name(system, g.name, g_applied) if g is not None else ""
            closed = min(self.as_of, day + timedelta(days=ev.randint(0, 30)))
            row: list[Any] = [
                record_id,
                f"{day.isoformat()} {minute // 60:02d}:{minute % 60:02d}:00",
                category,
                summary,
                name,
                idn,
                SEX_ZH[child.sex],
                birth.isoformat(),
                hh.address,
                hh.village.code,
                reporter,
                g_name,
                g.phone if g is not None else "",
                action,
                "是" if ev.random() < 0.85 else "否",
                closed.isoformat(),
            ]
            malformed = self._malformed(system)
            if malformed:
                row = self._malform_row(row, 1, (4, 5))
            self.incidents.write(row)
            self._map(system, file, record_id, child, "subject", "event", applied, malformed)
            if g is not None and g_name and len(row) > 11 and row[11]:
                self._map(system, file, record_id + "#guardian", g, "guardian", "mention", g_applied)

    # -- education -------------------------------------------------------------------------

    def _contact_phone(self, child: Person) -> str:
        for p in (child.guardian, child.mother, child.father):
            if p is not None and p.phone and not p.deceased:
                return p.phone
        return ""

    def _student_number(self, id_number: str, birth: date) -> str:
        number = "G" + id_number if id_number else ""
        if not number or number in self._student_numbers:
            number = f"L{birth:%Y%m%d}{self._next('student_l'):05d}"
        self._student_numbers.add(number)
        return number

    def _education(self, child: Person, f: ChildFacts) -> None:
        enr = f.enrolment
        system = "education"
        if f.not_enrolled_dropout is not None:
            self._dropout(child, None, f.not_enrolled_dropout, "", f)
        if enr is None:
            return
        if self.noise.roll(system, "absent_from_source"):
            return
        xlsx = enr.school.kind in ("middle", "high")
        file = "education/students_batch2.xlsx" if xlsx else "education/students_batch1.csv"
        applied: list[str] = []
        name = self.noise.name(system, child.name, applied)
        idn = self.noise.id_number(system, child.id_number, applied)
        birth = self.noise.date(system, child.birth, applied)
        address = self.noise.address(
            system, child.household.address, self._stale_address(child.household), applied
        )
        flag = self.noise.flag(system, bool(f.left_behind), applied)
        student_no = self._student_number(idn, birth)
        row: list[Any] = [
            student_no,
            idn,
            name,
            SEX_ZH[child.sex],
            birth if xlsx else birth.isoformat(),
            child.ethnicity,
            enr.school.code,
            enr.school.name,
            vocab.GRADE_NAMES[enr.grade],
            f"{enr.class_no}班",
            "是" if enr.boarding else "否",
            "是" if flag else "否",
            self._contact_phone(child),
            address,
            enr.status,
            enr.start,
        ]
        malformed = self._malformed(system)
        if malformed:
            row = self._malform_row(row, 4, (2, 1))
        (self.students2 if xlsx else self.students1).write(row)
        self._map(system, file, student_no, child, "subject", "person", applied, malformed)
        self._attendance(child, enr, student_no, bool(f.left_behind))
        if enr.dropout is not None:
            self._dropout(child, enr, enr.dropout, student_no, f)

    def _attendance(self, child: Person, enr: Enrolment, student_no: str, lb: bool) -> None:
        if enr.grade < 1:
            return
        ev = self.detail
        system = "education"
        file = "education/attendance.csv"
        records: list[tuple[str, int]] = []
        if ev.random() < (0.09 if lb else 0.04):
            records += [("旷课", ev.randint(1, 7)) for _ in range(ev.randint(1, 3))]
        if ev.random() < 0.08:
            records.append((ev.choice(("病假", "事假")), ev.randint(1, 5)))
        for kind, days in records:
            start = self.as_of - timedelta(days=ev.randint(1, 300))
            if start.month in (7, 8):
                start = start.replace(month=6, day=min(start.day, 30))
            record_id = f"KQ{self._next('attendance'):08d}"
            applied: list[str] = []
            name = self.noise.name(system, child.name, applied)
            row: list[Any] = [
                record_id,
                student_no,
                name,
                enr.school.code,
                vocab.GRADE_NAMES[enr.grade],
                f"{enr.class_no}班",
                start.isoformat(),
                days,
                kind,
                "是" if kind == "旷课" and ev.random() < 0.6 else "否",
                min(self.as_of, start + timedelta(days=days)).isoformat(),
            ]
            malformed = self._malformed(system)
            if malformed:
                row = self._malform_row(row, 6, (1, 2))
            self.attendance.write(row)
            self._map(system, file, record_id, child, "subject", "event", applied, malformed)

    def _dropout(
        self,
        child: Person,
        enr: Enrolment | None,
        record: tuple[date, str, str, date | None],
        student_no: str,
        f: ChildFacts,
    ) -> None:
        system = "education"
        file = "education/dropouts.csv"
        day, reason, outcome, report = record
        applied: list[str] = []
        name = self.noise.name(system, child.name, applied)
        idn = self.noise.id_number(system, child.id_number, applied)
        birth = self.noise.date(system, child.birth, applied)
        if enr is None:
            # Left before this school year: the last school and grade it was known at.
            t = child.household.village.township
            grade = max(1, min(9, self.school_year - child.birth.year - 6))
            school = t.primary if grade <= 6 else t.middle
            if school is None:
                raise ValueError("the county has no school for this grade")
            student_no = self._student_number(idn, birth)
        else:
            grade, school = enr.grade, enr.school
        record_id = f"CX{self._next('dropout'):06d}"
        row: list[Any] = [
            record_id,
            student_no,
            idn,
            name,
            SEX_ZH[child.sex],
            birth.isoformat(),
            school.code,
            vocab.GRADE_NAMES[grade],
            day.isoformat(),
            reason,
            outcome,
            _iso(report),
            self._contact_phone(child),
        ]
        malformed = self._malformed(system)
        if malformed:
            row = self._malform_row(row, 8, (3, 2))
        self.dropouts.write(row)
        self._map(system, file, record_id, child, "subject", "event", applied, malformed)

    # -- health -----------------------------------------------------------------------------

    def _health(self, child: Person, f: ChildFacts) -> None:
        if not f.health:
            return
        if self.noise.roll("health", "absent_from_source"):
            return
        for facility in ("thc", "cph"):
            events = [e for e in f.health if e.facility == facility]
            if not events:
                continue
            sink = self.hospital if facility == "cph" else self.centre
            if sink is None:
                raise RuntimeError("a health event outside any township")
            file_stem = sink.stem
            self._patient_bundle(child, f, events, sink, file_stem)
            sink.end_group()

    def _patient_bundle(
        self, child: Person, f: ChildFacts, events: list[HealthEvent], sink: BundleSink, stem: str
    ) -> None:
        system = "health"
        noise = self.noise
        hh = child.household
        file = f"health/{sink.current_name()}"
        pid = self._uuid()
        applied: list[str] = []
        name = noise.name(system, child.name, applied)
        idn = noise.id_number(system, child.id_number, applied)
        birth = noise.date(system, child.birth, applied)
        address = noise.address(system, hh.address, self._stale_address(hh), applied)
        last = max(events, key=lambda e: (e.day, e.minute))
        identifiers: list[dict[str, Any]] = []
        if idn:
            identifiers.append({"use": "official", "system": OID_ID_CARD, "value": idn})
        if stem.startswith("thc"):
            identifiers.append(
                {
                    "use": "usual",
                    "system": OID_HEALTH_RECORD,
                    "value": f"{hh.village.township.code}{self._next('health_record'):08d}",
                }
            )
        else:
            identifiers.append(
                {"use": "usual", "system": OID_OUTPATIENT, "value": f"MZ{self._next('outpatient'):09d}"}
            )
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "meta": {"lastUpdated": _dt(last.day, last.minute + 90)},
            "identifier": identifiers,
            "name": [{"use": "official", "text": name, "family": name[0], "given": [name[1:]]}],
            "gender": GENDER_FHIR[child.sex],
            "birthDate": birth.isoformat(),
            "address": [
                {
                    "use": "home",
                    "text": address,
                    "state": vocab.PROVINCE_NAME,
                    "district": vocab.COUNTY_NAME,
                    "country": "CN",
                }
            ],
        }
        malformed = self._malformed(system)
        if malformed:
            if noise.rng.random() < 0.5:
                patient["birthDate"] = f"{child.birth.year}-02-30"
            else:
                del patient["name"]
        sink.add(f"urn:uuid:{pid}", patient)
        self._map(system, file, f"Patient/{pid}", child, "subject", "person", applied, malformed)

        # The accompanying adult: the guardian, or for a baby its mother.
        adult, relation = child.guardian, child.guardian_relation
        if child.age(self.as_of) < 1 and child.mother is not None and child.mother.can_care:
            adult, relation = child.mother, "母亲"
        if adult is not None and relation:
            rid = self._uuid()
            r_applied: list[str] = []
            r_name = noise.name(system, adult.name, r_applied)
            r_idn = noise.id_number(system, adult.id_number, r_applied)
            code, display = RELATION_ROLE_CODE.get(relation, ("FAMMEMB", "family member"))
            related: dict[str, Any] = {
                "resourceType": "RelatedPerson",
                "id": rid,
                "meta": {"lastUpdated": patient["meta"]["lastUpdated"]},
                "patient": {"reference": f"urn:uuid:{pid}"},
                "relationship": [
                    {"coding": [{"system": ROLE_CODE, "code": code, "display": display}], "text": relation}
                ],
                "name": [{"text": r_name}],
                "gender": GENDER_FHIR[adult.sex],
            }
            if r_idn:
                related["identifier"] = [{"system": OID_ID_CARD, "value": r_idn}]
            if adult.phone:
                related["telecom"] = [{"system": "phone", "value": adult.phone, "use": "mobile"}]
            r_malformed = self._malformed(system)
            if r_malformed:
                del related["patient"]
            sink.add(f"urn:uuid:{rid}", related)
            self._map(
                system, file, f"RelatedPerson/{rid}", adult, "related", "person", r_applied, r_malformed
            )

        centre = hh.village.township.health_centre
        if centre is None:
            raise ValueError(f"township {hh.village.township.code} has no health centre")
        facility = self.county.hospital.name if stem.startswith("cph") else centre.name
        for e in events:
            self._encounter(child, f, e, pid, sink, file, facility)

    def _encounter(
        self,
        child: Person,
        f: ChildFacts,
        e: HealthEvent,
        pid: str,
        sink: BundleSink,
        file: str,
        facility: str,
    ) -> None:
        subject = {"reference": f"urn:uuid:{pid}"}
        eid = self._uuid()
        klass = {
            "checkup": "AMB",
            "illness": "AMB",
            "disability": "AMB",
            "injury": "EMER",
            "maltreatment": "EMER",
            "serious": "IMP",
        }[e.kind]
        type_text = {
            "checkup": "儿童健康检查",
            "illness": "门诊",
            "disability": "残疾评定",
            "injury": "急诊",
            "maltreatment": "急诊",
            "serious": "住院",
        }[e.kind]
        start = _dt(e.day, e.minute)
        end_minutes = e.minute + (
            60 * 24 * self.detail.randint(3, 20) if klass == "IMP" else self.detail.randint(15, 180)
        )
        updated = _dt(e.day, end_minutes + 30)
        encounter: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": eid,
            "meta": {"lastUpdated": updated},
            "status": "finished",
            "class": {
                "system": ACT_CODE,
                "code": klass,
                "display": {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}[klass],
            },
            "type": [{"text": type_text}],
            "subject": subject,
            "period": {"start": start, "end": _dt(e.day, end_minutes)},
            "serviceProvider": {"display": facility},
        }
        if e.kind == "checkup":
            code, display = vocab.ROUTINE_CHECKUP
            encounter["reasonCode"] = [{"coding": [{"system": ICD10, "code": code, "display": display}]}]
        self._event_resource(child, encounter, sink, file)
        for code, display in e.conditions:
            cid = self._uuid()
            active = e.kind in ("serious", "disability") or (e.day > self.as_of - timedelta(days=14))
            condition: dict[str, Any] = {
                "resourceType": "Condition",
                "id": cid,
                "meta": {"lastUpdated": updated},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active" if active else "resolved",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "encounter-diagnosis",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display},
                "subject": subject,
                "encounter": {"reference": f"urn:uuid:{eid}"},
                "onsetDateTime": start,
                "recordedDate": start,
            }
            self._event_resource(child, condition, sink, file)
        if e.measure:
            height, weight = _growth(
                child, e.day, f.height_z, f.weight_z, any(c[0] == "E44.1" for c in e.conditions)
            )
            for loinc, display, value, unit in (
                ("8302-2", "Body height", height, "cm"),
                ("29463-7", "Body weight", weight, "kg"),
            ):
                oid = self._uuid()
                observation: dict[str, Any] = {
                    "resourceType": "Observation",
                    "id": oid,
                    "meta": {"lastUpdated": updated},
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                    "subject": subject,
                    "encounter": {"reference": f"urn:uuid:{eid}"},
                    "effectiveDateTime": start,
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                }
                self._event_resource(child, observation, sink, file)

    def _event_resource(self, child: Person, resource: dict[str, Any], sink: BundleSink, file: str) -> None:
        malformed = self._malformed("health")
        if malformed:
            del resource["subject"]
        sink.add(f"urn:uuid:{resource['id']}", resource)
        self._map(
            "health",
            file,
            f"{resource['resourceType']}/{resource['id']}",
            child,
            "subject",
            "event",
            [],
            malformed,
        )

    # -- survey -----------------------------------------------------------------------------

    def _survey(
        self,
        village: Village,
        households: list[Household],
        minors: list[Person],
        facts: dict[str, ChildFacts],
        as_xlsx: bool,
    ) -> None:
        ev = self.detail
        system = "survey"
        file = f"survey/{village.code}.{'xlsx' if as_xlsx else 'json'}"
        helpers = [p for hh in households for p in hh.members if p.can_care and 30 <= p.age(self.as_of) <= 60]
        supervisor = self.detail.choice(helpers).name if helpers else "村委会"
        forms: list[dict[str, Any]] = []
        for child in minors:
            f = facts[child.key]
            parent_issue = any(p is None or not p.can_care for p in (child.father, child.mother))
            focus = bool(f.left_behind or f.distress or parent_issue)
            if ev.random() > (0.96 if focus else 0.55):
                continue
            season = ev.random()
            visit = self._visit_day(season)
            if self.noise.roll(system, "absent_from_source"):
                continue
            copies = 2 if self.noise.roll(system, "duplicate_in_survey") else 1
            for copy in range(copies):
                n = len(forms) + 1
                form_id = f"{village.code}-{n:04d}"
                day = visit if copy == 0 else min(self.as_of, visit + timedelta(days=ev.randint(0, 20)))
                form, mentions, applied, malformed = self._form(village, child, f, form_id, day, supervisor)
                if copy:
                    applied.append("duplicate_in_survey")
                forms.append(form)
                self._map(system, file, form_id, child, "subject", "person", applied, malformed)
                for role, person, m_applied in mentions:
                    self._map(system, file, f"{form_id}#{role}", person, role, "mention", m_applied)
        path = self.out / file
        if as_xlsx:
            sink = XlsxSink(
                path, "排查表", SURVEY_XLSX_HEADER, title=f"{village.name}农村留守儿童和困境儿童排查表"
            )
            for form in forms:
                sink.write(_flatten_form(form))
            sink.close()
        else:
            write_json_list(path, forms)
        self.counts[file] = len(forms)

    def _visit_day(self, season: float) -> date:
        """Screening visits cluster in the winter and summer holidays (寒暑假排查)."""
        ev = self.detail
        y = self.as_of.year
        if season < 0.4:
            day = date(y, 7, 10) + timedelta(days=ev.randint(0, 50))
        elif season < 0.7:
            day = date(y, 1, 15) + timedelta(days=ev.randint(0, 40))
        else:
            day = self.as_of - timedelta(days=ev.randint(0, 250))
        return min(day, self.as_of)

    def _form(
        self, village: Village, child: Person, f: ChildFacts, form_id: str, day: date, supervisor: str
    ) -> tuple[dict[str, Any], list[tuple[str, Person, list[str]]], list[str], bool]:
        system = "survey"
        noise = self.noise
        hh = child.household
        applied: list[str] = []
        enr = f.enrolment
        if enr is not None:
            school, grade = enr.school.name, vocab.GRADE_NAMES[enr.grade]
            if enr.status == "辍学":
                grade += "（辍学）"
        else:
            school, grade = ("", "辍学") if f.not_enrolled_dropout else ("", "未入学")
        health = "良好"
        if child.disability:
            kind, level = child.disability.split("-")
            health = f"残疾（{DISABILITY_ZH[kind]}{vocab.DISABILITY_LEVELS[int(level) - 1]}）"
        elif child.serious_illness:
            health = f"重病（{SERIOUS_ZH[child.serious_illness]}）"
        child_part = {
            "name": noise.name(system, child.name, applied),
            "id_number": noise.id_number(system, child.id_number, applied),
            "sex": SEX_ZH[child.sex],
            "birth_date": noise.date(system, child.birth, applied).isoformat(),
            "address": noise.address(system, hh.address, self._stale_address(hh), applied),
            "hukou_type": HUKOU_ZH[hh.hukou_type],
            "school": school,
            "grade": grade,
            "health": health,
        }
        mentions: list[tuple[str, Person, list[str]]] = []

        def adult(role: str, p: Person | None) -> dict[str, Any] | None:
            if p is None:
                return None
            m_applied: list[str] = []
            if p.deceased:
                status = "死亡"
            elif p.missing:
                status = "失联"
            elif p.incapacity_reason == vocab.INCAPACITY_PRISON:
                status = "服刑"
            elif p.works_away:
                status = "外出务工"
            else:
                status = "在家"
            part = {
                "name": noise.name(system, p.name, m_applied),
                "id_number": noise.id_number(system, p.id_number, m_applied),
                "status": status,
                "work_place": p.work_destination if p.works_away else "",
                "phone": p.phone,
                "capacity": "有" if p.can_care or (p.works_away and p.capable) else "无",
                "incapacity_reason": p.incapacity_reason,
            }
            mentions.append((role, p, m_applied))
            return part

        father = adult("father", child.father)
        mother = adult("mother", child.mother)
        g = child.guardian
        guardian: dict[str, Any] | None = None
        if g is not None:
            g_applied: list[str] = []
            a = child.agreement
            guardian = {
                "name": noise.name(system, g.name, g_applied),
                "relation": child.guardian_relation,
                "id_number": noise.id_number(system, g.id_number, g_applied),
                "phone": g.phone,
                "age": g.age(day),
                "capacity": "有" if g.capable else "无",
                "entrusted": child.guardian_kind == "entrusted",
                "agreement": {"valid": "有效", "expired": "已过期", "missing": "未签订"}[a.status]
                if a
                else "",
                "agreement_signed_on": _iso(a.signed_on) if a else "",
                "agreement_valid_to": _iso(a.valid_to) if a else "",
            }
            mentions.append(("guardian", g, g_applied))
        lb = noise.flag(system, bool(f.left_behind), applied)
        distress = [DISTRESS_ZH[c] for c in f.distress]
        category = (
            ("留守困境儿童" if distress else "留守儿童") if lb else ("困境儿童" if distress else "一般儿童")
        )
        findings: list[str] = []
        if g is None and child.age(day) < 16:
            findings.append("无人监护")
            if not any(p is not None and p.present for p in (child.father, child.mother)):
                findings.append("独居")
        if child.agreement is not None and child.agreement.status == "missing":
            findings.append("未签订委托监护协议")
        if child.agreement is not None and child.agreement.status == "expired":
            findings.append("委托监护协议过期")
        if (enr is not None and enr.status == "辍学") or f.not_enrolled_dropout:
            findings.append("辍学")
        if g is not None and g.age(day) >= 75:
            findings.append("监护人年老体弱")
        form: dict[str, Any] = {
            "form_id": form_id,
            "village_code": village.code,
            "village": village.name,
            "township": village.township.name,
            "visit_date": day.isoformat(),
            "supervisor": supervisor,
            "child": child_part,
            "father": father,
            "mother": mother,
            "guardian": guardian,
            "child_category": category,
            "distress_types": distress,
            "family_assistance": ASSISTANCE_ZH[hh.assistance],
            "findings": findings or ["无"],
            "notes": "",
        }
        malformed = self._malformed(system)
        if malformed:
            if noise.rng.random() < 0.5:
                del form["child"]["name"]
                form["child"]["id_number"] = ""
            else:
                form["visit_date"] = _bad_date(day, noise.rng)
        return form, mentions, applied, malformed

    # -- finish -----------------------------------------------------------------------------

    def close(self) -> dict[str, int]:
        for sink in (self.hukou, self.incidents, self.students1, self.attendance, self.dropouts):
            sink.close()
        self.students2.close()
        self.hospital.close()
        for sink in (self.t_persons, self.t_households, self.t_rels, self.t_records):
            sink.close()
        counts = {
            "police/hukou.csv": self.hukou.rows,
            "police/incidents.csv": self.incidents.rows,
            "education/students_batch1.csv": self.students1.rows,
            "education/students_batch2.xlsx": self.students2.rows,
            "education/attendance.csv": self.attendance.rows,
            "education/dropouts.csv": self.dropouts.rows,
        }
        for path, entries in [*self.centre_files, *self.hospital.files]:
            counts[f"health/{path.name}"] = entries
        counts.update(self.counts)
        counts.update(
            {
                "truth/persons.csv": self.t_persons.rows,
                "truth/households.csv": self.t_households.rows,
                "truth/relationships.csv": self.t_rels.rows,
                "truth/source_records.csv": self.t_records.rows,
            }
        )
        return dict(sorted(counts.items()))


def _parents_left(child: Person) -> date | None:
    """When an arrangement without paper began: when the last carer left or died."""
    days = [
        d
        for p in (child.father, child.mother)
        if p is not None
        for d in (p.work_since, p.death_date)
        if d is not None
    ]
    return max(days) if days else None


def _growth(
    child: Person, day: date, height_z: float, weight_z: float, underweight: bool
) -> tuple[float, float]:
    age = max(0.0, _age_on(child, day))
    table = vocab.GROWTH
    for (a0, h0, w0), (a1, h1, w1) in pairwise(table):
        if a0 <= age <= a1:
            t = (age - a0) / (a1 - a0)
            h, w = h0 + t * (h1 - h0), w0 + t * (w1 - w0)
            break
    else:
        h, w = table[-1][1], table[-1][2]
    if child.sex == "M" and age > 12:
        h += min(6.0, (age - 12) * 1.5)
        w += min(5.0, (age - 12) * 1.2)
    h *= 1 + 0.04 * height_z
    w *= (1 + 0.11 * weight_z) * (0.85 if underweight else 1.0)
    return round(h, 1), round(w, 1)


def _flatten_form(form: dict[str, Any]) -> list[Any]:
    """A survey form as one spreadsheet row; dates as hand-typed Chinese text."""
    c = form["child"]
    empty: dict[str, Any] = {}
    fa = form["father"] or empty
    mo = form["mother"] or empty
    g = form["guardian"] or empty

    def cn(text: str) -> str:
        try:
            return _cn(date.fromisoformat(text)) if text else ""
        except ValueError:
            return text

    return [
        form["form_id"],
        form["village_code"],
        form["village"],
        cn(form["visit_date"]),
        form["supervisor"],
        c.get("name", ""),
        c["id_number"],
        c["sex"],
        cn(c["birth_date"]),
        c["address"],
        c["hukou_type"],
        c["school"],
        c["grade"],
        c["health"],
        fa.get("name", ""),
        fa.get("id_number", ""),
        fa.get("status", ""),
        fa.get("work_place", ""),
        fa.get("phone", ""),
        mo.get("name", ""),
        mo.get("id_number", ""),
        mo.get("status", ""),
        mo.get("work_place", ""),
        mo.get("phone", ""),
        g.get("name", ""),
        g.get("relation", ""),
        g.get("id_number", ""),
        g.get("phone", ""),
        g.get("age", ""),
        g.get("capacity", ""),
        ("是" if g.get("entrusted") else "否") if g else "",
        g.get("agreement", ""),
        cn(g.get("agreement_signed_on", "")),
        cn(g.get("agreement_valid_to", "")),
        form["child_category"],
        "、".join(form["distress_types"]),
        form["family_assistance"],
        "、".join(form["findings"]),
        form["notes"],
    ]
