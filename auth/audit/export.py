"""The log out and back in: JSONL and CSV exports (columns in `EXPORT_COLUMNS`) and the readers that
turn an export back into rows for `verify_rows`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import IO, Any

from sqlalchemy import and_, select

from auth.audit.event import (
    canonical_json,
    hashed_view,
)
from auth.audit.queries import aware_bound
from auth.audit.store import ENTRY_COLUMNS, ENTRY_TABLE, EXPORT_COLUMNS, AuditStore
from kernel.messages import say


class AuditExport(AuditStore):
    """The log as rows, JSONL or CSV, for auditors' own tools."""

    # ------------------------------------------------------------------------------------- exporting

    def iter_rows(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        agency_id: str | None = None,
        batch: int = 5000,
    ) -> Iterator[dict[str, Any]]:
        """Entries as export dicts (JSON types, `at` as text), in seq order, read `batch` at a time."""
        after = 0
        conds = []
        if since is not None:
            conds.append(ENTRY_TABLE.c.at >= aware_bound(since, say("audit.bound.since")))
        if until is not None:
            conds.append(ENTRY_TABLE.c.at < aware_bound(until, say("audit.bound.until")))
        if agency_id is not None:
            conds.append(ENTRY_TABLE.c.agency_id == agency_id)
        while True:
            with self._errors("read"), self.engine.connect() as conn:
                rows = (
                    conn.execute(
                        select(*ENTRY_COLUMNS)
                        .where(and_(ENTRY_TABLE.c.seq > after, *conds))
                        .order_by(ENTRY_TABLE.c.seq)
                        .limit(batch)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            for row in rows:
                yield _export_row(row)
            after = rows[-1]["seq"]

    def export_jsonl(self, fp: IO[str], **filters: Any) -> int:
        """One JSON object per line (sorted keys), streaming; filters as `iter_rows`. Returns the count.

        An unfiltered export can be re-verified offline with `verify_rows(read_jsonl(fp))`.
        """
        n = 0
        for row in self.iter_rows(**filters):
            fp.write(canonical_json(row) + "\n")
            n += 1
        return n

    def export_csv(self, fp: IO[str], **filters: Any) -> int:
        """CSV with a header row; lists and objects JSON-encoded, booleans true/false, null as empty."""
        writer = csv.writer(fp, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        n = 0
        for row in self.iter_rows(**filters):
            writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS])
            n += 1
        return n


# ----------------------------------------------------------------------------------- export reading


_INT_COLUMNS = {"seq", "result_size", "status"}
_JSON_COLUMNS = {"records", "fields", "reasons"}


def read_jsonl(fp: IO[str]) -> Iterator[dict[str, Any]]:
    """Rows of an `export_jsonl` file."""
    for line in fp:
        if line.strip():
            yield json.loads(line)


def read_csv(fp: IO[str]) -> Iterator[dict[str, Any]]:
    """Rows of an `export_csv` file, typed as `read_jsonl` gives them."""
    reader = csv.DictReader(fp)
    for raw in reader:
        row: dict[str, Any] = {}
        for k, v in raw.items():
            if k in _INT_COLUMNS:
                row[k] = int(v)
            elif k in _JSON_COLUMNS:
                row[k] = json.loads(v)
            elif k == "break_glass":
                row[k] = v == "true"
            else:
                row[k] = v if v != "" else None
        yield row


def _export_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = hashed_view(row)
    out["hash"] = row["hash"]
    return out


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return canonical_json(value)
    return str(value)
