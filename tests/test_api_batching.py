"""A profile is a bounded number of graph reads, however many fields and relatives it asks for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_fixtures import Api, serve

SMALL = '{ person(id: "person:child") { name } }'
FULL = """{ person(id: "person:child") {
  name birthDate sex
  household { householdNumber members { relationToHead person { id name } } }
  parents { role sources { system } person { id name worksAway household { householdNumber } } }
  guardians { kind person { id name wards { kind person { id name } } } }
  children { person { id } }
  enrolments { grade school { name } }
  visits { visitedOn } cases { status } healthEvents { kind } educationEvents { kind }
  sources { system } conflicts { attribute } } }"""


class CountingStore:
    """Delegates to the real store and counts the calls that reach it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if callable(attr):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attr(*args, **kwargs)

            return counted
        return attr


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("batching"))


def _calls(api: Api, query: str) -> Counter[str]:
    endpoint = next(r for r in api.client.app.routes if r.path == "/graphql").endpoint.__self__  # type: ignore[attr-defined]
    real = endpoint.store
    endpoint.store = counting = CountingStore(real)
    try:
        body = api.gql("police", query).json()
    finally:
        endpoint.store = real
    assert "errors" not in body, body
    return counting.calls


def test_a_whole_profile_costs_as_many_graph_reads_as_a_name(api: Api) -> None:
    small, full = _calls(api, SMALL), _calls(api, FULL)
    assert small == {"neighbourhood": 1}
    # The full profile walks to relatives at the edge of the first read (the granny's wards,
    # the parents' households), each of which is one more read of that person's own profile;
    # the number depends on the people reached, never on the fields or list sizes asked for.
    assert full["neighbourhood"] == 1
    assert set(full) == {"neighbourhood"}
