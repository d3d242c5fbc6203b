"""A caseworker's change while the graph's writer is held for minutes (a county's first load building
its graph under the serving store) fails clearly within its wait and writes nothing; reads go on, and
the same change sent again once the writer is free is recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.api_fixtures import Api, graph_writer_held, serve
from tests.contract.test_graph_store import VILLAGE
from tests.screening_support import Families, data, error, store_of
from tests.test_visit_adult import visit

RECORD = "mutation($in: VisitInput!) { recordVisit(input: $in) { status record { version } } }"
STATE = "query($id: ID!) { childVisitRecord(personId: $id) { version } }"
WAIT = 1.0


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str]]:
    for a in serve(tmp_path_factory.mktemp("write-wait"), graphql_write_wait_seconds=WAIT):
        child = Families(store_of(a), seed=47).child(VILLAGE, father={"works_away": True})
        yield a, child


def test_a_change_during_a_graph_build_fails_clearly_and_is_recorded_when_sent_again(
    api: tuple[Api, str],
) -> None:
    a, child = api
    store = store_of(a)
    with graph_writer_held(store):
        started = time.monotonic()
        e = error(a.gql("village", RECORD, {"in": visit(child, "wait-0001")}, purpose="screening"))
        waited = time.monotonic() - started
        assert e["extensions"] == {"code": "UNAVAILABLE", "reason": "graph_busy"}, e
        assert "图数据库正忙" in e["message"] and "未保存" in e["message"], e
        assert WAIT <= waited < WAIT + 15, waited  # bounded by the wait, not by the build
        # Nothing was written, and reads answer meanwhile from the serving file.
        state = data(a.gql("village", STATE, {"id": child}, purpose="screening"))
        assert state["childVisitRecord"]["version"] == 0
        assert store.get_node("visit:app-wait-0001") is None
    out = data(a.gql("village", RECORD, {"in": visit(child, "wait-0001")}, purpose="screening"))
    assert out["recordVisit"]["status"] == "RECORDED" and out["recordVisit"]["record"]["version"] == 1
    assert store.get_node("visit:app-wait-0001") is not None


AGREE = "mutation A($input: AgreementInput!) { recordAgreement(input: $input) { id } }"


def test_an_agreement_during_a_graph_build_is_refused_whole_or_reaches_the_graph(
    api: tuple[Api, str],
) -> None:
    """Recorded while the writer is held, an agreement is refused with nothing saved (the caller is
    told to send it again), not saved while the caller waits on a build for minutes."""
    from graph.model import node_id
    from protection.agreements import agreements_of
    from tests.screening_support import engine_of

    a, _ = api
    store = store_of(a)
    today = date.today()
    entrustment = {
        "kind": "entrustment",
        "childId": "person:child",
        "parentIds": ["person:father", "person:mother"],
        "guardianId": "person:granny",
        "signedOn": today.isoformat(),
        "validFrom": today.isoformat(),
        "validTo": (today + timedelta(days=365)).isoformat(),
    }
    before = {x.id for x in agreements_of(engine_of(a), "person:child")}
    with graph_writer_held(store):
        refused = a.gql("village", AGREE, {"input": entrustment}).json()
    assert refused.get("errors"), refused  # told it was recorded, while the graph was busy
    assert refused["errors"][0]["extensions"] == {"code": "UNAVAILABLE", "reason": "graph_busy"}
    assert {x.id for x in agreements_of(engine_of(a), "person:child")} == before  # nothing saved
    data(a.gql("village", AGREE, {"input": entrustment}))  # sent again once free: recorded
    (new,) = {x.id for x in agreements_of(engine_of(a), "person:child")} - before
    assert store.get_node(node_id("Agreement", new)) is not None  # and in the graph


RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"


def test_a_recompute_refused_by_a_busy_writer_says_so(
    api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recompute whose graph work meets a writer held past its wait is told to send it again
    (graph_busy, the catalogue's words), as every other change is, not that the graph failed
    (graph_error); any other engine failure is still graph_error. Injected at the store read the
    recompute makes: today it only reads the graph, so a held writer alone does not refuse it."""
    from graph.port import GraphStoreError, GraphWriterBusy
    from kernel.messages import say
    from protection import classification

    a, _ = api
    failures = {
        "graph_busy": GraphWriterBusy(say("graph.write_busy", seconds="1")),
        "graph_error": GraphStoreError("engine text naming person:child"),
    }
    for reason, failure in failures.items():

        def fail(*args: object, failure: Exception = failure, **kwargs: object) -> None:
            raise failure

        monkeypatch.setattr(classification, "load_views", fail)
        e = error(a.gql("civil", RECOMPUTE, {"d": VILLAGE}))
        assert e["extensions"] == {"code": "UNAVAILABLE", "reason": reason}, e
        assert "person:child" not in e["message"], e
        if reason == "graph_busy":
            assert "图数据库正忙" in e["message"], e
