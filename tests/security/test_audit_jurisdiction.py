"""The audit log answers an auditor for its own jurisdiction. An auditor (and a civil-affairs
director, the other holder of read_audit_log) reviews who saw which child in the area it audits: the
accesses of the agencies of that area, and every access to a child of that area. Before, the
county's auditor read the whole platform's log: which child of another county that county's police
looked up (its record id), what fields, and that county's refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.port import GraphStore
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, Api, serve, start_app
from tests.contract.test_graph_store import family
from tests.screening_support import Families, away

OTHER_VILLAGE = "500102001001"  # a village of the next county, which police2 serves
PEOPLE: dict[str, str] = {}
PERSON = "query($id: ID!) { person(id: $id) { id name } }"
PAGE = "entries { agencyId records operation decision }"


def populate(store: GraphStore) -> None:
    family(store)
    PEOPLE["other"] = Families(store, seed=2024).child(OTHER_VILLAGE, father=away(), mother=away())
    # Another child of the next county, for an agency of this area to be refused on: an attempt of
    # the auditor's own agencies is the auditor's to see, so it must not be on "other" (the tests
    # run in any order).
    PEOPLE["refused"] = Families(store, seed=2025).child(OTHER_VILLAGE, father=away(), mother=away())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("audit_juris") / "data", graph_buffer_pool_mb=256)  # type: ignore[call-arg]
    for client, tokens, secrets in start_app(settings, AGENCIES, populate):
        api = Api(client, tokens, settings, secrets)
        # The next county's police read their own child, and fail to read one of this county.
        r = api.gql("police2", PERSON, {"id": PEOPLE["other"]})
        assert r.json()["data"]["person"]["id"] == PEOPLE["other"], r.json()
        r = api.gql("police2", PERSON, {"id": "person:child"})
        assert r.json()["data"]["person"] is None
        yield api


def _audit(api: Api, field: str, args: str = "") -> dict:
    body = api.gql("auditor", f"{{ {field}{args} {{ {PAGE} }} }}", purpose="audit").json()
    return body


def _named(body: dict, field: str) -> set[str]:
    data = body.get("data") or {}
    page = data.get(field) or {"entries": []}
    return {r for e in page["entries"] for r in e["records"]}


def test_another_countys_accesses_are_not_the_auditors(api: Api) -> None:
    other = PEOPLE["other"]
    by_agency = _audit(api, "auditAccessesByAgency", '(agencyId: "ps-500102")')
    assert other not in _named(by_agency, "auditAccessesByAgency"), by_agency
    to_record = _audit(api, "auditAccessesToRecord", f'(recordId: "{other}")')
    assert other not in _named(to_record, "auditAccessesToRecord"), to_record
    # Out of the area and absent: one answer.
    assert _audit(api, "auditAccessesToRecord", '(recordId: "person:nobody")') == to_record


def test_an_access_to_a_child_of_the_area_is_the_auditors(api: Api) -> None:
    """The next county's police refused on this county's child: the auditor sees it on the child."""
    to_record = _audit(api, "auditAccessesToRecord", '(recordId: "person:child")')
    agencies = {e["agencyId"] for e in to_record["data"]["auditAccessesToRecord"]["entries"]}
    assert "ps-500102" in agencies, to_record


def test_refusals_in_another_county_are_not_the_auditors(api: Api) -> None:
    r = api.gql("police2", PERSON, {"id": "person:nobody-here"})
    assert r.status_code == 200
    api.gql("village2", PERSON, {"id": PEOPLE["refused"]})  # an agency of the area, refused
    denied = _audit(api, "auditDeniedAttempts", "(first: 200)")
    assert "person:nobody-here" not in _named(denied, "auditDeniedAttempts"), denied
    assert PEOPLE["refused"] in _named(denied, "auditDeniedAttempts")  # the area's own refusals stay


def test_another_countys_entry_on_a_child_of_the_area_names_that_child_only(api: Api) -> None:
    """The next county's police read their own child and tried this county's in one request: the
    auditor sees the attempt on its child, not which child of the other county was read with it."""
    both = 'query($id: ID!) { a: person(id: "person:child") { id } b: person(id: $id) { id } }'
    api.gql("police2", both, {"id": PEOPLE["other"]})
    page = _audit(api, "auditAccessesToRecord", '(recordId: "person:child")')
    entries = page["data"]["auditAccessesToRecord"]["entries"]
    assert any(e["agencyId"] == "ps-500102" for e in entries), page
    assert PEOPLE["other"] not in _named(page, "auditAccessesToRecord"), page


def test_the_log_answers_the_auditor_while_the_graph_is_closed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Whether a child is in the auditor's area is asked of the graph; closed, the log still answers
    (the area's own entries), as it did before the area was asked."""
    for api in serve(tmp_path_factory.mktemp("audit_closed"), webhook_worker=False):
        api.gql("police", '{ person(id: "person:child") { id } }')
        api.client.app.state.graph.close()  # type: ignore[attr-defined]
        body = _audit(api, "auditAccessesToRecord", '(recordId: "person:child")')
        assert not body.get("errors"), body
        assert "ps-500101" in {e["agencyId"] for e in body["data"]["auditAccessesToRecord"]["entries"]}
