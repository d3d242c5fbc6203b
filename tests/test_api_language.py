"""The GraphQL API's refusals speak the catalogue's language: Chinese unless the deployment is
switched to English (``SHOUHU_LANGUAGE=en``), over HTTP as an agency system sees them. The code and
the reason, which clients and the console key on, are the same in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.messages import say
from kernel.settings import get_settings
from tests.api_fixtures import Api, serve

CASE = '{ protectionCase(id: "case-nope") { id } }'
AUDIT = "{ auditChainStatus { ok } }"
EXPENSIVE = """{ people(division: "500101000000", first: 100) { edges { node {
    parents { person { id name } } guardians { person { id name } }
    household { members { person { id } } }
} } } }"""

# (query, code, reason, Chinese, English): the words spelled out, not only looked up, so a
# catalogue entry that lost its Chinese would fail here too.
REFUSALS = {
    "unknown case": (
        CASE,
        "NOT_FOUND",
        "not_found_or_out_of_scope",
        "您的管辖范围内没有此案件",
        "no such case in your scope",
    ),
    "missing capability": (AUDIT, "FORBIDDEN", "capability_missing", "无权进行此操作", "not permitted"),
    "too expensive": (
        EXPENSIVE,
        "QUERY_TOO_EXPENSIVE",
        None,
        "查询代价过高，请缩小范围",
        "query is too expensive",
    ),
}


@pytest.fixture(params=["zh-CN", "en"])
def api(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Api, str]]:
    """A fresh app per language: settings are cached, and so are a schema's validation results."""
    if request.param == "en":
        monkeypatch.setenv("SHOUHU_LANGUAGE", "en")
    else:
        monkeypatch.delenv("SHOUHU_LANGUAGE", raising=False)
    get_settings.cache_clear()
    try:
        for served in serve(tmp_path):
            yield served, request.param
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_refusals_are_chinese_unless_switched_to_english(api: tuple[Api, str]) -> None:
    served, language = api
    for name, (query, code, reason, zh, en) in REFUSALS.items():
        body = served.gql("police", query).json()
        error = body["errors"][0]
        assert error["extensions"]["code"] == code, (name, error)
        assert error["extensions"].get("reason") == reason, (name, error)
        assert error["message"] == (en if language == "en" else zh), (name, error)
    # The catalogue is what says it: the not-found answer is one per kind of record.
    missing = served.gql("police", CASE).json()["errors"][0]["message"]
    assert missing == say("api.not_found", what=say("api.what.case"))


def test_a_workflow_refusal_names_the_measures_in_the_callers_language(api: tuple[Api, str]) -> None:
    """A domain refusal (protection/emergency.py) through GraphQL: a missing child cannot be found
    before the search started. The measures that must come first are named (Chinese, or their codes
    in English) and listed by code in ``extensions.needs``, which the console reads."""
    from tests.test_protection_cases import ACCEPT, ACTION, FILE, ok, refused

    served, language = api
    report = ok(
        served,
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "MISSING", "summary": "放学未归"}},
    )
    ok(served, "police", ACCEPT, {"id": report["id"]})
    error = refused(
        served, "police", ACTION, {"input": {"caseId": report["caseId"], "action": "child_found"}}
    )
    assert error["extensions"]["code"] == "INVALID_TRANSITION", error
    assert error["extensions"]["needs"] == ["missing_search_started"], error
    expected = {
        "zh-CN": "“儿童已找到”须先完成：启动儿童失踪快速查找机制",
        "en": "child_found needs missing_search_started first",
    }
    assert error["message"] == expected[language], error


