"""Class 9: limits that hold, over HTTP against the real app.

Cost counts `_entities` representations and list arguments; a request has a time budget after
which its work is stopped server-side, and a client that leaves stops it too; deep JSON is a 400;
`_entities` of a type that cannot be resolved is a clear error; a document of 1,500 duplicated
fields is refused before validation; introspection and `_service` follow one policy; the token
endpoint locks out guessing; network traces never walk through a division unless asked, cap
fan-out and say so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest

from auth.identities import add_client
from auth.routes import TokenThrottle
from graph.model import node_id
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.db import make_engine
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE
from tests.federation.servers import UvicornThread, free_port
from tests.security.support import entries, head

SRC = Assertion("police_hukou", "HK-lim", datetime(2026, 3, 1, 9, 0))
VILLAGERS = 400  # more than the fan-out cap of one record (200)
HUB_RELS = ["REGISTERED_IN", "RESIDES_IN", "PART_OF", "LOCATED_IN", "MEMBER_OF"]
NET = """query Net($start: ID!, $depth: Int!, $types: [String!], $hubs: Boolean!) {
  network(start: $start, depth: $depth, relTypes: $types, expandHubs: $hubs) {
    truncated nodes { id kind } edges { id } } }"""


def village(store) -> None:  # type: ignore[no-untyped-def]
    """The fixture family plus a village of 400 registered residents in households of four."""
    from tests.contract.test_graph_store import family

    family(store)
    div = node_id("Division", VILLAGE)
    nodes, rels = [], []
    for i in range(VILLAGERS):
        pid = node_id("Person", f"v{i:04d}")
        hid = node_id("Household", f"VH{i // 4:04d}")
        nodes.append(NodeRecord(pid, {"name": f"村民{i}", "division": VILLAGE}, SRC))
        if i % 4 == 0:
            nodes.append(NodeRecord(hid, {"household_number": f"VH{i // 4:04d}", "division": VILLAGE}, SRC))
            rels.append(RelRecord("LOCATED_IN", hid, div, {}, SRC))
        rels += [
            RelRecord("REGISTERED_IN", pid, div, {}, SRC),
            RelRecord("RESIDES_IN", pid, div, {}, SRC),
            RelRecord("MEMBER_OF", pid, hid, {"relation_to_head": "成员"}, SRC),
        ]
    rels.append(RelRecord("REGISTERED_IN", "person:child", div, {}, SRC))
    store.upsert_nodes(nodes)
    store.upsert_rels(rels)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from tests import api_fixtures

    saved = api_fixtures.family
    api_fixtures.family = village  # serve() populates with this module's village
    try:
        for api in serve(tmp_path_factory.mktemp("limits")):
            api_fixtures.family = saved
            yield api
    finally:
        api_fixtures.family = saved


def _post(api: Api, body: dict | bytes, who: str = "police") -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.tokens[who]}", "X-Purpose-Of-Use": "case_work"}
    if isinstance(body, bytes):
        return api.client.post(
            "/graphql", content=body, headers={**headers, "Content-Type": "application/json"}
        )
    return api.client.post("/graphql", json=body, headers=headers)


def _code(r: httpx.Response) -> str:
    return r.json()["errors"][0]["extensions"]["code"]


# ---- cost ------------------------------------------------------------------------------------------

ENTITIES = """query E($r: [_Any!]!) { _entities(representations: $r) {
  ... on Person { name parents { person { name guardians { person { name } } } } } } }"""


def test_entities_in_a_variable_are_priced_by_their_number(api: Api) -> None:
    many = [{"__typename": "Person", "id": "person:child"}] * 800
    r = _post(api, {"query": ENTITIES, "variables": {"r": many}})
    assert r.status_code == 400 and _code(r) == "QUERY_TOO_EXPENSIVE", r.text
    # At the priced length the deep selection is over budget too: each representation counts.
    r = _post(api, {"query": ENTITIES, "variables": {"r": many[:100]}})
    assert _code(r) == "QUERY_TOO_EXPENSIVE", r.text
    r = _post(
        api,
        {
            "query": "query E($r: [_Any!]!) { _entities(representations: $r) { ... on Person { name } } }",
            "variables": {"r": many[:3]},
        },
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text


def test_a_literal_list_argument_is_priced_by_its_length(api: Api) -> None:
    reps = ", ".join('{__typename: "Person", id: "person:child"}' for _ in range(300))
    r = _post(
        api,
        {
            "query": f"{{ _entities(representations: [{reps}]) {{ ... on Person {{ name "
            "parents { person { name } } } } }"
        },
    )
    assert _code(r) == "QUERY_TOO_EXPENSIVE", r.text


# ---- parsing ---------------------------------------------------------------------------------------


def test_json_nested_20000_deep_is_a_400_not_a_500(api: Api) -> None:
    deep = b'{"query": "query Q($v: String) { __typename }", "variables": {"v": ' + b"[" * 20_000
    deep += b"]" * 20_000 + b"}}"
    r = _post(api, deep)
    assert r.status_code == 400 and _code(r) == "BAD_REQUEST", r.text
    less = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 500 + b"]" * 500 + b"}}"
    assert _post(api, less).status_code == 400


def test_a_document_of_1500_duplicated_fields_is_refused_before_validation(api: Api) -> None:
    doc = '{ person(id: "person:child") { ' + ", ".join(["name" + " " * 32] * 1500) + " } }"
    assert 55_000 < len(doc.encode()) < 60_000
    started = time.perf_counter()
    r = _post(api, {"query": doc})
    elapsed = time.perf_counter() - started
    assert r.status_code == 400 and _code(r) == "QUERY_TOO_LARGE", r.text
    print(f"1,500 duplicated fields (57 KB) refused in {elapsed * 1000:.0f} ms")  # measured, not asserted


@pytest.mark.parametrize("typename", ["Household", "Visit", "Division", "School", "NoSuchType"])
def test_entities_of_a_type_that_cannot_be_resolved_is_a_clear_error(api: Api, typename: str) -> None:
    r = _post(
        api,
        {
            "query": f'{{ _entities(representations: [{{__typename: "{typename}", id: "x:1"}}]) '
            "{ __typename } }"
        },
    )
    assert r.status_code == 400, r.text
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and typename in error["message"]
    assert "internal" not in r.text


# ---- the schema ------------------------------------------------------------------------------------


def test_introspection_and_service_sdl_follow_one_policy(api: Api) -> None:
    engine = make_engine(api.settings.sql_url)
    cid, secret = add_client(
        engine, agency_id="ps-500101", role="officer", scopes="read:identity read:schema", name="router"
    )
    engine.dispose()
    r = api.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    router = r.json()["access_token"]
    for query in ("{ _service { sdl } }", "{ __schema { queryType { name } } }"):
        refused = _post(api, {"query": query})
        assert refused.json().get("data") is None
        assert refused.json()["errors"][0]["extensions"]["reason"] == "schema_reader"
        served = api.client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {router}"}
        )
        assert served.status_code == 200 and "errors" not in served.json(), served.text


# ---- the token endpoint ------------------------------------------------------------------------------


def test_the_token_endpoint_locks_out_guessing_and_says_so_on_the_record(api: Api) -> None:
    auth = api.client.app.state.auth  # type: ignore[attr-defined]
    cid, secret = api.credentials["civil"]
    before = head(api)
    try:
        codes = [
            api.client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, f"guess{i}")
            ).status_code
            for i in range(5)
        ]
        assert codes == [401] * 5
        # Locked: even the right secret is not checked now.
        r = api.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        ops = [(e.operation, e.client_id) for e in entries(api, before)]
        assert ops == [("token.refused", cid)] * 5 + [("token.locked", cid)]
    finally:
        auth.throttle = TokenThrottle()
    r = api.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert r.status_code == 200
    assert entries(api, head(api) - 1)[-1].operation == "token.issue"


def test_a_locked_out_client_secret_post_is_refused_before_its_secret_is_checked(api: Api) -> None:
    """client_secret_post names the client in the form: the lockout is judged on that name as soon as
    the form is read, before the secret is verified (the right secret answers exactly as a wrong one).

    The guesses come from other addresses (a guesser spread over many), so this address is not
    locked itself and only the client id's lockout can refuse it."""
    auth = api.client.app.state.auth  # type: ignore[attr-defined]
    cid, secret = api.credentials["civil"]
    before = head(api)
    verified = []
    create = auth.server.create_token_response
    auth.server.create_token_response = lambda *a, **k: verified.append(1) or create(*a, **k)
    auth.throttle = TokenThrottle()
    try:
        for i in range(5):
            auth.throttle.failed(cid, f"198.51.100.{i}")
        form = {"grant_type": "client_credentials", "client_id": cid}
        right = api.client.post("/oauth/token", data={**form, "client_secret": secret})
        wrong = api.client.post("/oauth/token", data={**form, "client_secret": "guess6"})
        assert right.status_code == wrong.status_code == 429
        assert right.json() == wrong.json() == {"error": "invalid_client"}
        assert int(right.headers["Retry-After"]) > 0 and "access_token" not in right.text
        assert verified == []  # neither secret reached the client authentication
        ops = [(e.operation, e.client_id, e.status) for e in entries(api, before)]
        assert ops == [("token.locked", cid, 429)] * 2
    finally:
        auth.server.create_token_response = create
        auth.throttle = TokenThrottle()
    r = api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
    )
    assert r.status_code == 200


