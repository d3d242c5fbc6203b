"""The auditor reaches an audit log without typing ids: an agency is chosen by its name, and a
person's or a case's access log opens from its file with the record said by name, not by id.

Each step is photographed into tests/browser/artifacts/<test>/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Browser, Page, expect

from tests.api_fixtures import AGENCIES
from tests.browser.conftest import AGENCY_NAMES, Server, Shots
from tests.browser.test_console import CHILD, SIZES, fits, session, sign_in, viewport
from tests.browser.test_console_pages import _clean


def ok(server: Server, who: str, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    body = server.gql(who, query, variables, **kw)
    assert not body.get("errors"), body
    return body["data"]


def _accepted_case(server: Server) -> str:
    """A school's 强制报告 about the child, accepted by the police (who read the case doing so)."""
    filed = ok(
        server,
        "school",
        "mutation($i: FileReportInput!) { fileMandatoryReport(input: $i) { id caseId } }",
        {"i": {"childId": CHILD, "situation": "GUARDIAN_NEGLECT", "summary": "多日无人照料"}},
    )["fileMandatoryReport"]
    ok(server, "police", "mutation($id: ID!) { acceptReport(reportId: $id) { id } }", {"id": filed["id"]})
    ok(server, "police", "query($id: ID!) { protectionCase(id: $id) { status } }", {"id": filed["caseId"]})
    return str(filed["caseId"])


def _no_ids_in_the_filter(page: Page) -> None:
    """The filter says records and agencies by name: no record id, no agency id in its text."""
    text = page.locator("#audit-filter").inner_text()
    for word in ("person:", "protectioncase:", "case-", *(spec[0] for spec in AGENCIES.values())):
        assert word not in text, (word, text)


