"""Class 3 for workflow ids while the graph store cannot answer (closed, or reopening).

Whether a caller may see a case or a report is decided on the graph (is the child in its row
scope?), but whether the id exists is a row in the relational store. While the graph is
unavailable a case or report that exists cannot be judged, and is answered UNAVAILABLE; one that
does not exist was answered NOT_FOUND from the relational store alone, so the difference told any
caller which ids exist. Both must get the same answer to the byte, and an agency that takes part
in the case still reads it (no graph read needed for that).

The village committee of the family's village files a report; the store is then closed (as at
shutdown), and the second village's committee and another county's police name the case and the
report.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_fixtures import Api, serve
from tests.security.support import answered_alike

FILE = """mutation($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"""
CASE = "query($id: ID!) { protectionCase(id: $id) { id status } }"
ACCEPT = "mutation($id: ID!) { acceptReport(reportId: $id) { id status } }"
ACKNOWLEDGE = "mutation($id: ID!) { acknowledgeReport(reportId: $id) { id status } }"
PETITION = (
    'mutation($id: ID!) { petitionCourt(input: {caseId: $id, guardianId: "person:granny", '
    'grounds: ["abuse_serious_harm"]}) { id } }'
)


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, str]]]:
    """The served county with one filed report, then its graph store closed."""
    for api in serve(tmp_path_factory.mktemp("ids-unavailable"), webhook_worker=False):
        r = api.gql(
            "village",
            FILE,
            {"input": {"childId": "person:child", "situation": "MISSING", "summary": "放学未归"}},
        )
        body = r.json()
        assert not body.get("errors"), body
        api.client.app.state.graph.close()  # type: ignore[attr-defined]
        yield api, body["data"]["fileMandatoryReport"]


def _unavailable(api: Api, who: str, document: str, sent: str) -> None:
    body = api.gql(who, document, {"id": sent}).json()
    assert [e["extensions"]["code"] for e in body.get("errors", [])] == ["UNAVAILABLE"], body


@pytest.mark.parametrize(
    ("who", "document", "key", "absent"),
    [
        ("village2", CASE, "caseId", "case-0000000000000000"),
        ("village2", PETITION, "caseId", "case-0000000000000000"),
        ("police2", ACCEPT, "id", "rpt-0000000000000000"),
        ("police2", ACKNOWLEDGE, "id", "rpt-0000000000000000"),
    ],
    ids=["protectionCase", "petitionCourt", "acceptReport", "acknowledgeReport"],
)
def test_an_id_is_answered_alike_whether_it_exists_or_not(
    closed: tuple[Api, dict[str, str]], who: str, document: str, key: str, absent: str
) -> None:
    api, filed = closed
    answered_alike(api, who, document, [filed[key], absent], named=None)
    _unavailable(api, who, document, absent)  # not NOT_FOUND: the graph could not be asked


def test_a_party_to_the_case_still_reads_it(closed: tuple[Api, dict[str, str]]) -> None:
    api, filed = closed
    body = api.gql("village", CASE, {"id": filed["caseId"]}).json()  # the reporter
    assert not body.get("errors") and body["data"]["protectionCase"]["id"] == filed["caseId"], body


def test_the_people_a_step_names_are_not_called_absent(closed: tuple[Api, dict[str, str]]) -> None:
    """The existence check of the people a workflow step names (run once the step's own checks
    passed) says UNAVAILABLE, not "a person named is not in the register", while the store is closed."""
    from types import SimpleNamespace

    from graphql import GraphQLError

    from protection.workflow_graphql import people

    api, _ = closed
    info = SimpleNamespace(context=SimpleNamespace(store=api.client.app.state.graph))  # type: ignore[attr-defined]
    with pytest.raises(GraphQLError) as refused:
        people(info, "person:granny")  # type: ignore[arg-type]
    assert (refused.value.extensions or {}).get("code") == "UNAVAILABLE", refused.value
