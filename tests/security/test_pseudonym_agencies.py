"""Class 2 (pseudonyms), over HTTP: two agencies' pseudonymised answers do not join on pseudonyms.

A pseudonym was the record id under the deployment's one key: every analyst agency got the same
pseudonym for the same child, so pseudonymised findings of two agencies (each harmless alone)
joined person by person without anyone re-identifying, and one agency's pseudonym worked as a
name in another's requests. A pseudonym is now made for the agency that receives it: stable for
that agency across requests and days, meaningless to another (NOT_FOUND, re-identified to null).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, Api, start_app
from tests.contract.test_graph_store import family

NET = """query($s: ID!) { network(start: $s, depth: 1) { start nodes { id } } }"""
REID = """query($p: [ID!]!) { networkReidentify(pseudonyms: $p) { pseudonym id } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    agencies = {
        "analyst": AGENCIES["analyst"],
        "analyst2": ("ana2-500101", "analyst", "500101000000", (), "analyst", "read:identity"),
    }
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("pseudonym-agencies") / "data", graph_buffer_pool_mb=256
    )  # type: ignore[call-arg]
    for client, tokens, secrets in start_app(settings, agencies, family):
        yield Api(client, tokens, settings, secrets)


def _start(api: Api, who: str, start: str) -> dict:
    return api.gql(who, NET, {"s": start}, purpose="assessment").json()


def test_each_agency_gets_its_own_pseudonyms(api: Api) -> None:
    mine, theirs = _start(api, "analyst", "person:child"), _start(api, "analyst2", "person:child")
    a, b = mine["data"]["network"], theirs["data"]["network"]
    assert a["start"].startswith("person~") and b["start"].startswith("person~")
    assert a["start"] != b["start"]
    assert not {n["id"] for n in a["nodes"]} & {n["id"] for n in b["nodes"]}
    # Stable for the agency itself.
    assert _start(api, "analyst", "person:child")["data"]["network"]["start"] == a["start"]
    assert _start(api, "analyst", a["start"])["data"]["network"]["start"] == a["start"]


def test_another_agencys_pseudonym_names_nothing(api: Api) -> None:
    theirs = _start(api, "analyst2", "person:child")["data"]["network"]["start"]
    refused = _start(api, "analyst", theirs)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", refused
    reid = api.gql("analyst", REID, {"p": [theirs]}, purpose="assessment").json()
    assert reid["data"]["networkReidentify"] == [{"pseudonym": theirs, "id": None}], reid
    own = api.gql("analyst2", REID, {"p": [theirs]}, purpose="assessment").json()
    assert own["data"]["networkReidentify"] == [{"pseudonym": theirs, "id": "person:child"}], own
