"""Network analysis through the port, the same on every adapter (LadybugDB always, Neo4j when set)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from graph import network as net
from graph.model import node_id
from graph.port import GraphStore, GraphStoreError
from graph.records import Node, NodeRecord, RelRecord
from tests.contract.test_graph_store import SURVEY, VILLAGE, VILLAGE2, family, person

AS_OF = date(2026, 6, 1)


def everyone(_: Node) -> bool:
    return True


def cases_and_carers(store: GraphStore) -> None:
    """The family plus: a carer of the child and a cousin, a case about each, an expired guardianship."""
    store.upsert_nodes(
        [
            person("carer", SURVEY, name="壬癸", guardianship_capacity=True),
            person("cousin", SURVEY, name="甲子", birth_date="2016-09-09"),
            person("ex", SURVEY, name="乙丑"),
            person("lone", SURVEY, name="丙寅", birth_date="2017-01-01"),
            NodeRecord(node_id("ProtectionCase", "C1"), {"status": "open", "division": VILLAGE}, SURVEY),
            NodeRecord(node_id("Report", "R1"), {"status": "open", "division": VILLAGE}, SURVEY),
        ]
    )
    p = lambda k: node_id("Person", k)  # noqa: E731
    store.upsert_rels(
        [
            RelRecord("GUARDIAN_OF", p("carer"), p("child"), {"kind": "temporary"}, SURVEY),
            RelRecord("GUARDIAN_OF", p("carer"), p("cousin"), {"kind": "temporary"}, SURVEY),
            RelRecord(
                "GUARDIAN_OF", p("ex"), p("cousin"), {"kind": "entrusted", "until": "2020-01-01"}, SURVEY
            ),
            RelRecord(
                "GUARDIAN_OF", p("ex"), p("child"), {"kind": "entrusted", "until": "2021-01-01"}, SURVEY
            ),
            RelRecord(
                "GUARDIAN_OF", p("ex"), p("lone"), {"kind": "entrusted", "until": "2020-01-01"}, SURVEY
            ),
            RelRecord("CONCERNS", node_id("ProtectionCase", "C1"), p("child"), {}, SURVEY),
            RelRecord("CONCERNS", node_id("Report", "R1"), p("cousin"), {}, SURVEY),
        ]
    )


def test_guardian_loads_count_current_guardianships_only(store: GraphStore) -> None:
    family(store)
    cases_and_carers(store)
    loads = store.guardian_loads("500101", 2, AS_OF.isoformat())
    assert loads == [("person:carer", ["person:child", "person:cousin"])]
    # Before the ex-guardian's terms ended, they counted too.
    assert store.guardian_loads("500101", 2, "2019-06-01") == [
        ("person:ex", ["person:child", "person:cousin", "person:lone"]),
        ("person:carer", ["person:child", "person:cousin"]),
    ]
    assert store.guardian_loads("500101002", 1, AS_OF.isoformat()) == []
    with pytest.raises(GraphStoreError):
        store.guardian_loads("50x", 1, AS_OF.isoformat())


def test_case_subjects_households_and_children_pages(store: GraphStore) -> None:
    family(store)
    cases_and_carers(store)
    assert sorted(store.case_subjects("500101")) == [
        ("protectioncase:C1", "person:child"),
        ("report:R1", "person:cousin"),
    ]
    assert store.case_subjects(VILLAGE2) == []
    assert store.household_members("500101") == [("household:H1", ["person:child", "person:granny"])]
    assert store.household_members("500101", after="household:H1") == []
    children = dict(store.child_guardians("500101", "2008-06-01"))
    assert set(children) == {"person:child", "person:cousin", "person:lone"}
    assert sorted(children["person:child"]) == [
        ("person:carer", "GUARDIAN_OF", None),
        ("person:ex", "GUARDIAN_OF", "2021-01-01"),
        ("person:father", "PARENT_OF", None),
        ("person:granny", "GUARDIAN_OF", None),
        ("person:mother", "PARENT_OF", None),
    ]
    assert [c for c, _ in store.child_guardians("500101", "2008-06-01", after="person:child")] == [
        "person:cousin",
        "person:lone",
    ]


def test_trace_and_connection_leave_hidden_people_and_what_lies_behind_them_out(store: GraphStore) -> None:
    family(store)
    sub = net.trace(store, "person:child", 2, None, everyone)
    assert "person:uncle" in sub.nodes and "household:H1" in sub.nodes
    # Hide the grandmother: the uncle, reachable only through her, goes too; the household stays
    # because the child is visible.
    no_granny = net.trace(store, "person:child", 2, None, lambda n: n.id != "person:granny")
    assert set(no_granny.nodes) == {"person:child", "person:father", "person:mother", "household:H1"}
    assert all("granny" not in r.id for r in no_granny.rels.values())
    assert net.trace(store, "person:child", 2, None, lambda n: n.id != "person:child").nodes == {}

    found = net.connection(store, "person:child", "person:uncle", 4, None, everyone)
    assert found is not None
    nodes, hops = found
    assert [n.id for n in nodes] == ["person:child", "person:granny", "person:uncle"]
    assert [(h.rel.type, h.forward) for h in hops] == [("GUARDIAN_OF", False), ("PARENT_OF", True)]
    assert (
        net.connection(store, "person:child", "person:uncle", 4, None, lambda n: n.id != "person:granny")
        is None
    )
    with pytest.raises(net.NetworkError):
        net.trace(store, "person:child", 5, None, everyone)
    with pytest.raises(net.NetworkError):
        net.trace(store, "person:child", 1, ["NOT_A_TYPE"], everyone)


def test_a_trace_reads_each_hop_together_not_each_record(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3-hop network read one `neighbourhood` per record reached (30 engine statements for 7
    people on LadybugDB); each hop's records are now read in one `neighbourhoods` call, and the
    network is the same as record by record."""
    family(store)
    cases_and_carers(store)
    alone = {}
    for depth in (1, 2, 3):
        alone[depth] = net.trace(store, "person:child", depth, None, everyone)
    calls: dict[str, int] = {"neighbourhood": 0, "neighbourhoods": 0}
    for name in calls:
        original = getattr(type(store), name)

        def counted(self: GraphStore, *args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
            calls[_name] += 1
            return _f(self, *args, **kw)

        monkeypatch.setattr(type(store), name, counted)
    three = net.trace(store, "person:child", 3, None, everyone)
    assert calls == {"neighbourhood": 0, "neighbourhoods": 3}, calls
    assert len(three.nodes) >= len(alone[2].nodes) > len(alone[1].nodes) > 1
    assert (set(three.nodes), set(three.rels)) == (set(alone[3].nodes), set(alone[3].rels))


def test_patterns_on_the_family(store: GraphStore) -> None:
    family(store)
    cases_and_carers(store)
    # Both parents away, but the grandmother and the carer are capable: only the child whose one
    # guardianship has ended is without a guardian.
    page = net.children_without_capable_guardian(store, "500101", AS_OF, 16, 10, None, everyone)
    assert [(c.child.id, c.no_guardian_recorded) for c in page.items] == [("person:lone", True)]
    store.upsert_nodes([person("carer", SURVEY, works_away=True)])
    page = net.children_without_capable_guardian(store, "500101", AS_OF, 16, 1, None, everyone)
    assert [c.child.id for c in page.items] == ["person:cousin"] and page.has_next
    assert [(g.guardian.id, g.reasons) for g in page.items[0].guardians] == [("person:carer", ["works_away"])]
    rest = net.children_without_capable_guardian(store, "500101", AS_OF, 16, 5, page.end_cursor, everyone)
    assert [c.child.id for c in rest.items] == ["person:lone"] and not rest.has_next
    clusters = net.case_clusters(store, "500101", 1, 10, everyone)
    assert [[p.id for p in c.people] for c in clusters] == [["person:child", "person:cousin"]]
    assert {n.id for n in clusters[0].cases} == {"protectioncase:C1", "report:R1"}
    # The household has the grandmother at home.
    assert net.households_without_adults(store, "500101", AS_OF, 10, None, everyone).items == []
    store.upsert_nodes([person("granny", SURVEY, works_away=True)])
    away = net.households_without_adults(store, "500101", AS_OF, 10, None, everyone).items
    assert [(h.household.id, [c.id for c in h.children]) for h in away] == [
        ("household:H1", ["person:child"])
    ]
    assert [(a.person.id, a.reasons) for a in away[0].absent_adults] == [("person:granny", ["works_away"])]
