"""The facts drawn about each child beyond the household: enrolment, health and incident events.

Drawn from the events stream (``ev``) so that noise never shifts a true fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from connectors.synthetic import vocab
from connectors.synthetic.emitter_base import EmitterBase
from connectors.synthetic.geography import School
from connectors.synthetic.population import (
    Person,
    distress_categories,
    left_behind_reason,
)
from connectors.synthetic.values import (
    DISABILITY_ICD,
    DISABILITY_ZH,
    SERIOUS_ZH,
)


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


class FactDraws(EmitterBase):
    """Draws a child's facts (school, health, incidents) once, before any source is written."""

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
