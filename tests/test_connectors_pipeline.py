"""The sync pipeline in process, on a generated county, checked against the generator's truth."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import connectors.sources.health as health_module
from connectors.idnumber import make_id_number
from connectors.reports import RunReport
from connectors.standardise import Rejected
from tests import test_connectors_support as support
from tests.test_connectors_support import Stores, copy_county, graph_snapshot, read_csv, truth_records

# The shared fixtures, made visible to pytest in this module.
county = support.county
stores = support.stores

SOURCES = ("police_hukou", "education", "health", "survey", "police_incident")


def _expected_received(county: Path) -> Counter[str]:
    return Counter(r["system"] for r in truth_records(county) if r["record_type"] != "mention")


@pytest.fixture(scope="module")
def first_sync(county: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunReport]:
    """The county's first sync, once for the module: its stores' directory (closed, read only: each
    test works on a copy) and its report."""
    first = Stores(tmp_path_factory.mktemp("first-sync") / "stores")
    try:
        report = first.pipeline(county).sync()
    finally:
        first.close()
    return first.root, report


def _synced(first_sync: tuple[Path, RunReport], dest: Path, pool_mb: int = 256) -> Stores:
    """A copy of the stores as the county's first sync left them."""
    shutil.copytree(first_sync[0], dest)
    return Stores(dest, pool_mb=pool_mb)


@pytest.fixture
def synced(first_sync: tuple[Path, RunReport], tmp_path: Path) -> Iterator[Stores]:
    s = _synced(first_sync, tmp_path / "synced")
    yield s
    s.close()


def test_first_sync_accounts_for_every_record(
    county: Path, first_sync: tuple[Path, RunReport], synced: Stores
) -> None:
    report, stores = first_sync[1], synced
    expected = _expected_received(county)
    assert [s.source for s in report.sources] == list(SOURCES)
    for s in report.sources:
        assert s.status == "completed", s.error
        assert s.received == expected[s.source], s.source
        assert s.received == s.loaded + s.quarantined, s.source
        assert s.unexplained == 0
    total = report.total()
    assert total.received == sum(expected.values()) and total.unexplained == 0
    # Stored: one sync_run row per source with the same counters and the JSON report.
    with stores.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT source, status, received, loaded, quarantined, report FROM sync_run WHERE run_id = :r"
            ),
            {"r": report.run_id},
        ).all()
    assert {r.source for r in rows} == set(SOURCES)
    for r in rows:
        stored = json.loads(r.report) if isinstance(r.report, str) else r.report
        assert r.status == "completed" and r.received == r.loaded + r.quarantined
        assert stored["unexplained"] == 0
    statuses = stores.statuses()
    assert sum(n for (_, st), n in statuses.items() if st == "pending") == 0


def test_quarantine_holds_exactly_the_malformed_rows_and_their_dependants(
    county: Path, synced: Stores
) -> None:
    stores = synced  # the county synced
    quarantined = stores.quarantined()
    malformed = {(r["system"], r["record_id"]) for r in truth_records(county) if r["malformed"] == "1"}
    assert malformed, "the generator made malformed rows"
    assert malformed <= set(quarantined), sorted(malformed - set(quarantined))[:5]
    specific = {"row.truncated", "field.missing", "date.invalid", "reference.missing"}
    for key in malformed:
        assert quarantined[key] in specific, (key, quarantined[key])
    # Anything else quarantined points at a quarantined record (events of a broken Patient).
    extra = {k: v for k, v in quarantined.items() if k not in malformed}
    assert set(extra.values()) <= {"reference.unresolved"}
    with stores.engine.connect() as conn:
        for (source, record_id), _ in extra.items():
            payload = conn.execute(
                text("SELECT payload FROM landing_record WHERE source = :s AND record_id = :r"),
                {"s": source, "r": record_id},
            ).scalar_one()
            res = json.loads(payload)["resource"]
            ref = (res.get("subject") or res.get("patient"))["reference"]
            target = json.loads(payload)["context"][ref]
            assert (source, target) in malformed


