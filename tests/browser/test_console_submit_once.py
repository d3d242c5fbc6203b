"""An action is sent once however often its button is pressed: while the change is on its way the
button is disabled and says 提交中…, and it comes back when the answer does (a refusal included, so
the user can correct and try again). A double click on a slow connection recorded a follow-up
twice, and a second 结案 was refused with a confusing "not allowed in this state".

The first request of the action is held back (conftest.Held) while the test presses again; the
requests the page sent are counted, and what was recorded is checked over the API.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Held, Server
from tests.browser.test_console import CHILD, session, sign_in
from tests.browser.test_console_pages import CLOSING
from tests.browser.test_console_workflows import WIDE, _accepted_case, _open_case_page, _said, ok

CASE = """query($id: ID!) { protectionCase(id: $id) {
  status assessmentParticipants services { id } followUps { note } } }"""


def _case_with_an_open_service(server: Server, child: str) -> str:
    """A case of a child of the second village, walked over the API to its township (township2),
    which assessed it and arranged a service: in assistance."""
    case_id = _accepted_case(server, "village2", child, "GUARDIAN_NEGLECT", "父母长期不管")
    ok(server, "police", "mutation($i: EmergencyActionInput!) { recordEmergencyAction(input: $i) { id } }",
       {"i": {"caseId": case_id, "action": "contact_parents"}})  # fmt: skip
    ok(server, "police", "mutation($id: ID!) { notifyTownship(caseId: $id) { id } }", {"id": case_id})
    participants = ok(server, "township2", CASE, {"id": case_id})["protectionCase"]["assessmentParticipants"]
    variables: dict[str, Any] = {
        "id": case_id,
        "p": participants,
        "i": {"caseId": case_id, "safety": "安全", "guardianship": "年迈", "physicalHealth": "良好",
              "mentalHealth": "良好", "riskLevel": "low"},
        "s": [{"kind": "guardianship_guidance", "provider": "镇社工站"}],
    }  # fmt: skip
    for field, params, args in CLOSING[:3]:  # open and record the assessment, arrange the service
        used = {k: v for k, v in variables.items() if f"${k}:" in params}
        ok(server, "township2", f"mutation({params}) {{ {field}({args}) {{ id }} }}", used)
    return case_id


def _sent(page: Page, field: str) -> list[str]:
    """Every GraphQL request of the page that calls `field`, from now on."""
    sent: list[str] = []

    def seen(request: Any) -> None:
        if request.url.endswith("/graphql") and request.method == "POST":
            body = json.loads(request.post_data or "{}")
            if f"{field}(" in body.get("query", ""):
                sent.append(body["query"])

    page.on("request", seen)
    return sent


def test_a_double_click_records_one_follow_up(browser: Browser, server: Server) -> None:
    case_id = _case_with_an_open_service(server, "person:v2-child-020")
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "township2", "case_work")
        _open_case_page(page, case_id)
        service = page.locator("#services-table tr[data-service=guardianship_guidance]")
        service.locator(".fu-note").fill("已上门指导")
        sent = _sent(page, "recordFollowUp")
        held = Held(page, lambda q, _v: "recordFollowUp(" in q)
        button = service.locator(".follow-up")
        label = button.inner_text()
        button.dblclick()
        button.click(force=True)  # a third press
        page.wait_for_timeout(300)
        # On its way: pressed three times, sent once; the button says so and cannot be pressed.
        assert len(sent) == 1, sent
        expect(button).to_be_disabled()
        expect(button).to_have_text("提交中…")
        expect(button).to_have_attribute("aria-busy", "true")
        held.release()
        expect(page.locator("#follow-ups")).to_contain_text("已上门指导")
        assert len(sent) == 1, sent
        # The case page is drawn again: a fresh button, as it was.
        again = page.locator("#services-table tr[data-service=guardianship_guidance] .follow-up")
        expect(again).to_have_text(label)
    notes = [f["note"] for f in ok(server, "township2", CASE, {"id": case_id})["protectionCase"]["followUps"]]
    assert notes == ["已上门指导"], notes


def test_a_refused_action_gives_its_button_back(browser: Browser, server: Server) -> None:
    """结案 with the service still open is refused: said in words, the button back as it was, and
    pressing it again sends again."""
    case_id = _case_with_an_open_service(server, "person:v2-child-021")
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "township2", "case_work")
        _open_case_page(page, case_id)
        page.fill("#close-reason", "父母返乡照料")
        sent = _sent(page, "closeCase")
        held = Held(page, lambda q, _v: "closeCase(" in q)
        button = page.locator("#close-case-submit")
        label = button.inner_text()
        button.dblclick()
        page.locator("#close-reason").press("Enter")  # submitting the form again by the keyboard
        page.wait_for_timeout(300)
        assert len(sent) == 1, sent
        expect(button).to_be_disabled()
        expect(button).to_have_text("提交中…")
        held.release()
        expect(_said(page, "assistance-status", "error")).to_contain_text("结案未能完成")
        expect(button).to_be_enabled()
        expect(button).to_have_text(label)
        expect(button).not_to_have_attribute("aria-busy", "true")
        button.click()
        expect(_said(page, "assistance-status", "error")).to_contain_text("结案未能完成")
        assert len(sent) == 2, sent
    assert ok(server, "township2", CASE, {"id": case_id})["protectionCase"]["status"] == "assistance"


def test_save_visit_says_it_is_under_way_and_a_double_tap_records_one_visit(
    browser: Browser, server: Server
) -> None:
    """The visit form is cleared as soon as it is saved (the next visit can be started while this
    one is sent). A second tap already sent nothing (the cleared form lacks its required child);
    the button now also says 提交中… and is disabled until the visit is queued."""
    with session(browser, server, viewport=PHONE, is_mobile=True, has_touch=True) as (_, page, _w):
        sign_in(page, server, "village", "screening")
        page.select_option("#visit-child", CHILD)
        page.select_option("#visit-arrangement", "with_grandparents")
        sent = _sent(page, "recordVisit")
        # The version the phone asks for first, held: the save is under way.
        held = Held(page, lambda q, _v: "childVisitRecord(" in q)
        button = page.locator("#visit-submit")
        button.dblclick()
        page.wait_for_timeout(300)
        while_held = (button.is_disabled(), button.inner_text())
        held.release()
        visits = page.locator("#outbox li[data-kind=visit]")
        expect(visits.filter(has=page.locator(".badge.sent")).first).to_be_visible()
        page.wait_for_timeout(500)
        assert len(sent) == 1, sent
        expect(visits).to_have_count(1)
        assert while_held == (True, "提交中…")
        expect(button).to_have_text("保存走访")
        expect(button).to_be_enabled()
