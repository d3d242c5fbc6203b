"""Shouhu composed with an agency's own subgraph behind Hive Gateway, all on loopback.

The Shouhu schema is a Federation v2.7 subgraph so that an agency can put its own service beside
it behind one router. This test does that for real: the Shouhu app and an education bureau's
subgraph each listen on a loopback port, GraphQL Mesh compose-cli builds the supergraph from
their `_service { sdl }`, Hive Gateway serves it, and queries go through the gateway. What must
hold: a query crosses both subgraphs; the supergraph keeps the security directives; and the
Shouhu subgraph's own scope decision still holds behind the router (an out-of-scope agency gets
the same null and error as directly).

Needs Node.js and `npm ci --prefix tools/gateway` (`make test` does it). Without `node` the test
is skipped; with node but without the packages it fails, so CI cannot pass it by accident.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from auth.identities import add_agency, add_client
from graph.factory import open_graph
from kernel.db import make_engine, migrate
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES
from tests.contract.test_graph_store import family
from tests.federation import education_subgraph
from tests.federation.servers import (
    GATEWAY_DIR,
    NodeProcess,
    UvicornThread,
    free_port,
    node_available,
    node_env,
    node_tool,
)

pytestmark = pytest.mark.skipif(not node_available(), reason="Node.js (`node`) is not installed")

CROSSING = """
query Crossing($id: ID!) {
  person(id: $id) { name attendanceRate counsellingNotesCount guardians { kind person { name } } }
}
"""
COMPOSE_TIMEOUT = 90.0
GATEWAY_START_TIMEOUT = 60.0


@dataclass
class Federation:
    gateway: str
    supergraph: str
    tokens: dict[str, str]
    education_seen: education_subgraph.Seen

    def query(
        self, who: str | None, query: str, variables: dict | None = None, purpose: str = "case_work"
    ) -> httpx.Response:
        headers = {"X-Purpose-Of-Use": purpose}
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return httpx.post(
            self.gateway,
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
            trust_env=False,  # loopback only: never through a proxy from the environment
        )


def _shouhu_data(data_dir: Path, port: int) -> tuple[Settings, dict[str, tuple[str, str]]]:
    """The same synthetic family and agencies as tests/api_fixtures.serve, for a real port.

    The token issuer defaults to http://127.0.0.1:{port}, which the identity service accepts
    because it is loopback; tokens are then fetched over HTTP from the running server.
    """
    settings = Settings(data_dir=data_dir, graph_buffer_pool_mb=256, host="127.0.0.1", port=port)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sql_url)
    migrate(engine)
    store = open_graph(settings)
    family(store)
    store.close()
    secrets = {}
    for key, (aid, atype, juris, inst, role, scopes) in AGENCIES.items():
        add_agency(
            engine, agency_id=aid, name=key, agency_type=atype, jurisdiction=juris, institution_codes=inst
        )
        secrets[key] = add_client(engine, agency_id=aid, role=role, scopes=scopes, name=f"{key} system")
    # The router composes from `_service { sdl }`, served to schema readers only (api.limits).
    secrets["router"] = add_client(
        engine,
        agency_id=AGENCIES["police"][0],
        role="officer",
        scopes="read:identity read:schema",
        name="router",
    )
    engine.dispose()
    return settings, secrets


def _compose(workdir: Path, subgraphs: list[dict[str, str]], authorization: str) -> str:
    """Run compose-cli once; a composition error fails the test with compose-cli's own words."""
    out = workdir / "supergraph.graphql"
    env = node_env(
        {"GATEWAY_SUBGRAPHS": json.dumps(subgraphs), "GATEWAY_SCHEMA_AUTHORIZATION": authorization}
    )
    proc = subprocess.run(
        [node_tool("mesh-compose"), "-c", str(GATEWAY_DIR / "mesh.config.mjs"), "-o", str(out)],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT,
    )
    assert proc.returncode == 0 and out.exists(), (
        f"mesh-compose failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    missing = [t for t in ("mesh-compose", "hive-gateway") if not Path(node_tool(t)).exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not installed in {GATEWAY_DIR}/node_modules: run "
            "`npm ci --prefix tools/gateway` (`make test` does it)",
            pytrace=False,
        )
    work = tmp_path_factory.mktemp("federation")
    started: list[UvicornThread | NodeProcess] = []
    try:
        port = free_port()
        settings, secrets = _shouhu_data(work / "data", port)
        shouhu = UvicornThread(create_app(settings), port, "shouhu-subgraph").start()
        started.append(shouhu)
        tokens = {}
        for key, (cid, secret) in secrets.items():
            r = httpx.post(
                f"{shouhu.url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(cid, secret),
                timeout=10,
                trust_env=False,
            )
            assert r.status_code == 200, r.text
            tokens[key] = r.json()["access_token"]

        seen = education_subgraph.Seen()
        education = UvicornThread(
            education_subgraph.create_app(seen), free_port(), "education-subgraph"
        ).start()
        started.append(education)

        supergraph = _compose(
            work,
            [
                {"name": "shouhu", "url": f"{shouhu.url}/graphql"},
                {"name": "education", "url": f"{education.url}/graphql"},
            ],
            f"Bearer {tokens['router']}",
        )

        gw_port = free_port()
        gateway = NodeProcess(
            [
                node_tool("hive-gateway"),
                "supergraph",
                str(work / "supergraph.graphql"),
                "--config-path",
                str(GATEWAY_DIR / "gateway.config.mjs"),
                "--host",
                "127.0.0.1",
                "--port",
                str(gw_port),
                "--disable-websockets",
            ],
            env=node_env({}),
            cwd=work,
            log=work / "gateway.log",
        )
        started.append(gateway)
        gateway.wait_http(f"http://127.0.0.1:{gw_port}/readiness", timeout=GATEWAY_START_TIMEOUT)
        yield Federation(f"http://127.0.0.1:{gw_port}/graphql", supergraph, tokens, seen)
    finally:
        for server in reversed(started):
            server.stop()


