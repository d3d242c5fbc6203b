"""County files shaped as clerks send them, through ``shouhu sync``: nothing lost behind a green line.

Each file is cut from the seeded generator's export and reshaped as a county's office
software writes it: a workbook with one sheet per township, a header over two rows under a
title, a column name given twice, column names with a template's note (``姓名（必填）``).
Every row must be read with the values the file holds, and the run report must say what
was done with the file's shape; a row that cannot be read is quarantined naming its place.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from connectors.sources.education import STUDENT_HEADER
from connectors.sources.police import HUKOU_HEADER

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
SEED = 20261207
PERSONS = 1000


def _env(data: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "128"}


def _csv(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding=encoding), newline="")))
    return rows[0], [r for r in rows[1:] if r]


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


class County:
    """The reshaped export, what each file holds, and one sync of the register and the registry."""

    def __init__(self, root: Path) -> None:
        from connectors.synthetic import generate

        generated = root / "generated"
        generate(generated, PERSONS, SEED)
        self.export = export = root / "export"
        export.mkdir()
        shutil.copytree(generated / "reference", export / "reference")
        (export / "education").mkdir()
        (export / "police").mkdir()
        header, rows = _csv(generated / "education" / "students_batch1.csv", "utf-8-sig")
        assert header == list(STUDENT_HEADER)
        assert len(rows) >= 70, len(rows)
        self.student_header = header
        # One sheet per township, and an instruction sheet after them.
        self.sheets = {"双大镇": rows[0:12], "龙坎镇": rows[12:24]}
        wb = Workbook()
        ws = wb.active
        for n, (title, part) in enumerate(self.sheets.items()):
            ws = wb.active if n == 0 else wb.create_sheet(title)
            ws.title = title
            ws.append(header)
            for r in part:
                ws.append(r)
        wb.create_sheet("说明").append(["填表说明：每名学生一行"])
        wb.save(export / "education" / "students_townships.xlsx")
        # A title, then a header over two rows: the identity columns' names merged down both
        # rows, 学校信息 merged over the school's columns, whose names are on the second row.
        self.split = rows[24:36]
        wb = Workbook()
        ws = wb.active
        ws.title = "学籍"
        width = len(header)
        ws.append(["宁川县2024年学生学籍信息表"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws.append([*header[:7], "学校信息", *([None] * (width - 8))])
        ws.append([*([None] * 7), *header[7:]])
        for c in range(1, 8):
            ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
        ws.merge_cells(start_row=2, start_column=8, end_row=2, end_column=width)
        for r in self.split:
            ws.append(r)
        wb.save(export / "education" / "students_split.xlsx")
        # One class: its 学校代码, 学校名称 and 班级 merged down its rows, as clerks lay it out.
        self.merged = [list(r) for r in rows[46:52]]
        cols = [header.index(c) for c in ("学校代码", "学校名称", "年级", "班级")]
        for r in self.merged[1:]:
            for c in cols:
                r[c] = self.merged[0][c]
        wb = Workbook()
        ws = wb.active
        ws.append(header)
        for r in self.merged:
            ws.append([v if i not in cols or r is self.merged[0] else None for i, v in enumerate(r)])
        for c in cols:
            ws.merge_cells(start_row=2, start_column=c + 1, end_row=1 + len(self.merged), end_column=c + 1)
        wb.save(export / "education" / "students_class.xlsx")
        # The data sheet, then the template's instruction sheet holding the header and an example
        # row (a made-up pupil): the example is no pupil of the county.
        self.guided = rows[52:58]
        wb = Workbook()
        ws = wb.active
        ws.title = "花名册"
        ws.append(header)
        for r in self.guided:
            ws.append(r)
        guide = wb.create_sheet("填表说明")
        guide.append(["填表说明：每名学生一行，示例如下"])
        guide.append(header)
        self.example = [*rows[58]]
        self.example[0] = "示例001"
        guide.append(self.example)
        wb.save(export / "education" / "students_guide.xlsx")
        # A 备注 merged down far past the last pupil, and a signature line merged over three rows
        # and every column: the rows under them hold nothing of their own.
        self.signed = rows[60:66]
        wb = Workbook()
        ws = wb.active
        ws.append([*header, "备注"])
        for n, r in enumerate(self.signed):
            ws.append([*r, "以上信息经核实" if n == 0 else None])
        ws.merge_cells(start_row=2, start_column=width + 1, end_row=40, end_column=width + 1)
        ws.append(["填表人：李四    审核人：王五"])
        sign = len(self.signed) + 2
        ws.merge_cells(start_row=sign, start_column=1, end_row=sign + 2, end_column=width)
        wb.save(export / "education" / "students_signed.xlsx")
        # A title above a header of one row whose first column (the row number) has no name.
        self.titled_sheet = rows[66:70]
        wb = Workbook()
        ws = wb.active
        ws.append(["宁川县2024年学生名册"])
        ws.append([None, *header])
        for n, r in enumerate(self.titled_sheet, start=1):
            ws.append([n, *r])
        wb.save(export / "education" / "students_titled.xlsx")
        # 家庭住址 twice, the second one blank; 姓名 and 出生日期 with a template's note.
        self.dup = rows[36:46]
        h = list(header)
        h[h.index("姓名")] = "姓名（必填）"
        h[h.index("出生日期")] = "出生日期(YYYY-MM-DD)"
        (export / "education" / "students_dup.csv").write_bytes(
            _csv_text([*h, "家庭住址"], [[*r, ""] for r in self.dup]).encode("utf-8-sig")
        )
        # The register: 户籍地址 twice, the second blank; 公民身份号码 with a note.
        pheader, prows = _csv(generated / "police" / "hukou.csv", "gb18030")
        assert pheader == list(HUKOU_HEADER)
        self.hukou_header, self.hukou = pheader, prows[:40]
        # One register ID number as Excel writes a number cell to CSV.
        self.float_id = [*prows[40]]
        at = pheader.index("公民身份号码")
        self.float_id[at] = f"{float(self.float_id[at]):.14E}"
        self.hukou.append(self.float_id)
        ph = list(pheader)
        ph[ph.index("公民身份号码")] = "公民身份号码（18位）"
        (export / "police" / "hukou.csv").write_bytes(
            _csv_text([*ph, "户籍地址"], [[*r, ""] for r in self.hukou]).encode("gb18030")
        )
        # A title line above the header, and a row of separators only in the middle.
        self.titled = prows[41:61]
        text = _csv_text(pheader, self.titled).split("\r\n")
        text.insert(11, "," * (len(pheader) - 1))
        (export / "police" / "hukou_titled.csv").write_bytes(
            ("宁川县户籍人口信息表\r\n" + "\r\n".join(text)).encode("gb18030")
        )
        self.data = root / "data"
        out = subprocess.run(
            [*SHOUHU, "sync", "police_hukou", "education", "--from", str(export), "--json"],
            env=_env(self.data),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        self.report: dict[str, Any] = json.loads(out.stdout)

    def source(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["sources"] if s["source"] == name)

    def file(self, source: str, name: str) -> dict[str, Any]:
        return next(f for f in self.source(source)["files"] if f["file"] == name)

    def landed(self, source: str, record_id: str) -> list[tuple[str, str, str | None, dict[str, Any]]]:
        """(status, origin, reason, payload) of every landed version of a record."""
        with sqlite3.connect(self.data / "shouhu.sqlite3") as conn:
            rows = conn.execute(
                "SELECT status, origin, reason, payload FROM landing_record"
                " WHERE source = ? AND record_id = ?",
                (source, record_id),
            ).fetchall()
        return [(s, o, r, json.loads(p)) for s, o, r, p in rows]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> County:
    return County(tmp_path_factory.mktemp("county"))


def _accounted(rep: dict[str, Any]) -> None:
    assert rep["status"] == "completed", rep
    assert rep["received"] == rep["landed"] + rep["carried"] + rep["unchanged"] + rep["duplicates"], rep
    assert rep["landed"] == rep["loaded"] + rep["quarantined"] + rep["superseded"], rep
    assert rep["unexplained"] == 0, rep


def test_every_township_sheet_of_a_workbook_is_read(county: County) -> None:
    """A second township's sheet was "ignored (header does not match)" and its pupils lost."""
    rep = county.source("education")
    _accounted(rep)
    note = county.file("education", "students_townships.xlsx")
    assert note["records"] == 24, note
    assert any("「双大镇」、「龙坎镇」" in n for n in note["notes"]), note
    assert any("忽略工作表 说明" in n for n in note["notes"]), note
    for title, part in county.sheets.items():
        for n, r in enumerate(part, start=2):
            [(status, origin, reason, payload)] = county.landed("education", r[0])
            assert origin == f"students_townships.xlsx:{title}!{n}", (title, r[0], origin)
            # Loaded, or quarantined for what the row itself says (the generator's typos).
            assert status == "loaded" or (status == "quarantined" and "列" not in (reason or "")), reason
            assert payload["姓名"] == r[county.student_header.index("姓名")], payload


