"""The public-security exports: the household register (户籍, GB18030) and child-related incidents (警情)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connectors.synthetic import vocab
from connectors.synthetic.emitter_base import EmitterBase
from connectors.synthetic.facts import ChildFacts
from connectors.synthetic.population import (
    Household,
    Person,
)
from connectors.synthetic.values import (
    HUKOU_ZH,
    SEX_ZH,
    compact_date,
)


class PoliceWriter(EmitterBase):
    """Writes a household's register rows and a child's incidents."""

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
                compact_date(p.birth),
                p.relation,
                HUKOU_ZH[hh.hukou_type],
                hh.address,
                hh.village.code,
                compact_date(p.moved_in),
                p.moved_in_from,
                compact_date(p.moved_out),
                p.moved_out_to,
                compact_date(p.death_date),
                state,
                compact_date(changed),
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