def test_resync_lands_nothing_and_leaves_the_graph_unchanged(county: Path, synced: Stores) -> None:
    stores = synced  # the county synced
    stores.graph.close()
    before = graph_snapshot(stores.root / "graph.lbug")
    stores.graph._open()

    again = stores.pipeline(county).sync().total()
    assert (again.received, again.loaded, again.quarantined, again.unexplained) == (0, 0, 0, 0)
    # Without cursors every file is read again: all recognised by content hash, nothing reloaded.
    with stores.engine.begin() as conn:
        conn.execute(text("DELETE FROM sync_cursor WHERE source <> 'reference'"))
    reread = stores.pipeline(county).sync().total()
    assert reread.received == sum(_expected_received(county).values())
    assert reread.unchanged == reread.received and reread.loaded == 0 and reread.unexplained == 0
    assert reread.graph["created"] == reread.graph["updated"] == 0

    stores.graph.close()
    assert graph_snapshot(stores.root / "graph.lbug") == before
    stores.graph._open()


def _append_csv(path: Path, encoding: str, row: list[str], crlf: bool = False) -> None:
    with open(path, "a", encoding=encoding.replace("-sig", ""), newline="") as f:
        csv.writer(f, lineterminator="\r\n" if crlf else "\n").writerow(row)


def _hukou_rows(county: Path) -> list[list[str]]:
    with open(county / "police" / "hukou.csv", encoding="gb18030", newline="") as f:
        return list(csv.reader(f))


def test_appended_records_are_the_only_ones_read_and_loaded(
    county: Path, synced: Stores, tmp_path: Path
) -> None:
    stores = synced  # the county synced; the export copied, to append to
    export = copy_county(county, tmp_path / "export")
    rows = _hukou_rows(export)
    template = next(r for r in rows[1:] if r[16] == "正常" and r[7] == "户主")
    baby = list(template)
    baby[0] = template[1] + "98"
    baby_id = make_id_number("500248", date(2024, 5, 6), 2)
    baby[2], baby[3] = "王新生", baby_id
    baby[4], baby[6], baby[7], baby[17] = "女", "20240506", "女", "20240506"
    _append_csv(export / "police" / "hukou.csv", "gb18030", baby)

    report = stores.pipeline(export).sync()
    by = {s.source: s for s in report.sources}
    assert (by["police_hukou"].received, by["police_hukou"].loaded) == (1, 1)
    assert all(s.received == 0 for s in report.sources if s.source != "police_hukou")
    people = stores.graph.find("Person", "id_number", [baby_id])
    assert len(people) == 1 and people[0].props["name"] == "王新生"
    hh = stores.graph.neighbourhood(people[0].id, 1, ["MEMBER_OF", "PARENT_OF"])
    assert f"household:{template[1]}" in hh.nodes
    # The head of the household is the baby's parent (inferred from 户主 → 女).
    assert any(r.type == "PARENT_OF" and r.dst == people[0].id for r in hh.rels.values())


def test_corrected_resubmission_supersedes_the_quarantined_version(
    county: Path, synced: Stores, tmp_path: Path
) -> None:
    stores = synced  # the county synced; the export copied, to resubmit in
    export = copy_county(county, tmp_path / "export")
    bad = [k for k, v in stores.quarantined().items() if k[0] == "police_hukou"]
    assert bad
    record_id = bad[0][1]
    truth = {r["person_key"]: r for r in read_csv(export / "truth" / "persons.csv")}
    key = next(r["person_key"] for r in truth_records(export) if r["record_id"] == record_id)
    person = truth[key]
    row = next(r for r in _hukou_rows(export) if r[0] == record_id)
    fixed = row + [""] * (18 - len(row))
    fixed[2], fixed[3] = person["name"], person["id_number"]
    fixed[4] = "男" if person["sex"] == "M" else "女"
    fixed[6] = person["birth_date"].replace("-", "")
    fixed[16] = fixed[16] or "正常"
    fixed[17] = fixed[17] or fixed[6]
    _append_csv(export / "police" / "hukou.csv", "gb18030", fixed)

    report = stores.pipeline(export).sync(["police_hukou"])
    s = report.sources[0]
    assert (s.received, s.loaded, s.quarantined, s.superseded) == (1, 1, 0, 1)
    assert ("police_hukou", record_id) not in stores.quarantined()
    with stores.engine.connect() as conn:
        states = dict(
            conn.execute(
                text("SELECT status, count(*) FROM landing_record WHERE record_id = :r GROUP BY status"),
                {"r": record_id},
            ).all()
        )
    assert states == {"loaded": 1, "superseded": 1}
    assert stores.graph.find("Person", "id_number", [person["id_number"]])


