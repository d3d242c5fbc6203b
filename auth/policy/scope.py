"""Row scope: a principal's rule resolved, and whether one record, known by its places and
institutions, is in it.

`resolve_row_scope` turns a principal's rule into prefixes and code sets once (`Policy.row_scope`,
`Policy.bind`); `scope_decision` then judges each record against it with no policy lookup at all.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime

from auth.policy.break_glass import BreakGlassRules
from auth.policy.vocabulary import (
    BREAK_GLASS,
    INVALID_JURISDICTION,
    OUT_OF_SCOPE,
    UNKNOWN_ROLE,
    AgencyTypeInfo,
    ScopeDecision,
    ScopeFacts,
    ScopeRule,
)
from auth.principal import Principal
from graph.model import DivisionLevel, division_level, division_prefix


@functools.lru_cache(maxsize=1024)
def jurisdiction_prefix(code: str) -> tuple[str | None, str | None]:
    """(division prefix, problem) for a principal's jurisdiction code; cached because the
    same few codes are asked about for every record."""
    try:
        return division_prefix(code), None
    except (ValueError, TypeError):
        return None, INVALID_JURISDICTION


def resolve_row_scope(
    principal: Principal,
    agency_types: Mapping[str, AgencyTypeInfo],
    break_glass: BreakGlassRules,
    now: datetime | None,
) -> ScopeRule:
    """The principal's row scope, resolved to prefixes and code sets: the role's scope kinds
    applied to its jurisdiction and institutions, and the wider subtree a valid break-glass
    grant opens."""
    atype = agency_types.get(principal.agency_type)
    role = atype.roles.get(principal.role) if atype else None
    if role is None:
        return ScopeRule(kinds=(), problem=UNKNOWN_ROLE)
    prefix, problem = jurisdiction_prefix(principal.jurisdiction)
    kinds = role.scope
    division: str | None = None
    if "jurisdiction" in kinds and prefix is not None:
        division = prefix
    elif "village" in kinds and prefix is not None:
        if division_level(principal.jurisdiction) == DivisionLevel.VILLAGE:
            division = principal.jurisdiction
        else:
            problem = INVALID_JURISDICTION
    wants_division = "jurisdiction" in kinds or "village" in kinds
    bg_prefix = None
    if break_glass.widens_scope and prefix is not None and break_glass.active(principal, now):
        bg_prefix = prefix
    return ScopeRule(
        kinds=kinds,
        division_prefix=division,
        school_codes=principal.institution_codes if "pupils" in kinds else frozenset(),
        facility_codes=principal.institution_codes if "patients" in kinds else frozenset(),
        agency_id=principal.agency_id if "referred_cases" in kinds and principal.agency_id else None,
        break_glass_prefix=bg_prefix,
        problem=problem if (wants_division and division is None) else None,
    )


def scope_decision(rule: ScopeRule, facts: ScopeFacts) -> ScopeDecision:
    """Evaluate a resolved ``ScopeRule`` against one record's facts (first matching rule wins)."""
    if rule.problem == UNKNOWN_ROLE:
        return ScopeDecision(False, UNKNOWN_ROLE)
    prefix = rule.division_prefix
    if prefix is not None and any(d.startswith(prefix) for d in facts.divisions):
        return ScopeDecision(True, "village" if "village" in rule.kinds else "jurisdiction")
    if rule.school_codes and not rule.school_codes.isdisjoint(facts.school_codes):
        return ScopeDecision(True, "pupils")
    if rule.facility_codes and not rule.facility_codes.isdisjoint(facts.facility_codes):
        return ScopeDecision(True, "patients")
    if rule.agency_id is not None and rule.agency_id in facts.case_agencies:
        return ScopeDecision(True, "referred_cases")
    bg = rule.break_glass_prefix
    if bg is not None and any(d.startswith(bg) for d in facts.divisions):
        return ScopeDecision(True, BREAK_GLASS)
    return ScopeDecision(False, rule.problem or OUT_OF_SCOPE)
