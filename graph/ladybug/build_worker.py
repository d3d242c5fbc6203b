"""A rebuild's second core: the spill folded and written to Parquet in a worker process while the
parent COPYs what it wrote before.

A rebuild (and a county's first load, which ends in one) spent its time in two halves that took
turns on one core: folding the spilled records into rows (``Spill.elements``) and writing them to
Parquet, then LadybugDB's ``COPY`` of them (measured at 200,000 persons: fold and write 63 s, COPY
and checkpoints 38 s, one after the other). Here a worker process (``python -m
graph.ladybug.build_worker``, a fresh interpreter: nothing of the parent's memory, threads or open
store is carried into it) opens the settled spill file itself, folds it kind by kind exactly as the
parent would (the same ``Spill.elements``), and writes each kind's rows to Parquet files in the
spill's directory; the parent loads each file as soon as it is told of it (a line of JSON on the
worker's stdout), and ``COPY``s it from the file. The worker runs ahead of the loads by at most
``graph_build_ahead_rows`` rows, and at least one kind (the parent acknowledges each kind loaded on
the worker's stdin): the files on disk are those rows' and at most two kinds'.

Crash safety: the worker writes only into the spill's temporary directory, never into a store. It
asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``) and stops at once when its
stdin closes, so a parent killed with SIGKILL leaves no worker behind; the parent kills the worker
when it stops for any other reason (an error, a COPY failing). The rebuild's new file is then left
half-built beside the graph, as before, and the next rebuild starts it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq

from graph.fold import Spill
from graph.ladybug import queries as q
from graph.model import PropType
from graph.port import GraphStoreError
from kernel.messages import say
from kernel.worker_process import die_with_parent, send, start, stop


class FoldWorker:
    """The parent's side: the worker started on a settled spill, its messages, its acknowledgements."""

    def __init__(self, spill: Spill, chunk: int, ahead: int = 0) -> None:
        spill.settle()  # every record on disk and committed before another connection reads the file
        self._err_path = spill.path / "worker.err"
        with self._err_path.open("wb") as err:
            self._proc = start(
                "graph.ladybug.build_worker",
                [str(spill.path), str(spill.read_chunk), str(chunk), str(os.getpid()), str(ahead)],
                stderr=err,
            )

    def __enter__(self) -> FoldWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> Iterator[dict[str, Any]]:
        """Each message of the worker, until it says it is done; GraphStoreError when it fails or
        stops without saying so (the end of its error output in the message)."""
        lines = self._proc.stdout
        if lines is None:  # (Popen was given stdout=PIPE)
            raise GraphStoreError("the rebuild's worker has no output")
        for line in lines:
            msg: dict[str, Any] = json.loads(line)
            if "error" in msg:
                raise GraphStoreError(msg["error"])
            if msg.get("done"):
                if self._proc.wait() != 0:
                    break
                return
            yield msg
        self._proc.wait()
        raise GraphStoreError(
            say("graph.build_worker.stopped", code=self._proc.returncode, cause=self._cause())
        )

    def _cause(self) -> str:
        """The last line of the worker's error output (a traceback ends with the exception, e.g. a
        full disk's ``OSError``), or "killed by signal N": one line, not the whole traceback."""
        lines = [x.strip() for x in self._err_path.read_text(errors="replace").splitlines() if x.strip()]
        if lines:
            return lines[-1][:300]
        code = self._proc.returncode
        return say("graph.build_worker.signal", signal=-code) if code is not None and code < 0 else ""

    def ack(self) -> None:
        """One more kind loaded: the worker may fold the kind after the one it is folding."""
        if self._proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # it has finished (or failed: its messages say)
                self._proc.stdin.write(b"k\n")
                self._proc.stdin.flush()

    def stop(self) -> None:
        """The worker gone, whatever it was doing (a no-op once it has exited)."""
        stop(self._proc)


def _fold_to_files(spill: Spill, chunk: int, ahead: int, out: IO[bytes], acks: IO[bytes]) -> None:
    """Each kind's rows in Parquet files, as ``LadybugStore.copy_kind`` writes them (``arrow_table`` of
    ``chunk`` rows at a time): nodes a file per ``NODE_FILE_ROWS``, told as each is written;
    relationships a file per end-label pair, told when the kind is done. Kind ``i`` is begun once kind
    ``i - 2`` has been acknowledged as loaded, or earlier while the kinds written and not yet
    acknowledged hold at most ``ahead`` rows (0: never earlier). Ahead, the worker folds on while the
    parent runs a long ``COPY`` (at one kind ahead the two took turns: 10 of 47 s of a 200,000-person
    build the parent waited for the fold, and the worker as long for the loads)."""
    acked = 0
    written: list[int] = []  # the rows of each kind's files
    for idx, (section, kind, rows) in enumerate(spill.elements()):
        while acked < idx - 1 and not (ahead and sum(written[acked:idx]) <= ahead):
            if not acks.readline():
                return  # the parent is gone
            acked += 1
        if section == "node":
            written.append(_node_files(spill.path, kind, rows, chunk, out))
        else:
            written.append(_rel_files(spill.path, kind, rows, chunk, out))
        send(out, {"section": section, "kind": kind, "end": True})
    send(out, {"done": True})


