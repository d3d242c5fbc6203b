"""The audit log's tables, its error, and the base every part of `AuditLog` builds on: the engine,
reading an entry by seq, and turning a store failure into `AuditUnavailable` (one line, no password).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from auth.audit.chain import Anchor
from auth.audit.event import (
    HASHED_COLUMNS,
)
from auth.audit.model import AuditEntry, AuditRecord, Notification
from kernel.db.engine import describe
from kernel.messages import say

T = TypeVar("T")
MAX_PAGE = 1000
NOTIFIED_DECISIONS = ("allow", "partial")
"""Entries that gave the caller data. Refused or failed requests saw nothing, so the owner is not told;
auditors find those through `denied_attempts`."""

ENTRY_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
RECORD_TABLE = AuditRecord.__table__  # type: ignore[attr-defined]
_notification = Notification.__table__  # type: ignore[attr-defined]
ENTRY_COLUMNS = [ENTRY_TABLE.c[name] for name in (*HASHED_COLUMNS, "hash")]
EXPORT_COLUMNS: tuple[str, ...] = (*HASHED_COLUMNS, "hash")
"""Column order of CSV exports (JSONL lines have the same keys, sorted)."""


class AuditUnavailable(Exception):
    """The audit store cannot be written (or read). One line, no password. The API must treat it as
    "do not serve": a sensitive read that cannot be audited is refused."""


class AuditStore:
    """The audit log's engine, reading one entry by seq, and the error mapping every part shares."""

    def __init__(self, engine: Engine, *, durable: bool = True) -> None:
        self.engine = engine
        self.durable = durable
        self._sqlite = engine.dialect.name == "sqlite"
        self._postgres = engine.dialect.name == "postgresql"
        self._local_lock = threading.Lock()  # the chain lock within this process
        self._hooks_lock = threading.Lock()
        self._hooks_installed = False
        self._raw: Any = None  # SQLite: the DBAPI connection appends go through (see AuditLog._writer)
        self._raw_owner: Any = None

    def head(self) -> Anchor | None:
        """The newest entry's (seq, hash), to publish as an anchor; None for an empty log."""
        with self._errors("read"), self.engine.connect() as conn:
            row = conn.execute(
                select(ENTRY_TABLE.c.seq, ENTRY_TABLE.c.hash).order_by(ENTRY_TABLE.c.seq.desc()).limit(1)
            ).first()
        return Anchor(row[0], row[1]) if row is not None else None

    def _hash_at(self, seq: int) -> str | None:
        with self._errors("read"), self.engine.connect() as conn:
            return conn.execute(select(ENTRY_TABLE.c.hash).where(ENTRY_TABLE.c.seq == seq)).scalar()

    def get(self, seq: int) -> AuditEntry | None:
        with self._errors("read"), Session(self.engine) as s:
            return s.get(AuditEntry, seq)

    # ------------------------------------------------------------------------------------- internals

    @contextmanager
    def _errors(self, verb: Literal["read", "write"]) -> Iterator[None]:
        """Store failures inside the block become `AuditUnavailable`, said as ``audit.unavailable.<verb>``."""
        try:
            yield
        except AuditUnavailable:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise self._unavailable(verb, exc) from exc
        except Exception as exc:
            dbapi = getattr(self.engine.dialect, "loaded_dbapi", None)
            if dbapi is not None and isinstance(exc, dbapi.Error):
                raise self._unavailable(verb, exc) from exc
            raise

    def _unavailable(self, verb: str, exc: BaseException) -> AuditUnavailable:
        reason = _cause(exc, self.engine)
        return AuditUnavailable(say(f"audit.unavailable.{verb}", where=self._where(), reason=reason))

    def _where(self) -> str:
        return describe(self.engine.url)


def _cause(exc: BaseException, engine: Engine) -> str:
    """The driver's message on one line, with the password scrubbed."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    line = (
        re.sub(r"\s+", " ", "; ".join(p.strip() for p in text.splitlines() if p.strip()))
        or type(exc).__name__
    )
    password = engine.url.password
    if password:
        line = line.replace(str(password), "***")
    return line
