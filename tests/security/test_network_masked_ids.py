"""Over HTTP: a network does not give out a record id carrying a value the caller sees masked.

A household's record id is `household:<household number>`. The field layer makes it opaque where
the number is masked (`fields.Household.id`, mask `pseudonym`: under the statistics and audit
purposes, `[purpose.classes.household]`), so `person { household { id } }` reads `household~…`.
The network API gave the raw id out to callers that do not get pseudonyms: a civil-affairs
caseworker under statistics read `person { householdNumber }` masked and `network(start:)` handed
back `household:H1` as a node id, inside `MEMBER_OF:person:child>household:H1`, as an edge's
target, a path hop and a risk-pattern item. Every id the network API gives out follows the field
layer's rule, and the opaque id does not start a network that would tell the number either.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_fixtures import Api
from tests.contract.test_graph_store import TOWN
from tests.security.support import family_served

NET = """query($s: ID!) { network(start: $s, depth: 2) {
  start nodes { id kind label } edges { id source target } } }"""
PATH = """query($a: ID!, $b: ID!) { networkPath(source: $a, target: $b) {
  nodes { id } hops { source target edge { id source target } } } }"""
HOUSEHOLDS = """query($d: String!) { networkHouseholdsWithoutAdults(division: $d, first: 50,
  asOf: "2026-06-01") { items { household { id label } children { id } } endCursor } }"""
PERSON = 'query { person(id: "person:child") { household { id householdNumber } } }'


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from family_served(tmp_path_factory, "network-masked-ids")


def _ok(r: object) -> dict:
    body = r.json()  # type: ignore[attr-defined]
    assert "errors" not in body, body
    return body["data"]


def _ids(net: dict) -> set[str]:
    return (
        {net["start"]}
        | {n["id"] for n in net["nodes"]}
        | {x for e in net["edges"] for x in (e["id"], e["source"], e["target"])}
    )


@pytest.mark.parametrize("purpose", ["statistics", "audit"])
def test_a_masked_household_number_is_not_in_a_networks_ids(api: Api, purpose: str) -> None:
    read = _ok(api.gql("civil", PERSON, purpose=purpose))["person"]
    assert read["household"]["householdNumber"] != "H1", read  # the field layer masks it
    opaque = read["household"]["id"]
    assert opaque.startswith("household~"), read

    net = _ok(api.gql("civil", NET, {"s": "person:child"}, purpose=purpose))["network"]
    ids = _ids(net)
    assert not [i for i in ids if "household:" in i or "H1" in i], ids
    assert opaque in {n["id"] for n in net["nodes"] if n["kind"] == "Household"}, net
    assert any(i.startswith("member_of~") for i in ids), ids  # the edge to it is opaque too
    assert "person:child" in ids and "person:granny" in ids  # other ids as they were

    path = api.gql("civil", PATH, {"a": "person:father", "b": "person:granny"}, purpose=purpose)
    assert "household:" not in path.text and "H1" not in path.text, path.text
    to_household = _ok(api.gql("civil", PATH, {"a": "person:granny", "b": "household:H1"}, purpose=purpose))
    hops = to_household["networkPath"]["hops"]
    assert hops and hops[-1]["target"] == opaque and "household:" not in str(to_household), to_household

    page = api.gql("civil", HOUSEHOLDS, {"d": TOWN}, purpose=purpose)
    assert "household:" not in page.text and "H1" not in page.text, page.text

    # The opaque id names nothing a network starts from (no number through the back door).
    r = api.gql("civil", NET, {"s": opaque}, purpose=purpose)
    assert "H1" not in r.text and "household:" not in r.text, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND", r.text
    # Started from the raw id (a caller who already knows the number), the answer still masks it.
    r = api.gql("civil", NET, {"s": "household:H1"}, purpose=purpose)
    assert "household:" not in r.text and "H1" not in r.text, r.text


def test_network_ids_follow_the_field_layer_for_every_caller(api: Api) -> None:
    """Whoever sees the household number (a caseworker at work, the police) still gets
    `household:H1`; whoever does not (no declared purpose: denied) gets the layer's opaque id."""
    seen = set()
    for who, purpose in (("civil", "case_work"), ("police", "case_work"), ("civil", None), ("police", None)):
        layer_id = api.gql(who, PERSON, purpose=purpose).json()["data"]["person"]["household"]["id"]
        seen.add(layer_id == "household:H1")
        net = _ok(api.gql(who, NET, {"s": "person:child"}, purpose=purpose))["network"]
        households = {n["id"] for n in net["nodes"] if n["kind"] == "Household"}
        assert households == {layer_id}, (who, purpose, households, layer_id)
        edges = {e["id"] for e in net["edges"]}
        if layer_id == "household:H1":
            assert "MEMBER_OF:person:child>household:H1" in edges, (who, purpose)
            again = _ok(api.gql(who, NET, {"s": "household:H1"}, purpose=purpose))["network"]
            assert again["start"] == "household:H1"
        else:
            assert not [i for i in _ids(net) if "household:" in i or "H1" in i], (who, purpose)
    assert seen == {True, False}  # both kinds of caller were tried
