"""A list reads its page in a bounded number of graph statements, not one profile read per row.

`people(division:, first:100)` used to read each row's profile separately for row scope (about
25 ms a row). The page's profiles are now read together; these tests count the statements the
engine runs for a page over HTTP, and check row scope is exactly as strict as before.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auth.enforce.cursors import SCAN_BUDGET
from graph.ladybug import LadybugStore
from graph.model import node_id
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, Api, start_app

HUKOU = Assertion("police_hukou", "HK-L", datetime(2026, 3, 1, 9, 0))
COUNTY, TOWN = "500101000000", "500101001000"
MINE, OTHER = "500101001001", "500101001002"  # two villages of one township
TENTH, ELEVENTH = "500101001010", "500101001011"
HOUSEHOLDS = 30  # per village, three people each


def _county(store: GraphStore) -> None:
    """Two villages of one township, households interleaved in id order, so every page of the
    township mixes rows in and out of the first village's scope; and one person registered in the
    other village but living in a household of the first (in its scope through the household)."""
    nodes = [
        NodeRecord(node_id("Division", code), {"code": code, "level": level, "division": code}, HUKOU)
        for code, level in ((COUNTY, "county"), (TOWN, "township"), (MINE, "village"), (OTHER, "village"))
    ]
    rels = []
    for h in range(HOUSEHOLDS):
        for village, tag in ((MINE, "a"), (OTHER, "b")):
            hid = node_id("Household", f"L{h:03d}{tag}")
            nodes.append(NodeRecord(hid, {"household_number": hid[10:], "division": village}, HUKOU))
            rels.append(RelRecord("LOCATED_IN", hid, node_id("Division", village), {}, HUKOU))
            for k in range(3):
                pid = node_id("Person", f"{h:03d}{tag}{k}")
                nodes.append(NodeRecord(pid, {"name": f"人{h}{tag}{k}", "division": village}, HUKOU))
                rels.append(RelRecord("MEMBER_OF", pid, hid, {"relation_to_head": "成员"}, HUKOU))
                rels.append(RelRecord("RESIDES_IN", pid, node_id("Division", village), {}, HUKOU))
            rels.append(
                RelRecord(
                    "PARENT_OF",
                    node_id("Person", f"{h:03d}{tag}0"),
                    node_id("Person", f"{h:03d}{tag}2"),
                    {"role": "father"},
                    HUKOU,
                )
            )
    lodger = node_id("Person", "000c0")
    nodes.append(NodeRecord(lodger, {"name": "寄住", "division": OTHER}, HUKOU))
    rels.append(
        RelRecord("MEMBER_OF", lodger, node_id("Household", "L000a"), {"relation_to_head": "寄住"}, HUKOU)
    )
    for code in (TENTH, ELEVENTH):  # villages 010 and 011: one code the other's prefix with a zero cut
        nodes.append(NodeRecord(node_id("Division", code), {"code": code, "level": "village"}, HUKOU))
        pid = node_id("Person", f"v{code[-3:]}")
        nodes.append(NodeRecord(pid, {"name": f"村{code[-3:]}", "division": code}, HUKOU))
        rels.append(RelRecord("RESIDES_IN", pid, node_id("Division", code), {}, HUKOU))
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)


IN_SCOPE = {f"person:{h:03d}a{k}" for h in range(HOUSEHOLDS) for k in range(3)} | {"person:000c0"}
OUT_OF_SCOPE = {f"person:{h:03d}b{k}" for h in range(HOUSEHOLDS) for k in range(3)}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("list-reads")
    settings = Settings(data_dir=tmp / "data", graph_buffer_pool_mb=256)  # type: ignore[call-arg]
    agencies = {k: AGENCIES[k] for k in ("village", "police")}
    for client, tokens, secrets in start_app(settings, agencies, _county):
        yield Api(client, tokens, settings, secrets)


STORE_READS = ("residents", "list_by_division", "neighbourhoods", "neighbourhood", "get_nodes", "find")


@contextmanager
def counted_statements() -> Iterator[Counter[str]]:
    """Count the statements the graph engine runs (every read of every kind goes through `_run`)
    and the calls of the store's read methods (`STORE_READS`), each by name."""
    calls: Counter[str] = Counter()
    originals: dict[str, Any] = {name: getattr(GraphStore, name) for name in STORE_READS}
    run = LadybugStore._run

    def counting(self: LadybugStore, statement: str, params: dict[str, Any] | None = None) -> Any:
        calls["statements"] += 1
        return run(self, statement, params)

    def wrap(name: str) -> Any:
        def method(self: GraphStore, *args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return originals[name](self, *args, **kwargs)

        return method

    LadybugStore._run = counting  # type: ignore[method-assign]
    for name in STORE_READS:
        setattr(GraphStore, name, wrap(name))
    try:
        yield calls
    finally:
        LadybugStore._run = run  # type: ignore[method-assign]
        for name, original in originals.items():
            setattr(GraphStore, name, original)


PAGE = """query ($n: Int, $after: String) { people(division: "TOWN", first: $n, after: $after) {
  edges { cursor node { id name household { householdNumber } } }
  pageInfo { hasNextPage endCursor } } }""".replace("TOWN", TOWN)


def _page(api: Api, who: str, n: int, after: str | None = None) -> dict[str, Any]:
    r = api.gql(who, PAGE, {"n": n, "after": after})
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, r.text
    return dict(body["data"]["people"])


def test_a_page_costs_the_same_number_of_graph_statements_whatever_its_size(api: Api) -> None:
    _page(api, "village", 5)  # warm: the engine's first statements of a connection
    counts = {}
    for n in (5, 20, 100):
        with counted_statements() as calls:
            page = _page(api, "village", n)
        counts[n] = calls["statements"]
        assert page["edges"], n
    # One statement per row was the old cost (and more with fields): 100 rows took 100+. A page
    # now reads its records' profiles together, in a round per store page scanned; the scan goes on
    # past the page for one more record in scope (hasNextPage must not count the out-of-scope) and
    # stops at SCAN_BUDGET records: at most four rounds of at most eight statements, whatever `first`.
    rounds = -(-SCAN_BUDGET // 50)
    assert all(c <= 8 * rounds for c in counts.values()), counts
    assert counts[5] == counts[20], counts  # both within one store page of 50


def test_a_hundred_row_page_costs_what_a_five_row_page_costs(api: Api) -> None:
    """The county's police see every row: one store page is scanned whatever `first`, and its
    rows' profiles are read together, so a page of 100 costs the store calls and engine statements
    of a page of 5 (each row's profile read alone was 100 store calls and 600 statements)."""
    _page(api, "police", 5)
    seen: dict[int, Counter[str]] = {}
    for n in (5, 100):
        with counted_statements() as calls:
            page = _page(api, "police", n)
        assert len(page["edges"]) == n and page["pageInfo"]["hasNextPage"]
        seen[n] = calls
    assert seen[5] == seen[100], seen
    # One store page of ids, one read of its profiles; no per-row call of any kind.
    assert seen[100]["residents"] == 1 and seen[100]["neighbourhoods"] == 1, seen[100]
    assert seen[100]["neighbourhood"] == seen[100]["get_nodes"] == seen[100]["find"] == 0, seen[100]
    assert seen[100]["statements"] <= 12, seen[100]


def test_row_scope_on_a_page_is_as_strict_as_reading_each_person_alone(api: Api) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = _page(api, "village", 17, after)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert set(seen) == IN_SCOPE and len(seen) == len(IN_SCOPE)
    assert not OUT_OF_SCOPE & set(seen)
    # A row of the page is the same as the person read alone (the page read changes no value).
    for pid in ("person:000a0", "person:000c0"):
        alone = api.gql(
            "village", '{ person(id: "PID") { id name household { householdNumber } } }'.replace("PID", pid)
        )
        listed = next(e["node"] for e in _page(api, "village", 100)["edges"] if e["node"]["id"] == pid)
        assert alone.json()["data"]["person"]["household"] == listed["household"]
    out = api.gql("village", '{ person(id: "person:000b0") { id name } }').json()
    assert out["data"]["person"] is None
    # The county's police see both villages: the same page machinery, a wider scope.
    police = _page(api, "police", 100)
    ids = {e["node"]["id"] for e in police["edges"]}
    assert len(ids) == 100 and ids & OUT_OF_SCOPE and ids & IN_SCOPE


def test_a_village_whose_code_ends_in_zero_lists_its_own_people_only(api: Api) -> None:
    query = '{ people(division: "CODE", first: 100) { edges { node { id } } } }'
    for code, other in ((TENTH, ELEVENTH), (ELEVENTH, TENTH)):
        r = api.gql("police", query.replace("CODE", code))
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        ids = {e["node"]["id"] for e in r.json()["data"]["people"]["edges"]}
        assert ids == {f"person:v{code[-3:]}"}, (code, ids)
        assert f"person:v{other[-3:]}" not in ids


def test_a_page_leaves_no_cyclic_garbage_behind(api: Api) -> None:
    """A page's profiles sat in a reference cycle through the request's guard, so the ~40,000
    objects of a 100-row page at county scale waited for a full pass of the cyclic collector,
    which then freed them inside another request (50-300 ms: the page p99). The guard lets them
    go when the request is answered, and reference counting frees them at once."""
    collected: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    _page(api, "police", 100)
    gc.collect()
    gc.callbacks.append(count)
    try:
        for _ in range(10):
            _page(api, "police", 100)
        gc.collect()
    finally:
        gc.callbacks.remove(count)
    assert sum(collected) < 10 * 500, collected
