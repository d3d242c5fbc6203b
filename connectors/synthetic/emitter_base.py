"""The state the per-format writers share: output sinks, counters, the truth's record map, noise helpers."""

from __future__ import annotations

import random
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from connectors.sources.education import ATTENDANCE_HEADER, DROPOUT_HEADER, STUDENT_HEADER
from connectors.sources.police import HUKOU_HEADER, INCIDENT_HEADER
from connectors.synthetic import vocab
from connectors.synthetic.geography import County
from connectors.synthetic.noise import Noise
from connectors.synthetic.population import (
    Household,
    Person,
)
from connectors.synthetic.sinks import BundleSink, CsvSink, XlsxSink
from connectors.synthetic.truth_headers import (
    TRUTH_HOUSEHOLD_HEADER,
    TRUTH_PERSON_HEADER,
    TRUTH_RECORD_HEADER,
    TRUTH_REL_HEADER,
)
from connectors.synthetic.values import (
    bad_date,
    fhir_datetime,
)


class EmitterBase:
    """The output files of every source and of the truth, and the bookkeeping every writer shares."""

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
        self.timestamp = fhir_datetime(as_of, 18 * 60)
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
            row[date_idx] = bad_date(d, rng)
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
