"""No connector loses or changes a record without saying so: the bad-input corpus through ``shouhu sync``.

The corpus (``tests/inputs_corpus.py``, seeded, cut from the synthetic generator's output)
is synced once with the real CLI; every damaged record and file must end as the corpus
says: loaded, quarantined with its reason and a message naming what is wrong, or listed
in the run report as ignored, empty or failed. Nothing received goes unaccounted for.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.inputs_corpus import Expect, build, generate_base

SHOUHU = [sys.executable, "-m", "shouhu.cli"]


def _env(data: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "128"}


def run(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SHOUHU + args, env=_env(data), capture_output=True, text=True, timeout=600)


class Synced:
    """The corpus, its expectations, and what one ``shouhu sync --from`` made of it."""

    def __init__(self, root: Path) -> None:
        self.export = root / "export"
        self.data = root / "data"
        self.expects: list[Expect] = build(generate_base(root / "generated"), self.export)
        out = run(["sync", "--from", str(self.export), "--json"], self.data)
        assert out.returncode == 0, out.stderr[-3000:]
        self.report: dict[str, Any] = json.loads(out.stdout)
        self.db = self.data / "shouhu.sqlite3"

    def rows(self, source: str, record_id: str) -> list[tuple[str, str | None, str | None]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(
                "SELECT status, reason_code, reason FROM landing_record WHERE source = ? AND record_id = ? "
                "ORDER BY seq",
                (source, record_id),
            ).fetchall()

    def files(self, source: str) -> dict[str, dict[str, Any]]:
        rep = next(s for s in self.report["sources"] if s["source"] == source)
        return {f["file"]: f for f in rep["files"]}

    def cases(self, *names: str) -> list[Expect]:
        found = [e for e in self.expects if e.case in names]
        assert found, names
        return found


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Synced:
    return Synced(tmp_path_factory.mktemp("inputs"))


def _check_records(s: Synced, expects: list[Expect]) -> None:
    for e in expects:
        assert e.record_id is not None
        rows = s.rows(e.source, e.record_id)
        assert rows, f"{e.case}: {e.source} {e.record_id} was never received"
        statuses = [r[0] for r in rows]
        assert e.status in statuses, (e, rows)
        if "versions" in e.extra:
            assert len(rows) == e.extra["versions"], (e, rows)
        if e.status == "quarantined":
            row = next(r for r in rows if r[0] == "quarantined")
            assert row[1] == e.reason, (e, row)
            assert e.message is None or e.message in (row[2] or ""), (e, row)


def _check_files(s: Synced, expects: list[Expect]) -> None:
    for e in expects:
        assert e.file is not None
        notes = s.files(e.source)
        assert e.file in notes, (e, sorted(notes))
        note = notes[e.file]
        assert note["status"] == e.status, (e, note)
        text = " ".join([note.get("reason", ""), *note.get("notes", [])])
        assert e.message is None or e.message in text, (e, note)
        if "encoding" in e.extra:
            assert note.get("encoding") == e.extra["encoding"], (e, note)


def test_every_record_received_is_accounted_for(synced: Synced) -> None:
    for s in synced.report["sources"]:
        assert s["status"] == "completed", s
        assert s["unexplained"] == 0, s
        assert s["received"] == s["loaded"] + s["quarantined"], s
    with sqlite3.connect(synced.db) as conn:
        pending = conn.execute("SELECT count(*) FROM landing_record WHERE status = 'pending'").fetchone()[0]
    assert pending == 0


def test_every_file_in_a_source_folder_is_read_or_listed(synced: Synced) -> None:
    folders = {
        "police_hukou": "police",
        "police_incident": "police",
        "education": "education",
        "health": "health",
        "survey": "survey",
    }
    seen_police: set[str] = set()
    for source, folder in folders.items():
        listed = set(synced.files(source))
        on_disk = {p.name for p in (synced.export / folder).iterdir()}
        if folder == "police":
            seen_police |= listed
            continue
        assert listed == on_disk, (source, on_disk ^ listed)
    assert seen_police == {p.name for p in (synced.export / "police").iterdir()}


def test_csv_last_row_without_line_end_and_a_file_cut_mid_row(synced: Synced) -> None:
    assert not (synced.export / "police" / "hukou.csv").read_bytes().endswith(b"\n")
    _check_records(synced, synced.cases("csv.no_final_newline", "csv.cut_mid_row"))


def test_a_line_no_encoding_reads_is_quarantined_by_file_and_line_and_the_rest_goes_on(
    synced: Synced,
) -> None:
    _check_records(synced, synced.cases("encoding.bad_line", "encoding.bad_line.others"))
    gbk = [e for e in synced.cases("encoding.gbk") if e.file]
    _check_files(synced, gbk)
    _check_records(synced, [e for e in synced.cases("encoding.gbk") if e.record_id])


def test_duplicate_record_ids_in_one_file_are_reported_not_overwritten(synced: Synced) -> None:
    _check_records(synced, synced.cases("record.duplicate"))


def test_header_synonyms_and_missing_columns(synced: Synced) -> None:
    _check_files(synced, synced.cases("header.synonym", "header.optional_missing"))
    _check_records(synced, synced.cases("column.missing"))


def test_xlsx_data_sheet_after_a_cover_sheet(synced: Synced) -> None:
    _check_files(synced, [e for e in synced.cases("xlsx.cover_sheet") if e.file])
    _check_records(synced, [e for e in synced.cases("xlsx.cover_sheet") if e.record_id])


def test_files_ignored_empty_sniffed_or_unreadable_are_listed(synced: Synced) -> None:
    cases = synced.cases("file.ignored", "file.empty", "file.sniffed", "file.unreadable")
    _check_files(synced, [e for e in cases if e.file])
    _check_records(synced, [e for e in cases if e.record_id])


def test_invalid_id_numbers_are_kept_as_unverified_claims_never_as_keys(synced: Synced) -> None:
    cases = synced.cases("id.unverified")
    _check_records(synced, cases)
    warnings = next(s for s in synced.report["sources"] if s["source"] == "education")["warnings_by_code"]
    with sqlite3.connect(synced.db) as conn:
        for e in cases:
            assert warnings.get(e.reason, 0) >= 1, (e.reason, warnings)
            row = conn.execute(
                "SELECT id_number, id_claim, id_status FROM resolution_mention WHERE system = 'education' "
                "AND record_id = ?",
                (e.record_id,),
            ).fetchone()
            assert row == (None, e.extra["claim"], e.reason), (e, row)
            method = conn.execute(
                "SELECT method FROM person_link WHERE system = 'education' AND record_id = ?", (e.record_id,)
            ).fetchone()
            assert method is not None and method[0] != "id_number", (e, method)


def test_names_are_stored_as_given(synced: Synced) -> None:
    from graph.ladybug import LadybugStore

    cases = synced.cases("name.as_given")
    _check_records(synced, cases)
    store = LadybugStore(synced.data / "graph.lbug", 128)
    try:
        names = {row[0] for row in store._run("MATCH (p:Person) RETURN p.name")}
    finally:
        store.close()
    for e in cases:
        assert e.extra["name"] in names, e.extra["name"]


def test_the_corpus_is_the_same_for_the_same_seed(synced: Synced, tmp_path: Path) -> None:
    again = build(synced.export.parent / "generated", tmp_path / "again")
    assert again == synced.expects
    for path in sorted((synced.export).rglob("*.csv")):
        twin = tmp_path / "again" / path.relative_to(synced.export)
        assert twin.read_bytes() == path.read_bytes(), path


def test_a_resync_reads_nothing_twice_and_an_appended_last_row_is_read_once(
    synced: Synced, tmp_path: Path
) -> None:
    import shutil

    export = tmp_path / "export"
    shutil.copytree(synced.export, export)
    data = tmp_path / "data"
    shutil.copytree(synced.data, data)
    out = run(["sync", "--from", str(export), "--json"], data)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["total"]["received"] == 0, report["total"]
    # The register grows: the line end of the formerly last row and one more row.
    hukou = export / "police" / "hukou.csv"
    text = hukou.read_bytes().decode("gb18030")
    last = text.rsplit("\n", 1)[1]
    extra = last.split(",")
    extra[0] = extra[0][:-3] + "999"
    hukou.write_bytes((text + "\n" + ",".join(extra) + "\n").encode("gb18030"))
    out = run(["sync", "police_hukou", "--from", str(export), "--json"], data)
    assert out.returncode == 0, out.stderr[-2000:]
    src = json.loads(out.stdout)["sources"][0]
    # The old last row is read again and recognised; the new one is loaded.
    assert (src["received"], src["unchanged"], src["loaded"]) == (2, 1, 1), src


def test_a_missing_export_folder_is_an_error_in_chinese(tmp_path: Path) -> None:
    out = run(["sync", "--from", str(tmp_path / "nowhere")], tmp_path / "data")
    assert out.returncode == 2
    assert "导出目录不存在" in out.stderr


def test_a_missing_or_empty_source_folder_fails_that_source_loudly(synced: Synced, tmp_path: Path) -> None:
    import shutil

    export = tmp_path / "export"
    shutil.copytree(synced.export / "reference", export / "reference")
    shutil.copytree(synced.export / "education", export / "education")
    (export / "survey").mkdir()
    out = run(["sync", "--from", str(export)], tmp_path / "data")
    assert out.returncode == 1, out.stdout
    assert "来源目录为空" in out.stdout and "来源目录不存在" in out.stdout
    assert "教育学籍" in out.stdout and "无法解释 0 ✓" in out.stdout