# ---- networks and hubs -------------------------------------------------------------------------------


def test_a_person_network_does_not_walk_through_the_village(api: Api) -> None:
    r = _post(
        api,
        {"query": NET, "variables": {"start": "person:child", "depth": 3, "types": HUB_RELS, "hubs": False}},
    )
    net = r.json()["data"]["network"]
    ids = {n["id"] for n in net["nodes"]}
    assert node_id("Division", VILLAGE) in ids  # the village is reached
    assert not any(i.startswith("person:v") for i in ids)  # but nobody through it
    assert net["truncated"] is False


def test_walking_through_a_hub_when_asked_is_capped_and_marked(api: Api) -> None:
    r = _post(
        api,
        {"query": NET, "variables": {"start": "person:child", "depth": 2, "types": HUB_RELS, "hubs": True}},
    )
    net = r.json()["data"]["network"]
    villagers = [n for n in net["nodes"] if n["id"].startswith("person:v")]
    assert 0 < len(villagers) <= 200 and net["truncated"] is True


def test_a_division_start_at_depth_two_is_bounded_and_marked(api: Api) -> None:
    variables = {"start": node_id("Division", VILLAGE), "depth": 2, "types": HUB_RELS, "hubs": False}
    r = _post(api, {"query": NET, "variables": variables})
    assert r.status_code == 200, r.text
    net = r.json()["data"]["network"]
    assert net["truncated"] is True and len(net["nodes"]) <= 5000


