"""A small synthetic county served by the real app, with agencies that each get real tokens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from auth.identities import add_agency, add_client
from graph.factory import open_graph
from graph.ladybug import LadybugStore
from graph.port import GraphStore
from kernel.db import make_engine, migrate
from kernel.settings import Settings
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
    # Protection workflows: the township notified by the police, the court petitioned, and the
    # police of another county (a wrong agency for this child's reports).
    "township": ("tw-500101001", "township", TOWN, (), "caseworker", "read:identity"),
    "court": ("court-500101", "court", "500101000000", (), "judge", "read:identity"),
    "police2": ("ps-500102", "public_security", "500102000000", (), "officer", "read:identity"),
    # The reporting chain: the second township's caseworker and the county civil-affairs supervisor.
    "township2": ("tw-500101002", "township", "500101002000", (), "caseworker", "read:identity"),
    "county": ("ca-500101-sup", "civil_affairs", "500101000000", (), "supervisor", "read:identity"),
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


AgencySpec = tuple[str, str, str, tuple[str, ...], str, str]
"""(agency id, type, jurisdiction, institutions, role, scopes), as in AGENCIES."""


def register(
    settings: Settings,
    agencies: Mapping[str, AgencySpec],
    populate: Callable[[GraphStore], None] | None = None,
) -> dict[str, tuple[str, str]]:
    """Stores under ``settings.data_dir``: the graph populated and each agency registered with a
    client. Returns each agency's (client id, secret)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sql_url)
    migrate(engine)
    if populate is not None:
        store = open_graph(settings)
        populate(store)
        store.close()
    secrets = {}
    for key, (aid, atype, juris, inst, role, scopes) in agencies.items():
        add_agency(
            engine, agency_id=aid, name=key, agency_type=atype, jurisdiction=juris, institution_codes=inst
        )
        secrets[key] = add_client(engine, agency_id=aid, role=role, scopes=scopes, name=f"{key} system")
    engine.dispose()
    return secrets


def start_app(
    settings: Settings,
    agencies: Mapping[str, AgencySpec],
    populate: Callable[[GraphStore], None] | None = None,
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, tuple[str, str]]]]:
    """The real app over stores made by :func:`register`, with a token issued to each agency by the
    token endpoint. Yields (client, tokens, secrets)."""
    secrets = register(settings, agencies, populate)
    with TestClient(create_app(settings)) as client:
        tokens = {}
        for key, (cid, secret) in secrets.items():
            r = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
            assert r.status_code == 200, r.text
            tokens[key] = r.json()["access_token"]
        yield client, tokens, secrets


def serve(tmp_path: Path, **overrides: object) -> Iterator[Api]:
    options: dict[str, object] = {"graph_buffer_pool_mb": 256, **overrides}
    settings = Settings(data_dir=tmp_path / "data", **options)  # type: ignore[arg-type]
    for client, tokens, secrets in start_app(settings, AGENCIES, family):
        yield Api(client, tokens, settings, secrets)


def serve_populated(
    tmp_path_factory: pytest.TempPathFactory, name: str, populate: Callable[[LadybugStore], None]
) -> Iterator[Api]:
    """The app over a graph ``populate`` wrote first (``serve`` adds the standard family to it)."""
    tmp = tmp_path_factory.mktemp(name)
    (tmp / "data").mkdir()
    store = LadybugStore(tmp / "data" / "graph.lbug", 256)
    try:
        store.init_schema()
        populate(store)
    finally:
        store.close()
    yield from serve(tmp)


@contextmanager
def graph_writer_held(store: GraphStore, hold: float = 60) -> Iterator[None]:
    """The graph's writer held by another thread, as a first load's build holds it while it makes a
    new file (`replaced_while_serving`), until the block ends (or ``hold`` seconds pass)."""
    holding, release = threading.Event(), threading.Event()

    def build() -> None:
        holding.set()
        release.wait(hold)

    builder = threading.Thread(target=lambda: store.replaced_while_serving(build))  # type: ignore[attr-defined]
    builder.start()
    try:
        assert holding.wait(30), "the writer was not taken"
        yield
    finally:
        release.set()
        builder.join(60)
