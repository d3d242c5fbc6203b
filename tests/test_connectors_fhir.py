"""The health connector against a real FHIR server on loopback: REST search, ``_lastUpdated`` paging.

The server is built with ``fhirstarter`` (FastAPI, FHIR R4B models from ``fhir.resources``)
and run by uvicorn on 127.0.0.1. It holds the county's health resources the way a
hospital's server would: each resource validated against R4B when stored (a real
server refuses an impossible birth date at write time, so those never reach us), and
references stored as ``Patient/<id>``. Search supports ``_lastUpdated`` with ge/gt/le/lt,
``_sort=_lastUpdated`` and ``_count``, with ``link[next]`` pages.
"""

# No `from __future__ import annotations`: fhirstarter reads the handlers' annotations as objects.

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("FHIR_SEQUENCE", "R4B")

fhirstarter = pytest.importorskip("fhirstarter")
pytest.importorskip("fhir.resources.R4B")

import uvicorn  # noqa: E402
from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.condition import Condition  # noqa: E402
from fhir.resources.R4B.encounter import Encounter  # noqa: E402
from fhir.resources.R4B.observation import Observation  # noqa: E402
from fhir.resources.R4B.patient import Patient  # noqa: E402
from fhir.resources.R4B.relatedperson import RelatedPerson  # noqa: E402
from fhirstarter import FHIRProvider, FHIRStarter, InteractionContext  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from connectors.pipeline import Pipeline  # noqa: E402
from connectors.sources import load_config  # noqa: E402
from connectors.sources.health import _bundle_entries, _instant  # noqa: E402
from tests import test_connectors_support as support  # noqa: E402
from tests.test_connectors_support import Stores  # noqa: E402

# The shared fixtures, made visible to pytest in this module.
county = support.county
stores = support.stores

MODELS: dict[str, Any] = {
    "Patient": Patient,
    "RelatedPerson": RelatedPerson,
    "Encounter": Encounter,
    "Condition": Condition,
    "Observation": Observation,
}
PAGE = 40


class Store:
    """The server's database: resources by type, as a hospital system would hold them."""

    def __init__(self) -> None:
        self.by_type: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in MODELS}
        self.refused: list[str] = []
        self.requests: list[str] = []

    def put(self, resource: dict[str, Any]) -> bool:
        rtype = resource["resourceType"]
        text = json.dumps(resource).replace('"urn:uuid:', '"Patient/')  # stored references
        stored = json.loads(text)
        try:
            MODELS[rtype].model_validate(stored)
        except ValidationError:
            self.refused.append(f"{rtype}/{resource.get('id')}")
            return False
        self.by_type[rtype][stored["id"]] = stored
        return True


def _matches(updated: str, conditions: list[str]) -> bool:
    t = _instant(updated)
    for cond in conditions:
        prefix, value = (cond[:2], cond[2:]) if cond[:2] in ("ge", "gt", "le", "lt", "eq") else ("eq", cond)
        v = _instant(value)
        ok = {"ge": t >= v, "gt": t > v, "le": t <= v, "lt": t < v, "eq": t == v}[prefix]
        if not ok:
            return False
    return True


def make_app(store: Store, config: Path) -> FHIRStarter:
    app = FHIRStarter(config_file=config)
    provider = FHIRProvider()

    def register(rtype: str) -> None:
        model = MODELS[rtype]

        async def search(
            context: InteractionContext,
            _last_updated: list[str] | None,
            _count: str | None,
            _sort: str | None,
            page: str | None,
        ) -> Bundle:
            store.requests.append(str(context.request.url))
            items = [
                r
                for r in store.by_type[rtype].values()
                if _matches(r["meta"]["lastUpdated"], _last_updated or [])
            ]
            items.sort(key=lambda r: (_instant(r["meta"]["lastUpdated"]), r["id"]))
            size = int(_count or PAGE)
            start = int(page or 0)
            chunk = items[start : start + size]
            links = [{"relation": "self", "url": str(context.request.url)}]
            if start + size < len(items):
                params = dict(context.request.query_params)
                params["page"] = str(start + size)
                query = "&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B")
                links.append({"relation": "next", "url": f"{context.request.base_url}{rtype}?{query}"})
            return Bundle(
                type="searchset",
                total=len(items),
                link=links,
                entry=[
                    {"fullUrl": f"{context.request.base_url}{rtype}/{r['id']}", "resource": r} for r in chunk
                ]
                or None,
            )

        search.__annotations__["return"] = Bundle
        provider.search_type(model)(search)

    for rtype in MODELS:
        register(rtype)
    app.add_providers(provider)
    return app


