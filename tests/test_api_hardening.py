"""What one request may cost and what it may learn before it is refused.

Depth, aliases, cost and directives are bounded when the document is validated; batches, big
bodies, GET, malformed bodies and unknown persisted operations are refused before anything runs;
a caller without a token learns nothing, not even which limit a document breaks; errors carry no
stack, no suggestions and no values.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.limits import SCHEMA_SCOPE
from kernel.messages import say
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import registered

CHILD = "person:child"
# person → household → members → person → enrolments → school: six levels of selections.
DEPTH_6 = (
    '{ person(id: "person:child") { household { members { person { enrolments { school { name } } } } } } }'
)
DEPTH_7 = (
    '{ person(id: "person:child") { household { members { person { enrolments { school '
    "{ sources { system } } } } } } } }"
)


def aliases(n: int) -> str:
    return '{ person(id: "person:child") { ' + " ".join(f"a{i}: id" for i in range(n)) + " } }"


def directives(n: int) -> str:
    return '{ person(id: "person:child") { ' + " ".join("id @include(if: true)" for _ in range(n)) + " } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for api in serve(tmp_path_factory.mktemp("hardening")):
        registered(api.client.app.state.graph)  # type: ignore[attr-defined]
        yield api


def serve_another(tmp_path: Path, **overrides: object) -> Iterator[Api]:
    """A second app with other settings. api/app.py builds its AuthService with
    auth.routes.routes(), which makes it the process-wide default: while a second app lives, the
    first one's tokens are checked against the second one's keys and refused. Put the first one's
    back afterwards."""
    import auth.routes

    saved = auth.routes._default_service
    try:
        yield from serve(tmp_path, **overrides)
    finally:
        auth.routes._default_service = saved


def _post(api: Api, body: Any, *, token: str | None = None, raw: bytes | None = None) -> httpx.Response:
    headers = {"X-Purpose-Of-Use": "case_work"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if raw is not None:
        return api.client.post(
            "/graphql", content=raw, headers={**headers, "Content-Type": "application/json"}
        )
    return api.client.post("/graphql", json=body, headers=headers)


def _refused(r: httpx.Response) -> dict[str, Any]:
    """A validation refusal: 200, no data at all, one or more errors."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert "data" not in body or body["data"] is None, body
    assert body["errors"], body
    assert "甲乙" not in r.text
    return body


def _codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code") for e in body["errors"]}


# ---- depth, aliases, cost, directives ------------------------------------------------------------


def test_depth_six_is_served_and_seven_is_refused_with_a_clear_error(api: Api) -> None:
    ok = api.gql("police", DEPTH_6).json()
    assert "errors" not in ok, ok
    body = _refused(api.gql("police", DEPTH_7))
    error = next(e for e in body["errors"] if e["extensions"]["code"] == "QUERY_TOO_DEEP")
    assert error["message"] == say("api.query_too_deep", depth=7, limit=6), error


def test_depth_is_counted_through_fragments(api: Api) -> None:
    query = """{ person(id: "person:child") { ...A } }
    fragment A on Person { parents { person { ...B } } }
    fragment B on Person { guardians { person { ... on Person { wards { person { id } } } } } }"""
    _refused(api.gql("police", query))


def test_fifteen_aliases_are_served_and_sixteen_refused(api: Api) -> None:
    assert "errors" not in api.gql("police", aliases(15)).json()
    body = _refused(api.gql("police", aliases(16)))
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES", error
    assert error["message"] == say("api.too_many_aliases", count=16, limit=15), error


def test_aliases_are_counted_through_fragments(api: Api) -> None:
    query = (
        '{ person(id: "person:child") { ...F a: id b: id } }'
        " fragment F on Person { " + " ".join(f"f{i}: name" for i in range(14)) + " }"
    )
    _refused(api.gql("police", query))


