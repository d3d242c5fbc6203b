"""The education bureau's exports: student registry (学籍, CSV with BOM and XLSX), attendance, dropouts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from connectors.synthetic import vocab
from connectors.synthetic.emitter_base import EmitterBase
from connectors.synthetic.facts import ChildFacts, Enrolment
from connectors.synthetic.population import (
    Person,
)
from connectors.synthetic.values import (
    SEX_ZH,
    iso_date,
)


class EducationWriter(EmitterBase):
    """Writes a child's registry row, attendance and dropout records."""

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
            iso_date(report),
            self._contact_phone(child),
        ]
        malformed = self._malformed(system)
        if malformed:
            row = self._malform_row(row, 8, (3, 2))
        self.dropouts.write(row)
        self._map(system, file, record_id, child, "subject", "event", applied, malformed)
