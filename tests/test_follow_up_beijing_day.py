"""A follow-up's next visit is due on a Beijing day: the step's deadline counts the days from the
Beijing day the follow-up was recorded, not from its UTC date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from kernel import clock
from kernel.settings import Settings
from protection import assessment
from protection.case_tables import CaseStep
from protection.transitions import CaseStatus
from tests.test_case_transitions import TOWNSHIP, case_at, db, run

__all__ = ["db"]  # the module-scoped database fixture, shared


def test_a_follow_up_recorded_at_seven_in_the_morning_is_due_on_the_day_named(
    db: tuple[Engine, Settings],
) -> None:
    """The township records a follow-up at 07:00 Beijing on 20 November (23:00 UTC on the 19th) and
    names 27 November for the next one: seven days. The platform counted from the UTC date, the
    19th, gave eight, and the step fell due on the 28th."""
    with clock.pinned(datetime(2026, 11, 19, 23, 0, tzinfo=UTC)):
        assert clock.today() == date(2026, 11, 20)
        cid, _ = case_at(db, CaseStatus.ASSISTANCE)
        run(db, TOWNSHIP, lambda w: assessment.record_follow_up(w, cid, None, "情况稳定", date(2026, 11, 27)))
    with Session(db[0]) as s:
        steps = list(s.exec(select(CaseStep).where(CaseStep.case_id == cid, CaseStep.kind == "follow_up")))
    assert [clock.local(st.due_at).date() for st in steps if st.due_at is not None] == [date(2026, 11, 27)]