def test_a_header_over_two_rows_under_a_title_reads_every_column(county: County) -> None:
    """The columns under a merged 学校信息 were read as missing, and their names' row landed as a record."""
    note = county.file("education", "students_split.xlsx")
    assert note["records"] == len(county.split), note
    assert "表头在第 2–3 行（两行合并读取）" in note["notes"], note
    assert not any("缺少" in n or "未识别" in n for n in note["notes"]), note
    h = county.student_header
    for n, r in enumerate(county.split, start=4):
        [(status, origin, _, payload)] = county.landed("education", r[0])
        assert (status, origin) == ("loaded", f"students_split.xlsx:{n}"), (r[0], status, origin)
        for col in ("学校名称", "年级", "班级", "是否留守儿童", "家庭住址"):
            assert payload[col] == r[h.index(col)], (col, payload)


def test_a_column_name_given_twice_keeps_the_first_columns_values(county: County) -> None:
    """A blank second 家庭住址/户籍地址 column replaced every row's address, without a word."""
    note = county.file("education", "students_dup.csv")
    assert any("列名「家庭住址」重复" in n for n in note["notes"]), note
    h = county.student_header
    for r in county.dup:
        [(status, _, _, payload)] = county.landed("education", r[0])
        assert status == "loaded", (r[0], status)
        assert payload["家庭住址"] == r[h.index("家庭住址")], payload
    pnote = county.file("police_hukou", "hukou.csv")
    assert any("列名「户籍地址」重复" in n for n in pnote["notes"]), pnote
    ph = county.hukou_header
    for r in county.hukou:
        [(_, _, _, payload)] = county.landed("police_hukou", r[0])
        assert payload["户籍地址"] == r[ph.index("户籍地址")], payload


