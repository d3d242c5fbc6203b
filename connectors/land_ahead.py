"""Landing one source (:func:`land_source`), and landing a first load's later sources in a worker
process while the runner processes the earlier ones (:class:`LandAhead`).

Why a worker: a county's first load spent a seventh of its time landing (200,000 persons: 34 s of
263, the register 7 s, the health bundles 21 s) on one core while the other idled, and then processed
what it had landed on that same core. Landing a source and processing another touch different rows
(each source's batches, household groups and references stay within the source), so the later
sources can land while the first is processed: the runner lands its first source itself, then a
worker (``python -m connectors.land_ahead``, a fresh interpreter: nothing of the parent's open stores
or threads is carried into it) lands the others in order, with the same :func:`land_source`, and
the runner takes each one's result when it reaches it.

Only in a first load whose first source alone already makes it one (``Pipeline._defer_graph``):
what the run does then does not depend on how far the worker has got (the deferral only grows as
more lands), and a daily sync, small, lands in-process as before.

Nothing is lost or counted twice: the worker commits each chunk of landing rows and then the
source's cursor, as the runner does; it dies with its parent (``PR_SET_PDEATHSIG``), so a killed run
leaves what any killed landing leaves (the next run finds the rows it landed by their hash). If the
worker stops or fails, the runner lands what it has not taken itself (idempotent, by hash), counting
the rows the worker landed for a source as resumed, as a killed run's would be.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from connectors import landing
from connectors.landing import ReadFailed
from connectors.sources import SourceConfig, make_source
from connectors.sources.base import Source, SourceFolderError
from graph.crash import crash_point
from kernel.db import write_session
from kernel.db.tables import SyncCursor, utcnow
from kernel.messages import number, say
from kernel.settings import get_settings
from kernel.worker_process import Lines, die_with_parent, send, start, stop

__all__ = ["LandAhead", "Landed", "land_source", "read_failure"]

log = logging.getLogger("shouhu.sync")


@dataclass
class Landed:
    """What landing one source did: the run report's landing counters and file notes."""

    received: int = 0
    landed: int = 0
    carried: int = 0
    unchanged: int = 0
    duplicates: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the read failed (the report's line); what it read was landed
    seconds: float = 0.0


def land_source(
    engine: Engine,
    src: Source,
    run_id: str,
    where: str,
    *,
    chunk: int,
    on_chunk: Callable[[int], None] | None = None,
) -> Landed:
    """Read ``src`` after its cursor, land every record, then move the cursor (not after a failed
    read: the next one starts where the last complete read ended and finds what this one landed by
    its hash, unchanged, so no unread record is skipped)."""
    started = time.perf_counter()
    with write_session(engine) as s:
        cur = s.get(SyncCursor, src.name)
        cursor = cur.cursor if cur else None
    error: str | None = None
    try:
        counts = landing.land(engine, src.name, run_id, src.read(cursor), chunk_size=chunk, on_chunk=on_chunk)
    except ReadFailed as exc:  # the source is unreachable or unreadable: report, go on
        counts, error = exc.counts, read_failure(src, where, exc)
    with write_session(engine) as s:  # the lock at BEGIN: another process may be writing (LandAhead)
        cur = s.get(SyncCursor, src.name) or SyncCursor(source=src.name, cursor="")
        if src.next_cursor is not None and error is None:
            cur.cursor = src.next_cursor
        cur.records_seen += counts.received
        cur.updated_at = utcnow()
        s.add(cur)
    return Landed(
        counts.received,
        counts.landed,
        counts.carried,
        counts.unchanged,
        counts.duplicates,
        [f.as_json() for f in src.files],
        error,
        time.perf_counter() - started,
    )


def read_failure(src: Source, where: str, failed: ReadFailed) -> str:
    """What the report says of a read that failed: where (the file being read, and after how many
    of its records; or the source) and why, in the catalogue's words. The exception's own text is
    not shown: a parser's may quote the record it stopped at (a child's name, an ID number); its
    kind is, and an operating system error's description."""
    cause = failed.cause
    if isinstance(cause, SourceFolderError):
        return str(cause)
    reason = type(cause).__name__
    if isinstance(cause, OSError) and cause.strerror:
        reason = f"{reason}（{cause.strerror}）"
    # A folder source notes each file as it starts reading it: the last one still "read" is the
    # one the read stopped in.
    note = src.files[-1] if src.files and src.files[-1].status == "read" else None
    if note is None:
        return say("sync.read_failed", where=where, records=number(failed.counts.received), reason=reason)
    note.status = "stopped"
    note.reason = say("sync.read_failed.note", records=number(note.records), reason=reason)
    return say("sync.read_failed.file", file=note.file, records=number(note.records), reason=reason)


# ---- the runner's side ---------------------------------------------------------------------------


class LandAhead:
    """A worker landing ``configs`` in order; :meth:`take` each source's result in that order."""

    def __init__(self, engine: Engine, configs: list[SourceConfig], run_id: str, chunk: int) -> None:
        job = {
            "url": engine.url.render_as_string(hide_password=False),  # on the pipe, never on argv
            "run_id": run_id,
            "chunk": chunk,
            "sources": [_config_json(sc) for sc in configs],
        }
        self._proc = start("connectors.land_ahead", [str(os.getpid())], own_points="land_ahead.worker")
        try:
            stdin = self._proc.stdin  # a pipe (start's)
            if stdin is not None:
                with contextlib.suppress(BrokenPipeError):  # it failed at once: take() says so
                    stdin.write(json.dumps(job).encode() + b"\n")
                    stdin.close()
            self._messages = Lines(self._proc.stdout)  # a thread: can fail where the fork could not
        except BaseException:  # no worker half started: the caller lands the sources itself
            stop(self._proc)
            raise
        self._stopped = False

    def take(
        self,
        name: str,
        on_chunk: Callable[[int], None] | None = None,
        tick: Callable[[], None] | None = None,
    ) -> Landed | None:
        """The worker's result for ``name``, waiting for it (``on_chunk(n)`` as its chunks land,
        ``tick()`` every second: a stop request ends the wait), or None when the worker stopped
        before landing it or went silent (``sync_worker_silence_seconds``): the caller then lands
        it itself."""
        silence = get_settings().sync_worker_silence_seconds
        while not self._stopped:
            try:
                msg = self._messages.wait(silence, tick)
            except TimeoutError:
                self._stop_with({"error": f"no word for {silence:g} s"})
                break
            if msg is None or "error" in msg or msg.get("source") != name:
                self._stop_with(msg)
                break
            if "chunk" in msg:
                if on_chunk:
                    on_chunk(int(msg["chunk"]))
                continue
            return Landed(**msg["landed"])
        return None

    def _stop_with(self, msg: dict[str, Any] | None) -> None:
        self.stop()  # reaped: its exit code is known
        why = (msg or {}).get("error") or f"exit code {self._proc.returncode}"
        log.warning("the landing worker stopped (%s); this process lands the sources it had not", why)

    def stop(self) -> None:
        """The worker gone, whatever it was doing (a no-op once it has exited)."""
        self._stopped = True
        stop(self._proc, self._messages)

    def __enter__(self) -> LandAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _config_json(sc: SourceConfig) -> dict[str, Any]:
    return {
        "name": sc.name,
        "path": None if sc.path is None else str(sc.path),
        "url": sc.url,
        "page_size": sc.page_size,
    }


# ---- the worker ----------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """``python -m connectors.land_ahead PARENT_PID``, the job (JSON) on stdin."""
    import gc

    from kernel.db import make_engine
    from kernel.logs import withhold_exception_text

    die_with_parent(int(argv[0]))
    withhold_exception_text(get_settings())
    gc.disable()  # as landing's own pause (kernel.collector): a read makes no cycles, many objects
    out = sys.stdout.buffer
    job = json.loads(sys.stdin.buffer.readline())
    engine = make_engine(job["url"])
    try:
        for c in job["sources"]:
            path = Path(c["path"]) if c["path"] else None
            sc = SourceConfig(c["name"], path=path, url=c["url"], page_size=int(c["page_size"]))
            name = sc.name

            def chunk_landed(n: int, name: str = name) -> None:
                send(out, {"source": name, "chunk": n})
                crash_point("land_ahead.worker")

            landed = land_source(
                engine,
                make_source(sc),
                job["run_id"],
                sc.where(),
                chunk=int(job["chunk"]),
                on_chunk=chunk_landed,
            )
            send(out, {"source": name, "landed": asdict(landed)})
    except BrokenPipeError:
        return 1  # the parent is gone
    except Exception as exc:  # the kind only: the text may quote a record
        with contextlib.suppress(BrokenPipeError):
            send(out, {"error": type(exc).__name__})
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
