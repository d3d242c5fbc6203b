"""The console's settings (/console/config.json) not to be had: the page says so once, in Chinese,
and nothing else fails. Before, the header's purpose selector asked for the settings too and its
failure was an unhandled rejection (a page error) beside the audit page's 无法载入控制台设置…, and
the only failure on every other page.

The server "fails" for real in the browser: Playwright answers /console/config.json with a 503
after signing in, and the page is reloaded (the settings are asked for again).
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server
from tests.browser.test_console import session, sign_in
from tests.browser.test_console_workflows import WIDE

SAID = "无法载入控制台设置，请检查网络后刷新页面。"


def _without_settings(page: Page) -> list[str]:
    """From now on /console/config.json fails; returns the page's errors as they come."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/console/config.json",
        lambda route: route.fulfill(status=503, content_type="text/plain", body="Service Unavailable"),
    )
    return errors


def test_the_audit_page_says_it_once_and_nothing_else_fails(browser: Browser, server: Server) -> None:
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        page.click("[data-nav=audit]")
        errors = _without_settings(page)
        page.reload()
        expect(page.locator("#app .notice.error")).to_have_text(SAID)
        expect(page.locator(".notice.error")).to_have_count(1)
        expect(page.locator("#who-agency")).to_be_visible()
        expect(page.locator("#purpose-switch")).to_have_count(0)
        page.wait_for_timeout(500)  # a late rejection would come by now
        assert errors == [], errors


def test_another_page_works_without_an_error(browser: Browser, server: Server) -> None:
    """A page that needs no settings of its own is drawn (with the default time bounds) and nothing
    fails; the purpose selector, with no purposes to offer, is not shown."""
    nav = "review"
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        page.click(f"[data-nav={nav}]")
        errors = _without_settings(page)
        page.reload()
        expect(page.locator("#who-agency")).to_be_visible()
        expect(page.locator(f"[data-nav={nav}].active")).to_be_visible()
        expect(page.locator("#app .notice.error")).to_have_count(0)
        expect(page.locator("#purpose-switch")).to_have_count(0)
        page.wait_for_timeout(500)
        assert errors == [], errors
