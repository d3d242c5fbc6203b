"""The bad-input corpus: a county export broken the ways counties really send files.

Built by a seeded script from the synthetic generator's output (no hand-written personal
data): each case takes generated rows and damages them one way (a file without its last
line end, a file cut mid-row, a byte that no encoding reads, a renamed or missing column,
a cover sheet before the data sheet, a duplicate record id, an ID number typed wrong, a
name with a space or a middle dot...). :func:`build` writes the export and returns what
must become of every damaged record or file (:class:`Expect`): loaded, quarantined with
which reason and message, or listed in the run report as ignored, empty or failed.

Run it to look at the corpus: ``python -m tests.inputs_corpus OUT_DIR``.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.idnumber import is_valid_id_number, make_id_number
from connectors.sources.education import STUDENT_HEADER
from connectors.sources.police import HUKOU_HEADER
from kernel.names import name_pinyin

SEED = 20261206
PERSONS = 400


@dataclass(frozen=True)
class Expect:
    """What must become of one damaged record (``record_id``) or file (``file``)."""

    case: str
    source: str
    status: str  # loaded | quarantined | ignored | empty | failed | read | unchanged
    record_id: str | None = None
    file: str | None = None
    reason: str | None = None  # quarantine reason code, or the warning code a loaded record carries
    message: str | None = None  # a fragment the quarantine reason or the file's note must contain
    extra: dict[str, Any] = field(default_factory=dict)


def _read_csv(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding=encoding), newline="")))
    return rows[0], [r for r in rows[1:] if r]


def _csv_text(header: list[str], rows: list[list[str]], eol: str = "\n", last_eol: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=eol)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    text = buf.getvalue()
    return text if last_eol else text[: -len(eol)]


def _drop(header: list[str], rows: list[list[str]], col: str) -> tuple[list[str], list[list[str]]]:
    i = header.index(col)
    return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows]


def _good(row: list[str], header: list[str], id_col: str, required: tuple[str, ...]) -> bool:
    return is_valid_id_number(row[header.index(id_col)]) and all(row[header.index(c)] for c in required)


def build(generated: Path, out: Path, seed: int = SEED) -> list[Expect]:
    """Write the corpus export to ``out`` from a generated county ``generated``."""
    rng = random.Random(seed)
    expects: list[Expect] = []
    out.mkdir(parents=True)
    shutil.copytree(generated / "reference", out / "reference")
    police, education, survey, health = (out / d for d in ("police", "education", "survey", "health"))
    for d in (police, education, survey, health):
        d.mkdir()

    # ---- police: the register ---------------------------------------------------------------
    header, rows = _read_csv(generated / "police" / "hukou.csv", "gb18030")
    assert header == list(HUKOU_HEADER)
    req = ("姓名", "性别", "出生日期", "行政区划代码")
    # Whole households go to the second and third files; the first keeps the rest.
    by_household: dict[str, list[list[str]]] = {}
    for r in rows:
        by_household.setdefault(r[1], []).append(r)
    households = list(by_household.values())
    cut_household, bad_household = households[-1], households[-2]
    main_rows = [r for h in households[:-2] for r in h]
    # The last row (no line end after it) is a clean one.
    last = next(r for r in reversed(main_rows) if _good(r, header, "公民身份号码", req) and r[7] != "户主")
    main_rows.remove(last)
    dup_of = next(r for r in main_rows[5:] if _good(r, header, "公民身份号码", req))
    dup = list(dup_of)
    dup[header.index("户籍地址")] = dup[header.index("户籍地址")] + "附1号"
    main_rows.insert(main_rows.index(dup_of) + 1, dup)
    main_rows.append(last)
    # Renamed identity column, no 民族 column at all: both only warn.
    h2, r2 = _drop(header, main_rows, "民族")
    h2[h2.index("公民身份号码")] = "证件号码"
    (police / "hukou.csv").write_bytes(_csv_text(h2, r2, last_eol=False).encode("gb18030"))
    expects += [
        Expect("csv.no_final_newline", "police_hukou", "loaded", record_id=last[0]),
        Expect("record.duplicate", "police_hukou", "loaded", record_id=dup_of[0], extra={"versions": 2}),
        Expect(
            "record.duplicate",
            "police_hukou",
            "quarantined",
            record_id=dup_of[0],
            reason="record.duplicate",
            message="重复",
        ),
        Expect(
            "header.synonym",
            "police_hukou",
            "read",
            file="hukou.csv",
            message="列「证件号码」按「公民身份号码」读取",
        ),
        Expect(
            "header.optional_missing", "police_hukou", "read", file="hukou.csv", message="缺少可选列 民族"
        ),
    ]
    # A file cut mid-row: its last row lacks its last columns and its line end.
    text = _csv_text(header, cut_household)
    cut_at = text.rstrip("\n").rfind(",", 0, text.rstrip("\n").rfind(",") - 1)
    (police / "hukou_cut.csv").write_bytes(text[:cut_at].encode("gb18030"))
    expects.append(
        Expect(
            "csv.cut_mid_row",
            "police_hukou",
            "quarantined",
            record_id=cut_household[-1][0],
            reason="row.truncated",
            message="行被截断",
        )
    )
    # A byte no encoding reads, on the file's third line: that line alone is quarantined.
    lines = _csv_text(header, bad_household).encode("gb18030").split(b"\n")
    bad_line = 3 if len(bad_household) >= 2 else 2
    broken_row = bad_household[bad_line - 2]
    lines[bad_line - 1] = lines[bad_line - 1].replace(b",", b",\xff\x80", 1)
    (police / "hukou_badbytes.csv").write_bytes(b"\n".join(lines))
    expects.append(
        Expect(
            "encoding.bad_line",
            "police_hukou",
            "quarantined",
            record_id=f"hukou_badbytes.csv:{bad_line}",
            reason="encoding.invalid",
            message=f"hukou_badbytes.csv 第 {bad_line} 行",
            extra={"person": broken_row[0]},
        )
    )
    for r in bad_household:
        if r is not broken_row and _good(r, header, "公民身份号码", req):
            expects.append(Expect("encoding.bad_line.others", "police_hukou", "loaded", record_id=r[0]))
    shutil.copy(generated / "police" / "incidents.csv", police / "incidents.csv")
    (police / "incidents_empty.csv").write_bytes(b"")
    (police / "说明.txt").write_text("导出说明\n", encoding="utf-8")
    expects += [
        Expect("file.empty", "police_incident", "empty", file="incidents_empty.csv", message="空文件"),
        Expect("file.ignored", "police_hukou", "ignored", file="说明.txt", message="文件名不符合"),
        Expect("file.ignored", "police_incident", "ignored", file="说明.txt", message="文件名不符合"),
    ]

    # ---- education: the student registry ----------------------------------------------------
    header, rows = _read_csv(generated / "education" / "students_batch1.csv", "utf-8-sig")
    assert header == list(STUDENT_HEADER)
    sreq = ("姓名", "出生日期", "学校代码")
    good = [r for r in rows if _good(r, header, "身份证号", sreq)]
    rng.shuffle(good)
    pool = iter(good)
    rest = [r for r in rows if r not in good[:10]]
    ix = {c: header.index(c) for c in header}

    def new_pupil(row: list[str], n: int) -> list[str]:
        """A pupil no other source names: the generated row with a fresh number and ID."""
        r = list(row)
        birth = r[ix["出生日期"]]
        from datetime import date

        d = date.fromisoformat(birth)
        r[ix["身份证号"]] = make_id_number(r[ix["身份证号"]][:6], d, 900 + n)
        r[ix["学籍号"]] = "G" + r[ix["身份证号"]]
        return r

    # Names kept exactly as given: built from generated names.
    named: list[tuple[list[str], str]] = []
    for n, make in enumerate(
        (
            lambda s: f"{s[0]} {s[1:]}",  # a space between the parts of a name
            lambda s: f"{s[0]}．{s[1:]}",  # a full-width dot
            lambda s: f"{s[:1]}·{s[1:]}",  # a middle dot
            lambda s: " ".join(w.capitalize() for w in name_pinyin(s).split()[:2]),  # Latin letters
        )
    ):
        r = new_pupil(next(pool), n)
        r[ix["姓名"]] = make(r[ix["姓名"]])
        named.append((r, r[ix["姓名"]]))
        expects.append(
            Expect("name.as_given", "education", "loaded", record_id=r[0], extra={"name": r[ix["姓名"]]})
        )
    # ID numbers that fail validation: kept as unverified claims.
    claims: list[list[str]] = []
    for n, (damage, status) in enumerate(
        (
            (lambda i: f"{i[:6]} {i[6:]}", "id_number.length"),  # an inner space
            (lambda i: i[:6] + i[8:17], "id_number.length"),  # the 15-digit first generation
            (lambda i: i[:17] + ("0" if i[17] != "0" else "1"), "id_number.check_digit"),
        )
    ):
        r = new_pupil(next(pool), 10 + n)
        r[ix["身份证号"]] = damage(r[ix["身份证号"]])
        claims.append(r)
        expects.append(
            Expect(
                "id.unverified",
                "education",
                "loaded",
                record_id=r[0],
                reason=status,
                extra={"claim": r[ix["身份证号"]]},
            )
        )
    sdup_of = next(pool)
    sdup = list(sdup_of)
    sdup[ix["班级"]] = "9班"
    # Renamed columns (姓名→学生姓名, 身份证号→证件号码) and no 民族 column.
    batch = [*rest[:8], *(r for r, _ in named), *claims, sdup_of, sdup]
    h3 = list(header)
    h3[ix["姓名"]], h3[ix["身份证号"]] = "学生姓名", "证件号码"
    h3, b3 = _drop(h3, batch, "民族")
    (education / "students_batch1.csv").write_bytes(
        _csv_text(h3, b3, eol="\r\n", last_eol=False).encode("utf-8-sig")
    )
    expects += [
        Expect("record.duplicate", "education", "loaded", record_id=sdup_of[0], extra={"versions": 2}),
        Expect(
            "record.duplicate", "education", "quarantined", record_id=sdup_of[0], reason="record.duplicate"
        ),
        Expect(
            "header.synonym",
            "education",
            "read",
            file="students_batch1.csv",
            message="列「学生姓名」按「姓名」读取",
        ),
        Expect(
            "header.optional_missing",
            "education",
            "read",
            file="students_batch1.csv",
            message="缺少可选列 民族",
        ),
    ]
    # A GB18030 student file where UTF-8 is usual: detected, read.
    gbk = rest[8:13]
    (education / "students_gbk.csv").write_bytes(_csv_text(header, gbk).encode("gb18030"))
    expects.append(
        Expect(
            "encoding.gbk",
            "education",
            "read",
            file="students_gbk.csv",
            message="编码为 gb18030",
            extra={"encoding": "gb18030"},
        )
    )
    for r in gbk:
        if _good(r, header, "身份证号", sreq):
            expects.append(Expect("encoding.gbk", "education", "loaded", record_id=r[0]))
    # A required column missing: every row quarantined, naming it.
    nodob = rest[13:16]
    h4, b4 = _drop(header, nodob, "出生日期")
    (education / "students_nodob.csv").write_bytes(_csv_text(h4, b4).encode("utf-8-sig"))
    for r in nodob:
        expects.append(
            Expect(
                "column.missing",
                "education",
                "quarantined",
                record_id=r[0],
                reason="column.missing",
                message="出生日期",
            )
        )
    # A file named as the county likes: read by its header.
    named_file = rest[16:19]
    (education / "学籍名单2024.csv").write_bytes(_csv_text(header, named_file).encode("utf-8-sig"))
    expects.append(Expect("file.sniffed", "education", "read", file="学籍名单2024.csv", message="按表头识别"))
    for r in named_file:
        if _good(r, header, "身份证号", sreq):
            expects.append(Expect("file.sniffed", "education", "loaded", record_id=r[0]))
    # A workbook with an instruction sheet first; one ID typed into a number cell.
    from openpyxl import Workbook

    wb = Workbook()
    cover = wb.active
    cover.title = "填表说明"
    cover.append(["学籍名单填报说明"])
    cover.append(["1. 每名学生一行", None])
    data = wb.create_sheet("学籍")
    data.append(list(header))
    xrows = rest[19:23]
    numeric = new_pupil(next(pool), 20)
    for r in [*xrows, numeric]:
        cells: list[Any] = list(r)
        if r is numeric:
            cells[ix["身份证号"]] = float(r[ix["身份证号"]])
        data.append(cells)
    wb.save(education / "students_cover.xlsx")
    expects.append(
        Expect(
            "xlsx.cover_sheet", "education", "read", file="students_cover.xlsx", message="忽略工作表 填表说明"
        )
    )
    for r in xrows:
        if _good(r, header, "身份证号", sreq):
            expects.append(Expect("xlsx.cover_sheet", "education", "loaded", record_id=r[0]))
    expects.append(
        Expect(
            "id.unverified",
            "education",
            "loaded",
            record_id=numeric[0],
            reason="id_number.number_cell",
            extra={"claim": repr(float(numeric[ix["身份证号"]]))},
        )
    )
    for name in ("attendance.csv", "dropouts.csv"):
        shutil.copy(generated / "education" / name, education / name)
    (education / "notes.docx").write_bytes(bytes(rng.getrandbits(8) for _ in range(64)))
    expects.append(Expect("file.ignored", "education", "ignored", file="notes.docx", message="文件名不符合"))

    # ---- survey -----------------------------------------------------------------------------
    forms = sorted((generated / "survey").glob("*.json"))
    first = forms[0].read_text(encoding="utf-8").split("\n")
    items = [i for i, line in enumerate(first) if line.startswith("{")]
    broken_at, dup_at = items[0], items[-1]
    broken_line = first[broken_at]
    first[broken_at] = broken_line[: len(broken_line) // 2]
    dup_form = json.loads(first[dup_at].rstrip(","))
    dup_form["notes"] = "复核"
    if not first[dup_at].endswith(","):
        first[dup_at] += ","
    first.insert(dup_at + 1, json.dumps(dup_form, ensure_ascii=False, separators=(",", ":")))
    (survey / forms[0].name).write_text("\n".join(first), encoding="utf-8")
    expects += [
        Expect(
            "json.bad_line",
            "survey",
            "quarantined",
            record_id=f"{forms[0].name}:{broken_at + 1}",
            reason="json.invalid",
            message=f"{forms[0].name} 第 {broken_at + 1} 行",
        ),
        Expect(
            "record.duplicate",
            "survey",
            "quarantined",
            record_id=dup_form["form_id"],
            reason="record.duplicate",
        ),
    ]
    if len(forms) > 1:
        (survey / forms[1].name).write_bytes(forms[1].read_text(encoding="utf-8").encode("gb18030"))
        expects.append(
            Expect("encoding.gbk", "survey", "read", file=forms[1].name, extra={"encoding": "gb18030"})
        )
    for f in forms[2:]:
        shutil.copy(f, survey / f.name)

    # ---- health -----------------------------------------------------------------------------
    for f in sorted((generated / "health").glob("*.json")):
        shutil.copy(f, health / f.name)
    (health / "broken.json").write_text('{"resourceType":"Bundle","entry":[{"fullUrl":', encoding="utf-8")
    expects.append(
        Expect(
            "file.unreadable",
            "health",
            "quarantined",
            record_id="file:broken.json",
            reason="json.invalid",
            message="broken.json",
        )
    )
    expects.append(
        Expect("file.unreadable", "health", "failed", file="broken.json", message="不是有效的 JSON")
    )
    return expects


def generate_base(out: Path) -> Path:
    """The generated county the corpus is cut from (seeded)."""
    from connectors.synthetic import generate

    generate(out, PERSONS, SEED)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1])
    base = generate_base(target / "generated")
    for e in build(base, target / "export"):
        print(json.dumps(e.__dict__, ensure_ascii=False))