def test_a_register_id_number_saved_as_a_number_cell_is_quarantined_as_such(county: County) -> None:
    """5.00248…E+17 in the register was quarantined as 'should be 18 characters, is 20'."""
    r = county.float_id
    [(status, origin, reason, _)] = county.landed("police_hukou", r[0])
    assert (status, origin) == ("quarantined", f"hukou.csv:{len(county.hukou) + 1}"), (status, origin)
    assert "数字单元格" in (reason or ""), reason
    assert county.source("police_hukou")["by_reason"].get("id_number.number_cell") == 1


def test_a_column_name_with_a_templates_note_is_read_as_its_column(county: County) -> None:
    """姓名（必填）, 出生日期(YYYY-MM-DD), 公民身份号码（18位）: every row was quarantined column.missing."""
    rep = county.source("police_hukou")
    _accounted(rep)
    assert "column.missing" not in rep["by_reason"], rep
    note = county.file("police_hukou", "hukou.csv")
    assert "列「公民身份号码（18位）」按「公民身份号码」读取" in note["notes"], note
    for r in county.dup:
        [(status, _, reason, _)] = county.landed("education", r[0])
        assert status == "loaded", (r[0], reason)


def test_cells_merged_down_a_class_are_read_on_every_row(county: County) -> None:
    """A school and class merged down its pupils' rows was read on the first row only: the others
    were quarantined as 学校代码为空, their 学校名称 and 班级 blank."""
    h = county.student_header
    for r in county.merged:
        [(status, _, reason, payload)] = county.landed("education", r[0])
        assert status == "loaded", (r[0], reason)
        for col in ("学校代码", "学校名称", "年级", "班级"):
            assert payload[col] == r[h.index(col)], (col, payload)


def test_a_title_line_above_a_csv_header_and_a_row_of_separators(county: County) -> None:
    """A title above the register's header quarantined every row as column.missing (and the
    title's own line as a record); a row of commas only was quarantined as 姓名为空."""
    note = county.file("police_hukou", "hukou_titled.csv")
    assert note["records"] == len(county.titled), note
    assert "表头在第 2 行（其上 1 行为标题，未读取）" in note["notes"], note
    assert "跳过 1 个空行（只有分隔符，没有内容）" in note["notes"], note
    for n, r in enumerate(county.titled, start=3):
        [(status, origin, reason, _)] = county.landed("police_hukou", r[0])
        line = n if n < 13 else n + 1
        assert origin == f"hukou_titled.csv:{line}", (r[0], origin)
        assert status == "loaded" or (status == "quarantined" and "列" not in (reason or "")), reason


def test_an_instruction_sheets_example_row_is_not_read_as_a_pupil(county: County) -> None:
    """Every sheet with a matching header was read: the 填表说明 sheet's example pupil (示例001)
    landed as a record of the county."""
    note = county.file("education", "students_guide.xlsx")
    assert note["records"] == len(county.guided), note
    assert county.landed("education", county.example[0]) == []
    assert any("忽略工作表 填表说明" in n for n in note["notes"]), note
    for r in county.guided:
        assert len(county.landed("education", r[0])) == 1, r[0]


def test_rows_under_a_merge_with_nothing_of_their_own_are_not_records(county: County) -> None:
    """A 备注 merged down past the last pupil, and a signature merged over three rows, made each
    empty row under them a record (quarantined 学籍号为空, or duplicates of the signature)."""
    rep = county.source("education")
    _accounted(rep)
    note = county.file("education", "students_signed.xlsx")
    # The pupils, and the signature line once (as main read it).
    assert note["records"] == len(county.signed) + 1, note
    for r in county.signed:
        [(status, _, reason, _)] = county.landed("education", r[0])
        assert status == "loaded" or (status == "quarantined" and "列" not in (reason or "")), reason


def test_a_title_above_a_one_row_header_is_not_read_as_a_header_row(county: County) -> None:
    """The title and the header were said to be a header over two rows (表头在第 1–2 行), and the
    title became the name of the unnamed row-number column (未识别的列 宁川县2024年学生名册)."""
    note = county.file("education", "students_titled.xlsx")
    assert note["records"] == len(county.titled_sheet), note
    assert "表头在第 2 行" in note["notes"], note
    assert not any("两行合并" in n or "宁川县" in n for n in note["notes"]), note
    for n, r in enumerate(county.titled_sheet, start=3):
        [(_, origin, _, payload)] = county.landed("education", r[0])
        assert origin == f"students_titled.xlsx:{n}", origin
        assert "宁川县2024年学生名册" not in payload, payload
