"""Behaviour every GraphStore adapter must show, asserted through the port only."""

from __future__ import annotations

from datetime import datetime

import pytest

from graph.model import node_id
from graph.port import GraphStore, GraphStoreError
from graph.records import Assertion, NodeRecord, RelRecord, Selection, Step

HUKOU = Assertion("police_hukou", "HK-1", datetime(2026, 3, 1, 9, 0))
SURVEY = Assertion("survey", "SV-7", datetime(2026, 4, 2, 15, 30))
SCHOOL = Assertion("education", "XJ-3", datetime(2026, 4, 5, 8, 0))

COUNTY, TOWN, VILLAGE, VILLAGE2 = "500101000000", "500101001000", "500101001001", "500101002001"


def division(code: str, level: str, parent: str | None) -> NodeRecord:
    return NodeRecord(
        node_id("Division", code),
        {"code": code, "name": f"D{code[-4:]}", "level": level, "parent_code": parent, "division": code},
        HUKOU,
    )


def person(key: str, source: Assertion = HUKOU, **props: object) -> NodeRecord:
    return NodeRecord(node_id("Person", key), {"division": VILLAGE, **props}, source)


def family(store: GraphStore) -> None:
    """A left-behind child: both parents away, grandmother as entrusted guardian."""
    store.upsert_nodes(
        [
            division(COUNTY, "county", None),
            division(TOWN, "township", COUNTY),
            division(VILLAGE, "village", TOWN),
            division(VILLAGE2, "village", "500101002000"),
            person("child", name="甲乙", birth_date="2015-03-01", sex="F", hukou_type="rural"),
            person("father", name="甲丙", works_away=True, work_destination="广东东莞"),
            person("mother", name="丁戊", works_away=True),
            person("granny", name="己庚", guardianship_capacity=True),
            person("uncle", name="甲辛", division=VILLAGE2),
            NodeRecord(
                node_id("Household", "H1"),
                {"household_number": "H1", "hukou_type": "rural", "division": VILLAGE},
                HUKOU,
            ),
            NodeRecord(node_id("School", "S1"), {"code": "S1", "name": "中心小学", "division": TOWN}, SCHOOL),
        ]
    )
    p = lambda k: node_id("Person", k)  # noqa: E731
    store.upsert_rels(
        [
            RelRecord("PART_OF", node_id("Division", VILLAGE), node_id("Division", TOWN), {}, HUKOU),
            RelRecord("PART_OF", node_id("Division", TOWN), node_id("Division", COUNTY), {}, HUKOU),
            RelRecord("PARENT_OF", p("father"), p("child"), {"role": "father"}, HUKOU),
            RelRecord("PARENT_OF", p("mother"), p("child"), {"role": "mother"}, HUKOU),
            RelRecord(
                "GUARDIAN_OF", p("granny"), p("child"), {"kind": "entrusted", "since": "2024-02-01"}, SURVEY
            ),
            RelRecord("PARENT_OF", p("granny"), p("father"), {"role": "mother"}, HUKOU),
            RelRecord("PARENT_OF", p("granny"), p("uncle"), {"role": "mother"}, HUKOU),
            RelRecord(
                "MEMBER_OF", p("child"), node_id("Household", "H1"), {"relation_to_head": "孙女"}, HUKOU
            ),
            RelRecord(
                "MEMBER_OF", p("granny"), node_id("Household", "H1"), {"relation_to_head": "户主"}, HUKOU
            ),
            RelRecord("LOCATED_IN", node_id("Household", "H1"), node_id("Division", VILLAGE), {}, HUKOU),
            RelRecord(
                "ENROLLED_AT",
                p("child"),
                node_id("School", "S1"),
                {"grade": "5", "boarding": True, "status": "enrolled"},
                SCHOOL,
                qualifier="2024",
            ),
        ]
    )


FAMILY = ("child", "father", "mother", "granny", "uncle")


def registered(store: GraphStore, keys: tuple[str, ...] = FAMILY) -> None:
    """REGISTERED_IN for people of `family` (and others by key), to the division each carries: what
    the police source asserts beside a person's `division`. A division's people list is read from
    these relationships (GraphStore.residents)."""
    found = store.get_nodes([node_id("Person", k) for k in keys])
    store.upsert_rels(
        [
            RelRecord("REGISTERED_IN", n.id, node_id("Division", n.props["division"]), {}, HUKOU)
            for n in found.values()
            if n.props.get("division")
        ]
    )


