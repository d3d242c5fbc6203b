"""The cost of a change's audit entry written in the change's own transaction.

One workflow step as the API runs it (`protection.cases.work`: a case-history row and the case's
version bump, one SQLite transaction), timed with the entry appended inside that transaction
(`AuditLog.writes_recorded`, what every mutation request runs under) and without any entry, in
alternating blocks on one database so that both see the same file size and machine load. A third
figure, the same step followed by a separate `append` (its own FULL-fsynced transaction: what a
change audited after its commit cost, and what left changes without entries after a crash), shows
what the one-transaction design saves or costs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from auth.audit import AuditEvent, AuditLog
from bench.report import percentiles, write
from kernel import clock
from kernel.db import make_engine, migrate
from kernel.settings import Settings
from protection.case_tables import ProtectionCaseRow
from protection.cases import Actor, work, write_session

ACTOR = Actor("township-500101001", "civil_affairs", "caseworker", "500101001000", "bench-client")


def _event() -> AuditEvent:
    return AuditEvent(
        request_id="0" * 32,
        client_id=ACTOR.client_id,
        agency_id=ACTOR.agency_id,
        agency_type=ACTOR.agency_type,
        role=ACTOR.role,
        operation="mutation RecordAssessmentNote",
        records=("protection_case:case-bench",),
        fields={"write": ("case_history.insert",)},
        decision="allow",
        reasons=("write",),
        status=200,
    )


def _step(engine: Any, settings: Settings, i: int) -> None:
    with work(engine, ACTOR, settings) as w:
        case = w.case("case-bench")
        w.changed(case, "note", text=f"回访记录 {i}")


def run(steps: int = 2000, block: int = 100) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="shouhu-audit-tx-"))
    try:
        settings = Settings(data_dir=tmp)
        engine = make_engine(settings.sql_url)
        migrate(engine)
        log = AuditLog(engine)
        with write_session(engine) as s:
            s.add(
                ProtectionCaseRow(
                    id="case-bench",
                    child_id="person:bench",
                    division="500101001001",
                    situation="living_alone",
                    status="assessment",
                    agency_id=ACTOR.agency_id,
                    police_agency_id="ps-500101",
                    opened_at=clock.now(),
                )
            )
        modes = ("without_entry", "entry_in_transaction", "entry_after_commit")
        samples: dict[str, list[float]] = {m: [] for m in modes}
        for i in range(50):  # warm the connection pool and the statement caches
            _step(engine, settings, i)
        n = 0
        while n < steps:
            for mode in modes:
                for _ in range(block):
                    t = time.perf_counter()
                    if mode == "entry_in_transaction":
                        with log.writes_recorded(_event):
                            _step(engine, settings, n)
                    else:
                        _step(engine, settings, n)
                        if mode == "entry_after_commit":
                            log.append(_event())
                    samples[mode].append(time.perf_counter() - t)
            n += block
        chain = log.verify()
        figures: dict[str, Any] = {
            "steps_per_mode": n,
            "backend": "sqlite (WAL)",
            "chain_ok": chain.ok,
            "entries": chain.checked,
        }
        for mode in modes:
            s = samples[mode]
            figures[mode] = {**percentiles(s), "mean_ms": round(sum(s) / len(s) * 1000, 3)}
        base = figures["without_entry"]["mean_ms"]
        figures["entry_in_transaction_extra_ms"] = round(figures["entry_in_transaction"]["mean_ms"] - base, 3)
        figures["entry_in_transaction_ratio"] = round(figures["entry_in_transaction"]["mean_ms"] / base, 3)
        figures["entry_after_commit_ratio"] = round(figures["entry_after_commit"]["mean_ms"] / base, 3)
        engine.dispose()
        write("audit_tx", figures)
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run()
