"""Group commit when more entries are queued than one transaction takes (`max_batch`).

The leader writes the first `max_batch` queued entries. Its own entry may be further back in the
queue (a burst of requests queued behind a long commit): it must still be written before its
request is answered, not refused as "neither written nor refused" and left behind in the queue to
be written later for a request that was never answered.
"""

from __future__ import annotations

from auth.audit import AuditEvent
from auth.audit.commit import GroupCommit, _Slot


def _event(i: int) -> AuditEvent:
    return AuditEvent(operation=f"query Q{i}", decision="allow", status=200, request_id=f"r{i:06d}")


def test_an_entry_behind_a_full_batch_is_written_before_its_request_returns() -> None:
    written: list[list[str]] = []

    def write(batch: list[AuditEvent]) -> list[int]:
        start = sum(len(b) for b in written) + 1
        written.append([e.request_id or "" for e in batch])
        return list(range(start, start + len(batch)))

    group = GroupCommit(write, max_batch=2)
    # Two requests queued ahead of this one while another request's commit ran; their threads
    # have not yet had the lock.
    ahead = [_Slot(_event(1)), _Slot(_event(2))]
    group._queue.extend(ahead)
    seq = group.append(_event(3))
    assert seq == 3
    assert written == [["r000001", "r000002"], ["r000003"]]
    assert all(s.done and s.seq for s in ahead)
    assert group._queue == []
