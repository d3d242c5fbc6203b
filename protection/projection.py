"""Copy workflow records into the graph, after the relational commit, idempotently.

Each case becomes a ProtectionCase node (its ``agency`` gives the responsible agency row scope over the
child), with its Report, Assessment, Service and Intervention nodes linked by CONCERNS and PART_OF_CASE;
agreements become Agreement nodes with SIGNED and COVERS; guardians named by the police, by an
entrustment or by a court become GUARDIAN_OF relationships (a revoked guardian's relationship gets an
``until``). Everything is asserted by source system ``manual`` (graph/provenance.py: it outranks the
registers), one source record per workflow record, so re-running a projection changes nothing and a
record corrected later replaces only its own claims.

A projection that fails (graph down) leaves a case's ``projected_version`` behind its ``version``, or an
agreement's ``projected`` false; ``reproject_pending`` catches both up, from the delivery worker's loop
or from the CLI (``shouhu cases reproject``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, update
from sqlmodel import col, select

from connectors.tables import DerivedQueue
from graph.crash import crash_point
from graph.model import node_id
from graph.port import GraphStore, GraphStoreError
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.db import session, write_session
from kernel.settings import Settings
from protection.case_tables import GuardianshipAgreement, ProtectionCaseRow
from protection.cases import Actor, CaseFile, Work, load_file, work

log = logging.getLogger("shouhu.protection")
SYSTEM = "manual"


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value.isoformat()


def case_node_id(case_id: str) -> str:
    return node_id("ProtectionCase", case_id)


def case_records(f: CaseFile) -> tuple[list[NodeRecord], list[RelRecord]]:
    case = f.case
    at = max([h.at for h in f.history] or [case.opened_at])
    src = lambda rid: Assertion(SYSTEM, rid, at)  # noqa: E731
    cid = case_node_id(case.id)
    child = case.child_id
    nodes = [
        NodeRecord(
            cid,
            {
                "kind": case.situation,
                "risk_level": case.risk_level,
                "status": case.status,
                "opened_at": _iso(case.opened_at),
                "closed_at": _iso(case.closed_at),
                "agency": case.agency_id,
                "division": case.division,
            },
            src(case.id),
        )
    ]
    rels = [RelRecord("CONCERNS", cid, child, {}, src(case.id))]
    for r in f.reports:
        rid = node_id("Report", r.id)
        nodes.append(
            NodeRecord(
                rid,
                {
                    "situation": r.situation,
                    "reporter_agency": r.reporter_agency_id,
                    "filed_at": _iso(r.filed_at),
                    "acknowledged_at": _iso(r.acknowledged_at),
                    "status": r.status,
                    "opened_at": _iso(r.accepted_at),
                    "agency": r.receiving_agency_id,
                    "division": r.division,
                    "summary": r.summary,
                },
                src(r.id),
            )
        )
        rels += [
            RelRecord("CONCERNS", rid, child, {}, src(r.id)),
            RelRecord("PART_OF_CASE", rid, cid, {}, src(r.id)),
        ]
    for a in f.assessments:
        aid = node_id("Assessment", a.id)
        nodes.append(
            NodeRecord(
                aid,
                {
                    "safety": a.safety,
                    "guardianship": a.guardianship,
                    "physical_health": a.physical_health,
                    "mental_health": a.mental_health,
                    "risk_level": a.risk_level,
                    "assessed_on": _iso(a.assessed_on),
                    "division": case.division,
                },
                src(a.id),
            )
        )
        rels.append(RelRecord("PART_OF_CASE", aid, cid, {}, src(a.id)))
    for s in f.services:
        sid = node_id("Service", s.id)
        nodes.append(
            NodeRecord(
                sid,
                {
                    "kind": s.kind,
                    "provider": s.provider,
                    "status": s.status,
                    "opened_at": _iso(s.opened_at),
                    "closed_at": _iso(s.closed_at),
                    "agency": s.provider_agency_id,
                    "division": case.division,
                    "summary": s.outcome,
                },
                src(s.id),
            )
        )
        rels.append(RelRecord("PART_OF_CASE", sid, cid, {}, src(s.id)))
    for i in f.interventions:
        iid = node_id("Intervention", i.id)
        nodes.append(
            NodeRecord(
                iid,
                {
                    "kind": i.kind,
                    "grounds": ",".join(i.grounds) or None,
                    "status": i.status,
                    "opened_at": _iso(i.occurred_on),
                    "closed_at": _iso(i.decided_on),
                    "agency": i.agency_id,
                    "division": case.division,
                    "summary": i.decision,
                },
                src(i.id),
            )
        )
        rels.append(RelRecord("PART_OF_CASE", iid, cid, {}, src(i.id)))
        if i.kind == "temporary_guardianship" and i.guardian_id:
            rels.append(
                RelRecord(
                    "GUARDIAN_OF",
                    i.guardian_id,
                    child,
                    {"kind": "temporary", "since": _iso(i.occurred_on)},
                    src(i.id),
                )
            )
        if i.kind == "court_petition" and i.decision == "revoked" and i.guardian_id and i.new_guardian_id:
            rels.append(
                RelRecord("GUARDIAN_OF", i.guardian_id, child, {"until": _iso(i.decided_on)}, src(i.id))
            )
            rels.append(
                RelRecord(
                    "GUARDIAN_OF",
                    i.new_guardian_id,
                    child,
                    {"kind": "legal", "since": _iso(i.decided_on)},
                    src(i.id),
                )
            )
    for e in f.actions:
        if e.action in ("entrusted_guardian_named", "entrust_relative") and e.person_id:
            rels.append(
                RelRecord(
                    "GUARDIAN_OF",
                    e.person_id,
                    child,
                    {"kind": "entrusted", "since": _iso(e.occurred_on)},
                    src(e.id),
                )
            )
        if e.action == "temporary_care_placement" and e.person_id:
            rels.append(
                RelRecord(
                    "GUARDIAN_OF",
                    e.person_id,
                    child,
                    {"kind": "temporary", "since": _iso(e.since)},
                    src(e.id),
                )
            )
    return nodes, rels


def project_case(store: GraphStore, engine: Engine, case_id: str) -> bool:
    """Write one case into the graph; True when the graph copy is now current."""
    with session(engine) as s:
        f = load_file(s, case_id)
    if f is None:
        return False
    version = f.case.version
    try:
        nodes, rels = case_records(f)
        with store.transaction():
            store.upsert_nodes(nodes)
            store.upsert_rels(_ends_present(store, nodes, rels))
    except (GraphStoreError, ValueError):
        log.exception("projection of a case failed; it stays pending")
        return False
    crash_point("case.graph_written")  # the graph copy committed, the case not yet marked current
    # The case's status and a court's new guardian are facts of the child's classification: the child
    # is reclassified (or queued for the drain) before the mark, so that a kill between them redoes
    # both; marked first, a kill before the reclassification left the child's classification without
    # the case for good (nothing catches up a case whose graph copy is current).
    _reclassify(store, engine, f.case.child_id, f.case.division, "case")
    with write_session(engine) as s:
        s.execute(
            update(ProtectionCaseRow)
            .where(col(ProtectionCaseRow.id) == case_id, col(ProtectionCaseRow.projected_version) < version)
            .values(projected_version=version)
        )
    crash_point("case.projected")  # marked current, the child reclassified
    return True


def agreement_records(a: GuardianshipAgreement) -> tuple[list[NodeRecord], list[RelRecord]]:
    """An agreement's graph copy: its node, COVERS the child, SIGNED by the parents and the
    entrusted guardian, and for an entrustment the guardian's GUARDIAN_OF for its term."""
    src = Assertion(SYSTEM, a.id, a.recorded_at)
    aid = node_id("Agreement", a.id)
    props: dict[str, Any] = {
        "kind": a.kind,
        "signed_on": _iso(a.signed_on),
        "valid_from": _iso(a.valid_from),
        "valid_to": _iso(a.valid_to),
        "division": a.division,
    }
    rels = [RelRecord("COVERS", aid, a.child_id, {}, src)]
    rels += [RelRecord("SIGNED", p, aid, {"role": "parent"}, src) for p in a.parent_ids]
    if a.guardian_id:
        rels.append(RelRecord("SIGNED", a.guardian_id, aid, {"role": "entrusted_guardian"}, src))
        if a.kind == "entrustment":
            rels.append(
                RelRecord(
                    "GUARDIAN_OF",
                    a.guardian_id,
                    a.child_id,
                    {"kind": "entrusted", "since": _iso(a.valid_from), "until": _iso(a.valid_to)},
                    src,
                )
            )
    return [NodeRecord(aid, props, src)], rels


