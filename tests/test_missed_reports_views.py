"""Missed reports as each caller may read the events they rest on, and the children whose age
cannot be computed.

The hospital and the day of an injury visit are health facts (HealthEvent.facility and
HealthEvent.occurred_on, class health): a role that reads health records masked must get them
masked here too, as the health record shows them, and neither the days since nor the order of the
lines may give back what is masked. A child with no birth date cannot be ruled out by age: listed
and flagged for checking, not dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from auth.policy import DEFAULT_PATH
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from kernel.messages import say
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE, person

MISSED = """query M { missedReports {
  kind eventId childId institution occurredOn daysSince birthDateUnknown note } }"""
HEALTH = '{ person(id: "person:hurt") { healthEvents { facility occurredOn } } }'
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # noon in Beijing, 1 December
# Two injury visits of one child: the earlier at H9, the later at H1 (named so that ordering by the
# hospital and by the event id disagree).
VISITS = {"healthevent:enc-a": ("H9", "2026-11-01"), "healthevent:enc-b": ("H1", "2026-11-21")}


def populate(store: GraphStore) -> None:
    """Two injury visits of a child, and a visit that found a child with no birth date alone."""
    src = Assertion("health", "ENC-A", datetime(2026, 11, 21, 1))
    survey = Assertion("survey", "V-U", src.at)
    store.upsert_nodes(
        [
            person("hurt", name="甲寅", birth_date="2016-05-01", sex="M", hukou_type="rural"),
            # Registered without a birth date (a survey record that never gave one).
            person("undated", name="甲卯", sex="F", hukou_type="rural"),
        ]
        + [
            NodeRecord(
                eid,
                {
                    "kind": "encounter",
                    "icd10": "S52.5",
                    "occurred_on": on,
                    "facility": facility,
                    "division": VILLAGE,
                },
                src,
            )
            for eid, (facility, on) in VISITS.items()
        ]
        + [
            NodeRecord(
                "visit:v-u",
                {
                    "visited_on": "2026-11-20",
                    "visitor": "vc-500101001001",
                    "findings": "living_alone",
                    "division": VILLAGE,
                },
                survey,
            )
        ]
    )
    store.upsert_rels(
        [RelRecord("CONCERNS", eid, "person:hurt", {}, src) for eid in VISITS]
        + [RelRecord("CONCERNS", "visit:v-u", "person:undated", {}, survey)]
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    for a in serve(tmp_path_factory.mktemp("missed-views"), webhook_worker=False):
        populate(a.client.app.state.graph)  # type: ignore[attr-defined]
        yield a


@pytest.fixture(scope="module")
def village_reads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A policy that also gives village committees (health: deny) the accountability list."""
    tmp = tmp_path_factory.mktemp("missed-village")
    policy_file = tmp / "policy.toml"
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[capabilities.read_accountability]\n")
    assert sep
    policy_file.write_text(head + sep + 'village_committee = ["*"]\n' + rest, encoding="utf-8")
    for a in serve(tmp, webhook_worker=False, policy_file=policy_file):
        populate(a.client.app.state.graph)  # type: ignore[attr-defined]
        yield a


def missed(api: Api, who: str) -> list[dict[str, Any]]:
    with clock.pinned(NOW):
        body = api.gql(who, MISSED).json()
    assert not body.get("errors"), body
    return list(body["data"]["missedReports"])


def test_a_role_that_reads_health_masked_gets_no_hospital_and_no_day(api: Api) -> None:
    """missedReports gave the auditor (health: mask) the hospital and the exact day of each injury
    visit, which its health-record reads show as "***" and a year; the county civil-affairs
    supervisor (health: allow) still sees them in full."""
    full = {m["eventId"]: m for m in missed(api, "county") if m["kind"] == "injury_encounter"}
    assert {e: (m["institution"], m["occurredOn"], m["daysSince"]) for e, m in full.items()} == {
        "healthevent:enc-a": ("H9", "2026-11-01", 30),
        "healthevent:enc-b": ("H1", "2026-11-21", 10),
    }
    masked = [m for m in missed(api, "auditor") if m["kind"] == "injury_encounter"]
    assert [(m["institution"], m["occurredOn"], m["daysSince"]) for m in masked] == [
        ("***", "2026", None)
    ] * 2
    # The order is decided by what the auditor is shown (then the ids), not by the hospital or the
    # day: both would sort enc-b (H1, the later visit) apart from enc-a.
    assert [m["eventId"] for m in masked] == ["healthevent:enc-a", "healthevent:enc-b"]
    # As the health record itself is shown to the auditor.
    body = api.gql("auditor", HEALTH).json()
    assert not body.get("errors"), body
    assert body["data"]["person"]["healthEvents"] == [{"facility": "***", "occurredOn": "2026"}] * 2


def test_a_child_without_a_birth_date_is_listed_to_be_checked(api: Api) -> None:
    """chongqing-2016-implementation-opinions.txt: "不得让不满十六周岁的儿童脱离监护单独居住生活".
    The visit found a child living alone whose birth date the platform does not have; the age line
    could not be checked and the child dropped out of the list: nobody was asked to report or to
    find out the child's age."""
    lines = {m["childId"]: m for m in missed(api, "county") if m["kind"] == "living_alone_unreported"}
    assert set(lines) == {"person:undated"}
    assert lines["person:undated"]["birthDateUnknown"] is True
    assert lines["person:undated"]["note"] == say("screening.birth_date_unknown")
    assert say("screening.birth_date_unknown").startswith("出生日期不详")
    # A child whose age is known carries no such flag.
    assert all(
        m["birthDateUnknown"] is False and m["note"] is None
        for m in missed(api, "county")
        if m["childId"] == "person:hurt"
    )


def test_a_role_refused_health_records_is_not_told_of_the_injury(village_reads: Api) -> None:
    """A village committee may not read health records at all (health: deny): given the list, it
    would learn from an injury line that the child was treated for an injury. The lines resting on
    a health event are left out whole, as a denied list leaves out its records; the visit's line,
    which it may read, stays."""
    lines = missed(village_reads, "village")
    assert [(m["kind"], m["childId"]) for m in lines] == [("living_alone_unreported", "person:undated")]
