"""Masks designed against reconstruction (issue 10, classes 2 and 5): a role that sees the ID
number masked sees the birth date as a year (policy [reconstruction]); an id that carries a
masked value (household:<number>) is a pseudonym for that role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_fixtures import Api
from tests.security.field_support import BIRTH, ID_NUMBER, PEOPLE, serve_county

PERSON = "query($id: ID!) { person(id: $id) { idNumber birthDate division } }"
HOUSEHOLD = 'query { person(id: "person:child") { household { id householdNumber } } }'


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_county(tmp_path_factory.mktemp("masks"))


def test_masked_id_number_comes_with_a_birth_year(api: Api) -> None:
    village = api.gql("village", PERSON, {"id": PEOPLE["ill"]}, purpose="screening").json()["data"]["person"]
    assert village["idNumber"] == ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert village["birthDate"] == BIRTH[:4]
    assert village["division"]  # the village is what screening work needs


def test_the_full_reader_sees_both(api: Api) -> None:
    police = api.gql("police", PERSON, {"id": PEOPLE["ill"]}).json()["data"]["person"]
    assert police["idNumber"] == ID_NUMBER and police["birthDate"] == BIRTH


def test_a_household_id_does_not_carry_a_masked_household_number(api: Api) -> None:
    full = api.gql("civil", HOUSEHOLD).json()["data"]["person"]["household"]
    assert full == {"id": "household:H1", "householdNumber": "H1"}
    masked = api.gql("analyst", HOUSEHOLD, purpose="statistics").json()["data"]["person"]["household"]
    assert masked["householdNumber"] == "***"
    assert "H1" not in masked["id"] and masked["id"].startswith("household~")
