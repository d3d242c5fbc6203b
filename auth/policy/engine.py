"""The engine: ``Policy``, a policy file loaded, checked and compiled into the lookups every
field asks, and what callers ask of it.

``Policy`` holds the result and answers; the work is done by its collaborators, each in its own
module: the tables are read by ``loading``, ``masks`` and ``break_glass``, the field decisions
compiled by ``decisions``, row scope resolved by ``scope``, and one request's questions answered
by ``bound.BoundPolicy``.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from auth.masking import SMALL_COUNT_K
from auth.policy import loading
from auth.policy.bound import BoundPolicy
from auth.policy.break_glass import load_break_glass
from auth.policy.checks import COMMON_PROPS, expect_known, expect_only_keys, expect_str, expect_table, refusal
from auth.policy.decisions import DecisionTables
from auth.policy.masks import load_api_fields, load_masks, load_reconstruction
from auth.policy.scope import resolve_row_scope, scope_decision
from auth.policy.vocabulary import (
    DECISIONS,
    MASKED_AGAINST_RECONSTRUCTION,
    PURPOSE_NOT_PERMITTED,
    PURPOSE_REQUIRED,
    AgencyTypeInfo,
    ClassInfo,
    Decision,
    FieldDecision,
    PolicyError,
    ScopeDecision,
    ScopeFacts,
    ScopeRule,
)
from auth.principal import Principal
from kernel.messages import say, toml_problem

DEFAULT_PATH = Path(__file__).parents[1] / "policies" / "default.toml"


class Policy:
    """A loaded, validated and compiled policy file. Immutable; share one per process."""

    version: str
    source: str

    # ---- loading

    @classmethod
    def load(cls, path: Path | str | None = None) -> Policy:
        """Load, validate and compile a policy file (the default file when ``path`` is None)."""
        p = Path(path) if path is not None else DEFAULT_PATH
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(say("policy.cannot_read", path=p, reason=exc.strerror or exc)) from exc
        return cls.loads(text, source=str(p))

    @classmethod
    def loads(cls, text: str, source: str = "<string>") -> Policy:
        """Load a policy from TOML text (e.g. a version kept in the relational store)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(say("policy.not_toml", source=source, problem=toml_problem(exc))) from exc
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> Policy:
        """Build from already parsed TOML; every error message starts with ``source``."""
        self = cls.__new__(cls)
        try:
            self._build(dict(data), source)
        except PolicyError as exc:
            if exc.key is None:
                message = say("policy.in_file_problem", source=source, problem=exc.problem)
            else:
                message = say("policy.in_file", source=source, key=exc.key, problem=exc.problem)
            raise PolicyError(message, key=exc.key, problem=exc.problem) from None
        return self

    def _build(self, data: dict[str, Any], source: str) -> None:
        """Read the tables in dependency order (each checked against those before it), so the
        first error found is the one reported, then compile the decisions."""
        expect_only_keys(data, loading.TOP_KEYS, "")
        for required in ("version", "classes", "sensitivity", "agency_types", "rules"):
            if required not in data:
                raise refusal(required, "policy.missing")
        self.source = source
        self.version = expect_str(data["version"], "version")
        if not loading.VERSION_RE.match(self.version):
            raise refusal("version", "policy.version_form", value=repr(self.version))
        default = data.get("default", "deny")
        expect_known("default", default, DECISIONS, say("policy.what.decision"))

        self._classes = loading.load_classes(expect_table(data["classes"], "classes"))
        self._field_class = loading.load_sensitivity(
            expect_table(data["sensitivity"], "sensitivity"), self._classes
        )
        raw_masks = expect_table(data.get("masks", {}), "masks")
        self._field_mask_kind, self._field_mask = load_masks(raw_masks, self._classes, self._field_class)
        self._agency_types = loading.load_agency_types(expect_table(data["agency_types"], "agency_types"))
        base = loading.load_rules(
            expect_table(data["rules"], "rules"), default, self._classes, self._agency_types
        )
        self._purpose_codes, purpose_rules = loading.load_purpose(
            expect_table(data.get("purpose", {}), "purpose"), self._classes
        )
        self._break_glass = load_break_glass(
            expect_table(data.get("break_glass", {}), "break_glass"), self._classes, self._agency_types
        )
        self._capabilities = loading.load_capabilities(
            expect_table(data.get("capabilities", {}), "capabilities"), self._agency_types
        )
        enforce_scopes = loading.load_enforce_scopes(expect_table(data.get("oauth", {}), "oauth"))

        self._base = base
        self._purpose_rules = purpose_rules
        self._decisions = DecisionTables(
            self._classes, base, self._purpose_codes, purpose_rules, self._break_glass, enforce_scopes
        )
        self._unclassified = self._decisions.unclassified
        disclosure = expect_table(data.get("disclosure", {}), "disclosure")
        expect_only_keys(disclosure, {"min_count", "lookups_per_hour"}, "disclosure")
        self.lookups_per_hour: int = loading.whole_number(
            disclosure, "lookups_per_hour", 60, key="disclosure"
        )
        self.min_count: int = loading.whole_number(disclosure, "min_count", SMALL_COUNT_K, key="disclosure")
        self._api_fields, self._pseudonymised_fields = load_api_fields(
            expect_table(data.get("fields", {}), "fields"), raw_masks, self._classes, self.min_count
        )
        self._reconstruction = load_reconstruction(
            expect_table(data.get("reconstruction", {}), "reconstruction"), self._field_class
        )

    # ---- API fields (the enforcement layer's declarations)

    def api_field_class(self, type_name: str, field_name: str) -> str | None:
        """The declared class of a GraphQL field that is not a graph property, or None."""
        found = self._api_fields.get((type_name, field_name))
        return found[0] if found is not None else None

    def api_fields(self) -> Mapping[tuple[str, str], str]:
        return MappingProxyType({k: v[0] for k, v in self._api_fields.items()})

    def masks_to_pseudonym(self, type_name: str, field_name: str) -> bool:
        """Whether the field's mask is a pseudonym (a record id that must stay opaque)."""
        return (type_name, field_name) in self._pseudonymised_fields

    def mask_api_field(self, type_name: str, field_name: str, value: Any) -> Any:
        return self._api_fields[type_name, field_name][1](value)

    def decide_class(self, principal: Principal, cls: str, *, now: datetime | None = None) -> FieldDecision:
        """Allow, mask or deny a class for one principal (an unknown class is denied)."""
        table = self._table_for(principal, now)
        return table.get(cls, self._unclassified)

    def purpose_refuses_in_full(self, principal: Principal, cls: str) -> str | None:
        """Why the principal's declared purpose does not see ``cls`` in full, or None if it does.

        Re-identification (a pseudonym in for its record, or a record id in for its pseudonym)
        gives a person's identity in full whatever the field rules mask, so it is only for a
        purpose under which that class is not masked: not statistics, not an audit."""
        rule = self._purpose_rules.get(cls)
        if rule is None:
            return None
        if not principal.purpose:
            return PURPOSE_REQUIRED
        return None if principal.purpose in rule[0] else PURPOSE_NOT_PERMITTED

    # ---- introspection

    @property
    def classes(self) -> Mapping[str, ClassInfo]:
        """Sensitivity classes in file order."""
        return MappingProxyType(self._classes)

    @property
    def agency_types(self) -> Mapping[str, AgencyTypeInfo]:
        return MappingProxyType(self._agency_types)

    @property
    def purpose_codes(self) -> Mapping[str, str]:
        """Purpose-of-use codes with their Chinese names."""
        return MappingProxyType(self._purpose_codes)

    @property
    def field_classes(self) -> Mapping[str, Mapping[str, str]]:
        """Each kind's classified properties with their sensitivity class (read-only views)."""
        return MappingProxyType({kind: MappingProxyType(props) for kind, props in self._field_class.items()})

    @property
    def break_glass_max_duration(self) -> timedelta:
        """The longest a break-glass grant may run; a grant reaching further is ignored."""
        return self._break_glass.max_duration

    @property
    def break_glass_min_justification(self) -> int:
        """The fewest characters a break-glass justification may have; a shorter one is ignored."""
        return self._break_glass.min_justification_chars

    def rule(self, agency_type: str, role: str, cls: str) -> Decision:
        """The matrix cell: the decision before purpose and break-glass are considered."""
        return self._base[agency_type, role][cls]

    def sensitivity(self, kind: str, prop: str) -> str:
        """The sensitivity class of ``kind.prop``; ``PolicyError`` if the policy has none."""
        try:
            return self._field_class[kind][prop]
        except KeyError:
            raise refusal(f"{kind}.{prop}", "policy.unclassified_prop") from None

    def mask_kind(self, kind: str, prop: str) -> str:
        try:
            return self._field_mask_kind[kind][prop]
        except KeyError:
            raise refusal(f"{kind}.{prop}", "policy.unclassified_prop") from None

    def scopes_for(self, kind: str, prop: str) -> list[str]:
        """OAuth scopes a router must require for the field (Federation ``@requiresScopes``)."""
        scope = self._classes[self.sensitivity(kind, prop)].scope
        return [scope] if scope else []

    def is_public_kind(self, kind: str) -> bool:
        """True when every non-common property of the kind is public (Division, School):
        such records need no row-scope check."""
        props = self._field_class.get(kind)
        if props is None:
            raise refusal(kind, "policy.unknown_kind")
        return all(cls == "public" for p, cls in props.items() if p not in COMMON_PROPS)

    def can(self, principal: Principal, capability: str) -> bool:
        """Whether the principal's agency type and role hold a capability (``read_audit_log``,
        ``read_statistics``, ``file_mandatory_report`` …). A misspelt capability raises."""
        holders = self._capabilities.get(capability)
        if holders is None:
            raise refusal(f"capabilities.{capability}", "policy.unknown_capability")
        return (principal.agency_type, principal.role) in holders

    def capability_names(self) -> list[str]:
        """Every capability the policy file names, sorted (the console offers its pages by the
        ones the caller holds, asking `can` for each)."""
        return sorted(self._capabilities)

    # ---- break-glass

    def break_glass_eligible(self, principal: Principal) -> bool:
        """Whether this agency type and role may invoke break-glass at all."""
        return self._break_glass.eligible(principal)

    def break_glass_active(self, principal: Principal, now: datetime | None = None) -> bool:
        """An eligible principal holding a grant that is justified, not expired and not
        longer than the policy allows. Naive datetimes are taken as UTC."""
        return self._break_glass.active(principal, now)

    # ---- field decisions

    def _table_for(self, principal: Principal, now: datetime | None) -> dict[str, FieldDecision]:
        return self._decisions.table_for(principal, now)

    def decide(
        self, principal: Principal, kind: str, prop: str, *, now: datetime | None = None
    ) -> FieldDecision:
        """Allow, mask or deny one field for one principal.

        For many fields of one request use ``bind(principal)``, which resolves the
        principal's table once. A field the policy does not classify (not in
        graph/model.py) is denied with reason ``unclassified``: fail closed.
        """
        props = self._field_class.get(kind)
        cls = props.get(prop) if props is not None else None
        if cls is None:
            return self._unclassified
        table = self._table_for(principal, now)
        return self._against_reconstruction(table, kind, prop, table[cls])

    def _against_reconstruction(
        self, table: dict[str, FieldDecision], kind: str, prop: str, d: FieldDecision
    ) -> FieldDecision:
        """An allowed field that would give back a value masked for this role is masked too."""
        trigger = self._reconstruction.get((kind, prop)) if d.decision == "allow" else None
        if trigger is not None:
            t_cls = self._field_class[trigger[0]][trigger[1]]
            if table[t_cls].decision == "mask":
                return FieldDecision("mask", MASKED_AGAINST_RECONSTRUCTION, d.sensitivity)
        return d

    def mask(self, kind: str, prop: str, value: Any) -> Any:
        """The masked form of ``value`` for ``kind.prop`` (``None`` stays ``None``)."""
        try:
            fn = self._field_mask[kind][prop]
        except KeyError:
            raise refusal(f"{kind}.{prop}", "policy.unclassified_prop") from None
        return fn(value)

    def apply(
        self, principal: Principal, kind: str, prop: str, value: Any, *, now: datetime | None = None
    ) -> tuple[FieldDecision, Any]:
        """The decision and the value to return: the value, its mask, or ``None``."""
        return self.bind(principal, now=now).apply(kind, prop, value)

    def redact_claims(
        self,
        principal: Principal,
        kind: str,
        claims: Mapping[str, list[Mapping[str, Any]]],
        *,
        now: datetime | None = None,
    ) -> dict[str, list[dict[str, Any]]] | None:
        """Provenance claims filtered attribute by attribute (see ``BoundPolicy.claims``)."""
        return self.bind(principal, now=now).claims(kind, claims)

    def bind(self, principal: Principal, *, now: datetime | None = None) -> BoundPolicy:
        """The policy resolved for one principal at one moment: use one per request."""
        return BoundPolicy(
            self, principal, self._table_for(principal, now), self.row_scope(principal, now=now)
        )

    # ---- row scope

    def row_scope(self, principal: Principal, *, now: datetime | None = None) -> ScopeRule:
        """The principal's row scope, resolved to prefixes and code sets."""
        return resolve_row_scope(principal, self._agency_types, self._break_glass, now)

    def in_scope(
        self, principal: Principal, facts: ScopeFacts, *, now: datetime | None = None
    ) -> ScopeDecision:
        """Whether a record with these facts is in the principal's slice, and by which rule."""
        return scope_decision(self.row_scope(principal, now=now), facts)

    # ---- documentation

    def table_markdown(self) -> str:
        """The agency × class decision matrix (before purpose checks), for the README."""
        cols = list(self._classes)
        head = ["成员单位 agency type", "角色 role", "行范围 scope", *cols, "break-glass"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for atype in self._agency_types.values():
            for role in atype.roles.values():
                cells = [self._base[atype.name, role.name][c] for c in cols]
                bg = "yes" if (atype.name, role.name) in self._break_glass.who else "no"
                row = [
                    f"{atype.zh} `{atype.name}`",
                    f"{role.zh} `{role.name}`",
                    ", ".join(role.scope),
                    *cells,
                    bg,
                ]
                lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines) + "\n"


@functools.cache
def default_policy() -> Policy:
    """The default policy file, loaded once per process."""
    return Policy.load()
