"""One phone, two village supervisors: what the first leaves on it is neither sent under the
second's sign-in nor shown to them, and signing out leaves no child's name readable."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Server
from tests.browser.test_console import CHILD, CHILD_NAME, session, sign_in

PHONE_OPTIONS = {"viewport": PHONE, "is_mobile": True, "has_touch": True}


def test_a_visit_queued_by_one_supervisor_is_not_sent_or_shown_under_the_next(
    browser: Browser, server: Server
) -> None:
    with session(browser, server, **PHONE_OPTIONS) as (context, page, _w):
        sign_in(page, server, "village", "screening")
        _visit_online_first(page)  # else a visit another test made first turns this one into a conflict
        context.set_offline(True)
        page.select_option("#visit-child", CHILD)
        page.select_option("#visit-arrangement", "alone")
        page.fill("#visit-notes", "共用手机测试")
        page.click("#visit-submit")
        expect(page.locator("#outbox li[data-kind=visit][data-state=queued]")).to_have_count(1)
        page.click("#sign-out")
        context.set_offline(False)

        sent: list[str] = []
        page.on(
            "request",
            lambda r: (
                sent.append(r.headers.get("authorization", ""))
                if r.url.endswith("/graphql") and "recordVisit" in (r.post_data or "")
                else None
            ),
        )
        sign_in(page, server, "village2", "screening")
        expect(page.locator("#visit-form")).to_be_visible()
        page.click("#send-now")
        page.wait_for_timeout(1_000)
        # The second supervisor neither sends the first one's visit nor reads it.
        assert sent == [], "the first supervisor's visit was sent under the second one's token"
        expect(page.locator("#outbox")).not_to_contain_text(CHILD_NAME)
        expect(page.locator("#outbox li[data-kind=visit]")).to_have_count(0)

        # The first supervisor, signed in again, still has it, and it is sent under their own name.
        page.click("#sign-out")
        sign_in(page, server, "village", "screening")
        expect(page.locator("#outbox li[data-kind=visit][data-state=sent]")).to_have_count(1, timeout=20_000)
        assert len(sent) == 1


def test_signing_out_leaves_no_childs_name_in_the_phones_storage(browser: Browser, server: Server) -> None:
    with session(browser, server, **PHONE_OPTIONS) as (_context, page, _w):
        sign_in(page, server, "village", "screening")
        expect(page.locator("#visit-child option", has_text=CHILD_NAME)).to_have_count(1)
        page.fill("#visit-notes", "退出前写了一半")
        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        stored = page.evaluate(
            "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
        )
        assert CHILD_NAME not in stored, stored
        assert "退出前写了一半" not in stored, "a visit being typed survives signing out on purpose"
        assert "eyJ" not in stored, "a token survives sign-out"


def _visit_online_first(page: Page) -> None:
    """A visit recorded online, so the phone knows the child's visit record's version (other tests
    on this server visit the same child; a visit made against an older version is a conflict)."""
    page.select_option("#visit-child", CHILD)
    page.click("#visit-submit")
    expect(page.locator("#outbox li[data-kind=visit][data-state=sent]")).to_have_count(1)
    page.locator("#outbox li[data-kind=visit] .clear").click()
    expect(page.locator("#outbox li[data-kind=visit]")).to_have_count(0)


def _axe(page: Page) -> list[tuple[str, list[str]]]:
    """Serious and critical axe-core violations, each with the elements it found."""
    from tests.browser.test_console_walk import axe

    found = axe(page)
    return [(v["id"], [f"{n['html'][:120]} {n['failureSummary'][-160:]}" for n in v["nodes"]]) for v in found]


def _version(server: Server) -> int:
    record = server.gql(
        "village", '{ childVisitRecord(personId: "person:child") { version visitedOn } }', purpose="screening"
    )["data"]["childVisitRecord"]
    return int(record["version"])


def test_a_visit_queued_offline_survives_the_tab_and_is_recorded_once_from_two_tabs(
    browser: Browser, server: Server
) -> None:
    with session(browser, server, **PHONE_OPTIONS) as (context, page, _w):
        sign_in(page, server, "village", "screening")
        _visit_online_first(page)
        before = _version(server)
        context.set_offline(True)
        page.select_option("#visit-child", CHILD)
        page.select_option("#visit-arrangement", "alone")
        page.click("#visit-submit")
        expect(page.locator("#outbox li[data-kind=visit][data-state=queued]")).to_have_count(1)
        today = page.locator("#visit-date").input_value()
        page.close()
        # Two tabs opened again on the phone, both signed in, both see the queued visit.
        context.set_offline(False)
        tabs = [context.new_page(), context.new_page()]
        for tab in tabs:
            sign_in(tab, server, "village", "screening")
        for tab in tabs:
            tab.locator("#send-now").click()
        done = "#outbox li[data-kind=visit][data-state=sent]"
        for tab in tabs:
            expect(tab.locator(done)).to_have_count(1, timeout=20_000)
        # Recorded once, on the day of Beijing the form offered.
        assert _version(server) == before + 1
        record = server.gql(
            "village", '{ childVisitRecord(personId: "person:child") { visitedOn } }', purpose="screening"
        )["data"]["childVisitRecord"]
        assert record["visitedOn"] == today == datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


SET_EXP = """s => { const k = 'shouhu.session'; const v = JSON.parse(sessionStorage.getItem(k));
  v.claims.exp = Math.floor(Date.now() / 1000) + s; sessionStorage.setItem(k, JSON.stringify(v)); }"""


def test_a_visit_saved_as_the_session_runs_out_is_kept_and_sent_after_signing_in_again(
    browser: Browser, server: Server
) -> None:
    with session(browser, server, **PHONE_OPTIONS) as (_context, page, _w):
        sign_in(page, server, "village", "screening")
        _visit_online_first(page)
        page.select_option("#visit-child", CHILD)
        page.select_option("#visit-arrangement", "alone")
        page.fill("#visit-notes", "到期前写下的走访")
        # The phone slept past the token's lifetime; the supervisor wakes it and taps save.
        page.evaluate(SET_EXP, -1)
        page.click("#visit-submit")
        page.wait_for_timeout(500)
        sign_in(page, server, "village", "screening")
        visit = page.locator("#outbox li[data-kind=visit]")
        expect(visit).to_have_count(1)
        expect(visit.locator(".badge.sent")).to_have_count(1, timeout=20_000)


def test_the_outbox_on_a_phone_reads_in_chinese_is_accessible_and_gone_behind_the_back_button(
    browser: Browser, server: Server
) -> None:
    from tests.browser.test_console_walk import TEXTS, problems

    with session(browser, server, bypass_csp=True, **PHONE_OPTIONS) as (context, page, _w):
        sign_in(page, server, "village", "screening")
        _visit_online_first(page)
        page.select_option("#visit-child", CHILD)
        page.click("#visit-submit")
        # Sent before the phone goes offline: on a slow machine it was still on its way, and was queued.
        expect(page.locator("#outbox li[data-kind=visit][data-state=sent]")).to_have_count(1)
        context.set_offline(True)
        page.select_option("#visit-child", CHILD)
        page.fill("#visit-notes", "离线时写下的走访")
        page.click("#visit-submit")
        expect(page.locator("#outbox li[data-kind=visit][data-state=queued]")).to_have_count(1)
        assert problems(page.evaluate(TEXTS)) == []
        assert _axe(page) == []
        context.set_offline(False)
        page.click("#send-now")
        expect(page.locator("#outbox li[data-kind=visit][data-state=queued]")).to_have_count(0)
        assert problems(page.evaluate(TEXTS)) == []
        assert _axe(page) == []
        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        page.go_back()
        page.wait_for_timeout(500)
        expect(page.locator("body")).not_to_contain_text(CHILD_NAME)
        expect(page.locator("body")).not_to_contain_text("离线时写下的走访")


def test_a_visit_being_typed_when_the_session_runs_out_is_there_after_signing_in_again(
    browser: Browser, server: Server
) -> None:
    with session(browser, server, **PHONE_OPTIONS) as (_context, page, _w):
        page.clock.install()
        sign_in(page, server, "village", "screening")
        page.select_option("#visit-child", CHILD)
        page.fill("#visit-notes", "写到一半的走访")
        # The token's lifetime (15 minutes) passes while the supervisor is still talking to the family.
        page.clock.fast_forward("16:00")
        expect(page.locator("#signin")).to_be_visible()
        # The phone's clock back to the server's, so that the new token is not taken as expired.
        page.clock.set_system_time(time.time())
        page.clock.resume()
        sign_in(page, server, "village", "screening")
        expect(page.locator("#visit-notes")).to_have_value("写到一半的走访")


def test_a_report_filed_as_the_session_runs_out_is_kept_and_sent_after_signing_in_again(
    browser: Browser, server: Server
) -> None:
    with session(browser, server, **PHONE_OPTIONS) as (_context, page, _w):
        sign_in(page, server, "village", "screening")
        page.select_option("#report-child", CHILD)
        page.select_option("#report-situation", "LIVING_ALONE")
        page.fill("#report-summary", "到期时提交的报告")
        page.evaluate(SET_EXP, -1)
        page.click("#report-submit")
        page.wait_for_timeout(500)
        sign_in(page, server, "village", "screening")
        expect(page.locator("#outbox li[data-kind=report][data-state=sent]")).to_have_count(1, timeout=20_000)