def test_a_cost_explosive_query_is_refused(api: Api) -> None:
    query = """{ people(division: "500101000000", first: 100) { edges { node {
        parents { person { id name } } guardians { person { id name } }
        household { members { person { id } } }
    } } } }"""
    body = _refused(api.gql("police", query))
    assert _codes(body) == {"QUERY_TOO_EXPENSIVE"}


def test_a_variable_page_size_is_costed_as_a_full_page(api: Api) -> None:
    # Used to count as one item: the same document as with `first: 100` passed the budget.
    query = """query ($n: Int) { people(division: "500101000000", first: $n) { edges { node {
        parents { person { id } } guardians { kind } } } } }"""
    body = _refused(api.gql("police", query, {"n": 100}))
    assert _codes(body) == {"QUERY_TOO_EXPENSIVE"}


def test_entities_are_costed_by_the_number_of_representations(api: Api) -> None:
    # Each representation is a profile read; 300 of them used to be costed as a page of 20.
    reps = ", ".join('{__typename: "Person", id: "person:child"}' for _ in range(300))
    query = (
        f"{{ _entities(representations: [{reps}]) {{ ... on Person {{ parents {{ person {{ id }} }} }} }} }}"
    )
    body = _refused(api.gql("police", query))
    assert _codes(body) == {"QUERY_TOO_EXPENSIVE"}


def test_a_page_of_a_hundred_names_is_not_too_expensive(api: Api) -> None:
    # The connection's `first` and its `edges` used to be multiplied together (100 × 20).
    body = api.gql(
        "police", '{ people(division: "500101000000", first: 100) { edges { node { id name } } } }'
    )
    assert "errors" not in body.json(), body.text
    assert len(body.json()["data"]["people"]["edges"]) == 5


