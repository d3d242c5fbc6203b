"""An answer the console cannot read as a GraphQL result (a gateway's 502 page, a server's plain
500, a refusal with no GraphQL body) is said in Chinese words by what kind of answer it is and
what the official should do, never as a bare HTTP status. Before, the page said
`服务器返回 502，没有查询结果。`, a number the official cannot act on (and a 403 whose body was
JSON but not GraphQL said only 没有数据。).

The server's answer is replaced for real in the browser: Playwright answers the page's request
for the review queue with the status and body a gateway or the server would send.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import Server
from tests.browser.test_console import session, sign_in
from tests.browser.test_console_workflows import WIDE

UNAVAILABLE = "服务器暂时无法处理请求，请稍后再试；如持续出现，请联系系统管理员。"
REFUSED = "请求被拒绝：您的账号或所选用途不允许这项操作。如需办理，请联系本单位的系统管理员。"
TOO_MANY = "请求过于频繁，请稍等一分钟后再试。"

ANSWERS = {
    "gateway-502": (502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>", UNAVAILABLE),
    "unavailable-503": (503, "text/plain", "Service Unavailable", UNAVAILABLE),
    "server-500": (500, "text/plain", "Internal Server Error", UNAVAILABLE),
    "refused-403": (403, "application/json", '{"error": "insufficient_scope"}', REFUSED),
    "too-many-429": (429, "text/html", "<html>Too Many Requests</html>", TOO_MANY),
}


def _graphql_error(code: str) -> str:
    return json.dumps({"errors": [{"message": "refused", "extensions": {"code": code}}], "data": None})


# Refusals the server answers as GraphQL errors whose code the console had no words for: each
# said 请求未能完成。 only, which tells the official nothing to do.
CODED = {
    "rate-limited": (429, "RATE_LIMITED", "请求过于频繁，请稍等一分钟后再试"),
    "audit-unavailable": (503, "AUDIT_UNAVAILABLE", "访问记录（审计日志）暂时无法写入"),
    "too-large": (413, "REQUEST_TOO_LARGE", "请求内容过大，请缩小查询范围后再试"),
    "too-long": (504, "TIME_BUDGET_EXCEEDED", "查询用时过长已停止，请缩小查询范围后再试"),
    "store-down": (503, "UNAVAILABLE", "数据库暂时不可用，请稍后再试"),
}


def _answered(page: Page, field: str, status: int, content_type: str, body: str) -> None:
    """Every GraphQL request of the page that calls `field` gets this answer; the others go through."""

    def handler(route: Route) -> None:
        if f"{field}(" in (route.request.post_data or ""):
            route.fulfill(status=status, content_type=content_type, body=body)
        else:
            route.continue_()

    page.route("**/graphql", handler)


@pytest.mark.parametrize("kind", list(ANSWERS))
def test_an_unreadable_answer_is_said_in_words(browser: Browser, server: Server, kind: str) -> None:
    status, content_type, body, words = ANSWERS[kind]
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        _answered(page, "matchReviews", status, content_type, body)
        page.click("[data-nav=review]")
        said = page.locator("#app .notice.error")
        expect(said).to_have_text(words)
        text = said.inner_text()
        assert not re.search(r"\d", text), text  # no status number
        assert not re.search(r"[A-Za-z]{2,}", text), text  # no English, no code


@pytest.mark.parametrize("kind", list(CODED))
def test_a_refusal_by_code_says_what_to_do(browser: Browser, server: Server, kind: str) -> None:
    status, code, words = CODED[kind]
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        _answered(page, "matchReviews", status, "application/json", _graphql_error(code))
        page.click("[data-nav=review]")
        said = page.locator("#app .notice.error")
        expect(said).to_contain_text(words)
        assert code not in said.inner_text()
