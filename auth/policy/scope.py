"""Row scope: whether one record, known by its places and institutions, is in a resolved scope.

`Policy.row_scope` resolves a principal's rule once (prefixes and code sets); `scope_decision`
then judges each record against it with no policy lookup at all.
"""

from __future__ import annotations

import functools

from auth.policy.vocabulary import (
    BREAK_GLASS,
    INVALID_JURISDICTION,
    OUT_OF_SCOPE,
    UNKNOWN_ROLE,
    ScopeDecision,
    ScopeFacts,
    ScopeRule,
)
from graph.model import division_prefix


@functools.lru_cache(maxsize=1024)
def jurisdiction_prefix(code: str) -> tuple[str | None, str | None]:
    """(division prefix, problem) for a principal's jurisdiction code; cached because the
    same few codes are asked about for every record."""
    try:
        return division_prefix(code), None
    except (ValueError, TypeError):
        return None, INVALID_JURISDICTION


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