def project_agreement(store: GraphStore, engine: Engine, agreement_id: str) -> bool:
    """Write one agreement into the graph; True when its graph copy is now written. A failed write
    leaves it ``projected`` false, for ``reproject_pending``."""
    with session(engine) as s:
        a = s.get(GuardianshipAgreement, agreement_id)
    if a is None:
        return False
    try:
        nodes, rels = agreement_records(a)
        with store.transaction():
            store.upsert_nodes(nodes)
            store.upsert_rels(_ends_present(store, nodes, rels))
    except (GraphStoreError, ValueError):
        log.exception("projection of an agreement failed; it stays pending")
        return False
    crash_point("agreement.graph_written")  # the graph copy committed, the agreement not yet marked
    # An entrusted guardian is a fact of the child's classification (its care arrangement): the child
    # is reclassified (or queued for the drain) before the mark, so that a kill between them redoes
    # both; marked first, a kill before the reclassification left the child's classification without
    # the agreement for good (nothing catches up a projected agreement).
    _reclassify(store, engine, a.child_id, a.division, "agreement")
    with write_session(engine) as s:
        s.execute(
            update(GuardianshipAgreement)
            .where(col(GuardianshipAgreement.id) == agreement_id)
            .values(projected=True)
        )
    crash_point("agreement.projected")  # marked projected, the child reclassified
    return True


