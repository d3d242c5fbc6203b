"""The Cases 个案 and Statistics 统计 pages in headless Chromium, with real clicks.

What the pages show is checked against the same GraphQL operations made directly by the test
with the same agency's token; the test never does for the browser what the page should do.
Each step is photographed into tests/browser/artifacts/<test>/.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Held, Server, Shots
from tests.browser.test_console import CHILD, session, sign_in
from tests.contract.test_graph_store import COUNTY, TOWN, VILLAGE

WIDE = {"width": 1366, "height": 900}
WORKLIST = """query($d: String!) { worklist(division: $d, first: 200) {
  entries { personId rules reasons } } }"""
COUNTS = "query($d: String!) { classificationCounts(division: $d) { division counts { key count } } }"
SERIES = """query($d: String!, $g: StatGroup!) { statistics(division: $d, groupBy: $g) {
  takenAt counts { key count } } }"""
CLASSIFICATION = """query($id: ID!) { classification(personId: $id) {
  verdicts { category holds } facts { about basis text } } }"""
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"


def ok(server: Server, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = server.gql(who, query, variables)
    assert not body.get("errors"), body
    return body["data"]


def _case_at_the_township(server: Server, situation: str = "LIVING_ALONE") -> str:
    """A 强制报告 walked to the township (filed, accepted, 应急处置, 通报): its assessment is due."""
    filed = ok(
        server,
        "school",
        "mutation($i: FileReportInput!) { fileMandatoryReport(input: $i) { id caseId } }",
        {"i": {"childId": CHILD, "situation": situation, "summary": "连续三天独自在家"}},
    )["fileMandatoryReport"]
    case_id = filed["caseId"]
    ok(server, "police", "mutation($id: ID!) { acceptReport(reportId: $id) { id } }", {"id": filed["id"]})
    living_alone = situation == "LIVING_ALONE"
    measures = ("order_parents_back", "admonish_parents") if living_alone else ("contact_parents",)
    for action in measures:
        ok(
            server,
            "police",
            "mutation($i: EmergencyActionInput!) { recordEmergencyAction(input: $i) { id } }",
            {"i": {"caseId": case_id, "action": action}},
        )
    ok(server, "police", "mutation($id: ID!) { notifyTownship(caseId: $id) { id status } }", {"id": case_id})
    return case_id


def _cells(page: Page, row: str) -> dict[str, int]:
    """A statistics table row as {key: count}, read from the cells' data-key."""
    cells = page.locator(f"{row} td[data-key]")
    found = {
        cells.nth(i).get_attribute("data-key") or "": int(cells.nth(i).inner_text())
        for i in range(cells.count())
    }
    return {k: v for k, v in found.items() if v}


def _counts(item: dict[str, Any]) -> dict[str, int]:
    """The API's counts, zeros left out (a table shows 0 where another row has the key)."""
    return {c["key"]: c["count"] for c in item["counts"] if c["count"]}


# Whether chart.js painted anything on the canvas (not just an empty element).
PAINTED = (
    "id => { const c = document.getElementById(id); return !!c && c.width > 0"
    " && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v); }"
)


def _wait_drawn(page: Page, canvas_id: str) -> None:
    page.wait_for_function(PAINTED, arg=canvas_id)


