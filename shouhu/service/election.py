"""Which process runs the background workers.

Embedded mode (LadybugDB, SQLite): the one process that owns the files; there is no one else.

Scale-out mode (PostgreSQL + Neo4j): several API worker processes share the stores and exactly one of
them runs the connector schedule, the derived-state queue and the outbox. It is chosen by a
PostgreSQL session-level advisory lock: the process that holds it leads, for as long as its database
session lives. A leader that dies loses its session, hence the lock, and a follower that tries again
takes over within ``retry_seconds``. No lease to renew and no clock to trust: the database ends the
session of a dead process (TCP keepalive, or at once when the process exits).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

log = logging.getLogger("shouhu.service")

LOCK_KEY = 0x5348_4F55_4855  # "SHOUHU": one key per database, so one leader per deployment


class Election:
    """Try to lead; call ``on_elected`` once when this process becomes the leader."""

    def __init__(
        self,
        engine: Engine,
        on_elected: Callable[[], None],
        on_lost: Callable[[], None] | None = None,
        *,
        retry_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.on_elected = on_elected
        self.on_lost = on_lost
        self.retry_seconds = retry_seconds
        self.leader = False
        self._conn: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def embedded(self) -> bool:
        return self.engine.dialect.name != "postgresql"

    def start(self) -> None:
        """Lead at once if this is the embedded store or the lock is free; else keep trying in a thread."""
        if self.embedded:
            self._elected()
            return
        # Its own connection, outside the pool: the lock belongs to the database session, and a pooled
        # connection handed back would keep it after this process gave the lead up.
        self._lock_engine = create_engine(self.engine.url, poolclass=NullPool)
        if self.try_lead():
            self._elected()
        else:
            log.info("another process runs the background workers; this one serves the API and stands by")
        self._thread = threading.Thread(target=self._watch, name="leader-election", daemon=True)
        self._thread.start()

    def try_lead(self) -> bool:
        """One attempt at the advisory lock, on a connection kept open while this process leads."""
        conn = self._lock_engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
            conn.commit()  # the lock is the session's, not the transaction's; end the transaction
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _watch(self) -> None:
        """Follower: try again every ``retry_seconds``. Leader: check the session that holds the lock
        still lives; when it is gone (database restarted, connection cut) another process may already
        lead, so this one stops its workers and stands by."""
        while not self._stop.wait(self.retry_seconds):
            try:
                if not self.leader:
                    if self.try_lead():
                        self._elected()
                    continue
                if self._conn is None:
                    raise RuntimeError("leading without a session")
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
            except Exception:
                if self.leader:
                    log.error("the leader's database session is gone; stopping the background workers")
                    self._lost()
                else:  # the database is away for a while: stand by and try again
                    log.warning("leader election attempt failed; trying again")

    def _lost(self) -> None:
        self.leader = False
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing a lost session failed")
            self._conn = None
        if self.on_lost is not None:
            self.on_lost()

    def _elected(self) -> None:
        self.leader = True
        log.info("this process runs the background workers (%s)", "embedded" if self.embedded else "elected")
        self.on_elected()

    def stop(self) -> None:
        """Give up the lead (closing the session releases the lock) and stop trying."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.retry_seconds + 5)
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            except Exception:  # closing the session releases it anyway
                log.warning("advisory unlock failed; the session's end releases the lock")
            finally:
                self._conn.close()
                self._conn = None
        self.leader = False
        if getattr(self, "_lock_engine", None) is not None:
            self._lock_engine.dispose()
