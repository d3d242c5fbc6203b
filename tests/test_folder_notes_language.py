"""What the run report says of a folder's entries it does not read, in the operator's language.

A broken link, a named pipe, and a workbook's instruction sheet passed over are listed in the
report with why (``shouhu sync --json``, files of the source): Chinese unless SHOUHU_LANGUAGE=en,
from the catalogue like every other note (they were Chinese written into the code).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from kernel.messages import MESSAGES
from tests.test_connectors_cli import SHOUHU, _env

PERSONS = 200
SEED = 13


def _said(key: str, language: str, **values: Any) -> str:
    zh, en = MESSAGES[key]
    return (en if language == "en" else zh).format(**values)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reference and survey of a small county, the survey folder also holding a broken link, a
    named pipe, and a workbook with a 填表说明 sheet (the template's example row) beside its records."""
    from connectors.synthetic import generate

    root = tmp_path_factory.mktemp("notes")
    county = root / "county"
    generate(county, PERSONS, SEED)
    out = root / "export"
    shutil.copytree(county / "reference", out / "reference")
    shutil.copytree(county / "survey", out / "survey")
    survey = out / "survey"
    book = next(p for p in sorted(survey.glob("*.xlsx")))
    wb = load_workbook(book)
    records = wb.worksheets[0]
    guide = wb.create_sheet("填表说明")
    for row in records.iter_rows(min_row=1, max_row=2, values_only=True):
        guide.append(list(row))
    wb.save(book)
    (survey / "gone.json").symlink_to(root / "nowhere.json")
    os.mkfifo(survey / "pipe.json")
    return out


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_entries_not_read_are_said_in_the_operators_language(
    export: Path, tmp_path: Path, language: str
) -> None:
    env = _env(tmp_path / "data")
    if language == "en":
        env["SHOUHU_LANGUAGE"] = "en"
    out = subprocess.run(
        [*SHOUHU, "sync", "--from", str(export), "survey", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-2000:]
    report = json.loads(out.stdout)
    files = {f["file"]: f for f in report["sources"][0]["files"]}
    assert files["gone.json"]["status"] == "ignored"
    assert files["gone.json"]["reason"] == _said("folder.broken_link", language)
    assert files["pipe.json"]["status"] == "ignored"
    assert files["pipe.json"]["reason"] == _said("folder.not_a_file", language)
    book = next(n for n in sorted(files) if n.endswith(".xlsx"))
    passed_over = _said("xlsx.guide_sheets_ignored", language, names="填表说明")
    assert passed_over in files[book]["notes"], files[book]
