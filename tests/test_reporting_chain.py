"""The reporting chain through the API: village → township → county, deadlines, CSV and XLSX."""

from __future__ import annotations

import base64
import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from graph.factory import open_graph
from kernel.db import make_engine, migrate
from kernel.settings import Settings
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE, VILLAGE2, family
from tests.screening_support import Families, away, data, error, store_of

TOWN2 = "500101002000"
PERIOD = "2026-Q3"
REPORT = """query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) {
  division level kind period deadline status overdue note
  rows { division counts { key count } } totals { key count } lowerLevels { division status } } }"""
FILE = """query($d: String!, $p: String!, $f: ReportFormat!) {
  periodicReportFile(division: $d, period: $p, format: $f) { filename contentType contentBase64 } }"""
SUBMIT = """mutation($d: String!, $p: String!) {
  submitPeriodicReport(division: $d, period: $p) { status totals { key count } } }"""
DECIDE = """mutation($d: String!, $p: String!, $ok: Boolean!, $note: String) {
  decidePeriodicReport(division: $d, period: $p, approve: $ok, note: $note) { status note } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"


def counts(items: list[dict]) -> dict[str, int]:
    return {c["key"]: c["count"] for c in items}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("reporting")):
        fam = Families(store_of(a), seed=5)
        fam.child(VILLAGE, father=away(), mother=away())
        fam.child(VILLAGE, father={"deceased": True}, mother={"deceased": True})
        fam.child(VILLAGE2, father=away(), mother=away(), sex="F")
        fam.child(VILLAGE2, father=away(), mother={"guardianship_capacity": False}, disability="visual-1")
        data(a.gql("civil", RECOMPUTE, {"d": COUNTY}))
        yield a


def test_quarterly_chain_village_township_county(api: Api) -> None:
    v = data(api.gql("village", REPORT, {"d": VILLAGE, "p": PERIOD}))["periodicReport"]
    assert (v["level"], v["kind"], v["status"], v["deadline"]) == (
        "village",
        "quarterly",
        "draft",
        "2026-10-05",
    )
    assert counts(v["totals"]) == {"children": 3, "left_behind": 2, "orphan": 1, "in_distress": 1}

    # The county cannot report before its townships, nor a township before its villages.
    e = error(api.gql("township", SUBMIT, {"d": TOWN, "p": PERIOD}))
    assert e["extensions"]["reason"] == "lower_level_missing" and VILLAGE in e["message"]
    # Each level submits its own report only.
    assert (
        error(api.gql("township", SUBMIT, {"d": VILLAGE, "p": PERIOD}))["extensions"]["code"] == "FORBIDDEN"
    )

    assert data(api.gql("village", SUBMIT, {"d": VILLAGE, "p": PERIOD}))["submitPeriodicReport"][
        "status"
    ] == ("submitted")
    again = error(api.gql("village", SUBMIT, {"d": VILLAGE, "p": PERIOD}))
    assert again["extensions"]["code"] == "INVALID_TRANSITION"
    # The village cannot approve its own report; returning needs a note; the township approves.
    assert error(api.gql("village", DECIDE, {"d": VILLAGE, "p": PERIOD, "ok": True}))["extensions"][
        "reason"
    ] == ("capability_missing")
    no_note = error(api.gql("township", DECIDE, {"d": VILLAGE, "p": PERIOD, "ok": False}))["extensions"]
    assert no_note["code"] == "BAD_REQUEST" and no_note["reason"] == "note_required"
    ok = data(api.gql("township", DECIDE, {"d": VILLAGE, "p": PERIOD, "ok": True}))["decidePeriodicReport"]
    assert ok["status"] == "approved"

    t = data(api.gql("township", SUBMIT, {"d": TOWN, "p": PERIOD}))["submitPeriodicReport"]
    assert counts(t["totals"])["children"] == 3
    e = error(api.gql("county", SUBMIT, {"d": COUNTY, "p": PERIOD}))
    assert (
        e["extensions"]["reason"] == "lower_level_missing"
        and TOWN2 in e["message"]
        and TOWN not in e["message"]
    )

    data(api.gql("village2", SUBMIT, {"d": VILLAGE2, "p": PERIOD}))
    data(api.gql("township2", DECIDE, {"d": VILLAGE2, "p": PERIOD, "ok": True}))
    data(api.gql("township2", SUBMIT, {"d": TOWN2, "p": PERIOD}))
    c = data(api.gql("county", SUBMIT, {"d": COUNTY, "p": PERIOD}))["submitPeriodicReport"]
    assert c["status"] == "submitted"
    assert counts(c["totals"]) == {
        "children": 5,
        "left_behind": 4,
        "orphan": 1,
        "disability": 1,
        "in_distress": 2,
    }
    county = data(api.gql("county", REPORT, {"d": COUNTY, "p": PERIOD}))["periodicReport"]
    assert [r["division"] for r in county["rows"]] == [TOWN, TOWN2]
    assert county["deadline"] == "2026-10-15"
    assert {x["status"] for x in county["lowerLevels"]} == {"submitted"}

    # Submitted figures are frozen: a child added later changes the live roll-up, not the report.
    Families(store_of(api), seed=99).child(VILLAGE, father=away(), mother=away())
    data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
    frozen = data(api.gql("village", REPORT, {"d": VILLAGE, "p": PERIOD}))["periodicReport"]
    assert counts(frozen["totals"])["children"] == 3
    live = data(api.gql("village", REPORT, {"d": VILLAGE, "p": "2026-Q4"}))["periodicReport"]
    assert counts(live["totals"])["children"] == 4 and live["status"] == "draft"

    # CSV: UTF-8 with BOM, one row per township and the total.
    f = data(api.gql("county", FILE, {"d": COUNTY, "p": PERIOD, "f": "CSV"}))["periodicReportFile"]
    assert f["filename"] == f"shouhu-quarterly-{COUNTY}-{PERIOD}.csv"
    raw = base64.b64decode(f["contentBase64"])
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    head = rows[1]
    assert head[:3] == ["division", "name", "children"] and rows[2][2] == "儿童总数"
    body = {r[0]: dict(zip(head, r, strict=True)) for r in rows[3:]}
    assert body[TOWN]["children"] == "3" and body[TOWN]["name"] == "D1000"
    assert body[TOWN2]["left_behind"] == "2" and body["total"]["children"] == "5"

    # XLSX: the same table, parsed back with openpyxl.
    x = data(api.gql("county", FILE, {"d": COUNTY, "p": PERIOD, "f": "XLSX"}))["periodicReportFile"]
    assert x["contentType"].endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(base64.b64decode(x["contentBase64"]))).active
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0][:2] == ["季度报告", COUNTY] and values[0][2] == PERIOD  # the county has no name here
    sheet = {r[0]: dict(zip(values[1], r, strict=True)) for r in values[3:]}
    assert sheet[TOWN]["children"] == 3 and sheet[TOWN2]["disability"] == 1
    assert sheet["total"]["left_behind"] == 4 and sheet["total"]["in_distress"] == 2


def test_annual_deadline_and_errors(api: Api) -> None:
    annual = data(api.gql("county", REPORT, {"d": COUNTY, "p": "2026"}))["periodicReport"]
    assert (annual["kind"], annual["deadline"]) == ("annual", "2026-12-10")
    village = data(api.gql("village", REPORT, {"d": VILLAGE, "p": "2026"}))["periodicReport"]
    assert village["deadline"] == "2026-11-25"
    assert (
        error(api.gql("county", REPORT, {"d": COUNTY, "p": "2026-Q5"}))["extensions"]["code"] == "BAD_REQUEST"
    )
    assert (
        error(api.gql("village", REPORT, {"d": TOWN, "p": "2026"}))["extensions"]["reason"] == "out_of_scope"
    )
    assert error(api.gql("school", REPORT, {"d": TOWN, "p": "2026"}))["extensions"]["reason"] == (
        "capability_missing"
    )


def test_cli_writes_the_report_as_xlsx_and_csv(tmp_path: Path) -> None:
    """`shouhu report classify`, then `shouhu report quarterly|annual --out`, as an operator runs them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env.update({"SHOUHU_DATA_DIR": str(tmp_path / "data"), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"})
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256)
    settings.data_dir.mkdir(parents=True)
    migrate(make_engine(settings.sql_url))
    store = open_graph(settings)
    family(store)
    store.close()

    def shouhu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shouhu.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )

    classify = shouhu("report", "classify")
    assert classify.returncode == 0, classify.stderr
    assert classify.stdout.startswith("已分类 1 名儿童")
    out = tmp_path / "q.xlsx"
    q = shouhu("report", "quarterly", "--division", COUNTY, "--period", PERIOD, "--out", str(out))
    assert q.returncode == 0, q.stderr
    ws = load_workbook(out).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    total = dict(zip(rows[1], rows[-1], strict=True))
    assert total["children"] == 1 and total["left_behind"] == 1
    a = shouhu("report", "annual", "--division", COUNTY, "--period", "2026", "--out", str(tmp_path / "a.csv"))
    assert a.returncode == 0 and "截止日期 2026-12-10" in a.stdout
    bad = shouhu(
        "report", "annual", "--division", COUNTY, "--period", "2026-Q1", "--out", str(tmp_path / "b.csv")
    )
    assert bad.returncode == 2 and "是季度，不是年度" in bad.stderr
    assert not (tmp_path / "b.csv").exists()


def test_a_period_outside_the_years_that_can_be_reported_is_refused_naming_it(api: Api) -> None:
    """ "1950" made the figures of an ended period classify again nearly everyone born since
    (a request any report reader could repeat), and "0017" failed inside with a date error."""
    for period in ("1950", "0017", "2015-Q4", "2999"):
        e = error(api.gql("village", REPORT, {"d": VILLAGE, "p": period}))
        assert e["extensions"]["code"] == "BAD_REQUEST" and period in e["message"], e
        assert "2016" in e["message"]