@SIZES
def test_auditor_picks_an_agency_by_its_name(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    """Accesses by an agency: the agency is chosen by its name (it was a text box for an id)."""
    analyst_id = AGENCIES["analyst"][0]
    server.gql("analyst", f'{{ person(id: "{CHILD}") {{ name }} }}', purpose="statistics")
    # bypass_csp: only to inject axe-core (the app's own policy is checked by test_console.py).
    with session(browser, server, viewport=viewport(size), bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        expect(page.locator("#audit-filter")).to_be_visible()
        page.select_option("#audit-agency", label=AGENCY_NAMES["analyst"])
        expect(page.locator("#audit-mode")).to_have_value("agency")
        page.click("#audit-search")
        rows = page.locator("#audit-table tbody tr[data-seq]")
        expect(rows.first).to_be_visible()
        agencies = {rows.nth(i).get_attribute("data-agency") for i in range(rows.count())}
        assert agencies == {analyst_id}, agencies
        expect(rows.first.locator("td.agency")).to_have_text(AGENCY_NAMES["analyst"])
        _no_ids_in_the_filter(page)
        fits(page, size)
        _clean(page, phone=size == "phone")
        shots(page, "by-agency-name")


@SIZES
def test_auditor_opens_a_persons_and_a_cases_access_log_from_their_files(
    browser: Browser, server: Server, shots: Shots, size: str
) -> None:
    """From a person's file and from a case file to its access log, the record said by name (the
    page took the record's id, shown raw in a text box)."""
    analyst_id, police_id = AGENCIES["analyst"][0], AGENCIES["police"][0]
    server.gql("analyst", f'{{ person(id: "{CHILD}") {{ name }} }}', purpose="statistics")
    case_id = _accepted_case(server)
    # The child's name as the auditor's policy shows it (masked), which the page must say.
    asked = f'{{ person(id: "{CHILD}") {{ name }} }}'
    masked = ok(server, "auditor", asked, purpose="audit")["person"]["name"]
    assert masked and masked != "甲乙"
    # bypass_csp: only to inject axe-core (the app's own policy is checked by test_console.py).
    with session(browser, server, viewport=viewport(size), bypass_csp=True) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        expect(page.locator("#audit-filter")).to_be_visible()

        # The child's file → its access log, the record said by (masked) name.
        page.goto(f"/console/person/{quote(CHILD)}")
        page.click("#act-audit")
        expect(page.locator("#audit-record-chosen")).to_have_text(f"{masked}的人员档案")
        expect(page.locator("#audit-mode")).to_have_value("record")
        _every_page(page)  # the module's other tests may have read the child more than a page's worth
        expect(page.locator(f"#audit-table tbody tr[data-agency='{analyst_id}']").first).to_be_visible()
        _no_ids_in_the_filter(page)
        fits(page, size)
        shots(page, "from-person-file")

        # The case file → its access log: the police who accepted the report read it.
        page.goto(f"/console/case/{quote(case_id)}")
        page.click("#case-audit")
        expect(page.locator("#audit-record-chosen")).to_have_text(f"{masked}的个案（监护人不履行监护责任）")
        _every_page(page)
        expect(page.locator(f"#audit-table tbody tr[data-agency='{police_id}']").first).to_be_visible()
        _no_ids_in_the_filter(page)
        fits(page, size)
        _clean(page, phone=size == "phone")
        shots(page, "from-case-file")


# A record id as the API writes it (`kind:key`): the audit table must never say one as its text.
RAW_ID = re.compile(r"\b[a-z][a-z0-9_]{0,39}:[A-Za-z0-9]")


def _name_the_page(page: Page, n: int = 1) -> None:
    """The auditor asks for the names on the n-th page of entries (each lookup is an audited read)."""
    head = page.locator(f"#audit-table tbody.audit-page:nth-of-type({n}) tr.page-head")
    head.locator("button.page-names").click()
    expect(head.locator(".page-names-done")).to_have_text("已显示本页人员姓名")


def _every_page(page: Page) -> None:
    """Every page of the search's entries shown ("更多" until there is none)."""
    groups = page.locator("#audit-table tbody.audit-page")
    expect(groups.first).to_be_visible()
    while page.locator("#audit-more").count():
        shown = groups.count()
        page.click("#audit-more")
        expect(groups).to_have_count(shown + 1)


def _page_of(page: Page, key: str) -> int:
    """Which page of entries (1, 2, …) first names the record whose id ends in ``:key``."""
    return int(
        page.evaluate(
            """(key) => [...document.querySelectorAll('#audit-table tbody.audit-page')].findIndex(
                 (g) => [...g.querySelectorAll('li.record')].some(
                   (li) => li.dataset.record.endsWith(':' + key))) + 1""",
            key,
        )
    )


def test_audit_table_says_whose_record_not_its_id(browser: Browser, server: Server, shots: Shots) -> None:
    """The records column says the kind of record and a short reference, and (once the auditor
    asks, a page at a time) whose file or case was touched, by the name the auditor's policy shows
    (masked); the raw id is only behind the copy button (the column listed the raw ids:
    `person:child`, `report:…`)."""
    case_id = _accepted_case(server)
    asked = f'{{ person(id: "{CHILD}") {{ name }} }}'
    masked = ok(server, "auditor", asked, purpose="audit")["person"]["name"]
    assert masked and masked != "甲乙"
    # bypass_csp: only to inject axe-core (the app's own policy is checked by test_console.py).
    with session(browser, server, viewport=viewport("wide"), bypass_csp=True) as (context, page, _w):
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        sign_in(page, server, "auditor", "audit")
        table = page.locator("#audit-table")
        for who in ("school", "police"):
            page.select_option("#audit-agency", label=AGENCY_NAMES[who])
            page.click("#audit-search")
            expect(table.locator(f"tbody tr[data-agency='{AGENCIES[who][0]}']").first).to_be_visible()
            # Until asked, the kind of record and the last characters of its key.
            expect(table.locator(f"li.record[data-record$=':{case_id}'] .record-label").first).to_have_text(
                f"个案 …{case_id[-4:]}"
            )
            _name_the_page(page)
            # Every folded list opened, so that its text is read as the auditor would read it.
            for summary in table.locator("td.records details > summary").all():
                summary.click()
            text = table.inner_text()
            assert not RAW_ID.search(text), (who, RAW_ID.findall(text))
            # The case, by the child's masked name and the situation.
            case = table.locator(f"li.record[data-record$=':{case_id}']").first
            expect(case.locator(".record-label")).to_have_text(f"{masked}的个案（监护人不履行监护责任）")
            if who == "school":
                # The child the school reported, by the masked name.
                child = table.locator(f"li.record[data-record='{CHILD}']").first
                expect(child.locator(".record-label")).to_have_text(f"{masked}（人员档案）")
                # The raw id is there to copy.
                child.locator("button.copy-id").click()
                expect(child.locator("button.copy-id")).to_have_text("已复制")
                assert page.evaluate("navigator.clipboard.readText()") == CHILD
        # The report the police accepted: its kind and the last characters of its key; the
        # child's classification, by whose it is.
        report = table.locator("li.record[data-record^='report:']").first
        rid = report.get_attribute("data-record") or ""
        expect(report.locator(".record-label")).to_have_text(f"强制报告 …{rid[-4:]}")
        classified = table.locator(f"li.record[data-record='child_classification:{CHILD}']").first
        expect(classified.locator(".record-label")).to_have_text(f"{masked}的分类结果")
        _clean(page, phone=False)
        shots(page, "records-by-name")


def test_audit_records_are_said_again_in_the_language_and_session_of_now(
    browser: Browser, server: Server, shots: Shots
) -> None:
    """The records' labels were kept for the tab's life, whoever asked and in whatever language:
    switched to English, the table kept saying 甲*（人员档案）; signed out and in again (another
    auditor at the same desk), the names the last session's token was shown stayed on screen
    without being asked for under the new one. They are asked again once the language or the
    session changed."""
    asked = f'{{ person(id: "{CHILD}") {{ name }} }}'
    masked = ok(server, "auditor", asked, purpose="audit")["person"]["name"]
    ok(server, "school", asked, purpose="case_work")  # an access of the school's to the child
    with session(browser, server, viewport=viewport("wide")) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        table = page.locator("#audit-table")

        def child_label() -> Any:
            page.select_option("#audit-agency", label=AGENCY_NAMES["school"])
            page.click("#audit-search")
            # The names, asked for (the search has replaced the table: its button is the new one's).
            page.locator("#audit-table tr.page-head button.page-names").first.click()
            return table.locator(f"li.record[data-record='{CHILD}'] .record-label").first

        expect(child_label()).to_have_text(f"{masked}（人员档案）")
        page.click("#lang-switch")
        expect(child_label()).to_have_text(f"{masked} (person file)")
        page.click("#lang-switch")
        expect(child_label()).to_have_text(f"{masked}（人员档案）")
        page.click("#sign-out")
        # Signed in again in the same tab (no page load: the console's own sign-out and sign-in).
        expect(page.locator("#signin")).to_be_visible()
        bodies: list[str] = []
        page.on("request", lambda r: bodies.append(r.post_data or "") if r.url.endswith("/graphql") else None)
        cid, secret = server.credentials["auditor"]
        page.fill("#client-id", cid)
        page.fill("#client-secret", secret)
        page.select_option("#purpose", "audit")
        page.click("#signin-submit")
        expect(page.locator("#who-agency")).to_be_visible()
        page.click("[data-nav=audit]")
        expect(child_label()).to_have_text(f"{masked}（人员档案）")
        assert any("PersonNames" in body for body in bodies), "labels not asked under the new session"


def test_a_case_that_cannot_be_read_leaves_the_others_named(browser: Browser, server: Server) -> None:
    """`protectionCase` cannot answer null, so one case the auditor cannot read (here a school's
    probe of a case id that does not exist) failed the whole batch of ten it was asked in, and every
    case of the page stayed unnamed. The cases of a failed batch are asked again one by one."""
    case_id = _accepted_case(server)
    probe = "case-00000000deadbeef"
    body = server.gql("school", "query($id: ID!) { protectionCase(id: $id) { status } }", {"id": probe})
    assert body.get("errors"), body
    asked = f'{{ person(id: "{CHILD}") {{ name }} }}'
    masked = ok(server, "auditor", asked, purpose="audit")["person"]["name"]
    with session(browser, server, viewport=viewport("wide")) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        table = page.locator("#audit-table")
        page.select_option("#audit-agency", label=AGENCY_NAMES["school"])
        page.click("#audit-search")
        _every_page(page)  # the module's other tests may have put pages of the school's entries first
        probed = table.locator(f"li.record[data-record$=':{probe}'] .record-label").first
        expect(probed).to_have_text(f"个案 …{probe[-4:]}")
        for n in sorted({_page_of(page, probe), _page_of(page, case_id)}):
            _name_the_page(page, n)
        case = table.locator(f"li.record[data-record$=':{case_id}'] .record-label").first
        expect(case).to_have_text(f"{masked}的个案（监护人不履行监护责任）")
        expect(probed).to_have_text(f"个案 …{probe[-4:]}")


# The operations that read a person's or a case's record (each an audited read of a child's record).
RECORD_READ = re.compile(r"\b(?:person|protectionCase)\s*\(")


def test_browsing_the_audit_log_reads_no_record(browser: Browser, own_server: Server) -> None:
    """Opening the audit log and paging it asks no one's name: each lookup of a name is an audited
    read of the child's record, which notified the case's agency and counted toward the auditor's
    own unusual volume, so an auditor paging through the log flagged itself. The names of a page are
    asked for when the auditor presses its button, and only then.

    On a server of its own: its 205 reads of the child pushed the module's other tests' entries onto
    a second page of the shared server's log, and they failed in the random orders that ran it first."""
    server = own_server
    auditor_id = AGENCIES["auditor"][0]
    since = datetime.now(UTC).isoformat()
    _accepted_case(server)
    # More than a page (200 entries) of the school's reads of the child.
    for _ in range(205):
        ok(server, "school", f'{{ person(id: "{CHILD}") {{ name }} }}', purpose="case_work")
    queries: list[str] = []

    def seen(request: Any) -> None:
        if request.url.endswith("/graphql") and request.post_data:
            queries.append(request.post_data_json.get("query", ""))

    with session(browser, server, viewport=viewport("wide")) as (_, page, _w):
        page.on("request", seen)
        sign_in(page, server, "auditor", "audit")
        expect(page.locator("#chain-ok")).to_be_visible()
        page.select_option("#audit-agency", label=AGENCY_NAMES["school"])
        page.click("#audit-search")
        rows = page.locator("#audit-table tbody tr[data-seq]")
        expect(rows.first).to_be_visible()
        page.click("#audit-more")
        expect(rows.nth(200)).to_be_visible()
        page.wait_for_load_state("networkidle")
        read = [q for q in queries if RECORD_READ.search(q)]
        assert not read, read
        assert not _name_lookups(server, auditor_id, since)
        # Every record still said by its kind and reference; a button to name each page.
        child = page.locator(f"li.record[data-record='{CHILD}'] .record-label")
        expect(child.first).to_have_text("人员档案 …hild")
        expect(child.last).to_have_text("人员档案 …hild")
        expect(page.locator("#audit-table tbody.audit-page tr.page-head button.page-names")).to_have_count(2)

        # Asked for, the first page's names are read (and those reads are on the log).
        _name_the_page(page)
        assert any(RECORD_READ.search(q) for q in queries)
        assert _name_lookups(server, auditor_id, since)


def _name_lookups(server: Server, auditor_id: str, since: str) -> list[str]:
    """The operations of the auditor's entries since `since` that read a person or a case by name."""
    entries = ok(
        server,
        "auditor",
        "query($a: String!, $s: DateTime) { auditAccessesByAgency(agencyId: $a, since: $s, first: 500)"
        " { entries { operation records } } }",
        {"a": auditor_id, "s": since},
        purpose="audit",
    )["auditAccessesByAgency"]["entries"]
    lookups = ("PersonNames", "AuditedCases", "AuditedCase")
    return [e["operation"] for e in entries if e["operation"].split(" ")[-1] in lookups]


# A field path as the API writes it on an entry (`Person.id_number`, `HealthEvent.icd10`).
FIELD_PATH = re.compile(r"\b[A-Z][A-Za-z_]+\.[a-z][A-Za-z0-9_]*\b")


def test_audit_table_says_what_was_done_and_which_fields_in_words(
    browser: Browser, server: Server, shots: Shots
) -> None:
    """The 操作 column showed the request's GraphQL name (`query ProfileFacts`) and the 脱敏字段 and
    拒绝字段 columns raw field paths (`Person.id_number`), both in <code>: an official read neither.
    They say what was done (查看人员档案; an agency system's own request 其他查询) and the fields'
    names with whose record they are (人员档案的身份证号), in English under the switch; the technical
    names only behind a copy button."""
    from tools.console_documents import console_documents, operation_of

    facts = f'person(id: "{CHILD}") {{ name idNumber residenceAddress healthEvents {{ icd10 }} }}'
    # The school's reads: one with the console's own document, one with a document its own system
    # wrote and named (its fields are the ones checked below).
    [console_facts] = [d for d in console_documents() if operation_of(d) == "query ProfileFacts"]
    server.gql("school", console_facts, {"id": CHILD, "verdict": False})
    server.gql("school", f"query SchoolRoster {{ {facts} }}")
    with session(browser, server, viewport=viewport("wide"), bypass_csp=True) as (context, page, _w):
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        sign_in(page, server, "auditor", "audit")
        table = page.locator("#audit-table")
        page.select_option("#audit-agency", label=AGENCY_NAMES["school"])
        page.click("#audit-search")
        _every_page(page)
        entry = table.locator("tbody tr[data-seq]").filter(
            has=page.locator("[data-operation='query ProfileFacts']")
        )
        own = table.locator("tbody tr[data-seq]").filter(
            has=page.locator("[data-operation='query SchoolRoster']")
        )
        expect(entry.last.locator(".operation")).to_contain_text("查看人员档案")
        expect(own.last.locator(".operation")).to_contain_text("其他查询")
        for summary in table.locator("details > summary").all():
            summary.click()

        # Every field said in words, of whose record; none as its path.
        def said(column: str) -> dict[str, str]:
            fields = own.last.locator(f"td.{column} ul.fields li[data-field]")
            paths = [fields.nth(i).get_attribute("data-field") or "" for i in range(fields.count())]
            return dict(zip(paths, fields.all_inner_texts(), strict=True))

        assert said("masked-fields") == {
            "Person.id_number": "人员档案的身份证号",
            "Person.residence_address": "人员档案的居住地址",
        }
        assert said("denied-fields") == {"Person.healthEvents": "人员档案的健康记录"}
        text = table.inner_text()
        assert not FIELD_PATH.search(text), FIELD_PATH.findall(text)
        assert "query " not in text and "ProfileFacts" not in text, text
        _clean(page, phone=False)
        shots(page, "operations-and-fields-in-words")

        # The technical names, for the auditor who needs them: behind the copy buttons.
        entry.last.locator(".operation button.copy-id").click()
        assert page.evaluate("navigator.clipboard.readText()") == "query ProfileFacts"
        own.last.locator("ul.fields").first.locator("xpath=..").locator("button.copy-id").click()
        copied = page.evaluate("navigator.clipboard.readText()").split("\n")
        assert copied and all(FIELD_PATH.fullmatch(p) for p in copied), copied

        page.click("#lang-switch")
        page.select_option("#audit-agency", label=AGENCY_NAMES["school"])
        page.click("#audit-search")
        _every_page(page)
        entry = table.locator("tbody tr[data-seq]").filter(
            has=page.locator("[data-operation='query ProfileFacts']")
        )
        own = table.locator("tbody tr[data-seq]").filter(
            has=page.locator("[data-operation='query SchoolRoster']")
        )
        expect(entry.last.locator(".operation")).to_contain_text("read a person file")
        expect(own.last.locator("li[data-field='Person.id_number']")).to_have_text("ID number (person file)")
        page.click("#lang-switch")


def test_every_request_the_console_sends_is_named_for_the_auditor() -> None:
    """Each request the console sends is on the log by its name (`query CaseFile`): one missing from
    the code book's `operation` group would be said only as 其他查询 (an agency system's request)."""
    from tests.browser.conftest import ROOT

    src = ROOT / "console" / "src"
    sent = {
        m.group(0)
        for path in src.rglob("*.ts")
        if "i18n" not in path.parts
        for m in re.finditer(r"\b(?:query|mutation) [A-Z][A-Za-z0-9]*", path.read_text(encoding="utf-8"))
    }
    codes = (src / "i18n" / "codes.ts").read_text(encoding="utf-8")
    group = codes[codes.index("  operation: {") :]
    named = set(re.findall(r'^\s+"((?:query|mutation) \w+)":', group, re.M))
    assert len(sent) > 40, sent
    assert sorted(sent - named) == [], sorted(sent - named)


def _school_entries(server: Server, since: str) -> list[dict[str, Any]]:
    """The school's entries since `since`, as the auditor's audit API returns them."""
    return ok(
        server,
        "auditor",
        "query($a: String!, $s: DateTime) { auditAccessesByAgency(agencyId: $a, since: $s, first: 500)"
        " { entries { seq operation } } }",
        {"a": AGENCIES["school"][0], "s": since},
        purpose="audit",
    )["auditAccessesByAgency"]["entries"]


def test_an_agency_system_cannot_borrow_the_consoles_words(browser: Browser, server: Server) -> None:
    """The 操作 column said what a request did from the operation name its client chose: a school's
    own system naming its name search `ProfileFacts` was shown to the auditor as 查看人员档案 (a
    read of a person file it never made). The console's words are for the console's own documents
    (the same query hash); the borrowed name is said by its kind (其他查询), while the console's own
    ProfileFacts, sent by the console when the school opens the child's file, still says 查看人员档案."""
    since = datetime.now(UTC).isoformat()
    fake = "query ProfileFacts($n: String!) { searchPeople(name: $n, first: 50) { edges { node { id } } } }"
    assert not server.gql("school", fake, {"n": "甲"}).get("errors")
    [faked] = [e["seq"] for e in _school_entries(server, since) if e["operation"] == "query ProfileFacts"]
    with session(browser, server, viewport=viewport("wide")) as (_, page, _w):
        sign_in(page, server, "school", "case_work")
        page.goto(f"/console/person/{quote(CHILD)}")
        expect(page.locator("#profile")).to_have_attribute("data-state", "complete")
    [own] = [
        e["seq"]
        for e in _school_entries(server, since)
        if e["operation"] == "query ProfileFacts" and e["seq"] > faked
    ]
    with session(browser, server, viewport=viewport("wide")) as (_, page, _w):
        sign_in(page, server, "auditor", "audit")
        page.select_option("#audit-agency", label=AGENCY_NAMES["school"])
        page.click("#audit-search")
        _every_page(page)
        table = page.locator("#audit-table")
        borrowed = table.locator(f"tbody tr[data-seq='{faked}'] .operation")
        expect(borrowed).to_contain_text("其他查询")
        expect(borrowed).not_to_contain_text("查看人员档案")
        expect(table.locator(f"tbody tr[data-seq='{own}'] .operation")).to_contain_text("查看人员档案")
