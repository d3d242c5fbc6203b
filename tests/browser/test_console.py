"""The web console in headless Chromium, with real clicks, against the real app and policy.

Each step is photographed into tests/browser/artifacts/<test>/. Every page is also watched for
requests leaving the app's origin and for Content-Security-Policy violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import AGENCY_NAMES, PHONE, Held, Server, Shots
from tests.contract.test_graph_store import TOWN, VILLAGE

CHILD = "person:child"
CHILD_NAME = "甲乙"  # the synthetic child's name in full; an analyst must only ever see 甲*
WIDE = {"width": 1366, "height": 900}
# The journeys at a county office's screen and on a phone.
SIZES = pytest.mark.parametrize("size", ["wide", "phone"])


def viewport(size: str) -> dict[str, int]:
    return PHONE if size == "phone" else WIDE


def fits(page: Page, size: str) -> None:
    """On a phone no page is wider than the screen."""
    if size == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@dataclass
class Watch:
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def session(browser: Browser, server: Server, **options: Any) -> Iterator[tuple[BrowserContext, Page, Watch]]:
    context = browser.new_context(base_url=server.base, accept_downloads=True, **options)
    watch = Watch()
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.base, "blob:", "data:")) else watch.outside.append(r.url),
    )
    page.on("console", lambda m: watch.errors.append(m.text) if "CSP violation" in m.text else None)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    try:
        yield context, page, watch
    finally:
        context.close()
    assert watch.outside == [], f"requests outside the app: {watch.outside}"
    assert watch.errors == [], f"page errors: {watch.errors}"


def sign_in(page: Page, server: Server, who: str, purpose: str) -> None:
    cid, secret = server.credentials[who]
    page.goto("/console/")
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#client-id", cid)
    page.fill("#client-secret", secret)
    page.select_option("#purpose", purpose)
    page.click("#signin-submit")
    expect(page.locator("#who-agency")).to_be_visible()


@SIZES
def test_analyst_traces_a_childs_network_and_sees_only_masked_identities(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    with session(browser, server, viewport=viewport(size)) as (_, page, _w):
        sign_in(page, server, "analyst", "statistics")
        shots(page, "signed-in")

        page.click("[data-nav=search]")
        # An analyst sees names masked, so a lookup by name is not for it (the enforcement layer
        # refuses it: a lookup would confirm a guessed name). The page says so and what to do instead.
        page.fill("#search-name", CHILD_NAME)
        page.click("#search-submit")
        expect(page.locator("#lookup-refused .notice.error")).to_contain_text("不能按姓名或身份证号查找")
        expect(page.locator("#people-table")).to_have_count(0)
        shots(page, "search-by-name-refused")
        # What it may do: browse the child's village, every name masked.
        page.fill("#search-name", "")
        page.fill("#search-division", VILLAGE)
        page.click("#search-submit")
        expect(page.locator("#people-table .masked").first).to_be_visible()
        assert CHILD_NAME not in page.content()
        row = page.locator(f"tr[data-person='{CHILD}']")
        expect(row).to_be_visible()
        expect(row.locator(".masked").first).to_have_text("甲*")
        shots(page, "search-masked")

        row.locator("a.person-link").click()
        profile = page.locator("#profile")
        expect(profile).to_be_visible()
        facts = profile.locator("#person-facts")
        expect(facts.locator("[data-field='person.name']")).to_have_text("甲*")
        expect(facts.locator("[data-field='person.idNumber']")).to_have_text("无权查看")
        expect(facts.locator("[data-field='person.birthDate']")).to_have_text("2015")
        # Sources are denied to analysts: the page says so rather than showing nothing.
        expect(profile.locator("[data-sources='person.sources'] .denied")).to_have_text("无权查看")
        # The verdict is the analyst's to read (read_classification), its facts as released to it;
        # of actions only the network is offered.
        expect(profile.locator("#classification #verdict-summary")).to_contain_text("留守儿童")
        offered = profile.locator("#profile-actions a").evaluate_all("els => els.map(e => e.id)")
        assert offered == ["open-network"], offered
        assert CHILD_NAME not in page.content()
        shots(page, "profile-masked")

        # Under 统计分析 identity stays hidden both ways: a network entered by the child's record id
        # would hand over the child's pseudonym (a table from ids to pseudonyms, one person at a
        # time). The page says so; declared for 调查评估, the analyst traces it.
        page.click("#open-network")
        expect(page.locator("#network-status .notice.error")).to_contain_text("使用目的")
        assert not page.locator("#network-nodes li").count()
        shots(page, "network-refused-for-statistics")
        page.select_option("#purpose-switch", "assessment")
        granny, uncle = _granny_and_uncle(server)
        node = lambda pid: page.locator(f"#network-nodes li[data-node='{pid}']")  # noqa: E731
        expect(node(granny)).to_be_visible()
        expect(node(uncle)).to_have_count(0)
        # Analysts get pseudonyms, never names: the child's own node says so.
        expect(page.locator("#node-details [data-field='node.name']")).to_have_text("已假名化")
        expect(page.locator("#node-details [data-field='node.birthDate']")).to_have_text("2015")
        shots(page, "network-one-hop")

        # The second hop: the grandmother's own links bring in her other son.
        node(granny).locator(".node-expand").click()
        expect(node(uncle)).to_be_visible()
        labels = page.locator("#network-nodes .node-select").all_inner_texts()
        ids = page.locator("#network-nodes li").evaluate_all("els => els.map(e => e.dataset.node)")
        assert len(labels) == 6 and all("~" in i for i in ids), ids
        # Shown as their kind in words and the pseudonym's first characters, never a name.
        assert all(label.startswith(("人员·", "户·")) for label in labels), labels
        assert CHILD_NAME not in page.content()
        shots(page, "network-two-hops")

        fits(page, size)
        # A real click on the canvas node selects it (positions come from the graph view).
        page.locator("#graph").scroll_into_view_if_needed()
        # The graph view learns of a scroll from the scroll event, which the browser sends with the
        # next frame; a click sent before it would be placed by the old scroll position.
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        box = page.locator("#graph").bounding_box()
        assert box is not None
        x, y = page.evaluate(
            "id => { const p = document.getElementById('graph').cy.getElementById(id).renderedPosition();"
            " return [p.x, p.y]; }",
            uncle,
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        expect(page.locator(f"#network-nodes li.selected[data-node='{uncle}']")).to_be_visible()
        expect(page.locator("#node-details [data-field='node.name']")).to_have_text("已假名化")
        shots(page, "network-node-clicked")

        # Filtering out household links hides the household node.
        household = page.locator("#network-nodes li[data-kind='Household']")
        expect(household).to_have_count(1)
        page.uncheck("[data-rel=MEMBER_OF]")
        expect(household).to_have_count(0)
        shots(page, "network-filtered")

        # Click through to the uncle's record: pseudonymised until re-identified (audited),
        # and then still masked by the analyst's field policy.
        node(uncle).locator(".node-select").click()
        page.click("#open-profile")
        expect(page.locator(f"#profile[data-person='{uncle}']")).to_be_visible()
        expect(page.locator("#person-facts [data-field='person.name']")).to_have_text("已假名化")
        shots(page, "uncle-pseudonymised")
        page.click("#reidentify")
        expect(page.locator("#profile[data-person='person:uncle']")).to_be_visible()
        expect(page.locator("#person-facts [data-field='person.name']")).to_have_text("甲*")
        shots(page, "uncle-reidentified")


DIVISION_NAME = "query($c: String!) { division(code: $c) { name } }"


@SIZES
def test_analyst_picks_a_division_by_its_name_to_browse_it(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    """Refused a lookup by name, an analyst browses a division picked by its name (no code to know):
    the divisions of its county in code order, each village indented under its township."""
    names = {
        code: server.gql("analyst", DIVISION_NAME, {"c": code}, purpose="statistics")["data"]["division"][
            "name"
        ]
        for code in (TOWN, VILLAGE)
    }
    with session(browser, server, viewport=viewport(size)) as (_, page, _w):
        sign_in(page, server, "analyst", "statistics")
        page.click("[data-nav=search]")
        pick = page.locator("#search-division-pick")
        expect(pick).to_be_enabled()
        # Indented with ideographic spaces (a county's township one step in, its village two).
        assert pick.locator(f"option[value='{TOWN}']").text_content() == "\u3000" + names[TOWN]
        assert pick.locator(f"option[value='{VILLAGE}']").text_content() == "\u3000\u3000" + names[VILLAGE]
        values = pick.locator("option").evaluate_all("els => els.map(e => e.value)")
        assert values[0] == "" and values[1:] == sorted(values[1:]) and VILLAGE in values, values
        pick.select_option(VILLAGE)
        expect(page.locator("#search-division")).to_have_value(VILLAGE)
        row = page.locator(f"tr[data-person='{CHILD}']")
        expect(row.locator(".masked").first).to_have_text("甲*")
        assert CHILD_NAME not in page.content()
        fits(page, size)
        shots(page, "division-picked-by-name")


NETWORK = """query($s: ID!) { network(start: $s, depth: 2) { start edges { type source target } } }"""


def _granny_and_uncle(server: Server) -> tuple[str, str]:
    """Their stable pseudonyms, from the analyst's own view of the network (entered by the child's
    record id, so under a purpose that may re-identify)."""
    net = server.gql("analyst", NETWORK, {"s": CHILD}, purpose="assessment")["data"]["network"]
    start, edges = net["start"], net["edges"]
    granny = next(e["source"] for e in edges if e["type"] == "GUARDIAN_OF" and e["target"] == start)
    parents = {e["source"] for e in edges if e["type"] == "PARENT_OF" and e["target"] == start}
    uncle = next(
        e["target"]
        for e in edges
        if e["type"] == "PARENT_OF" and e["source"] == granny and e["target"] not in parents
    )
    return granny, uncle


@SIZES
def test_auditor_finds_the_analysts_access_verifies_the_chain_and_exports(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    # The analyst's access this test looks for (made through the console by the test above,
    # or here through the API when this test runs alone).
    server.gql("analyst", '{ person(id: "person:child") { name } }', purpose="statistics")
    with session(browser, server, viewport=viewport(size)) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        expect(page.locator("#audit-filter")).to_be_visible()
        expect(page.locator("#chain-ok")).to_contain_text("完整")
        shots(page, "audit-home")

        page.select_option("#audit-mode", "record")
        page.fill("#audit-record", CHILD)
        page.click("#audit-search")
        analyst_rows = page.locator("#audit-table tbody tr[data-agency='ana-500101']")
        expect(analyst_rows.first).to_be_visible()
        expect(analyst_rows.first.locator("[data-purpose=statistics]")).to_have_count(1)
        # The masked field by its name and whose record it is (it was the path `Person.name`).
        expect(analyst_rows.first.locator("li[data-field='Person.name']")).to_have_text("人员档案的姓名")
        shots(page, "audit-accesses-to-child")

        page.click("#verify-chain")
        expect(page.locator("#chain-ok")).to_contain_text("已校验")

        with page.expect_download() as info:
            page.click("#audit-export")
        exported = info.value.path().read_text(encoding="utf-8")
        assert "ana-500101" in exported
        assert CHILD_NAME not in exported
        fits(page, size)
        shots(page, "audit-exported")


def test_village_supervisor_on_a_phone_records_visits_and_reports_offline_and_police_see_them(
    browser: Browser, server: Server, shots: Shots
) -> None:
    with session(browser, server, viewport=PHONE, is_mobile=True, has_touch=True) as (context, page, _w):
        sign_in(page, server, "village", "screening")
        expect(page.locator("#report-form")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shots(page, "village-home")

        # A visit, online: recorded at once (version 1 of the child's visit record).
        visits = page.locator("#outbox li[data-kind=visit]")
        page.select_option("#visit-child", CHILD)
        page.select_option("#visit-arrangement", "with_grandparents")
        page.check("[data-finding=no_contact_with_parents]")
        page.click("#visit-submit")
        expect(visits.filter(has=page.locator(".badge.sent"))).to_have_count(1)
        shots(page, "visit-recorded")

        # Offline: the next visit waits on the phone, made against version 1 ...
        context.set_offline(True)
        page.select_option("#visit-child", CHILD)
        page.select_option("#visit-arrangement", "alone")
        page.check("[data-finding=living_alone]")
        page.click("#visit-submit")
        expect(page.locator("#outbox li[data-kind=visit][data-state=queued]")).to_have_count(1)
        shots(page, "visit-queued-offline")
        # ... while another device records a visit to the same child (version 2).
        other = server.gql(
            "village",
            "mutation($i: VisitInput!) { recordVisit(input: $i) { status record { version } } }",
            {
                "i": {
                    "clientId": "other-device-1",
                    "personId": CHILD,
                    "visitedOn": "2026-11-20",
                    "findings": [],
                    "livingArrangement": "with_grandparents",
                    "baseVersion": 1,
                }
            },
            purpose="screening",
        )
        assert other["data"]["recordVisit"]["status"] == "RECORDED", other
        # Back online: the queued visit is sent and comes back as a conflict, not an overwrite.
        context.set_offline(False)
        conflict = page.locator("#outbox li[data-kind=visit][data-state=conflict]")
        expect(conflict).to_be_visible()
        expect(conflict.locator("div.conflict")).to_contain_text("独居")
        shots(page, "visit-conflict")
        conflict.locator(".keep-mine").click()
        expect(visits.filter(has=page.locator(".badge.sent"))).to_have_count(2)
        record = server.gql(
            "village",
            '{ childVisitRecord(personId: "person:child") { version livingArrangement } }',
            purpose="screening",
        )["data"]["childVisitRecord"]
        assert record == {"version": 3, "livingArrangement": "alone"}, record
        shots(page, "visit-conflict-resolved")

        # Online: filed at once.
        page.select_option("#report-child", CHILD)
        page.select_option("#report-situation", "LIVING_ALONE")
        page.fill("#report-summary", "孩子独自在家，连续三天无人照看")
        page.click("#report-submit")
        sent = page.locator("#outbox li[data-kind=report][data-state=sent]")
        expect(sent).to_have_count(1)
        shots(page, "report-sent")

        # Offline: kept on the phone, then sent when the connection returns.
        context.set_offline(True)
        expect(page.locator(".offline-banner")).to_be_visible()
        page.select_option("#report-child", CHILD)
        page.select_option("#report-situation", "GUARDIAN_INCAPABLE")
        page.fill("#report-summary", "祖母住院，孩子暂无人监护")
        page.click("#report-submit")
        expect(page.locator("#outbox li[data-kind=report][data-state=queued]")).to_have_count(1)
        shots(page, "report-queued-offline")
        context.set_offline(False)
        expect(page.locator("#outbox li[data-kind=report][data-state=queued]")).to_have_count(0)
        expect(sent).to_have_count(2)
        expect(page.locator(".offline-banner")).to_have_count(0)
        shots(page, "report-sent-after-reconnect")

    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "police", "mandatory_report")
        # The server is shared by the browser tests: other journeys file reports for this child too,
        # so this journey's two reports are found by their own words.
        rows = page.locator("#inbox-table tbody tr")
        alone = rows.filter(has_text="孩子独自在家，连续三天无人照看")
        expect(alone).to_have_count(1, timeout=20_000)
        expect(alone).to_have_attribute("data-situation", "living_alone")
        incapable = rows.filter(has_text="祖母住院")
        expect(incapable).to_have_count(1)
        expect(incapable).to_have_attribute("data-situation", "guardian_incapable")
        shots(page, "police-inbox")
        # The child and the sender by name, never by id.
        expect(alone.locator(".person-link")).to_have_text(CHILD_NAME)
        expect(alone.locator(".sender")).to_have_text(AGENCY_NAMES["village"])
        alone.locator(".report-acceptReport").click()
        expect(alone.locator(".status")).to_have_text("已受理")
        shots(page, "police-accepted")


def test_village_phone_page_offers_every_child_and_no_adult_and_fits_360(
    browser: Browser, server: Server, shots: Shots
) -> None:
    from tests.browser.conftest import CROWD

    with session(browser, server, viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True) as (
        _,
        page,
        _w,
    ):
        sign_in(page, server, "village2", "screening")
        picker = page.locator("#visit-child")
        # No one is chosen until the supervisor chooses: the first option is the empty choice.
        expect(picker).to_have_value("")
        expect(page.locator("#visit-child-count")).to_contain_text(f"共 {CROWD} 名儿童")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shots(page, "village2-home-360")

        # Every child is reachable: page 3 holds children 101–130 (50 a page), no adult anywhere.
        options = lambda: picker.locator("option").evaluate_all("os => os.map(o => o.value)")  # noqa: E731
        seen: set[str] = set()
        for _ in range(3):
            seen.update(v for v in options() if v)
            if page.locator("#visit-child-next").is_enabled():
                page.click("#visit-child-next")
        assert len(seen) == CROWD and all(v.startswith("person:v2-child-") for v in seen), sorted(seen)[:5]
        shots(page, "village2-last-page")

        # Searching by name finds a child beyond the first 100.
        page.fill("#visit-child-search", "129")
        expect(page.locator("#visit-child-count")).to_contain_text("共 1 名儿童")
        page.select_option("#visit-child", "person:v2-child-129")
        page.click("#visit-submit")
        sent = page.locator("#outbox li[data-kind=visit][data-state=sent]")
        expect(sent).to_have_count(1)
        expect(sent).to_contain_text("乙十129")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shots(page, "village2-visit-sent")


def test_a_visit_is_saved_as_it_was_when_save_was_tapped(browser: Browser, server: Server) -> None:
    """Before sending a visit the phone asks for the child's visit record's version; on a slow
    connection the supervisor begins the next visit meanwhile, and those choices are not mixed
    into the visit saved (the arrangement and findings were read after the answer came)."""
    child = "person:v2-child-050"
    with session(browser, server, viewport=PHONE, is_mobile=True, has_touch=True) as (_, page, _w):
        sign_in(page, server, "village2", "screening")
        held = Held(page, lambda q, v: "childVisitRecord(" in q and v.get("id") == child)
        page.fill("#visit-child-search", "050")
        page.select_option("#visit-child", child)
        page.select_option("#visit-arrangement", "with_grandparents")
        page.check("[data-finding=no_contact_with_parents]")
        page.click("#visit-submit")
        # The next visit, begun while the version is on its way.
        page.select_option("#visit-arrangement", "alone")
        page.check("[data-finding=living_alone]")
        held.release()
        expect(page.locator("#outbox li[data-kind=visit][data-state=sent]")).to_have_count(1)
    record = server.gql(
        "village2",
        f'{{ childVisitRecord(personId: "{child}") {{ livingArrangement findings }} }}',
        purpose="screening",
    )["data"]["childVisitRecord"]
    saved = {"livingArrangement": "with_grandparents", "findings": ["no_contact_with_parents"]}
    assert record == saved, record
