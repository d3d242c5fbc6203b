"""The audit log on SQLite at a million entries: append rate, verify time, auditor query latency.

Single appends are measured as the API makes them (one transaction per request, fsynced, under the
chain lock); the rest of the million is loaded with `append_many` in batches, as an import would. Then
the whole chain is verified, and "who accessed child X" is timed on the full log.
"""

from __future__ import annotations

import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from auth.audit import AuditEvent, AuditLog, hash_document
from bench.report import percentiles, write
from kernel.db import make_engine, migrate

SINGLE = 20_000
BATCH = 10_000
PERSONS = 200_000
AGENCIES = [(f"edu-{i:03d}", "education", "teacher") for i in range(20)]
AGENCIES += [(f"police-{i:03d}", "public_security", "officer") for i in range(10)]
AGENCIES += [(f"ca-{i:03d}", "civil_affairs", "caseworker") for i in range(20)]
QUERY = hash_document(
    "query ChildProfile($id: ID!) { person(id: $id) { name birthDate guardians { name } } }"
)
FIELDS = {
    "allow": ["Person.birth_date", "Person.sex", "Person.division", "Person.hukou_type", "School.name"],
    "mask": ["Person.name", "Person.phone", "Person.residence_address"],
}
DENIED = {**FIELDS, "deny": ["Person.id_number", "HealthEvent.icd10"]}


def _event(rng: random.Random) -> AuditEvent:
    agency, kind, role = rng.choice(AGENCIES)
    n = rng.choice((1, 1, 1, 2, 3))
    partial = rng.random() < 0.2
    return AuditEvent(
        operation="query ChildProfile",
        decision="partial" if partial else "allow",
        status=200,
        request_id=f"{rng.getrandbits(64):016x}",
        client_id=f"{agency}-app",
        user=f"{role}-{rng.randrange(500)}",
        agency_id=agency,
        agency_type=kind,
        role=role,
        issuer="https://shouhu.example/",
        purpose="case_management",
        query_hash=QUERY,
        records=[f"person:p{rng.randrange(PERSONS)}" for _ in range(n)],
        fields=DENIED if partial else FIELDS,
        reasons=["sensitivity.identity"] if partial else [],
        result_size=n,
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(entries: int = 1_000_000, single: int = SINGLE, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    url = f"sqlite:///{(tmp / 'audit.sqlite3').as_posix()}"
    figures: dict[str, Any] = {"entries": entries, "backend": "sqlite (WAL)"}
    try:
        migrate(url)
        engine = make_engine(url)
        log = AuditLog(engine)  # durable: each append fsynced, as the API runs it

        single = min(single, entries)
        samples: list[float] = []
        build = 0.0
        started = time.perf_counter()
        for _ in range(single):
            t = time.perf_counter()
            ev = _event(rng)
            t1 = time.perf_counter()
            log.append(ev)
            samples.append(time.perf_counter() - t1)
            build += t1 - t
        wall = time.perf_counter() - started
        figures["single_append"] = {
            "entries": single,
            "per_s": round(single / sum(samples)),
            "wall_s": round(wall, 2),
            "event_build_us": round(build / single * 1e6, 1),
            **percentiles(samples),
        }

        fast = AuditLog(engine, durable=False)
        few = [_event(rng) for _ in range(2000)]
        t = time.perf_counter()
        for ev in few:
            fast.append(ev)
        figures["single_append_not_fsynced_per_s"] = round(len(few) / (time.perf_counter() - t))

        remaining = entries - single - len(few)
        bulk_s = 0.0
        build = 0.0
        done = 0
        while done < remaining:
            n = min(BATCH, remaining - done)
            t = time.perf_counter()
            batch = [_event(rng) for _ in range(n)]
            t1 = time.perf_counter()
            log.append_many(batch)
            bulk_s += time.perf_counter() - t1
            build += t1 - t
            done += n
        figures["append_many"] = {
            "entries": done,
            "batch": BATCH,
            "per_s": round(done / bulk_s) if bulk_s else None,
            "seconds": round(bulk_s, 1),
            "event_build_s": round(build, 1),
        }

        rss_before = _rss_mb()
        t = time.perf_counter()
        result = log.verify()
        verify_s = time.perf_counter() - t
        assert result.ok and result.checked == entries, result
        figures["verify"] = {
            "entries": result.checked,
            "seconds": round(verify_s, 1),
            "per_s": round(result.checked / verify_s),
            "peak_rss_growth_mb": round(_rss_mb() - rss_before, 1),
        }
        t = time.perf_counter()
        log.verify(check_index=False)
        figures["verify"]["seconds_without_index_check"] = round(time.perf_counter() - t, 1)

        lookups: list[float] = []
        sizes = 0
        for _ in range(300):
            rid = f"person:p{rng.randrange(PERSONS)}"
            t = time.perf_counter()
            page = log.accesses_to_record(rid, limit=100)
            lookups.append(time.perf_counter() - t)
            sizes += len(page.items)
        figures["accesses_to_record"] = {**percentiles(lookups), "mean_hits": round(sizes / 300, 1)}
        agency_pages: list[float] = []
        for agency, _, _ in AGENCIES[:20]:
            t = time.perf_counter()
            log.accesses_by_agency(agency, limit=100)
            agency_pages.append(time.perf_counter() - t)
        figures["accesses_by_agency_first_page"] = percentiles(agency_pages)
        figures["db_size_mb"] = round(sum(f.stat().st_size for f in tmp.iterdir()) / 2**20, 1)
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write("audit", figures)
    return figures


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.audit_bench")
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    run(entries=args.entries)
