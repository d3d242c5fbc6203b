"""The workflow pages in headless Chromium, each taken end to end by the role that does it:
评估帮扶 (township), 监护干预 up to the court petition (police, civil affairs) and the court naming a
new guardian, agreements (village committee), the match-review queue and the cross-check (civil
affairs), and the reporting chain village → township → county.

What the role before did is set up over the API with that role's own token (never the role under
test's work); what the page did is checked over the API afterwards. Refusals are checked in
Chinese. Each step is photographed into tests/browser/artifacts/<test>/.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kernel import clock
from tests.browser.conftest import PHONE, UNCLE_ID_NUMBER, Held, Server, Shots
from tests.browser.test_console import CHILD, session, sign_in
from tests.browser.test_console_walk import TEXTS, axe, problems
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE, VILLAGE2

WIDE = {"width": 1366, "height": 900}
CASE = """query($id: ID!) { protectionCase(id: $id) { status riskLevel closureReason
  services { kind status outcome } followUps { note }
  interventions { kind status decision guardian { id } newGuardian { id } } } }"""


def ok(server: Server, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = server.gql(who, query, variables)
    assert not body.get("errors"), body
    return body["data"]


def _accepted_case(server: Server, reporter: str, child: str, situation: str, summary: str) -> str:
    """A 强制报告 filed by `reporter` and accepted by the police: 应急处置 under way."""
    filed = ok(
        server,
        reporter,
        "mutation($i: FileReportInput!) { fileMandatoryReport(input: $i) { id caseId } }",
        {"i": {"childId": child, "situation": situation, "summary": summary}},
    )["fileMandatoryReport"]
    ok(server, "police", "mutation($id: ID!) { acceptReport(reportId: $id) { id } }", {"id": filed["id"]})
    return filed["caseId"]


def _open_case_page(page: Page, case_id: str) -> None:
    """From the Cases page, the case's own page, as a user gets there."""
    page.click("[data-nav=worklist]")
    rows = f"#cases-table tr[data-case='{case_id}'], #steps-table tr[data-case='{case_id}']"
    link = page.locator(rows).locator("a.case-link").first
    expect(link).to_be_visible()
    link.click()
    expect(page.locator(f"#case-title[data-case='{case_id}']")).to_be_visible()


def _clean(page: Page) -> None:
    """The page walk's checks on a page in a given state: no raw code, id, UTC stamp or
    English-only text, no serious or critical axe-core violation."""
    page.wait_for_load_state("networkidle")
    assert problems(page.evaluate(TEXTS)) == []
    assert [f"{v['id']}: {v['help']}" for v in axe(page)] == []


def _said(page: Page, where: str, kind: str = "ok") -> Any:
    return page.locator(f"#{where} .notice.{kind}")


