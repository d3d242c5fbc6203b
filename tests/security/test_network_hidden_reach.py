"""Class 5 (networks), over HTTP: a network says nothing about the people beyond the caller's scope.

A child of the village is in the care of an institution's director who lives in another village
(outside the village committee's rows) and is the entrusted guardian of many children there. The
village committee's network of the child is the child alone: the director is out of scope, and so
are the director's wards. Whether a cap cut the network (`truncated`) must be decided by what the
caller may see: a walk through the hidden director reached (and cut) the director's wards, and
`truncated: true` then said that someone the caller may not see stands next to this child and
holds more than MAX_FANOUT relationships; for a child whose hidden guardian has few wards it said
false. The police of the county, who see everyone, still get the network marked truncated.

Likewise a connection: two children of the village linked through their grandmother and an aunt
(three hops, all in the village) were told "no connection" when they also had a father in common
who lives in the other village (two hops through him): the engine's shortest connection ran through
the hidden father and was withheld, and the null said that the two share someone the caller may not
see. The shortest connection the caller may see is what a connection is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from graph import network as net
from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.records import Assertion, NodeRecord, RelRecord
from tests.api_fixtures import Api, serve_populated
from tests.contract.test_graph_store import VILLAGE, VILLAGE2

SRC = Assertion("survey", "hidden-reach", datetime(2026, 5, 1))
MANY = net.MAX_FANOUT + 10
POLICE2_VILLAGE = "500102001001"  # in the other county: the jurisdiction of ps-500102

PATH = """query Path($a: ID!, $b: ID!) {
  networkPath(source: $a, target: $b) { length nodes { id } hops { type direction } } }"""
NET = """query Net($start: ID!, $depth: Int!) {
  network(start: $start, depth: $depth) { nodes { id } truncated } }"""


def populate(store: LadybugStore) -> None:
    director, carer = node_id("Person", "hr-director"), node_id("Person", "hr-carer")
    ward, other = node_id("Person", "hr-ward"), node_id("Person", "hr-other")
    nodes = [
        NodeRecord(director, {"birth_date": "1970-01-01", "division": VILLAGE2}, SRC),
        NodeRecord(carer, {"birth_date": "1971-01-01", "division": VILLAGE2}, SRC),
        NodeRecord(ward, {"birth_date": "2016-02-02", "division": VILLAGE}, SRC),
        NodeRecord(other, {"birth_date": "2016-03-03", "division": VILLAGE}, SRC),
    ]
    rels = [
        RelRecord("GUARDIAN_OF", director, ward, {"kind": "institutional"}, SRC),
        RelRecord("GUARDIAN_OF", carer, other, {"kind": "entrusted"}, SRC),
    ]
    for i in range(MANY):  # the director's wards in the other village
        kid = node_id("Person", f"hr-kid{i:03d}")
        nodes.append(NodeRecord(kid, {"birth_date": "2015-04-04", "division": VILLAGE2}, SRC))
        rels.append(RelRecord("GUARDIAN_OF", director, kid, {"kind": "institutional"}, SRC))
    for i in range(3):  # the carer's few
        kid = node_id("Person", f"hr-few{i}")
        nodes.append(NodeRecord(kid, {"birth_date": "2015-04-04", "division": VILLAGE2}, SRC))
        rels.append(RelRecord("GUARDIAN_OF", carer, kid, {"kind": "entrusted"}, SRC))
    # Two pairs of half-cousins, linked the same way in the village; the first pair also share a
    # father in the other village.
    for pair, hidden_father in (("hp", True), ("vp", False)):
        c1, c2, gran, aunt = (node_id("Person", f"{pair}-{r}") for r in ("c1", "c2", "gran", "aunt"))
        for pid, born in ((c1, "2014-01-01"), (c2, "2016-01-01"), (gran, "1950-01-01"), (aunt, "1975-01-01")):
            nodes.append(NodeRecord(pid, {"birth_date": born, "division": VILLAGE}, SRC))
        rels += [
            RelRecord("GUARDIAN_OF", gran, c1, {"kind": "entrusted"}, SRC),
            RelRecord("PARENT_OF", gran, aunt, {"role": "mother"}, SRC),
            RelRecord("GUARDIAN_OF", aunt, c2, {"kind": "entrusted"}, SRC),
        ]
        if hidden_father:
            father = node_id("Person", f"{pair}-father")
            nodes.append(NodeRecord(father, {"birth_date": "1980-01-01", "division": VILLAGE2}, SRC))
            rels += [
                RelRecord("PARENT_OF", father, c1, {"role": "father"}, SRC),
                RelRecord("PARENT_OF", father, c2, {"role": "father"}, SRC),
            ]
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_populated(tmp_path_factory, "hidden-reach", populate)


def _network(api: Api, who: str, start: str, depth: int = 2) -> dict:
    body = api.gql(who, NET, {"start": start, "depth": depth}).json()
    assert "errors" not in body, body
    return body["data"]["network"]


def test_a_hidden_guardians_many_wards_do_not_mark_the_network_truncated(api: Api) -> None:
    for depth in (2, 3, 4):
        many = _network(api, "village", "person:hr-ward", depth)
        few = _network(api, "village", "person:hr-other", depth)
        assert [n["id"] for n in many["nodes"]] == ["person:hr-ward"]
        assert [n["id"] for n in few["nodes"]] == ["person:hr-other"]
        # The same answer whoever stands, hidden, beyond the child.
        assert many["truncated"] == few["truncated"] is False, (depth, many, few)


def test_the_police_who_see_the_wards_get_the_network_marked_truncated(api: Api) -> None:
    seen = _network(api, "police", "person:hr-ward")
    ids = {n["id"] for n in seen["nodes"]}
    assert "person:hr-director" in ids
    assert len([i for i in ids if i.startswith("person:hr-kid")]) == net.MAX_FANOUT
    assert seen["truncated"] is True


def _path(api: Api, who: str, a: str, b: str) -> dict | None:
    body = api.gql(who, PATH, {"a": a, "b": b}).json()
    assert "errors" not in body, body
    return body["data"]["networkPath"]


def test_a_connection_through_a_hidden_person_gives_way_to_the_shortest_one_in_scope(api: Api) -> None:
    hidden = _path(api, "village", "person:hp-c1", "person:hp-c2")
    plain = _path(api, "village", "person:vp-c1", "person:vp-c2")
    assert plain is not None and plain["length"] == 3
    assert hidden is not None, "null says the two share someone out of scope"
    assert [n["id"] for n in hidden["nodes"]] == [
        "person:hp-c1",
        "person:hp-gran",
        "person:hp-aunt",
        "person:hp-c2",
    ]
    assert hidden["hops"] == plain["hops"]
    # The police see the father: for them the shortest connection is through him.
    police = _path(api, "police", "person:hp-c1", "person:hp-c2")
    assert police is not None and [n["id"] for n in police["nodes"]][1] == "person:hp-father"


GUARDIANS = """query($first: Int!) {
  networkGuardiansOfMany(division: "5", minChildren: 3, first: $first) { guardian { id } count } }"""


def test_guardians_of_many_children_do_not_depend_on_how_many_are_asked_for(api: Api) -> None:
    """The store's heaviest guardians were read 4 × `first` at most, before row scope: with
    `first: 1` the other county's police got nothing, their own carer of three crowded out by four
    guardians of the county they may not see (five wards each), and with `first: 50` the carer;
    the difference said how many such guardians stand out of their scope."""
    store = api.client.app.state.graph  # type: ignore[attr-defined]
    nodes, rels = [], []
    for g, (division, wards) in enumerate([(VILLAGE, 5)] * 4 + [(POLICE2_VILLAGE, 3)]):
        gid = node_id("Person", f"gm-g{g}")
        nodes.append(NodeRecord(gid, {"birth_date": "1960-01-01", "division": division}, SRC))
        for w in range(wards):
            kid = node_id("Person", f"gm-g{g}-w{w}")
            nodes.append(NodeRecord(kid, {"birth_date": "2016-01-01", "division": division}, SRC))
            rels.append(RelRecord("GUARDIAN_OF", gid, kid, {"kind": "entrusted"}, SRC))
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)
    answers = {}
    for first in (1, 50):
        body = api.gql("police2", GUARDIANS, {"first": first}).json()
        assert "errors" not in body, body
        answers[first] = body["data"]["networkGuardiansOfMany"]
    assert answers[1] == answers[50] == [{"guardian": {"id": "person:gm-g4"}, "count": 3}], answers
