"""The village child supervisors' screening forms: one JSON file per village, a few villages as XLSX."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from connectors.sources.survey import SURVEY_XLSX_HEADER
from connectors.synthetic import vocab
from connectors.synthetic.emitter_base import EmitterBase
from connectors.synthetic.facts import ChildFacts
from connectors.synthetic.geography import Village
from connectors.synthetic.population import (
    Household,
    Person,
)
from connectors.synthetic.sinks import XlsxSink, write_json_list
from connectors.synthetic.values import (
    ASSISTANCE_ZH,
    DISABILITY_ZH,
    DISTRESS_ZH,
    HUKOU_ZH,
    SERIOUS_ZH,
    SEX_ZH,
    bad_date,
    cn_date,
    iso_date,
)


class SurveyWriter(EmitterBase):
    """Writes a village's screening forms."""

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
                "agreement_signed_on": iso_date(a.signed_on) if a else "",
                "agreement_valid_to": iso_date(a.valid_to) if a else "",
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
                form["visit_date"] = bad_date(day, noise.rng)
        return form, mentions, applied, malformed


def _flatten_form(form: dict[str, Any]) -> list[Any]:
    """A survey form as one spreadsheet row; dates as hand-typed Chinese text."""
    c = form["child"]
    empty: dict[str, Any] = {}
    fa = form["father"] or empty
    mo = form["mother"] or empty
    g = form["guardian"] or empty

    def cn(text: str) -> str:
        try:
            return cn_date(date.fromisoformat(text)) if text else ""
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