@pytest.fixture
def fhir_server(county: Path, tmp_path: Path) -> Iterator[tuple[str, Store]]:
    config = tmp_path / "fhir.toml"
    config.write_text(
        "".join(
            f'[search-parameters.{t}.page]\ntype = "string"\ndescription = "page offset"\n'
            f'uri = "https://shouhu.invalid/page"\ninclude-in-capability-statement = false\n\n'
            for t in MODELS
        )
    )
    store = Store()
    for path in sorted((county / "health").glob("*.json")):
        for _, entry in _bundle_entries(path.read_bytes()):
            store.put(entry["resource"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            make_app(store, config), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "FHIR server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _rest_pipeline(stores: Stores, url: str) -> Pipeline:
    (stores.root / "connectors.toml").write_text(f'[sources.health]\nurl = "{url}"\npage_size = {PAGE}\n')
    cfg = load_config(stores.root)
    return Pipeline(stores.engine, stores.graph, cfg)


def test_rest_sync_reads_every_stored_resource_through_pages(
    fhir_server: tuple[str, Store], stores: Stores, county: Path
) -> None:
    url, store = fhir_server
    served = sum(len(v) for v in store.by_type.values())
    assert served > 1000 and store.refused  # the impossible birth dates were refused at write

    report = _rest_pipeline(stores, url).sync(["health"])
    s = report.sources[0]
    assert s.status == "completed", s.error
    assert s.received == served and s.unexplained == 0
    assert len(store.requests) > served // PAGE  # it paged
    assert any("page=" in r for r in store.requests)

    # The same records as reading the Bundle files, less what the server refused.
    files = Stores(stores.root.parent / "files")
    try:
        files.pipeline(county).sync(["health"])
        with files.engine.connect() as c1, stores.engine.connect() as c2:
            q = "SELECT record_id, status, reason_code FROM landing_record WHERE source = 'health'"
            from_files = {r[0]: (r[1], r[2]) for r in c1.exec_driver_sql(q)}
            from_rest = {r[0]: (r[1], r[2]) for r in c2.exec_driver_sql(q)}
    finally:
        files.close()
    assert set(from_rest) == set(from_files) - set(store.refused)
    differ = {k for k in from_rest if from_rest[k] != from_files[k]}
    # Only the events of a refused Patient differ (unresolved on both, or loaded nowhere).
    assert all(from_rest[k][1] == "reference.unresolved" for k in differ)
    assert stores.graph.stats()["nodes"]["HealthEvent"] > 500


def test_rest_sync_is_incremental_by_last_updated(fhir_server: tuple[str, Store], stores: Stores) -> None:
    url, store = fhir_server
    first = _rest_pipeline(stores, url).sync(["health"]).sources[0]
    assert first.loaded > 0
    store.requests.clear()

    again = _rest_pipeline(stores, url).sync(["health"]).sources[0]
    # Only resources at the boundary instant of each type are read again, and recognised.
    assert again.loaded == 0 and again.received == again.unchanged and again.unexplained == 0
    assert again.received < 50
    assert all("_lastUpdated=ge" in r for r in store.requests if "page=" not in r)

    # A new visit arrives: a Patient and an Encounter updated after everything else.
    patient = {
        "resourceType": "Patient",
        "id": "new-patient-1",
        "meta": {"lastUpdated": "2030-01-01T09:00:00+08:00"},
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "500248202301010015"}],
        "name": [{"text": "李新来"}],
        "gender": "female",
        "birthDate": "2023-01-01",
    }
    encounter = {
        "resourceType": "Encounter",
        "id": "new-encounter-1",
        "meta": {"lastUpdated": "2030-01-01T10:00:00+08:00"},
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"text": "门诊"}],
        "subject": {"reference": "Patient/new-patient-1"},
        "period": {"start": "2030-01-01T09:30:00+08:00"},
    }
    assert store.put(patient) and store.put(encounter)
    third = _rest_pipeline(stores, url).sync(["health"]).sources[0]
    assert third.loaded == 2 and third.unexplained == 0
    assert third.received - third.unchanged == 2
    child = stores.graph.find("Person", "id_number", ["500248202301010015"])
    assert len(child) == 1
    sub = stores.graph.neighbourhood(child[0].id, 1, ["CONCERNS"])
    assert "healthevent:new-encounter-1" in sub.nodes
