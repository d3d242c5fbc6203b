"""A change and its audit entry in one transaction: the engine hooks that note which tables and row
keys a transaction wrote and append the entry on its own connection just before it commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from auth.audit.event import (
    AuditEvent,
    check_record_id,
)

if TYPE_CHECKING:
    from auth.audit.log import AuditLog  # the log imports this module


# ------------------------------------------------------------------------ changes and their entries

_INTERNAL = "shouhu_audit_internal"
_WRITES = "shouhu_audit_writes"
_DML = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO)\s+\"?(\w+)",
    re.I,
)
_KEY_FORM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,159}")
_TABLE_FORM = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class _Recording:
    log: AuditLog
    event_for: Callable[[], AuditEvent]


_RECORDING: ContextVar[_Recording | None] = ContextVar("shouhu_audit_recording", default=None)


def _note_write(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    """After each statement: if it changed rows while a request is being recorded, remember which
    table (and, where the statement carries it, which row key) on the connection."""
    recording = _RECORDING.get()
    if recording is None or conn.info.get(_INTERNAL) or recording.log.engine.url != conn.engine.url:
        return
    m = _DML.match(statement)
    if m is None:
        return
    verb = statement.lstrip().split(None, 1)[0].lower()
    table_name = m.group(1).lower()
    writes: dict[str, set[str]] = conn.info.setdefault(_WRITES, {"fields": set(), "records": set()})
    if _TABLE_FORM.fullmatch(table_name):
        writes["fields"].add(f"{table_name}.{verb}")
    table = getattr(getattr(getattr(context, "compiled", None), "statement", None), "table", None)
    keys = [c.key for c in getattr(getattr(table, "primary_key", None), "columns", ())]
    if not keys or not _TABLE_FORM.fullmatch(table_name):
        return
    for params in getattr(context, "compiled_parameters", None) or ():
        values = [params.get(k, params.get(f"{k}_1")) for k in keys]
        if all(v is not None for v in values):
            key = ":".join(str(v) for v in values)
            if _KEY_FORM.fullmatch(key):
                writes["records"].add(f"{table_name}:{key}")


def _append_before_commit(conn: Connection) -> None:
    """Just before a transaction that changed rows commits: its audit entry, on its connection.
    Raising here (AuditUnavailable, or ValueError from the event's guard) aborts the commit."""
    writes = conn.info.pop(_WRITES, None)
    recording = _RECORDING.get()
    if not writes or recording is None or conn.info.get(_INTERNAL):
        return
    base = recording.event_for()
    fields = {k: tuple(v) for k, v in base.fields.items()}
    fields["write"] = tuple({*fields.get("write", ()), *writes["fields"]})
    records: set[str] = set(base.records)
    for r in writes["records"]:
        try:
            records.add(check_record_id(r))
        except ValueError:
            continue  # a row keyed by a value is named by its table (in `fields`), not its key
    ev = replace(base, records=tuple(records), fields=fields)  # validated again by __post_init__
    recording.log._append_in_transaction(conn, ev)


def _forget_writes(conn: Connection) -> None:
    conn.info.pop(_WRITES, None)
