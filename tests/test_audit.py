"""The audit log: chain, tamper detection, concurrency, auditor queries, notifications, export, guard.

Every test that takes `engine` runs on a SQLite file and on PostgreSQL (a fresh database per test module
on the server at 127.0.0.1:5432, as tests/test_db.py does; SHOUHU_SKIP_POSTGRES=1 skips that half). The
schema comes from the real migration chain (`migrate()`); between tests the audit revision is taken
down to 0002 and up again, which also exercises its downgrade.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, select, text, update
from sqlalchemy.exc import DBAPIError

from auth.audit import (
    GENESIS_HASH,
    Anchor,
    AuditEntry,
    AuditEvent,
    AuditLog,
    AuditUnavailable,
    check_record_id,
    entry_hash,
    hash_document,
    read_csv,
    read_jsonl,
    verify_rows,
)
from auth.principal import BreakGlass, Principal
from kernel.db import (
    check_reachable,
    describe,
    downgrade,
    make_engine,
    migrate,
    pending_changes,
)
from kernel.messages import say
from shouhu.tables import metadata
from tests.conftest import fresh_pg_database

CST = timezone(timedelta(hours=8))
AUDIT_TABLES = {"audit_entry", "audit_record", "audit_review", "notification"}
ROOT = Path(__file__).resolve().parents[1]

_entry = AuditEntry.__table__  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database of each kind for the module, migrated through the whole chain."""
    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path_factory.mktemp('audit') / 'shouhu.sqlite3').as_posix()}"
        check_reachable(url)
        migrate(url)
        yield url
    else:
        for url in fresh_pg_database(request.getfixturevalue("pg_admin_url")):
            migrate(url)
            yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The module's database with the audit tables emptied (revision 0003 down and up again)."""
    eng = make_engine(db_url)
    downgrade(eng, "0002")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def log(engine: Engine) -> AuditLog:
    return AuditLog(engine)


def event(**kw: Any) -> AuditEvent:
    base: dict[str, Any] = {
        "operation": "query ChildProfile",
        "decision": "allow",
        "status": 200,
        "request_id": "req-1",
        "client_id": "edu-client",
        "user": "teacher-7",
        "agency_id": "edu-500101",
        "agency_type": "education",
        "role": "teacher",
        "issuer": "https://shouhu.example/",
        "purpose": "schooling",
        "query_hash": hash_document("query ChildProfile { person(id: $id) { name } }"),
        "records": ["person:p1"],
        "fields": {"allow": ["Person.birth_date"], "mask": ["Person.name"]},
        "result_size": 1,
    }
    base.update(kw)
    return AuditEvent(**base)


