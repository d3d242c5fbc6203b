"""The clinic sees its patients (issue 10, class 10): a health record synced from FHIR names its
facility by the code the clinic agency is registered with, so the patient scope matches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.settings import Settings
from tests import test_connectors_support as support
from tests.api_fixtures import Api, start_app
from tests.test_connectors_support import Stores

county = support.county  # the shared generated county (2,000 people), session-scoped

PERSON = "query($id: ID!) { person(id: $id) { id healthEvents { facility } } }"


@pytest.fixture(scope="module")
def synced(county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, str, str, str]]:
    root = tmp_path_factory.mktemp("clinic") / "data"
    stores = Stores(root)
    stores.pipeline(county).sync()
    facilities = support.read_csv(county / "reference" / "facilities.csv")
    patient = other = code = ""
    for f in facilities:
        events = stores.graph.find("HealthEvent", "facility", [f["facility_id"]], limit=5)
        if events:
            code = f["facility_id"]
            sub = stores.graph.neighbourhood(events[0].id, 1)
            patient = next(n for n in sub.nodes if n.startswith("person:"))
            break
    # Someone with no health record at that facility (and so outside the clinic's scope).
    for f in facilities:
        if f["facility_id"] != code:
            events = stores.graph.find("HealthEvent", "facility", [f["facility_id"]], limit=5)
            for e in events:
                sub = stores.graph.neighbourhood(e.id, 1)
                other = next(n for n in sub.nodes if n.startswith("person:"))
            if other:
                break
    stores.close()
    assert code and patient and other
    clinic = ("hc-clinic", "health", "500101000000", (code,), "doctor", "read:identity read:health")
    settings = Settings(data_dir=root, graph_buffer_pool_mb=256)  # type: ignore[call-arg]
    for client, tokens, secrets in start_app(settings, {"clinic": clinic}):
        yield Api(client, tokens, settings, secrets), code, patient, other


def test_health_events_name_the_facility_by_its_code(synced: tuple[Api, str, str, str]) -> None:
    api, code, patient, _ = synced
    body = api.gql("clinic", PERSON, {"id": patient}, purpose="medical_care").json()
    assert not body.get("errors"), body
    assert body["data"]["person"]["id"] == patient
    assert code in {e["facility"] for e in body["data"]["person"]["healthEvents"]}


def test_the_clinic_does_not_see_other_facilities_patients(synced: tuple[Api, str, str, str]) -> None:
    api, _, patient, other = synced
    if other == patient:
        pytest.skip("the fixture's two facilities share this patient")
    body = api.gql("clinic", PERSON, {"id": other}, purpose="medical_care").json()
    assert body["data"]["person"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
