"""The reporting chain against the seeds' rules, with the clock pinned: lateness counted in the
Beijing day, and each level's figures adding up to the reports of the level below."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kernel import clock
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE
from tests.screening_support import Families, away, data, store_of

REPORT = """query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) {
  deadline status overdue totals { key count } } }"""
SUBMIT = """mutation($d: String!, $p: String!) {
  submitPeriodicReport(division: $d, period: $p) { status totals { key count } } }"""
DECIDE = """mutation($d: String!, $p: String!, $ok: Boolean!) {
  decidePeriodicReport(division: $d, period: $p, approve: $ok) { status } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"


def counts(items: list[dict]) -> dict[str, int]:
    return {c["key"]: c["count"] for c in items}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("reporting-rules")):
        fam = Families(store_of(a), seed=7)
        fam.child(VILLAGE, father=away(), mother=away())
        fam.child(VILLAGE, father=away(), mother=away())
        data(a.gql("civil", RECOMPUTE, {"d": COUNTY}))
        yield a


def test_a_report_submitted_the_morning_after_its_deadline_is_late(api: Api) -> None:
    """ziyang-2017-notice.txt: "村（居）民委员会每季度向乡（镇）人民政府报告一次本村（居）
    农村留守儿童和困境儿童状况"
    -- the village's 2026-Q1 report is due 2026-04-05 (the county's configured 5 days). Submitted
    at 07:00 Beijing time on 6 April (23:00 UTC on the 5th) it is a day late; the platform
    compared the UTC date of the submission and said it was on time."""
    with clock.pinned(datetime(2026, 4, 5, 23, 0, tzinfo=UTC)):
        assert clock.today().isoformat() == "2026-04-06"
        data(api.gql("village", SUBMIT, {"d": VILLAGE, "p": "2026-Q1"}))
        r = data(api.gql("village", REPORT, {"d": VILLAGE, "p": "2026-Q1"}))["periodicReport"]
    assert (r["deadline"], r["status"]) == ("2026-04-05", "submitted")
    assert r["overdue"] is True


def test_the_township_figure_is_the_sum_of_its_villages_reports(api: Api) -> None:
    """zhangye-2016-implementation-plan.txt: "实行村(居)民委员会、乡镇人民政府(街道办事处)、民政部门
    逐级季度和年度报告制度", and reporting.py promises "the county's figure is the sum of reports that
    exist". A child classified after the village submitted must not appear in the township's
    report while the village's submitted report, which the township approved, does not count it."""
    p = "2026-Q2"
    with clock.pinned(datetime(2026, 6, 30, 15, 30, tzinfo=UTC)):  # 23:30 Beijing, last day of Q2
        v = data(api.gql("village", SUBMIT, {"d": VILLAGE, "p": p}))["submitPeriodicReport"]
        data(api.gql("township", DECIDE, {"d": VILLAGE, "p": p, "ok": True}))
        Families(store_of(api), seed=71).child(VILLAGE, father=away(), mother=away())
        data(api.gql("civil", RECOMPUTE, {"d": COUNTY}))
        t = data(api.gql("township", SUBMIT, {"d": TOWN, "p": p}))["submitPeriodicReport"]
    assert counts(t["totals"]) == counts(v["totals"])


def test_the_county_does_not_approve_a_village_report_over_its_township(api: Api) -> None:
    """zhangye-2016-implementation-plan.txt: "实行村(居)民委员会、乡镇人民政府(街道办事处)、民政部门
    逐级季度和年度报告制度"; ziyang-2017-notice.txt: the village "每季度向乡（镇）人民政府报告一次".
    The village's report goes to its township; the county approved it directly, level skipped."""
    p = "2026-Q3"
    data(api.gql("village", SUBMIT, {"d": VILLAGE, "p": p}))
    e = api.gql("county", DECIDE, {"d": VILLAGE, "p": p, "ok": True}).json()["errors"][0]
    assert e["extensions"]["code"] == "FORBIDDEN"
    assert data(api.gql("township", DECIDE, {"d": VILLAGE, "p": p, "ok": True}))["decidePeriodicReport"][
        "status"
    ] == ("approved")


def test_a_quarter_not_yet_begun_cannot_be_reported(api: Api) -> None:
    """ziyang-2017-notice.txt: "村（居）民委员会每季度向乡（镇）人民政府报告一次本村（居）农村留守儿童和
    困境儿童状况": a quarter's report reports that quarter. On 30 June at 23:30 Beijing (15:30 UTC)
    the village could submit its 2026-Q4 report (and the 2027 annual one), freezing figures for a
    period not yet begun."""
    with clock.pinned(datetime(2026, 6, 30, 15, 30, tzinfo=UTC)):
        body = api.gql("village", SUBMIT, {"d": VILLAGE, "p": "2026-Q4"}).json()
        assert body.get("errors"), body
        assert body["errors"][0]["extensions"]["reason"] == "period_not_begun"
        annual = api.gql("village", SUBMIT, {"d": VILLAGE, "p": "2027"}).json()
        assert annual["errors"][0]["extensions"]["reason"] == "period_not_begun"