def as_attacker(engine: Engine) -> None:
    """Someone with DDL rights: the append-only triggers are gone, only the hash chain is left."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE audit_record DISABLE TRIGGER USER")
        else:
            for t in ("audit_entry", "audit_record"):
                for a in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER {t}_no_{a}")


def row_of(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(_entry).where(_entry.c.seq == seq)).mappings().one())


# ------------------------------------------------------------------------------------------------- schema


def test_migration_matches_the_models(engine: Engine) -> None:
    diffs = [d for d in pending_changes(engine, metadata) if AUDIT_TABLES & set(_tables_named(d))]
    assert diffs == []


def _tables_named(diff: Any) -> list[str]:
    """Every table name an autogenerate diff mentions (tables, columns, indexes, constraints, strings)."""
    found: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif isinstance(x, Table):
            found.append(x.name)
        elif isinstance(getattr(x, "table", None), Table):
            found.append(x.table.name)
        elif isinstance(x, str):
            found.append(x)

    walk(diff)
    return found


# -------------------------------------------------------------------------------------------------- chain


def test_append_builds_a_chain_that_verifies(log: AuditLog, engine: Engine) -> None:
    seqs = [log.append(event(request_id=f"r{i}")) for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert log.append_many([event(), event()]) == [6, 7]
    first = row_of(engine, 1)
    assert first["prev_hash"] == GENESIS_HASH
    assert first["hash"] == entry_hash(first)
    assert row_of(engine, 2)["prev_hash"] == first["hash"]

    result = log.verify()
    assert result.ok and result.checked == 7 and result.first_broken_seq is None
    assert result.head == log.head() == Anchor(7, row_of(engine, 7)["hash"])
    assert log.verify(batch=2).checked == 7  # batch boundaries do not matter
    assert AuditLog(engine).verify().ok  # a fresh reader agrees


def test_empty_log_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok and result.checked == 0 and result.head is None


def test_entries_keep_what_was_decided(log: AuditLog) -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=CST)
    seq = log.append(
        event(
            at=at,
            records=["person:p2", "person:p1", "person:p2"],
            fields={"deny": ["Person.id_number"], "allow": ["Person.sex", "Person.birth_date"]},
            decision="partial",
            reasons=["sensitivity.identity", "purpose.missing", "sensitivity.identity"],
            result_size=2,
        )
    )
    got = log.get(seq)
    assert got is not None
    assert got.at == at and got.at.utcoffset() == timedelta(0)
    assert got.records == ["person:p1", "person:p2"]
    assert got.fields == {"allow": ["Person.birth_date", "Person.sex"], "deny": ["Person.id_number"]}
    assert got.reasons == ["sensitivity.identity", "purpose.missing"]
    assert (got.decision, got.result_size, got.status, got.break_glass) == ("partial", 2, 200, False)
    assert log.get(999) is None


def test_the_database_refuses_update_and_delete(log: AuditLog, engine: Engine) -> None:
    log.append(event())
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(update(_entry).where(_entry.c.seq == 1).values(decision="deny"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_record")
    assert log.verify().ok


def test_modified_row_is_named(log: AuditLog, engine: Engine) -> None:
    log.append_many([event(request_id=f"r{i}") for i in range(5)])
    as_attacker(engine)
    with engine.begin() as conn:
        conn.execute(update(_entry).where(_entry.c.seq == 3).values(fields={"allow": ["Person.birth_date"]}))
    result = log.verify()
    assert not result.ok
    assert result.first_broken_seq == 3 and result.checked == 2
    assert result.reason == say("audit.chain.entry_modified")


def test_deleted_middle_row_leaves_a_gap(log: AuditLog, engine: Engine) -> None:
    log.append_many([event() for _ in range(5)])
    as_attacker(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_record WHERE seq = 3")
        conn.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 3")
    result = log.verify()
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 3, 2)
    assert result.reason == say("audit.chain.entry_missing", seq=4, last=2)


def test_rewritten_row_with_its_own_hash_recomputed_breaks_the_next_link(
    log: AuditLog, engine: Engine
) -> None:
    log.append_many([event() for _ in range(5)])
    as_attacker(engine)
    forged = row_of(engine, 3)
    forged["decision"], forged["fields"] = "partial", {"deny": ["Person.name"]}
    forged["hash"] = entry_hash(forged)
    with engine.begin() as conn:
        conn.execute(
            update(_entry)
            .where(_entry.c.seq == 3)
            .values(decision="partial", fields=forged["fields"], hash=forged["hash"])
        )
    result = log.verify()
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert result.reason == say("audit.chain.link_broken", prev=3)


def test_reordered_rows_are_caught(log: AuditLog, engine: Engine) -> None:
    log.append_many([event(request_id="a"), event(request_id="b"), event(request_id="c")])
    as_attacker(engine)
    with engine.begin() as conn:  # swap the contents of 1 and 2 (keeping their seq)
        one, two = row_of(engine, 1), row_of(engine, 2)
        conn.execute(update(_entry).where(_entry.c.seq == 1).values(request_id=two["request_id"]))
        conn.execute(update(_entry).where(_entry.c.seq == 2).values(request_id=one["request_id"]))
    assert log.verify().first_broken_seq == 1


def test_broken_and_missing_genesis(log: AuditLog, engine: Engine) -> None:
    log.append_many([event() for _ in range(3)])
    as_attacker(engine)
    forged = row_of(engine, 1)
    forged["prev_hash"] = "f" * 64
    with engine.begin() as conn:
        conn.execute(
            update(_entry)
            .where(_entry.c.seq == 1)
            .values(prev_hash=forged["prev_hash"], hash=entry_hash(forged))
        )
    result = log.verify()
    assert (result.first_broken_seq, result.checked) == (1, 0)
    assert result.reason == say("audit.chain.genesis_broken")

    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_record WHERE seq = 1")
        conn.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 1")
    result = log.verify()
    assert result.first_broken_seq == 1 and result.reason == say("audit.chain.genesis_missing", seq=2)


def test_record_index_tampering_is_caught(log: AuditLog, engine: Engine) -> None:
    log.append_many([event(records=["person:p1", "person:p2"]) for _ in range(3)])
    as_attacker(engine)
    with engine.begin() as conn:  # hide that entry 2 touched p2 from "who accessed p2"
        conn.exec_driver_sql("DELETE FROM audit_record WHERE seq = 2 AND record_id = 'person:p2'")
    result = log.verify()
    assert (result.ok, result.first_broken_seq, result.checked) == (False, 2, 1)
    assert result.reason == say("audit.chain.index_differs")
    assert log.verify(check_index=False).ok


def test_anchor_catches_truncation_and_a_rewritten_chain(log: AuditLog, engine: Engine) -> None:
    log.append_many([event() for _ in range(4)])
    anchor = log.head()
    assert anchor is not None and log.verify(anchor=anchor).ok
    as_attacker(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_record WHERE seq = 4")
        conn.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 4")
    assert log.verify().ok  # a chain alone cannot see its newest entries go
    result = log.verify(anchor=anchor)
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert result.reason == say("audit.chain.truncated", anchor=4, end=3)
    assert not log.verify(anchor=Anchor(2, "0" * 64)).ok


def test_concurrent_threads_never_fork_the_chain(log: AuditLog) -> None:
    threads, each = 8, 200
    seqs: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for n in range(each):
                seqs[i].append(log.append(event(request_id=f"t{i}-{n}")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    every = sorted(s for part in seqs for s in part)
    assert every == list(range(1, threads * each + 1))
    for part in seqs:
        assert part == sorted(part)
    result = log.verify()
    assert result.ok and result.checked == threads * each


def test_concurrent_processes_never_fork_the_chain(log: AuditLog, engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    script = textwrap.dedent(
        f"""
        from auth.audit import AuditEvent, AuditLog
        from kernel.db import make_engine
        log = AuditLog(make_engine({url!r}))
        for n in range(100):
            log.append(AuditEvent(operation="query P", decision="allow", status=200, records=["person:x"]))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        for _ in range(3)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    result = log.verify()
    assert result.ok and result.checked == 300