# Rows of a node file (one ``COPY`` each), at most: LadybugDB's node group. A ``COPY`` into a node
# table checkpoints the node groups it wrote, and one that appends to a group an earlier ``COPY``
# wrote rewrites that group whole: in 20,000-row files the 200,000 people of a county took 16 CPU s to
# load, most of it rewriting groups again; in files of a node group, 7.7 s (and 0.24 GB more at the
# peak of the parent, whose ``COPY`` of a group holds it in the buffer pool).
NODE_FILE_ROWS = 1 << 17
# ...and at most this many chunks (``graph_fold_chunk``), which bounds that peak as the setting says.
NODE_FILE_CHUNKS = 8


def _node_files(
    directory: Path, kind: str, rows: Iterator[dict[str, Any]], chunk: int, out: IO[bytes]
) -> int:
    """A node kind's rows, a Parquet file of ``NODE_FILE_ROWS`` rows (or ``NODE_FILE_CHUNKS`` chunks)
    at a time, written ``chunk`` rows at a time (a row group each) and told once written (the parent
    loads it while the next one is folded). Returns the rows written."""
    from graph.ladybug.adapter import arrow_table

    cols = {"id": PropType.STRING, **q.node_columns(kind)}
    per_file = min(NODE_FILE_ROWS, chunk * NODE_FILE_CHUNKS)
    batch: list[dict[str, Any]] = []
    part = total = 0
    writer: _NodeFile | None = None
    for row in rows:
        batch.append(row)
        if len(batch) >= min(chunk, per_file - (writer.rows if writer else 0)):
            writer = writer or _NodeFile(directory / f"fold-node-{kind}-{part}.parquet")
            writer.write(arrow_table(batch, cols))
            batch = []
            if writer.rows >= per_file:
                total += writer.close(kind, out)
                part, writer = part + 1, None
    if batch:
        writer = writer or _NodeFile(directory / f"fold-node-{kind}-{part}.parquet")
        writer.write(arrow_table(batch, cols))
    if writer is not None:
        total += writer.close(kind, out)
    return total


class _NodeFile:
    """One node file being written, a row group at a time."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows = path, 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: Any) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="none", use_dictionary=False)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self, kind: str, out: IO[bytes]) -> int:
        """Closed and told to the parent; its rows."""
        if self._writer is not None:
            self._writer.close()
        send(out, {"section": "node", "kind": kind, "file": str(self.path), "rows": self.rows})
        return self.rows


def _rel_files(directory: Path, kind: str, rows: Iterator[dict[str, Any]], chunk: int, out: IO[bytes]) -> int:
    """A relationship type's rows, a Parquet file per end-label pair written ``chunk`` rows at a
    time (``copy_kind``'s files), told when the type is done (one ``COPY`` per file)."""
    from graph.ladybug.adapter import write_rel_files

    total = 0
    for pair, (path, n) in write_rel_files(directory, "copy-rel", kind, rows, chunk).items():
        send(out, {"section": "rel", "kind": kind, "file": str(path), "rows": n, "pair": pair})
        total += n
    return total


def main(argv: list[str]) -> int:
    """``python -m graph.ladybug.build_worker SPILL_DIR READ_CHUNK CHUNK PARENT_PID AHEAD_ROWS``."""
    import gc

    directory, read_chunk, chunk, parent = Path(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    ahead = int(argv[4])
    die_with_parent(parent)
    gc.disable()  # as the parent's fold (kernel.collector): no cycles are made, only many objects
    out, acks = sys.stdout.buffer, sys.stdin.buffer
    spill = Spill(read_chunk=read_chunk, written=directory)
    try:
        _fold_to_files(spill, chunk, ahead, out, acks)
    except BrokenPipeError:
        return 1  # the parent is gone
    except GraphStoreError as exc:
        send(out, {"error": str(exc)})
        return 1
    except OSError as exc:  # a full disk: the error output, a file on that disk, may not take the traceback
        with contextlib.suppress(BrokenPipeError):
            cause = f"{type(exc).__name__}: {exc}"[:300]
            send(out, {"error": say("graph.build_worker.stopped", code=1, cause=cause)})
        return 1
    finally:
        spill.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
