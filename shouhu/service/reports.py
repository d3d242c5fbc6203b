"""A run report back from its JSON (``RunReport.as_json``), so that a sync the service ran is printed by
the same code, line for line, as one run in the command's own process."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from connectors.pipeline import RunReport, SourceReport

_SOURCE_FIELDS = (
    "source",
    "kind",
    "where",
    "status",
    "received",
    "landed",
    "carried",
    "unchanged",
    "duplicates",
    "resumed",
    "loaded",
    "quarantined",
    "superseded",
    "warnings",
    "graph",
    "batches",
    "land_seconds",
    "process_seconds",
    "error",
    "files",
)


def run_report_from_json(doc: dict[str, Any]) -> RunReport:
    report = RunReport(
        doc["run_id"],
        doc["kind"],
        doc["resolver"],
        datetime.fromisoformat(doc["started_at"]),
        datetime.fromisoformat(doc["finished_at"]) if doc.get("finished_at") else None,
        reference=doc.get("reference") or {},
    )
    for s in doc["sources"]:
        rep = SourceReport(**{k: s[k] for k in _SOURCE_FIELDS if k in s})
        rep.by_reason = Counter(s.get("by_reason") or {})
        rep.warnings_by_code = Counter(s.get("warnings_by_code") or {})
        report.sources.append(rep)
    return report
