"""A library's warning is no way for a record's value into the log. openpyxl warns, through Python's
warnings (printed on stderr, past the log-record factory of kernel/logs.py), when a date-formatted
cell holds a number no date can be, quoting the number: an ID number a clerk put into a cell of a
date column's format. A sync of such a workbook printed the ID number on stderr, the service's log
wherever 'shouhu serve' runs. Warnings now reach the log as their kind and place only, as exceptions
do (SHOUHU_ERROR_DETAIL=1 keeps the text)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from connectors.sources.education import STUDENT_HEADER

SHOUHU = [sys.executable, "-m", "shouhu.cli"]


def _env(data: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_") and k != "PYTHONWARNINGS"}
    return {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "128", **extra}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A school's roster whose one pupil's 身份证号 cell carries a date format (the number in it)."""
    from connectors.synthetic import generate

    root = tmp_path_factory.mktemp("warned")
    generated = root / "generated"
    generate(generated, 200, 20261207)
    out = root / "export"
    (out / "education").mkdir(parents=True)
    shutil.copytree(generated / "reference", out / "reference")
    text = (generated / "education" / "students_batch1.csv").read_text(encoding="utf-8-sig")
    header, *rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    assert header == list(STUDENT_HEADER)
    at = header.index("身份证号")
    rows = [r for r in rows if r[at].isdigit()][:5]
    id_number = rows[0][at]
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for n, r in enumerate(rows):
        ws.append([int(v) if n == 0 and i == at else v for i, v in enumerate(r)])
    ws.cell(row=2, column=at + 1).number_format = "yyyy-mm-dd"
    wb.save(out / "education" / "students.xlsx")
    return out, id_number


def test_a_warning_quoting_a_cell_leaves_its_value_out_of_the_log(
    export: tuple[Path, str], tmp_path: Path
) -> None:
    folder, id_number = export
    out = subprocess.run(
        [*SHOUHU, "sync", "education", "--from", str(folder), "--json"],
        env=_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode in (0, 1), out.stderr[-3000:]
    # openpyxl quotes the number as a float (5.002482016121357e+17): its digits, the point left out.
    digits = out.stderr.replace(".", "")
    assert id_number[:12] not in digits, out.stderr[-2000:]
    assert "UserWarning" in out.stderr  # the warning is still said: its kind and where it was raised
