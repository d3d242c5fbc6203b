"""The engine: a policy file loaded, checked and compiled into the lookups every field asks.

`Policy` is what callers hold (one per process); `BoundPolicy` is that policy resolved for one
principal, which is what a request asks field by field.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from auth.masking import MASKS, SMALL_COUNT_K, TEXT_ONLY, small_count
from auth.policy.checks import (
    COMMON_PROPS,
    _all_fields,
    _known,
    _only,
    _str,
    _str_list,
    _table,
)
from auth.policy.scope import jurisdiction_prefix, scope_decision
from auth.policy.vocabulary import (
    ALLOWED,
    BREAK_GLASS,
    DECISIONS,
    DENIED_BY_POLICY,
    INVALID_JURISDICTION,
    MASKED_AGAINST_RECONSTRUCTION,
    MASKED_BY_POLICY,
    MASKED_FOR_PURPOSE,
    PURPOSE_NOT_PERMITTED,
    PURPOSE_REQUIRED,
    SCOPE_KINDS,
    SCOPE_MISSING,
    UNCLASSIFIED,
    UNKNOWN_ROLE,
    AgencyTypeInfo,
    ClassInfo,
    Decision,
    FieldDecision,
    PolicyError,
    RoleInfo,
    ScopeDecision,
    ScopeFacts,
    ScopeRule,
)
from auth.principal import BreakGlass, Principal
from graph.model import DivisionLevel, PropType, division_level
from kernel import clock

DEFAULT_PATH = Path(__file__).parents[1] / "policies" / "default.toml"

_ANY = "*"
_UNKNOWN_PURPOSE = object()  # table key for a declared purpose the policy does not know
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.\d+$")
_TOP_KEYS = {
    "version",
    "default",
    "classes",
    "sensitivity",
    "masks",
    "agency_types",
    "rules",
    "purpose",
    "break_glass",
    "capabilities",
    "oauth",
    "fields",
    "reconstruction",
    "disclosure",
}

# --------------------------------------------------------------------------- the policy


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
            raise PolicyError(f"{p}: cannot read policy file ({exc.strerror or exc})") from exc
        return cls.loads(text, source=str(p))

    @classmethod
    def loads(cls, text: str, source: str = "<string>") -> Policy:
        """Load a policy from TOML text (e.g. a version kept in the relational store)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> Policy:
        """Build from already parsed TOML; every error message starts with ``source``."""
        self = cls.__new__(cls)
        try:
            self._build(dict(data), source)
        except PolicyError as exc:
            raise PolicyError(f"{source}: {exc}") from None
        return self

    def _build(self, data: dict[str, Any], source: str) -> None:
        _only(data, _TOP_KEYS, "")
        for required in ("version", "classes", "sensitivity", "agency_types", "rules"):
            if required not in data:
                raise PolicyError(f"{required}: missing")
        self.source = source
        self.version = _str(data["version"], "version")
        if not _VERSION_RE.match(self.version):
            raise PolicyError(f"version: {self.version!r} is not of the form YYYY-MM-DD.N")
        default = data.get("default", "deny")
        _known("default", default, DECISIONS, "decision")

        self._classes = self._load_classes(_table(data["classes"], "classes"))
        self._field_class = self._load_sensitivity(_table(data["sensitivity"], "sensitivity"))
        self._raw_masks = dict(data.get("masks", {}))
        self._field_mask_kind, self._field_mask = self._load_masks(_table(data.get("masks", {}), "masks"))
        self._agency_types = self._load_agency_types(_table(data["agency_types"], "agency_types"))
        base = self._load_rules(_table(data["rules"], "rules"), default)
        self._purpose_codes, purpose_rules = self._load_purpose(_table(data.get("purpose", {}), "purpose"))
        self._load_break_glass(_table(data.get("break_glass", {}), "break_glass"))
        self._capabilities = self._load_capabilities(_table(data.get("capabilities", {}), "capabilities"))
        oauth = _table(data.get("oauth", {}), "oauth")
        _only(oauth, {"enforce_scopes"}, "oauth")
        enforce = oauth.get("enforce_scopes", False)
        if not isinstance(enforce, bool):
            raise PolicyError("oauth.enforce_scopes: expected true or false")
        self._enforce_scopes = enforce

        self._base = base
        self._compile(base, purpose_rules)
        disclosure = _table(data.get("disclosure", {}), "disclosure")
        _only(disclosure, {"min_count", "lookups_per_hour"}, "disclosure")
        per_hour = disclosure.get("lookups_per_hour", 60)
        if not isinstance(per_hour, int) or isinstance(per_hour, bool) or per_hour < 1:
            raise PolicyError("disclosure.lookups_per_hour: expected a whole number of at least 1")
        self.lookups_per_hour: int = per_hour
        min_count = disclosure.get("min_count", SMALL_COUNT_K)
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            raise PolicyError("disclosure.min_count: expected a whole number of at least 1")
        self.min_count: int = min_count
        self._api_fields = self._load_fields(_table(data.get("fields", {}), "fields"))
        self._reconstruction = self._load_reconstruction(
            _table(data.get("reconstruction", {}), "reconstruction")
        )

    def _load_fields(self, raw: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Callable[[Any], Any]]]:
        """`[fields.<GraphQL type>] <field> = "<class>"` or `{ class = "…", mask = "…" }`: the class
        of every API field that is not a graph property (workflow records, derived values, counts,
        links), and the mask it takes (the class's by default)."""
        by_class = _table(_table(self._raw_masks, "masks").get("by_class", {}), "masks.by_class")
        out: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {}
        self._pseudonymised_fields: set[tuple[str, str]] = set()
        for type_name, fields in raw.items():
            for name, spec in _table(fields, f"fields.{type_name}").items():
                key = f"fields.{type_name}.{name}"
                if isinstance(spec, str):
                    cls, mask = spec, None
                else:
                    spec = _table(spec, key)
                    _only(spec, {"class", "mask"}, key)
                    cls, mask = _str(spec.get("class"), f"{key}.class"), spec.get("mask")
                _known(key, cls, self._classes, "sensitivity class")
                mask = mask or by_class.get(cls, "redact")
                _known(f"{key}.mask", mask, MASKS, "mask kind")
                fn = MASKS[mask]
                if mask == "small_count":
                    fn = functools.partial(small_count, k=self.min_count)
                out[type_name, name] = (cls, fn)
                if mask == "pseudonym":
                    self._pseudonymised_fields.add((type_name, name))
        return out

    def _load_reconstruction(self, raw: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
        """`"Kind.prop" = ["Kind.other", …]`: when the key is masked for a role, the listed fields
        are at most masked for it (they would give the masked value back)."""
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for trigger, targets in raw.items():
            key = f"reconstruction.{trigger}"
            t_kind, _, t_prop = trigger.partition(".")
            if t_prop not in self._field_class.get(t_kind, {}):
                raise PolicyError(f"{key}: not a classified property")
            for target in _str_list(targets, key):
                kind, _, prop = target.partition(".")
                if prop not in self._field_class.get(kind, {}):
                    raise PolicyError(f"{key}: {target!r} is not a classified property")
                out[kind, prop] = (t_kind, t_prop)
        return out

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

    def _load_classes(self, raw: dict[str, Any]) -> dict[str, ClassInfo]:
        if not raw:
            raise PolicyError("classes: at least one sensitivity class is needed")
        classes: dict[str, ClassInfo] = {}
        for name, spec in raw.items():
            key = f"classes.{name}"
            spec = _table(spec, key)
            _only(spec, {"zh", "description", "scope"}, key)
            scope = spec.get("scope")
            classes[name] = ClassInfo(
                name=name,
                zh=_str(spec.get("zh"), f"{key}.zh"),
                description=str(spec.get("description", "")),
                scope=_str(scope, f"{key}.scope") if scope is not None else None,
            )
        return classes

    def _load_sensitivity(self, raw: dict[str, Any]) -> dict[str, dict[str, str]]:
        fields = _all_fields()
        common = _table(raw.get(_ANY, {}), f"sensitivity.{_ANY}")
        for prop, cls in common.items():
            key = f"sensitivity.{_ANY}.{prop}"
            if prop not in COMMON_PROPS:
                raise PolicyError(
                    f"{key}: not a property every kind has (those are: {', '.join(COMMON_PROPS)})"
                )
            _known(key, cls, self._classes, "sensitivity class")
        for kind, props in raw.items():
            if kind == _ANY:
                continue
            if kind not in fields:
                raise PolicyError(
                    f"sensitivity.{kind}: unknown kind (not a node or relationship kind in graph/model.py)"
                )
            for prop, cls in _table(props, f"sensitivity.{kind}").items():
                key = f"sensitivity.{kind}.{prop}"
                if prop not in fields[kind]:
                    raise PolicyError(f"{key}: {kind} has no property {prop!r} in graph/model.py")
                _known(key, cls, self._classes, "sensitivity class")

        result: dict[str, dict[str, str]] = {}
        missing: list[str] = []
        for kind, props in fields.items():
            own = raw.get(kind, {})
            result[kind] = {}
            for prop in props:
                cls = own.get(prop, common.get(prop))
                if cls is None:
                    missing.append(f"sensitivity.{kind}.{prop}")
                else:
                    result[kind][prop] = cls
        if missing:
            more = f" (also unclassified: {', '.join(missing[1:])})" if len(missing) > 1 else ""
            raise PolicyError(
                f"{missing[0]}: not classified; every property in graph/model.py needs a "
                f"sensitivity class{more}"
            )
        return result

    def _load_masks(
        self, raw: dict[str, Any]
    ) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Callable[[Any], Any]]]]:
        _only(raw, {"by_class", "by_field"}, "masks")
        by_class = _table(raw.get("by_class", {}), "masks.by_class")
        for cls, kind in by_class.items():
            key = f"masks.by_class.{cls}"
            _known(key, cls, self._classes, "sensitivity class")
            _known(key, kind, MASKS, "mask kind")
        by_field: dict[tuple[str, str], str] = {}
        for dotted, kind in _table(raw.get("by_field", {}), "masks.by_field").items():
            key = f"masks.by_field.{dotted}"
            owner, sep, prop = dotted.partition(".")
            if not sep:
                raise PolicyError(f"{key}: expected 'Kind.property' or '*.property'")
            if owner == _ANY:
                if prop not in COMMON_PROPS:
                    raise PolicyError(f"{key}: {prop!r} is not a property every kind has")
            elif owner not in self._field_class:
                raise PolicyError(f"{key}: unknown kind {owner!r}")
            elif prop not in self._field_class[owner]:
                raise PolicyError(f"{key}: {owner} has no property {prop!r}")
            _known(key, kind, MASKS, "mask kind")
            by_field[owner, prop] = kind

        fields = _all_fields()
        kinds: dict[str, dict[str, str]] = {}
        funcs: dict[str, dict[str, Callable[[Any], Any]]] = {}
        for kind, props in self._field_class.items():
            kinds[kind], funcs[kind] = {}, {}
            for prop, cls in props.items():
                if (kind, prop) in by_field:
                    mask, origin = by_field[kind, prop], f"masks.by_field.{kind}.{prop}"
                elif (_ANY, prop) in by_field:
                    mask, origin = by_field[_ANY, prop], f"masks.by_field.{_ANY}.{prop}"
                else:
                    mask, origin = by_class.get(cls, "redact"), f"masks.by_class.{cls}"
                if mask in TEXT_ONLY and fields[kind][prop] != PropType.STRING:
                    raise PolicyError(
                        f"{origin}: mask {mask!r} is for text but {kind}.{prop} is "
                        f"{fields[kind][prop].value}; use keep, null or redact"
                    )
                kinds[kind][prop] = mask
                funcs[kind][prop] = MASKS[mask]
        return kinds, funcs

    def _load_agency_types(self, raw: dict[str, Any]) -> dict[str, AgencyTypeInfo]:
        def scope_list(value: Any, key: str) -> tuple[str, ...]:
            kinds = _str_list(value, key)
            if not kinds:
                raise PolicyError(f"{key}: at least one scope rule is needed (use ['none'] for no rows)")
            for k in kinds:
                _known(key, k, SCOPE_KINDS, "scope rule")
            if "none" in kinds and len(kinds) > 1:
                raise PolicyError(f"{key}: 'none' cannot be combined with other scope rules")
            if "village" in kinds and "jurisdiction" in kinds:
                raise PolicyError(f"{key}: 'village' is inside 'jurisdiction'; use one of them")
            return tuple(dict.fromkeys(kinds))

        types: dict[str, AgencyTypeInfo] = {}
        for name, spec in raw.items():
            key = f"agency_types.{name}"
            if name == _ANY:
                raise PolicyError(f"{key}: '*' is not an agency type name")
            spec = _table(spec, key)
            _only(spec, {"zh", "scope", "roles"}, key)
            scope = scope_list(spec.get("scope"), f"{key}.scope")
            roles_raw = _table(spec.get("roles", {}), f"{key}.roles")
            if not roles_raw:
                raise PolicyError(f"{key}.roles: at least one role is needed")
            roles: dict[str, RoleInfo] = {}
            for role, rspec in roles_raw.items():
                rkey = f"{key}.roles.{role}"
                if role == _ANY:
                    raise PolicyError(f"{rkey}: '*' is not a role name")
                rspec = _table(rspec, rkey)
                _only(rspec, {"zh", "scope"}, rkey)
                rscope = scope_list(rspec["scope"], f"{rkey}.scope") if "scope" in rspec else scope
                roles[role] = RoleInfo(role, _str(rspec.get("zh"), f"{rkey}.zh"), rscope)
            types[name] = AgencyTypeInfo(
                name, _str(spec.get("zh"), f"{key}.zh"), scope, MappingProxyType(roles)
            )
        if not types:
            raise PolicyError("agency_types: at least one agency type is needed")
        return types

    def _load_rules(self, raw: dict[str, Any], default: str) -> dict[tuple[str, str], dict[str, Decision]]:
        def decisions(table: Any, key: str) -> dict[str, Decision]:
            out: dict[str, Decision] = {}
            for cls, dec in _table(table, key).items():
                _known(f"{key}.{cls}", cls, self._classes, "sensitivity class")
                _known(f"{key}.{cls}", dec, DECISIONS, "decision")
                out[cls] = dec
            return out

        layers: dict[tuple[str, str], dict[str, Decision]] = {}
        for atype, roles in raw.items():
            key = f"rules.{atype}"
            if atype != _ANY:
                _known(key, atype, self._agency_types, "agency type")
            for role, table in _table(roles, key).items():
                rkey = f"{key}.{role}"
                if atype == _ANY and role != _ANY:
                    raise PolicyError(f"{rkey}: under rules.'*' only the '*' role is allowed")
                if role != _ANY and atype != _ANY:
                    _known(rkey, role, self._agency_types[atype].roles, f"role of {atype}")
                layers[atype, role] = decisions(table, rkey)

        everyone = layers.get((_ANY, _ANY), {})
        base: dict[tuple[str, str], dict[str, Decision]] = {}
        for atype, info in self._agency_types.items():
            type_default = layers.get((atype, _ANY), {})
            for role in info.roles:
                own = layers.get((atype, role), {})
                base[atype, role] = {
                    c: own.get(c) or type_default.get(c) or everyone.get(c) or default  # type: ignore[misc]
                    for c in self._classes
                }
        return base

    def _load_purpose(
        self, raw: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, tuple[set[str], set[str]]]]:
        _only(raw, {"codes", "classes"}, "purpose")
        codes: dict[str, str] = {}
        for code, zh in _table(raw.get("codes", {}), "purpose.codes").items():
            if code == _ANY:
                raise PolicyError("purpose.codes.*: '*' is not a purpose code")
            codes[code] = _str(zh, f"purpose.codes.{code}")
        rules: dict[str, tuple[set[str], set[str]]] = {}
        for cls, spec in _table(raw.get("classes", {}), "purpose.classes").items():
            key = f"purpose.classes.{cls}"
            _known(key, cls, self._classes, "sensitivity class")
            spec = _table(spec, key)
            _only(spec, {"allow", "mask"}, key)
            allow = _str_list(spec.get("allow", []), f"{key}.allow")
            mask = _str_list(spec.get("mask", []), f"{key}.mask")
            for code in mask:
                _known(f"{key}.mask", code, codes, "purpose code")
            for code in allow:
                if code != _ANY:
                    _known(f"{key}.allow", code, codes, "purpose code")
            both = sorted(set(allow) & set(mask))
            if both:
                raise PolicyError(f"{key}: purpose {both[0]!r} is in both allow and mask")
            allowed = set(codes) - set(mask) if _ANY in allow else set(allow)
            rules[cls] = (allowed, set(mask))
        return codes, rules

    def _load_break_glass(self, raw: dict[str, Any]) -> None:
        key = "break_glass"
        _only(
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
            raise PolicyError(f"{key}.max_duration_minutes: expected minutes between 1 and 1440")
        min_chars = raw.get("min_justification_chars", 1)
        if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 1:
            raise PolicyError(f"{key}.min_justification_chars: expected a positive integer")
        scope = raw.get("scope", "jurisdiction")
        _known(f"{key}.scope", scope, ("jurisdiction", "unchanged"), "break-glass scope")
        upgrade = _str_list(raw.get("upgrade_classes", []), f"{key}.upgrade_classes")
        never = _str_list(raw.get("never_classes", []), f"{key}.never_classes")
        for c in upgrade:
            _known(f"{key}.upgrade_classes", c, self._classes, "sensitivity class")
        for c in never:
            _known(f"{key}.never_classes", c, self._classes, "sensitivity class")
            if c in upgrade:
                raise PolicyError(f"{key}.upgrade_classes: {c!r} is in break_glass.never_classes")
        never_types = _str_list(raw.get("never_agency_types", []), f"{key}.never_agency_types")
        for t in never_types:
            _known(f"{key}.never_agency_types", t, self._agency_types, "agency type")
        who: set[tuple[str, str]] = set()
        for atype, roles in _table(raw.get("who", {}), f"{key}.who").items():
            wkey = f"{key}.who.{atype}"
            _known(wkey, atype, self._agency_types, "agency type")
            if atype in never_types:
                raise PolicyError(
                    f"{wkey}: {atype} is in break_glass.never_agency_types and may never break glass"
                )
            for role in _str_list(roles, wkey):
                if role == _ANY:
                    who.update((atype, r) for r in self._agency_types[atype].roles)
                else:
                    _known(wkey, role, self._agency_types[atype].roles, f"role of {atype}")
                    who.add((atype, role))
        self._bg_max = timedelta(minutes=minutes)
        self._bg_min_chars = min_chars
        self._bg_widens_scope = scope == "jurisdiction"
        self._bg_upgrade = frozenset(upgrade)
        self._bg_who = frozenset(who)

    def _load_capabilities(self, raw: dict[str, Any]) -> dict[str, frozenset[tuple[str, str]]]:
        caps: dict[str, frozenset[tuple[str, str]]] = {}
        for cap, table in raw.items():
            key = f"capabilities.{cap}"
            holders: set[tuple[str, str]] = set()
            for atype, roles in _table(table, key).items():
                ckey = f"{key}.{atype}"
                _known(ckey, atype, self._agency_types, "agency type")
                for role in _str_list(roles, ckey):
                    if role == _ANY:
                        holders.update((atype, r) for r in self._agency_types[atype].roles)
                    else:
                        _known(ckey, role, self._agency_types[atype].roles, f"role of {atype}")
                        holders.add((atype, role))
            caps[cap] = frozenset(holders)
        return caps

    # ---- compilation

    def _compile(
        self,
        base: dict[tuple[str, str], dict[str, Decision]],
        purpose_rules: dict[str, tuple[set[str], set[str]]],
    ) -> None:
        """Precompute one shared FieldDecision per (role, purpose, break-glass, class)."""
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

        purposes: list[object] = [None, _UNKNOWN_PURPOSE, *self._purpose_codes]
        self._tables: dict[tuple[str, str], tuple[dict[object, dict[str, FieldDecision]], ...]] = {}
        for who, rules in base.items():
            plain = {p: {c: normal(rules[c], c, p) for c in self._classes} for p in purposes}
            if who in self._bg_who:
                glass = {
                    p: {
                        c: fd("allow", BREAK_GLASS, c)
                        if c in self._bg_upgrade and t[c].decision != "allow"
                        else t[c]
                        for c in self._classes
                    }
                    for p, t in plain.items()
                }
                self._tables[who] = (plain, glass)
            else:
                self._tables[who] = (plain,)
        self._unknown_role = {c: fd("deny", UNKNOWN_ROLE, c) for c in self._classes}
        self._scope_missing = {c: fd("deny", SCOPE_MISSING, c) for c in self._classes}
        self._unclassified = FieldDecision("deny", UNCLASSIFIED, "")
        self._scoped: dict[tuple[int, frozenset[str]], dict[str, FieldDecision]] = {}

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
    def break_glass_max_duration(self) -> timedelta:
        """The longest a break-glass grant may run; a grant reaching further is ignored."""
        return self._bg_max

    def rule(self, agency_type: str, role: str, cls: str) -> Decision:
        """The matrix cell: the decision before purpose and break-glass are considered."""
        return self._base[agency_type, role][cls]

    def sensitivity(self, kind: str, prop: str) -> str:
        """The sensitivity class of ``kind.prop``; ``PolicyError`` if the policy has none."""
        try:
            return self._field_class[kind][prop]
        except KeyError:
            raise PolicyError(f"{kind}.{prop}: not a classified property") from None

    def mask_kind(self, kind: str, prop: str) -> str:
        try:
            return self._field_mask_kind[kind][prop]
        except KeyError:
            raise PolicyError(f"{kind}.{prop}: not a classified property") from None

    def scopes_for(self, kind: str, prop: str) -> list[str]:
        """OAuth scopes a router must require for the field (Federation ``@requiresScopes``)."""
        scope = self._classes[self.sensitivity(kind, prop)].scope
        return [scope] if scope else []

    def is_public_kind(self, kind: str) -> bool:
        """True when every non-common property of the kind is public (Division, School):
        such records need no row-scope check."""
        props = self._field_class.get(kind)
        if props is None:
            raise PolicyError(f"{kind}: unknown kind")
        return all(cls == "public" for p, cls in props.items() if p not in COMMON_PROPS)

    def can(self, principal: Principal, capability: str) -> bool:
        """Whether the principal's agency type and role hold a capability (``read_audit_log``,
        ``read_statistics``, ``file_mandatory_report`` …). A misspelt capability raises."""
        holders = self._capabilities.get(capability)
        if holders is None:
            raise PolicyError(f"capabilities.{capability}: unknown capability")
        return (principal.agency_type, principal.role) in holders

    def capability_names(self) -> list[str]:
        """Every capability the policy file names, sorted (the console offers its pages by the
        ones the caller holds, asking `can` for each)."""
        return sorted(self._capabilities)

    # ---- break-glass

    def break_glass_eligible(self, principal: Principal) -> bool:
        """Whether this agency type and role may invoke break-glass at all."""
        return (principal.agency_type, principal.role) in self._bg_who

    def break_glass_active(self, principal: Principal, now: datetime | None = None) -> bool:
        """An eligible principal holding a grant that is justified, not expired and not
        longer than the policy allows. Naive datetimes are taken as UTC."""
        grant = principal.break_glass
        return grant is not None and self.break_glass_eligible(principal) and self._grant_valid(grant, now)

    def _grant_valid(self, grant: BreakGlass, now: datetime | None) -> bool:
        if len(grant.justification.strip()) < self._bg_min_chars:
            return False
        current = now if now is not None else clock.now()
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        expires = grant.expires_at if grant.expires_at.tzinfo else grant.expires_at.replace(tzinfo=UTC)
        return current < expires <= current + self._bg_max

    # ---- field decisions

    def _table_for(self, principal: Principal, now: datetime | None) -> dict[str, FieldDecision]:
        tables = self._tables.get((principal.agency_type, principal.role))
        if tables is None:
            return self._unknown_role
        by_purpose = tables[0]
        if (
            len(tables) == 2
            and principal.break_glass is not None
            and self._grant_valid(principal.break_glass, now)
        ):
            by_purpose = tables[1]
        table = by_purpose.get(principal.purpose)
        if table is None:
            table = by_purpose[_UNKNOWN_PURPOSE]
        if self._enforce_scopes:
            return self._with_scopes(table, principal.scopes)
        return table

    def _with_scopes(
        self, table: dict[str, FieldDecision], scopes: frozenset[str]
    ) -> dict[str, FieldDecision]:
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
            raise PolicyError(f"{kind}.{prop}: not a classified property") from None
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
        atype = self._agency_types.get(principal.agency_type)
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
        if self._bg_widens_scope and prefix is not None and self.break_glass_active(principal, now):
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
                bg = "yes" if (atype.name, role.name) in self._bg_who else "no"
                row = [
                    f"{atype.zh} `{atype.name}`",
                    f"{role.zh} `{role.name}`",
                    ", ".join(role.scope),
                    *cells,
                    bg,
                ]
                lines.append("| " + " | ".join(row) + " |")
        return "\n".join(lines) + "\n"


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


@functools.cache
def default_policy() -> Policy:
    """The default policy file, loaded once per process."""
    return Policy.load()
