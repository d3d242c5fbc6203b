"""The protection state machines at the domain level: every action from every status, allowed or refused.

No HTTP: the step modules run on a real migrated SQLite database through `protection.cases.work`, the
same transaction the API uses. The matrix walks a case to each status by its real steps, then tries
each action there; the action is refused as INVALID_TRANSITION exactly when the table in
`protection/transitions.py` does not list the status as a source, and an allowed action that succeeds
leaves the case in the status the table names.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from auth.tables import Agency
from kernel.db import make_engine, migrate
from kernel.messages import MESSAGES, say
from kernel.settings import Settings
from protection import assessment, emergency, intervention, reporting, reports
from protection import transitions as tr
from protection.case_tables import CaseService, ProtectionCaseRow
from protection.cases import Actor, Work, WorkflowError, work
from protection.transitions import CaseStatus, PeriodicStatus, ReportStatus

COUNTY, TOWN, VILLAGE, VILLAGE_B = "500101000000", "500101001000", "500101001001", "500101001002"
POLICE = Actor("ps-t", "public_security", "officer", COUNTY, "c-ps")
TOWNSHIP = Actor("tw-t", "township", "leader", TOWN, "c-tw")
CIVIL = Actor("ca-t", "civil_affairs", "caseworker", COUNTY, "c-ca")
SCHOOL = Actor("edu-t", "education", "teacher", TOWN, "c-edu")
COURT = Actor("ct-t", "court", "judge", COUNTY, "c-ct")
_children = itertools.count(1)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Settings]]:
    data = tmp_path_factory.mktemp("transitions")
    settings = Settings(data_dir=data)
    engine = make_engine(f"sqlite:///{data / 'shouhu.db'}")
    migrate(engine)
    with Session(engine) as s:
        for a in (POLICE, TOWNSHIP, CIVIL, SCHOOL, COURT):
            s.add(
                Agency(
                    id=a.agency_id, name=a.agency_id, agency_type=a.agency_type, jurisdiction=a.jurisdiction
                )
            )
        s.commit()
    yield engine, settings
    engine.dispose()


def run(db: tuple[Engine, Settings], actor: Actor, fn: Callable[[Work], Any]) -> Any:
    engine, settings = db
    with work(engine, actor, settings) as w:
        return fn(w)


def status_of(db: tuple[Engine, Settings], case_id: str) -> str:
    with Session(db[0]) as s:
        row = s.get(ProtectionCaseRow, case_id)
        assert row is not None
        return row.status


def _findings() -> assessment.Findings:
    return assessment.Findings("安全", "委托监护不力", "良好", "孤僻", "medium")


def case_at(db: tuple[Engine, Settings], status: CaseStatus) -> tuple[str, str]:
    """A new living-alone case walked by its real steps to `status`; (case id, first report id)."""
    child = f"person:trans-{next(_children)}"
    report = run(
        db,
        SCHOOL,
        lambda w: reports.file_report(
            w,
            child_id=child,
            division=VILLAGE,
            situation="living_alone",
            summary="独自在家",
            observed_on=None,
        ),
    )
    cid = report.case_id
    path = list(CaseStatus)
    for reached in path[1 : path.index(status) + 1]:
        if reached is CaseStatus.EMERGENCY_RESPONSE:
            run(db, POLICE, lambda w: reports.accept_report(w, report.id))
        elif reached is CaseStatus.ASSESSMENT_PENDING:
            for action in ("order_parents_back", "admonish_parents"):
                run(db, POLICE, lambda w, a=action: emergency.record_action(w, cid, a))
            run(db, POLICE, lambda w: emergency.notify_township(w, cid))
        elif reached is CaseStatus.ASSESSMENT:
            run(
                db,
                TOWNSHIP,
                lambda w: assessment.open_assessment(w, cid, [CIVIL.agency_id, POLICE.agency_id]),
            )
        elif reached is CaseStatus.ASSISTANCE:
            run(db, TOWNSHIP, lambda w: assessment.record_assessment(w, cid, _findings()))
        elif reached is CaseStatus.CLOSED:
            svc = run(
                db,
                TOWNSHIP,
                lambda w: assessment.arrange_services(
                    w, cid, [assessment.PlannedService("guardianship_guidance", "乡镇社工站")]
                ),
            )[0]
            run(db, TOWNSHIP, lambda w, s=svc.id: assessment.record_follow_up(w, cid, s, "已上门指导", None))
            run(db, TOWNSHIP, lambda w, s=svc.id: assessment.complete_service(w, s, "监护人已返乡"))
            run(db, TOWNSHIP, lambda w: assessment.close_case(w, cid, "监护恢复"))
        assert status_of(db, cid) == reached
    return cid, report.id


# Each case action with complete facts, by an agency the table lets act whatever the status
# (civil affairs of the area co-leads; the police handle the case).
ATTEMPTS: dict[str, tuple[Actor, Callable[[str], Callable[[Work], Any]]]] = {
    "emergency_action": (POLICE, lambda cid: lambda w: emergency.record_action(w, cid, "order_parents_back")),
    "notify_township": (POLICE, lambda cid: lambda w: emergency.notify_township(w, cid)),
    "open_assessment": (
        CIVIL,
        lambda cid: lambda w: assessment.open_assessment(w, cid, [CIVIL.agency_id, POLICE.agency_id]),
    ),
    "record_assessment": (CIVIL, lambda cid: lambda w: assessment.record_assessment(w, cid, _findings())),
    "arrange_services": (
        CIVIL,
        lambda cid: (
            lambda w: assessment.arrange_services(
                w, cid, [assessment.PlannedService("psychological_counselling", "县心理服务中心")]
            )
        ),
    ),
    "follow_up": (CIVIL, lambda cid: lambda w: assessment.record_follow_up(w, cid, None, "情况稳定", None)),
    "close_case": (CIVIL, lambda cid: lambda w: assessment.close_case(w, cid, "监护恢复")),
    "intervention": (
        CIVIL,
        lambda cid: (
            lambda w: intervention.record_intervention(
                w,
                cid,
                "temporary_guardianship",
                guardian_id=None,
                occurred_on=None,
                temporary_guardian="县儿童福利院",
            )
        ),
    ),
    "petition_court": (
        CIVIL,
        lambda cid: (
            lambda w: intervention.petition_court(
                w,
                cid,
                guardian_id="person:trans-parent",
                guardians_of_child={"person:trans-parent"},
                grounds=["abuse_serious_harm"],
            )
        ),
    ),
}


def test_every_case_action_is_tried() -> None:
    # the two the matrix leaves out have their own tests below
    assert set(ATTEMPTS) | {"file_report", "accept_report", "complete_service"} == set(tr.CASE)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(CaseStatus, ATTEMPTS)))
def test_case_action_from_status(db: tuple[Engine, Settings], status: CaseStatus, action: str) -> None:
    cid, _ = case_at(db, status)
    actor, attempt = ATTEMPTS[action]
    t = tr.CASE[action]
    try:
        run(db, actor, attempt(cid))
    except WorkflowError as exc:
        if status in t.source:
            assert exc.code != "INVALID_TRANSITION", str(exc)  # allowed: refused, if at all, for facts
        else:
            assert exc.code == "INVALID_TRANSITION", str(exc)
            assert exc.extra["status"] == status and say(f"workflow.action.{action}") in str(exc)
        assert status_of(db, cid) == status  # a refusal changes nothing
        return
    assert status in t.source, f"{action} went through from {status}"
    assert status_of(db, cid) == (t.target or status)


def test_accepting_moves_a_reported_case_only(db: tuple[Engine, Settings]) -> None:
    cid, first = case_at(db, CaseStatus.REPORTED)
    run(db, POLICE, lambda w: reports.accept_report(w, first))
    assert status_of(db, cid) == tr.CASE["accept_report"].target == CaseStatus.EMERGENCY_RESPONSE
    # A second report about the same child and situation joins the open case in assessment; its
    # acceptance is recorded but the case stays where it is.
    cid, _ = case_at(db, CaseStatus.ASSESSMENT)
    with Session(db[0]) as s:
        child = s.get(ProtectionCaseRow, cid).child_id  # type: ignore[union-attr]
    joined = run(
        db,
        SCHOOL,
        lambda w: reports.file_report(
            w,
            child_id=child,
            division=VILLAGE,
            situation="living_alone",
            summary="再次独居",
            observed_on=None,
        ),
    )
    assert joined.case_id == cid
    run(db, POLICE, lambda w: reports.accept_report(w, joined.id))
    assert status_of(db, cid) == CaseStatus.ASSESSMENT
    # A report about a closed case's child opens a new case.
    closed, _ = case_at(db, CaseStatus.CLOSED)
    with Session(db[0]) as s:
        child = s.get(ProtectionCaseRow, closed).child_id  # type: ignore[union-attr]
    fresh = run(
        db,
        SCHOOL,
        lambda w: reports.file_report(
            w, child_id=child, division=VILLAGE, situation="living_alone", summary="又独居", observed_on=None
        ),
    )
    assert fresh.case_id != closed and status_of(db, fresh.case_id) == CaseStatus.REPORTED


def test_completing_a_service_needs_the_assistance_stage(db: tuple[Engine, Settings]) -> None:
    cid, _ = case_at(db, CaseStatus.ASSISTANCE)
    svc = run(
        db,
        CIVIL,
        lambda w: assessment.arrange_services(
            w, cid, [assessment.PlannedService("legal_aid", "县法律援助中心")]
        ),
    )[0]
    run(db, CIVIL, lambda w: assessment.complete_service(w, svc.id, "已提供"))
    with Session(db[0]) as s:
        assert s.get(CaseService, svc.id).status == "completed"  # type: ignore[union-attr]
    closed, _ = case_at(db, CaseStatus.CLOSED)
    with Session(db[0]) as s:
        done = next(iter(s.query(CaseService).filter(CaseService.case_id == closed)))
    with pytest.raises(WorkflowError) as exc:
        run(db, CIVIL, lambda w: assessment.complete_service(w, done.id, "再次"))
    assert exc.value.code == "INVALID_TRANSITION" and tr.status_name("closed") in str(exc.value)


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ((), ()),
        (("acknowledge",), ("acknowledge",)),
        (("accept",), ("acknowledge", "accept")),
        (("acknowledge", "accept"), ("acknowledge", "accept")),
    ],
)
def test_report_machine(
    db: tuple[Engine, Settings], steps: tuple[str, ...], refused: tuple[str, ...]
) -> None:
    _, rid = case_at(db, CaseStatus.REPORTED)
    do = {"acknowledge": reports.acknowledge_report, "accept": reports.accept_report}
    for step in steps:
        row = run(db, POLICE, lambda w, f=do[step]: f(w, rid))
        assert row.status == tr.REPORT[step].target
    for step in tr.REPORT:
        if step in refused:
            with pytest.raises(WorkflowError) as exc:
                run(db, POLICE, lambda w, f=do[step]: f(w, rid))
            assert exc.value.code == "INVALID_TRANSITION"
    # the receiving police, and no one else, acts on it; an agency neither its reporter nor party
    # to its case is answered as for a report that does not exist (no existence oracle)
    if not steps:
        with pytest.raises(WorkflowError) as exc:
            run(db, CIVIL, lambda w: reports.accept_report(w, rid))
        assert exc.value.code == "NOT_FOUND"


def test_periodic_report_machine(db: tuple[Engine, Settings]) -> None:
    engine = db[0]
    period = "2026-Q3"

    def refused(fn: Callable[[], Any]) -> str:
        with pytest.raises(reporting.ReportError) as exc:
            fn()
        return exc.value.code

    # draft: cannot be decided; submit → submitted; not twice; approve → approved; no resubmission
    assert reporting.view(engine, VILLAGE, period).status == PeriodicStatus.DRAFT
    assert refused(lambda: reporting.decide(engine, VILLAGE, period, approve=True, by="t", note=None)) == (
        "INVALID_TRANSITION"
    )
    assert reporting.submit(engine, VILLAGE, period, by="v").status == PeriodicStatus.SUBMITTED
    assert refused(lambda: reporting.submit(engine, VILLAGE, period, by="v")) == "INVALID_TRANSITION"
    assert reporting.decide(engine, VILLAGE, period, approve=True, by="t", note=None).status == "approved"
    assert refused(lambda: reporting.submit(engine, VILLAGE, period, by="v")) == "INVALID_TRANSITION"
    assert refused(lambda: reporting.decide(engine, VILLAGE, period, approve=False, by="t", note="x")) == (
        "INVALID_TRANSITION"
    )
    # returned (with a note) → may be submitted again
    reporting.submit(engine, VILLAGE_B, period, by="v")
    assert refused(lambda: reporting.decide(engine, VILLAGE_B, period, approve=False, by="t", note=" ")) == (
        "BAD_REQUEST"
    )
    back = reporting.decide(engine, VILLAGE_B, period, approve=False, by="t", note="请核对")
    assert back.status == PeriodicStatus.RETURNED
    assert reporting.submit(engine, VILLAGE_B, period, by="v").status == PeriodicStatus.SUBMITTED


# ---- the tables themselves --------------------------------------------------------------------


def test_every_status_is_reachable_and_closed_is_final() -> None:
    assert tr.reachable(tr.CASE, tr.NEW) == {tr.NEW, *CaseStatus}
    assert not any(t.allows(CaseStatus.CLOSED) for t in tr.CASE.values())
    assert tr.reachable(tr.REPORT, ReportStatus.FILED) == set(ReportStatus)
    assert tr.reachable(tr.PERIODIC, PeriodicStatus.DRAFT) == set(PeriodicStatus)
    assert not any(t.allows(PeriodicStatus.APPROVED) for t in tr.PERIODIC.values())


def test_check_refuses_with_the_rule() -> None:
    t = tr.check(tr.CASE, "notify_township", CaseStatus.EMERGENCY_RESPONSE)
    assert t.target == CaseStatus.ASSESSMENT_PENDING
    with pytest.raises(tr.TransitionRefused) as exc:
        tr.check(tr.CASE, "close_case", CaseStatus.ASSESSMENT)
    assert str(exc.value) == "案件当前为“评估中”，不能结案（须为：帮扶中）"


def test_every_action_and_status_has_its_name_in_both_languages() -> None:
    """A refusal names the action and the statuses (workflow.action.*, workflow.status.*): one
    without a catalogue entry would raise KeyError instead of refusing."""
    for machine in tr.MACHINES.values():
        for t in machine.values():
            assert f"workflow.action.{t.action}" in MESSAGES, t.action
            assert all(f"workflow.status.{s or 'new'}" in MESSAGES for s in t.source), t.action
    for statuses in (CaseStatus, ReportStatus, PeriodicStatus, tr.PetitionStatus):
        assert all(f"workflow.status.{s}" in MESSAGES for s in statuses), statuses


def test_the_tables_agree_with_the_policy() -> None:
    policy = tomllib.loads((Path(__file__).parents[1] / "auth/policies/default.toml").read_text())
    caps = policy["capabilities"]
    for machine in tr.MACHINES.values():
        for t in machine.values():
            assert t.capability in caps, f"{t.action}: capability {t.capability} is not in the policy"
    # whoever a step hands the case to holds the capability of the step that follows
    assert "public_security" in caps[tr.CASE["accept_report"].capability]
    assert tr.CASE["file_report"].hands_to == tr.AgencyType.PUBLIC_SECURITY
    assert tr.CASE["notify_township"].hands_to == tr.AgencyType.TOWNSHIP
    assert "township" in caps[tr.CASE["open_assessment"].capability]
    assert tr.CASE["petition_court"].hands_to == tr.AgencyType.COURT
    assert "court" in caps[tr.PETITION["decide"].capability]
    for agency_type in tr.AgencyType:
        assert any(agency_type.value in granted for granted in caps.values()), agency_type
