"""Every page as every role, in zh-CN (the default): no raw code, id, UTC timestamp or English-only
text on screen, and axe-core finds no serious or critical accessibility violation.

The pages are reached the way a user reaches them (sign in, then the navigation the role is
offered); a page a role is not offered must not be in its navigation at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, AXE, PHONE, Server
from tests.browser.test_console import CHILD, session, sign_in

WIDE = {"width": 1366, "height": 900}

# role: (purpose, pages it must be offered, pages it must not be offered)
ROLES: dict[str, tuple[str, set[str], set[str]]] = {
    "civil": ("case_work", {"worklist", "statistics", "search"}, {"audit", "reports"}),
    "township": ("case_work", {"worklist", "village", "search"}, {"audit", "network"}),
    "village": ("screening", {"village", "search"}, {"audit", "reports", "network"}),
    "police": ("mandatory_report", {"reports", "worklist", "search"}, {"audit", "village", "network"}),
    "court": ("case_work", {"worklist", "search"}, {"audit", "reports", "village"}),
    "analyst": ("statistics", {"network", "statistics", "search"}, {"audit", "reports", "village"}),
    "auditor": ("audit", {"audit", "statistics", "search"}, {"reports", "village", "worklist"}),
    "school": ("case_work", {"search"}, {"audit", "reports", "village", "network"}),
    "doctor": ("case_work", {"search"}, {"audit", "reports", "village", "network"}),
}
# The workflow pages (agreements, match review, cross-check, reporting chain), as each role's
# capabilities offer them.
WORKFLOW_PAGES: dict[str, tuple[set[str], set[str]]] = {
    "civil": ({"agreements", "review", "crosscheck"}, {"chain"}),
    "township": ({"agreements", "review", "crosscheck", "chain"}, set()),
    "village": ({"agreements", "chain"}, {"review", "crosscheck"}),
    "police": (set(), {"agreements", "review", "crosscheck", "chain"}),
    "court": (set(), {"agreements", "review", "crosscheck", "chain"}),
    "analyst": ({"crosscheck"}, {"agreements", "review", "chain"}),
    "auditor": (set(), {"agreements", "review", "crosscheck", "chain"}),
    "school": (set(), {"agreements", "review", "crosscheck", "chain"}),
    "doctor": (set(), {"agreements", "review", "crosscheck", "chain"}),
}
for _role, (_more, _never) in WORKFLOW_PAGES.items():
    ROLES[_role][1].update(_more)
    ROLES[_role][2].update(_never)

# What must never be on screen in zh-CN mode.
RAW = [
    (re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b"), "snake_case code"),
    (re.compile(r"\b(?:person|household|visit|division):[\w~-]+"), "record id"),
    (re.compile(r"\b(?:case|rpt|step)-[0-9a-f]{8,}"), "workflow id"),
    (re.compile(r"\b[a-z]{2,6}-\d{6,}\b"), "agency id"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"), "ISO timestamp"),
    (re.compile(r"[+-]00:00\b"), "UTC offset"),
    (re.compile(r"未收录的代码"), "code missing from the catalogue"),
]

# Visible text nodes, outside <code> (a reason code the console does not know yet, which an auditor
# needs verbatim to look it up) and outside elements that declare another language (the 'English'
# switch, pinyin).
TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    const text = n.textContent.trim();
    if (!text || !el) continue;
    if (el.closest('code, script, style, [hidden], details:not([open]) > :not(summary)')) continue;
    const lang = el.closest('[lang]');
    if (lang && lang !== document.documentElement && !lang.lang.startsWith('zh')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const shown = el.closest('.sr-only') !== null || el.getClientRects().length > 0;
    if (!shown && el.tagName !== 'OPTION') continue;
    out.push(text);
  }
  // A tooltip is text on screen too (shown on hover).
  for (const el of document.body.querySelectorAll('[title]')) {
    if (el.closest('code, [hidden]') || !el.getClientRects().length) continue;
    const lang = el.closest('[lang]');
    if (lang && lang !== document.documentElement && !lang.lang.startsWith('zh')) continue;
    if (el.title.trim()) out.push(el.title.trim());
  }
  return out;
}"""