@contextmanager
def counted_walks(budget: int = 100_000) -> Iterator[Counter[str]]:
    """Count the calls of the limit rules' recursive walks (api.limits._cost, _depth, _aliases): the
    work a document costs, whatever the machine's speed. Past `budget` a walk raises, so an
    exponential walk fails the test instead of hanging it."""
    import api.limits as limits

    calls: Counter[str] = Counter()
    originals = {name: getattr(limits, name) for name in ("_cost", "_depth", "_aliases")}

    def counting(name: str) -> Any:
        def walk(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            if calls[name] > budget:
                raise RuntimeError(f"{name} walked more than {budget} times")
            return originals[name](*args, **kwargs)

        return walk

    try:
        for name in originals:
            setattr(limits, name, counting(name))
        yield calls
    finally:
        for name, fn in originals.items():
            setattr(limits, name, fn)


def test_a_fragment_bomb_is_refused_quickly(api: Api) -> None:
    # Each fragment spreads the next one twice: 2^18 paths in a 1 KiB document.
    n = 18
    frags = " ".join(f"fragment F{i} on Person {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    query = f'{{ person(id: "person:child") {{ ...F0 }} }} {frags} fragment F{n} on Person {{ id }}'
    with counted_walks() as calls:
        body = _refused(api.gql("police", query))
    assert "QUERY_TOO_EXPENSIVE" in _codes(body)
    # Work linear in the document: each of the n+1 fragments costed once (2^18 walks otherwise).
    assert 0 < calls["_cost"] <= 4 * (n + 2)


def test_the_limit_rules_take_linear_time_on_a_fragment_bomb() -> None:
    # The rules api.limits offers for the schema (depth_rule and alias_rule replace strawberry's
    # extensions); checked here on their own until the schema uses them.
    from graphql import parse, validate

    from api.limits import alias_rule, cost_rule, depth_rule
    from api.schema import build_schema

    schema = build_schema()._schema
    n = 60
    frags = " ".join(f"fragment F{i} on Person {{ a{i}: id ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    document = parse(f'{{ person(id: "x") {{ ...F0 }} }} {frags} fragment F{n} on Person {{ id }}')
    with counted_walks() as calls:
        errors = validate(schema, document, [depth_rule(6), alias_rule(15), cost_rule(5000)])
    # Each rule walks each of the n+1 fragments once (2^60 walks otherwise).
    assert set(calls) == {"_cost", "_depth", "_aliases"}
    assert all(0 < c <= 4 * (n + 2) for c in calls.values()), calls
    assert {e.extensions["code"] for e in errors} == {"TOO_MANY_ALIASES", "QUERY_TOO_EXPENSIVE"}
    deep = validate(schema, parse(DEPTH_7), [depth_rule(6)])
    assert [e.message for e in deep] == [say("api.query_too_deep", depth=7, limit=6)]
    assert validate(schema, parse(DEPTH_6), [depth_rule(6)]) == []
    assert validate(schema, parse(aliases(15)), [alias_rule(15)]) == []
    assert [e.extensions["code"] for e in validate(schema, parse(aliases(16)), [alias_rule(15)])] == [
        "TOO_MANY_ALIASES"
    ]


def test_too_many_directives_are_refused(api: Api) -> None:
    assert "errors" not in api.gql("police", directives(50)).json()
    body = _refused(api.gql("police", directives(51)))
    assert "TOO_MANY_DIRECTIVES" in _codes(body)


# ---- what the endpoint accepts -------------------------------------------------------------------


def test_a_batch_is_refused(api: Api) -> None:
    r = _post(api, [{"query": "{ __typename }"}, {"query": "{ __typename }"}], token=api.tokens["police"])
    assert r.status_code == 400
    assert r.json() == {
        "errors": [
            {
                "message": say("api.batch_refused"),
                "extensions": {"code": "BATCH_REFUSED"},
            }
        ]
    }


def test_a_body_over_64_kib_is_refused(api: Api) -> None:
    padding = " " * (64 * 1024)
    r = _post(api, {"query": "{ __typename }" + padding}, token=api.tokens["police"])
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    just_under = _post(api, {"query": "{ __typename }" + " " * (60 * 1024)}, token=api.tokens["police"])
    assert just_under.status_code == 200, just_under.text


def test_a_body_streamed_without_a_length_is_cut_at_the_limit(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }'
        for _ in range(100):
            yield b" " * 1024
        yield b'"}'

    r = api.client.post(
        "/graphql",
        content=chunks(),
        headers={"Authorization": f"Bearer {api.tokens['police']}", "Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_introspection_is_refused_outside_dev_mode(api: Api) -> None:
    for query in ("{ __schema { types { name } } }", '{ __type(name: "Person") { fields { name } } }'):
        body = _refused(api.gql("police", query))
        error = body["errors"][0]
        assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "reason": "schema_reader"}, error
        assert error["message"] == say("api.schema_reader", scope=SCHEMA_SCOPE), error
    # __typename is not introspection of the schema.
    assert api.gql("police", "{ __typename }").json() == {"data": {"__typename": "Query"}}


def test_introspection_is_served_in_dev_mode(tmp_path: Path) -> None:
    for dev in serve_another(tmp_path, dev_mode=True):
        body = dev.gql("police", '{ __type(name: "Person") { name } }').json()
        assert body == {"data": {"__type": {"name": "Person"}}}


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ('{ person(id: "person:child") { nmae } }', "'name'"),
        ('{ person(id: "person:child") { name(frist: 1) } }', "'first'"),
        ('{ persn(id: "person:child") { name } }', "'person'"),
        ('{ person(idd: "person:child") { name } }', "'id'"),
        ('{ person(id: "person:child") { ... on Persn { name } } }', "'Person'"),
        ('query ($x: Strin) { person(id: "person:child") { name } }', "'String'"),
    ],
)
def test_no_suggestions_in_errors(api: Api, query: str, suggestion: str) -> None:
    r = api.gql("police", query)
    assert r.status_code == 200
    assert r.json()["errors"]
    assert "did you mean" not in r.text.lower()
    assert suggestion not in r.text


# ---- authentication comes first ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({"query": DEPTH_7}, None),
        ({"query": aliases(40)}, None),
        ({"query": directives(60)}, None),
        ({"query": "{ __schema { types { name } } }"}, None),
        ([{"query": "{ __typename }"}], None),
        ({"query": "{ __typename }" + " " * (70 * 1024)}, None),
        (None, b"{not json"),
        ({"query": '{ person(id: "person:child") { name } }'}, None),
    ],
)
def test_without_a_token_every_request_is_401_and_reveals_no_limit(
    api: Api, body: Any, raw: bytes | None
) -> None:
    for token in (None, "not-a-token", api.tokens["police"][:-4] + "AAAA"):
        r = _post(api, body, token=token, raw=raw)
        assert r.status_code == 401, r.text
        text = r.text.lower()
        for word in ("depth", "alias", "expensive", "directive", "introspection", "batch", "large", "json"):
            assert word not in text, word
        assert "甲乙" not in r.text


