"""A source whose read fails partway: the run report accounts for what was read before it.

Landing commits every ``sync_land_chunk_records`` records as it reads, so when the read then fails
(here: the third file of the survey folder cannot be read, an input/output error: it is a link to
``/proc/self/mem``, which lists as a regular file and fails every read, as a failing disk or a
network share that drops does) the chunks already landed are processed like any others. The report
must count them as received, say which file the read stopped at and why in the catalogue's words
(no record's content in it), and the next sync, with the file repaired, must read everything again
from the old cursor: what was landed before is counted unchanged, nothing is lost or landed twice.

A workbook that opens but whose sheet is corrupt is no such failure: it is that file's
unreadable-file record, and the folder's other files are read. Real files through ``shouhu sync``
and ``shouhu runs``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from tests import test_connectors_support as support
from tests.test_connectors_cli import SHOUHU, _env

county = support.county

CHUNK = "5"  # records per landing transaction: chunks land from the first two files before the failure


def _corrupt_sheet(data: bytes) -> bytes:
    """The workbook with bytes of its worksheet's compressed stream scrambled: it opens (its
    directory is intact) and fails while its rows are read."""
    out = bytearray(data)
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    for i in range(middle, middle + 40):
        out[i] ^= 0x5A
    return bytes(out)


def _survey_folder(county: Path, dest: Path, corrupt: bool = False) -> tuple[Path, Path, bytes]:
    """An export whose survey folder holds two JSON files and then (third in name order) a
    workbook that fails to be read (an input/output error on every read; with ``corrupt``, a
    workbook whose sheet is corrupt), then the rest; the workbook's good bytes to repair it with."""
    shutil.copytree(county, dest)
    survey = dest / "survey"
    names = sorted(p.name for p in survey.iterdir())
    first_two = [n for n in names if n.endswith(".json")][:2]
    xlsx = next(n for n in names if n.endswith(".xlsx"))
    good = (survey / xlsx).read_bytes()
    (survey / xlsx).unlink()
    bad = survey / (Path(first_two[1]).stem + "x.xlsx")  # sorts right after the second
    if corrupt:
        bad.write_bytes(_corrupt_sheet(good))
    else:
        bad.symlink_to("/proc/self/mem")  # a regular file to list, EIO to read
    assert sorted(p.name for p in survey.iterdir())[:3] == [*first_two, bad.name]
    return dest, bad, good