@pytest.mark.parametrize(
    ("size", "situation", "words"),
    [("wide", "LIVING_ALONE", "脱离监护单独居住生活"), ("phone", "GUARDIAN_NEGLECT", "监护人不履行监护责任")],
    ids=["wide", "phone"],
)
def test_township_rescreens_sees_reasons_steps_and_cases_and_opens_the_childs_profile(
    browser: Browser, server: Server, shots: Shots, size: str, situation: str, words: str
) -> None:
    # A case per size: a second report of the same situation joins the open case.
    case_id = _case_at_the_township(server, situation)
    viewport = PHONE if size == "phone" else WIDE
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "township", "case_work")
        page.click("[data-nav=worklist]")
        expect(page.locator("#wl-division")).to_have_value(TOWN)
        # The township's open step (the assessment after 通报), with its deadline, links to the child.
        step = page.locator(f"#steps-table tr[data-case='{case_id}']")
        expect(step).to_be_visible()
        expect(step.locator("a.person-link")).to_have_attribute(
            "href", f"/console/person/{quote(CHILD, safe='')}"
        )
        expect(page.locator(f"#cases-table tr[data-case='{case_id}'] .situation")).to_have_text(words)
        shots(page, "cases-home")

        # Rescreen the township from the current facts; the child's row gives the rules that hold.
        page.click("#wl-recompute")
        expect(page.locator("#wl-status .notice.ok")).to_contain_text("已重新排查")
        row = page.locator(f"#worklist-table tr[data-person='{CHILD}']")
        expect(row).to_be_visible()
        entries = ok(server, "township", WORKLIST, {"d": TOWN})["worklist"]["entries"]
        mine = next(e for e in entries if e["personId"] == CHILD)
        reasons, rules = mine["reasons"], mine["rules"]
        assert reasons and rules, entries
        # The API's lines, said in Chinese (the rule's name and its evidence, no raw code).
        expect(row.locator(".reasons li")).to_have_count(len(reasons))
        assert row.locator(".reasons li").evaluate_all("els => els.map(e => e.dataset.raw)") == reasons
        for text in row.locator(".reasons li").all_inner_texts():
            assert not re.search(r"[a-z]+_[a-z]+|latest visit", text), text
        expect(row).to_have_attribute("data-rules", " ".join(rules))
        shots(page, "worklist-rescreened")

        # Filtering by one rule keeps the child (the rule holds for them).
        page.select_option("#wl-rule", rules[0])
        page.click("#wl-submit")
        expect(page.locator("#wl-summary")).to_contain_text("（规则：")
        expect(page.locator("#wl-rule")).to_have_value(rules[0])
        expect(row).to_be_visible()
        shots(page, "worklist-filtered")
        # The village picked by its name (no code to know): its list, the child in it.
        page.select_option("#wl-division-pick", VILLAGE)
        expect(page.locator("#wl-division")).to_have_value(VILLAGE)
        expect(page.locator("#wl-summary")).to_contain_text("D1001")
        expect(row).to_be_visible()

        row.locator("a.person-link").click()
        expect(page.locator(f"#profile[data-person='{CHILD}']")).to_be_visible()
        # 一人一档: the verdict with the facts behind it, in Chinese, as the API gives it.
        verdict = ok(server, "township", CLASSIFICATION, {"id": CHILD})["classification"]
        holding = [v["category"] for v in verdict["verdicts"] if v["holds"]]
        assert "left_behind" in holding, verdict
        card = page.locator("#classification")
        expect(card.locator("#verdict-summary")).to_contain_text("留守儿童")
        expect(card.locator("li[data-holds=true]")).to_have_count(len(holding))
        facts = card.locator("li[data-category=left_behind] .verdict-facts li")
        expect(facts).to_have_count(
            sum(1 for f in verdict["facts"] if f["basis"] == "verdict" and f["about"] == "left_behind")
        )
        for text in facts.all_inner_texts():
            assert re.search(r"[\u4e00-\u9fff]", text), text
            assert not re.search(r"[a-z]+_[a-z]+|works away", text), text
        # The actions the township's capabilities allow, as links to the pages that do them.
        actions = page.locator("#profile-actions")
        for action, target in (("act-cases", "/console/worklist"), ("act-visit", "/console/village")):
            expect(actions.locator(f"#{action}")).to_have_attribute("href", target)
        expect(actions.locator("#act-audit")).to_have_count(0)
        _clean(page, phone=size == "phone")
        shots(page, "child-profile")
        actions.locator("#act-cases").click()
        expect(page.locator("#cases[data-state=loaded]")).to_be_visible()


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_analyst_statistics_charts_and_tables_match_the_api_down_to_the_village(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    ok(server, "county", RECOMPUTE, {"d": COUNTY})
    viewport = PHONE if size == "phone" else WIDE
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "analyst", "statistics")
        page.click("[data-nav=statistics]")
        expect(page.locator("#stats-division")).to_have_value(COUNTY)

        # Over time, by category: a drawn chart and a table with the API's latest figures.
        expect(page.locator("#chart-category")).to_be_visible()
        series = server.gql("analyst", SERIES, {"d": COUNTY, "g": "CATEGORY"}, purpose="statistics")
        points = series["data"]["statistics"]
        assert points, series
        last = points[-1]
        expect(page.locator("#table-category tbody tr")).to_have_count(len(points))
        assert _cells(page, f"#table-category tr[data-taken-at='{last['takenAt']}']") == _counts(last)
        _wait_drawn(page, "chart-category")
        for group in ("arrangement", "schooling", "case-status", "division"):
            expect(page.locator(f"#chart-{group}")).to_be_visible()
            expect(page.locator(f"#table-{group} tbody tr")).to_have_count(len(points))

        # Current counts by township, then (a real click) down to the village.
        counts = server.gql("analyst", COUNTS, {"d": COUNTY}, purpose="statistics")["data"]
        expected = {d["division"]: _counts(d) for d in counts["classificationCounts"][1:]}
        assert TOWN in expected, counts
        expect(page.locator("#table-current tbody tr[data-division]")).to_have_count(len(expected) + 1)
        for code, figures in expected.items():
            assert _cells(page, f"#table-current tr[data-division='{code}']") == figures
        assert _cells(page, "#table-current tr[data-division='total']") == _counts(
            counts["classificationCounts"][0]
        )
        _wait_drawn(page, "chart-current")
        _clean(page, phone=size == "phone")
        shots(page, "statistics-county")

        page.click(f"#table-current button.drill[data-division='{TOWN}']")
        expect(page.locator(f"#stats[data-division='{TOWN}']")).to_be_visible()
        expect(page.locator("#stats-trail [aria-current=page]")).to_contain_text(TOWN)
        village = server.gql("analyst", COUNTS, {"d": TOWN}, purpose="statistics")["data"]
        rows = {d["division"]: _counts(d) for d in village["classificationCounts"][1:]}
        assert VILLAGE in rows, village
        expect(page.locator(f"#table-current tr[data-division='{VILLAGE}']")).to_be_visible()
        assert _cells(page, f"#table-current tr[data-division='{VILLAGE}']") == rows[VILLAGE]
        _wait_drawn(page, "chart-current")
        shots(page, "statistics-township")

        # Back up one level through the trail.
        page.click(f"#stats-trail button.up[data-division='{COUNTY}']")
        expect(page.locator(f"#stats[data-division='{COUNTY}']")).to_be_visible()
        expect(page.locator(f"#table-current tr[data-division='{TOWN}']")).to_be_visible()
        # Or straight to a village picked by its name.
        page.select_option("#stats-division-pick", VILLAGE)
        expect(page.locator(f"#stats[data-division='{VILLAGE}']")).to_be_visible()
        expect(page.locator("#stats-division")).to_have_value(VILLAGE)


