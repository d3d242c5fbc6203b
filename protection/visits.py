"""Screening visits (定期走访, 寒暑假排查): schedules per village, and recording a visit safely offline.

A village supervisor records visits from a phone that is often offline. Two rules make that
safe:

* **Idempotent by the device's id.** Each entry carries a client-generated id; sending it
  again (the offline queue retrying) returns the first outcome and writes nothing.
* **Optimistic concurrency, never last-write-wins.** The device sends the version of the
  child's visit record it last saw (``base_version``). If the record has moved on since
  (another supervisor, or the same one from another device), nothing is written: the entry
  is held as a conflict with both sides, and ``resolve`` applies the supervisor's choice.

A recorded visit is also projected into the graph as a Visit node CONCERNS the child (its
findings as a comma-separated string of codes), so profiles, missed-report detection and
the classification read it; the child is then reclassified.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from graph.model import DivisionLevel, division_level, division_prefix
from graph.port import GraphStore, GraphStoreError
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from kernel.db.tables import utcnow
from kernel.messages import say
from protection.screening_config import config
from protection.screening_tables import (
    ChildClassification,
    ChildVisitState,
    VisitConflict,
    VisitRecord,
)

log = logging.getLogger("shouhu.protection.visits")
MAX_NOTES = 2000
CHOICES: tuple[str, ...] = ("keep_mine", "keep_theirs", "merge")


class VisitError(ValueError):
    """Invalid visit input or action; ``code`` is the GraphQL error code."""

    def __init__(self, message: str, code: str = "BAD_REQUEST", reason: str = "invalid_input") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class VisitInput:
    client_id: str
    person_id: str
    visited_on: date
    findings: tuple[str, ...]
    living_arrangement: str
    notes: str | None
    base_version: int

    def fields(self) -> dict[str, Any]:
        return {
            "visited_on": self.visited_on.isoformat(),
            "findings": sorted(self.findings),
            "living_arrangement": self.living_arrangement,
            "notes": self.notes,
        }

    def digest(self) -> str:
        body = {"person_id": self.person_id, "base_version": self.base_version, **self.fields()}
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Outcome:
    status: str  # recorded | duplicate | conflict | discarded
    state: ChildVisitState | None
    visit: VisitRecord | None = None
    conflict: VisitConflict | None = None


def validate(inp: VisitInput, today: date | None = None) -> None:
    cfg = config()
    if not inp.client_id or len(inp.client_id) > 64 or not inp.client_id.replace("-", "").isalnum():
        raise VisitError(say("visit.client_id"))
    unknown = [f for f in inp.findings if f not in cfg.findings]
    if unknown:
        raise VisitError(say("workflow.unknown_value", field="finding", allowed=", ".join(cfg.findings)))
    if inp.living_arrangement not in cfg.arrangements:
        raise VisitError(
            say("workflow.unknown_value", field="livingArrangement", allowed=", ".join(cfg.arrangements))
        )
    if inp.visited_on > (today or clock.today()) + timedelta(days=1):
        raise VisitError(say("visit.in_future"))
    if inp.base_version < 0:
        raise VisitError(say("visit.base_version_negative"))
    if inp.notes is not None and len(inp.notes) > MAX_NOTES:
        raise VisitError(say("visit.notes_too_long", limit=MAX_NOTES))


def _state_fields(state: ChildVisitState | None) -> dict[str, Any]:
    if state is None:
        return {"version": 0, "visited_on": None, "findings": [], "living_arrangement": None, "notes": None}
    return {
        "version": state.version,
        "visited_on": state.visited_on.isoformat() if state.visited_on else None,
        "findings": list(state.findings or []),
        "living_arrangement": state.living_arrangement,
        "notes": state.notes,
    }


def _get_state(conn: Any, person_id: str) -> ChildVisitState | None:
    T = ChildVisitState.__table__  # type: ignore[attr-defined]
    row = conn.execute(select(T).where(T.c.person_id == person_id)).first()
    return ChildVisitState(**row._mapping) if row else None


def current_state(engine: Engine, person_id: str) -> ChildVisitState | None:
    with engine.connect() as conn:
        return _get_state(conn, person_id)


def history(engine: Engine, person_id: str, limit: int = 50) -> list[VisitRecord]:
    T = VisitRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(T).where(T.c.person_id == person_id).order_by(T.c.version.desc()).limit(limit)
        )
        return [VisitRecord(**r._mapping) for r in rows]


ADULT_AGE = 18


def _refuse_adult(store: GraphStore, inp: VisitInput) -> None:
    """Screening visits are for children: a person 18 or older on the visit date is refused."""
    node = store.get_nodes([inp.person_id]).get(inp.person_id)
    born = node.props.get("birth_date") if node is not None else None
    try:
        b = date.fromisoformat(str(born)[:10]) if born else None
    except ValueError:
        b = None
    if b is not None:
        v = inp.visited_on
        age = v.year - b.year - ((v.month, v.day) < (b.month, b.day))
        if age >= ADULT_AGE:
            raise VisitError(say("visit.adult", age=ADULT_AGE), "BAD_REQUEST", "adult")


def record(
    engine: Engine,
    store: GraphStore,
    inp: VisitInput,
    *,
    division: str,
    visitor: str,
    recorded_by: str,
) -> Outcome:
    """Record a visit, or report the replay or the conflict; writes nothing on a conflict."""
    validate(inp)
    _refuse_adult(store, inp)
    digest = inp.digest()
    V = VisitRecord.__table__  # type: ignore[attr-defined]
    C = VisitConflict.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        seen = conn.execute(select(V).where(V.c.client_id == inp.client_id)).first()
        if seen is not None:
            if seen.payload_hash != digest:
                raise VisitError(say("visit.client_id_reused"), "CONFLICT", "client_id_reused")
            return Outcome("duplicate", _get_state(conn, inp.person_id), VisitRecord(**seen._mapping))
        held = conn.execute(select(C).where(C.c.client_id == inp.client_id)).first()
        if held is not None:
            if held.payload_hash != digest:
                raise VisitError(say("visit.client_id_reused"), "CONFLICT", "client_id_reused")
            return Outcome(
                "conflict", _get_state(conn, inp.person_id), conflict=VisitConflict(**held._mapping)
            )
        state = _get_state(conn, inp.person_id)
        version = state.version if state else 0
        if inp.base_version != version:
            conflict = VisitConflict(
                client_id=inp.client_id,
                person_id=inp.person_id,
                division=division,
                base_version=inp.base_version,
                current_version=version,
                proposed={**inp.fields(), "visitor": visitor},
                current=_state_fields(state),
                payload_hash=digest,
                status="open",
                raised_by=recorded_by,
                raised_at=utcnow(),
            )
            key = conn.execute(C.insert().values(**_cols(conflict, C))).inserted_primary_key
            if key is None:
                raise RuntimeError("the conflict row was inserted without a key")
            conflict.id = int(key[0])
            return Outcome("conflict", state, conflict=conflict)
        visit, new_state = _apply(
            conn, store, inp, inp.fields(), division, visitor, recorded_by, digest, version
        )
    _reclassify(store, engine, inp.person_id)
    return Outcome("recorded", new_state, visit)


def _cols(obj: Any, table: Any) -> dict[str, Any]:
    return {c.name: getattr(obj, c.name) for c in table.columns if getattr(obj, c.name) is not None}


def _apply(
    conn: Any,
    store: GraphStore,
    inp: VisitInput,
    fields: dict[str, Any],
    division: str,
    visitor: str,
    recorded_by: str,
    digest: str,
    version: int,
) -> tuple[VisitRecord, ChildVisitState]:
    """Write the visit and move the child's record to the next version, then project it."""
    V = VisitRecord.__table__  # type: ignore[attr-defined]
    S = ChildVisitState.__table__  # type: ignore[attr-defined]
    findings = sorted(
        set(fields["findings"]) | ({"living_alone"} if fields["living_arrangement"] == "alone" else set())
    )
    visited_on = date.fromisoformat(fields["visited_on"])
    now = utcnow()
    visit = VisitRecord(
        client_id=inp.client_id,
        person_id=inp.person_id,
        division=division,
        visited_on=visited_on,
        visitor=visitor,
        findings=findings,
        living_arrangement=fields["living_arrangement"],
        notes=fields["notes"],
        payload_hash=digest,
        version=version + 1,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    conn.execute(V.insert().values(**_cols(visit, V)))
    state = ChildVisitState(
        person_id=inp.person_id,
        version=version + 1,
        division=division,
        last_visit_id=inp.client_id,
        visited_on=visited_on,
        findings=findings,
        living_arrangement=fields["living_arrangement"],
        notes=fields["notes"],
        updated_by=recorded_by,
        updated_at=now,
    )
    values = {c.name: getattr(state, c.name) for c in S.columns}
    if version == 0:
        conn.execute(S.insert().values(**values))
    else:
        # The version in the WHERE makes a concurrent writer that read the same version lose.
        done = conn.execute(
            S.update().where((S.c.person_id == inp.person_id) & (S.c.version == version)).values(**values)
        ).rowcount
        if done != 1:
            raise VisitError(say("visit.version_moved"), "CONFLICT", "version_moved")
    project(store, visit)
    return visit, state


def project(store: GraphStore, visit: VisitRecord) -> str:
    """The visit as a Visit node CONCERNS the child (idempotent: same id, same source record)."""
    node = f"visit:app-{visit.client_id}"
    src = Assertion(
        "manual", f"visit/{visit.client_id}", visit.recorded_at.astimezone(UTC).replace(tzinfo=None)
    )
    with store.transaction():
        store.upsert_nodes(
            [
                NodeRecord(
                    node,
                    {
                        "visited_on": visit.visited_on.isoformat(),
                        "visitor": visit.visitor,
                        "findings": ",".join(visit.findings),
                        "division": visit.division,
                    },
                    src,
                )
            ]
        )
        store.upsert_rels([RelRecord("CONCERNS", node, visit.person_id, {}, src)])
    return node


def resolve(
    engine: Engine,
    store: GraphStore,
    conflict_id: int,
    choice: str,
    *,
    merged: dict[str, Any] | None,
    visitor: str,
    resolved_by: str,
    allowed_prefix: str | None,
) -> Outcome:
    """Apply the supervisor's choice: their entry, the record as it stands, or a merge of both.

    The choice is made against the version the conflict showed; if the record moved again
    since, the resolution is refused (CONFLICT) so the supervisor decides on what is there now.
    """
    if choice not in CHOICES:
        raise VisitError(say("workflow.unknown_value", field="choice", allowed=", ".join(CHOICES)))
    C = VisitConflict.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        row = conn.execute(select(C).where(C.c.id == conflict_id)).first()
        if row is None or (allowed_prefix is not None and not row.division.startswith(allowed_prefix)):
            raise VisitError(
                say("api.not_found", what=say("api.what.visit_conflict")),
                "NOT_FOUND",
                "not_found_or_out_of_scope",
            )
        conflict = VisitConflict(**row._mapping)
        if conflict.status != "open":
            raise VisitError(say("visit.conflict_resolved"), "INVALID_TRANSITION", "already_resolved")
        state = _get_state(conn, conflict.person_id)
        version = state.version if state else 0
        if version != conflict.current_version:
            raise VisitError(
                say("visit.version_moved_again"),
                "CONFLICT",
                "version_moved",
            )
        fields = dict(conflict.proposed)
        fields.pop("visitor", None)
        if choice == "merge":
            if not merged:
                raise VisitError(say("visit.merge_needs_fields"))
            fields.update({k: v for k, v in merged.items() if v is not None})
        inp = VisitInput(
            client_id=conflict.client_id,
            person_id=conflict.person_id,
            visited_on=date.fromisoformat(fields["visited_on"]),
            findings=tuple(fields["findings"]),
            living_arrangement=fields["living_arrangement"],
            notes=fields.get("notes"),
            base_version=version,
        )
        validate(inp)
        now = utcnow()
        visit = None
        if choice != "keep_theirs":
            visit, state = _apply(
                conn,
                store,
                inp,
                inp.fields(),
                conflict.division,
                conflict.proposed.get("visitor") or visitor,
                resolved_by,
                conflict.payload_hash,
                version,
            )
        conn.execute(
            C.update()
            .where(C.c.id == conflict_id)
            .values(status="resolved", resolution=choice, resolved_by=resolved_by, resolved_at=now)
        )
        conflict.status, conflict.resolution, conflict.resolved_by, conflict.resolved_at = (
            "resolved",
            choice,
            resolved_by,
            now,
        )
    if visit is not None:
        _reclassify(store, engine, conflict.person_id)
    return Outcome("recorded" if visit else "discarded", state, visit, conflict)


def open_conflicts(engine: Engine, prefix: str) -> list[VisitConflict]:
    C = VisitConflict.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(C).where((C.c.status == "open") & C.c.division.startswith(prefix)).order_by(C.c.id)
        )
        return [VisitConflict(**r._mapping) for r in rows]


