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
