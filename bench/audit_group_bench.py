"""Audit appends as the API makes them, one request at a time and from concurrent requests.

Every append is durable before it returns (WAL, synchronous=FULL on the log's connection). One
request alone pays one commit; concurrent requests share commits (`auth.audit.commit`), so the
cost per entry falls with the number of requests in flight while none is answered before its
entry's commit. Sequential and concurrent blocks alternate on one database, so both see the same
file size and machine load; the transactions written are counted to show the sharing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from auth.audit import AuditEvent, AuditLog
from bench.report import write
from kernel.db import make_engine, migrate


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        operation="query ChildProfile",
        decision="allow",
        status=200,
        request_id=f"{i:032x}",
        client_id="ps-500101-bench",
        agency_id="ps-500101",
        agency_type="public_security",
        role="officer",
        purpose="case_work",
        records=[f"person:p{i}", f"household:h{i // 3}"],
        fields={"allow": ["Person.birthDate", "Person.name"], "mask": ["Person.idNumber"]},
        result_size=1,
    )


def run(entries: int = 2000, threads: int = 8, rounds: int = 4) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="shouhu-audit-group-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'audit.sqlite3'}")
        migrate(engine)
        log = AuditLog(engine)
        for i in range(50):
            log.append(_event(i))
        per_round = entries // rounds
        seq_s = conc_s = 0.0
        seq_batches = conc_batches = 0
        n = 1000
        for _ in range(rounds):
            b0 = log._group.batches
            t = time.perf_counter()
            for _ in range(per_round):
                n += 1
                log.append(_event(n))
            seq_s += time.perf_counter() - t
            seq_batches += log._group.batches - b0

            start = n
            n += per_round
            share = per_round // threads

            def worker(k: int, first: int = start, share: int = share) -> None:
                for i in range(share):
                    log.append(_event(first + k * share + i))

            b0 = log._group.batches
            workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
            t = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            conc_s += time.perf_counter() - t
            conc_batches += log._group.batches - b0
        done = per_round * rounds
        conc_done = (per_round // threads) * threads * rounds
        result = log.verify()
        figures = {
            "entries_per_mode": done,
            "threads": threads,
            "sequential_ms_per_entry": round(seq_s / done * 1000, 3),
            "sequential_transactions": seq_batches,
            "concurrent_ms_per_entry_wall": round(conc_s / conc_done * 1000, 3),
            "concurrent_transactions": conc_batches,
            "concurrent_entries_per_transaction": round(conc_done / max(1, conc_batches), 2),
            "chain_verifies": result.ok,
            "conditions": f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the end",
        }
        write("audit_group", figures)
        engine.dispose()
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