def test_append_many_is_all_or_nothing(log: AuditLog, engine: Engine) -> None:
    log.append(event())
    with pytest.raises(TypeError):
        log.append_many([event(), "not an event"])  # type: ignore[list-item]
    assert log.append_many([]) == []
    assert log.verify().checked == 1


# --------------------------------------------------------------------------------------------- auditors


T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_accesses_to_a_record_with_filters_and_pages(log: AuditLog) -> None:
    log.append_many(
        [
            event(at=T0, records=["person:child"], agency_id="edu-1"),
            event(at=T0 + timedelta(hours=1), records=["person:other"], agency_id="edu-1"),
            event(at=T0 + timedelta(hours=2), records=["person:child", "person:mum"], agency_id="police-1"),
            event(
                at=T0 + timedelta(hours=3),
                records=["person:child"],
                agency_id="ca-1",
                decision="deny",
                fields={"deny": ["Person.name"]},
            ),
            event(at=T0 + timedelta(hours=4), records=["person:child"], agency_id="health-1"),
        ]
    )
    page = log.accesses_to_record("person:child")
    assert [e.seq for e in page.items] == [1, 3, 4, 5] and page.next_after_seq is None
    assert [e.seq for e in log.accesses_to_record("person:child", exclude_agency="ca-1").items] == [1, 3, 5]
    window = log.accesses_to_record(
        "person:child", since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=4)
    )
    assert [e.seq for e in window.items] == [3, 4]

    first = log.accesses_to_record("person:child", limit=2)
    assert [e.seq for e in first.items] == [1, 3] and first.next_after_seq == 3
    second = log.accesses_to_record("person:child", limit=2, after_seq=first.next_after_seq)
    assert [e.seq for e in second.items] == [4, 5] and second.next_after_seq is None
    with pytest.raises(ValueError):
        log.accesses_to_record("person:child", limit=0)
    with pytest.raises(ValueError):
        log.accesses_to_record("张三")
    with pytest.raises(
        ValueError, match=re.escape(say("audit.time_without_zone", what=say("audit.bound.since")))
    ):
        log.accesses_to_record("person:child", since=datetime(2026, 1, 1))


