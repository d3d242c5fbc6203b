"""County files as other office software exports them, through ``shouhu sync``: each row loaded or
quarantined with a Chinese reason, never lost or mis-read, and the run's accounting holding.

Cut from the seeded generator's student register and re-exported as a clerk's software does it:
Excel's "Unicode text" (UTF-16, tab-separated; saved as .txt or renamed .csv), a CSV ending in
DOS's Ctrl-Z, an old .xls and an .ods workbook (named as such, or renamed .xlsx), a workbook whose
birth dates are formulas with their values cached as Excel saves them, and dates as Excel serial
numbers (in a CSV's text and in a number cell).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from connectors.sources.education import STUDENT_HEADER

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
ROOT = Path(__file__).resolve().parent.parent
SEED = 7
PERSONS = 300
BIRTH = STUDENT_HEADER.index("出生日期")
OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")  # the first bytes of an Excel 97-2003 workbook


def _text(header: list[str], rows: list[list[str]], sep: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue()


def _serial(iso: str) -> int:
    return (date.fromisoformat(iso) - date(1899, 12, 30)).days


def _ods() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    return buf.getvalue()


def _with_formulas(path: Path, column: str) -> None:
    """Every data cell of `column` turned into a formula with its value cached, as Excel saves it
    (=TEXT(DATE(…),"yyyy-mm-dd") over the date text the cell held)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()

    def formula(m: re.Match[str]) -> str:
        if m.group(1) == "1":
            return m.group(0)
        text = m.group(2)
        y, mo, d = text.split("-")
        return (
            f'<c r="{column}{m.group(1)}" t="str"><f>TEXT(DATE({y},{int(mo)},{int(d)}),"yyyy-mm-dd")</f>'
            f"<v>{text}</v></c>"
        )

    parts["xl/worksheets/sheet1.xml"], n = re.subn(
        rf'<c r="{column}(\d+)" t="inlineStr"><is><t>([^<]*)</t></is></c>', formula, sheet
    )
    assert n > 1, n
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)


