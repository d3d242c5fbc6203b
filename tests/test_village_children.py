"""`villageChildren`: the phone page's list — every child of the village (paged), no adult, and
nothing outside the caller's scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from graph.model import node_id
from graph.records import NodeRecord
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import HUKOU, TOWN, VILLAGE, VILLAGE2
from tests.screening_support import data, error, store_of

QUERY = """query($d: String!, $first: Int!, $after: String) {
  villageChildren(division: $d, first: $first, after: $after) {
    edges { node { id name birthDate } } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("village-children")):
        year = date.today().year
        people = [
            NodeRecord(
                node_id("Person", f"kid-{i:03d}"),
                {"division": VILLAGE, "name": f"丙{i}", "birth_date": f"{year - 1 - i % 16}-01-01"},
                HUKOU,
            )
            for i in range(25)
        ] + [
            NodeRecord(
                node_id("Person", f"grown-{i}"),
                {"division": VILLAGE, "name": f"丁{i}", "birth_date": f"{year - 19 - i}-01-01"},
                HUKOU,
            )
            for i in range(3)
        ]
        store_of(a).upsert_nodes(people)
        yield a


def test_every_child_page_by_page_and_no_adult(api: Api) -> None:
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = data(
            api.gql("village", QUERY, {"d": VILLAGE, "first": 10, "after": after}, purpose="screening")
        )
        conn = page["villageChildren"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    # 25 children and the family's child (甲乙, born 2015); her parents have no birth date.
    expected = {f"person:kid-{i:03d}" for i in range(25)} | {"person:child"}
    assert set(seen) == expected and len(seen) == len(expected), seen
    assert not any(s.startswith("person:grown") for s in seen)


def _pages(api: Api, first: int) -> list[tuple[int, bool]]:
    """Every page of the village's list as the village committee gets them: (children, hasNextPage)."""
    pages: list[tuple[int, bool]] = []
    after = None
    for _ in range(40):
        conn = data(
            api.gql("village", QUERY, {"d": VILLAGE, "first": first, "after": after}, purpose="screening")
        )["villageChildren"]
        pages.append((len(conn["edges"]), conn["pageInfo"]["hasNextPage"]))
        if not conn["pageInfo"]["hasNextPage"]:
            return pages
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


def test_the_last_child_is_the_last_page(api: Api) -> None:
    """hasNextPage counts children the caller may see, not rows the store scanned: a full page
    after which no child follows says so (it said "more" from a full scan, and the caller's next
    request got an empty page, as in the people list before it scanned for one more)."""
    assert _pages(api, 13) == [(13, True), (13, False)]  # 26 children: 25 and the family's child
    assert _pages(api, 1) == [(1, True)] * 25 + [(1, False)]
    assert _pages(api, 500) == [(26, False)]


def test_another_villages_supervisor_is_refused(api: Api) -> None:
    e = error(api.gql("village2", QUERY, {"d": VILLAGE, "first": 10, "after": None}, purpose="screening"))
    assert e["extensions"] == {"code": "FORBIDDEN", "reason": "out_of_scope"}


def test_me_lists_the_capabilities_the_policy_gives_the_caller(api: Api) -> None:
    """The console offers pages by `me.capabilities`: the policy's own list, held by this caller."""
    query = "{ me { role capabilities } }"
    auditor = data(api.gql("auditor", query))["me"]
    village = data(api.gql("village", query, purpose="screening"))["me"]
    assert "read_audit_log" in auditor["capabilities"] and "read_audit_log" not in village["capabilities"]
    assert "record_visit" in village["capabilities"]
    for me in (auditor, village):
        assert me["capabilities"] == sorted(set(me["capabilities"]))


DIVISIONS = "query($w: String) { divisions(within: $w) { code name level } }"


def test_divisions_of_the_callers_scope_by_name_for_the_picker(api: Api) -> None:
    """`divisions`: the console's picker offers divisions by their Chinese names, only those of
    the caller's scope, in code order (the county, its township, its villages)."""
    store_of(api).upsert_nodes(
        [
            NodeRecord(
                node_id("Division", VILLAGE),
                {
                    "code": VILLAGE,
                    "name": "梨树村",
                    "level": "village",
                    "parent_code": TOWN,
                    "division": VILLAGE,
                },
                HUKOU,
            ),
            NodeRecord(
                node_id("Division", VILLAGE2),
                {"code": VILLAGE2, "name": "杨柳村", "level": "village", "division": VILLAGE2},
                HUKOU,
            ),
        ]
    )
    listed = data(api.gql("analyst", DIVISIONS, {"w": None}, purpose="statistics"))["divisions"]
    codes = [d["code"] for d in listed]
    assert codes == sorted(codes) and codes[0] == "500101000000", codes
    assert {VILLAGE: "梨树村", VILLAGE2: "杨柳村"}.items() <= {d["code"]: d["name"] for d in listed}.items()
    assert {TOWN: "township"}.items() <= {d["code"]: d["level"] for d in listed}.items()

    own = data(api.gql("village", DIVISIONS, {"w": None}, purpose="screening"))["divisions"]
    assert [(d["code"], d["name"]) for d in own] == [(VILLAGE, "梨树村")]
    e = error(api.gql("village", DIVISIONS, {"w": VILLAGE2}, purpose="screening"))
    assert e["extensions"]["code"] == "FORBIDDEN"
    # A school is scoped by its pupils, not by a place: nothing to pick from.
    assert data(api.gql("school", DIVISIONS, {"w": None}))["divisions"] == []
