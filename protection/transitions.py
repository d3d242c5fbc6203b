"""The state machines of the protection workflows, in one place.

Each table says, for every action: the statuses it may start from, the status it leads to (or none:
the action is recorded without moving the machine), the policy capability the caller must hold
(`auth/policies/default.toml`; the API checks it before the step runs, read from the row, so no
resolver names a step's capability: `workflow_graphql.step` and `may` for the case's, the reporting
chain's in `reporting_graphql.py`), who among the holders may act on this particular record, which
agency type takes the lead afterwards, and the facts the step refuses to go without. The step
modules (`reports.py`, `emergency.py`, `assessment.py`, `intervention.py`, `reporting.py`) ask
`check(...)` before they act and take the new status from here; no status is written as a string
anywhere else.

Machines:
- a protection case (强制报告 → 应急处置 → 通报 → 评估 → 帮扶 → 结案), `CASE`;
- a mandatory report (filed → acknowledged → accepted), `REPORT`;
- a court petition (pending → decided), `PETITION`;
- a periodic report of the reporting chain (村 → 乡镇 → 县: draft/returned → submitted → approved
  or returned), `PERIODIC`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from kernel.messages import say


class CaseStatus(StrEnum):
    REPORTED = "reported"  # a 强制报告 is filed; the police have not accepted it yet
    EMERGENCY_RESPONSE = "emergency_response"  # accepted: 应急处置 by the police of the jurisdiction
    ASSESSMENT_PENDING = "assessment_pending"  # the township is notified and must open the assessment
    ASSESSMENT = "assessment"  # 评估 under way (township with civil affairs and police)
    ASSISTANCE = "assistance"  # assessed: the 帮扶 plan runs, with follow-ups
    CLOSED = "closed"


class ReportStatus(StrEnum):
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"


class PetitionStatus(StrEnum):
    PENDING = "pending"
    DECIDED = "decided"


class PeriodicStatus(StrEnum):
    DRAFT = "draft"  # no record yet: the live figures
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class AgencyType(StrEnum):
    """The agency types the workflows route to or let act (the policy grants the capabilities)."""

    PUBLIC_SECURITY = "public_security"
    TOWNSHIP = "township"
    CIVIL_AFFAIRS = "civil_affairs"
    COURT = "court"
    VILLAGE_COMMITTEE = "village_committee"


class Acting(StrEnum):
    """Which agency, by jurisdiction, acts on a record of a division (checked by the API's resolver)."""

    OWN_DIVISION = "own_division"  # the agency whose jurisdiction is the record's division
    LEVEL_ABOVE = "level_above"  # the agency of the division directly above it (逐级), never its own


#: The status of a record that does not exist yet (the source of the action that creates it).
NEW = ""
#: The statuses of an open case (everything before closure).
OPEN_CASE: frozenset[CaseStatus] = frozenset(CaseStatus) - {CaseStatus.CLOSED}
#: A periodic report that counts as handed up (the level above may rely on its figures).
HANDED_UP: frozenset[PeriodicStatus] = frozenset({PeriodicStatus.SUBMITTED, PeriodicStatus.APPROVED})


@dataclass(frozen=True)
class Transition:
    """One action of a state machine."""

    action: str
    label: str  # how a refusal names the action ("opening the assessment")
    source: frozenset[str]  # the statuses it may start from
    target: str | None  # where it leads; None: the status stays
    capability: str  # the policy capability the API checks before the step runs
    actors: str  # who among the capability's holders may act on this record (checked by the step)
    facts: tuple[str, ...] = ()  # what the step refuses to go without (MISSING_FACTS)
    hands_to: AgencyType | None = None  # the agency type that leads once it is done
    acting: Acting | None = None  # by jurisdiction, where `actors` is a rule on the division itself

    def allows(self, status: str) -> bool:
        return status in self.source

    @property
    def leads_to(self) -> str:
        """The status the action leads to, for actions that move the machine."""
        if self.target is None:
            raise ValueError(f"{self.action} does not change the status")
        return self.target


class TransitionRefused(Exception):
    """The action is not possible from the record's status (INVALID_TRANSITION)."""

    def __init__(self, t: Transition, status: str, noun: str) -> None:
        needs = say("workflow.or").join(status_name(s) for s in sorted(t.source))
        super().__init__(
            say(
                "workflow.transition_refused",
                action=say(f"workflow.action.{t.action}"),
                noun=say(f"api.what.{noun}"),
                status=status_name(status),
                needs=needs,
            )
        )
        self.transition, self.status = t, status


def status_name(status: str) -> str:
    """A status for an official (``assessment_pending`` → 待评估), from the catalogue."""
    return say(f"workflow.status.{status or 'new'}")


def _t(
    action: str,
    label: str,
    source: frozenset[str] | set[str],
    target: str | None,
    capability: str,
    actors: str,
    facts: tuple[str, ...] = (),
    hands_to: AgencyType | None = None,
    acting: Acting | None = None,
) -> Transition:
    return Transition(action, label, frozenset(source), target, capability, actors, facts, hands_to, acting)


_S = CaseStatus
CASE: Mapping[str, Transition] = {
    t.action: t
    for t in (
        # A new case starts `reported`; a report about a child with an open case of the same
        # situation joins it (the case does not move).
        _t(
            "file_report",
            "filing a report",
            {NEW},
            _S.REPORTED,
            "file_mandatory_report",
            "any mandatory reporter",
            ("summary", "the child's division"),
            AgencyType.PUBLIC_SECURITY,
        ),
        _t(
            "accept_report",
            "accepting the report",
            {_S.REPORTED},
            _S.EMERGENCY_RESPONSE,
            "accept_report",
            "the police agency the report was routed to",
        ),
        _t(
            "emergency_action",
            "an emergency action",
            {_S.EMERGENCY_RESPONSE},
            None,
            "record_emergency_action",
            "the police agency handling the case; civil affairs of the area for shelter placements",
            ("the measures required by the situation before it",),
        ),
        _t(
            "notify_township",
            "notifying the township",
            {_S.EMERGENCY_RESPONSE},
            _S.ASSESSMENT_PENDING,
            "record_emergency_action",
            "the police agency handling the case",
            ("the emergency measures of the situation",),
            AgencyType.TOWNSHIP,
        ),
        _t(
            "open_assessment",
            "opening the assessment",
            {_S.ASSESSMENT_PENDING},
            _S.ASSESSMENT,
            "lead_assessment",
            "the township leading the case, or civil affairs of the area",
            ("participants from civil affairs and the police",),
        ),
        _t(
            "record_assessment",
            "recording the assessment",
            {_S.ASSESSMENT},
            _S.ASSISTANCE,
            "lead_assessment",
            "the township leading the case, or civil affairs of the area",
            ("safety", "guardianship", "physical_health", "mental_health", "risk_level"),
        ),
        _t(
            "arrange_services",
            "arranging services",
            {_S.ASSISTANCE},
            None,
            "lead_assessment",
            "the township leading the case, or civil affairs of the area",
            ("at least one service, each with its provider",),
        ),
        _t(
            "follow_up",
            "a follow-up",
            {_S.ASSISTANCE},
            None,
            "record_assistance",
            "the provider, the township or civil affairs of the area",
            ("what was found",),
        ),
        _t(
            "complete_service",
            "completing a service",
            {_S.ASSISTANCE},
            None,
            "record_assistance",
            "the provider, the township or civil affairs of the area",
            ("the outcome",),
        ),
        _t(
            "close_case",
            "closing the case",
            {_S.ASSISTANCE},
            _S.CLOSED,
            "lead_assessment",
            "the township leading the case, or civil affairs of the area",
            ("every service completed", "a follow-up on record", "a reason", "no pending court petition"),
        ),
        _t(
            "intervention",
            "an intervention",
            OPEN_CASE - {_S.REPORTED},
            None,
            "record_intervention",
            "the police handling the case for police measures; agencies of the area for temporary "
            "guardianship",
            ("the guardian it is directed at, or the temporary guardian",),
        ),
        _t(
            "petition_court",
            "an intervention",
            OPEN_CASE - {_S.REPORTED},
            None,
            "petition_court",
            "agencies of the child's area",
            ("statutory grounds the record supports",),
            AgencyType.COURT,
        ),
    )
}

_R = ReportStatus
REPORT: Mapping[str, Transition] = {
    t.action: t
    for t in (
        # A mandatory report is filed with its case (CASE["file_report"]); a school's written
        # dropout report (劝返无效) is filed on its own, to the township.
        _t(
            "file_dropout",
            "filing a dropout report",
            {NEW},
            _R.FILED,
            "file_mandatory_report",
            "a school, for a dropout it could not bring back",
            ("what was tried (劝返)",),
            AgencyType.TOWNSHIP,
        ),
        _t(
            "acknowledge",
            "acknowledging",
            {_R.FILED},
            _R.ACKNOWLEDGED,
            "accept_report",
            "the agency the report was routed to",
        ),
        _t(
            "accept",
            "accepting",
            {_R.FILED, _R.ACKNOWLEDGED},
            _R.ACCEPTED,
            "accept_report",
            "the agency the report was routed to",
        ),
    )
}

_P = PetitionStatus
PETITION: Mapping[str, Transition] = {
    "decide": _t(
        "decide",
        "deciding",
        {_P.PENDING},
        _P.DECIDED,
        "decide_guardianship",
        "the court petitioned",
        ("the new guardian when guardianship is revoked",),
    ),
}

_D = PeriodicStatus
PERIODIC: Mapping[str, Transition] = {
    t.action: t
    for t in (
        _t(
            "submit",
            "submitting",
            {_D.DRAFT, _D.RETURNED},
            _D.SUBMITTED,
            "submit_periodic_report",
            "the division's own level",
            ("every division below submitted",),
            acting=Acting.OWN_DIVISION,
        ),
        _t(
            "approve",
            "approving",
            {_D.SUBMITTED},
            _D.APPROVED,
            "approve_periodic_report",
            "the level above, not the division itself",
            acting=Acting.LEVEL_ABOVE,
        ),
        _t(
            "return",
            "returning",
            {_D.SUBMITTED},
            _D.RETURNED,
            "approve_periodic_report",
            "the level above, not the division itself",
            ("a note saying what to correct",),
            acting=Acting.LEVEL_ABOVE,
        ),
    )
}

MACHINES: Mapping[str, Mapping[str, Transition]] = {
    "case": CASE,
    "report": REPORT,
    "petition": PETITION,
    "periodic": PERIODIC,
}


def check(machine: Mapping[str, Transition], action: str, status: str, noun: str = "case") -> Transition:
    """The transition of `action` if the record's `status` allows it; `TransitionRefused` otherwise."""
    t = machine[action]
    if not t.allows(status):
        raise TransitionRefused(t, status, noun)
    return t


def reachable(machine: Mapping[str, Transition], start: str) -> set[str]:
    """Every status reachable from `start` (what the tests walk to prove no status is a dead end)."""
    seen, todo = {start}, [start]
    while todo:
        s = todo.pop()
        for t in machine.values():
            if t.allows(s) and t.target is not None and t.target not in seen:
                seen.add(t.target)
                todo.append(t.target)
    return seen