def test_get_by_id_returns_properties_and_sources(store: GraphStore) -> None:
    family(store)
    child = store.get_node("person:child")
    assert child is not None
    assert child.label == "Person"
    assert child.props["name"] == "甲乙"
    assert child.props["birth_date"] == "2015-03-01"
    assert child.props["id_number"] is None
    assert child.sources == [HUKOU.as_json()]
    assert store.get_node("person:nobody") is None
    assert set(store.get_nodes(["person:child", "school:S1", "person:nobody"])) == {
        "person:child",
        "school:S1",
    }


def test_upsert_is_idempotent(store: GraphStore) -> None:
    family(store)
    before = store.stats()
    again = store.upsert_nodes(
        [person("child", name="甲乙", birth_date="2015-03-01", sex="F", hukou_type="rural")]
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    rels = store.upsert_rels(
        [RelRecord("PARENT_OF", "person:father", "person:child", {"role": "father"}, HUKOU)]
    )
    assert (rels.created, rels.updated, rels.unchanged) == (0, 0, 1)
    family(store)
    assert store.stats() == before
    assert before["nodes"]["Person"] == 5
    assert before["relationships"]["PARENT_OF"] == 4


def test_same_fact_from_two_sources_is_one_fact_with_two_sources(store: GraphStore) -> None:
    family(store)
    result = store.upsert_rels(
        [RelRecord("PARENT_OF", "person:father", "person:child", {"role": "father"}, SURVEY)]
    )
    assert (result.created, result.updated) == (0, 1)
    sub = store.neighbourhood("person:child", 1, ["PARENT_OF"])
    rel = sub.rels["PARENT_OF:person:father>person:child"]
    assert [s["system"] for s in rel.sources] == ["police_hukou", "survey"]
    assert store.stats()["relationships"]["PARENT_OF"] == 4
    assert store.conflicts("Person") == []


def test_disagreeing_sources_are_both_kept_and_listed(store: GraphStore) -> None:
    family(store)
    store.upsert_nodes(
        [person("child", SURVEY, birth_date="2015-01-03"), person("mother", SURVEY, works_away=False)]
    )
    child = store.get_node("person:child")
    assert child is not None
    # The household register outranks a village survey on identity facts; nothing is dropped.
    assert child.props["birth_date"] == "2015-03-01"
    values = {(c["system"], c["value"]) for c in child.claims["birth_date"]}
    assert values == {("police_hukou", "2015-03-01"), ("survey", "2015-01-03")}
    conflicts = {(c.element_id, c.attribute): c for c in store.conflicts("Person")}
    assert set(conflicts) == {("person:child", "birth_date"), ("person:mother", "works_away")}
    mother_claims = conflicts[("person:mother", "works_away")].claims
    assert {(c["system"], c["record_id"], c["value"]) for c in mother_claims} == {
        ("police_hukou", "HK-1", True),
        ("survey", "SV-7", False),
    }


def test_a_source_correcting_its_own_record_replaces_only_its_claim(store: GraphStore) -> None:
    family(store)
    store.upsert_nodes([person("child", SURVEY, birth_date="2015-01-03")])
    corrected = Assertion("survey", "SV-7", datetime(2026, 5, 1))
    store.upsert_nodes([person("child", corrected, birth_date="2015-03-01")])
    child = store.get_node("person:child")
    assert child is not None
    assert len(child.claims["birth_date"]) == 2
    assert {c["value"] for c in child.claims["birth_date"]} == {"2015-03-01"}
    assert store.conflicts("Person") == []


def test_neighbourhood_respects_depth_and_type_filters(store: GraphStore) -> None:
    family(store)
    one = store.neighbourhood("person:child", 1)
    assert set(one.nodes) == {
        "person:child",
        "person:father",
        "person:mother",
        "person:granny",
        "household:H1",
        "school:S1",
    }
    family_only = store.neighbourhood("person:child", 1, ["PARENT_OF", "GUARDIAN_OF"])
    assert set(family_only.nodes) == {"person:child", "person:father", "person:mother", "person:granny"}
    assert {r.type for r in family_only.rels.values()} == {"PARENT_OF", "GUARDIAN_OF"}
    guardian = family_only.rels["GUARDIAN_OF:person:granny>person:child"]
    assert (guardian.src, guardian.dst, guardian.props["kind"]) == (
        "person:granny",
        "person:child",
        "entrusted",
    )
    two = store.neighbourhood("person:child", 2, ["PARENT_OF", "GUARDIAN_OF"])
    assert "person:uncle" in two.nodes
    assert "person:uncle" not in family_only.nodes
    three = store.neighbourhood("person:child", 3)
    assert "division:500101001000" in three.nodes
    assert "division:500101000000" not in three.nodes
    assert store.neighbourhood("person:nobody", 2).nodes == {}


def test_neighbourhoods_of_a_set_equal_each_neighbourhood_read_alone(store: GraphStore) -> None:
    # A page of a list reads its rows' neighbourhoods together; each must be cut from the union
    # exactly as its own read would be (no node or relationship of a neighbour's profile added).
    family(store)
    # A second pupil of the child's school, read in the same page: reached through the school hub
    # only, so a hub-aware read of the child must not hold them.
    store.upsert_nodes([person("pupil", name="壬癸")])
    store.upsert_rels(
        [RelRecord("ENROLLED_AT", "person:pupil", "school:S1", {"grade": "4"}, SCHOOL, qualifier="2024")]
    )
    ids = ["person:child", "person:uncle", "person:granny", "person:pupil", "household:H1", "person:nobody"]
    hubs = ("Division", "School")  # as profiles read them: a village is reached, not walked through
    cases = (
        (1, None, ()),
        (2, None, ()),
        (2, ["PARENT_OF", "GUARDIAN_OF"], ()),
        (3, None, ()),
        (2, None, hubs),
    )
    for depth, rel_types, not_through in (*cases, (3, None, hubs)):
        together = store.neighbourhoods(ids, depth, rel_types, not_through=not_through)
        assert set(together) == set(ids) - {"person:nobody"}
        for node in together:
            alone = store.neighbourhood(node, depth, rel_types, not_through=not_through)
            key = (node, depth, rel_types, not_through)
            assert set(together[node].nodes) == set(alone.nodes), key
            assert set(together[node].rels) == set(alone.rels), key
            assert together[node].nodes == alone.nodes
    assert store.neighbourhoods([], 2) == {}


def test_depth_limits_are_enforced(store: GraphStore) -> None:
    family(store)
    for bad in (0, 7):
        with pytest.raises(GraphStoreError, match="depth"):
            store.neighbourhood("person:child", bad)
    with pytest.raises(GraphStoreError, match="unknown relationship types"):
        store.neighbourhood("person:child", 1, ["KNOWS"])


def test_shortest_path_names_each_hop(store: GraphStore) -> None:
    family(store)
    path = store.shortest_path("person:uncle", "person:child")
    assert path is not None
    assert [n.id for n in path.nodes] == ["person:uncle", "person:granny", "person:child"]
    assert path.length == 2
    assert {r.type for r in path.rels} == {"PARENT_OF", "GUARDIAN_OF"}
    only_parents = store.shortest_path("person:uncle", "person:child", rel_types=["PARENT_OF"])
    assert only_parents is not None
    assert [n.id for n in only_parents.nodes] == [
        "person:uncle",
        "person:granny",
        "person:father",
        "person:child",
    ]
    assert store.shortest_path("person:uncle", "person:child", max_depth=1) is None
    assert store.shortest_path("person:uncle", "school:S1", rel_types=["PARENT_OF"]) is None


def test_listing_by_division_subtree_pages_stably(store: GraphStore) -> None:
    family(store)
    store.upsert_nodes([person(f"kid{i:02d}", name=f"童{i}") for i in range(12)])
    seen: list[str] = []
    page = store.list_by_division("Person", "500101001", first=5)
    seen += [n.id for n in page.items]
    # A node inserted before the cursor must not shift or repeat what comes next.
    store.upsert_nodes([person("aaa-late", name="晚到")])
    while page.has_next:
        page = store.list_by_division("Person", "500101001", first=5, after=page.end_cursor)
        seen += [n.id for n in page.items]
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 16  # 4 family members in the village + 12 kids
    assert "person:uncle" not in seen
    county = store.list_by_division("Person", "500101", first=100)
    assert len(county.items) == 18 and not county.has_next
    with pytest.raises(GraphStoreError):
        store.list_by_division("Person", "50x", first=5)


def test_residents_are_read_from_the_divisions_outward_in_stable_pages(store: GraphStore) -> None:
    family(store)
    store.upsert_nodes([person(f"kid{i:02d}", name=f"童{i}") for i in range(12)])
    p = lambda k: node_id("Person", k)  # noqa: E731
    v1, v2 = node_id("Division", VILLAGE), node_id("Division", VILLAGE2)
    store.upsert_rels(
        [RelRecord("RESIDES_IN", p(f"kid{i:02d}"), v1, {}, SURVEY) for i in range(12)]
        + [
            RelRecord("RESIDES_IN", p("child"), v1, {"address": "一组"}, SURVEY),
            RelRecord("REGISTERED_IN", p("child"), v1, {}, HUKOU),  # both: listed once
            RelRecord("REGISTERED_IN", p("father"), v1, {}, HUKOU),  # registered here, living there
            RelRecord("RESIDES_IN", p("father"), v2, {}, SURVEY),
            RelRecord("RESIDES_IN", p("uncle"), v2, {}, SURVEY),
        ]
    )
    seen: list[str] = []
    ids, more = store.residents(VILLAGE, first=5)
    seen += ids
    while more:
        ids, more = store.residents(VILLAGE, first=5, after=seen[-1])
        seen += ids
    kids = [p(f"kid{i:02d}") for i in range(12)]
    # granny lives in the village through her household (H1 is LOCATED_IN it); mother carries the
    # village as her `division` but nothing says she lives or is registered there.
    village = sorted([*kids, p("child"), p("father"), p("granny")])
    assert seen == village
    assert store.residents("500101002", first=10) == ([p("father"), p("uncle")], False)
    county = sorted({*village, p("uncle")})
    assert store.residents("500101", first=100) == (county, False)
    assert store.residents("500101", first=14) == (county[:14], True)
    assert store.residents("500101", first=14, after=county[13]) == (county[14:], False)
    assert store.residents(VILLAGE, first=3, after=p("kid11")) == ([], False)
    assert store.residents("500102", first=10) == ([], False)
    assert store.residents("500101003001", first=10) == ([], False)  # no such division node
    for bad in ("50x", "5001010010011"):
        with pytest.raises(GraphStoreError):
            store.residents(bad, first=5)
    with pytest.raises(GraphStoreError):
        store.residents(VILLAGE, first=0)


def test_transaction_rolls_back_everything(store: GraphStore) -> None:
    family(store)
    before = store.stats()
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.upsert_nodes([person("ghost", name="无")])
        store.upsert_rels([RelRecord("PARENT_OF", "person:ghost", "person:child", {"role": "father"}, HUKOU)])
        raise RuntimeError("boom")
    assert store.get_node("person:ghost") is None
    assert store.stats() == before


def test_relationship_to_a_missing_node_is_refused_whole(store: GraphStore) -> None:
    family(store)
    before = store.stats()
    with pytest.raises(GraphStoreError, match="does not exist"):
        store.upsert_rels(
            [
                RelRecord("GUARDIAN_OF", "person:uncle", "person:child", {"kind": "temporary"}, SURVEY),
                RelRecord("PARENT_OF", "person:nobody", "person:child", {"role": "father"}, SURVEY),
            ]
        )
    assert store.stats() == before


def test_find_by_property(store: GraphStore) -> None:
    family(store)
    store.upsert_nodes([person("child", SCHOOL, id_number="500101201503010021")])
    found = store.find("Person", "id_number", ["500101201503010021", "nope"])
    assert [n.id for n in found] == ["person:child"]
    with pytest.raises(GraphStoreError):
        store.find("Person", "password", ["x"])


def test_parallel_relationships_are_kept_apart_by_qualifier(store: GraphStore) -> None:
    family(store)
    store.upsert_rels(
        [
            RelRecord(
                "ENROLLED_AT",
                "person:child",
                "school:S1",
                {"grade": "6", "status": "enrolled"},
                SCHOOL,
                qualifier="2025",
            )
        ]
    )
    sub = store.neighbourhood("person:child", 1, ["ENROLLED_AT"])
    assert sorted(r.props["grade"] for r in sub.rels.values()) == ["5", "6"]


def test_retracting_a_source_record_keeps_other_sources_and_deletes_what_only_it_asserted(
    store: GraphStore,
) -> None:
    family(store)
    # The survey also describes the child, and alone asserts a second guardian (the uncle).
    store.upsert_nodes([person("child", SURVEY, birth_date="2015-01-03", phone="13800000000")])
    store.upsert_rels(
        [RelRecord("GUARDIAN_OF", "person:uncle", "person:child", {"kind": "temporary"}, SURVEY)]
    )
    before = store.stats()
    result = store.retract(["person:child"], [("survey", "SV-7")])
    child = store.get_node("person:child")
    assert child is not None
    assert child.props["phone"] is None  # only the survey said it
    assert child.props["birth_date"] == "2015-03-01" and [
        c["system"] for c in child.claims["birth_date"]
    ] == ["police_hukou"]
    assert child.sources == [HUKOU.as_json()]
    rels = store.neighbourhood("person:child", 1, ["GUARDIAN_OF"]).rels
    assert rels == {}  # both GUARDIAN_OF edges came from SV-7 alone
    assert store.stats()["relationships"]["GUARDIAN_OF"] == before["relationships"]["GUARDIAN_OF"] - 2
    assert store.stats()["relationships"]["PARENT_OF"] == before["relationships"]["PARENT_OF"]
    assert (result.updated, result.deleted) == (1, 2)
    # A node no source asserts any more goes, with its relationships.
    gone = store.retract(["person:uncle"], [("police_hukou", "HK-1")])
    assert store.get_node("person:uncle") is None and gone.deleted >= 2
    assert store.retract(["person:child"], [("survey", "SV-7")]).updated == 0  # idempotent


# ---- the projection's bookkeeping: verify, bulk load, watermark ----------------------------------
def test_a_store_holds_exactly_what_the_in_memory_fold_of_the_same_writes_holds(store: GraphStore) -> None:
    from graph.fold import Fold, compare

    family(store)
    fold = Fold()
    family(fold)  # type: ignore[arg-type]  # the same upserts, applied in memory
    report = compare(fold.rows(), store.dump())
    assert report.ok, report.as_json()
    assert {k.kind: k.actual for k in report.kinds}["node Person"] == 5


def test_verify_names_missing_extra_and_changed_elements(store: GraphStore) -> None:
    from graph.fold import Fold, compare

    family(store)
    store.upsert_nodes([person("stray", name="壬癸")])
    store.upsert_nodes([person("child", SURVEY, name="甲乙乙")])  # a claim the record does not make
    fold = Fold()
    family(fold)  # type: ignore[arg-type]
    fold.upsert_nodes([person("ghost", name="子丑")])
    report = compare(fold.rows(), store.dump())
    assert not report.ok
    people = next(k for k in report.kinds if k.kind == "node Person")
    assert people.missing == ["person:ghost"] and people.extra == ["person:stray"]
    assert people.changed == [{"id": "person:child", "columns": ["claims", "conflicted", "sources"]}]
    assert all(k.ok for k in report.kinds if k.kind != "node Person")


def test_bulk_load_fills_an_empty_store_with_every_row(store: GraphStore) -> None:
    from graph.fold import Fold, compare

    fold = Fold()
    family(fold)  # type: ignore[arg-type]
    seen: list[int] = []
    store.bulk_load(*fold.rows(), progress=seen.append)
    assert sum(seen) == fold.count()
    assert compare(fold.rows(), store.dump()).ok
    sub = store.neighbourhood("person:child", 1, ["GUARDIAN_OF", "ENROLLED_AT"])
    assert {"person:granny", "school:S1"} <= set(sub.nodes)
    # and the loaded graph takes ordinary writes afterwards
    again = store.upsert_rels(
        [RelRecord("PARENT_OF", "person:father", "person:child", {"role": "father"}, HUKOU)]
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_the_watermark_commits_and_rolls_back_with_its_transaction(store: GraphStore) -> None:
    assert store.watermark() is None
    store.set_watermark("epoch1", 3)
    assert store.watermark() == ("epoch1", 3)
    with pytest.raises(RuntimeError), store.transaction():
        store.set_watermark("epoch1", 4)
        store.upsert_nodes([person("late")])
        raise RuntimeError("killed before the commit")
    assert store.watermark() == ("epoch1", 3)
    assert store.get_node("person:late") is None
    store.checkpoint()
    assert store.watermark() == ("epoch1", 3)


def test_set_reads_walk_only_the_named_hops_from_a_division_or_ids(store: GraphStore) -> None:
    # Set-based work (a township's classification) reads its children by division and each walk
    # its rules need in one statement; the answer must be what the per-node reads give.
    family(store)
    store.upsert_nodes(
        [
            person("cousin", name="甲壬", birth_date="2016-05-01", division=VILLAGE2),
            person("adult", name="甲癸", birth_date="1990-01-01"),
            NodeRecord(node_id("HealthEvent", "E1"), {"kind": "condition", "icd10": "C91"}, SURVEY),
        ]
    )
    store.upsert_rels(
        [
            RelRecord("GUARDIAN_OF", "person:granny", "person:cousin", {"kind": "entrusted"}, SURVEY),
            RelRecord("CONCERNS", "healthevent:E1", "person:granny", {}, SURVEY),
        ]
    )
    by_division = Selection.in_division("Person", VILLAGE[:9], born_from="2010")
    by_id = Selection.of_ids("Person", ["person:child"])
    assert [n.id for n in store.select(by_division)] == ["person:child"]
    assert store.select(by_division) == [store.get_node("person:child")]
    assert [n.id for n in store.select(Selection.in_division("Person", VILLAGE[:9]))] == [
        "person:adult",
        "person:child",
        "person:father",
        "person:granny",
        "person:mother",
    ]
    hood = store.neighbourhood("person:child", 2)
    walks = {
        "parents": [Step("PARENT_OF", "in", "Person")],
        "school": [Step("ENROLLED_AT", "out")],
        "household": [Step("MEMBER_OF", "out")],
        "wards": [Step("GUARDIAN_OF", "in", "Person"), Step("GUARDIAN_OF", "out")],
        "carer_health": [Step("GUARDIAN_OF", "in", "Person"), Step("CONCERNS", "in", "HealthEvent")],
        "household_of_parents": [Step("PARENT_OF", "in"), Step("MEMBER_OF", "out", "Household")],
    }
    expected = {
        "parents": [("person:child", "person:father"), ("person:child", "person:mother")],
        "school": [("person:child", "school:S1")],
        "household": [("person:child", "household:H1")],
        # back along the relationship the walk came by: the child is one of the granny's wards
        "wards": [("person:granny", "person:child"), ("person:granny", "person:cousin")],
        "carer_health": [("person:granny", "healthevent:E1")],
        "household_of_parents": [],  # the parents are not household members here
    }
    for name, path in walks.items():
        found = store.hops(by_division, path)
        assert [(near, far.id) for near, _, far in found] == expected[name], name
        assert store.hops(by_id, path) == found, name
        for near, rel, far in found:
            assert far == store.get_node(far.id)
            assert near in (rel.src, rel.dst) and far.id in (rel.src, rel.dst)
            if near == "person:child":
                assert rel == hood.rels[rel.id]
    assert store.hops(Selection.of_ids("Person", []), walks["parents"]) == []
    assert store.select(Selection.of_ids("Person", [])) == []
    with pytest.raises(GraphStoreError):
        store.hops(by_id, [Step("PARENT_OF", "in")] * 3)
    with pytest.raises(GraphStoreError):
        store.hops(by_id, [Step("PARENT_OF", "up")])
    with pytest.raises(GraphStoreError):
        store.select(Selection.of_ids("Person", ["household:H1"]))