def test_replay_after_a_validator_fix_loads_the_record_and_its_dependants(
    county: Path, synced: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = synced  # the county synced
    before = stores.quarantined()
    bad_birth = [k for k, v in before.items() if k[0] == "health" and v == "date.invalid"]
    assert bad_birth, "the generator made a Patient with an impossible birthDate"
    dependants = [k for k, v in before.items() if v == "reference.unresolved"]

    # Still quarantined when replayed with the same validator: same reasons.
    same = stores.pipeline(county).replay("health")
    assert same.total().loaded == 0 and stores.quarantined() == before

    # The fix: an impossible birth date reads as unknown instead of rejecting the Patient.
    original = health_module.parse_date

    def lenient(value: object, field_name: str, **kw: object) -> object:
        try:
            return original(value, field_name, **kw)  # type: ignore[arg-type]
        except Rejected:
            if field_name == "Patient.birthDate":
                return None
            raise

    monkeypatch.setattr(health_module, "parse_date", lenient)
    report = stores.pipeline(county).replay("health")
    t = report.total()
    assert t.resumed == sum(1 for k in before if k[0] == "health")
    assert t.loaded + t.quarantined == t.resumed and t.unexplained == 0
    after = stores.quarantined()
    for key in bad_birth:
        assert key not in after
    # Events of the fixed Patient loaded with it; those of a nameless Patient did not.
    assert len([k for k in after if k in dependants]) < len(dependants)
    assert all(after[k] != "date.invalid" for k in after if k[0] == "health")


def test_graph_agrees_with_the_truth(county: Path, synced: Stores) -> None:
    stores = synced  # the county synced
    persons = {r["person_key"]: r for r in read_csv(county / "truth" / "persons.csv")}
    by_id = {p["id_number"]: k for k, p in persons.items()}
    stats = stores.graph.stats()
    assert stats["nodes"]["Division"] > 50 and stats["nodes"]["School"] > 10
    households = len(list(read_csv(county / "truth" / "households.csv")))
    # All but households whose every register row is broken (3% broken rows here).
    assert 0.97 * households <= stats["nodes"]["Household"] <= households
    for kind in (
        "PARENT_OF",
        "GUARDIAN_OF",
        "MEMBER_OF",
        "ENROLLED_AT",
        "CONCERNS",
        "SIGNED",
        "COVERS",
        "PART_OF",
    ):
        assert stats["relationships"][kind] > 0, kind
    for label in ("Visit", "HealthEvent", "EducationEvent", "Report", "Agreement"):
        assert stats["nodes"][label] > 0, label

    # Every register row that loaded is a Person with its ID number and pinyin.
    registered = [r for r in truth_records(county) if r["system"] == "police_hukou" and r["malformed"] == "0"]
    ids = [persons[r["person_key"]]["id_number"] for r in registered]
    found = {
        n.props["id_number"]: n for n in stores.graph.find("Person", "id_number", ids, limit=len(ids) + 10)
    }
    assert set(found) == set(ids)
    some = found[ids[0]]
    assert some.props["name_pinyin"] and " " in some.props["name_pinyin"]

    # Parent links between people with ID numbers are true parent links, wherever the truth
    # names the child's parents (it leaves them blank for adults living with their parents,
    # whom the register's 户主 → 子 still links).
    rows = stores.graph._run(  # type: ignore[attr-defined]
        "MATCH (a:Person)-[e:PARENT_OF]->(b:Person) RETURN a.id_number, b.id_number"
    )
    checked = wrong = 0
    for parent_id, child_id in rows:
        if parent_id not in by_id or child_id not in by_id:
            continue
        child = persons[by_id[child_id]]
        if child["father_key"] or child["mother_key"]:
            checked += 1
            wrong += by_id[parent_id] not in (child["father_key"], child["mother_key"])
    assert checked > 500
    assert wrong / checked < 0.01, (wrong, checked)


def test_survey_spreadsheets_and_json_forms_both_load(county: Path, stores: Stores) -> None:
    stores.pipeline(county).sync(["survey"])
    with stores.engine.connect() as conn:
        kinds = dict(
            conn.execute(
                text(
                    "SELECT kind, count(*) FROM landing_record"
                    " WHERE source = 'survey' AND status = 'loaded' GROUP BY kind"
                )
            ).all()
        )
    manifest = json.loads((county / "truth" / "manifest.json").read_text())
    xlsx = sum(n for f, n in manifest["files"].items() if f.startswith("survey/") and f.endswith(".xlsx"))
    assert kinds.get("form_xlsx", 0) == xlsx > 0
    assert kinds.get("form", 0) > xlsx


def test_unknown_source_is_refused(county: Path, stores: Stores) -> None:
    with pytest.raises(ValueError, match="未知来源"):
        stores.pipeline(county).sync(["hospital"])


def test_crosscheck_finds_children_missing_from_sources_and_not_enrolled(
    county: Path, first_sync: tuple[Path, RunReport], tmp_path: Path
) -> None:
    from connectors.crosscheck import crosscheck

    # The county synced. LadybugDB keeps the pages every read touched until it is reopened: room
    # for ~500 two-hop neighbourhoods.
    stores = _synced(first_sync, tmp_path / "big", pool_mb=2048)
    try:
        result = crosscheck(stores.graph, as_of=date(2024, 9, 30))
        report = result.as_json()
        assert report["children"] > 300
        assert sum(report["children_by_sources"].values()) == report["children"]
        assert report["missing"]["not_in_household_register"]["count"] > 0
        assert report["school_age_not_enrolled"]["count"] > 0
        # Children of compulsory-school age who dropped out (this year or before) are
        # reported as not enrolled.
        dropouts = [
            p["id_number"]
            for p in read_csv(county / "truth" / "persons.csv")
            if p["enrolment_status"] in ("辍学", "往年辍学")
            and p["status"] == "alive"
            and 6 <= int(p["age"]) <= 15
        ]
        found = [
            n
            for n in stores.graph.find("Person", "id_number", dropouts, limit=len(dropouts) + 5)
            if n.props.get("division")
        ]
        assert found
        assert all(n.id in set(result.school_age_not_enrolled) for n in found)
        # Set-based (the county's children and families in one batched read) finds exactly what
        # reading each child's own neighbourhood finds, list for list, and reports its progress.
        seen: list[int] = []
        again = crosscheck(stores.graph, as_of=date(2024, 9, 30), progress=seen.append).as_json()
        assert again == report and sum(seen) >= report["children"]
        assert _findings(result) == _findings(_crosscheck_child_by_child(stores.graph, date(2024, 9, 30)))
        assert result.parents_away_but_mother_registered_home
        # Attributes the sources disagree on are counted (they were never: the check read the
        # `conflicted` mark from the node's domain properties, which do not hold it).
        assert report["conflicting_attributes"] and sum(report["conflicting_attributes"].values()) > 10
        # Classification set-based on the same county (children read a batch at a time): the
        # table it writes holds, row for row, what each child assessed on its own reads gives.
        from protection.classification import assess, recompute, stored

        full = recompute(stores.graph, stores.engine, as_of=date(2024, 9, 30), snapshot=False)
        assert full.children > 300
        people = [n for d in "123456789" for n in _people(stores.graph, d)]
        assert len(people) > full.children
        for node in people:
            alone = assess(stores.graph, node.id, as_of=date(2024, 9, 30))
            row = stored(stores.engine, node.id)
            assert (alone is None) == (row is None), node.id
            if alone is not None and row is not None:
                assert _as_row(alone.row()) == _as_row(row), node.id
    finally:
        stores.close()


def _as_row(row: Any) -> dict[str, Any]:
    fields = {c: getattr(row, c) for c in type(row).model_fields if c != "computed_at"}
    return dict(json.loads(json.dumps(fields, ensure_ascii=False, default=str)))


def _people(graph: Any, prefix: str) -> list[Any]:
    out, after = [], None
    while True:
        page = graph.list_by_division("Person", prefix, first=1000, after=after)
        out += page.items
        if not page.has_next:
            return out
        after = page.end_cursor


def _findings(report: Any) -> dict[str, Any]:
    """Everything a cross-check found, whole lists in order of id."""
    return {
        "children": report.children,
        "by_sources": dict(report.by_sources),
        "missing": {k: sorted(v) for k, v in report.missing.items()},
        "school_age_not_enrolled": sorted(report.school_age_not_enrolled),
        "conflicting_attributes": dict(report.conflicting_attributes),
        "parents_away": sorted(report.parents_away_but_mother_registered_home),
    }


def _crosscheck_child_by_child(graph: Any, on: date) -> Any:
    """The cross-check as it was before the set-based read: people page by page, each child's own
    two-hop family neighbourhood read and checked (the oracle for `connectors.crosscheck`)."""
    from connectors import crosscheck as cc

    by_node: dict[str, list[str]] = {}
    for c in graph.conflicts("Person", limit=1_000_000):
        by_node.setdefault(c.element_id, []).append(c.attribute)
    assert by_node
    report = cc.CrossCheck(on)
    for node in [n for d in "123456789" for n in _people(graph, d)]:
        age = cc._age(node.props.get("birth_date"), on)
        if age is None or age >= 18 or node.props.get("deceased"):
            continue
        report.children += 1
        systems = {s["system"] for s in node.sources if s.get("system") in cc.SYSTEMS}
        report.by_sources["+".join(sorted(systems)) or "none"] += 1
        if "police_hukou" not in systems:
            report.missing.setdefault("not_in_household_register", []).append(node.id)
        elif not systems - {"police_hukou"}:
            report.missing.setdefault("only_in_household_register", []).append(node.id)
        if "survey" not in systems and "police_hukou" in systems and node.props.get("hukou_type") == "rural":
            report.missing.setdefault("rural_not_surveyed", []).append(node.id)
        for attr in by_node.get(node.id, []):
            report.conflicting_attributes[attr] += 1
        sub = graph.neighbourhood(node.id, 2, ("PARENT_OF", "MEMBER_OF", "ENROLLED_AT"))
        rels = list(sub.rels.values())
        enrolled = any(
            r.type == "ENROLLED_AT" and r.src == node.id and (r.props.get("status") or "在读") == "在读"
            for r in rels
        )
        if 6 <= age <= 15 and not enrolled:
            report.school_age_not_enrolled.append(node.id)
        parents = {
            r.props.get("role"): sub.nodes.get(r.src)
            for r in rels
            if r.type == "PARENT_OF" and r.dst == node.id
        }
        father, mother = parents.get("father"), parents.get("mother")
        if father is None or mother is None:
            continue
        if not all(
            True in [c["value"] for c in p.claims.get("works_away", []) if c.get("system") == "survey"]
            for p in (father, mother)
        ):
            continue
        homes = {r.dst for r in rels if r.type == "MEMBER_OF" and r.src == node.id}
        if any(
            r.type == "MEMBER_OF"
            and r.src == mother.id
            and r.dst in homes
            and any(s.get("system") == "police_hukou" for s in r.sources)
            for r in rels
        ):
            report.parents_away_but_mother_registered_home.append(node.id)
    return report


def test_periodic_sync_runs_each_source_when_its_interval_has_passed(
    county: Path, stores: Stores, synced: Stores
) -> None:
    from datetime import UTC, datetime, timedelta

    from connectors.sources import load_config, parse_interval
    from shouhu.cli.connectors import due_sources

    assert parse_interval("15m") == timedelta(minutes=15) and parse_interval(30) == timedelta(seconds=30)
    (stores.root / "connectors.toml").write_text(
        f'export_dir = "{county}"\n[sources.survey]\nevery = "1d"\n[sources.health]\nevery = "10m"\n'
        "[sources.police_incident]\nenabled = false\n"
    )
    config = load_config(stores.root)
    assert config.sources["survey"].every == timedelta(days=1)
    assert not config.sources["police_incident"].configured
    now = datetime.now(UTC)
    # Never synced: every enabled source is due.
    assert set(due_sources(stores.engine, config, now)) == {"police_hukou", "education", "health", "survey"}
    # Synced (the county's first sync, then a scheduled one with this file, now): the sync itself is
    # the module's, not one more of the 2,000-person county.
    stores = synced
    Pipeline = type(stores.pipeline(county))
    report = Pipeline(stores.engine, stores.graph, config).sync()
    enabled = {"police_hukou", "education", "health", "survey"}
    assert {s.source for s in report.sources} == enabled and report.ok
    with stores.engine.connect() as conn:  # its runs are the ones the schedule reads now
        ran = conn.execute(text("SELECT source FROM sync_run WHERE run_id = :r"), {"r": report.run_id})
        assert {source for (source,) in ran} == enabled
    later = now + timedelta(hours=2)
    assert set(due_sources(stores.engine, config, later)) == {"police_hukou", "education", "health"}
    assert due_sources(stores.engine, config, later, only=["survey"]) == []
    assert "survey" in due_sources(stores.engine, config, now + timedelta(days=2))
