"""The truth: true persons, households and relationships, written beside the sources."""

from __future__ import annotations

from datetime import date

from connectors.synthetic import vocab
from connectors.synthetic.emitter_base import EmitterBase
from connectors.synthetic.facts import ChildFacts
from connectors.synthetic.population import (
    Household,
    Person,
)
from connectors.synthetic.values import (
    iso_date,
)


class TruthWriter(EmitterBase):
    """Writes the true persons, households and relationships of a household."""

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
                    iso_date(p.death_date),
                    iso_date(p.moved_in),
                    p.moved_in_from,
                    iso_date(p.moved_out),
                    p.moved_out_to,
                    int(p.retired_region),
                    p.phone,
                    int(p.works_away),
                    p.work_destination,
                    iso_date(p.work_since),
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
                    (
                        p.father.key,
                        "parent_of",
                        p.key,
                        "father",
                        "父亲",
                        iso_date(p.birth),
                        "",
                        "",
                        "",
                        "",
                        "",
                    )
                )
            if p.mother is not None:
                self.t_rels.write(
                    (
                        p.mother.key,
                        "parent_of",
                        p.key,
                        "mother",
                        "母亲",
                        iso_date(p.birth),
                        "",
                        "",
                        "",
                        "",
                        "",
                    )
                )
            if f is None:
                continue
            for parent, rel in ((p.father, "父亲"), (p.mother, "母亲")):
                if parent is not None and not parent.deceased and not parent.missing:
                    self.t_rels.write(
                        (
                            parent.key,
                            "guardian_of",
                            p.key,
                            "legal",
                            rel,
                            iso_date(p.birth),
                            "",
                            "",
                            "",
                            "",
                            "",
                        )
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
                        iso_date(since),
                        iso_date(a.valid_to) if a else "",
                        a.id if a else "",
                        a.status if a else "",
                        iso_date(a.signed_on) if a else "",
                        iso_date(a.valid_to) if a else "",
                    )
                )


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
