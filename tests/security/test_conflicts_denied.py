"""A person's `conflicts` (attributes on which sources disagree) for a caller that may not read some
of those attributes.

That sources disagree about an attribute says that a source holds a value for it (a disability, a
parent's migrant work): to a caller that may not read the attribute, a conflict on it must read as
no conflict at all. It made the whole `conflicts` field FORBIDDEN instead, for that person only, so
the error told the caller which people have such a value on record (and hid the conflicts it may see).

The family's county with the village survey disagreeing with the household register on the child's
birth date and on whether the mother works away; the father has no conflict. A village committee
(provenance denied) must not learn of either; civil affairs (provenance allowed) reads them. (A
conflict on an attribute whose own class is denied to a caller that may read provenance is left out
the same way; no role of the default policy is such a caller.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from graph.port import GraphStore
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, Api, start_app
from tests.contract.test_graph_store import SURVEY, family, person

CONFLICTS = "query($id: ID!) { person(id: $id) { conflicts { attribute values } } }"


def _disagreeing(store: GraphStore) -> None:
    family(store)
    store.upsert_nodes(
        [person("child", SURVEY, birth_date="2015-01-03"), person("mother", SURVEY, works_away=False)]
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("conflicts") / "data", graph_buffer_pool_mb=256, webhook_worker=False
    )
    for client, tokens, secrets in start_app(settings, AGENCIES, _disagreeing):
        yield Api(client, tokens, settings, secrets)


def _answer(api: Api, who: str, person_id: str) -> str:
    body = api.gql(who, CONFLICTS, {"id": person_id}).json()
    return json.dumps(body, sort_keys=True, ensure_ascii=False).replace(person_id, "{id}")


def test_a_conflict_the_caller_may_not_read_reads_as_none(api: Api) -> None:
    for person_id in ("person:mother", "person:child"):
        assert _answer(api, "village", person_id) == _answer(api, "village", "person:father")
    body = api.gql("village", CONFLICTS, {"id": "person:father"}).json()
    assert body == {"data": {"person": {"conflicts": []}}}, body


def test_a_conflict_the_caller_may_read_is_listed(api: Api) -> None:
    body = api.gql("civil", CONFLICTS, {"id": "person:child"}).json()
    assert not body.get("errors"), body
    (conflict,) = body["data"]["person"]["conflicts"]
    assert conflict["attribute"] == "birthDate" and sorted(conflict["values"]) == ["2015-01-03", "2015-03-01"]