def test_rate_limit_per_client(tmp_path: Path) -> None:
    for limited in serve_another(tmp_path, rate_limit_per_minute=5):
        codes = [limited.gql("police", "{ __typename }").status_code for _ in range(6)]
        assert codes == [200, 200, 200, 200, 200, 429]
        r = limited.gql("police", "{ __typename }")
        assert r.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # Per client: another agency's system is not slowed by the police's.
        assert limited.gql("village", "{ __typename }").status_code == 200
        # A caller without a token gets 401, not 429, and does not use anyone's quota.
        assert limited.client.post("/graphql", json={"query": "{ __typename }"}).status_code == 401


# ---- what one response may hold ------------------------------------------------------------------

HOUSEHOLD = '{ person(id: "person:child") { id household { members { person { id name } } } } }'


def _nodes(value: Any) -> int:
    """Records and list items in a response's data, as api.limits.bound_responses counts them."""
    if isinstance(value, list):
        return len(value) + sum(_nodes(v) for v in value)
    if isinstance(value, dict):
        return sum(_nodes(v) + (1 if isinstance(v, dict) else 0) for v in value.values())
    return 0


def test_a_response_past_its_bound_is_stopped_with_a_clear_error_in_chinese(api: Api, tmp_path: Path) -> None:
    """The cost rule prices this document low (one person, one household, a default page of members);
    what it returns grows with the household. Past `graphql_max_response_nodes` the request stops with
    one error from the catalogue, no data and no 500, and it is on the record."""
    from kernel.messages import say

    served = api.gql("police", HOUSEHOLD)  # the default bound
    assert served.status_code == 200 and "errors" not in served.json(), served.text
    held = _nodes(served.json()["data"])
    assert held >= 5
    for bounded in serve_another(tmp_path, graphql_max_response_nodes=held - 1):
        exact = bounded.gql("police", '{ person(id: "person:child") { id name } }')
        assert exact.status_code == 200 and exact.json()["data"]["person"]["id"] == CHILD
        r = bounded.gql("police", HOUSEHOLD)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "data" not in body or body["data"] is None, body
        assert body["errors"] == [
            {
                "message": say("api.response_too_large", limit=f"{held - 1:,}"),
                "extensions": {"code": "RESPONSE_TOO_LARGE"},
            }
        ]
        assert "回应过大" in body["errors"][0]["message"]


# ---- persisted operations ------------------------------------------------------------------------

PERSISTED = "query Name($id: ID!) { person(id: $id) { name } }"