def test_a_visit_refused_for_an_adult_says_so_in_the_callers_language(api: tuple[Api, str]) -> None:
    """A VisitError's words are the catalogue's: the refusal of a visit for an adult was written in
    Chinese in the code, and stayed Chinese under SHOUHU_LANGUAGE=en."""
    from datetime import date

    from tests.contract.test_graph_store import person
    from tests.screening_support import error, store_of
    from tests.test_visit_adult import RECORD, visit

    served, language = api
    store_of(served).upsert_nodes(
        [person("adult", name="甲成", birth_date=f"{date.today().year - 23}-01-01")]
    )
    e = error(served.gql("village", RECORD, {"in": visit("person:adult", "adult-0001")}, purpose="screening"))
    assert e["extensions"]["reason"] == "adult", e
    expected = {
        "zh-CN": "此人走访当日已满18周岁，走访只记录未成年人",
        "en": "this person was 18 or older on the day of the visit; visits are recorded for children only",
    }
    assert e["message"] == expected[language], e


# graphql-core's own refusals of a document or its variables (query, variables, Chinese, English):
# the catalogue's words, the names the client wrote and the place, never a value it sent.
STAT = 'query($g: StatGroup!) { statistics(division: "500101000000", groupBy: $g) { takenAt } }'
ENGINE_ERRORS = {
    "syntax": (
        '{ person(id: "甲乙") { id ',
        None,
        "查询语句有语法错误：第 1 行第 25 列附近",
        "syntax error in the query near line 1, column 25",
    ),
    "unknown field": (
        '{ person(id: "x") { idd } }',
        None,
        "Person 没有字段 idd",
        "there is no field idd on Person",
    ),
    "unknown argument": (
        '{ person(id: "x", bogus: 1) { id } }',
        None,
        "Query.person 没有参数 bogus",
        "Query.person has no argument bogus",
    ),
    "missing argument": (
        "{ person { id } }",
        None,
        "Query.person 须提供参数 id",
        "Query.person needs the argument id",
    ),
    "wrong argument type": (
        "{ people(division: 500101) { pageInfo { hasNextPage } } }",
        None,
        "第 1 行第 20 列的值不是 String 类型",
        "the value at line 1, column 20 is not of type String",
    ),
    "wrong variable type": (
        'query($n: Int!) { people(division: "500101000000", first: $n) { pageInfo { hasNextPage } } }',
        {"n": "甲乙"},
        "变量 $n 缺失或其值的类型不对",
        "variable $n is missing or its value is of the wrong type",
    ),
    "statistics groupBy": (
        STAT,
        {"g": "BY_VILLAGE"},
        "变量 $g 的值不是 StatGroup 的可选值；"
        "可选：DIVISION、CATEGORY、ARRANGEMENT、SCHOOLING、CASE_STATUS、SEX",
        "variable $g is not a value of StatGroup; one of DIVISION, CATEGORY, ARRANGEMENT, SCHOOLING, "
        "CASE_STATUS, SEX",
    ),
    "statistics groupBy literal": (
        '{ statistics(division: "500101000000", groupBy: BY_VILLAGE) { takenAt } }',
        None,
        "StatGroup 的取值无效；可选：DIVISION、CATEGORY、ARRANGEMENT、SCHOOLING、CASE_STATUS、SEX",
        "not a value of StatGroup; one of DIVISION, CATEGORY, ARRANGEMENT, SCHOOLING, CASE_STATUS, SEX",
    ),
    "anything else": (
        "query($a: Int, $a: Int) { __typename }",
        None,
        "查询语句有误：第 1 行第 8 列附近",
        "the query is not valid near line 1, column 8",
    ),
}