class Export:
    def __init__(self, root: Path) -> None:
        from connectors.synthetic import generate

        generated = root / "generated"
        generate(generated, PERSONS, SEED)
        text = (generated / "education" / "students_batch1.csv").read_text("utf-8-sig")
        rows = [r for r in csv.reader(io.StringIO(text, newline=""))]
        header, rows = rows[0], [r for r in rows[1:] if r]
        assert header == list(STUDENT_HEADER) and len(rows) >= 20, len(rows)
        export = root / "export"
        shutil.copytree(generated / "reference", export / "reference")
        edu = export / "education"
        edu.mkdir()
        self.parts = {
            "students_unicode.csv": rows[0:3],
            "students_unicode.txt": rows[3:6],
            "students_ctrlz.csv": rows[6:9],
            "students_serial.csv": rows[9:12],
            "students_serialcell.xlsx": rows[12:15],
            "students_formula.xlsx": rows[15:18],
        }
        unicode_text = "\ufeff" + _text(header, rows[0:3], "\t")  # what Excel writes: a BOM, tabs
        (edu / "students_unicode.csv").write_bytes(unicode_text.encode("utf-16-le"))
        (edu / "students_unicode.txt").write_bytes(_text(header, rows[3:6], "\t").encode("utf-16"))
        (edu / "students_ctrlz.csv").write_bytes(_text(header, rows[6:9]).encode("utf-8-sig") + b"\x1a")
        serial = [[*r[:BIRTH], str(_serial(r[BIRTH])), *r[BIRTH + 1 :]] for r in rows[9:12]]
        (edu / "students_serial.csv").write_bytes(_text(header, serial).encode("utf-8-sig"))
        wb = Workbook()
        wb.active.append(header)
        for r in rows[12:15]:
            wb.active.append([*r[:BIRTH], _serial(r[BIRTH]), *r[BIRTH + 1 :]])
        wb.save(edu / "students_serialcell.xlsx")
        wb = Workbook()
        wb.active.append(header)
        for r in rows[15:18]:
            wb.active.append(r)
        wb.save(edu / "students_formula.xlsx")
        _with_formulas(edu / "students_formula.xlsx", "E")
        # Formulas a program wrote without computing them (openpyxl; a workbook re-saved by one): no
        # cached value, so a reader of values sees an empty cell.
        self.uncomputed = rows[18:20]
        wb = Workbook()
        wb.active.append(header)
        address = STUDENT_HEADER.index("家庭住址")
        for r in self.uncomputed:
            wb.active.append([*r[:address], '=CONCATENATE("重庆市","宁川县")', *r[address + 1 :]])
        wb.save(edu / "students_uncomputed.xlsx")
        (edu / "students_old.xls").write_bytes(OLE2 + bytes(504))
        (edu / "students_renamed.xlsx").write_bytes(OLE2 + bytes(504))
        (edu / "students_calc.ods").write_bytes(_ods())
        self.data = root / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
        env.update({"SHOUHU_DATA_DIR": str(self.data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "128"})
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        out = subprocess.run(
            [*SHOUHU, "sync", "education", "--from", str(export), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        [self.report] = json.loads(out.stdout)["sources"]

    def file(self, name: str) -> dict[str, Any]:
        return next(f for f in self.report["files"] if f["file"] == name)

    def landed(self, file: str) -> dict[str, tuple[str, str | None, dict[str, Any]]]:
        """origin → (status, reason, payload) of every record landed from `file`."""
        with sqlite3.connect(self.data / "shouhu.sqlite3") as conn:
            rows = conn.execute(
                "SELECT origin, status, reason, payload FROM landing_record WHERE origin LIKE ?",
                (f"{file}%",),
            ).fetchall()
        return {o: (s, r, json.loads(p)) for o, s, r, p in rows}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    return Export(tmp_path_factory.mktemp("exports"))


def _read_as_written(export: Export, file: str) -> None:
    """Every row of `file` landed at its line with the values the clerk typed, none quarantined
    for the file's shape (the generator's own typos may still quarantine a row for its content)."""
    rows = export.parts[file]
    landed = export.landed(file)
    assert sorted(landed) == [f"{file}:{n}" for n in range(2, 2 + len(rows))], sorted(landed)
    for n, r in enumerate(rows, start=2):
        status, reason, payload = landed[f"{file}:{n}"]
        assert {k: payload[k] for k in STUDENT_HEADER} == dict(zip(STUDENT_HEADER, r, strict=True))
        assert status == "loaded" or "列" not in (reason or ""), reason


def test_the_run_accounts_for_every_row(export: Export) -> None:
    rep = export.report
    assert rep["status"] == "completed", rep
    assert rep["received"] == rep["landed"] + rep["carried"] + rep["unchanged"] + rep["duplicates"], rep
    assert rep["landed"] == rep["loaded"] + rep["quarantined"] + rep["superseded"], rep
    assert rep["unexplained"] == 0, rep
    # 20 rows and one record for the workbook that could not be opened.
    assert rep["received"] == 21, rep


@pytest.mark.parametrize("file", ["students_unicode.csv", "students_unicode.txt"])
def test_excels_unicode_text_export_is_read_row_by_row(export: Export, file: str) -> None:
    """UTF-16 was split into lines on the LF byte and every row quarantined as "not valid utf-16
    text"; a tab-separated header was one unknown column (every row column.missing); a .txt was
    ignored as a file name that does not match."""
    _read_as_written(export, file)
    note = export.file(file)
    assert note["status"] == "read" and note["records"] == 3, note
    assert any("制表符" in n for n in note["notes"]), note


def test_a_trailing_ctrl_z_is_no_record(export: Export) -> None:
    """DOS's end-of-file mark was landed as a fourth row, quarantined as truncated."""
    _read_as_written(export, "students_ctrlz.csv")
    note = export.file("students_ctrlz.csv")
    assert note["records"] == 3, note
    assert any("Ctrl-Z" in n for n in note["notes"]), note


def test_formulas_are_read_by_the_values_excel_cached(export: Export) -> None:
    _read_as_written(export, "students_formula.xlsx")


@pytest.mark.parametrize("file", ["students_serial.csv", "students_serialcell.xlsx"])
def test_a_date_as_an_excel_serial_number_is_quarantined_naming_it(export: Export, file: str) -> None:
    rows = export.parts[file]
    landed = export.landed(file)
    assert len(landed) == len(rows), landed
    for n, r in enumerate(rows, start=2):
        status, reason, _ = landed[f"{file}:{n}"]
        assert status == "quarantined", (n, status)
        assert reason is not None and "出生日期" in reason and str(_serial(r[BIRTH])) in reason, reason


@pytest.mark.parametrize(
    ("file", "kind"), [("students_old.xls", "Excel 97-2003"), ("students_calc.ods", "OpenDocument")]
)
def test_an_old_workbook_is_named_with_what_to_send_instead(export: Export, file: str, kind: str) -> None:
    """Said only "the file name does not match the source's formats"."""
    note = export.file(file)
    assert note["status"] == "ignored", note
    assert kind in note["reason"] and "另存为 .xlsx" in note["reason"], note


def test_an_old_workbook_renamed_xlsx_is_named_as_such(export: Export) -> None:
    """Was "not a readable XLSX workbook (BadZipFile)"."""
    note = export.file("students_renamed.xlsx")
    assert note["status"] == "failed", note
    assert "Excel 97-2003" in note["reason"] and "另存为 .xlsx" in note["reason"], note
    [(status, reason, _)] = export.landed("students_renamed.xlsx").values()
    assert status == "quarantined" and reason == note["reason"]


def test_a_formula_without_a_computed_value_is_not_read_as_an_empty_cell(export: Export) -> None:
    """Read as an empty cell (openpyxl's cached values): the row loaded with 家庭住址 blank."""
    landed = export.landed("students_uncomputed.xlsx")
    assert len(landed) == len(export.uncomputed), landed
    for status, reason, _ in landed.values():
        assert status == "quarantined" and reason is not None and "家庭住址" in reason, (status, reason)