def test_persisted_operations_only(tmp_path: Path) -> None:
    digest = hashlib.sha256(PERSISTED.encode()).hexdigest()
    allow_list = tmp_path / "persisted.json"
    allow_list.write_text(json.dumps({digest: PERSISTED}), encoding="utf-8")
    for locked in serve_another(tmp_path, persisted_operations_file=allow_list):
        headers = {"Authorization": f"Bearer {locked.tokens['police']}", "X-Purpose-Of-Use": "case_work"}

        def post(payload: dict[str, Any], app: Api = locked, headers: dict = headers) -> httpx.Response:
            return app.client.post("/graphql", json=payload, headers=headers)

        known = {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
            "variables": {"id": CHILD},
        }
        assert post(known).json() == {"data": {"person": {"name": "甲乙"}}}
        upper = {**known, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest.upper()}}}
        assert post(upper).json() == {"data": {"person": {"name": "甲乙"}}}
        # A raw document sent along with a known hash does not replace the persisted one.
        swapped = {**known, "query": "query Name($id: ID!) { person(id: $id) { name idNumber phone } }"}
        assert post(swapped).json() == {"data": {"person": {"name": "甲乙"}}}
        unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}, "variables": {}}
        raw = {"query": PERSISTED, "variables": {"id": CHILD}}
        for refused in (post(unknown), post(raw)):
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            assert "甲乙" not in refused.text


# ---- malformed requests ---------------------------------------------------------------------------


def test_get_with_a_query_string_is_refused(api: Api) -> None:
    r = api.client.get(
        "/graphql",
        params={"query": '{ person(id: "person:child") { name } }'},
        headers={"Authorization": f"Bearer {api.tokens['police']}", "X-Purpose-Of-Use": "case_work"},
    )
    assert r.status_code == 405
    assert r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "甲乙" not in r.text


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "BAD_REQUEST"),
        (b"\xff\xfe\x00", "BAD_REQUEST"),
        (b"", "BAD_REQUEST"),
        (b'"a string"', "BAD_REQUEST"),
        (b'{"query": 42}', "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "variables": [1]}', "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "operationName": 7}', "BAD_REQUEST"),
    ],
)
def test_a_malformed_body_is_a_400_graphql_error(api: Api, raw: bytes, code: str) -> None:
    r = _post(api, None, token=api.tokens["police"], raw=raw)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"errors"}
    assert body["errors"][0]["extensions"]["code"] == code
    assert isinstance(body["errors"][0]["message"], str)


def test_a_resolver_exception_returns_no_stack_trace(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Neither the answer nor the service log carries the exception's text (it quotes a record):
    the log keeps the traceback's frames and the kind of error (kernel/logs.py)."""
    endpoint = next(r for r in api.client.app.routes if r.path == "/graphql").endpoint.__self__  # type: ignore[attr-defined]
    real = endpoint.store

    class Broken:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def neighbourhood(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(
                "store exploded at /work/main/graph/ladybug/adapter.py:42 reading 甲乙 510104199001011234"
            )

    endpoint.store = Broken()
    try:
        with caplog.at_level(logging.ERROR):
            r = api.gql("police", '{ person(id: "person:child") { name idNumber } }')
    finally:
        endpoint.store = real
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"person": None}
    assert body["errors"] == [
        {
            "message": say("api.internal_error"),
            "extensions": {"code": "INTERNAL"},
            "path": ["person"],
            "locations": [{"line": 1, "column": 3}],
        }
    ]
    for leak in (
        "Traceback",
        "RuntimeError",
        "exploded",
        "adapter.py",
        "/work",
        "甲乙",
        "510104199001011234",
    ):
        assert leak not in r.text
    logged = "\n".join(handler_text(caplog))
    assert "RuntimeError" in logged and "neighbourhood" in logged, logged  # the fault can be found
    assert "甲乙" not in logged and "510104199001011234" not in logged and "exploded" not in logged


def handler_text(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each captured record as a handler writes it (message and traceback)."""
    formatter = logging.Formatter()
    return [formatter.format(record) for record in caplog.records]


def test_every_areas_lists_are_priced_from_the_schema(api: Api) -> None:
    # Lists are known from the schema's types, not from a list of field names: the network
    # area's `nodes` and `properties` used to cost 1 each, so a page of 100 clusters each with
    # all their nodes and properties passed as if it were 500 fields.
    query = """{ networkCaseClusters(division: "500101000000", first: 100) {
        nodes { id properties { name value } } } }"""
    body = _refused(api.gql("analyst", query))
    assert _codes(body) == {"QUERY_TOO_EXPENSIVE"}
