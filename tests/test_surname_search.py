"""Search by a surname alone (甲) finds the people of that surname in the caller's scope only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_fixtures import Api, serve
from tests.screening_support import data

SEARCH = "query($n: String!) { searchPeople(name: $n, first: 50) { edges { node { id name } } } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("surname"))


def ids(api: Api, who: str, name: str) -> set[str]:
    edges = data(api.gql(who, SEARCH, {"n": name}))["searchPeople"]["edges"]
    return {e["node"]["id"] for e in edges}


def test_a_surname_alone_finds_everyone_of_that_surname_in_scope(api: Api) -> None:
    # The county's caseworker: the child, her father and her uncle (甲乙 甲丙 甲辛), not 丁戊 or 己庚.
    assert ids(api, "civil", "甲") == {"person:child", "person:father", "person:uncle"}
    # The first village's supervisor: the uncle lives in the other village.
    assert ids(api, "village", "甲") == {"person:child", "person:father"}


def test_a_full_name_still_finds_only_that_person(api: Api) -> None:
    assert ids(api, "civil", "甲乙") == {"person:child"}