def _reclassify(store: GraphStore, engine: Engine, person_id: str) -> None:
    """Reclassify the visited child. The visit is already committed: a failure here is logged
    and left to the next recompute rather than reported as a failed visit the phone would resend."""
    from protection.classification import recompute

    try:
        recompute(store, engine, [person_id], trigger="visit")
    except (GraphStoreError, SQLAlchemyError) as exc:
        log.warning(
            "reclassification after a visit failed (%s); the next recompute catches up", type(exc).__name__
        )


# ---- schedules --------------------------------------------------------------------------------


@dataclass
class Round:
    kind: str  # regular | winter_holiday | summer_holiday
    start: date
    end: date
    due: int
    visited: int


@dataclass
class VillageSchedule:
    division: str
    name: str | None
    children_of_concern: int
    rounds: list[Round]


def rounds_for(year: int) -> list[tuple[str, date, date]]:
    """The year's visiting rounds: regular ones every N days, plus the two holiday screenings."""
    v = config().section("visits")
    out: list[tuple[str, date, date]] = []
    start, end_of_year = date(year, 1, 1), date(year, 12, 31)
    step = timedelta(days=v["regular_every_days"])
    while start <= end_of_year:
        out.append(("regular", start, min(start + step - timedelta(days=1), end_of_year)))
        start += step
    for kind in ("winter_holiday", "summer_holiday"):
        w = v[kind]
        out.append(
            (kind, date.fromisoformat(f"{year}-{w['start']}"), date.fromisoformat(f"{year}-{w['end']}"))
        )
    return sorted(out, key=lambda r: (r[1], r[0]))


