"""A small county for the field-layer tests: the contract family, plus seeded children whose
facts are the ones the leaks were found on (an ICD-10 diagnosis, a graded disability, an ID
number beside a full birth date). Synthetic people only (tests.screening_support.Families)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from connectors.idnumber import make_id_number
from graph.port import GraphStore
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, Api, start_app
from tests.contract.test_graph_store import COUNTY, VILLAGE, family
from tests.screening_support import Families, away

SEED = 1012
BIRTH = "2015-03-01"
ID_NUMBER = make_id_number("500101", date(2015, 3, 1), 429)
DIAGNOSIS = "Q21.0"
DISABILITY = "multiple-3"
RECOMPUTE = "mutation($d: String!) { recomputeClassification(division: $d) { children } }"

# The ids of the seeded children, filled by populate (a module-scoped fixture runs it once).
PEOPLE: dict[str, str] = {}


def populate(store: GraphStore) -> None:
    family(store)
    fam = Families(store, seed=SEED)
    PEOPLE["ill"] = fam.child(
        VILLAGE,
        father=away(),
        mother=away(),
        birth_date=BIRTH,
        id_number=ID_NUMBER,
        disability=DISABILITY,
    )
    fam.event(
        PEOPLE["ill"], "HealthEvent", {"kind": "condition", "icd10": DIAGNOSIS, "occurred_on": "2026-01-05"}
    )
    # Seven more left-behind children: a category of 8 passes k=5, the one disabled child does not.
    for i in range(7):
        PEOPLE[f"lb{i}"] = fam.child(VILLAGE, father=away(), mother=away())


def serve_county(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256)  # type: ignore[call-arg]
    for client, tokens, secrets in start_app(settings, AGENCIES, populate):
        api = Api(client, tokens, settings, secrets)
        r = api.gql("civil", RECOMPUTE, {"d": COUNTY})
        assert not r.json().get("errors"), r.json()
        yield api
