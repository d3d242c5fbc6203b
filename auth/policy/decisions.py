"""The compiled field decisions: one table of ``FieldDecision`` per (agency type, role,
purpose, break-glass), made once at load.

Everything about a field's decision that does not depend on the field itself is known before a
request arrives, so it is decided then: a request only picks its principal's table
(``table_for``) and looks the field's class up in it. Decisions are interned, so the tables
share a few dozen ``FieldDecision`` values between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from auth.policy.break_glass import BreakGlassRules
from auth.policy.vocabulary import (
    ALLOWED,
    BREAK_GLASS,
    DENIED_BY_POLICY,
    MASKED_BY_POLICY,
    MASKED_FOR_PURPOSE,
    PURPOSE_NOT_PERMITTED,
    PURPOSE_REQUIRED,
    SCOPE_MISSING,
    UNCLASSIFIED,
    UNKNOWN_ROLE,
    ClassInfo,
    Decision,
    FieldDecision,
)
from auth.principal import Principal

UNKNOWN_PURPOSE = object()  # table key for a declared purpose the policy does not know

Table = dict[str, FieldDecision]


class DecisionTables:
    """Every principal's class → decision table, and the fixed tables for an unknown role, a
    missing OAuth scope and an unclassified field. Built once per policy; the only state that
    changes afterwards is the cache of tables narrowed to a token's scopes."""

    def __init__(
        self,
        classes: Mapping[str, ClassInfo],
        base: Mapping[tuple[str, str], Mapping[str, Decision]],
        purpose_codes: Mapping[str, str],
        purpose_rules: Mapping[str, tuple[set[str], set[str]]],
        break_glass: BreakGlassRules,
        enforce_scopes: bool,
    ) -> None:
        """Precompute one shared FieldDecision per (role, purpose, break-glass, class)."""
        self._classes = classes
        self._break_glass = break_glass
        self._enforce_scopes = enforce_scopes
        interned: dict[tuple[str, str, str], FieldDecision] = {}

        def fd(decision: Decision, reason: str, cls: str) -> FieldDecision:
            k = (decision, reason, cls)
            if k not in interned:
                interned[k] = FieldDecision(decision, reason, cls)
            return interned[k]

        def normal(rule: Decision, cls: str, purpose: object) -> FieldDecision:
            if rule == "deny":
                return fd("deny", DENIED_BY_POLICY, cls)
            if cls in purpose_rules:
                allowed, masked = purpose_rules[cls]
                if purpose is None:
                    return fd("deny", PURPOSE_REQUIRED, cls)
                if purpose in masked:
                    return fd("mask", MASKED_BY_POLICY if rule == "mask" else MASKED_FOR_PURPOSE, cls)
                if purpose not in allowed:
                    return fd("deny", PURPOSE_NOT_PERMITTED, cls)
            return fd(rule, ALLOWED if rule == "allow" else MASKED_BY_POLICY, cls)

        purposes: list[object] = [None, UNKNOWN_PURPOSE, *purpose_codes]
        self._tables: dict[tuple[str, str], tuple[dict[object, Table], ...]] = {}
        for who, rules in base.items():
            plain = {p: {c: normal(rules[c], c, p) for c in classes} for p in purposes}
            if who in break_glass.who:
                glass = {
                    p: {
                        c: fd("allow", BREAK_GLASS, c)
                        if c in break_glass.upgrade and t[c].decision != "allow"
                        else t[c]
                        for c in classes
                    }
                    for p, t in plain.items()
                }
                self._tables[who] = (plain, glass)
            else:
                self._tables[who] = (plain,)
        self.unknown_role: Table = {c: fd("deny", UNKNOWN_ROLE, c) for c in classes}
        self._scope_missing: Table = {c: fd("deny", SCOPE_MISSING, c) for c in classes}
        self.unclassified = FieldDecision("deny", UNCLASSIFIED, "")
        self._scoped: dict[tuple[int, frozenset[str]], Table] = {}

    def table_for(self, principal: Principal, now: datetime | None) -> Table:
        """The principal's table: by agency type and role, then break-glass, then purpose."""
        tables = self._tables.get((principal.agency_type, principal.role))
        if tables is None:
            return self.unknown_role
        by_purpose = tables[0]
        if (
            len(tables) == 2
            and principal.break_glass is not None
            and self._break_glass.grant_valid(principal.break_glass, now)
        ):
            by_purpose = tables[1]
        table = by_purpose.get(principal.purpose)
        if table is None:
            table = by_purpose[UNKNOWN_PURPOSE]
        if self._enforce_scopes:
            return self._with_scopes(table, principal.scopes)
        return table

    def _with_scopes(self, table: Table, scopes: frozenset[str]) -> Table:
        """The table with classes whose OAuth scope the token lacks denied; cached, since
        tokens carry few distinct scope sets."""
        key = (id(table), scopes)
        cached = self._scoped.get(key)
        if cached is None:
            if len(self._scoped) > 4096:
                self._scoped.clear()
            cached = self._scoped[key] = {
                c: self._scope_missing[c]
                if (s := self._classes[c].scope) and s not in scopes and d.decision != "deny"
                else d
                for c, d in table.items()
            }
        return cached
