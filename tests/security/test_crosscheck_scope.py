"""Class 4 (statistics), over HTTP: the cross-check counts only the division the caller named.

`crossCheck(division:)` checked the 12-digit code against the caller's scope, then counted the
children of the code with its trailing zeros stripped. A code whose last own digit is a zero
(township 500101010, county 500110) lost that digit too: township 500101010's caseworker, asking
for its own township, was given the counts of townships 010-019 together (every county-level code
ending in 0 likewise counts ten counties). The counts must be those of the named division only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from graph.model import node_id
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord
from kernel.settings import Settings
from tests.api_fixtures import Api, start_app

SRC = Assertion("police_hukou", "crosscheck-scope", datetime(2026, 5, 1))
OWN_TOWN, OTHER_TOWN = "500101010", "500101011"  # the second shares the first's prefix "50010101"
OWN_COUNTY, OTHER_COUNTY = "500110", "500111"
AGENCIES = {
    "township": ("tw-500101010", "township", f"{OWN_TOWN}000", (), "caseworker", "read:identity"),
    "civil": ("ca-500110", "civil_affairs", f"{OWN_COUNTY}000000", (), "caseworker", "read:identity"),
    "analyst": ("ana-500120", "analyst", "500120000000", (), "analyst", "read:identity"),
    "caseworker": ("ca-500120", "civil_affairs", "500120000000", (), "caseworker", "read:identity"),
}
STATS_VILLAGE = "500120001001"
SMALL_VILLAGE = "500120002001"  # two children
BIRTHDAY = "2008-06-02"  # one child of STATS_VILLAGE turns 18 on 2026-06-02
CROSS = """query($d: String!) { crossCheck(division: $d, asOf: "2026-06-01", examples: 50) {
  children findings { finding count examples { id } } } }"""


def people(store: GraphStore) -> None:
    """Two children in each named division, five in each neighbour sharing its stripped prefix."""
    nodes = []
    for village, n in (
        (f"{OWN_TOWN}001", 2),
        (f"{OTHER_TOWN}001", 5),
        (f"{OWN_COUNTY}001001", 2),
        (f"{OTHER_COUNTY}001001", 5),
    ):
        for i in range(n):
            key = f"X{village}-{i}"
            props = {"name": f"童{i}", "division": village, "birth_date": "2015-03-03", "hukou_type": "rural"}
            nodes.append(NodeRecord(node_id("Person", key), props, SRC))
    for i in range(8):
        born = BIRTHDAY if i == 0 else "2014-01-01"
        props = {"name": f"统{i}", "division": STATS_VILLAGE, "birth_date": born, "hukou_type": "rural"}
        nodes.append(NodeRecord(node_id("Person", f"S{i}"), props, SRC))
    for i in range(2):
        props = {
            "name": f"少{i}",
            "division": SMALL_VILLAGE,
            "birth_date": "2014-01-01",
            "hukou_type": "rural",
        }
        nodes.append(NodeRecord(node_id("Person", f"T{i}"), props, SRC))
    store.upsert_nodes(nodes)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("crosscheck-scope")
    settings = Settings(data_dir=tmp / "data", graph_buffer_pool_mb=256)
    for client, tokens, secrets in start_app(settings, AGENCIES, people):
        yield Api(client, tokens, settings, secrets)


@pytest.mark.parametrize(
    ("who", "division"), [("township", f"{OWN_TOWN}000"), ("civil", f"{OWN_COUNTY}000000")]
)
def test_the_cross_check_counts_the_named_division_only(api: Api, who: str, division: str) -> None:
    body = api.gql(who, CROSS, {"d": division}).json()
    assert "errors" not in body, body
    report = body["data"]["crossCheck"]
    assert report["children"] == 2, report
    assert any(f["examples"] for f in report["findings"]), report  # a role with row access sees them
    for finding in report["findings"]:
        assert finding["count"] in (0, 2), finding
        assert all(e["id"].startswith("person:") for e in finding["examples"])
    # The neighbour itself stays refused.
    other = f"{OTHER_TOWN}000" if who == "township" else f"{OTHER_COUNTY}000000"
    refused = api.gql(who, CROSS, {"d": other}).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused


STATS = """query($d: String!, $on: Date!) { crossCheck(division: $d, asOf: $on) { children } }"""


def test_an_analyst_cannot_learn_a_childs_birthday_by_differencing_as_of(api: Api) -> None:
    def children(on: str) -> int | None:
        body = api.gql("analyst", STATS, {"d": STATS_VILLAGE, "on": on}, purpose="statistics").json()
        assert "errors" not in body, body
        return body["data"]["crossCheck"]["children"]

    before, after = children("2026-06-01"), children("2026-06-02")
    assert before is not None and after is not None  # both counts are large enough to be shown
    assert before == after, f"{before} children on 2026-06-01, {after} on 2026-06-02"
    # A role that sees birth dates whole counts on the day it asks for.
    counts = [
        api.gql("caseworker", STATS, {"d": STATS_VILLAGE, "on": on}).json()["data"]["crossCheck"]["children"]
        for on in ("2026-06-01", "2026-06-02")
    ]
    assert counts == [8, 7], counts


EXAMPLES = """query($d: String!) { crossCheck(division: $d, asOf: "2026-06-01", examples: 20) {
  children findings { finding count examples { id } } conflictingAttributes { attribute count } } }"""


def test_a_suppressed_count_is_not_told_by_its_examples(api: Api) -> None:
    """The analyst gets a village's count of 2 as null; the list of examples beside it must not
    have 2 entries, or the suppression says nothing."""
    body = api.gql("analyst", EXAMPLES, {"d": SMALL_VILLAGE}, purpose="statistics").json()
    assert "errors" not in body, body
    report = body["data"]["crossCheck"]
    assert report["children"] is None, report
    for finding in report["findings"]:
        if finding["count"] is None:
            assert finding["examples"] is None or len(finding["examples"]) == 0, finding
