"""``generate``: one synthetic county's sources and ground truth, reproducible from a seed.

Why synthetic: real child-protection data cannot leave the agencies, yet connectors,
validators and entity resolution need county-scale data with known answers and the
errors real exports have. The same seed always yields the same bytes, so a failing
benchmark can be rerun exactly.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from connectors.synthetic import vocab
from connectors.synthetic.geography import County, allocate_persons, build_county, division_rows
from connectors.synthetic.noise import NOISE_KINDS, Noise, NoiseRates
from connectors.synthetic.population import DEFAULT_AS_OF, PopulationBuilder
from connectors.synthetic.sinks import CsvSink
from connectors.synthetic.sources import Emitter

# The folders generate() owns inside out_dir; only these are cleared before writing.
OUTPUT_DIRS: tuple[str, ...] = ("reference", "police", "education", "health", "survey", "truth")
SYSTEMS: tuple[str, ...] = ("police_hukou", "police_incident", "education", "health", "survey")


@dataclass
class GenerationSummary:
    """What a run produced: counts per file, per noise kind, and population totals."""

    out_dir: Path
    seed: int
    persons: int
    as_of: date
    townships: int
    villages: int
    schools: int
    households: int
    children: int  # living, under 18
    left_behind: int
    in_distress: int
    files: dict[str, int]  # path relative to out_dir -> records (rows, forms, bundle entries)
    source_records: int  # rows of truth/source_records.csv (every source record and mention)
    noise: dict[str, int]  # kind -> applications, all systems
    noise_by_system: dict[str, dict[str, int]]
    noise_eligible_by_system: dict[str, dict[str, int]]
    rates: NoiseRates = field(default_factory=NoiseRates)

    def noise_rate(self, kind: str, system: str | None = None) -> float:
        """Realised rate: applications over opportunities (0.0 where there were none)."""
        systems = [system] if system else list(self.noise_by_system)
        applied = sum(self.noise_by_system.get(s, {}).get(kind, 0) for s in systems)
        eligible = sum(self.noise_eligible_by_system.get(s, {}).get(kind, 0) for s in systems)
        return applied / eligible if eligible else 0.0

    def records_by_system(self) -> dict[str, int]:
        """Source records (not truth rows, not reference files) grouped by source folder."""
        groups: dict[str, int] = {}
        for path, n in self.files.items():
            folder = path.split("/", 1)[0]
            if folder in ("police", "education", "health", "survey"):
                groups[folder] = groups.get(folder, 0) + n
        return groups

    def describe(self) -> str:
        """One paragraph for a person: what was made, how big, how noisy."""
        by = self.records_by_system()
        total = sum(by.values())
        noisy = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.noise.items() if v)
        return (
            f"Synthetic county {vocab.COUNTY_NAME} ({vocab.COUNTY_CODE6}), seed {self.seed}, as of "
            f"{self.as_of.isoformat()}: {self.persons:,} people in {self.households:,} households across "
            f"{self.townships} townships and {self.villages} villages, with {self.schools} schools. "
            f"{self.children:,} living children under 18, of whom {self.left_behind:,} are left-behind "
            f"and {self.in_distress:,} in distress. {total:,} source records were written "
            f"(police {by.get('police', 0):,}, education {by.get('education', 0):,}, health "
            f"{by.get('health', 0):,}, survey {by.get('survey', 0):,}) in "
            f"{sum(1 for p in self.files if not p.startswith('truth/'))} files, every one mapped to its true "
            f"person in truth/source_records.csv ({self.source_records:,} rows including mentions). "
            f"Injected noise: {noisy or 'none'}."
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["as_of"] = self.as_of.isoformat()
        return data


def generate(
    out_dir: Path,
    persons: int,
    seed: int,
    *,
    noise: NoiseRates | None = None,
    as_of: date = DEFAULT_AS_OF,
    xlsx_survey_share: float = 0.08,
    bundle_max_entries: int = 50_000,
) -> GenerationSummary:
    """Generate one county of ``persons`` people (adults and children) into ``out_dir``.

    Deterministic: the same arguments give byte-identical files. The generator's own
    sub-folders of ``out_dir`` (see :data:`OUTPUT_DIRS`) are replaced; nothing else there
    is touched. ``as_of`` is the day the exports are taken; ages and flags are as of it.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    rates = noise if noise is not None else NoiseRates()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_DIRS:
        shutil.rmtree(out_dir / name, ignore_errors=True)

    # Independent streams: layout, people, true events, untracked details, noise, ids.
    geo_rng = random.Random(f"{seed}:geography")
    county = build_county(geo_rng, persons)
    allocate_persons(county, persons)
    villages = county.villages
    n_xlsx = max(1, round(len(villages) * xlsx_survey_share))
    xlsx_villages = {v.code for v in geo_rng.sample([v for v in villages if not v.urban], n_xlsx)}
    _write_reference(out_dir, county)

    builder = PopulationBuilder(random.Random(f"{seed}:population"), as_of)
    noise_applier = Noise(rates, random.Random(f"{seed}:noise"))
    emitter = Emitter(
        out_dir,
        county,
        as_of,
        noise_applier,
        events_rng=random.Random(f"{seed}:events"),
        detail_rng=random.Random(f"{seed}:detail"),
        ids_rng=random.Random(f"{seed}:ids"),
        bundle_max_entries=bundle_max_entries,
    )
    for township in county.townships:
        emitter.township_start(township)
        for village in township.villages:
            emitter.village(village, builder.village(village), village.code in xlsx_villages)
        emitter.township_end(township)
    files = emitter.close()

    applied, eligible = noise_applier.counts()
    totals = {k: sum(applied[s][k] for s in applied) for k in NOISE_KINDS}
    summary = GenerationSummary(
        out_dir=out_dir,
        seed=seed,
        persons=persons,
        as_of=as_of,
        townships=len(county.townships),
        villages=len(villages),
        schools=len(county.schools),
        households=emitter.households,
        children=emitter.children,
        left_behind=emitter.left_behind,
        in_distress=emitter.in_distress,
        files=files,
        source_records=emitter.source_records,
        noise=totals,
        noise_by_system=applied,
        noise_eligible_by_system=eligible,
        rates=rates,
    )
    manifest = summary.as_json()
    manifest.pop("out_dir")
    (out_dir / "truth" / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return summary


def _write_reference(out_dir: Path, county: County) -> None:
    """Division table (with retired codes), schools and health facilities."""
    ref = out_dir / "reference"
    rows = division_rows(county)
    sink = CsvSink(ref / "divisions.csv", list(rows[0]))
    for row in rows:
        sink.write(list(row.values()))
    sink.close()
    sink = CsvSink(ref / "schools.csv", ("school_code", "name", "kind", "township_code", "grades"))
    for s in county.schools:
        sink.write(
            (
                s.code,
                s.name,
                s.kind,
                s.township.code + "000",
                "|".join(vocab.GRADE_NAMES[g] for g in s.grades),
            )
        )
    sink.close()
    sink = CsvSink(ref / "facilities.csv", ("facility_id", "name", "kind", "division_code"))
    for t in county.townships:
        if t.health_centre is None:
            raise ValueError(f"township {t.code} has no health centre")
        f = t.health_centre
        sink.write((f.id, f.name, f.kind, f.division_code))
    h = county.hospital
    sink.write((h.id, h.name, h.kind, h.division_code))
    sink.close()