def test_accesses_by_agency_and_denied_attempts(log: AuditLog) -> None:
    log.append_many(
        [
            event(at=T0, agency_id="edu-1"),
            event(
                at=T0,
                agency_id="police-1",
                decision="deny",
                status=403,
                reasons=["scope.outside"],
                fields={"deny": ["Person.name"]},
                result_size=0,
            ),
            event(
                at=T0 + timedelta(hours=1),
                agency_id="edu-1",
                decision="partial",
                fields={"allow": ["Person.sex"], "deny": ["Person.id_number"]},
            ),
            event(at=T0 + timedelta(hours=2), agency_id="edu-1", decision="error", status=500),
            event(at=T0 + timedelta(days=1), agency_id="edu-1"),
        ]
    )
    assert [e.seq for e in log.accesses_by_agency("edu-1").items] == [1, 3, 4, 5]
    day = log.accesses_by_agency("edu-1", since=T0, until=T0 + timedelta(days=1))
    assert [e.seq for e in day.items] == [1, 3, 4]
    assert [e.seq for e in log.accesses_by_agency("edu-1", limit=1, after_seq=3).items] == [4]
    assert [e.seq for e in log.denied_attempts().items] == [2, 3]
    assert [e.seq for e in log.denied_attempts(agency_id="police-1").items] == [2]
    assert log.denied_attempts(since=T0 + timedelta(hours=2)).items == []


def test_break_glass_uses_and_reviews(log: AuditLog) -> None:
    bg = {"break_glass": True, "break_glass_justification": "child reported alone at home, 110 call 0412"}
    log.append_many(
        [
            event(at=T0, **bg),
            event(at=T0),
            event(at=T0 + timedelta(hours=1), agency_id="police-2", **bg),
        ]
    )
    uses = log.break_glass_uses()
    assert [u.entry.seq for u in uses.items] == [1, 3]
    assert uses.items[0].entry.break_glass_justification == bg["break_glass_justification"]
    assert [u.entry.seq for u in log.break_glass_uses(reviewed=False).items] == [1, 3]

    review = log.mark_reviewed(1, "auditor-9")
    assert review.reviewer == "auditor-9" and review.reviewed_at.tzinfo is not None
    assert log.mark_reviewed(1, "auditor-9").reviewed_at == review.reviewed_at  # a retry is harmless
    # Catalogue words that name neither the entry nor the other reviewer.
    with pytest.raises(ValueError, match=re.escape(say("audit.already_reviewed"))) as taken:
        log.mark_reviewed(1, "auditor-10")
    assert "auditor-9" not in str(taken.value)
    with pytest.raises(ValueError, match=re.escape(say("audit.not_break_glass"))):
        log.mark_reviewed(2, "auditor-9")
    with pytest.raises(LookupError) as missing:
        log.mark_reviewed(99, "auditor-9")
    assert "99" not in str(missing.value)

    assert [u.entry.seq for u in log.break_glass_uses(reviewed=False).items] == [3]
    done = log.break_glass_uses(reviewed=True).items
    assert [(u.entry.seq, u.reviewer) for u in done] == [(1, "auditor-9")]
    assert [u.entry.seq for u in log.break_glass_uses(since=T0 + timedelta(minutes=30)).items] == [3]
    page = log.break_glass_uses(limit=1)
    assert page.next_after_seq == 1
    assert log.verify().ok  # reviews live beside the chain