@pytest.mark.parametrize(
    ("size", "child"),
    [("wide", "person:v2-child-011"), ("phone", "person:v2-child-012")],
    ids=["wide", "phone"],
)
def test_township_assesses_arranges_services_follows_up_and_closes(
    browser: Browser, server: Server, shots: Shots, size: str, child: str
) -> None:
    """评估帮扶 by the township the police notified, at 1366 px and on a phone: a refusal for
    missing findings is said in Chinese with what is missing; the case then walks to closure."""
    case_id = _accepted_case(server, "village2", child, "GUARDIAN_NEGLECT", "父母长期不管，孩子常饿肚子")
    ok(server, "police", "mutation($i: EmergencyActionInput!) { recordEmergencyAction(input: $i) { id } }",
       {"i": {"caseId": case_id, "action": "contact_parents"}})  # fmt: skip
    ok(server, "police", "mutation($id: ID!) { notifyTownship(caseId: $id) { id } }", {"id": case_id})

    viewport = PHONE if size == "phone" else WIDE
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "township2", "case_work")
        _open_case_page(page, case_id)
        expect(page.locator("#case-status")).to_have_text("待评估")
        # The assessment is opened with the police of the case and civil affairs, by name.
        boxes = page.locator("#open-assessment input[name=participant]")
        expect(boxes).to_have_count(2)
        expect(page.locator("#open-assessment")).to_contain_text("宁川县公安局")
        expect(page.locator("#open-assessment")).to_contain_text("宁川县民政局")
        shots(page, "assessment-pending")
        page.click("#open-assessment-submit")
        expect(page.locator("#case-status")).to_have_text("评估中")

        # Findings left out: refused, and the page says which, in Chinese.
        page.fill("#a-safety", "暂时安全")
        page.select_option("#a-risk", "high")
        page.click("#record-assessment-submit")
        refusal = _said(page, "assessment-status", "error")
        expect(refusal).to_contain_text("尚缺：监护状况、身体健康状况、心理健康状况")
        shots(page, "assessment-refused")
        page.fill("#a-guardianship", "父母外出，无人照料")
        page.fill("#a-physical", "营养不良")
        page.fill("#a-mental", "孤僻")
        page.click("#record-assessment-submit")
        expect(page.locator("#case-status")).to_have_text("帮扶中")
        expect(_said(page, "assessment-status")).to_have_text("评估结论已保存，进入帮扶。")

        page.select_option("#svc-kind", "guardianship_guidance")
        page.fill("#svc-provider", "石桥镇社工站")
        page.click("#arrange-service-submit")
        service = page.locator("#services-table tr[data-service=guardianship_guidance]")
        expect(service).to_contain_text("监护指导")
        # Closing with the service still open: refused, in words.
        page.fill("#close-reason", "父母返乡照料")
        page.click("#close-case-submit")
        expect(_said(page, "assistance-status", "error")).to_contain_text("结案未能完成")
        service.locator(".fu-note").fill("已上门指导，祖父母答应照看")
        service.locator(".follow-up").click()
        expect(page.locator("#follow-ups")).to_contain_text("已上门指导")
        service = page.locator("#services-table tr[data-service=guardianship_guidance]")
        service.locator(".svc-outcome").fill("监护落实")
        service.locator(".complete-service").click()
        expect(page.locator("#services-table tr[data-service=guardianship_guidance]")).to_contain_text(
            "已完成"
        )
        shots(page, "services-done")
        page.fill("#close-reason", "父母返乡照料")
        page.click("#close-case-submit")
        expect(page.locator("#case-status")).to_have_text("已结案")
        _clean(page)
        if size == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shots(page, "closed")

    case = ok(server, "township2", CASE, {"id": case_id})["protectionCase"]
    assert case["status"] == "closed" and case["closureReason"] == "父母返乡照料"
    assert case["riskLevel"] == "high"
    assert case["services"] == [
        {"kind": "guardianship_guidance", "status": "completed", "outcome": "监护落实"}
    ]
    assert [f["note"] for f in case["followUps"]] == ["已上门指导，祖父母答应照看"]


