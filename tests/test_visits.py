"""Screening visits through the API: recorded, replayed safely, conflicts reported and resolved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from kernel import clock
from kernel.messages import say
from tests.api_fixtures import Api, serve
from tests.contract.test_graph_store import VILLAGE
from tests.screening_support import data, error, store_of

RECORD = """mutation($in: VisitInput!) { recordVisit(input: $in) {
  status record { version findings livingArrangement notes visitedOn }
  visit { clientId version findings visitor }
  conflict { id status mine { version findings notes } theirs { version findings notes } } } }"""
STATE = "query($id: ID!) { childVisitRecord(personId: $id) { version findings livingArrangement notes } }"
HISTORY = "query($id: ID!) { visitHistory(personId: $id) { clientId version findings } }"
CONFLICTS = """query($d: String!) { visitConflicts(division: $d) {
  id clientId status mine { version } theirs { version } } }"""
RESOLVE = """mutation($id: Int!, $choice: ConflictChoice!, $merged: VisitFieldsInput) {
  resolveVisitConflict(conflictId: $id, choice: $choice, merged: $merged) {
    status record { version findings notes } conflict { status resolution } } }"""
SCHEDULE = """query($d: String!, $y: Int) { visitSchedule(division: $d, year: $y) {
  division childrenOfConcern rounds { kind start end due visited } } }"""
WORKLIST = "query($d: String!) { worklist(division: $d) { entries { personId rules } } }"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("visits"))


def visit(client_id: str, base: int, **over: object) -> dict:
    v = {
        "clientId": client_id,
        "personId": "person:child",
        "visitedOn": (clock.today() - timedelta(days=1)).isoformat(),
        "findings": ["living_alone", "no_contact_with_parents"],
        "livingArrangement": "alone",
        "notes": "祖母住院，儿童独自在家",
        "baseVersion": base,
    }
    v.update(over)
    return v


def test_visit_lifecycle_offline_replay_and_conflict(api: Api) -> None:
    assert data(api.gql("village", STATE, {"id": "person:child"}))["childVisitRecord"]["version"] == 0

    # 1. A supervisor's phone sends a visit made against version 0.
    first = data(api.gql("village", RECORD, {"in": visit("phone-a-0001", 0)}))["recordVisit"]
    assert first["status"] == "RECORDED"
    assert first["record"]["version"] == 1 and first["visit"]["version"] == 1
    assert first["record"]["findings"] == ["living_alone", "no_contact_with_parents"]

    # The visit is in the graph: a Visit node CONCERNS the child, findings as a string.
    node = store_of(api).get_node("visit:app-phone-a-0001")
    assert node is not None and node.props["findings"] == "living_alone,no_contact_with_parents"
    assert node.props["division"] == VILLAGE
    sub = store_of(api).neighbourhood("visit:app-phone-a-0001", 1, ["CONCERNS"])
    assert "person:child" in sub.nodes

    # 2. The offline queue resends it: the same outcome, nothing duplicated.
    again = data(api.gql("village", RECORD, {"in": visit("phone-a-0001", 0)}))["recordVisit"]
    assert again["status"] == "DUPLICATE" and again["record"]["version"] == 1
    assert len(data(api.gql("village", HISTORY, {"id": "person:child"}))["visitHistory"]) == 1
    # The same id for a different visit is refused, not merged.
    reused = error(api.gql("village", RECORD, {"in": visit("phone-a-0001", 0, notes="另一条")}))
    assert reused["extensions"] == {"code": "CONFLICT", "reason": "client_id_reused"}

    # 3. A second device, offline since version 0, sends its own entry: a conflict, nothing overwritten.
    stale = visit(
        "phone-b-0001", 0, findings=["guardian_ill"], livingArrangement="with_grandparents", notes="b"
    )
    clash = data(api.gql("village", RECORD, {"in": stale}))["recordVisit"]
    assert clash["status"] == "CONFLICT" and clash["visit"] is None
    c = clash["conflict"]
    assert c["mine"] == {"version": 0, "findings": ["guardian_ill"], "notes": "b"}
    assert c["theirs"]["version"] == 1 and c["theirs"]["findings"] == [
        "living_alone",
        "no_contact_with_parents",
    ]
    state = data(api.gql("village", STATE, {"id": "person:child"}))["childVisitRecord"]
    assert state["version"] == 1 and state["livingArrangement"] == "alone"
    assert store_of(api).get_node("visit:app-phone-b-0001") is None
    # resending the conflicting entry reports the same conflict, not a second one
    assert data(api.gql("village", RECORD, {"in": stale}))["recordVisit"]["conflict"]["id"] == c["id"]
    listed = data(api.gql("village", CONFLICTS, {"d": VILLAGE}))["visitConflicts"]
    assert [x["id"] for x in listed] == [c["id"]]

    # 4. The supervisor merges both sides.
    merged = {"findings": ["living_alone", "guardian_ill"], "notes": "合并：祖母住院"}
    done = data(api.gql("village", RESOLVE, {"id": c["id"], "choice": "MERGE", "merged": merged}))
    r = done["resolveVisitConflict"]
    assert r["status"] == "RECORDED" and r["conflict"] == {"status": "resolved", "resolution": "merge"}
    assert r["record"] == {
        "version": 2,
        "findings": ["guardian_ill", "living_alone"],
        "notes": "合并：祖母住院",
    }
    assert data(api.gql("village", CONFLICTS, {"d": VILLAGE}))["visitConflicts"] == []
    twice = error(api.gql("village", RESOLVE, {"id": c["id"], "choice": "KEEP_MINE"}))
    assert twice["extensions"]["code"] == "INVALID_TRANSITION"
    history = data(api.gql("village", HISTORY, {"id": "person:child"}))["visitHistory"]
    assert [h["version"] for h in history] == [2, 1]

    # 5. A conflict settled by keeping the record as it stands writes nothing.
    late = data(api.gql("village", RECORD, {"in": visit("phone-c-0001", 1, notes="c")}))["recordVisit"]
    assert late["status"] == "CONFLICT"
    kept = data(api.gql("village", RESOLVE, {"id": late["conflict"]["id"], "choice": "KEEP_THEIRS"}))
    assert kept["resolveVisitConflict"]["status"] == "DISCARDED"
    assert data(api.gql("village", STATE, {"id": "person:child"}))["childVisitRecord"]["version"] == 2

    # 6. The visit drives screening at once: the child living alone is on the worklist.
    entries = data(api.gql("village", WORKLIST, {"d": VILLAGE}))["worklist"]["entries"]
    rules = {r for e in entries if e["personId"] == "person:child" for r in e["rules"]}
    assert "living_alone" in rules and "guardian_ill" in rules and "no_recent_visit" not in rules

    # 7. The write is on the audit record, attributed to the village committee.
    audit = """query($r: ID!) { auditAccessesToRecord(recordId: $r) { entries { agencyId operation } } }"""
    entries = data(api.gql("auditor", audit, {"r": "visit:app-phone-a-0001"}))["auditAccessesToRecord"][
        "entries"
    ]
    assert {e["agencyId"] for e in entries} == {"vc-500101001001"}


def test_invalid_and_out_of_scope_visits_write_nothing(api: Api) -> None:
    before = data(api.gql("village", STATE, {"id": "person:child"}))["childVisitRecord"]["version"]
    bad = [
        (visit("bad-1", before, findings=["haunted"]), "finding 的值无效"),
        (visit("bad-2", before, livingArrangement="tent"), "livingArrangement 的值无效"),
        (
            visit("bad-3", before, visitedOn=(clock.today() + timedelta(days=5)).isoformat()),
            say("visit.in_future"),
        ),
        (visit("bad 4", before), "clientId"),
        (visit("bad-5", -1), say("visit.base_version_negative")),
    ]
    for payload, words in bad:
        e = error(api.gql("village", RECORD, {"in": payload}))
        assert e["extensions"]["code"] == "BAD_REQUEST" and words in e["message"], e
    assert data(api.gql("village", STATE, {"id": "person:child"}))["childVisitRecord"]["version"] == before
    assert store_of(api).get_node("visit:app-bad-1") is None
    # another village's supervisor: the child is not found; the police cannot record visits
    e = error(api.gql("village2", RECORD, {"in": visit("v2-0001", before)}))
    assert e["extensions"]["code"] == "NOT_FOUND"
    e = error(api.gql("police", RECORD, {"in": visit("ps-0001", before)}))
    assert e["extensions"]["reason"] == "capability_missing"
    assert error(api.gql("village2", CONFLICTS, {"d": VILLAGE}))["extensions"]["reason"] == "out_of_scope"


def test_schedule_has_regular_and_holiday_rounds(tmp_path_factory: pytest.TempPathFactory) -> None:
    # An app of its own: the round counts the visit this test records, and the lifecycle test
    # expects the shared app's child never visited before it starts.
    for api in serve(tmp_path_factory.mktemp("schedule")):
        made = data(api.gql("village", RECORD, {"in": visit("phone-s-0001", 0)}))["recordVisit"]
        assert made["status"] == "RECORDED"
        # The schedule of the visit's year: visits are dated yesterday, and on 1 January (Beijing)
        # yesterday is in the year before, whose rounds this year's schedule does not hold.
        yesterday = (clock.today() - timedelta(days=1)).isoformat()
        year = int(yesterday[:4])
        rows = data(api.gql("village", SCHEDULE, {"d": VILLAGE, "y": year}))["visitSchedule"]
        assert [r["division"] for r in rows] == [VILLAGE]
        kinds = [r["kind"] for r in rows[0]["rounds"]]
        assert kinds.count("winter_holiday") == 1 and kinds.count("summer_holiday") == 1
        assert kinds.count("regular") >= 4
        summer = next(r for r in rows[0]["rounds"] if r["kind"] == "summer_holiday")
        assert summer["start"] == f"{year}-07-10" and summer["end"] == f"{year}-08-31"
        assert rows[0]["childrenOfConcern"] >= 1
        current = [
            r for r in rows[0]["rounds"] if r["kind"] == "regular" and r["start"] <= yesterday <= r["end"]
        ]
        assert current and current[0]["visited"] == 1 and current[0]["due"] >= 1
        township = data(api.gql("township", SCHEDULE, {"d": "500101001000", "y": year}))["visitSchedule"]
        assert [r["division"] for r in township] == [VILLAGE]


def test_visit_content_follows_the_field_policy(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The same visit, read by a township whose policy masks the `case` class: what the visit
    # found is there, masked, like a Visit node's fields would be; with `case` denied, refused.
    from pathlib import Path

    default = Path(__file__).resolve().parents[1] / "auth" / "policies" / "default.toml"
    text = default.read_text(encoding="utf-8")
    rule = '[rules.township."*"]'
    start = text.index(rule)
    for decision in ("mask", "deny"):
        section = text[start:].split("\n\n", 1)[0]
        changed = text.replace(section, section.replace('case = "allow"', f'case = "{decision}"', 1))
        policy = tmp_path_factory.mktemp("policy") / "policy.toml"
        policy.write_text(changed, encoding="utf-8")
        for api in serve(tmp_path_factory.mktemp(f"visits-{decision}"), policy_file=policy):
            assert data(api.gql("village", RECORD, {"in": visit(f"dev-{decision}", 0)}))["recordVisit"]
            r = api.gql("township", STATE, {"id": "person:child"}).json()
            if decision == "mask":
                state = r["data"]["childVisitRecord"]
                assert state["findings"] == ["***"] and state["notes"] == "***" and state["version"] == 1
                history = data(api.gql("township", HISTORY, {"id": "person:child"}))["visitHistory"]
                assert history[0]["findings"] == ["***"]
            else:
                assert r["data"] is None or r["data"]["childVisitRecord"] is None
                assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            # The village supervisor's own policy is unchanged: they see what they recorded.
            mine = data(api.gql("village", STATE, {"id": "person:child"}))["childVisitRecord"]
            assert mine["findings"] == ["living_alone", "no_contact_with_parents"]