def test_unusual_volume(log: AuditLog) -> None:
    now = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    hour = timedelta(hours=1)

    def touching(client: str, n: int, at: datetime) -> AuditEvent:
        return event(
            client_id=client,
            agency_id=f"agency-of-{client}",
            at=at,
            records=[f"person:{client}-{i}" for i in range(n)],
            result_size=n,
        )

    events: list[AuditEvent] = []
    for day in range(1, 7):  # a working-hours history: 4 active hours a day
        for h in range(4):
            at = now - timedelta(days=day) + timedelta(minutes=30) - h * hour
            events.append(touching("steady", 12, at))  # median 12 -> threshold max(50, 60) = 60
            events.append(touching("busy", 40, at))  # median 40 -> threshold 200
    events.append(touching("steady", 55, now - timedelta(days=9)))  # older than 7 days: ignored
    # The last hour:
    events += [
        touching("steady", 61, now - timedelta(minutes=20)),
        touching("busy", 150, now - timedelta(minutes=5)),
    ]
    events += [
        touching("newcomer", 51, now - timedelta(minutes=30)),
        touching("quiet", 50, now - timedelta(minutes=1)),
    ]
    log.append_many(events)

    alerts = log.unusual_volume(now=now)
    got = {a.client_id: a for a in alerts}
    assert set(got) == {"steady", "newcomer"}
    assert (got["steady"].count, got["steady"].baseline_median, got["steady"].threshold) == (61, 12.0, 60.0)
    assert (got["newcomer"].count, got["newcomer"].baseline_median, got["newcomer"].threshold) == (
        51,
        None,
        50.0,
    )
    assert got["steady"].agency_ids == ("agency-of-steady",)
    assert got["steady"].window_end - got["steady"].window_start == hour
    assert log.unusual_volume(now=now, factor=6.0, min_count=100) == []
    assert {a.client_id for a in log.unusual_volume(now=now, factor=3.0)} == {"steady", "newcomer", "busy"}
    with pytest.raises(ValueError):
        log.unusual_volume(window=timedelta(seconds=10))


# ---------------------------------------------------------------------------------------- notifications


def test_case_owners_are_notified_but_not_the_accessor_itself(log: AuditLog) -> None:
    owners = {"person:p1": {"ca-1", "edu-500101"}, "person:p2": {"ca-2"}}
    seq = log.append(event(records=["person:p1", "person:p2", "person:p3"], purpose="case_management"))
    entry = log.get(seq)
    assert entry is not None
    assert log.notify_case_owner(entry, lambda rid: owners.get(rid, set())) == 2
    assert log.notify_case_owner(seq, lambda rid: owners.get(rid, set())) == 0  # idempotent

    assert log.pending_notifications("edu-500101") == []  # the accessor owns p1 too: not told
    [n1] = log.pending_notifications("ca-1")
    assert n1.kind == "record_accessed" and n1.delivered_at is None and n1.created_at.tzinfo is not None
    assert n1.payload == {
        "seq": seq,
        "record_id": "person:p1",
        "accessor_agency_id": "edu-500101",
        "accessor_agency_type": "education",
        "accessor_role": "teacher",
        "at": entry.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "purpose": "case_management",
    }
    [n2] = log.pending_notifications("ca-2")
    assert n2.payload["record_id"] == "person:p2"

    assert log.mark_delivered([n1.id, n2.id]) == 2  # type: ignore[list-item]
    assert log.mark_delivered([n1.id]) == 0  # type: ignore[list-item]
    assert log.pending_notifications("ca-1") == [] and log.pending_notifications("ca-2") == []


def test_refused_requests_notify_nobody(log: AuditLog) -> None:
    seq = log.append(event(decision="deny", status=403, fields={"deny": ["Person.name"]}, result_size=0))
    assert log.notify_case_owner(seq, lambda rid: {"ca-1"}) == 0
    assert log.pending_notifications("ca-1") == []
    with pytest.raises(LookupError):
        log.notify_case_owner(999, lambda rid: {"ca-1"})


def test_pending_notifications_page_by_id(log: AuditLog) -> None:
    seq = log.append(event(records=[f"person:p{i}" for i in range(5)]))
    assert log.notify_case_owner(seq, lambda rid: {"ca-1"}) == 5
    first = log.pending_notifications("ca-1", limit=3)
    rest = log.pending_notifications("ca-1", after_id=first[-1].id)
    assert len(first) == 3 and len(rest) == 2
    assert [n.payload["record_id"] for n in first + rest] == [f"person:p{i}" for i in range(5)]


# ---------------------------------------------------------------------------------------------- export


def _fill_for_export(log: AuditLog) -> None:
    log.append_many(
        [
            event(at=T0, agency_id="edu-1", user=None),
            event(
                at=T0 + timedelta(hours=1),
                agency_id="ca-1",
                break_glass=True,
                break_glass_justification='孩子独自在家, "urgent", line\nbreak',
            ),
            event(
                at=T0 + timedelta(hours=2),
                agency_id="edu-1",
                decision="partial",
                fields={"deny": ["Person.id_number"], "mask": ["Person.name"]},
                records=[],
            ),
            event(
                at=T0 + timedelta(hours=3),
                agency_id="edu-1",
                operation="token",
                query_hash=None,
                records=[],
                fields={},
                purpose=None,
            ),
        ]
    )