@pytest.mark.parametrize(
    ("size", "situation", "guardian", "guardian_name"),
    [
        ("wide", "GUARDIAN_NEGLECT", "person:father", "甲丙"),
        ("phone", "LIVING_ALONE", "person:mother", "丁戊"),
    ],
    ids=["wide", "phone"],
)
def test_guardianship_intervention_petition_and_the_court_naming_a_new_guardian(
    browser: Browser,
    server: Server,
    shots: Shots,
    size: str,
    situation: str,
    guardian: str,
    guardian_name: str,
) -> None:
    """监护干预: civil affairs' petition is refused while the record does not support the ground
    (said per missing fact); the police record the earlier admonition; the petition goes to the
    court, which revokes and names the uncle by ID number. "wide": civil affairs and the police at
    1366 px, the court on a phone (390 px); "phone": the other way round (a case, and a parent,
    per size: a second report of the same situation joins the open case)."""
    case_id = _accepted_case(server, "school", CHILD, situation, "又一次无人照看")
    earlier = (clock.today() - timedelta(days=40)).isoformat()
    office, court = (WIDE, PHONE) if size == "wide" else (PHONE, WIDE)

    with session(browser, server, viewport=office, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        page.goto(f"/console/case/{case_id}")
        page.select_option("#pet-guardian", guardian)
        page.check("#petition-court input[value=unsupervised_in_danger_unchanged]")
        page.click("#petition-submit")
        refusal = _said(page, "intervention-status", "error")
        expect(refusal).to_contain_text("缺少法定事由")
        expect(refusal).to_contain_text("对监护人训诫或批评教育的记录")
        _clean(page)
        shots(page, "petition-refused")

        # Meanwhile the police record the admonition they gave the father weeks ago.
        with session(browser, server, viewport=office, bypass_csp=True) as (_, police, _w2):
            sign_in(police, server, "police", "case_work")
            _open_case_page(police, case_id)
            police.select_option("#itv-kind", "admonition")
            police.select_option("#itv-guardian", guardian)
            police.fill("#itv-on", earlier)
            police.click("#record-intervention-submit")
            expect(_said(police, "intervention-status")).to_have_text("已记录：批评教育、训诫。")
            expect(police.locator("#interventions-table tr[data-kind=admonition]")).to_contain_text(
                guardian_name
            )
            _clean(police)
            shots(police, "police-admonition")

        page.reload()
        page.select_option("#pet-guardian", guardian)
        page.check("#petition-court input[value=unsupervised_in_danger_unchanged]")
        page.fill("#pet-note", "经训诫后仍将孩子独自留在家中")
        page.click("#petition-submit")
        expect(_said(page, "intervention-status")).to_have_text("申请已送达法院，等待裁定。")
        expect(page.locator("#interventions-table tr[data-kind=court_petition]")).to_contain_text(
            "待法院裁定"
        )
        shots(page, "petition-filed")

    with session(browser, server, viewport=court, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "court", "case_work")
        _open_case_page(page, case_id)
        form = page.locator("form.decide-petition")
        # The court sees the child of the case it was petitioned on, not the adults around the
        # child: the page says so, and the court names the new guardian by ID number.
        expect(form).to_contain_text("置于无人监管和照看状态导致面临危险且经教育不改")
        expect(form).to_contain_text("请按申请材料中的身份证号指定")
        form.locator("#decision").select_option("revoked")
        # Revoking without naming the new guardian is refused, in words.
        form.locator(".decide-submit").click()
        expect(_said(page, "intervention-status", "error")).to_contain_text("缺少必要的事实")
        form.locator("#new-guardian-id-number").fill("500101199001011237")
        form.locator(".decide-submit").click()
        expect(_said(page, "intervention-status", "error")).to_contain_text("登记中没有此身份证号的人员")
        shots(page, "court-unknown-id-number")
        form.locator("#new-guardian-id-number").fill(UNCLE_ID_NUMBER)
        form.locator(".decide-submit").click()
        expect(_said(page, "intervention-status")).to_have_text("已裁定：撤销监护人资格。")
        expect(page.locator("#interventions-table tr[data-kind=court_petition]")).to_contain_text("已裁定")
        assert page.evaluate("document.documentElement.scrollWidth") <= court["width"]
        _clean(page)
        shots(page, "court-decided")

    petition = [
        i
        for i in ok(server, "civil", CASE, {"id": case_id})["protectionCase"]["interventions"]
        if i["kind"] == "court_petition"
    ]
    assert petition == [
        {"kind": "court_petition", "status": "decided", "decision": "revoked",
         "guardian": {"id": guardian}, "newGuardian": {"id": "person:uncle"}}
    ]  # fmt: skip


# A left-behind child, the names of the child and the parents, the entrusted grandmother and hers.
AGREEMENT_FAMILIES = {
    "phone": (CHILD, "甲乙", ("甲丙", "丁戊"), "person:granny", "己庚"),
    "wide": ("person:lb2", "壬癸", ("壬甲", "癸乙"), "person:lb2-granny", "壬丙"),
}


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_village_records_an_entrustment_agreement(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    """A village 儿童主任, at 390 px and at 1366 px (a child each: once recorded, the flag is gone):
    the left-behind child without an entrustment is flagged by name; the agreement is recorded
    with the parents and the grandmother chosen by name."""
    child, child_name, parents, granny, granny_name = AGREEMENT_FAMILIES[size]
    viewport = PHONE if size == "phone" else WIDE
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "village", "screening")
        page.click("[data-nav=agreements]")
        flag = page.locator(f"#flags-table tr[data-child='{child}']")
        expect(flag).to_contain_text(child_name)
        expect(flag).to_contain_text("没有有效的委托监护协议")
        shots(page, "flagged")
        flag.locator(".record-for").click()
        form = page.locator("#record-agreement")
        for parent in parents:
            expect(form).to_contain_text(parent)
        page.select_option("#ag-kind", "entrustment")
        page.select_option("#ag-guardian", granny)
        # A validity that ends before it starts: refused, in words.
        page.fill("#ag-to", "2020-01-01")
        page.click("#record-agreement-submit")
        expect(_said(page, "agreement-status", "error")).to_contain_text("登记监护协议未能完成")
        page.fill("#ag-to", f"{clock.today().year + 1}-12-31")
        page.click("#record-agreement-submit")
        expect(_said(page, "agreement-status")).to_have_text("已登记委托监护协议。")
        expect(page.locator("#child-agreements li[data-kind=entrustment]")).to_contain_text(granny_name)
        expect(page.locator(f"#flags-table tr[data-child='{child}']")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        _clean(page)
        shots(page, "recorded")
        # English as a switch: the same page in the other language.
        page.click("#lang-switch")
        expect(page.locator("h1")).to_have_text("Guardianship agreements")
        expect(page.locator("[data-nav=chain]")).to_have_text("Periodic reports")
    found = ok(
        server,
        "village",
        "query($id: ID!) { agreements(childId: $id) { kind guardian { id } } }",
        {"id": child},
    )["agreements"]
    assert {"kind": "entrustment", "guardian": {"id": granny}} in found


def _seed_review_pairs(server: Server) -> list[int]:
    """Two pairs of source records the resolver could not decide, as it leaves them in the review
    queue (its tables): a child in the education registry and the survey, twice."""
    import uuid

    from sqlmodel import Session

    from connectors.resolution.tables import PersonLink, ResolutionMention, ReviewItem
    from kernel.db import make_engine

    engine = make_engine(server.settings.sql_url)
    ids = []
    with Session(engine) as s:
        for n, (left, right) in enumerate((("甲小明", "甲晓明"), ("乙小红", "乙小虹"))):
            tag = uuid.uuid4().hex[:8]
            for system, record, name in (("education", f"E-{tag}", left), ("survey", f"S-{tag}", right)):
                s.add(PersonLink(system=system, record_id=record, person_key=uuid.uuid4().hex, method="new"))
                s.add(
                    ResolutionMention(
                        system=system, record_id=record, role="child", name=name, sex="M" if n == 0 else "F",
                        birth_date=clock.today().replace(year=2016, month=4, day=1), division=VILLAGE,
                    )
                )  # fmt: skip
            item = ReviewItem(
                left_system="education", left_record_id=f"E-{tag}", right_system="survey",
                right_record_id=f"S-{tag}", score=0.8 - n / 10,
            )  # fmt: skip
            s.add(item)
            s.flush()
            ids.append(int(item.id or 0))
        s.commit()
    engine.dispose()
    return ids


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_civil_affairs_reviews_matches_and_reads_the_cross_check(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    """The match-review queue side by side (merge, undo, reject) and the cross-check of the county
    with the children named, at 1366 px and on a phone."""
    first, second = _seed_review_pairs(server)
    viewport = PHONE if size == "phone" else WIDE
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        page.click("[data-nav=review]")
        pair = page.locator(f"section.review[data-review='{first}']")
        expect(pair).to_contain_text("甲小明")
        expect(pair).to_contain_text("甲晓明")
        expect(pair).to_contain_text("教育学籍")
        _clean(page)
        shots(page, "queue")
        pair.locator("button.merge").click()
        expect(page.locator("#review-status .notice.ok")).to_contain_text("已合并")
        expect(page.locator(f"section.review[data-review='{first}']")).to_have_count(0)
        page.click("#undo-merge")
        expect(page.locator("#review-status .notice.ok")).to_contain_text("合并已撤销")
        page.locator(f"section.review[data-review='{second}'] button.reject").click()
        expect(page.locator("#review-status .notice.ok")).to_have_text("已判定不是同一人，此对不再提示。")
        expect(page.locator(f"section.review[data-review='{second}']")).to_have_count(0)
        shots(page, "decided")

        page.click("[data-nav=crosscheck]")
        expect(page.locator("#cc-division")).to_have_value(COUNTY)
        page.click("#cc-submit")
        # The cross-check reads every child of the county: seconds, not milliseconds.
        expect(page.locator("#crosscheck")).to_have_attribute("data-state", "loaded", timeout=30_000)
        expect(page.locator("#cc-summary")).to_contain_text("截至")
        rows = page.locator("#cc-findings tbody tr")
        assert rows.count() >= 3
        expect(page.locator("#cc-findings tr[data-finding=school_age_not_enrolled] th")).to_have_text(
            "适龄未入学"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        _clean(page)
        shots(page, "cross-check")
    reviews = ok(server, "civil", "{ matchReviews(first: 100) { items { id status } } }")["matchReviews"][
        "items"
    ]
    assert second not in {r["id"] for r in reviews}


SUBMIT = "mutation($d: String!, $p: String!) { submitPeriodicReport(division: $d, period: $p) { status } }"
PERIODIC = "query($d: String!, $p: String!) { periodicReport(division: $d, period: $p) { status note } }"


def _quarter(back: int = 0) -> str:
    today = clock.today()
    n = today.year * 4 + (today.month - 1) // 3 - back
    return f"{n // 4}-Q{n % 4 + 1}"


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_the_reporting_chain_village_township_county(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    """村 → 乡镇 → 县: the village submits; the township returns it with a note, then approves the
    corrected one and submits its own; the county approves and submits the county's, downloading
    the Excel file. "wide": this quarter, the village on a phone and the township and county at
    1366 px; "phone": last quarter (a report is submitted once), the other way round."""
    period = _quarter(0 if size == "wide" else 1)
    village_size, office = (PHONE, WIDE) if size == "wide" else (WIDE, PHONE)

    def chain(page: Page) -> None:
        page.click("[data-nav=chain]")
        if period != _quarter():
            page.select_option("#chain-period", period)

    def fits(page: Page, viewport: dict[str, int]) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    # The figures are the classification's: the county has screened its children.
    ok(
        server,
        "civil",
        "mutation($d: String!) { recomputeClassification(division: $d) { children } }",
        {"d": COUNTY},
    )
    with session(browser, server, viewport=village_size, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "village", "screening")
        chain(page)
        expect(page.locator("#own-status")).to_have_text("未上报")
        page.click("#submit-report")
        expect(page.locator("#own-status")).to_have_text("已上报，待审核")
        fits(page, village_size)
        _clean(page)
        shots(page, "village-submitted")

    with session(browser, server, viewport=office, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "township", "case_work")
        chain(page)
        row = page.locator(f"#lower-table tr[data-division='{VILLAGE}']")
        expect(row).to_contain_text("已上报，待审核")
        # Returning needs a note saying what to correct.
        row.locator("button.return").click()
        expect(page.locator("#chain-status .notice.error")).to_contain_text("退回须写明需要更正的内容")
        row.locator(".return-note").fill("留守儿童人数与走访记录不符，请核对")
        row.locator("button.return").click()
        expect(page.locator(f"#lower-table tr[data-division='{VILLAGE}']")).to_contain_text("已退回")
        shots(page, "township-returned")
        # The village corrects and submits again (its own token); the township sees it anew.
        assert ok(server, "village", PERIODIC, {"d": VILLAGE, "p": period})["periodicReport"]["note"]
        ok(server, "village", SUBMIT, {"d": VILLAGE, "p": period})
        page.reload()
        if period != _quarter():
            page.select_option("#chain-period", period)
        page.locator(f"#lower-table tr[data-division='{VILLAGE}'] button.approve").click()
        expect(page.locator(f"#lower-table tr[data-division='{VILLAGE}']")).to_contain_text("已审核通过")
        page.click("#submit-report")
        expect(page.locator("#own-status")).to_have_text("已上报，待审核")
        fits(page, office)
        shots(page, "township-submitted")
    # The other township of the county, over the API with its own tokens.
    for who, division in (("village2", VILLAGE2), ("township2", "500101002000")):
        body = server.gql(
            who,
            SUBMIT,
            {"d": division, "p": period},
        )
        assert (
            not body.get("errors") or body["errors"][0]["extensions"].get("code") == "INVALID_TRANSITION"
        ), body

    with session(browser, server, viewport=office, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "county", "case_work")
        chain(page)
        for town in (TOWN, "500101002000"):
            row = page.locator(f"#lower-table tr[data-division='{town}']")
            row.locator("button.approve").click()
            expect(page.locator(f"#lower-table tr[data-division='{town}']")).to_contain_text("已审核通过")
        page.click("#submit-report")
        expect(page.locator("#own-status")).to_have_text("已上报市级民政部门")
        with page.expect_download() as download:
            page.locator("#own-report button.download-xlsx").click()
        assert download.value.suggested_filename.endswith(".xlsx")
        fits(page, office)
        _clean(page)
        shots(page, "county-submitted")
    assert (
        ok(server, "county", PERIODIC, {"d": COUNTY, "p": period})["periodicReport"]["status"] == "submitted"
    )


def test_a_period_chosen_while_the_first_loads_is_the_one_shown(browser: Browser, server: Server) -> None:
    """The chain page asks for this quarter as it opens; a quarter chosen before that answer comes
    is the one shown, whatever order the answers come in (the stale answer drew this quarter's
    report over the chosen one: the county found no approve button for last quarter's township)."""
    now, before = _quarter(0), _quarter(1)
    with session(browser, server, viewport=WIDE, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "county", "case_work")
        held = Held(page, lambda query, vars: "periodicReport(" in query and vars.get("p") == now)
        page.click("[data-nav=chain]")
        expect(page.locator("#chain-period")).to_be_visible()
        page.select_option("#chain-period", before)
        expect(page.locator(f"#own-report[data-period='{before}']")).to_be_visible()
        held.release()
        expect(page.locator(f"#own-report[data-period='{before}']")).to_be_visible()


def test_a_period_being_chosen_offers_no_other_periods_buttons(browser: Browser, server: Server) -> None:
    """While the chosen quarter's report is on its way the page shows no report: the one drawn
    before is this quarter's, and its submit or approve button would act on this quarter (a village
    on a slow phone that chose last quarter submitted this quarter's report)."""
    now, before = _quarter(0), _quarter(1)
    with session(browser, server, viewport=WIDE, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "county", "case_work")
        held = Held(page, lambda query, vars: "periodicReport(" in query and vars.get("p") == before)
        page.click("[data-nav=chain]")
        expect(page.locator(f"#own-report[data-period='{now}']")).to_be_visible()
        page.select_option("#chain-period", before)
        expect(page.locator("#own-report .notice")).to_have_text("正在加载…")
        expect(page.locator("#own-report[data-period], #own-report section")).to_have_count(0)
        expect(page.locator("#submit-report, #lower-reports button")).to_have_count(0)
        held.release()
        expect(page.locator(f"#own-report[data-period='{before}']")).to_be_visible()