def test_engine_refusals_of_a_document_are_catalogue_text(api: tuple[Api, str]) -> None:
    """A malformed query, an unknown field or argument, a value of the wrong type: said in the
    caller's language (graphql-core's English before), the code unchanged, no value echoed."""
    served, language = api
    for name, (query, variables, zh, en) in ENGINE_ERRORS.items():
        r = served.gql("analyst", query, variables)
        assert r.status_code == 200, (name, r.text)
        error = r.json()["errors"][0]
        assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}, (name, error)
        assert error["message"] == (en if language == "en" else zh), (name, error)
        assert "甲乙" not in r.text and "BY_VILLAGE" not in r.text and "Traceback" not in r.text, name
    r = served.client.post(
        "/graphql",
        json={"query": "query A { __typename }", "operationName": "B"},
        headers={"Authorization": f"Bearer {served.tokens['analyst']}"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["message"] == say("api.operation_undetermined"), r.text
    assert r.json()["errors"][0]["message"].startswith("无法确定" if language == "zh-CN" else "the operation")


# What the audit log refuses to be asked, as an auditor's system asks it (query, reason, Chinese,
# English): a refusal the auditor can fix (BAD_REQUEST), not an internal error, and no value echoed.
AUDIT_REFUSALS = {
    "time without a zone": (
        '{ auditDeniedAttempts(until: "2026-01-01T00:00:00") { nextAfterSeq } }',
        "naive_time",
        "截止时间（until）须写明时区（如 2026-12-07T08:00:00+08:00）",
        "until needs its time zone (e.g. 2026-12-07T08:00:00+08:00)",
    ),
    "window too short": (
        "{ auditUnusualVolume(windowMinutes: 2) { count } }",
        "invalid_window",
        "时间窗口应在 5 分钟至 1 天之间",
        "the window is between 5 minutes and 1 day",
    ),
    "factor not positive": (
        "{ auditUnusualVolume(factor: 0) { count } }",
        "invalid_threshold",
        "倍数须大于 0，最少记录数不能为负数",
        "the factor must be positive and the minimum count not negative",
    ),
    "not a record id": (
        '{ auditAccessesToRecord(recordId: "person:13812345678") { nextAfterSeq } }',
        "not_a_record_id",
        "不是记录编号或化名",
        "not a record id or pseudonym",
    ),
}


def test_audit_query_refusals_are_catalogue_text(api: tuple[Api, str]) -> None:
    """auth/audit/queries.py's refusals reached auditors as INTERNAL "internal error" (a ValueError
    with English words, logged with its stack): now BAD_REQUEST with a reason, in their language."""
    served, language = api
    for name, (query, reason, zh, en) in AUDIT_REFUSALS.items():
        r = served.gql("auditor", query, purpose="audit_review")
        error = r.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_REQUEST", "reason": reason}, (name, error)
        assert error["message"] == (en if language == "en" else zh), (name, error)
        assert "13812345678" not in r.text, name


def test_a_petition_refused_for_its_grounds_says_so_in_the_callers_language(api: tuple[Api, str]) -> None:
    """MISSING_GROUNDS: the message was English in both languages; now the catalogue names each
    ground (Chinese, or its code in English) and what the record lacks for it. `extensions.grounds`
    keeps the ground codes and the fact texts the console keys its own words on."""
    from tests.test_protection_cases import ACCEPT, FILE, PETITION, ok, refused

    served, language = api
    report = ok(
        served,
        "village",
        FILE,
        {"input": {"childId": "person:child", "situation": "DOMESTIC_VIOLENCE", "summary": "身上多处伤痕"}},
    )
    ok(served, "police", ACCEPT, {"id": report["id"]})
    petition = {"caseId": report["caseId"], "guardianId": "person:father", "grounds": ["abuse_serious_harm"]}
    error = refused(served, "civil", PETITION, {"input": petition})
    assert error["extensions"]["code"] == "MISSING_GROUNDS", error
    assert error["extensions"]["grounds"] == {
        "abuse_serious_harm": [
            "an injury assessment finding serious harm (重伤)",
            "a penalty or criminal referral against this guardian",
        ]
    }, error
    expected = {
        "zh-CN": "记录尚不足以支持所列法定事由：“实施家庭暴力、虐待或遗弃导致身心健康严重受损”缺少"
        "认定重伤的伤情鉴定、对该监护人的治安处罚或立案侦查",
        "en": "the record does not support the grounds: abuse_serious_harm lacks an injury assessment "
        "finding serious harm (重伤), a penalty or criminal referral against this guardian",
    }
    assert error["message"] == expected[language], error
