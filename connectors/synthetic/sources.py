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

from connectors.synthetic.education_records import EducationWriter
from connectors.synthetic.facts import ChildFacts, FactDraws
from connectors.synthetic.geography import Township, Village
from connectors.synthetic.health_records import HealthWriter
from connectors.synthetic.police_records import PoliceWriter
from connectors.synthetic.population import (
    Household,
    Person,
)
from connectors.synthetic.sinks import BundleSink
from connectors.synthetic.survey_records import SurveyWriter
from connectors.synthetic.truth import TruthWriter


class Emitter(FactDraws, TruthWriter, PoliceWriter, EducationWriter, HealthWriter, SurveyWriter):
    """Writes every source and the truth, one village at a time."""

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
