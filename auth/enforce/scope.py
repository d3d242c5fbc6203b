"""Row scope for resolvers, in one place: people, children, division subtrees.

Each area used to carry its own copy of these checks (`_child`, `_visible_child`, `_person`,
`_prefix`, `_prefix_within`, `_own_prefix`…), and the copies drifted apart. They are here once,
on top of the guard, with one answer for absent and out of scope.
"""

from __future__ import annotations

from auth.enforce.errors import bad_request, not_found, refused, store_unavailable
from auth.enforce.guard import Guard
from auth.enforce.records import Person
from graph.model import division_prefix
from graph.port import GraphStoreError, GraphUnavailable
from graph.profile import Profile
from graph.records import Node
from kernel.messages import say


def visible(guard: Guard, person_id: str) -> tuple[Profile, Node] | None:
    """The person's profile and node if the caller may see them; None for absent or out of scope."""
    try:
        profile = guard.profile(person_id)
    except GraphUnavailable as exc:  # the store closed or reopening: say so, never "absent"
        raise store_unavailable(cause=exc) from None
    except (GraphStoreError, ValueError):
        return None
    if profile is None or not guard.visible_person(profile, person_id):
        return None
    node = profile.node(person_id)
    return None if node is None else (profile, node)


def child(guard: Guard, person_id: str) -> tuple[Profile, Node]:
    """A person the caller names in a request: seen, or NOT_FOUND (the same for absent)."""
    found = visible(guard, person_id)
    if found is None:
        raise not_found("person")
    return found


def child_division(guard: Guard, person_id: str) -> str:
    """The division of a visible child (for routing a workflow record)."""
    return child(guard, person_id)[1].props.get("division") or ""


def person(guard: Guard, person_id: str | None) -> Person | None:
    """A person named by a workflow record, as the Person type, if in the caller's scope."""
    found = visible(guard, person_id) if person_id else None
    return None if found is None else Person(_node=found[1], _profile=found[0])


def visible_person(guard: Guard, person_id: str) -> Person:
    """A person asked for by id: the Person, or NOT_FOUND."""
    profile, node = child(guard, person_id)
    return Person(_node=node, _profile=profile)


def own_prefix(guard: Guard) -> str | None:
    """The division prefix of the caller's rows; "~" (matches no code) for a caller scoped by
    relationship only; None with enforcement off (no narrowing)."""
    if not guard.enforcing:
        return None
    prefix = guard.scope_prefix()
    return "~" if prefix is None else prefix


def division_within(guard: Guard, division: str | None) -> str:
    """A division subtree the caller may see (a 12-digit code), or by default the caller's own.

    FORBIDDEN outside the caller's row scope; BAD_REQUEST for anything but a 12-digit code.
    """
    if division is None:
        own = own_prefix(guard)
        if own is not None:
            return own
        principal = guard.principal
        return division_prefix(principal.jurisdiction) if principal is not None else ""
    if len(division) != 12 or not division.isdigit():
        raise bad_request(say("api.division_12_digits"))
    prefix = division_prefix(division)
    own = own_prefix(guard)
    if own is not None and not prefix.startswith(own):
        guard.trail.reasons.add("out_of_scope")
        raise refused(say("api.division_out_of_scope"), "FORBIDDEN", "out_of_scope")
    return prefix
