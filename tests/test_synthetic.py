"""The synthetic county: reproducible, readable, internally consistent, noisy as configured.

Most tests read the generated files back the way a connector would (pandas, openpyxl,
json) and check them against truth/, so that a mistake in the truth mapping, which would
silently corrupt every entity-resolution score measured against it, fails here first.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from connectors.idnumber import InvalidIdNumber, normalise_id_number, parse_id_number
from connectors.synthetic import (
    DEFAULT_AS_OF,
    NOISE_KINDS,
    OUTPUT_DIRS,
    GenerationSummary,
    NoiseRates,
    generate,
)

PERSONS = 2_000
SEED = 7
OID_ID_CARD = "urn:oid:2.16.156.10011.1.3"


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("county")
    return out, generate(out, PERSONS, SEED)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """High noise rates so realised rates can be compared with a few thousand draws."""
    out = tmp_path_factory.mktemp("noisy")
    rates = NoiseRates(
        homophone_name=0.2,
        typo_name=0.1,
        wrong_id=0.1,
        missing_id=0.15,
        missing_id_survey=0.3,
        missing_id_health=0.25,
        id_format=0.2,
        swapped_date=0.3,
        stale_address=0.2,
        stale_flag=0.2,
        duplicate_in_survey=0.15,
        absent_from_source=0.1,
        malformed_row=0.05,
    )
    return out, generate(out, 3_000, SEED, noise=rates)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _truth(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "truth" / "persons.csv", dtype=str, keep_default_na=False).set_index(
        "person_key"
    )


def _records(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "truth" / "source_records.csv", dtype=str, keep_default_na=False)


# -- reading the sources back ------------------------------------------------------------


def _norm_date(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = "" if value is None else str(value)
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if "年" in text and "月" in text and text.endswith("日"):
        y, rest = text.split("年")
        m, d = rest[:-1].split("月")
        return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
    return text


def _ident(name: Any, id_number: Any, birth: Any = None) -> dict[str, Any]:
    """A record's identity fields; ``None`` where the format has no such field."""
    return {
        "name": "" if name is None else str(name),
        "id_number": None if id_number is None else str(id_number),
        "birth_date": _norm_date(birth) if birth is not None else None,
    }