def test_roles_without_the_capability_see_a_refusal_not_an_error_dump(
    browser: Browser, server: Server, shots: Shots
) -> None:
    # A civil-affairs caseworker may read classifications but not statistics over time
    # (read_statistics): the page shows the counts and does not offer the over-time part.
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        page.click("[data-nav=statistics]")
        expect(page.locator("#by-division")).to_be_visible()
        expect(page.locator("#chart-category")).to_have_count(0)
        expect(page.locator("#series-refused")).to_have_count(0)
        expect(page.locator(".notice.error")).to_have_count(0)
        shots(page, "civil-statistics-counts-only")

    # The auditor's start page has no audit of a caseworker: the caseworker is not offered it,
    # and typing its address says so in words.
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        expect(page.locator("[data-nav=audit]")).to_have_count(0)
        page.goto("/console/audit")
        expect(page.locator("#app .notice.error")).to_have_text("您的岗位不使用此页面。")
        expect(page.locator("#audit-filter")).to_have_count(0)

    # The police have no screening worklist (read_worklist): the page does not offer it (no red
    # banner), and their cases still show.
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "police", "case_work")
        page.click("[data-nav=worklist]")
        expect(page.locator("#cases[data-state=loaded]")).to_be_visible()
        expect(page.locator("#worklist")).to_have_count(0)
        expect(page.locator("#worklist-filter")).to_have_count(0)
        expect(page.locator(".notice.error")).to_have_count(0)
        # The sections the police may read load all the same (their case from the test above,
        # or none when this test runs alone), without an error.
        for part in ("#steps", "#cases"):
            expect(page.locator(f"{part}[data-state=loaded]")).to_be_visible()
            expect(page.locator(f"{part} .notice.error")).to_have_count(0)
        shots(page, "police-worklist-refused")


