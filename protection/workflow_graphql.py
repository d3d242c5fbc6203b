"""What every workflow resolver of the protection case does, written once.

Resolvers are thin: they name the caller (``Actor``), check the capability, find the child in the
caller's scope, run one domain function inside one transaction (``protection.cases.work``), put the
change on the audit entry, and project the result into the graph after the commit. A workflow
step's capability is never written in a resolver: `step` and `may` read it from the step's row in
the transition table (protection/transitions.py), so that table is the one place a step's rule is
written. The resolvers of each step live beside their domain module (`report_graphql.py`,
`emergency_graphql.py`, `assessment_graphql.py`, `intervention_graphql.py`, `agreement_graphql.py`);
`case_graphql.py` assembles them.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar

from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.errors import (
    bad_request,
    domain_errors,
    forbidden,
    not_found,
    sql_unavailable,
    store_unavailable,
)
from graph.port import GraphStoreError, GraphUnavailable
from kernel.messages import say
from protection import transitions as tr
from protection.cases import Actor, CaseFile, Work, WorkflowError
from protection.projection import carry_out

T = TypeVar("T")


def actor(info: Info[Context, None], capability: str | None = None) -> Actor:
    """The caller as the domain names it, after the capability check if one is given (for reads
    and for changes that are no step of a state machine; a step's capability comes from its row,
    through `step` or `may`)."""
    ctx = info.context
    if capability:
        ctx.guard.authorize(capability)
    if ctx.principal is None or ctx.sql is None or ctx.settings is None:
        raise forbidden("no_principal")
    return Actor.of(ctx.principal)


def may(info: Info[Context, None], machine: Mapping[str, tr.Transition], action: str) -> Actor:
    """The caller, refused unless it holds the capability of `action`'s row: for a resolver that
    reads something (the child's division, the case) before the step runs, so that a caller without
    the capability is refused before those reads answer anything."""
    return actor(info, machine[action].capability)


def step(
    info: Info[Context, None], machine: Mapping[str, tr.Transition], action: str, fn: Callable[[Work], T]
) -> T:
    """The workflow step `action` of `machine`: the caller must hold the capability its row in the
    transition table (protection/transitions.py) names, so a step's rule is written in one place; the
    step function checks the same row's source statuses, acting agency and facts."""
    return run(info, machine[action].capability, fn)


def run(info: Info[Context, None], capability: str, fn: Callable[[Work], T]) -> T:
    """The change (protection.projection.carry_out), then what it wrote on the audit trail. For a
    change that is no step of a state machine (an agreement), the resolver names the capability."""
    who = actor(info, capability)
    ctx = info.context
    if ctx.sql is None or ctx.settings is None:
        raise sql_unavailable()
    with domain_errors(WorkflowError):
        result, w = carry_out(ctx.sql, ctx.store, who, ctx.settings, fn, reads_case(info))
    for case_id in w.touched_cases:
        ctx.guard.wrote(f"protectioncase:{case_id}", "ProtectionCase.status")
    for agreement_id in w.touched_agreements:
        ctx.guard.wrote(f"agreement:{agreement_id}", "Agreement.kind", "Agreement.valid_to")
    return result


def people(info: Info[Context, None], *ids: str | None) -> None:
    """Person ids a workflow record names must be people of the graph (else the projection could
    not link them). Existence only: a court names a guardian outside its row scope. So it is asked
    only by `naming`, once the step's own checks have passed."""
    wanted = [i for i in ids if i]
    if not wanted:
        return
    try:
        found = info.context.store.get_nodes([i for i in wanted if i.startswith("person:")])
    except GraphUnavailable as exc:  # the store closed or reopening: say so, never "not in the register"
        raise store_unavailable(cause=exc) from None
    except (GraphStoreError, ValueError):
        found = {}
    if any(i not in found for i in wanted):
        raise bad_request(say("api.person_not_in_register"))


def naming(info: Info[Context, None], fn: Callable[[Work], T], *ids: str | None) -> Callable[[Work], T]:
    """`fn`, then the people it names checked (`people`), in its transaction: a refusal keeps
    nothing. Asked first, whether an id is a person of the register was told to any agency holding
    the capability, the case absent or not its own (an oracle for person ids); asked after, only
    to an agency the step let act on a case it may read."""

    def then(w: Work) -> T:
        result = fn(w)
        people(info, *ids)
        return result

    return then


def reads_case(info: Info[Context, None]) -> Callable[[CaseFile], bool]:
    """Whether the caller may read a case: participants read their cases; others only if the
    child is in their row scope."""
    who = actor(info)
    return lambda f: (
        who.agency_id in f.participants or (scope.visible(info.context.guard, f.case.child_id) is not None)
    )


def readable(info: Info[Context, None], f: CaseFile | None) -> CaseFile:
    """The case file if the caller may read it; NOT_FOUND, as for an absent case, otherwise."""
    if f is None or not reads_case(info)(f):
        raise not_found("case")
    return f
