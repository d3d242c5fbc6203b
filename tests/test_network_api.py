"""Network tracing over HTTP as each agency sees it: scope, masks, pseudonyms, re-identification.

Besides the small family of tests/contract (a left-behind child, her grandmother as entrusted
guardian, an uncle in another village), the graph holds a seeded synthetic township whose
expected answers this file works out from the generator's own plan, not from the code under test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.records import Assertion, NodeRecord, RelRecord
from tests.api_fixtures import Api, serve

SRC = Assertion("survey", "net-test", datetime(2026, 5, 1))
TOWN3 = "500101003000"
VILLAGES = [f"500101003{v:03d}" for v in (1, 2, 3)]
AS_OF = "2026-06-01"
KINDS = ("home", "away", "granny_home", "granny_unable", "orphaned", "carer")


@dataclass
class Plan:
    """What the generator made, in the terms of the questions asked."""

    households: dict[str, str] = field(default_factory=dict)  # household id -> kind
    children: dict[str, list[str]] = field(default_factory=dict)  # household id -> child ids
    carers: dict[str, list[str]] = field(default_factory=dict)  # carer id -> ward ids
    touched: set[str] = field(default_factory=set)


def township(store: LadybugStore, seed: int = 20260601) -> Plan:
    """Households of six kinds in three villages; carers who look after children of several."""
    rng = random.Random(seed)
    plan = Plan()
    nodes: list[NodeRecord] = [
        NodeRecord(node_id("Division", TOWN3), {"code": TOWN3, "level": "township", "division": TOWN3}, SRC)
    ]
    rels: list[RelRecord] = []
    for v in VILLAGES:
        nodes.append(NodeRecord(node_id("Division", v), {"code": v, "level": "village", "division": v}, SRC))
    carers = [node_id("Person", f"t-carer{i}") for i in range(3)]
    for i, cid in enumerate(carers):
        nodes.append(
            NodeRecord(cid, {"name": f"护{i}", "birth_date": "1965-01-01", "division": VILLAGES[0]}, SRC)
        )
        plan.carers[cid] = []
    case_n = 0
    for h in range(36):
        kind = KINDS[h % len(KINDS)]
        village = VILLAGES[rng.randrange(3)]
        hid = node_id("Household", f"T{h:03d}")
        plan.households[hid] = kind
        nodes.append(NodeRecord(hid, {"household_number": f"T{h:03d}", "division": village}, SRC))
        father, mother, granny = (node_id("Person", f"t{h}-{r}") for r in ("f", "m", "g"))
        away = kind != "home"
        dead = kind == "orphaned"
        members = [
            (father, {"birth_date": "1985-03-03", "works_away": away and not dead, "deceased": dead}),
            (mother, {"birth_date": "1987-04-04", "works_away": away and not dead, "deceased": dead}),
        ]
        if kind in ("granny_home", "granny_unable"):
            members.append(
                (granny, {"birth_date": "1955-05-05", "guardianship_capacity": kind == "granny_home"})
            )
        kids = [node_id("Person", f"t{h}-c{k}") for k in range(1 + rng.randrange(2))]
        plan.children[hid] = kids
        for k, kid in enumerate(kids):
            members.append((kid, {"birth_date": f"201{rng.randrange(2, 9)}-0{k + 1}-10"}))
        for pid, props in members:
            nodes.append(NodeRecord(pid, {"name": f"名{pid[7:]}", "division": village, **props}, SRC))
            rels.append(RelRecord("MEMBER_OF", pid, hid, {}, SRC))
        for kid in kids:
            rels.append(RelRecord("PARENT_OF", father, kid, {"role": "father"}, SRC))
            rels.append(RelRecord("PARENT_OF", mother, kid, {"role": "mother"}, SRC))
            if kind in ("granny_home", "granny_unable"):
                rels.append(RelRecord("GUARDIAN_OF", granny, kid, {"kind": "entrusted"}, SRC))
            if kind == "carer":
                carer = carers[rng.randrange(2)]  # the third carer never gets a ward
                rels.append(RelRecord("GUARDIAN_OF", carer, kid, {"kind": "entrusted"}, SRC))
                plan.carers[carer].append(kid)
            if rng.random() < 0.35:
                case_n += 1
                label = "ProtectionCase" if case_n % 3 else "Report"
                case = node_id(label, f"T{case_n}")
                nodes.append(NodeRecord(case, {"status": "open", "division": village}, SRC))
                rels.append(RelRecord("CONCERNS", case, kid, {}, SRC))
                plan.touched.add(kid)
    # An expired guardianship does not count: carer 2 looked after two children until 2020.
    for kid in plan.children[node_id("Household", "T001")]:
        rels.append(
            RelRecord("GUARDIAN_OF", carers[2], kid, {"kind": "entrusted", "until": "2020-01-01"}, SRC)
        )
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)
    return plan


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Plan]]:
    tmp = tmp_path_factory.mktemp("network")
    (tmp / "data").mkdir()
    store = LadybugStore(tmp / "data" / "graph.lbug", 256)
    store.init_schema()
    plan = township(store)
    store.close()
    for api in serve(tmp):
        yield api, plan


NET = """query Net($start: ID!, $depth: Int!, $types: [String!]) {
  network(start: $start, depth: $depth, relTypes: $types) {
    start pseudonymised
    nodes { id kind label properties { name value decision reason } }
    edges { id type source target properties { name value decision } }
  }
}"""

PATH = """query Path($a: ID!, $b: ID!, $types: [String!]) {
  networkPath(source: $a, target: $b, relTypes: $types) {
    length nodes { id label }
    hops { index type direction source target edge { type properties { name value } } }
  }
}"""


def _data(r: object) -> dict:
    body = r.json()  # type: ignore[attr-defined]
    assert "errors" not in body, body
    return body["data"]


def _props(node: dict) -> dict[str, dict]:
    return {p["name"]: p for p in node["properties"]}


# ---- a person's network ------------------------------------------------------------------------
def test_police_trace_the_family_to_depth_two_with_filters(world: tuple[Api, Plan]) -> None:
    api, _ = world
    net = _data(api.gql("police", NET, {"start": "person:child", "depth": 2, "types": ["PARENT_OF"]}))[
        "network"
    ]
    ids = {n["id"] for n in net["nodes"]}
    # Parents at one hop, the grandmother (father's mother) at two; the uncle is three hops away.
    assert ids == {"person:child", "person:father", "person:mother", "person:granny"}
    assert {e["type"] for e in net["edges"]} == {"PARENT_OF"}
    assert net["pseudonymised"] is False
    labels = {n["id"]: n["label"] for n in net["nodes"]}
    assert labels["person:child"] == "甲乙"

    full = _data(api.gql("police", NET, {"start": "person:child", "depth": 2, "types": None}))["network"]
    ids = {n["id"] for n in full["nodes"]}
    # Default family relationships: guardian, household and the guardian's other son.
    assert {"person:granny", "household:H1", "person:uncle"} <= ids
    assert "school:S1" not in ids
    guardian = next(e for e in full["edges"] if e["type"] == "GUARDIAN_OF")
    assert (guardian["source"], guardian["target"]) == ("person:granny", "person:child")
    assert {"name": "kind", "value": "entrusted", "decision": "allow"} in guardian["properties"]


def test_out_of_scope_people_are_left_out_not_placeholders(world: tuple[Api, Plan]) -> None:
    api, _ = world
    r = api.gql("village", NET, {"start": "person:child", "depth": 2, "types": None})
    net = _data(r)["network"]
    ids = {n["id"] for n in net["nodes"]}
    assert "person:granny" in ids and "person:uncle" not in ids
    assert "甲辛" not in r.text and "person:uncle" not in r.text
    # From the other village the uncle's network is the uncle alone: his mother lives elsewhere.
    r2 = api.gql("village2", NET, {"start": "person:uncle", "depth": 3, "types": None})
    assert {n["id"] for n in _data(r2)["network"]["nodes"]} == {"person:uncle"}
    assert "己庚" not in r2.text and "甲乙" not in r2.text and "granny" not in r2.text
    # A child out of scope and one that does not exist get the same answer.
    other = api.gql("village2", NET, {"start": "person:child", "depth": 1, "types": None}).json()
    missing = api.gql("village2", NET, {"start": "person:nobody", "depth": 1, "types": None}).json()
    assert other["data"] is None and missing["data"] is None
    assert other["errors"][0]["message"] == missing["errors"][0]["message"]
    assert other["errors"][0]["extensions"] == missing["errors"][0]["extensions"]


def test_bad_arguments_are_clear_errors(world: tuple[Api, Plan]) -> None:
    api, _ = world
    deep = api.gql("police", NET, {"start": "person:child", "depth": 9, "types": None}).json()
    assert (
        deep["errors"][0]["extensions"]["code"] == "BAD_REQUEST" and "depth" in deep["errors"][0]["message"]
    )
    typo = api.gql("police", NET, {"start": "person:child", "depth": 1, "types": ["PARENT"]}).json()
    assert typo["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    school = api.gql("school", NET, {"start": "person:child", "depth": 1, "types": None}).json()
    assert school["errors"][0]["extensions"]["reason"] == "capability_missing"


def test_shortest_connection_says_what_each_hop_is(world: tuple[Api, Plan]) -> None:
    api, _ = world
    path = _data(api.gql("police", PATH, {"a": "person:child", "b": "person:uncle"}))["networkPath"]
    assert path["length"] == 2
    assert [n["id"] for n in path["nodes"]] == ["person:child", "person:granny", "person:uncle"]
    assert [(h["type"], h["direction"]) for h in path["hops"]] == [
        ("GUARDIAN_OF", "backward"),
        ("PARENT_OF", "forward"),
    ]
    assert path["hops"][1]["edge"]["properties"] == [{"name": "role", "value": "mother"}]
    parents_only = _data(
        api.gql("police", PATH, {"a": "person:child", "b": "person:uncle", "types": ["PARENT_OF"]})
    )
    assert [n["id"] for n in parents_only["networkPath"]["nodes"]] == [
        "person:child",
        "person:father",
        "person:granny",
        "person:uncle",
    ]
    # Through the uncle's village the village supervisor sees no connection at all.
    hidden = api.gql("village", PATH, {"a": "person:child", "b": "person:uncle"})
    assert _data(hidden)["networkPath"] is None and "甲辛" not in hidden.text


# ---- pseudonyms and re-identification ----------------------------------------------------------
def test_analysts_see_stable_pseudonyms_and_masked_fields(world: tuple[Api, Plan]) -> None:
    api, _ = world
    first = api.gql("analyst", NET, {"start": "person:child", "depth": 2, "types": None})
    second = api.gql("analyst", NET, {"start": "person:child", "depth": 2, "types": None})
    a, b = _data(first)["network"], _data(second)["network"]
    assert a["pseudonymised"] is True
    assert a == b  # stable across requests
    for text in ("甲乙", "己庚", "丁戊", "person:", "H1"):
        assert text not in first.text
    child = next(n for n in a["nodes"] if n["id"] == a["start"])
    assert child["id"].startswith("person~") and child["label"] is None
    props = _props(child)
    assert props["name"] == {
        "name": "name",
        "value": None,
        "decision": "pseudonymised",
        "reason": "pseudonymised",
    }
    assert props["birthDate"]["value"] == "2015" and props["birthDate"]["decision"] == "mask"
    assert props["division"]["value"] == "500101001001"
    father = next(n for n in a["nodes"] if _props(n).get("workDestination"))
    assert _props(father)["workDestination"]["value"] != "广东东莞"
    assert _props(father)["worksAway"]["value"] is True
    # A pseudonym is accepted as a start and gives the same network.
    again = _data(api.gql("analyst", NET, {"start": a["start"], "depth": 2, "types": None}))["network"]
    assert again == a


REID = """query Reid($p: [ID!]!) {
  networkReidentify(pseudonyms: $p) { pseudonym id kind } }"""
AUDIT = """query A($id: ID!) { auditAccessesToRecord(recordId: $id, first: 500) {
  entries { agencyId purpose operation reasons records } } }"""


def test_reidentification_needs_purpose_and_capability_and_is_audited(world: tuple[Api, Plan]) -> None:
    api, _ = world
    net = _data(api.gql("analyst", NET, {"start": "person:child", "depth": 1, "types": None}))["network"]
    pseudonym = net["start"]
    refused = api.gql("analyst", REID, {"p": [pseudonym]}, purpose=None).json()
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN", "reason": "purpose_required"}
    unknown = api.gql("analyst", REID, {"p": [pseudonym]}, purpose="curiosity").json()
    assert unknown["errors"][0]["extensions"]["reason"] == "purpose_not_permitted"
    no_capability = api.gql("village", REID, {"p": [pseudonym]}).json()
    assert no_capability["errors"][0]["extensions"]["reason"] == "capability_missing"
    assert "person:child" not in str(refused) + str(unknown) + str(no_capability)

    ok = _data(
        api.gql(
            "analyst",
            REID,
            {"p": [pseudonym, "person~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]},
            purpose="assessment",
        )
    )
    known, forged = ok["networkReidentify"]
    assert known["id"] == "person:child" and known["kind"] == "Person"
    assert forged["id"] is None and forged["kind"] is None
    # The record is then read like any other, its fields still under the analyst's policy.
    name = _data(api.gql("analyst", '{ person(id: "person:child") { name } }'))["person"]["name"]
    assert name != "甲乙" and name.startswith("甲")

    entries = _data(api.gql("auditor", AUDIT, {"id": "person:child"}))["auditAccessesToRecord"]["entries"]
    reid = [e for e in entries if "reidentify" in e["reasons"]]
    assert len(reid) == 1
    assert reid[0]["agencyId"] == "ana-500101" and reid[0]["purpose"] == "assessment"
    assert "person:child" in reid[0]["records"]
    traced = [e for e in entries if "pseudonymised" in e["reasons"]]
    assert traced and all(e["agencyId"] == "ana-500101" for e in traced)
    assert {"person:child", "person:granny", "household:H1"} <= set(traced[0]["records"])


# ---- patterns over a division ------------------------------------------------------------------
def _decoded(api: Api, pseudonyms: list[str]) -> list[str]:
    """The records behind the analyst's pseudonyms, decoded here with the deployment's key (the
    test's knowledge): re-identifying a household gives its id opaque, its number being masked."""
    from auth.pseudonym import pseudonymizer

    keys = pseudonymizer(api.settings)
    return [keys.decode(p, "ana-500101") or "" for p in pseudonyms]


GUARDIANS = """query G($d: String!, $k: Int!) {
  networkGuardiansOfMany(division: $d, minChildren: $k, asOf: "2026-06-01") {
  count guardian { id } children { id } } }"""


def test_guardians_of_at_least_k_children(world: tuple[Api, Plan]) -> None:
    api, plan = world
    for k in (1, 2, 3):
        loads = _data(api.gql("police", GUARDIANS, {"d": TOWN3, "k": k}))["networkGuardiansOfMany"]
        got = {g["guardian"]["id"]: sorted(c["id"] for c in g["children"]) for g in loads}
        want = {c: sorted(w) for c, w in plan.carers.items() if len(w) >= k}
        want |= {  # grandmothers of entrusted households
            node_id("Person", f"t{int(hid.split(':T')[1])}-g"): sorted(kids)
            for hid, kind in plan.households.items()
            if kind in ("granny_home", "granny_unable") and len(kids := plan.children[hid]) >= k
        }
        assert got == want, k
        counts = [g["count"] for g in loads]
        assert counts == sorted(counts, reverse=True)
    # The village supervisor of the family's village sees none of this township's carers.
    assert _data(api.gql("village", GUARDIANS, {"d": TOWN3, "k": 1}))["networkGuardiansOfMany"] == []


# A literal page size: a variable one is costed as the largest page (100), over the budget here.
HOUSEHOLDS = """query H($d: String!, $after: String) {
  networkHouseholdsWithoutAdults(division: $d, first: 4, after: $after, asOf: "2026-06-01") {
    items { household { id } children { id } absentAdults { person { id } reasons } }
    endCursor hasNextPage } }"""


def test_households_with_no_adult_present_page_by_page(world: tuple[Api, Plan]) -> None:
    api, plan = world
    want = sorted(h for h, kind in plan.households.items() if kind in ("away", "orphaned", "carer"))
    got: list[str] = []
    after = None
    for _ in range(20):
        page = _data(api.gql("police", HOUSEHOLDS, {"d": TOWN3, "after": after}))
        page = page["networkHouseholdsWithoutAdults"]
        got += [i["household"]["id"] for i in page["items"]]
        for item in page["items"]:
            assert sorted(c["id"] for c in item["children"]) == sorted(plan.children[item["household"]["id"]])
            reasons = {r for a in item["absentAdults"] for r in a["reasons"]}
            assert reasons <= {"works_away", "deceased"} and len(item["absentAdults"]) == 2
        after = page["endCursor"]
        if not page["hasNextPage"]:
            break
    assert got == want
    # The analyst's cursor is opaque and bound to the analyst, and continues the same list, in the
    # order of the analyst's pseudonyms (this asserted the first 8 by record id: the order that
    # zipped pseudonyms with ids, see test_an_analysts_paged_risk_lists_are_not_in_the_order_of_record_ids).
    page = _data(api.gql("analyst", HOUSEHOLDS, {"d": TOWN3, "after": None}))
    page = page["networkHouseholdsWithoutAdults"]
    assert "household:" not in str(page) and page["endCursor"].startswith("c~")
    nxt = _data(api.gql("analyst", HOUSEHOLDS, {"d": TOWN3, "after": page["endCursor"]}))
    ids = [i["household"]["id"] for i in page["items"] + nxt["networkHouseholdsWithoutAdults"]["items"]]
    real = _decoded(api, ids)
    assert ids == sorted(ids) and len(set(real)) == 8 and set(real) <= set(want), real


UNGUARDED = """query U($d: String!) {
  networkChildrenWithoutCapableGuardian(division: $d, first: 50, asOf: "2026-06-01") {
  items { child { id } noGuardianRecorded guardians { guardian { id } relation reasons } } hasNextPage } }"""


def test_children_whose_every_guardian_is_away_or_unable(world: tuple[Api, Plan]) -> None:
    api, plan = world
    page = _data(api.gql("police", UNGUARDED, {"d": TOWN3}))["networkChildrenWithoutCapableGuardian"]
    want = sorted(
        kid
        for hid, kind in plan.households.items()
        if kind in ("away", "granny_unable", "orphaned")
        for kid in plan.children[hid]
    )
    assert sorted(i["child"]["id"] for i in page["items"]) == want
    assert page["hasNextPage"] is False
    for item in page["items"]:
        hid = next(h for h, kids in plan.children.items() if item["child"]["id"] in kids)
        reasons = {r for g in item["guardians"] for r in g["reasons"]}
        expected = {"away": {"works_away"}, "granny_unable": {"works_away", "lacks_capacity"}}
        assert reasons == expected.get(plan.households[hid], {"deceased"})
        assert item["noGuardianRecorded"] is False


CLUSTERS = """query C($d: String!, $min: Int!) {
  networkCaseClusters(division: $d, minPeople: $min, first: 20) {
  size people { id } cases { id kind } nodes { id } edges { type } } }"""


def test_clusters_of_people_touched_by_cases(world: tuple[Api, Plan]) -> None:
    api, plan = world
    # Touched children are linked within two hops when they share a household or a carer.
    link: dict[str, str] = {}

    def find(x: str) -> str:
        while link.setdefault(x, x) != x:
            x = link[x]
        return x

    touched = sorted(plan.touched)
    for kids in plan.children.values():
        for kid in kids[1:]:
            if kids[0] in plan.touched and kid in plan.touched:
                link[find(kid)] = find(kids[0])
    for wards in plan.carers.values():
        hit = [w for w in wards if w in plan.touched]
        for w in hit[1:]:
            link[find(w)] = find(hit[0])
    groups: dict[str, list[str]] = {}
    for t in touched:
        groups.setdefault(find(t), []).append(t)
    want = sorted(sorted(g) for g in groups.values())
    clusters = _data(api.gql("police", CLUSTERS, {"d": TOWN3, "min": 1}))["networkCaseClusters"]
    assert sorted(sorted(p["id"] for p in c["people"]) for c in clusters) == want
    assert any(len(g) > 1 for g in want)  # the seed makes at least one real cluster
    for c in clusters:
        assert c["size"] == len(c["people"]) and len(c["cases"]) >= c["size"]
        assert {k["kind"] for k in c["cases"]} <= {"ProtectionCase", "Report"}
    big = _data(api.gql("police", CLUSTERS, {"d": TOWN3, "min": 2}))["networkCaseClusters"]
    assert len(big) == sum(len(g) > 1 for g in want)


# ---- the pseudonym key ---------------------------------------------------------------------------
def test_pseudonym_key_lives_in_the_data_dir_or_the_environment(
    world: tuple[Api, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64
    import stat

    from auth.pseudonym import KEY_FILE, pseudonymizer
    from kernel.settings import Settings

    api, _ = world
    key_file = api.settings.data_dir / KEY_FILE
    # The key is made on first use (whichever test of the module pseudonymizes first): take the
    # served deployment's pseudonymizer before looking at the file, not after.
    served = pseudonymizer(api.settings)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other = pseudonymizer(Settings(data_dir=tmp_path))  # another deployment: a key of its own
    assert (tmp_path / KEY_FILE).exists()
    assert served.encode("person:child") != other.encode("person:child")
    assert other.decode(served.encode("person:child")) is None
    assert served.decode(served.encode("person:child")) == "person:child"
    tampered = served.encode("person:child")
    assert served.decode(tampered[:-2] + ("aa" if not tampered.endswith("aa") else "bb")) is None
    assert served.decode("household" + tampered[len("person") :]) is None  # kind must match
    monkeypatch.setenv("SHOUHU_PSEUDONYM_KEY", base64.b64encode(bytes(range(64))).decode())
    configured = pseudonymizer(Settings(data_dir=tmp_path / "elsewhere"))
    assert not (tmp_path / "elsewhere" / KEY_FILE).exists()
    assert configured.encode("person:child") not in (
        served.encode("person:child"),
        other.encode("person:child"),
    )


def test_an_analysts_risk_patterns_do_not_come_in_the_order_of_record_ids(world: tuple[Api, Plan]) -> None:
    """Guardians of as many children, and clusters of one size, came in the order of their record
    ids: the analyst's list of pseudonyms, in the order of ids it can list elsewhere (people,
    cases), zipped into a table from ids to pseudonyms. Ties are in the order of the pseudonyms,
    as every set of a pseudonymised answer is."""
    api, _ = world
    for purpose in ("statistics", "audit"):
        loads = _data(api.gql("analyst", GUARDIANS, {"d": TOWN3, "k": 1}, purpose=purpose))
        got = [(-g["count"], g["guardian"]["id"]) for g in loads["networkGuardiansOfMany"]]
        assert len(got) > len({c for c, _ in got}) and got == sorted(got), got  # ties, by pseudonym
        for g in loads["networkGuardiansOfMany"]:
            assert [c["id"] for c in g["children"]] == sorted(c["id"] for c in g["children"])
        clusters = _data(api.gql("analyst", CLUSTERS, {"d": TOWN3, "min": 1}, purpose=purpose))
        keys = [(-c["size"], -len(c["nodes"]), c["people"][0]["id"]) for c in clusters["networkCaseClusters"]]
        assert len(keys) > len({k[:2] for k in keys}) and keys == sorted(keys), keys


def test_a_masked_household_number_is_not_in_a_risk_lists_ids(world: tuple[Api, Plan]) -> None:
    """A household's id is `household:<household number>`: a caller who reads the number masked
    (civil affairs under statistics) got it back as a risk-list item's id. The list gives the
    field layer's opaque id, as `person { household { id } }` does; at work, the id as it is."""
    api, plan = world
    want = sorted(h for h, kind in plan.households.items() if kind in ("away", "orphaned", "carer"))
    for purpose, opaque in (("statistics", True), ("audit", True), ("case_work", False)):
        page = api.gql("civil", HOUSEHOLDS, {"d": TOWN3, "after": None}, purpose=purpose)
        items = _data(page)["networkHouseholdsWithoutAdults"]["items"]
        ids = [i["household"]["id"] for i in items]
        assert len(ids) == 4, page.text
        if opaque:
            assert "household:" not in page.text and all(i.startswith("household~") for i in ids), page.text
        else:
            assert ids == want[:4]


ONE_HOUSEHOLD = """query H($d: String!, $after: String) {
  networkHouseholdsWithoutAdults(division: $d, first: 1, after: $after, asOf: "2026-06-01") {
    items { household { id } } endCursor hasNextPage } }"""
ONE_CHILD = """query U($d: String!, $after: String) {
  networkChildrenWithoutCapableGuardian(division: $d, first: 1, after: $after, asOf: "2026-06-01") {
    items { child { id } } endCursor hasNextPage } }"""


def _page_through(api: Api, who: str, query: str, field: str, item: str, purpose: str | None) -> list[str]:
    got: list[str] = []
    after = None
    for _ in range(100):
        page = _data(api.gql(who, query, {"d": TOWN3, "after": after}, purpose=purpose))[field]
        got += [i[item]["id"] for i in page["items"]]
        if not page["hasNextPage"]:
            return got
        after = page["endCursor"]
        assert after.startswith("c~") and ":" not in after, after  # sealed, no record id in it
    raise AssertionError("paging did not end")


def test_an_analysts_paged_risk_lists_are_not_in_the_order_of_record_ids(world: tuple[Api, Plan]) -> None:
    """The paged risk lists came page by page in record-id order: with `first: 1`, following the
    cursors, an analyst's pseudonyms came out in the order `people(division:)` lists the ids in, and
    the two zipped into a table from ids to pseudonyms. Pseudonymised, a list pages in the order of
    the caller's pseudonyms, every item once; others still page in record-id order."""
    api, plan = world
    households = sorted(h for h, kind in plan.households.items() if kind in ("away", "orphaned", "carer"))
    children = sorted(
        kid
        for hid, kind in plan.households.items()
        if kind in ("away", "granny_unable", "orphaned")
        for kid in plan.children[hid]
    )
    lists = (
        (ONE_HOUSEHOLD, "networkHouseholdsWithoutAdults", "household", households),
        (ONE_CHILD, "networkChildrenWithoutCapableGuardian", "child", children),
    )
    for query, name, item, want in lists:
        assert len(want) >= 10
        for purpose in ("statistics", None):
            got = _page_through(api, "analyst", query, name, item, purpose)
            assert len(set(got)) == len(got) and got == sorted(got), (name, got)  # the pseudonyms' order
            real = _decoded(api, got)
            assert sorted(real) == want, (name, real)  # complete, none repeated
            assert real != want, (name, "record-id order")
        assert _page_through(api, "police", query, name, item, "case_work") == want


GUARDIANS_FIRST = """query G($d: String!, $n: Int!) {
  networkGuardiansOfMany(division: $d, minChildren: 1, first: $n, asOf: "2026-06-01") {
  count guardian { id } } }"""
CLUSTERS_FIRST = """query C($d: String!, $n: Int!) {
  networkCaseClusters(division: $d, minPeople: 1, first: $n) { size people { id } } }"""


def test_an_analysts_first_n_is_not_cut_in_the_order_of_record_ids(world: tuple[Api, Plan]) -> None:
    """Guardians of as many children (and clusters of one size) were cut to `first` in the order of
    their record ids before being put in the order of their pseudonyms: `first: 1, 2, 3 …` added one
    pseudonym at a time in the order of the ids, the same table as paging by id. Cut in the order
    the answer is in, each `first: n` is the first n of the whole list."""
    api, _ = world
    for query, name, key in (
        (GUARDIANS_FIRST, "networkGuardiansOfMany", lambda g: g["guardian"]["id"]),
        (CLUSTERS_FIRST, "networkCaseClusters", lambda c: c["people"][0]["id"]),
    ):
        whole = [
            key(x)
            for x in _data(api.gql("analyst", query, {"d": TOWN3, "n": 100}, purpose="statistics"))[name]
        ]
        assert len(whole) >= 6, whole
        for n in range(1, len(whole)):
            cut = _data(api.gql("analyst", query, {"d": TOWN3, "n": n}, purpose="statistics"))[name]
            assert [key(x) for x in cut] == whole[:n], (name, n)


ONE_HOUSEHOLD_KIDS = """query H($d: String!, $after: String) {
  networkHouseholdsWithoutAdults(division: $d, first: 1, after: $after, asOf: "2026-06-01") {
    items { household { id } children { id } } endCursor hasNextPage } }"""


def test_masked_household_ids_are_not_paged_in_the_order_of_the_numbers(world: tuple[Api, Plan]) -> None:
    """A caller who reads household numbers masked gets households by the field layer's opaque id;
    paged in record-id order (`household:<number>`), the list still told the numbers' order (which
    of two children's households has the lower number). Such a list pages in the order of the
    opaque ids, every household once; a caller who sees the numbers pages by id as before."""
    api, plan = world
    want = sorted(h for h, kind in plan.households.items() if kind in ("away", "orphaned", "carer"))
    for purpose in ("statistics", "audit"):
        got, kids, after = [], [], None
        for _ in range(100):
            page = api.gql("civil", ONE_HOUSEHOLD_KIDS, {"d": TOWN3, "after": after}, purpose=purpose)
            body = _data(page)["networkHouseholdsWithoutAdults"]
            got += [i["household"]["id"] for i in body["items"]]
            kids += [[c["id"] for c in i["children"]] for i in body["items"]]
            if not body["hasNextPage"]:
                break
            after = body["endCursor"]
        assert len(got) == len(set(got)) == len(want) and got == sorted(got), (purpose, got)
        assert sorted(k for ks in kids for k in ks) == sorted(k for h in want for k in plan.children[h])
        numbers = [next(h for h in want if sorted(plan.children[h]) == sorted(ks)) for ks in kids]
        assert numbers != want, (purpose, "the numbers' order")
