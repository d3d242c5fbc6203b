"""One policy resolved for one principal: what a request asks, field by field.

Binding picks the principal's compiled table and resolves its row scope once, so each field
costs two dict lookups; this module holds what is done with that table (the decision, the
value or its mask, provenance claims filtered attribute by attribute).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auth.policy.scope import scope_decision
from auth.policy.vocabulary import FieldDecision, ScopeDecision, ScopeFacts, ScopeRule
from auth.principal import Principal

if TYPE_CHECKING:
    from auth.policy.engine import Policy


@dataclass(frozen=True)
class BoundPolicy:
    """A policy resolved for one principal (one request): decisions are two dict lookups.

    Break-glass validity and the purpose are fixed at bind time, so bind per request, not
    per process.
    """

    policy: Policy
    principal: Principal
    _table: dict[str, FieldDecision] = field(repr=False)
    scope: ScopeRule

    def decide(self, kind: str, prop: str) -> FieldDecision:
        props = self.policy._field_class.get(kind)
        cls = props.get(prop) if props is not None else None
        if cls is None:
            return self.policy._unclassified
        return self.policy._against_reconstruction(self._table, kind, prop, self._table[cls])

    def apply(self, kind: str, prop: str, value: Any) -> tuple[FieldDecision, Any]:
        """The decision and what to return for the field: the value, its mask, or ``None``."""
        d = self.decide(kind, prop)
        if d.decision == "allow":
            return d, value
        if d.decision == "mask":
            return d, self.policy._field_mask[kind][prop](value)
        return d, None

    def in_scope(self, facts: ScopeFacts) -> ScopeDecision:
        return scope_decision(self.scope, facts)

    def claims(
        self, kind: str, claims: Mapping[str, list[Mapping[str, Any]]]
    ) -> dict[str, list[dict[str, Any]]] | None:
        """Provenance claims (attribute → [{system, record_id, at, value}]) as this principal
        may see them.

        ``claims`` repeats every source's value of every attribute, so returning it whole
        would leak what the attribute's own decision hides. Each attribute keeps the claims
        its own decision allows (values masked when it is masked, the attribute dropped
        when denied); when ``claims`` itself is only masked, every value is masked and the
        source record ids hidden; when it is denied, the result is ``None``.
        """
        own = self.decide(kind, "claims")
        if own.decision == "deny":
            return None
        masks = self.policy._field_mask.get(kind, {})
        out: dict[str, list[dict[str, Any]]] = {}
        for attr, entries in claims.items():
            d = self.decide(kind, attr)
            if d.decision == "deny":
                continue
            masked = d.decision == "mask" or own.decision == "mask"
            fn = masks.get(attr)
            kept: list[dict[str, Any]] = []
            for entry in entries:
                e = dict(entry)
                if masked and "value" in e:
                    e["value"] = fn(e["value"]) if fn is not None else None
                if own.decision == "mask" and "record_id" in e:
                    e["record_id"] = "***"
                kept.append(e)
            out[attr] = kept
        return out
