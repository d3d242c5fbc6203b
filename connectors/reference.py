"""The reference tables (divisions, schools, facilities) as the record keeps them.

A sync loads the reference tables into the graph (Division and School nodes) and keeps the files
as received in ``reference_snapshot``, with where they were read and their hash in the
``reference`` sync cursor, so that a replay checks records against the same codes and a rebuild
takes the graph's divisions and schools from the record rather than from a folder that may have
changed. Apart from the runner because the rebuild (:mod:`connectors.rebuild`) and the graph
commands (``protection.record``) need the snapshot without running a sync.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from connectors.sources import ConnectorsConfig
from connectors.standardise import Reference, utc_from_timestamp
from connectors.tables import LandingRecord, ReferenceSnapshot
from graph.model import division_level
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.db import session
from kernel.db.tables import SyncCursor, utcnow

__all__ = ["REFERENCE_CURSOR", "REFERENCE_FILES", "ReferenceSnapshotMissing", "ensure_reference_snapshot"]

L = LandingRecord.__table__  # type: ignore[attr-defined]
RS = ReferenceSnapshot.__table__  # type: ignore[attr-defined]
REFERENCE_CURSOR = "reference"
REFERENCE_FILES = ("divisions.csv", "schools.csv", "facilities.csv")


def reference_records(ref: Reference, at: datetime) -> tuple[list[NodeRecord], list[RelRecord]]:
    """Division and School nodes (and where they sit) from one version of the reference tables."""
    nodes: list[NodeRecord] = []
    rels: list[RelRecord] = []
    current = {c: d for c, d in ref.divisions.items() if d.status == "current"}
    for code, d in current.items():
        src = Assertion("reference", f"divisions.csv:{code}", at)
        try:
            level = division_level(code).value
        except ValueError:
            level = d.level
        nodes.append(
            NodeRecord(
                f"division:{code}",
                {
                    "code": code,
                    "name": d.name,
                    "level": level,
                    "parent_code": d.parent_code or None,
                    "division": code,
                },
                src,
            )
        )
        if d.parent_code in current:
            rels.append(RelRecord("PART_OF", f"division:{code}", f"division:{d.parent_code}", {}, src))
    for code, sch in ref.schools.items():
        src = Assertion("reference", f"schools.csv:{code}", at)
        nodes.append(
            NodeRecord(
                f"school:{code}",
                {"code": code, "name": sch.name, "kind": sch.kind, "division": sch.township_code},
                src,
            )
        )
        if sch.township_code in current:
            rels.append(RelRecord("LOCATED_IN", f"school:{code}", f"division:{sch.township_code}", {}, src))
    return nodes, rels


def snapshot_reference(files: dict[str, str]) -> Reference:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="shouhu-reference-") as tmp:
        for name, data in files.items():
            if name in REFERENCE_FILES:
                (Path(tmp) / name).write_bytes(base64.b64decode(data))
        return Reference.load(Path(tmp))


class ReferenceSnapshotMissing(Exception):
    """The record has loaded rows read against reference tables it holds no copy of (a data
    directory synced before snapshots were kept) and the tables cannot be found again. The message
    tells the operator what to run (Chinese)."""


def ensure_reference_snapshot(engine: Engine) -> bool:
    """Make sure the reference tables the records were read against are in the record.

    A data directory synced before reference snapshots were kept (migration 0008) has loaded rows
    and the reference cursor but no snapshot, so a rebuild would lack every division and school
    name. The snapshot is taken again from the folder the last sync read when it still holds the
    same tables (same content hash, same export time, so the same provenance); else this refuses.
    True when it took one."""
    with engine.connect() as conn:
        if conn.execute(select(RS.c.id).limit(1)).first() is not None:
            return False
        if conn.execute(select(L.c.seq).where(L.c.status == "loaded").limit(1)).first() is None:
            return False
    with session(engine) as s:
        cur = s.get(SyncCursor, REFERENCE_CURSOR)
    state = reference_state(cur.cursor if cur else None)
    if not state.get("sha256"):
        return False  # no sync ever read reference tables: the graph has none either
    folder = Path(state["path"]) if state.get("path") else None
    if folder is not None and folder.is_dir():
        ref = Reference.load(folder)
        if ref.loaded and ref.content_hash == state["sha256"]:
            files = {
                name: base64.b64encode((folder / name).read_bytes()).decode("ascii")
                for name in REFERENCE_FILES
                if (folder / name).is_file()
            }
            at = reference_time(ConnectorsConfig(reference=folder))
            with engine.begin() as conn:
                snapshot = {"sha256": ref.content_hash, "asserted_at": at, "files": files}
                conn.execute(RS.insert().values(**snapshot, loaded_at=utcnow()))
            return True
    gone = "该目录已不存在" if not (folder and folder.is_dir()) else "其内容已改变"
    where = f"（上次同步读取的是 {folder}，{gone}）"
    raise ReferenceSnapshotMissing(
        "关系库中没有参考表（行政区划、学校、医疗机构）的快照：此数据目录是在保存快照之前同步的"
        + (where if folder else "")
        + "。图无法从记录中完整重建（会缺少行政区划和学校）。请先运行 `shouhu sync --from <导出目录>`"
        "（导出目录中含 reference/ 参考表），同步会补存快照，然后再运行 `shouhu graph rebuild` 或 "
        "`shouhu graph verify`。"
    )


def reference_state(cursor: str | None) -> dict[str, Any]:
    try:
        state = json.loads(cursor or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def last_reference(engine: Engine) -> Path | None:
    """The reference directory the last sync loaded, if it is still there."""
    with session(engine) as s:
        cur = s.get(SyncCursor, REFERENCE_CURSOR)
    path = reference_state(cur.cursor if cur else None).get("path")
    return Path(path) if path and Path(path).is_dir() else None


def reference_time(config: ConnectorsConfig) -> datetime:
    """When the reference tables were exported: their newest file's modification time."""
    if config.reference is None:
        return utcnow()
    times = [p.stat().st_mtime for p in config.reference.glob("*.csv")]
    return utc_from_timestamp(max(times)) if times else utcnow()