# ---- time ------------------------------------------------------------------------------------------


def test_a_request_past_its_time_budget_is_stopped_and_audited(api: Api) -> None:
    endpoint = api.client.app.state.graphql  # type: ignore[attr-defined]
    saved = endpoint.time_budget
    endpoint.time_budget = 0.0
    before = head(api)
    try:
        variables = {"start": node_id("Division", VILLAGE), "depth": 4, "types": HUB_RELS, "hubs": True}
        r = _post(api, {"query": NET, "variables": variables})
    finally:
        endpoint.time_budget = saved
    assert r.status_code == 504 and _code(r) == "TIME_BUDGET_EXCEEDED", r.text
    last = entries(api, before)[-1]
    assert last.status == 504 and "time_budget" in last.reasons and last.operation == "query Net"


@contextmanager
def _held(graph: Any) -> Iterator[None]:
    """Reads wait, as while the store reopens: the lock taken (a reopen holds it) and, on LadybugDB,
    whose reads do not take the lock (they run on read connections of their own beside a write
    transaction), the read gate closed as a reopen closes it."""
    with graph._lock:
        closing = hasattr(graph, "_closing")
        if closing:
            graph._closing += 1
        try:
            yield
        finally:
            if closing:
                graph._closing -= 1


def test_a_client_that_leaves_stops_its_request(api: Api, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A real server (uvicorn), a client that gives up after a moment: the server stops the work and
    files the entry as `client_gone`, where it would otherwise have run the walk to its end.

    The walk is held up the way a reopen of the store holds reads up (`_held`), so that the client
    leaves while it runs however fast the machine reads."""
    from api.app import create_app

    app = create_app(api.settings)
    server = UvicornThread(app, free_port(), "limits-server").start()
    try:
        variables = {"start": node_id("Division", VILLAGE), "depth": 4, "types": HUB_RELS, "hubs": True}
        before = head(api)
        with _held(app.state.graph), pytest.raises(httpx.TimeoutException):
            httpx.post(
                f"{server.url}/graphql",
                json={"query": NET, "variables": variables},
                headers={"Authorization": f"Bearer {api.tokens['police']}"},
                timeout=1.0,
                trust_env=False,
            )
        deadline = time.monotonic() + 60
        found = []
        while time.monotonic() < deadline and not found:
            found = [e for e in entries(api, before) if "client_gone" in e.reasons]
            time.sleep(0.1)
        assert found and found[0].status == 499 and found[0].operation == "query Net"
    finally:
        server.stop()