ENGLISH = re.compile(r"[A-Za-z]{3,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def problems(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        for pattern, what in RAW:
            if pattern.search(text):
                found.append(f"{what}: {text!r}")
        if ENGLISH.search(text) and not CJK.search(text):
            found.append(f"English-only: {text!r}")
    return found


# The network picture's captions: every node's box with its label, every edge's label box; any
# two that overlap, and any caption that is a raw code, English, or (an edge) not in Chinese.
PICTURE = """(room = 0) => {
  const cy = document.getElementById('graph').cy;
  const items = [];
  cy.nodes(':visible').forEach(n => items.push({ id: n.id(), label: n.data('label') || '', edge: false,
    b: n.boundingBox({ includeLabels: true }) }));
  cy.edges(':visible').forEach(e => items.push({ id: e.id(), label: e.data('label') || '', edge: true,
    b: e.boundingBox({ includeEdges: false, includeNodes: false, includeLabels: true }),
    // named on its twin: another relationship between the same two people carries both captions
    twin: !e.data('label')
      && e.source().edgesWith(e.target()).some(o => o.id() !== e.id() && o.data('label')) }));
  const overlaps = [];
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
    const a = items[i].b, b = items[j].b;
    if (Math.min(a.x2, b.x2) + room > Math.max(a.x1, b.x1)
        && Math.min(a.y2, b.y2) + room > Math.max(a.y1, b.y1))
      overlaps.push(items[i].label + ' / ' + items[j].label);
  }
  return { nodes: cy.nodes(':visible').length, edges: items.filter(i => i.edge && !i.twin).map(i => i.label),
           labels: items.map(i => i.label), overlaps };
}"""


# On a phone, a list table's headers and cells squeezed to a character or two a line (read
# letter by letter down the screen): every header in at most two lines, every cell of six
# characters or more at least three characters a line; and no tick box stretched like a field.
SQUEEZED = """() => {
  const out = [];
  for (const cell of document.querySelectorAll('table.list th, table.list td')) {
    if (!cell.getClientRects().length) continue;
    const text = cell.innerText.trim();
    if (!text) continue;
    const style = getComputedStyle(cell);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    // The text's own height, not the cell's (a cell is as tall as its row's tallest cell).
    const range = document.createRange();
    range.selectNodeContents(cell);
    const inner = range.getBoundingClientRect().height;
    const lines = Math.round(inner / line);
    if (cell.tagName === 'TH' && lines > 2) out.push(`header in ${lines} lines: ${text}`);
    if (cell.tagName === 'TD' && cell.children.length === 0 && text.length >= 6 && text.length / lines < 3)
      out.push(`cell in ${lines} lines: ${text}`);
  }
  // A tick box stretched to the width of a text field squeezes its own label.
  for (const box of document.querySelectorAll('input[type=checkbox], input[type=radio]')) {
    const r = box.getBoundingClientRect();
    const label = box.closest('label')?.innerText ?? box.name;
    if (r.width > 32) out.push(`tick box ${Math.round(r.width)} px wide: ${label}`);
  }
  return out;
}"""


def network_picture_problems(page: Page, room: int = 0) -> list[str]:
    """What makes the picture unreadable: overlapping captions (or closer than `room` pixels),
    edges not named in Chinese."""
    picture = page.evaluate(PICTURE, room)
    found = [f"overlapping captions: {o}" for o in picture["overlaps"]]
    found += [f"edge not in Chinese: {label!r}" for label in picture["edges"] if not CJK.search(label)]
    found += problems(picture["labels"])
    if picture["nodes"] < 5:
        found.append(f"only {picture['nodes']} nodes at three hops")
    return found


def axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def settle(page: Page) -> None:
    """Wait until no 'loading' notice is left on the page."""
    page.wait_for_load_state("networkidle")
    expect(page.locator("#app .notice:has-text('正在加载')")).to_have_count(0, timeout=15000)
    expect(page.locator("#app .notice:has-text('正在校验')")).to_have_count(0, timeout=15000)


# Every role at 1366 px and at 390 px, where no page may be wider than the screen.
CASES = [(r, s) for r in sorted(ROLES) for s in ("wide", "phone")]


@pytest.mark.parametrize(("role", "size"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_every_page_in_chinese_without_raw_codes_and_accessible(
    browser: Browser, server: Server, role: str, size: str
) -> None:
    purpose, offered, not_offered = ROLES[role]
    shots = ARTIFACTS / "walk" / f"{role}-{size}"
    shots.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    violations: dict[str, list[str]] = {}
    phone = size == "phone"
    viewport = PHONE if phone else WIDE
    # bypass_csp: only so that the test can inject axe-core; the app's own policy is checked
    # by the other browser tests.
    with session(browser, server, viewport=viewport, bypass_csp=True) as (_, page, _w):
        sign_in(page, server, role, purpose)
        nav = set(page.locator("#top nav a").evaluate_all("els => els.map(e => e.dataset.nav)"))
        assert offered <= nav, (role, nav)
        assert not (not_offered & nav), (role, nav)
        pages = [f"/console/{p}" for p in sorted(nav)] + [f"/console/person/{CHILD.replace(':', '%3A')}"]
        for url in pages:
            page.goto(url)
            settle(page)
            if url.startswith("/console/person/") and page.locator("#open-network").count():
                # The child's network three hops out, as the profile's link opens it: read too.
                pages.append(f"/console/network/{CHILD.replace(':', '%3A')}?depth=3")
            if url.startswith("/console/network/") and purpose in ("statistics", "audit"):
                # Entered by the child's record id, a pseudonymised network would hand over the
                # child's pseudonym: under a purpose that masks identity the page says why not.
                refusal = page.locator("#network-status .notice.error")
                expect(refusal).to_contain_text("使用目的", timeout=15000)
            elif url.startswith("/console/network/"):
                expect(page.locator("#network-status .notice.ok")).to_be_visible(timeout=15000)
                found[url + "#picture"] = network_picture_problems(page)
            name = url.rsplit("/", 1)[-1].replace("%3A", "-")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            found[url] = problems(page.evaluate(TEXTS))
            violations[url] = [f"{v['id']} ({v['impact']}): {v['help']}" for v in axe(page)]
            if phone:
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], (url, width)
                found[url + "#tables"] = page.evaluate(SQUEEZED)
    assert {u: p for u, p in found.items() if p} == {}, found
    assert {u: v for u, v in violations.items() if v} == {}, violations


def test_the_walk_catches_raw_codes_and_english() -> None:
    """The checks themselves: each kind of leak is caught, Chinese text passes."""
    assert problems(["脱离监护单独居住生活", "甲*", "2026-12-06 08:30", "D1001"]) == []
    leaks = [
        "living_alone",
        "person:4d13aec0",
        "2023-09-27T16:00:00+00:00",
        "Sign in",
        "case-0123456789ab",
        "vc-500248101201",
    ]
    for leak in leaks:
        assert problems([leak]), leak


@pytest.mark.usefixtures("console_build")
def test_axe_is_installed() -> None:
    assert Path(AXE).is_file(), "npm install --prefix console (axe-core is a devDependency)"


CROWD = """seed => {
  const el = document.getElementById('graph');
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  el.cy.nodes().forEach(n => n.position({ x: next() * 40, y: next() * 40 }));
  el.clearLabels();
}"""


def test_network_captions_never_overlap_whatever_the_start(browser: Browser, server: Server) -> None:
    """The layout parts every caption for certain, not only from the positions the force layout
    usually leaves, and with room to spare (selecting a node widens its border and moves its
    edges' captions a pixel after the layout; a caption parted by a hair then overlapped): the
    picture three hops out is parted again from crowded random positions."""
    with session(browser, server, viewport=WIDE) as (_, page, _w):
        sign_in(page, server, "township", "case_work")
        page.goto(f"/console/network/{CHILD.replace(':', '%3A')}?depth=3")
        expect(page.locator("#network-status .notice.ok")).to_be_visible(timeout=15000)
        found = {}
        for seed in range(1, 9):
            page.evaluate(CROWD, seed)
            found[seed] = network_picture_problems(page, room=2)
        assert {s: p for s, p in found.items() if p} == {}, found
