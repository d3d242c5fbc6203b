"""Group commit: the entries of concurrent requests share one transaction and one fsync.

An access may not be answered before its entry is durable, so every request waits for the commit
that holds its entry. What need not be paid once per request is the commit itself: while one
thread writes and fsyncs, the entries of the requests that arrive meanwhile queue up, and the next
writer takes the whole queue into one transaction. No background thread: the first waiter to get
the chain lock (the "leader") writes everything queued, the others find their entry already
committed when the lock comes to them, and take their seq (or the leader's error) from it. A
request alone pays exactly one commit, as before; N requests arriving together pay about two.

An entry whose batch failed is retried alone before its request is refused, so one entry the
store refuses cannot take down the entries of other requests that happened to share its batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from auth.audit.event import AuditEvent


@dataclass(eq=False)
class _Slot:
    event: AuditEvent
    seq: int | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class GroupCommit:
    """Entries queued by concurrent callers, written by whichever caller holds `lock`.

    `write(events)` writes a batch in one transaction, all or nothing, and returns the seqs in
    order; it is only ever called with `lock` held, so it may assume it is the process's only
    appender (other processes are kept out by the store's own lock inside the transaction).
    """

    write: Callable[[list[AuditEvent]], list[int]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_batch: int = 500
    _queue: list[_Slot] = field(default_factory=list)
    _queue_lock: threading.Lock = field(default_factory=threading.Lock)
    batches: int = 0
    """Transactions written (for tests and benchmarks: fewer than entries under concurrency)."""

    def append(self, event: AuditEvent) -> int:
        """Queue `event`, wait until a transaction holding it has committed, return its seq."""
        slot = _Slot(event)
        with self._queue_lock:
            self._queue.append(slot)
        with self.lock:
            # More may be queued than one transaction takes, this slot behind them: write batch
            # after batch until it is in one.
            while not slot.done and self._queued(slot):
                self._lead()
        if slot.error is not None:
            raise slot.error
        if slot.seq is None:  # cannot happen: done without an error means written
            raise RuntimeError("audit entry neither written nor refused")
        return slot.seq

    def _queued(self, slot: _Slot) -> bool:
        """Whether `slot` still waits in the queue (a leader stopped between taking a batch and
        marking it done would otherwise leave this caller writing empty batches for ever)."""
        with self._queue_lock:
            return any(s is slot for s in self._queue)

    def _lead(self) -> None:
        """With the lock held: write what is queued (this caller's slot included) and mark it done."""
        with self._queue_lock:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        try:
            seqs = self.write([s.event for s in batch])
            self.batches += 1
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for s in batch:  # one refused entry must not refuse its neighbours
                    try:
                        s.seq = self.write([s.event])[0]
                        self.batches += 1
                    except BaseException as alone:
                        s.error = alone
            for s in batch:
                s.done = True
            return
        for s, seq in zip(batch, seqs, strict=True):
            s.seq, s.done = seq, True
