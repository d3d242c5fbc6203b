"""An agreement saved while the graph fails its write is caught up later, as a case is: the record
keeps it, the caller is told it was recorded, and the worker's catch-up writes it into the graph
(the entrusted guardian, the agreement in the child's profile) and reclassifies the child."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from graph.model import node_id
from graph.port import GraphStore, GraphUnavailable
from graph.records import Assertion, NodeRecord
from kernel.messages import say
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE
from tests.screening_support import Families, away, data, store_of

AGREE = "mutation A($input: AgreementInput!) { recordAgreement(input: $input) { id kind } }"
FLAGS = "query F { agreementFlags { childId reason } }"
STATE = """query S($id: ID!) {
  classification(personId: $id) { arrangement }
  person(id: $id) { agreements { kind validTo } guardians { kind person { id } } }
  agreements(childId: $id) { id }
}"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("agreement-catch-up"), webhook_poll_seconds=0.2)


def _family(a: Api, seed: int) -> tuple[str, str]:
    """A left-behind child (both parents away, no guardian) and a capable adult of the village."""
    store = store_of(a)
    child = Families(store, seed=seed).child(VILLAGE, father=away(), mother=away())
    aunt = node_id("Person", f"aunt{seed}")
    src = Assertion("police_hukou", f"HK-{seed}", datetime(2026, 3, 1, 9))
    store.upsert_nodes(
        [NodeRecord(aunt, {"name": "丙丁", "birth_date": "1980-05-01", "division": VILLAGE}, src)]
    )
    return child, aunt


def _entrustment(store: GraphStore, child: str, aunt: str) -> dict[str, Any]:
    today = date.today()
    parents = [n.id for n in store.neighbourhood(child, 1, ("PARENT_OF",)).nodes.values() if n.id != child]
    return {
        "kind": "entrustment",
        "childId": child,
        "parentIds": parents,
        "guardianId": aunt,
        "signedOn": today.isoformat(),
        "validFrom": today.isoformat(),
        "validTo": (today + timedelta(days=365)).isoformat(),
    }


def _flagged(a: Api, child: str) -> list[str]:
    return [f["reason"] for f in data(a.gql("village", FLAGS))["agreementFlags"] if f["childId"] == child]


def test_an_agreement_whose_projection_failed_is_caught_up_by_the_worker(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of(api)
    child, aunt = _family(api, 71)
    before = data(api.gql("village", STATE, {"id": child}))
    assert before["classification"]["arrangement"] != "entrusted_guardian", before
    assert _flagged(api, child) == ["no_valid_entrustment"]

    # The graph fails the agreement's write (closed under it): the record has already kept it.
    upsert = _agreement_writes_fail(monkeypatch, store)
    body = api.gql("village", AGREE, {"input": _entrustment(store, child, aunt)}).json()
    assert not body.get("errors"), body  # saved in the record: the caller is told it was recorded
    agreement = body["data"]["recordAgreement"]["id"]
    time.sleep(1.0)  # several worker rounds, each failing too
    state = data(api.gql("village", STATE, {"id": child}))
    assert [x["id"] for x in state["agreements"]] == [agreement]  # the record has it
    assert store.get_node(node_id("Agreement", agreement)) is None  # the graph has not
    assert state["person"]["agreements"] == []
    assert _flagged(api, child) == ["no_valid_entrustment"]  # no entrusted guardian in the graph

    monkeypatch.setattr(store, "upsert_nodes", upsert)  # the graph works again
    deadline = time.monotonic() + 20
    while store.get_node(node_id("Agreement", agreement)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.get_node(node_id("Agreement", agreement)) is not None, "not caught up"
    state = data(api.gql("village", STATE, {"id": child}))
    assert [x["kind"] for x in state["person"]["agreements"]] == ["entrustment"]
    assert {"kind": "entrusted", "person": {"id": aunt}} in state["person"]["guardians"]
    assert _flagged(api, child) == []
    assert state["classification"]["arrangement"] == "entrusted_guardian"  # reclassified


def test_an_agreement_saved_and_projected_is_answered_so_when_its_reclassification_fails(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph fails after the agreement's graph copy is written, as the child is reclassified:
    the caller is told it was recorded (not "nothing changed"), and the child waits in the
    derived-state queue for the worker's drain, which reclassifies it once the graph answers."""
    store = store_of(api)
    child, aunt = _family(api, 72)
    assert data(api.gql("village", STATE, {"id": child}))["classification"]["arrangement"] != (
        "entrusted_guardian"
    )

    def failing(*_: Any, **__: Any) -> Any:
        raise GraphUnavailable(say("graph.unavailable"))

    monkeypatch.setattr(store, "select", failing)  # the first read of a reclassification
    body = api.gql("village", AGREE, {"input": _entrustment(store, child, aunt)}).json()
    assert not body.get("errors"), body
    agreement = body["data"]["recordAgreement"]["id"]
    assert store.get_node(node_id("Agreement", agreement)) is not None
    monkeypatch.undo()
    deadline = time.monotonic() + 20
    state = data(api.gql("village", STATE, {"id": child}))
    while state["classification"]["arrangement"] != "entrusted_guardian" and time.monotonic() < deadline:
        time.sleep(0.2)
        state = data(api.gql("village", STATE, {"id": child}))
    assert state["classification"]["arrangement"] == "entrusted_guardian"


def test_an_agreement_naming_a_person_merged_away_since_is_caught_up_as_a_rebuild_has_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agreement pending its graph copy (a failed write, or recorded before revision 0013) whose
    entrusted guardian a merge has absorbed since: the graph has no node for that guardian any more.
    The catch-up writes what a rebuild writes (the agreement, COVERS the child, SIGNED by the
    parents; the edges to the absorbed person left out), once. It wrote nothing and stayed pending,
    failing again at every round of the worker (and 100 such held back every later agreement)."""
    store = store_of(api)
    child, aunt = _family(api, 73)
    upsert = _agreement_writes_fail(monkeypatch, store)
    body = api.gql("village", AGREE, {"input": _entrustment(store, child, aunt)}).json()
    assert not body.get("errors"), body
    agreement = body["data"]["recordAgreement"]["id"]
    # A merge absorbs the aunt: her register record now speaks for another person, her node goes.
    store.retract([aunt], [("police_hukou", "HK-73")])
    assert store.get_node(aunt) is None
    monkeypatch.setattr(store, "upsert_nodes", upsert)  # the graph works again
    deadline = time.monotonic() + 15
    while store.get_node(node_id("Agreement", agreement)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.get_node(node_id("Agreement", agreement)) is not None, "never caught up"
    covered = store.neighbourhood(node_id("Agreement", agreement), 1, ("COVERS", "SIGNED")).nodes
    assert child in covered and aunt not in covered
    state = data(api.gql("village", STATE, {"id": child}))
    assert [x["kind"] for x in state["person"]["agreements"]] == ["entrustment"]


def _agreement_writes_fail(monkeypatch: pytest.MonkeyPatch, store: Any) -> Any:
    """The graph fails every write of an Agreement node (closed under it), as a lost write would;
    returns the working write, to put back."""
    upsert = store.upsert_nodes

    def failing(records: Iterable[NodeRecord]) -> Any:
        records = list(records)
        if any(r.label == "Agreement" for r in records):
            raise GraphUnavailable(say("graph.unavailable"))
        return upsert(records)

    monkeypatch.setattr(store, "upsert_nodes", failing)
    return upsert