def test_a_division_picked_while_the_first_loads_is_the_one_shown(browser: Browser, server: Server) -> None:
    """The Cases page asks for the home division's worklist as it opens; a village picked by its
    name before that answer comes is the one shown, the home division's answer coming last (on a
    slow connection it drew the township's list under the village's code)."""
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "township", "case_work")
        held = Held(page, lambda query, variables: "worklist(" in query and variables.get("division") == TOWN)
        page.click("[data-nav=worklist]")
        pick = page.locator("#wl-division-pick")
        expect(pick).to_be_enabled()
        pick.select_option(VILLAGE)
        expect(page.locator("#wl-summary")).to_contain_text(f"({VILLAGE})")
        held.release()
        expect(page.locator("#wl-summary")).to_contain_text(f"({VILLAGE})")
        expect(page.locator("#wl-division")).to_have_value(VILLAGE)


def test_statistics_of_a_division_picked_while_the_first_load_is_the_ones_shown(
    browser: Browser, server: Server
) -> None:
    """As on the Cases page: the county's answer, coming after the village's, is not drawn."""
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "analyst", "statistics")
        held = Held(page, lambda q, v: "classificationCounts(" in q and v.get("division") == COUNTY)
        page.click("[data-nav=statistics]")
        pick = page.locator("#stats-division-pick")
        expect(pick).to_be_enabled()
        pick.select_option(VILLAGE)
        expect(page.locator(f"#stats[data-division='{VILLAGE}']")).to_be_visible()
        held.release()
        expect(page.locator(f"#stats[data-division='{VILLAGE}']")).to_be_visible()
        expect(page.locator("#stats-trail [aria-current=page]")).to_contain_text(VILLAGE)


SET_EXP = """s => { const k = 'shouhu.session'; const v = JSON.parse(sessionStorage.getItem(k));
  v.claims.exp = Math.floor(Date.now() / 1000) + s; sessionStorage.setItem(k, JSON.stringify(v)); }"""


def test_the_user_is_told_before_and_when_the_session_expires(
    browser: Browser, server: Server, shots: Shots
) -> None:
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        expect(page.locator("#token-clock")).to_contain_text("登录剩余约")
        # Ninety seconds left: said as a warning.
        page.evaluate(SET_EXP, 90)
        page.reload()
        expect(page.locator("#token-clock.warn")).to_contain_text("分钟内到期")
        shots(page, "session-ending")
        # Expired: back at sign-in, told why.
        page.evaluate(SET_EXP, -1)
        page.reload()
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#session-expired")).to_contain_text("登录已到期")
        shots(page, "session-expired")


