"""Deciding on quarantined records: dismissing them, with who and why, audited.

A record quarantined for what it says can be replayed from its stored payload once the cause is
fixed (``Pipeline.replay``). A whole file quarantined because it could not be read (``file:<name>``:
an encoding no detector reads, an empty or cut file, a sheet with no header) has no payload to
replay: the source must send the file again, which the next sync reads as a new version. Until the
operator decides, the entry stays on the quarantine list; dismissing it (a duplicate export, a file
put in the folder by mistake) takes it off, keeps the row as ``dismissed`` and records the decision
in ``quarantine_decision`` and in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import Engine, and_, select, update

from auth.audit import AuditEvent, AuditLog
from connectors.tables import LandingRecord, QuarantineDecision
from kernel.db.tables import utcnow

L = LandingRecord.__table__  # type: ignore[attr-defined]
QD = QuarantineDecision.__table__  # type: ignore[attr-defined]
FILE_PREFIX = "file:"


class DismissError(Exception):
    """The request cannot be carried out as asked (the message, in Chinese, says why)."""


@dataclass
class Dismissed:
    seq: int
    source: str
    record_id: str
    reason_code: str | None


def dismiss(
    engine: Engine, seqs: Sequence[int], *, by: str, reason: str, audit: AuditLog | None = None
) -> list[Dismissed]:
    """Dismiss these quarantined landing rows, all or none, with the operator's name and reason.

    The decision and its audit entry are written in one transaction with the status change: a
    dismissal that could not be audited did not happen."""
    by, reason = by.strip(), reason.strip()
    if not reason:
        raise DismissError("请用 --reason 说明为什么撤销隔离（例如：重复导出的文件）")
    if not by:
        raise DismissError("请用 --by 写明操作人")
    wanted = sorted(set(seqs))
    with engine.connect() as conn:
        rows = {
            r.seq: r
            for r in conn.execute(
                select(L.c.seq, L.c.source, L.c.record_id, L.c.status, L.c.reason_code).where(
                    L.c.seq.in_(wanted)
                )
            )
        }
    unknown = [s for s in wanted if s not in rows]
    if unknown:
        raise DismissError(f"没有这些落地记录：{', '.join(map(str, unknown))}")
    not_held = [s for s in wanted if rows[s].status != "quarantined"]
    if not_held:
        states = "，".join(f"{s}（{_STATUS_ZH.get(rows[s].status, rows[s].status)}）" for s in not_held)
        raise DismissError(f"只能撤销处于隔离状态的记录：{states}")
    now = utcnow()
    done = [Dismissed(s, rows[s].source, rows[s].record_id, rows[s].reason_code) for s in wanted]
    event = AuditEvent(
        operation="quarantine.dismiss",
        decision="allow",
        status=200,
        user=by,
        records=tuple(f"landing:{d.seq}" for d in done),
        reasons=tuple(
            dict.fromkeys(
                "quarantine.file" if d.record_id.startswith(FILE_PREFIX) else "quarantine.record"
                for d in done
            )
        ),
        result_size=len(done),
    )
    recorded = audit.writes_recorded(lambda: event) if audit is not None else nullcontext()
    with recorded, engine.begin() as conn:
        changed = conn.execute(
            update(L).where(and_(L.c.seq.in_(wanted), L.c.status == "quarantined")).values(status="dismissed")
        ).rowcount
        if changed != len(wanted):  # another process decided on one of them meanwhile
            raise DismissError("这些记录的状态刚被其他操作改变，请重新查看隔离列表后再试")
        conn.execute(
            QD.insert(),
            [
                {
                    "seq": d.seq,
                    "source": d.source,
                    "record_id": d.record_id,
                    "action": "dismissed",
                    "decided_by": by,
                    "reason": reason,
                    "decided_at": now,
                }
                for d in done
            ],
        )
    return done


_STATUS_ZH = {"loaded": "已入库", "pending": "待处理", "superseded": "已被新版本取代", "dismissed": "已撤销"}
