"""The entity-resolution review queue and the cross-check, over GraphQL, on a synced county.

A generated county is synced through the real connectors; a caseworker then decides the
uncertain matches over HTTP with their own token, and the graph follows each decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from connectors.resolution import open_reviews
from graph.ladybug import LadybugStore
from kernel.settings import Settings
from tests import test_connectors_support as support
from tests.api_fixtures import start_app
from tests.test_connectors_support import Stores


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A county noisy enough to leave pairs the resolver cannot decide alone: more records
    without an ID number, more homophones and typos than the shared county, so that the queue
    has open items (better evidence elsewhere decides the shared county's pairs outright)."""
    from connectors.synthetic import NoiseRates, generate

    out = tmp_path_factory.mktemp("review-county")
    noise = NoiseRates(
        malformed_row=support.MALFORMED_RATE,
        homophone_name=0.12,
        typo_name=0.06,
        wrong_id=0.04,
        missing_id=0.3,
        missing_id_survey=0.5,
        missing_id_health=0.5,
    )
    generate(out, support.PERSONS, support.SEED, noise=noise)
    return out


COUNTY = "500248000000"

REVIEWS = """query($first: Int) { matchReviews(first: $first) { totalInScope items {
  id score status left { system recordId personId name idNumber division }
  right { system recordId personId name } } } }"""
MERGE = """mutation($id: Int!) {
  mergeMatch(reviewId: $id) { mergeId survivorId absorbedId movedRecords reprojectedRecords } }"""
UNDO = "mutation($id: Int!) { undoMerge(mergeId: $id) { mergeId survivorId absorbedId movedRecords } }"
REJECT = "mutation($id: Int!) { rejectMatch(reviewId: $id) { id status decidedBy } }"
CROSS = """query($d: String!) { crossCheck(division: $d, asOf: "2024-09-30", examples: 3) {
  children findings { finding count examples { id } } conflictingAttributes { attribute count } } }"""


