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
from tests.browser.test_console_workflows import (
    PERIODIC,
    SUBMIT,
    WIDE,
    _accepted_case,
    _open_case_page,
    _quarter,
    _said,
    _seed_review_pairs,
    ok,
)
from tests.contract.test_graph_store import COUNTY, VILLAGE

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


def test_the_other_choice_of_a_pair_cannot_be_sent_while_the_first_is_on_its_way(
    browser: Browser, server: Server
) -> None:
    """合并 and 不是同一人 decide the same pair: only the pressed button was disabled, so on a slow
    connection the other could be pressed too and both went out (the pair merged and rejected).
    While one is on its way the whole group is disabled; one request reaches the server."""
    first, _second = _seed_review_pairs(server)
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "civil", "case_work")
        page.click("[data-nav=review]")
        pair = page.locator(f"section.review[data-review='{first}']")
        expect(pair).to_contain_text("甲小明")
        merges, rejects = _sent(page, "mergeMatch"), _sent(page, "rejectMatch")
        held = Held(page, lambda q, _v: "mergeMatch(" in q)
        pair.locator("button.merge").click()
        reject = pair.locator("button.reject")
        reject.click(force=True)  # the other choice pressed while the first is on its way
        reject.dispatch_event("click")
        page.wait_for_timeout(300)
        assert (len(merges), len(rejects)) == (1, 0), (merges, rejects)
        expect(reject).to_be_disabled()
        held.release()
        expect(page.locator("#review-status .notice.ok")).to_contain_text("已合并")
        assert (len(merges), len(rejects)) == (1, 0), (merges, rejects)
    reviews = ok(server, "civil", "{ matchReviews(first: 100) { items { id status } } }")["matchReviews"][
        "items"
    ]
    assert first not in {r["id"] for r in reviews}, reviews  # merged: no longer in the queue


def test_a_refused_choice_gives_the_whole_pair_back(browser: Browser, server: Server) -> None:
    """退回 without a note is refused: while it was on its way 通过 of the same report stayed
    pressable (both went out); now both are disabled until the refusal comes, then both are back,
    and the one pressed next is sent."""
    period = _quarter()
    # The figures are the classification's: the county has screened its children.
    ok(
        server,
        "civil",
        "mutation($d: String!) { recomputeClassification(division: $d) { children } }",
        {"d": COUNTY},
    )
    ok(server, "village", SUBMIT, {"d": VILLAGE, "p": period})
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "township", "case_work")
        page.click("[data-nav=chain]")
        row = page.locator(f"#lower-table tr[data-division='{VILLAGE}']")
        expect(row).to_contain_text("已上报，待审核")
        sent = _sent(page, "decidePeriodicReport")
        held = Held(page, lambda q, _v: "decidePeriodicReport(" in q)
        approve, give_back = row.locator("button.approve"), row.locator("button.return")
        give_back.click()
        approve.click(force=True)  # the other choice pressed while the first is on its way
        approve.dispatch_event("click")
        page.wait_for_timeout(300)
        assert len(sent) == 1, sent
        expect(approve).to_be_disabled()
        expect(give_back).to_have_text("提交中…")
        held.release()
        expect(page.locator("#chain-status .notice.error")).to_contain_text("退回须写明需要更正的内容")
        expect(approve).to_be_enabled()
        expect(give_back).to_be_enabled()
        expect(give_back).to_have_text("退回")
        assert len(sent) == 1, sent
        approve.click()
        expect(page.locator(f"#lower-table tr[data-division='{VILLAGE}']")).to_contain_text("已审核通过")
        assert len(sent) == 2, sent
    status = ok(server, "village", PERIODIC, {"d": VILLAGE, "p": period})["periodicReport"]["status"]
    assert status == "approved", status
