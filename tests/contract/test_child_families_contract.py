"""`GraphStore.child_families` (the cross-check's set-based read), the same on every adapter."""

from __future__ import annotations

from datetime import datetime

import pytest

from graph.model import node_id
from graph.port import GraphStore, GraphStoreError
from graph.records import Assertion, NodeRecord, RelRecord
from tests.contract.test_graph_store import HUKOU, SURVEY, VILLAGE, VILLAGE2, family, person

FAMILY = ("PARENT_OF", "MEMBER_OF", "ENROLLED_AT")
SURVEY_2 = Assertion("survey", "SV-9", datetime(2026, 5, 1, 10, 0))
p = lambda k: node_id("Person", k)  # noqa: E731
H1, H2 = node_id("Household", "H1"), node_id("Household", "H2")


def more_family(store: GraphStore) -> None:
    """The family plus: the survey says both parents work away (the mother also registered at
    home, the father not), a cousin in the next village with one parent, a baby with none."""
    store.upsert_nodes(
        [
            person("father", SURVEY_2, works_away=True),
            person("mother", SURVEY_2, works_away=True, name='引号"works_away":'),
            person("cousin", SURVEY, birth_date="2012-12-12", division=VILLAGE2, hukou_type="urban"),
            person("baby", SURVEY, birth_date="2025-01-01", deceased=False),
            NodeRecord(H2, {"household_number": "H2", "division": VILLAGE2}, HUKOU),
        ]
    )
    store.upsert_rels(
        [
            RelRecord("MEMBER_OF", p("mother"), H1, {"relation_to_head": "儿媳"}, HUKOU),
            RelRecord("MEMBER_OF", p("mother"), H2, {}, SURVEY),
            RelRecord("PARENT_OF", p("uncle"), p("cousin"), {"role": "father"}, HUKOU),
            RelRecord("MEMBER_OF", p("cousin"), H2, {}, HUKOU),
        ]
    )


def test_child_families_reads_a_divisions_children_with_their_family(store: GraphStore) -> None:
    family(store)
    more_family(store)
    got = store.child_families("500101001", "2008-01-01", "works_away", "police_hukou")
    # Born since the day, in the division: not the adults, not the cousin of the next village.
    assert [y.id for y in got.people] == [p("baby"), p("child")]
    baby, child = got.people
    assert (baby.parents, baby.households, baby.enrolment_statuses) == ([], [], [])
    assert baby.deceased is False and baby.birth_date == "2025-01-01"
    assert child.division == VILLAGE and child.birth_date == "2015-03-01"
    assert child.hukou_type == "rural" and child.deceased is None
    assert child.systems == ["police_hukou"]
    assert child.enrolment_statuses == ["enrolled"]
    assert child.households == [H1]
    father_rel, mother_rel = f"PARENT_OF:{p('father')}>{p('child')}", f"PARENT_OF:{p('mother')}>{p('child')}"
    assert child.parents == [(p("father"), "father", father_rel), (p("mother"), "mother", mother_rel)]
    # The parents carrying the claim, with exactly the claims a node read gives (a string value
    # that looks like the key does not confuse the reading); the grandmother has none.
    nodes = store.get_nodes([p("father"), p("mother")])
    assert got.parent_claims == {k: nodes[k].claims["works_away"] for k in (p("father"), p("mother"))}
    assert {c["system"] for c in got.parent_claims[p("mother")]} == {"police_hukou", "survey"}
    # Registered (police_hukou) in H1 only: the survey's H2 is not the register's.
    assert got.parent_households == {p("mother"): [H1]}
    surveyed = store.child_families("500101001", "2008-01-01", "works_away", "survey")
    assert surveyed.parent_households == {p("mother"): [H2]}
    # Every division: the cousin too, with the parent of the other village.
    everywhere = store.child_families("", "2008-01-01", "works_away", "police_hukou")
    assert [y.id for y in everywhere.people] == [p("baby"), p("child"), p("cousin")]
    cousin = everywhere.people[2]
    assert cousin.parents == [(p("uncle"), "father", f"PARENT_OF:{p('uncle')}>{p('cousin')}")]
    assert cousin.households == [H2] and cousin.hukou_type == "urban"
    assert store.child_families("500101002", "2026-01-01", "works_away", "police_hukou").people == []


def test_child_families_agree_with_each_childs_own_neighbourhood(store: GraphStore) -> None:
    family(store)
    more_family(store)
    got = store.child_families("", "2000-01-01", "works_away", "survey")
    assert len(got.people) == 3
    for young in got.people:
        assert young.systems == [s["system"] for s in store.get_nodes([young.id])[young.id].sources]
        sub = store.neighbourhood(young.id, 2, FAMILY)
        rels = list(sub.rels.values())
        assert sorted(young.enrolment_statuses, key=str) == sorted(
            (r.props.get("status") for r in rels if r.type == "ENROLLED_AT" and r.src == young.id), key=str
        )
        assert young.parents == sorted(
            ((r.src, r.props.get("role"), r.id) for r in rels if r.type == "PARENT_OF" and r.dst == young.id),
            key=lambda t: t[2],
        )
        assert sorted(young.households) == sorted(
            r.dst for r in rels if r.type == "MEMBER_OF" and r.src == young.id
        )
        for parent, _role, _rel in young.parents:
            claims = sub.nodes[parent].claims.get("works_away")
            assert got.parent_claims.get(parent) == claims
            if claims:
                assert sorted(got.parent_households.get(parent, [])) == sorted(
                    r.dst
                    for r in rels
                    if r.type == "MEMBER_OF"
                    and r.src == parent
                    and "survey" in {s["system"] for s in r.sources}
                )


def test_child_families_refuses_what_is_not_a_division_or_a_property(store: GraphStore) -> None:
    with pytest.raises(GraphStoreError):
        store.child_families("5001x", "2008-01-01", "works_away", "police_hukou")
    with pytest.raises(GraphStoreError):
        store.child_families("500101", "2008-01-01", "no_such_attribute", "police_hukou")


def test_child_families_give_several_parents_of_one_role_in_relationship_order(store: GraphStore) -> None:
    """Two fathers recorded (sources not yet resolved into one person): both, by relationship id,
    whatever order the engine finds them in (the cross-check takes the last)."""
    family(store)
    more_family(store)
    store.upsert_rels([RelRecord("PARENT_OF", p("father"), p("cousin"), {"role": "father"}, SURVEY)])
    (cousin,) = [
        y
        for y in store.child_families("", "2008-01-01", "works_away", "survey").people
        if y.id == p("cousin")
    ]
    assert cousin.parents == [
        (p("father"), "father", f"PARENT_OF:{p('father')}>{p('cousin')}"),
        (p("uncle"), "father", f"PARENT_OF:{p('uncle')}>{p('cousin')}"),
    ]
