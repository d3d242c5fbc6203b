"""A request the server never answers ends: the console waits the configured seconds (here 2, the
server's SHOUHU_CONSOLE_REQUEST_TIMEOUT_SECONDS, served in /console/config.json), then says in
Chinese that no answer came (for a change: that it may or may not have been made, so check before
trying again) and gives the action's buttons back. Before, a hung connection kept the page waiting
and the whole action group disabled until the browser gave up, minutes later, and the user could
not tell whether 签收, 受理 or 合并 went through.

The server "does not answer" for real: Playwright holds the request and never lets it through (or
drops the connection, for a network failure). What was recorded is checked over the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.browser.conftest import Server, serve
from tests.browser.test_console import CHILD, _granny_and_uncle, session, sign_in
from tests.browser.test_console_workflows import WIDE, _seed_review_pairs, ok

TIMEOUT = 2  # seconds: the console's bound on this server
REPORT = "{ reportsInbox { id status acknowledgedAt } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory.mktemp("console") / "data", console_request_timeout_seconds=TIMEOUT)


def _never_answered(page: Page, field: str) -> list[Route]:
    """Every GraphQL request of the page that calls `field` is held and never answered (the server
    stalled); the others go through. Returns the held requests."""
    held: list[Route] = []

    def handler(route: Route) -> None:
        if f"{field}(" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.route("**/graphql", handler)
    return held


def _dropped(page: Page, field: str) -> None:
    """Every GraphQL request calling `field` fails as a dropped connection does."""
    page.route(
        "**/graphql",
        lambda route: (
            route.abort("connectionreset")
            if f"{field}(" in (route.request.post_data or "")
            else route.continue_()
        ),
    )


def _chinese(said: Locator) -> str:
    """The line's text, checked to hold no English word and no code."""
    text = said.inner_text()
    assert not re.search(r"[A-Za-z_]{2,}", text), text
    return text


def test_a_merge_without_answer_says_so_and_gives_the_pair_back(browser: Browser, server: Server) -> None:
    """合并 sent and never answered: after the bound the page says no answer came, that the merge
    may or may not have been made and to refresh and check first; 合并 and 不是同一人 are pressable
    again, and the other choice then goes through."""
    first, _second = _seed_review_pairs(server)
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        page.click("[data-nav=review]")
        pair = page.locator(f"section.review[data-review='{first}']")
        expect(pair).to_contain_text("甲小明")
        merge, reject = pair.locator("button.merge"), pair.locator("button.reject")
        label = merge.inner_text()
        held = _never_answered(page, "mergeMatch")
        merge.click()
        expect(merge).to_have_text("提交中…")
        expect(reject).to_be_disabled()
        said = page.locator("#review-status .notice.error")
        expect(said).to_contain_text(f"服务器在 {TIMEOUT} 秒内没有回应", timeout=TIMEOUT * 1000 + 8_000)
        text = _chinese(said)
        assert text.startswith("合并："), text
        assert "可能已经办理，也可能没有" in text and "刷新页面" in text, text
        assert len(held) == 1
        expect(merge).to_be_enabled()
        expect(merge).to_have_text(label)
        expect(merge).not_to_have_attribute("aria-busy", "true")
        expect(reject).to_be_enabled()
        page.unroute("**/graphql")
        reject.click()
        expect(page.locator("#review-status .notice.ok")).to_contain_text("已判定不是同一人")
    queue = ok(server, "civil", "{ matchReviews(first: 100) { items { id status } } }")
    reviews = queue["matchReviews"]["items"]
    assert first not in {r["id"] for r in reviews}, reviews  # decided: no longer in the queue


def _filed(server: Server, reporter: str, child: str) -> str:
    """A 强制报告 about `child`, filed by `reporter` over the API: in the police's inbox."""
    return ok(
        server,
        reporter,
        "mutation($i: FileReportInput!) { fileMandatoryReport(input: $i) { id } }",
        {"i": {"childId": child, "situation": "MISSING", "summary": "放学后未回家"}},
    )["fileMandatoryReport"]["id"]


def _report(server: Server, report_id: str) -> dict[str, Any]:
    return next(r for r in ok(server, "police", REPORT)["reportsInbox"] if r["id"] == report_id)