def test_supergraph_keeps_the_security_directives(federation: Federation) -> None:
    sdl = federation.supergraph
    id_number = next(line for line in sdl.splitlines() if line.strip().startswith("idNumber:"))
    assert '@requiresScopes(scopes: [["read:identity_number"]])' in id_number
    person = next(line for line in sdl.splitlines() if line.strip().startswith("person(id:"))
    assert "@authenticated" in person
    assert "attendanceRate: Float" in sdl and "inspectionGrade: String" in sdl
    # The token used to fetch Shouhu's SDL must not end up in the supergraph (@transport headers).
    assert federation.tokens["police"] not in sdl and "Bearer" not in sdl


def test_a_query_crosses_both_subgraphs(federation: Federation) -> None:
    r = federation.query("police", CROSSING, {"id": "person:child"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    person = body["data"]["person"]
    assert person["name"] == "甲乙"  # Shouhu
    assert person["attendanceRate"] == pytest.approx(0.82)  # the education bureau
    assert person["counsellingNotesCount"] == 3
    assert person["guardians"][0]["kind"] == "entrusted"  # Shouhu again, nested
    assert person["guardians"][0]["person"]["name"]
    # The gateway passed the caller's own token on to the agency's subgraph with its entity fetch.
    assert federation.education_seen.entity_fetches_by(f"Bearer {federation.tokens['police']}") >= 1


def test_an_entity_from_shouhu_is_extended_by_the_bureau_at_any_depth(federation: Federation) -> None:
    q = """query($id: ID!) { person(id: $id) { enrolments { school { id name inspectionGrade } } } }"""
    r = federation.query("police", q, {"id": "person:child"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    schools = [e["school"] for e in body["data"]["person"]["enrolments"]]
    assert {"id": "school:S1", "name": "中心小学", "inspectionGrade": "B"} in schools


def test_the_subgraph_scope_still_applies_behind_the_router(federation: Federation) -> None:
    r = federation.query("village2", CROSSING, {"id": "person:child"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["person"] is None
    assert body["errors"], body
    assert body["errors"][0]["extensions"]["reason"] == "not_found_or_out_of_scope"
    assert "甲乙" not in r.text and "0.82" not in r.text
    # The router never asked the bureau about a person Shouhu did not hand out.
    assert federation.education_seen.entity_fetches_by(f"Bearer {federation.tokens['village2']}") == 0


def test_no_token_through_the_gateway_returns_no_person(federation: Federation) -> None:
    """The gateway itself checks no token here: Shouhu's 401 behind it is what keeps the data out."""
    r = federation.query(None, CROSSING, {"id": "person:child"})
    body = r.json()
    assert (body.get("data") or {}).get("person") is None
    assert body.get("errors"), body
    assert "甲乙" not in r.text and "0.82" not in r.text