def read_sources(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every source record (and survey/incident mention) as {name, id_number, birth_date}."""
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def add(system: str, record_id: str, value: dict[str, Any]) -> None:
        assert (system, record_id) not in out, f"duplicate record id {system} {record_id}"
        out[system, record_id] = value

    with open(root / "police" / "hukou.csv", encoding="gb18030", newline="") as f:
        for row in csv.DictReader(f):
            add("police_hukou", row["人员编号"], _ident(row["姓名"], row["公民身份号码"], row["出生日期"]))
    with open(root / "police" / "incidents.csv", encoding="gb18030", newline="") as f:
        for row in csv.DictReader(f):
            add(
                "police_incident",
                row["警情编号"],
                _ident(row["儿童姓名"], row["儿童身份证号"], row["儿童出生日期"]),
            )
            if row.get("监护人姓名"):
                add("police_incident", row["警情编号"] + "#guardian", _ident(row["监护人姓名"], None))
    for path in ("students_batch1.csv", "dropouts.csv", "attendance.csv"):
        with open(root / "education" / path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                key = row.get("记录号") or row["学籍号"]
                add("education", key, _ident(row["姓名"], row.get("身份证号"), row.get("出生日期")))
    wb = openpyxl.load_workbook(root / "education" / "students_batch2.xlsx", read_only=True)
    rows = wb.active.iter_rows(values_only=True)
    header = next(rows)
    for values in rows:
        row = dict(zip(header, values, strict=False))
        add("education", row["学籍号"], _ident(row["姓名"], row["身份证号"], row["出生日期"]))
    wb.close()
    for path in sorted((root / "health").glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle["entry"]:
            r = entry["resource"]
            ids = [i["value"] for i in r.get("identifier", []) if i["system"] == OID_ID_CARD]
            name = r["name"][0]["text"] if r.get("name") else None
            if r["resourceType"] == "Patient":
                add("health", f"Patient/{r['id']}", _ident(name, ids[0] if ids else "", r.get("birthDate")))
            elif r["resourceType"] == "RelatedPerson":
                add("health", f"RelatedPerson/{r['id']}", _ident(name, ids[0] if ids else ""))
            else:
                add("health", f"{r['resourceType']}/{r['id']}", {"event": True})
    for path in sorted((root / "survey").iterdir()):
        if path.suffix == ".json":
            forms = json.loads(path.read_text(encoding="utf-8"))
        else:
            wb = openpyxl.load_workbook(path, read_only=True)
            rows = wb.active.iter_rows(values_only=True)
            header = next(rows)
            forms = []
            for values in rows:
                row = dict(zip(header, values, strict=False))

                def person(prefix: str, row: dict[str, Any] = row) -> dict[str, Any] | None:
                    name = row[f"{prefix}姓名"]
                    return {"name": name, "id_number": row[f"{prefix}身份证号"] or ""} if name else None

                forms.append(
                    {
                        "form_id": row["表单编号"],
                        "child": {
                            "name": row["儿童姓名"],
                            "id_number": row["儿童身份证号"] or "",
                            "birth_date": _norm_date(row["出生日期"]),
                        },
                        "father": person("父亲"),
                        "mother": person("母亲"),
                        "guardian": person("监护人"),
                    }
                )
        for form in forms:
            c = form["child"]
            add("survey", form["form_id"], _ident(c.get("name"), c.get("id_number"), c.get("birth_date")))
            for role in ("father", "mother", "guardian"):
                if form.get(role):
                    add(
                        "survey",
                        f"{form['form_id']}#{role}",
                        _ident(form[role]["name"], form[role]["id_number"]),
                    )
    return out


# -- tests --------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, 600, 11)
    generate(b, 600, 11)
    generate(c, 600, 12)
    da, db, dc = _digests(a), _digests(b), _digests(c)
    assert da == db
    assert any(p.endswith(".xlsx") for p in da)
    differing = {p for p in da if da[p] != dc.get(p)}
    assert "truth/persons.csv" in differing and "police/hukou.csv" in differing


def test_noise_rates_do_not_change_the_true_population(tmp_path: Path) -> None:
    clean = generate(tmp_path / "clean", 800, 5, noise=NoiseRates.none())
    noisy = generate(tmp_path / "noisy", 800, 5, noise=NoiseRates().scaled(3))
    for name in ("persons.csv", "households.csv", "relationships.csv"):
        assert (tmp_path / "clean" / "truth" / name).read_bytes() == (
            tmp_path / "noisy" / "truth" / name
        ).read_bytes()
    assert sum(clean.noise.values()) == 0
    assert sum(noisy.noise.values()) > 0


def test_regeneration_replaces_only_its_own_folders(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    generate(tmp_path, 300, 1)
    generate(tmp_path, 300, 2)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(OUTPUT_DIRS)


def test_person_count_is_exact_and_summary_matches_truth(county: tuple[Path, GenerationSummary]) -> None:
    root, summary = county
    truth = _truth(root)
    assert len(truth) == PERSONS == summary.persons
    assert truth.index.is_unique and truth["id_number"].is_unique
    children = truth[(truth.is_child == "1")]
    assert len(children) == summary.children
    assert int((truth.left_behind == "1").sum()) == summary.left_behind
    assert int((truth.in_distress != "").sum()) == summary.in_distress
    assert 10 <= summary.townships <= 25
    manifest = json.loads((root / "truth" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["persons"] == PERSONS and manifest["files"] == summary.files
    text = summary.describe()
    assert f"{PERSONS:,} people" in text and "\n" not in text


def test_every_true_id_number_is_valid_and_matches_birth_and_sex(
    county: tuple[Path, GenerationSummary],
) -> None:
    root, _ = county
    truth = _truth(root)
    regions = Counter()
    for key, row in truth.iterrows():
        parsed = parse_id_number(row.id_number, today=DEFAULT_AS_OF)
        assert parsed.birth_date.isoformat() == row.birth_date, key
        assert parsed.sex == row.sex, key
        regions[parsed.region_code] += 1
        if row.id_region_retired == "1":
            assert parsed.region_code in ("512239", "512240")
    assert regions["500248"] > 0 and regions["512239"] > 0
    divisions = pd.read_csv(root / "reference" / "divisions.csv", dtype=str, keep_default_na=False)
    retired = divisions[divisions.status == "retired"].set_index("code")
    assert retired.loc["512239000000", "successor_code"] == "500248000000"
    known = {c[:6] for c in divisions[divisions.level == "county"].code}
    for code in ("512239", "512240"):
        if regions[code]:
            assert code in known


def test_division_codes_are_well_formed(county: tuple[Path, GenerationSummary]) -> None:
    from graph.model import DivisionLevel, division_level, parent_division

    root, _ = county
    divisions = pd.read_csv(root / "reference" / "divisions.csv", dtype=str, keep_default_na=False)
    current = divisions[divisions.status == "current"].set_index("code")
    for code, row in current.iterrows():
        assert division_level(code).value == row.level
        if row.parent_code:
            assert parent_division(code) == row.parent_code
    villages = current[current.level == DivisionLevel.VILLAGE.value]
    truth = _truth(root)
    assert set(truth.village_code) <= set(villages.index)
    schools = pd.read_csv(root / "reference" / "schools.csv", dtype=str)
    assert set(schools.kind) == {"kindergarten", "primary", "middle", "high"}
    assert schools.school_code.str.fullmatch(r"\d{10}").all()


def test_left_behind_flag_follows_the_definition(county: tuple[Path, GenerationSummary]) -> None:
    """Under 16, rural, and both parents away or one away and the other unable."""
    root, _ = county
    truth = _truth(root)

    def away(key: str) -> bool:
        return bool(key) and truth.at[key, "works_away"] == "1" and truth.at[key, "status"] != "deceased"

    def unable(key: str) -> bool:
        if not key:
            return True
        p = truth.loc[key]
        return p.status == "deceased" or p.missing == "1" or p.guardianship_capacity == "0"

    reasons = Counter()
    for key, c in truth[truth.is_child == "1"].iterrows():
        f, m = c.father_key, c.mother_key
        expected = (
            int(c.age) < 16
            and c.hukou_type == "rural"
            and ((away(f) and away(m)) or (away(f) and unable(m)) or (away(m) and unable(f)))
        )
        assert (c.left_behind == "1") == expected, key
        reasons[c.left_behind_reason] += 1
    adults = truth[truth.is_child == "0"]
    assert (adults.left_behind == "0").all()
    assert reasons["both_away"] > 0 and reasons["father_away_mother_unable"] > 0
    # The edge cases the definition turns on occur: 16- and 17-year-olds with both parents
    # away are not left-behind, nor are urban children.
    both_away = truth[(truth.is_child == "1")].apply(
        lambda c: away(c.father_key) and away(c.mother_key), axis=1
    )
    assert ((both_away) & (truth[truth.is_child == "1"].age.astype(int) >= 16)).any()


def test_distress_and_guardianship_facts(county: tuple[Path, GenerationSummary]) -> None:
    root, _ = county
    truth = _truth(root)
    rels = pd.read_csv(root / "truth" / "relationships.csv", dtype=str, keep_default_na=False)
    kids = truth[truth.is_child == "1"]
    for _, c in kids[kids.in_distress.str.contains("orphan")].iterrows():
        assert (
            truth.at[c.father_key, "status"] == "deceased" and truth.at[c.mother_key, "status"] == "deceased"
        )
    assert set(rels.type) == {"parent_of", "guardian_of"}
    entrusted = rels[rels.kind == "entrusted"]
    assert len(entrusted) > 0
    assert set(entrusted.agreement_status) <= {"valid", "expired", "missing"}
    assert {"valid", "expired", "missing"} & set(entrusted.agreement_status)
    for _, r in entrusted.iterrows():
        assert truth.at[r.dst_key, "guardian_key"] == r.src_key
        if r.agreement_status == "expired":
            assert r.agreement_valid_to < DEFAULT_AS_OF.isoformat()
        if r.agreement_status == "valid":
            assert r.agreement_valid_to >= DEFAULT_AS_OF.isoformat()
    # Parents in the truth are real people of the county, older than their children.
    parents = rels[rels.type == "parent_of"]
    assert (
        truth.loc[parents.src_key, "birth_date"].to_numpy()
        < truth.loc[parents.dst_key, "birth_date"].to_numpy()
    ).all()


def test_every_source_record_is_mapped_and_agrees_with_the_truth(
    county: tuple[Path, GenerationSummary],
) -> None:
    root, summary = county
    truth = _truth(root)
    mapping = _records(root)
    sources = read_sources(root)
    mapped = {(r.system, r.record_id): r for r in mapping.itertuples(index=False)}
    assert len(mapped) == len(mapping), "duplicate (system, record_id) in the mapping"
    assert set(sources) == set(mapped)
    assert len(mapping) == summary.source_records
    assert set(mapping.person_key) <= set(truth.index)
    checked = Counter()
    for key, rec in mapped.items():
        value = sources[key]
        if value.get("event") or rec.malformed == "1":
            continue
        p = truth.loc[rec.person_key]
        noise = set(filter(None, rec.noise.split("|")))
        if not noise & {"homophone_name", "typo_name"}:
            assert value["name"] == p["name"], (key, value, p["name"])
        else:
            assert value["name"] != p["name"] and len(value["name"]) == len(p["name"])
            assert sum(a != b for a, b in zip(value["name"], p["name"], strict=True)) == 1
        idn = value["id_number"]
        if idn is None:
            pass  # the format has no ID number (attendance rows, incident guardians)
        elif "missing_id" in noise:
            assert idn == ""
        elif "wrong_id" in noise:
            with pytest.raises(InvalidIdNumber) as info:
                parse_id_number(idn, today=DEFAULT_AS_OF)
            assert info.value.reason_code == "check_digit"
        elif "id_format" in noise:
            assert idn != p.id_number and normalise_id_number(idn) == p.id_number
        else:
            assert idn == p.id_number, (key, idn, p.id_number)
        birth = value.get("birth_date")
        if birth:
            if "swapped_date" in noise:
                y, m, d = p.birth_date.split("-")
                assert birth == f"{y}-{d}-{m}"
            else:
                assert birth == p.birth_date, key
        checked[key[0]] += 1
    assert set(checked) == {"police_hukou", "police_incident", "education", "health", "survey"}


def test_malformed_records_are_broken_and_counted(noisy: tuple[Path, GenerationSummary]) -> None:
    root, summary = noisy
    mapping = _records(root)
    bad = mapping[mapping.malformed == "1"]
    assert len(bad) == summary.noise["malformed_row"] > 0
    assert (bad.noise.str.contains("malformed_row")).all()
    hukou = pd.read_csv(root / "police" / "hukou.csv", encoding="gb18030", dtype=str)
    bad_ids = set(bad[bad.system == "police_hukou"].record_id)
    flagged = hukou[hukou["人员编号"].isin(bad_ids)]
    for _, row in flagged.iterrows():
        broken_date = (
            pd.isna(row["出生日期"])
            or not (len(row["出生日期"]) == 8 and row["出生日期"].isdigit())
            or pd.isna(pd.to_datetime(row["出生日期"], format="%Y%m%d", errors="coerce"))
        )
        assert pd.isna(row["姓名"]) or pd.isna(row["户籍地址"]) or broken_date


def test_noise_rates_come_out_near_the_configured_rates(noisy: tuple[Path, GenerationSummary]) -> None:
    _, summary = noisy
    rates = summary.rates
    for system, eligible in summary.noise_eligible_by_system.items():
        for kind in NOISE_KINDS:
            n = eligible[kind]
            if n < 50:
                continue
            p = rates.rate_for(kind, system)
            observed = summary.noise_by_system[system][kind] / n
            tolerance = 4 * math.sqrt(p * (1 - p) / n) + 0.005
            assert abs(observed - p) <= tolerance, (system, kind, observed, p, n)
    # Every kind actually happened somewhere.
    assert all(summary.noise[k] > 0 for k in NOISE_KINDS)


def test_default_noise_is_small_but_present(county: tuple[Path, GenerationSummary]) -> None:
    _, summary = county
    assert summary.noise["homophone_name"] > 0 and summary.noise["missing_id"] > 0
    assert summary.noise_rate("missing_id", "survey") > summary.noise_rate("missing_id", "education")
    assert summary.noise_by_system["police_hukou"]["homophone_name"] == 0  # the register is clean
    assert 0.0 < summary.noise_rate("homophone_name") < 0.1


def test_noise_column_counts_agree_with_the_summary(noisy: tuple[Path, GenerationSummary]) -> None:
    root, summary = noisy
    mapping = _records(root)
    counted = Counter(k for cell in mapping.noise for k in filter(None, cell.split("|")))
    for kind in (
        "homophone_name",
        "typo_name",
        "wrong_id",
        "missing_id",
        "id_format",
        "swapped_date",
        "stale_address",
        "stale_flag",
        "duplicate_in_survey",
        "malformed_row",
    ):
        assert counted[kind] == summary.noise[kind], kind


def test_survey_duplicates_and_absences(noisy: tuple[Path, GenerationSummary]) -> None:
    root, _ = noisy
    mapping = _records(root)
    forms = mapping[(mapping.system == "survey") & (mapping.record_type == "person")]
    forms = forms.assign(village=forms.record_id.str[:12])
    per_child = forms.groupby(["village", "person_key"]).size()
    dup_children = per_child[per_child > 1]
    assert len(dup_children) == int(forms.noise.str.contains("duplicate_in_survey").sum()) > 0
    truth = _truth(root)
    kids = set(truth[truth.is_child == "1"].index)
    in_hukou = set(mapping[mapping.system == "police_hukou"].person_key)
    assert kids - in_hukou, "some children are missing from the household register"


def test_files_are_readable_in_their_formats(county: tuple[Path, GenerationSummary]) -> None:
    root, summary = county
    for rel, n in summary.files.items():
        path = root / rel
        assert path.exists(), rel
        if rel.endswith(".csv"):
            encoding = (
                "gb18030"
                if rel.startswith("police/")
                else ("utf-8-sig" if rel.startswith("education/") else "utf-8")
            )
            frame = pd.read_csv(path, encoding=encoding, dtype=str)
            assert len(frame) == n, rel
        elif rel.endswith(".xlsx"):
            frame = pd.read_excel(path, dtype=str)
            assert len(frame) == n, rel
        elif rel.startswith("survey/"):
            assert len(json.loads(path.read_text(encoding="utf-8"))) == n
        elif rel.startswith("health/"):
            assert len(json.loads(path.read_text(encoding="utf-8"))["entry"]) == n
    assert (root / "education" / "students_batch1.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    header = pd.read_csv(root / "education" / "students_batch1.csv", encoding="utf-8-sig", nrows=0).columns
    for column in (
        "学籍号",
        "身份证号",
        "姓名",
        "性别",
        "出生日期",
        "学校代码",
        "年级",
        "班级",
        "是否寄宿",
        "是否留守儿童",
        "监护人联系电话",
    ):
        assert column in header
    hukou = pd.read_csv(root / "police" / "hukou.csv", encoding="gb18030", dtype=str, nrows=50)
    assert set(hukou["户口性质"].dropna()) <= {"农业", "非农业"}
    assert any(p.suffix == ".xlsx" for p in (root / "survey").iterdir())
    assert len(list((root / "health").glob("*.json"))) >= 3


def test_fhir_bundles_have_the_required_fields(county: tuple[Path, GenerationSummary]) -> None:
    root, _ = county
    mapping = _records(root)
    malformed = set(mapping[(mapping.system == "health") & (mapping.malformed == "1")].record_id)
    kinds = Counter()
    for path in sorted((root / "health").glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
        urls = {e["fullUrl"] for e in bundle["entry"]}
        for entry in bundle["entry"]:
            r = entry["resource"]
            kinds[r["resourceType"]] += 1
            assert entry["fullUrl"] == f"urn:uuid:{r['id']}"
            datetime.fromisoformat(r["meta"]["lastUpdated"])
            if f"{r['resourceType']}/{r['id']}" in malformed:
                continue
            for ref_field in ("subject", "patient", "encounter"):
                if ref_field in r:
                    assert r[ref_field]["reference"] in urls
            if r["resourceType"] == "Patient":
                assert r["gender"] in ("male", "female") and date.fromisoformat(r["birthDate"])
                assert r["name"][0]["text"] and r["address"][0]["text"]
                assert any(i["system"].startswith("urn:oid:2.16.156.10011.1.") for i in r["identifier"])
            elif r["resourceType"] == "Condition":
                coding = r["code"]["coding"][0]
                assert coding["system"] == "http://hl7.org/fhir/sid/icd-10" and coding["code"][0].isalpha()
            elif r["resourceType"] == "Observation":
                coding = r["code"]["coding"][0]
                assert coding["system"] == "http://loinc.org" and coding["code"] in ("8302-2", "29463-7")
                assert r["valueQuantity"]["unit"] == ("cm" if coding["code"] == "8302-2" else "kg")
            elif r["resourceType"] == "Encounter":
                assert r["status"] == "finished" and r["period"]["start"]
    assert {"Patient", "RelatedPerson", "Encounter", "Condition", "Observation"} <= set(kinds)


def test_injury_codes_are_in_the_injury_chapter(county: tuple[Path, GenerationSummary]) -> None:
    root, _ = county
    codes = Counter()
    for path in (root / "health").glob("cph*.json"):
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            r = entry["resource"]
            if r["resourceType"] == "Condition":
                codes[r["code"]["coding"][0]["code"][0]] += 1
    assert codes["S"] + codes["T"] > 0


def test_rejects_a_bad_person_count(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, 0, 1)
    with pytest.raises(ValueError):
        NoiseRates(wrong_id=1.5)
