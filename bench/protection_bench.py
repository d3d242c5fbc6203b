"""Protection workflows: a 强制报告's way to the police (file, acknowledge, accept over HTTP, each with the
agency's own token, audit and graph projection on), and missed-report detection over a synthetic
village of children with hospital encounters.

Uses the API test fixture's small county (the real app, real tokens, SQLite, LadybugDB), grown by
``CHILDREN`` synthetic pupils, each with one encounter coded as an injury (half of them reported).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import percentiles, write
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock

CHILDREN = 300
FILE = "mutation File($input: FileReportInput!) { fileMandatoryReport(input: $input) { id caseId } }"
ACK = "mutation Ack($id: ID!) { acknowledgeReport(reportId: $id) { id } }"
ACCEPT = "mutation Accept($id: ID!) { acceptReport(reportId: $id) { id status } }"
MISSED = "query M { missedReports { kind eventId } }"


def _children(store: object, village: str) -> list[str]:
    src = Assertion("education", "BENCH", datetime(2026, 9, 1, tzinfo=UTC))
    on = (clock.today() - timedelta(days=10)).isoformat()
    ids = [f"person:bench-{i:05d}" for i in range(CHILDREN)]
    nodes = [
        NodeRecord(p, {"birth_date": "2016-05-01", "hukou_type": "rural", "division": village}, src)
        for p in ids
    ]
    nodes += [
        NodeRecord(
            f"healthevent:bench-{i:05d}",
            {"kind": "encounter", "icd10": "S00.1", "occurred_on": on, "facility": "H9", "division": village},
            src,
        )
        for i in range(CHILDREN)
    ]
    rels = [RelRecord("ENROLLED_AT", p, "school:S1", {"status": "enrolled"}, src) for p in ids]
    rels += [RelRecord("CONCERNS", f"healthevent:bench-{i:05d}", p, {}, src) for i, p in enumerate(ids)]
    store.upsert_nodes(nodes)  # type: ignore[attr-defined]
    store.upsert_rels(rels)  # type: ignore[attr-defined]
    return ids


def run() -> dict[str, object]:
    from tests.api_fixtures import serve
    from tests.contract.test_graph_store import VILLAGE

    with tempfile.TemporaryDirectory() as tmp:
        # A server's buffer pool, not the tests' 256 MB: the store reopens itself after a statement
        # budget that grows with the pool, and at 256 MB that is every 16 statements.
        gen = serve(Path(tmp), webhook_worker=False, rate_limit_per_minute=0, graph_buffer_pool_mb=4096)
        api = next(gen)
        try:
            ids = _children(api.client.app.state.graph, VILLAGE)  # type: ignore[attr-defined]
            file_ms, ack_ms, accept_ms = [], [], []
            start = time.perf_counter()
            for pid in ids[: CHILDREN // 2]:
                t0 = time.perf_counter()
                r = api.gql(
                    "school",
                    FILE,
                    {"input": {"childId": pid, "situation": "INJURY_OR_HARM", "summary": "面部擦伤"}},
                ).json()
                t1 = time.perf_counter()
                rid = r["data"]["fileMandatoryReport"]["id"]
                api.gql("police", ACK, {"id": rid})
                t2 = time.perf_counter()
                assert (
                    api.gql("police", ACCEPT, {"id": rid}).json()["data"]["acceptReport"]["status"]
                    == "accepted"
                )
                t3 = time.perf_counter()
                file_ms.append(t1 - t0)
                ack_ms.append(t2 - t1)
                accept_ms.append(t3 - t2)
            walk_s = time.perf_counter() - start
            t0 = time.perf_counter()
            missed = api.gql("auditor", MISSED).json()["data"]["missedReports"]
            detect_s = time.perf_counter() - t0
            unreported = sum(1 for m in missed if m["eventId"].startswith("healthevent:bench-"))
        finally:
            gen.close()
    figures: dict[str, object] = {
        "reports": CHILDREN // 2,
        "file": percentiles(file_ms),
        "acknowledge": percentiles(ack_ms),
        "accept": percentiles(accept_ms),
        "reports_per_second_file_ack_accept": round((CHILDREN // 2) / walk_s, 1),
        "missed_report_scan": {
            "injury_encounters": CHILDREN,
            "found_unreported": unreported,
            "expected_unreported": CHILDREN - CHILDREN // 2,
            "seconds": round(detect_s, 3),
        },
    }
    write("protection", figures)
    return figures