class Site:
    def __init__(self, client: TestClient, tokens: dict[str, str], data: Path) -> None:
        self.client, self.tokens, self.data = client, tokens, data

    def gql(self, who: str, query: str, purpose: str = "case_work", **variables: object) -> dict:
        r = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.tokens[who]}", "X-Purpose-Of-Use": purpose},
        )
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def synced(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The county synced once; each test copies the stores it changes."""
    root = tmp_path_factory.mktemp("synced")
    stores = Stores(root)
    report = stores.pipeline(county).sync()
    assert report.ok
    stores.close()
    return root


@pytest.fixture
def site(synced: Path, tmp_path: Path) -> Iterator[Site]:
    yield from _site(synced, tmp_path)


def _site(synced: Path, tmp_path: Path, **overrides: object) -> Iterator[Site]:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synced, data)
    settings = Settings(data_dir=data, graph_buffer_pool_mb=256, **overrides)  # type: ignore[arg-type]
    agencies = {
        "civil": ("ca-500248", "civil_affairs", COUNTY, (), "caseworker", "read:identity"),
        "elsewhere": ("ca-500249", "civil_affairs", "500249000000", (), "caseworker", "read:identity"),
        "village": (
            "vc-500248101201",
            "village_committee",
            "500248101201",
            (),
            "child_welfare_supervisor",
            "read:identity",
        ),
        "police": ("ps-500248", "public_security", COUNTY, (), "officer", "read:identity"),
        "analyst": ("ana-500248", "analyst", COUNTY, (), "analyst", "read:identity"),
    }
    for client, tokens, _ in start_app(settings, agencies):
        yield Site(client, tokens, data)


def _node(site: Site, node_id: str):  # type: ignore[no-untyped-def]
    # Read through the API's own store: the app holds the embedded database open.
    store: LadybugStore = site.client.app.state.graph  # type: ignore[attr-defined]
    return store.get_node(node_id)


def test_a_caseworker_merges_undoes_and_rejects_and_the_graph_follows(site: Site) -> None:
    page = site.gql("civil", REVIEWS, first=50)["data"]["matchReviews"]
    assert page["totalInScope"] >= 2 and len(page["items"]) >= 2
    first, second = page["items"][0], page["items"][1]
    assert first["status"] == "open" and 0 < first["score"] < 1
    left_id, right_id = first["left"]["personId"], first["right"]["personId"]
    assert left_id != right_id and _node(site, left_id) and _node(site, right_id)

    merged = site.gql("civil", MERGE, id=first["id"])
    assert "errors" not in merged, merged
    m = merged["data"]["mergeMatch"]
    assert {m["survivorId"], m["absorbedId"]} == {left_id, right_id}
    assert m["movedRecords"] >= 1 and m["reprojectedRecords"] >= 2
    survivor, absorbed = m["survivorId"], m["absorbedId"]
    moved = {
        (first["left"]["system"], first["left"]["recordId"]),
        (first["right"]["system"], first["right"]["recordId"]),
    }
    assert _node(site, absorbed) is None  # one person now, in the graph too
    kept = _node(site, survivor)
    assert moved <= {(s["system"], s["record_id"]) for s in kept.sources}

    again = site.gql("civil", MERGE, id=first["id"])
    assert again["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION"

    undone = site.gql("civil", UNDO, id=m["mergeId"])["data"]["undoMerge"]
    assert undone["absorbedId"] == absorbed
    back = _node(site, absorbed)
    assert back is not None  # the absorbed person returns with their own records
    survivor_sources = {(s["system"], s["record_id"]) for s in _node(site, survivor).sources}
    back_sources = {(s["system"], s["record_id"]) for s in back.sources}
    assert back_sources and not back_sources & survivor_sources

    rejected = site.gql("civil", REJECT, id=second["id"])["data"]["rejectMatch"]
    assert rejected["status"] == "rejected" and rejected["decidedBy"].startswith("ca-500248/")


def test_the_queue_is_refused_or_empty_outside_the_caseworkers_remit(site: Site) -> None:
    for who in ("village", "police"):
        body = site.gql(who, REVIEWS)
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "reason": "capability_missing"}
    assert site.gql("elsewhere", REVIEWS)["data"]["matchReviews"] == {"totalInScope": 0, "items": []}
    some = open_reviews(_engine(site))[0]
    refused = site.gql("elsewhere", MERGE, id=some.id)
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert site.gql("civil", MERGE, id=10**9)["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_the_audit_log_records_each_decision(site: Site) -> None:
    item = site.gql("civil", REVIEWS, first=1)["data"]["matchReviews"]["items"][0]
    site.gql("civil", REJECT, id=item["id"])
    from auth.audit import AuditLog

    entries = AuditLog(_engine(site)).accesses_by_agency("ca-500248", limit=100).items
    decisions = [e for e in entries if e.operation.startswith("mutation")]
    assert decisions and f"review:{item['id']}" in decisions[-1].records
    assert "MatchReview.status" in (decisions[-1].fields or {}).get("write", [])


def test_cross_check_lists_disagreements_in_the_callers_division(site: Site) -> None:
    body = site.gql("civil", CROSS, d=COUNTY)
    assert "errors" not in body, body
    report = body["data"]["crossCheck"]
    assert report["children"] > 100
    findings = {f["finding"]: f for f in report["findings"]}
    assert findings["school_age_not_enrolled"]["count"] > 0
    assert all(len(f["examples"]) <= 3 for f in findings.values())
    assert site.gql("elsewhere", CROSS, d=COUNTY)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert site.gql("police", CROSS, d=COUNTY)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert site.gql("civil", CROSS, d="12")["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    conflicts = {c["attribute"]: c["count"] for c in report["conflictingAttributes"]}
    assert conflicts and all(n > 0 for n in conflicts.values()), conflicts


def _counts(report: dict) -> dict[str, int | None]:
    counts = {f"finding.{f['finding']}": f["count"] for f in report["findings"]}
    counts.update({f"conflict.{c['attribute']}": c["count"] for c in report["conflictingAttributes"]})
    return counts


def test_the_analyst_gets_no_small_count_from_the_cross_check(site: Site) -> None:
    """A village's cross-check counts 1 or 2 children under a finding or a disagreement: that
    names the child to a role without row access, so the analyst gets such counts as null."""
    small = {}
    # At a year end: the analyst sees birth years, and counts ages on the year's last day.
    year_end = CROSS.replace("2024-09-30", "2024-12-31")
    for village in ("500248101201", "500248101202", "500248102201", "500248102202"):
        full = _counts(site.gql("civil", year_end, d=village)["data"]["crossCheck"])
        body = site.gql("analyst", year_end, purpose="statistics", d=village)
        assert "errors" not in body, body
        seen = _counts(body["data"]["crossCheck"])
        assert set(seen) == set(full)
        for key, n in full.items():
            if n is not None and 0 < n < 5:
                small[village, key] = n
                assert seen[key] is None, (village, key, n)
            else:
                assert seen[key] == n, (village, key)
    assert any(key.startswith("conflict.") for _, key in small), small


def _engine(site: Site):  # type: ignore[no-untyped-def]
    return site.client.app.state.sql  # type: ignore[attr-defined]


WAIT = 1.0


@pytest.fixture
def busy_site(synced: Path, tmp_path: Path) -> Iterator[Site]:
    """A site whose mutations wait at most WAIT seconds for the graph's writer."""
    yield from _site(synced, tmp_path, graphql_write_wait_seconds=WAIT)


def test_a_merge_while_the_graph_writer_is_held_fails_within_its_wait_and_saves_nothing(
    busy_site: Site,
) -> None:
    """A caseworker's merge during a county's first-load build (the writer held for minutes) must
    fail within SHOUHU_GRAPHQL_WRITE_WAIT_SECONDS saying nothing was saved, and must really have
    saved nothing: not the links moved while the graph still shows two people and the review item,
    closed, can no longer be sent again."""
    import time

    from tests.api_fixtures import graph_writer_held

    site = busy_site
    store: LadybugStore = site.client.app.state.graph  # type: ignore[attr-defined]
    item = site.gql("civil", REVIEWS, first=5)["data"]["matchReviews"]["items"][0]
    with graph_writer_held(store, hold=12):
        started = time.monotonic()
        out = site.gql("civil", MERGE, id=item["id"])
        waited = time.monotonic() - started
    assert "errors" in out, (waited, out)
    assert out["errors"][0]["extensions"] == {"code": "UNAVAILABLE", "reason": "graph_busy"}
    assert "未保存" in out["errors"][0]["message"]
    assert waited < WAIT + 8, waited  # bounded by the wait, not by the build
    items = site.gql("civil", REVIEWS, first=50)["data"]["matchReviews"]["items"]
    assert {i["id"]: i["status"] for i in items}[item["id"]] == "open"  # nothing saved
    assert _node(site, item["left"]["personId"]) and _node(site, item["right"]["personId"])
    again = site.gql("civil", MERGE, id=item["id"])  # the writer free: sent again, recorded
    assert "errors" not in again, again
    assert _node(site, again["data"]["mergeMatch"]["absorbedId"]) is None
