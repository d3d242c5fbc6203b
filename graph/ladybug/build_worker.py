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
worker's stdout). The worker runs at most one kind ahead of the loads (the parent acknowledges each
kind loaded on the worker's stdin), so the files on disk are at most two kinds'.

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

    def __init__(self, spill: Spill, chunk: int) -> None:
        spill.settle()  # every record on disk and committed before another connection reads the file
        self._err_path = spill.path / "worker.err"
        with self._err_path.open("wb") as err:
            self._proc = start(
                "graph.ladybug.build_worker",
                [str(spill.path), str(spill.read_chunk), str(chunk), str(os.getpid())],
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


def _fold_to_files(spill: Spill, chunk: int, out: IO[bytes], acks: IO[bytes]) -> None:
    """Each kind's rows in Parquet files, as ``LadybugStore.copy_kind`` writes them (``arrow_table`` of
    ``chunk`` rows at a time): nodes a file per chunk, told as each is written; relationships a file
    per end-label pair, told when the kind is done. Kind ``i`` is begun only once kind ``i - 2`` has
    been acknowledged as loaded."""
    acked = 0
    for idx, (section, kind, rows) in enumerate(spill.elements()):
        while acked < idx - 1:
            if not acks.readline():
                return  # the parent is gone
            acked += 1
        if section == "node":
            _node_files(spill.path, kind, rows, chunk, out)
        else:
            _rel_files(spill.path, kind, rows, chunk, out)
        send(out, {"section": section, "kind": kind, "end": True})
    send(out, {"done": True})


def _node_files(
    directory: Path, kind: str, rows: Iterator[dict[str, Any]], chunk: int, out: IO[bytes]
) -> None:
    """A node kind's rows, a Parquet file of ``chunk`` rows at a time, each told as it is written
    (the parent loads it, as ``copy_kind`` loads a chunk, while the next one is folded)."""
    from graph.ladybug.adapter import arrow_table

    cols = {"id": PropType.STRING, **q.node_columns(kind)}
    batch: list[dict[str, Any]] = []
    part = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            _node_file(directory / f"fold-node-{kind}-{part}.parquet", kind, arrow_table(batch, cols), out)
            part, batch = part + 1, []
    if batch:
        _node_file(directory / f"fold-node-{kind}-{part}.parquet", kind, arrow_table(batch, cols), out)


def _node_file(path: Path, kind: str, table: Any, out: IO[bytes]) -> None:
    pq.write_table(table, path, compression="none")
    send(out, {"section": "node", "kind": kind, "file": str(path), "rows": table.num_rows})


def _rel_files(
    directory: Path, kind: str, rows: Iterator[dict[str, Any]], chunk: int, out: IO[bytes]
) -> None:
    """A relationship type's rows, a Parquet file per end-label pair written ``chunk`` rows at a
    time (``copy_kind``'s files), told when the type is done (one ``COPY`` per file)."""
    from graph.ladybug.adapter import write_rel_files

    for pair, (path, n) in write_rel_files(directory, "copy-rel", kind, rows, chunk).items():
        send(out, {"section": "rel", "kind": kind, "file": str(path), "rows": n, "pair": pair})


def main(argv: list[str]) -> int:
    """``python -m graph.ladybug.build_worker SPILL_DIR READ_CHUNK CHUNK PARENT_PID``."""
    import gc

    directory, read_chunk, chunk, parent = Path(argv[0]), int(argv[1]), int(argv[2]), int(argv[3])
    die_with_parent(parent)
    gc.disable()  # as the parent's fold (kernel.collector): no cycles are made, only many objects
    out, acks = sys.stdout.buffer, sys.stdin.buffer
    spill = Spill(read_chunk=read_chunk, written=directory)
    try:
        _fold_to_files(spill, chunk, out, acks)
    except BrokenPipeError:
        return 1  # the parent is gone
    except GraphStoreError as exc:
        send(out, {"error": str(exc)})
        return 1
    finally:
        spill.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