def test_an_acknowledgement_without_answer_says_so_and_gives_the_row_back(
    browser: Browser, server: Server
) -> None:
    """签收 sent and never answered: said above the inbox in Chinese; 签收 and 受理 of the report are
    pressable again, and 签收 pressed again is recorded."""
    report_id = _filed(server, "school", CHILD)
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "police", "emergency_response")
        row = page.locator(f"#inbox-table tr[data-report='{report_id}']")
        acknowledge, accept = row.locator(".report-acknowledgeReport"), row.locator(".report-acceptReport")
        expect(acknowledge).to_be_visible()
        _never_answered(page, "acknowledgeReport")
        acknowledge.click()
        expect(accept).to_be_disabled()
        said = page.locator("#inbox > .notice.error")
        expect(said).to_contain_text(f"服务器在 {TIMEOUT} 秒内没有回应", timeout=TIMEOUT * 1000 + 8_000)
        assert "可能已经办理，也可能没有" in _chinese(said)
        expect(acknowledge).to_be_enabled()
        expect(acknowledge).to_have_text("签收")
        expect(accept).to_be_enabled()
        assert _report(server, report_id)["acknowledgedAt"] is None  # the server never got it
        page.unroute("**/graphql")
        acknowledge.click()
        expect(row.locator(".status")).to_have_text("已签收")
    assert _report(server, report_id)["acknowledgedAt"] is not None


def test_a_dropped_connection_says_so_and_gives_the_row_back(browser: Browser, server: Server) -> None:
    """受理 whose connection drops: said in Chinese (no connection; check before trying again), not
    as a timeout; the row's buttons are back at once."""
    report_id = _filed(server, "village2", "person:v2-child-030")
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "police", "emergency_response")
        row = page.locator(f"#inbox-table tr[data-report='{report_id}']")
        accept = row.locator(".report-acceptReport")
        expect(accept).to_be_visible()
        _dropped(page, "acceptReport")
        accept.click()
        said = page.locator("#inbox > .notice.error")
        expect(said).to_contain_text("无法连接服务器")
        text = _chinese(said)
        assert "刷新页面" in text and "没有回应" not in text, text
        expect(accept).to_be_enabled()
        expect(accept).to_have_text("受理")
    assert _report(server, report_id)["status"] == "filed"


def test_a_page_whose_list_never_comes_says_so(browser: Browser, server: Server) -> None:
    """A read never answered (the review queue): the page says so instead of 正在加载… for minutes."""
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        _never_answered(page, "matchReviews")
        page.click("[data-nav=review]")
        said = page.locator("#app .notice.error")
        words = f"服务器在 {TIMEOUT} 秒内没有回应，请稍后再试。"
        expect(said).to_have_text(words, timeout=TIMEOUT * 1000 + 8_000)


def test_an_action_whose_page_says_nothing_of_it_is_said_beside_it(browser: Browser, server: Server) -> None:
    """再识别 never answered: its page has no words for a failure of its own, so the action's
    wrapper (dom.ts submitting) says it beside the button, in Chinese, and gives the button back.
    Before, such a failure was an unhandled rejection and the page said nothing."""
    _granny, uncle = _granny_and_uncle(server)
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "analyst", "assessment")  # a purpose that may re-identify
        page.goto(f"/console/person/{quote(uncle, safe='')}")
        button = page.locator("#reidentify")
        expect(button).to_be_visible()
        label = button.inner_text()
        _never_answered(page, "networkReidentify")
        button.click()
        said = page.locator("#person-facts > .notice.error")
        words = f"服务器在 {TIMEOUT} 秒内没有回应，请稍后再试。"
        expect(said).to_have_text(words, timeout=TIMEOUT * 1000 + 8_000)
        expect(button).to_be_enabled()
        expect(button).to_have_text(label)
        # Pressed again (and answered), the line goes: the record is re-identified.
        page.unroute("**/graphql")
        button.click()
        expect(page.locator("#profile[data-person='person:uncle']")).to_be_visible()


def test_the_console_is_told_its_bound(server: Server) -> None:
    import httpx

    served = httpx.get(f"{server.base}/console/config.json").json()
    assert served["request_timeout_seconds"] == TIMEOUT
    assert served["long_request_timeout_seconds"] == 1200