def test_export_jsonl_and_csv_round_trip(log: AuditLog) -> None:
    _fill_for_export(log)
    jl, cs = io.StringIO(), io.StringIO()
    assert log.export_jsonl(jl) == 4
    assert log.export_csv(cs) == 4
    from_jsonl = list(read_jsonl(io.StringIO(jl.getvalue())))
    from_csv = list(read_csv(io.StringIO(cs.getvalue())))
    assert from_jsonl == from_csv == list(log.iter_rows())
    assert cs.getvalue().splitlines()[0].startswith("seq,at,request_id,")
    assert from_jsonl[1]["break_glass"] is True and from_jsonl[0]["user"] is None
    assert from_jsonl[2]["fields"] == {"deny": ["Person.id_number"], "mask": ["Person.name"]}
    # An unfiltered export is the chain itself: it verifies offline.
    assert verify_rows(from_csv).ok and verify_rows(from_jsonl).head == log.head()

    forged = [dict(r) for r in from_jsonl]
    forged[1]["agency_id"] = "edu-1"
    assert verify_rows(forged).first_broken_seq == 2


def test_export_filters(log: AuditLog) -> None:
    _fill_for_export(log)
    out = io.StringIO()
    assert log.export_jsonl(out, agency_id="edu-1", since=T0 + timedelta(minutes=1)) == 2
    rows = list(read_jsonl(io.StringIO(out.getvalue())))
    assert [r["seq"] for r in rows] == [3, 4]
    assert not verify_rows(rows).ok  # a filtered export is not a whole chain ...
    assert verify_rows(rows, complete=False).ok  # ... but each row still checks against its hash
    out = io.StringIO()
    assert log.export_csv(out, until=T0 + timedelta(hours=1)) == 1


# ------------------------------------------------------------------------------------ personal-data guard


@pytest.mark.parametrize(
    "records",
    [
        ["张三"],
        ["person:张三"],
        ["person:p1 张三"],
        ["110101199003074477"],
        ["person:110101199003074477"],
        ["person:510123201008151235"],
        ["person:h-510123201008151235-x"],
        ["person:510123100815123"],  # 15-digit first-generation ID (born 1910-08-15)
        ["person:13800138000"],
        ["person:tel-13912345678"],
        ["Person"],
        ["person:"],
        "person:p1",
    ],
)
def test_guard_refuses_values_as_records(records: Any) -> None:
    with pytest.raises(ValueError) as info:
        event(records=records)
    # The refusal must not repeat what it refused: the message may end up in a log line.
    for value in records if isinstance(records, list) else []:
        key = value.partition(":")[2] or value
        assert len(key) < 4 or key not in str(info.value)