def _sync(export: Path, data: Path) -> tuple[int, dict[str, Any]]:
    import subprocess

    env = {**_env(data), "SHOUHU_SYNC_LAND_CHUNK_RECORDS": CHUNK}
    out = subprocess.run(
        [*SHOUHU, "sync", "--from", str(export), "survey", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout)


def _runs(data: Path) -> list[dict[str, Any]]:
    import subprocess

    out = subprocess.run(
        [*SHOUHU, "runs", "--json"], env=_env(data), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def _forms(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line.rstrip(",")) for line in path.read_text(encoding="utf-8").splitlines()[1:-1]]


def _landing(data: Path) -> dict[str, int]:
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        return dict(
            conn.execute("SELECT status, count(*) FROM landing_record WHERE source='survey' GROUP BY status")
        )


def test_a_read_that_fails_partway_accounts_for_what_it_landed_and_the_next_sync_catches_up(
    county: Path, tmp_path: Path
) -> None:
    export, bad, good = _survey_folder(county, tmp_path / "export")
    data = tmp_path / "data"
    survey = export / "survey"
    before = sorted(p for p in survey.iterdir() if p.name < bad.name)
    read_before = sum(len(_forms(p)) for p in before)
    assert read_before > 2 * int(CHUNK)

    code, report = _sync(export, data)
    assert code == 1  # the run failed: the operator must hear of it
    rep = report["sources"][0]
    assert rep["status"] == "failed"
    # Everything read before the failure was landed, processed and counted.
    assert rep["received"] == read_before, rep
    assert rep["loaded"] + rep["quarantined"] == read_before, rep
    assert rep["unexplained"] == 0 and report["total"]["unexplained"] == 0, rep
    # Where and why, in the catalogue's words (Chinese first), with no record's content.
    error = rep["error"]
    assert bad.name in error and "读取" in error and "reading" not in error, error
    names = {f["child"]["name"] for p in before for f in _forms(p) if isinstance(f.get("child"), dict)}
    assert not any(n and n in error for n in names), error
    failed = [f for f in rep["files"] if f["file"] == bad.name]
    assert failed and failed[0]["status"] == "stopped" and failed[0].get("reason"), rep["files"]
    # The runs listing stores the same accounting and error.
    stored = next(r for r in _runs(data) if r["source"] == "survey")
    assert stored["received"] == read_before and stored["unexplained"] == 0 and stored["error"] == error

    # Repaired: the next sync reads from the old cursor, the first two files' forms are unchanged.
    bad.unlink()
    bad.write_bytes(good)
    code, again = _sync(export, data)
    rep2 = again["sources"][0]
    assert code == 0 and rep2["status"] == "completed", rep2
    assert rep2["unchanged"] + rep2["duplicates"] >= read_before, rep2
    assert rep2["unexplained"] == 0 and rep2["resumed"] == 0, rep2
    assert "pending" not in _landing(data)
    # Nothing lost, nothing twice: the record is what one sync of the repaired folder leaves.
    code, clean = _sync(export, tmp_path / "clean")
    assert code == 0
    assert _landing(data) == _landing(tmp_path / "clean")
    one = clean["sources"][0]
    assert rep["loaded"] + rep2["loaded"] == one["loaded"]
    assert rep["quarantined"] + rep2["quarantined"] == one["quarantined"]


def test_a_workbook_whose_sheet_is_corrupt_is_that_files_record_and_the_folder_goes_on(
    county: Path, tmp_path: Path
) -> None:
    """It opens (its directory is intact) and fails while its rows are read: the file is noted
    failed with its reason, one unreadable-file record is quarantined for it, and the files after
    it are read (before, the read stopped there and the rest of the folder was never read)."""
    export, bad, _ = _survey_folder(county, tmp_path / "export", corrupt=True)
    data = tmp_path / "data"
    code, report = _sync(export, data)
    rep = report["sources"][0]
    assert code == 0 and rep["status"] == "completed", rep.get("error")
    notes = {f["file"]: f for f in rep["files"]}
    assert notes[bad.name]["status"] == "failed", notes[bad.name]
    # zlib's error, at open (openpyxl reads each sheet's start) or while the rows are read
    reason = notes[bad.name]["reason"]
    assert reason.startswith(bad.name) and "（error）" in reason, reason
    after = sorted(p.name for p in (export / "survey").iterdir() if p.name > bad.name)
    assert after and all(notes[n]["status"] == "read" and notes[n]["records"] > 0 for n in after)
    rows = sum(f.get("records") or 0 for f in rep["files"])
    assert rep["received"] == rows + 1 and rep["unexplained"] == 0, rep  # every row, and the file's record
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        (reason,) = conn.execute(
            "SELECT reason_code FROM landing_record WHERE source = 'survey' AND origin = ?", (bad.name,)
        ).fetchone()
    assert reason == "file.unreadable"


def test_a_broken_link_and_a_pipe_in_the_folder_are_noted_not_passed_over(
    county: Path, tmp_path: Path
) -> None:
    """The folder listing named neither (they were dropped silently); now each is in the report's
    file list, ignored with why, and the rest of the folder is read as before."""
    import os

    export = tmp_path / "export"
    shutil.copytree(county, export)
    survey = export / "survey"
    (survey / "gone.json").symlink_to(tmp_path / "nowhere.json")
    os.mkfifo(survey / "pipe.json")
    code, report = _sync(export, tmp_path / "data")
    rep = report["sources"][0]
    assert code == 0 and rep["status"] == "completed", rep.get("error")
    notes = {f["file"]: f for f in rep["files"]}
    assert notes["gone.json"]["status"] == "ignored" and "符号链接" in notes["gone.json"]["reason"]
    assert notes["pipe.json"]["status"] == "ignored" and "管道" in notes["pipe.json"]["reason"]