@pytest.mark.parametrize(
    ("size", "reporter", "child", "township"),
    [("wide", "school", CHILD, "township"), ("phone", "village2", "person:v2-child-021", "township2")],
    ids=["wide", "phone"],
)
def test_police_accept_a_report_take_emergency_measures_and_notify_the_township(
    browser: Browser, server: Server, shots: Shots, size: str, reporter: str, child: str, township: str
) -> None:
    """强制报告 → 受理 in the inbox, the deadline counting down → 应急处置 beside it in the same row,
    a refusal explained in Chinese → 通报乡镇, at 1366 px and on a phone; the township then has the
    assessment to do, and the Cases page shows the case at the township."""
    filed = ok(
        server,
        reporter,
        "mutation($i: FileReportInput!) { fileMandatoryReport(input: $i) { id caseId } }",
        {"i": {"childId": child, "situation": "MISSING", "summary": "放学后未回家，家中无人"}},
    )["fileMandatoryReport"]
    case_id = filed["caseId"]
    viewport = PHONE if size == "phone" else WIDE
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "police", "emergency_response")
        row = page.locator(f"#inbox-table tr[data-report='{filed['id']}']")
        expect(row.locator(".deadline")).to_have_text(re.compile(r"剩余 (60|59) 分钟"))
        # Beside the deadline: what follows acceptance.
        expect(row.locator(".measures")).to_have_text("受理后即可记录应急处置")
        shots(page, "police-inbox-deadline")
        row.locator(".report-acceptReport").click()
        expect(row.locator(".status")).to_have_text("已受理")
        shots(page, "police-accepted")

        # The measures are in the same row, beside the deadline.
        actions = row.locator(f".measures .case-actions[data-case='{case_id}']")
        expect(actions).to_be_visible()
        said = page.locator("#case-action-status")
        # Only the measures for a missing child are offered (the domain's rule for the situation,
        # protection/emergency.py): ordering parents back is not among them.
        options = actions.locator("select.measure option")
        expect(options).to_have_count(2)
        assert options.evaluate_all("os => os.map(o => o.value)") == ["missing_search_started", "child_found"]
        # Out of order: the child cannot be "found" before the search started; said in Chinese.
        actions.locator("select.measure").select_option("child_found")
        actions.locator(".record-measure").click()
        expect(said.locator(".notice.error")).to_contain_text("须先完成：启动儿童失踪快速查找机制")
        shots(page, "measure-refused")
        measures = (("missing_search_started", "启动儿童失踪快速查找机制"), ("child_found", "儿童已找到"))
        for measure, words in measures:
            actions.locator("select.measure").select_option(measure)
            actions.locator(".record-measure").click()
            expect(said.locator(".notice.ok")).to_have_text(f"已记录：{words}。")
        actions.locator(".notify-township").click()
        expect(said.locator(".notice.ok")).to_have_text("已通报乡镇，乡镇须开展评估。")
        expect(row.locator(".measures")).to_have_text("待评估")
        _clean(page, phone=size == "phone")
        shots(page, "township-notified")

        page.click("[data-nav=worklist]")
        case_row = page.locator(f"#cases-table tr[data-case='{case_id}']")
        expect(case_row.locator(".status")).to_have_text("待评估")
        shots(page, "cases-page")
    steps = ok(server, township, "{ myOpenSteps { caseId kind } }")["myOpenSteps"]
    assert {"caseId": case_id, "kind": "assess"} in steps, steps


def _clean(page: Page, phone: bool) -> None:
    """The page walk's checks on the page in this state (no raw code or English, no serious axe
    violation) and, on a phone, nothing wider than the screen."""
    from tests.browser.test_console_walk import SQUEEZED, TEXTS, axe, problems

    page.wait_for_load_state("networkidle")
    assert problems(page.evaluate(TEXTS)) == []
    assert [f"{v['id']}: {v['help']}" for v in axe(page)] == []
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.evaluate(SQUEEZED) == []


CLOSING = [
    ("openAssessment", "$id: ID!, $p: [String!]!", "caseId: $id, participants: $p"),
    ("recordAssessment", "$i: AssessmentInput!", "input: $i"),
    ("arrangeServices", "$id: ID!, $s: [ServiceInput!]!", "caseId: $id, services: $s"),
    ("recordFollowUp", "$id: ID!, $svc: ID, $n: String!", "caseId: $id, serviceId: $svc, note: $n"),
    ("completeService", "$svc: ID!, $o: String!", "serviceId: $svc, outcome: $o"),
    ("closeCase", "$id: ID!, $r: String!", "caseId: $id, reason: $r"),
]


