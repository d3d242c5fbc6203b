"""Break-glass (应急处置): who may override the policy in an emergency, for how long, and what
a valid grant opens.

The ``[break_glass]`` table is read once into ``BreakGlassRules``; the compiled decision tables
and the row scope then ask it whether a principal's grant counts at this moment. A grant that is
unjustified, expired or longer than the policy allows is ignored rather than refused, so an
over-long grant never widens anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auth.policy.checks import ANY, expect_known, expect_only_keys, expect_str_list, expect_table, refusal
from auth.policy.vocabulary import AgencyTypeInfo, ClassInfo
from auth.principal import BreakGlass, Principal
from kernel import clock
from kernel.messages import say


@dataclass(frozen=True)
class BreakGlassRules:
    """The ``[break_glass]`` table, checked: ``who`` are the (agency type, role) pairs that may
    invoke it, ``upgrade`` the classes a valid grant turns to allow, ``widens_scope`` whether it
    also opens the principal's whole jurisdiction."""

    max_duration: timedelta
    min_justification_chars: int
    widens_scope: bool
    upgrade: frozenset[str]
    who: frozenset[tuple[str, str]]

    def eligible(self, principal: Principal) -> bool:
        """Whether this agency type and role may invoke break-glass at all."""
        return (principal.agency_type, principal.role) in self.who

    def active(self, principal: Principal, now: datetime | None) -> bool:
        """An eligible principal holding a grant that counts at ``now``."""
        grant = principal.break_glass
        return grant is not None and self.eligible(principal) and self.grant_valid(grant, now)

    def grant_valid(self, grant: BreakGlass, now: datetime | None) -> bool:
        """Justified, not expired and not running longer than the policy allows. Naive
        datetimes are taken as UTC."""
        if len(grant.justification.strip()) < self.min_justification_chars:
            return False
        current = now if now is not None else clock.now()
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        expires = grant.expires_at if grant.expires_at.tzinfo else grant.expires_at.replace(tzinfo=UTC)
        return current < expires <= current + self.max_duration


def load_break_glass(
    raw: dict[str, Any], classes: Mapping[str, ClassInfo], agency_types: Mapping[str, AgencyTypeInfo]
) -> BreakGlassRules:
    """Check the ``[break_glass]`` table against the classes and agency types already loaded."""
    key = "break_glass"
    expect_only_keys(
        raw,
        {
            "max_duration_minutes",
            "min_justification_chars",
            "scope",
            "upgrade_classes",
            "never_classes",
            "never_agency_types",
            "who",
        },
        key,
    )
    minutes = raw.get("max_duration_minutes", 240)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 24 * 60:
        raise refusal(f"{key}.max_duration_minutes", "policy.break_glass_minutes")
    min_chars = raw.get("min_justification_chars", 1)
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 1:
        raise refusal(f"{key}.min_justification_chars", "policy.expected_positive")
    scope = raw.get("scope", "jurisdiction")
    expect_known(f"{key}.scope", scope, ("jurisdiction", "unchanged"), say("policy.what.break_glass_scope"))
    upgrade = expect_str_list(raw.get("upgrade_classes", []), f"{key}.upgrade_classes")
    never = expect_str_list(raw.get("never_classes", []), f"{key}.never_classes")
    for c in upgrade:
        expect_known(f"{key}.upgrade_classes", c, classes, say("policy.what.class"))
    for c in never:
        expect_known(f"{key}.never_classes", c, classes, say("policy.what.class"))
        if c in upgrade:
            raise refusal(f"{key}.upgrade_classes", "policy.break_glass_never_class", name=repr(c))
    never_types = expect_str_list(raw.get("never_agency_types", []), f"{key}.never_agency_types")
    for t in never_types:
        expect_known(f"{key}.never_agency_types", t, agency_types, say("policy.what.agency_type"))
    who: set[tuple[str, str]] = set()
    for atype, roles in expect_table(raw.get("who", {}), f"{key}.who").items():
        wkey = f"{key}.who.{atype}"
        expect_known(wkey, atype, agency_types, say("policy.what.agency_type"))
        if atype in never_types:
            raise refusal(wkey, "policy.break_glass_never_type", atype=atype)
        for role in expect_str_list(roles, wkey):
            if role == ANY:
                who.update((atype, r) for r in agency_types[atype].roles)
            else:
                expect_known(wkey, role, agency_types[atype].roles, say("policy.what.role", atype=atype))
                who.add((atype, role))
    return BreakGlassRules(
        max_duration=timedelta(minutes=minutes),
        min_justification_chars=min_chars,
        widens_scope=scope == "jurisdiction",
        upgrade=frozenset(upgrade),
        who=frozenset(who),
    )