@pytest.mark.parametrize(
    "kw",
    [
        {"fields": {"allow": ["Person.name=张三"]}},
        {"fields": {"allow": ["child 张三"]}},
        {"fields": {"allow": ["a13800138000.name"]}},  # an alias smuggling a phone number
        {"fields": {"allow": "Person.name"}},
        {"fields": {"maybe": ["Person.name"]}},
        {"reasons": ["张三无人照看"]},
        {"reasons": ["id_110101199003074477"]},
        {"purpose": "探视张三"},
        {"operation": "query ChildProfile 张三"},
        {"operation": "query Q13800138000"},
        {"decision": "allowed"},
        {"decision": "allow", "fields": {"deny": ["Person.name"]}},
        {"query_hash": "not-a-hash"},
        {"status": 42},
        {"result_size": -1},
        {"break_glass": True},
        {"break_glass_justification": "no emergency"},
        {"break_glass": True, "break_glass_justification": "x" * 2001},
        {"at": datetime(2026, 1, 1)},
        {"user": "bad\x00user"},
    ],
)
def test_guard_refuses_values_and_inconsistencies(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        event(**kw)


@pytest.mark.parametrize(
    "record_id",
    [
        "person:p1",
        "person:3605-gm",
        "division:500101001001",
        "school:5001012345",
        "person:3f9a1c0de1234567890123456789abcd",  # opaque keys with long digit runs are fine
        "person:5d2a1b70-1234-4567-8901-123456789012",
        "protectioncase:2026-0001",
    ],
)
def test_guard_accepts_ids(record_id: str) -> None:
    assert check_record_id(record_id) == record_id
    assert event(records=[record_id]).records == (record_id,)


def test_for_principal_takes_who_and_why_from_the_token() -> None:
    p = Principal(
        subject="client-x",
        client_id="client-x",
        agency_id="police-500101",
        agency_type="public_security",
        role="officer",
        jurisdiction="500101000000",
        user="officer-12",
        issuer="https://idp.example/",
        purpose="emergency_response",
        break_glass=BreakGlass("child missing, search under way", datetime(2026, 3, 1, tzinfo=UTC), "g1"),
    )
    ev = AuditEvent.for_principal(p, operation="query ChildProfile", decision="allow", status=200)
    assert (ev.client_id, ev.user, ev.agency_id, ev.agency_type, ev.role, ev.issuer) == (
        "client-x",
        "officer-12",
        "police-500101",
        "public_security",
        "officer",
        "https://idp.example/",
    )
    assert ev.purpose == "emergency_response" and ev.break_glass
    assert ev.break_glass_justification == "child missing, search under way"
    plain = AuditEvent.for_principal(
        Principal("s", "c", "a", "education", "teacher", "500101000000"),
        operation="token",
        decision="allow",
        status=200,
    )
    assert not plain.break_glass and plain.user is None and plain.purpose is None


def test_hash_document_hides_literals_and_layout() -> None:
    a = hash_document('query P { person(idNumber: "110101199003074477") { name # who\n birthDate } }')
    b = hash_document('query P {\n  person(idNumber: "510123201008151235") {\n    name, birthDate\n  }\n}')
    assert a == b and len(a) == 64
    assert hash_document("query P { person(limit: 5) { name } }") == hash_document(
        "query P { person(limit: 50) { name } }"
    )
    assert a != hash_document('query P { person(idNumber: "1") { name phone } }')
    # Not GraphQL at all: literals are still stripped before hashing.
    assert hash_document('{ broken "13800138000"') == hash_document('{ broken "13900000000"')


# ---------------------------------------------------------------------------------------- unavailability


def test_unreachable_database_raises_audit_unavailable() -> None:
    eng = make_engine("postgresql+psycopg://postgres:pw-secret@127.0.0.1:1/shouhu")
    try:
        log = AuditLog(eng)
        with pytest.raises(AuditUnavailable) as info:
            log.append(event())
        msg = str(info.value)
        assert "127.0.0.1:1" in msg and "pw-secret" not in msg and "\n" not in msg
        with pytest.raises(AuditUnavailable):
            log.verify()
        with pytest.raises(AuditUnavailable):
            log.accesses_to_record("person:p1")
    finally:
        eng.dispose()


def test_missing_table_raises_audit_unavailable(log: AuditLog, engine: Engine) -> None:
    log.append(event())
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_entry RENAME TO audit_entry_gone")
    try:
        where = describe(engine.url)
        with pytest.raises(AuditUnavailable) as writing:
            log.append(event())
        written = say("audit.unavailable.write", where=where, reason="")
        assert str(writing.value).startswith(written), str(writing.value)
        with pytest.raises(AuditUnavailable) as reading:
            log.verify()
        assert str(reading.value).startswith(say("audit.unavailable.read", where=where, reason=""))
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_entry_gone RENAME TO audit_entry")
    assert log.append(event()) == 2 and log.verify().ok


def test_sqlite_append_is_fsynced_and_leaves_the_connection_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 's.sqlite3').as_posix()}"
    migrate(url)
    eng = make_engine(url)
    try:
        AuditLog(eng).append(event())
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL, the engine default
        assert AuditLog(eng, durable=False).append(event()) == 2
    finally:
        eng.dispose()


def test_audit_rows_hold_no_graph_values(log: AuditLog, engine: Engine) -> None:
    """What an entry stores, column by column, is ids, paths, codes and identities."""
    log.append(event(records=["person:p1"], fields={"mask": ["Person.name"]}))
    with engine.connect() as conn:
        stored = json.dumps(
            [dict(r) for r in conn.execute(text("SELECT * FROM audit_entry")).mappings()],
            default=str,
            ensure_ascii=False,
        )
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in stored)