def schedule(engine: Engine, store: GraphStore, division: str, year: int) -> list[VillageSchedule]:
    """Per village in the division: each round's window, children due and children visited."""
    prefix = division_prefix(division)
    villages: dict[str, str | None] = {}
    if division_level(division) == DivisionLevel.VILLAGE:
        node = store.get_node(f"division:{division}")
        villages[division] = node.props.get("name") if node else None
    else:
        after = None
        while True:
            page = store.list_by_division("Division", prefix, 500, after)
            for n in page.items:
                if n.props.get("level") == "village" and n.props.get("code"):
                    villages[n.props["code"]] = n.props.get("name")
            if not page.has_next:
                break
            after = page.end_cursor
    K = ChildClassification.__table__  # type: ignore[attr-defined]
    V = VisitRecord.__table__  # type: ignore[attr-defined]
    concern: dict[str, dict[str, str | None]] = {}
    visits: dict[str, list[tuple[str, date]]] = {}
    with engine.connect() as conn:
        for r in conn.execute(
            select(K.c.person_id, K.c.division, K.c.last_visit).where(
                K.c.division.startswith(prefix) & (K.c.left_behind | K.c.in_distress)
            )
        ):
            concern.setdefault(r.division, {})[r.person_id] = r.last_visit
        for r in conn.execute(
            select(V.c.person_id, V.c.division, V.c.visited_on).where(
                V.c.division.startswith(prefix) & (V.c.visited_on >= date(year, 1, 1))
            )
        ):
            visits.setdefault(r.division, []).append((r.person_id, r.visited_on))
    out = []
    for code in sorted(villages):
        kids = concern.get(code, {})
        rounds = []
        for kind, start, end in rounds_for(year):
            seen = {p for p, d in visits.get(code, []) if start <= d <= end and p in kids}
            seen |= {p for p, last in kids.items() if last and start.isoformat() <= last <= end.isoformat()}
            rounds.append(Round(kind, start, end, len(kids), len(seen)))
        out.append(VillageSchedule(code, villages[code], len(kids), rounds))
    return out