def _reclassify(store: GraphStore, engine: Engine, child_id: str, division: str, trigger: str) -> None:
    """The child's classification recomputed now. When the graph cannot answer, the child waits in
    the derived-state queue for the worker's drain instead: the change is saved and projected, and
    its caller must not be told otherwise."""
    from protection.classification import recompute

    try:
        recompute(store, engine, [child_id], trigger=trigger, snapshot=False)
    except GraphStoreError:
        log.exception("reclassification after a projection failed; the child is queued for the drain")
        with write_session(engine) as s:
            s.add(DerivedQueue(person_id=child_id, township=division[:9] or None))


def _ends_present(store: GraphStore, nodes: list[NodeRecord], rels: list[RelRecord]) -> list[RelRecord]:
    """The relationships whose two ends are in the graph (or written with them), as a rebuild keeps
    them (``Fold.drop_dangling``): a person the record names may have been absorbed by a merge since,
    which took that person's edges with it. Written whole, the projection would fail at every try
    (a case's later steps too: its graph copy, which gives the agencies handling it their row scope,
    kept its old status for good)."""
    written = {n.id for n in nodes}
    found = set(store.get_nodes({e for r in rels for e in (r.src, r.dst)} - written))
    return [r for r in rels if {r.src, r.dst} <= written | found]


def reproject_pending(store: GraphStore, engine: Engine, limit: int = 100) -> int:
    """Catch the graph up with cases and agreements whose last projection did not complete."""
    return reproject_cases(store, engine, limit) + reproject_agreements(store, engine, limit)


def reproject_cases(store: GraphStore, engine: Engine, limit: int = 100) -> int:
    """Cases whose graph copy is behind their version, written again; how many now are current."""
    with session(engine) as s:
        q = select(ProtectionCaseRow.id).where(
            col(ProtectionCaseRow.projected_version) < col(ProtectionCaseRow.version)
        )
        ids = list(s.exec(q.limit(limit)))
    return sum(project_case(store, engine, i) for i in ids)


def reproject_agreements(store: GraphStore, engine: Engine, limit: int = 100) -> int:
    """Agreements whose graph copy was never written, written; how many now are."""
    with session(engine) as s:
        q = select(GuardianshipAgreement.id).where(col(GuardianshipAgreement.projected).is_(False))
        ids = list(s.exec(q.order_by(col(GuardianshipAgreement.id)).limit(limit)))
    return sum(project_agreement(store, engine, i) for i in ids)


T = TypeVar("T")


def carry_out(
    engine: Engine,
    store: GraphStore,
    actor: Actor,
    settings: Settings,
    change: Callable[[Work], T],
    reads: Callable[[CaseFile], bool] | None = None,
) -> tuple[T, Work]:
    """One workflow change: its transaction (nothing kept if it is refused), then the graph copy of
    every case and agreement it touched. A failed projection stays pending for the worker. `reads`:
    the cases the actor may read (`Work.reads`)."""
    with work(engine, actor, settings, reads) as w:
        result = change(w)
    for case_id in w.touched_cases:
        project_case(store, engine, case_id)
    for agreement_id in w.touched_agreements:
        project_agreement(store, engine, agreement_id)
    return result, w