def _closed_case_at_the_township(server: Server) -> str:
    """A case the township walked to the end: assessed, a service arranged, followed up, completed
    and closed (the Cases page shows it only when "open only" is off)."""
    case_id = _case_at_the_township(server, "GUARDIAN_INCAPABLE")
    case = "query($id: ID!) { protectionCase(id: $id) { assessmentParticipants services { id } } }"
    participants = ok(server, "township", case, {"id": case_id})["protectionCase"]["assessmentParticipants"]
    findings = {"safety": "安全", "guardianship": "年迈", "physicalHealth": "良好", "mentalHealth": "良好"}
    service = ""
    for field, params, args in CLOSING:
        variables: dict[str, Any] = {
            "id": case_id,
            "p": participants,
            "i": {"caseId": case_id, **findings, "riskLevel": "low"},
            "s": [{"kind": "guardianship_guidance", "provider": "镇社工站"}],
            "svc": service,
            "n": "回访：情况好转",
            "o": "已完成",
            "r": "亲属接回照料",
        }
        used = {k: v for k, v in variables.items() if f"${k}:" in params}
        ok(server, "township", f"mutation({params}) {{ {field}({args}) {{ id }} }}", used)
        if field == "arrangeServices":
            service = ok(server, "township", case, {"id": case_id})["protectionCase"]["services"][0]["id"]
    status = "query($id: ID!) { protectionCase(id: $id) { status } }"
    assert ok(server, "township", status, {"id": case_id})["protectionCase"]["status"] == "closed"
    return case_id


def test_open_only_toggled_twice_shows_the_last_choice_whatever_order_the_answers_come(
    browser: Browser, server: Server
) -> None:
    """Unticking "open only" and ticking it again before the first answer comes: the open cases
    are shown, not the older answer with the closed case drawn over them (there was no guard)."""
    closed = _closed_case_at_the_township(server)
    # An open case at the township too (the module's earlier journeys may have left one). Of a
    # situation no other journey here files: a later report of the same situation would join it.
    cases = ok(server, "township", "{ protectionCases(openOnly: true) { id } }")["protectionCases"]
    still_open = cases[0]["id"] if cases else _case_at_the_township(server, "GUARDIAN_INCAPABLE")
    held: list[Any] = []

    def hold_all_cases(route: Any) -> None:
        body = route.request.post_data or ""
        if "protectionCases(" in body and '"openOnly":false' in body and not held:
            held.append(route)  # answered later, after the open cases'
        else:
            route.continue_()

    with session(browser, server, viewport=WIDE, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "township", "case_work")
        page.click("[data-nav=worklist]")
        open_row = page.locator(f"#cases-table tr[data-case='{still_open}']")
        expect(open_row).to_be_visible()
        closed_row = page.locator(f"#cases-table tr[data-case='{closed}']")
        expect(closed_row).to_have_count(0)
        page.route("**/graphql", hold_all_cases)
        page.uncheck("#cases-open-only")
        for _ in range(50):  # the route handler runs while Playwright waits
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the cases with closed ones were not asked for"
        with page.expect_response(lambda r: '"openOnly":true' in (r.request.post_data or "")):
            page.check("#cases-open-only")
        page.wait_for_timeout(300)
        expect(closed_row).to_have_count(0)
        with page.expect_response(lambda r: r.request == held[0].request):
            held[0].continue_()
        page.wait_for_timeout(500)
        expect(page.locator("#cases-open-only")).to_be_checked()
        expect(closed_row).to_have_count(0)
        expect(open_row).to_be_visible()


def test_police_open_an_accepted_reports_case_file_from_the_inbox(browser: Browser, server: Server) -> None:
    """The inbox's "查看个案档案" on an accepted report opens the case file (it opened the child's
    person profile)."""
    filed = ok(
        server,
        "school",
        "mutation($i: FileReportInput!) { fileMandatoryReport(input: $i) { id caseId } }",
        {"i": {"childId": CHILD, "situation": "INJURY_OR_HARM", "summary": "手臂多处淤青"}},
    )["fileMandatoryReport"]
    ok(server, "police", "mutation($id: ID!) { acceptReport(reportId: $id) { id } }", {"id": filed["id"]})
    with session(browser, server, viewport=PHONE, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "police", "emergency_response")
        row = page.locator(f"#inbox-table tr[data-report='{filed['id']}']")
        expect(row.locator(".status")).to_have_text("已受理")
        row.locator("a.button").click()
        expect(page.locator(f"#case-title[data-case='{filed['caseId']}']")).to_be_visible()
        expect(page).to_have_url(re.compile(rf"/console/case/{re.escape(quote(filed['caseId'], safe=''))}$"))
