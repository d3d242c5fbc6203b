"""A small synthetic county served by the real app, with agencies that each get real tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from api.app import create_app
from auth.identities import add_agency, add_client
from graph.factory import open_graph
from shouhu.db import make_engine, migrate
from shouhu.settings import Settings
from tests.contract.test_graph_store import TOWN, VILLAGE, VILLAGE2, family

AGENCIES = {
    # key: (agency id, type, jurisdiction, institutions, role, scopes)
    "police": (
        "ps-500101",
        "public_security",
        "500101000000",
        (),
        "officer",
        "read:identity read:identity_number",
    ),
    "village": (
        "vc-500101001001",
        "village_committee",
        VILLAGE,
        (),
        "child_welfare_supervisor",
        "read:identity",
    ),
    "village2": (
        "vc-500101002001",
        "village_committee",
        VILLAGE2,
        (),
        "child_welfare_supervisor",
        "read:identity",
    ),
    "school": ("sch-s1", "education", TOWN, ("S1",), "teacher", "read:identity"),
    "analyst": ("ana-500101", "analyst", "500101000000", (), "analyst", "read:identity"),
    "doctor": ("hc-500101", "health", "500101000000", ("H9",), "doctor", "read:identity"),
    "auditor": ("aud-500101", "auditor", "500101000000", (), "auditor", "read:identity"),
    "civil": ("ca-500101", "civil_affairs", "500101000000", (), "caseworker", "read:identity"),
}


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    settings: Settings
    credentials: dict[str, tuple[str, str]]

    def gql(
        self,
        who: str,
        query: str,
        variables: dict | None = None,
        purpose: str | None = "case_work",
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.tokens[who]}"}
        if purpose:
            headers["X-Purpose-Of-Use"] = purpose
        return self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )


def serve(tmp_path: Path, **overrides: object) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256, **overrides)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
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
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        tokens = {}
        for key, (cid, secret) in secrets.items():
            r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
            assert r.status_code == 200, r.text
            tokens[key] = r.json()["access_token"]
        yield Api(client, tokens, settings, secrets)
