"""A profile read is the size of one child's surroundings, never of the child's village or school.

A synthetic county whose village has many residents (and whose school many pupils): the profile of
one child holds everything the profile shows (household and its members, parents, guardian, the
agreement and who signed it, the case and its intervention, the village and the school) and none
of the other residents or pupils; growing the village does not grow the read by one row.
"""

from __future__ import annotations

from datetime import datetime

from graph.model import node_id
from graph.port import GraphStore
from graph.profile import load_profile
from graph.records import Assertion, NodeRecord, RelRecord

SRC = Assertion("police_hukou", "HK-HUB", datetime(2026, 3, 1, 9, 0))
VILLAGE = "500101001001"
D = node_id("Division", VILLAGE)
S = node_id("School", "S-HUB")
CHILD = node_id("Person", "hub-child")


def _p(key: str) -> str:
    return node_id("Person", key)


def _county(store: GraphStore) -> None:
    store.upsert_nodes(
        [
            NodeRecord(D, {"code": VILLAGE, "name": "大村", "level": "village", "division": VILLAGE}, SRC),
            NodeRecord(S, {"code": "S-HUB", "name": "中心小学", "division": VILLAGE}, SRC),
            NodeRecord(CHILD, {"division": VILLAGE, "birth_date": "2016-01-01"}, SRC),
            NodeRecord(_p("hub-father"), {"division": VILLAGE}, SRC),
            NodeRecord(_p("hub-granny"), {"division": VILLAGE}, SRC),
            NodeRecord(_p("hub-sister"), {"division": VILLAGE}, SRC),
            NodeRecord(node_id("Household", "HUB1"), {"household_number": "HUB1", "division": VILLAGE}, SRC),
            NodeRecord(node_id("Agreement", "HUB-A"), {"kind": "entrustment"}, SRC),
            NodeRecord(node_id("ProtectionCase", "HUB-C"), {"status": "open", "agency": "ca-1"}, SRC),
            NodeRecord(node_id("Intervention", "HUB-I"), {"agency": "ps-1"}, SRC),
        ]
    )
    hh = node_id("Household", "HUB1")
    store.upsert_rels(
        [
            RelRecord("RESIDES_IN", CHILD, D, {}, SRC),
            RelRecord("REGISTERED_IN", CHILD, D, {}, SRC),
            RelRecord("ENROLLED_AT", CHILD, S, {"grade": "3"}, SRC),
            RelRecord("MEMBER_OF", CHILD, hh, {"relation_to_head": "grandchild"}, SRC),
            RelRecord("MEMBER_OF", _p("hub-sister"), hh, {"relation_to_head": "grandchild"}, SRC),
            RelRecord("MEMBER_OF", _p("hub-granny"), hh, {"relation_to_head": "head"}, SRC),
            RelRecord("PARENT_OF", _p("hub-father"), CHILD, {"role": "father"}, SRC),
            RelRecord("RESIDES_IN", _p("hub-father"), D, {}, SRC),
            RelRecord("GUARDIAN_OF", _p("hub-granny"), CHILD, {"kind": "entrusted"}, SRC),
            RelRecord("COVERS", node_id("Agreement", "HUB-A"), CHILD, {}, SRC),
            RelRecord("SIGNED", _p("hub-father"), node_id("Agreement", "HUB-A"), {"role": "principal"}, SRC),
            RelRecord("CONCERNS", node_id("ProtectionCase", "HUB-C"), CHILD, {}, SRC),
            RelRecord(
                "PART_OF_CASE", node_id("Intervention", "HUB-I"), node_id("ProtectionCase", "HUB-C"), {}, SRC
            ),
        ]
    )


def _residents(store: GraphStore, start: int, count: int) -> None:
    """Villagers registered and living in the village, half of them pupils of the child's school."""
    keys = [f"hub-villager-{i:05d}" for i in range(start, start + count)]
    store.upsert_nodes([NodeRecord(_p(k), {"division": VILLAGE}, SRC) for k in keys])
    rels = [RelRecord("RESIDES_IN", _p(k), D, {}, SRC) for k in keys]
    rels += [RelRecord("REGISTERED_IN", _p(k), D, {}, SRC) for k in keys]
    rels += [RelRecord("ENROLLED_AT", _p(k), S, {"grade": "2"}, SRC) for k in keys[::2]]
    store.upsert_rels(rels)


EXPECTED = {
    CHILD,
    D,
    S,
    _p("hub-father"),
    _p("hub-granny"),
    _p("hub-sister"),
    node_id("Household", "HUB1"),
    node_id("Agreement", "HUB-A"),
    node_id("ProtectionCase", "HUB-C"),
    node_id("Intervention", "HUB-I"),
}


def test_a_profile_never_walks_through_the_village_or_the_school(store: GraphStore) -> None:
    _county(store)
    _residents(store, 0, 60)
    small = load_profile(store, CHILD)
    assert small is not None
    # Everything the profile shows is there, the village and the school included…
    assert set(small.sub.nodes) == EXPECTED
    assert [n.id for _, n in small.outgoing(CHILD, "RESIDES_IN")] == [D]
    assert [n.id for _, n in small.outgoing(CHILD, "ENROLLED_AT")] == [S]
    assert {n.id for _, n in small.incoming(node_id("Household", "HUB1"), "MEMBER_OF")} == {
        CHILD,
        _p("hub-sister"),
        _p("hub-granny"),
    }
    assert [n.id for _, n in small.incoming(node_id("Agreement", "HUB-A"), "SIGNED")] == [_p("hub-father")]
    assert [n.id for _, n in small.incoming(node_id("ProtectionCase", "HUB-C"), "PART_OF_CASE")] == [
        node_id("Intervention", "HUB-I")
    ]
    # …and the father's village (an edge person's place, for row scope) too, as a hub reached.
    assert any(r.src == _p("hub-father") and r.dst == D for r in small.sub.rels.values())
    # A village ten times the size: not one more row read.
    _residents(store, 60, 540)
    large = load_profile(store, CHILD)
    assert large is not None
    assert set(large.sub.nodes) == set(small.sub.nodes)
    assert set(large.sub.rels) == set(small.sub.rels)

    # `not_through` stops walks through a hub, not from one: the village's surroundings, asked for
    # from the village, are its residents.
    sub = store.neighbourhood(D, 1, ["RESIDES_IN"], not_through=("Division",))
    assert sum(1 for n in sub.nodes if n.startswith("person:hub-villager")) == 600
