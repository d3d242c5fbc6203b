"""Reading the policy file's tables: sensitivity classes, the class of every model property,
agency types and roles, the rule matrix, purposes of use and capabilities.

Each function checks one table against what was read before it (a rule names a known class,
agency type and role; a purpose rule a known purpose code) and returns plain dicts; ``Policy``
calls them in file-dependency order, so the first error found is the one reported. Masks are
read in ``auth.policy.masks`` and break-glass in ``auth.policy.break_glass``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from auth.policy.checks import (
    ANY,
    COMMON_PROPS,
    all_fields,
    expect_known,
    expect_only_keys,
    expect_str,
    expect_str_list,
    expect_table,
    refusal,
    value_type,
)
from auth.policy.vocabulary import (
    DECISIONS,
    SCOPE_KINDS,
    AgencyTypeInfo,
    ClassInfo,
    Decision,
    RoleInfo,
)
from kernel.messages import say

VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.\d+$")
TOP_KEYS = {
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


def load_classes(raw: dict[str, Any]) -> dict[str, ClassInfo]:
    """``[classes.<name>]``: the sensitivity classes, in file order."""
    if not raw:
        raise refusal("classes", "policy.classes_empty")
    classes: dict[str, ClassInfo] = {}
    for name, spec in raw.items():
        key = f"classes.{name}"
        spec = expect_table(spec, key)
        expect_only_keys(spec, {"zh", "description", "scope"}, key)
        scope = spec.get("scope")
        description = spec.get("description", "")
        if not isinstance(description, str):
            raise refusal(f"{key}.description", "policy.expected_string", got=value_type(description))
        classes[name] = ClassInfo(
            name=name,
            zh=expect_str(spec.get("zh"), f"{key}.zh"),
            description=description,
            scope=expect_str(scope, f"{key}.scope") if scope is not None else None,
        )
    return classes


def load_sensitivity(raw: dict[str, Any], classes: Mapping[str, ClassInfo]) -> dict[str, dict[str, str]]:
    """``[sensitivity.<Kind>]``: the class of every property of every kind in graph/model.py
    (``"*"`` for the properties every kind has). An unclassified property is an error, so a
    property added to the model cannot leave unjudged."""
    fields = all_fields()
    common = expect_table(raw.get(ANY, {}), f"sensitivity.{ANY}")
    for prop, cls in common.items():
        key = f"sensitivity.{ANY}.{prop}"
        if prop not in COMMON_PROPS:
            raise refusal(key, "policy.not_common_prop", props=", ".join(COMMON_PROPS))
        expect_known(key, cls, classes, say("policy.what.class"))
    for kind, props in raw.items():
        if kind == ANY:
            continue
        if kind not in fields:
            raise refusal(f"sensitivity.{kind}", "policy.unknown_model_kind")
        for prop, cls in expect_table(props, f"sensitivity.{kind}").items():
            key = f"sensitivity.{kind}.{prop}"
            if prop not in fields[kind]:
                raise refusal(key, "policy.no_model_prop", kind=kind, prop=repr(prop))
            expect_known(key, cls, classes, say("policy.what.class"))

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
        more = say("policy.unclassified_more", keys=", ".join(missing[1:])) if len(missing) > 1 else ""
        raise refusal(missing[0], "policy.unclassified", more=more)
    return result


def load_agency_types(raw: dict[str, Any]) -> dict[str, AgencyTypeInfo]:
    """``[agency_types.<name>]``: the member-unit types, their roles and each role's row scope
    (the type's unless the role names its own)."""

    def scope_list(value: Any, key: str) -> tuple[str, ...]:
        kinds = expect_str_list(value, key)
        if not kinds:
            raise refusal(key, "policy.scope_empty")
        for k in kinds:
            expect_known(key, k, SCOPE_KINDS, say("policy.what.scope_rule"))
        if "none" in kinds and len(kinds) > 1:
            raise refusal(key, "policy.scope_none_alone")
        if "village" in kinds and "jurisdiction" in kinds:
            raise refusal(key, "policy.scope_village_in_jurisdiction")
        return tuple(dict.fromkeys(kinds))

    types: dict[str, AgencyTypeInfo] = {}
    for name, spec in raw.items():
        key = f"agency_types.{name}"
        if name == ANY:
            raise refusal(key, "policy.star_agency_type")
        spec = expect_table(spec, key)
        expect_only_keys(spec, {"zh", "scope", "roles"}, key)
        scope = scope_list(spec.get("scope"), f"{key}.scope")
        roles_raw = expect_table(spec.get("roles", {}), f"{key}.roles")
        if not roles_raw:
            raise refusal(f"{key}.roles", "policy.roles_empty")
        roles: dict[str, RoleInfo] = {}
        for role, rspec in roles_raw.items():
            rkey = f"{key}.roles.{role}"
            if role == ANY:
                raise refusal(rkey, "policy.star_role")
            rspec = expect_table(rspec, rkey)
            expect_only_keys(rspec, {"zh", "scope"}, rkey)
            rscope = scope_list(rspec["scope"], f"{rkey}.scope") if "scope" in rspec else scope
            roles[role] = RoleInfo(role, expect_str(rspec.get("zh"), f"{rkey}.zh"), rscope)
        types[name] = AgencyTypeInfo(
            name, expect_str(spec.get("zh"), f"{key}.zh"), scope, MappingProxyType(roles)
        )
    if not types:
        raise refusal("agency_types", "policy.agency_types_empty")
    return types


def load_rules(
    raw: dict[str, Any],
    default: str,
    classes: Mapping[str, ClassInfo],
    agency_types: Mapping[str, AgencyTypeInfo],
) -> dict[tuple[str, str], dict[str, Decision]]:
    """``[rules.<agency type>.<role>]``: the matrix, every (agency type, role) × class cell
    filled from the most specific layer that names it (the role, the type's ``"*"``, everyone's
    ``"*"."*"``, then ``default``)."""

    def decisions(table: Any, key: str) -> dict[str, Decision]:
        out: dict[str, Decision] = {}
        for cls, dec in expect_table(table, key).items():
            expect_known(f"{key}.{cls}", cls, classes, say("policy.what.class"))
            expect_known(f"{key}.{cls}", dec, DECISIONS, say("policy.what.decision"))
            out[cls] = dec
        return out

    layers: dict[tuple[str, str], dict[str, Decision]] = {}
    for atype, roles in raw.items():
        key = f"rules.{atype}"
        if atype != ANY:
            expect_known(key, atype, agency_types, say("policy.what.agency_type"))
        for role, table in expect_table(roles, key).items():
            rkey = f"{key}.{role}"
            if atype == ANY and role != ANY:
                raise refusal(rkey, "policy.star_rules_role")
            if role != ANY and atype != ANY:
                expect_known(rkey, role, agency_types[atype].roles, say("policy.what.role", atype=atype))
            layers[atype, role] = decisions(table, rkey)

    everyone = layers.get((ANY, ANY), {})
    base: dict[tuple[str, str], dict[str, Decision]] = {}
    for atype, info in agency_types.items():
        type_default = layers.get((atype, ANY), {})
        for role in info.roles:
            own = layers.get((atype, role), {})
            base[atype, role] = {
                c: own.get(c) or type_default.get(c) or everyone.get(c) or default  # type: ignore[misc]
                for c in classes
            }
    return base


def load_purpose(
    raw: dict[str, Any], classes: Mapping[str, ClassInfo]
) -> tuple[dict[str, str], dict[str, tuple[set[str], set[str]]]]:
    """``[purpose]``: the purpose-of-use codes, and per class the purposes that see it and
    the ones that see it masked at most."""
    expect_only_keys(raw, {"codes", "classes"}, "purpose")
    codes: dict[str, str] = {}
    for code, zh in expect_table(raw.get("codes", {}), "purpose.codes").items():
        if code == ANY:
            raise refusal("purpose.codes.*", "policy.star_purpose")
        codes[code] = expect_str(zh, f"purpose.codes.{code}")
    rules: dict[str, tuple[set[str], set[str]]] = {}
    for cls, spec in expect_table(raw.get("classes", {}), "purpose.classes").items():
        key = f"purpose.classes.{cls}"
        expect_known(key, cls, classes, say("policy.what.class"))
        spec = expect_table(spec, key)
        expect_only_keys(spec, {"allow", "mask"}, key)
        allow = expect_str_list(spec.get("allow", []), f"{key}.allow")
        mask = expect_str_list(spec.get("mask", []), f"{key}.mask")
        for code in mask:
            expect_known(f"{key}.mask", code, codes, say("policy.what.purpose"))
        for code in allow:
            if code != ANY:
                expect_known(f"{key}.allow", code, codes, say("policy.what.purpose"))
        both = sorted(set(allow) & set(mask))
        if both:
            raise refusal(key, "policy.purpose_allow_and_mask", purpose=repr(both[0]))
        allowed = set(codes) - set(mask) if ANY in allow else set(allow)
        rules[cls] = (allowed, set(mask))
    return codes, rules


def load_capabilities(
    raw: dict[str, Any], agency_types: Mapping[str, AgencyTypeInfo]
) -> dict[str, frozenset[tuple[str, str]]]:
    """``[capabilities.<name>]``: the (agency type, role) pairs holding each capability."""
    caps: dict[str, frozenset[tuple[str, str]]] = {}
    for cap, table in raw.items():
        key = f"capabilities.{cap}"
        holders: set[tuple[str, str]] = set()
        for atype, roles in expect_table(table, key).items():
            ckey = f"{key}.{atype}"
            expect_known(ckey, atype, agency_types, say("policy.what.agency_type"))
            for role in expect_str_list(roles, ckey):
                if role == ANY:
                    holders.update((atype, r) for r in agency_types[atype].roles)
                else:
                    expect_known(ckey, role, agency_types[atype].roles, say("policy.what.role", atype=atype))
                    holders.add((atype, role))
        caps[cap] = frozenset(holders)
    return caps


def load_enforce_scopes(raw: dict[str, Any]) -> bool:
    """``[oauth] enforce_scopes``: whether a token lacking a class's OAuth scope is denied it."""
    expect_only_keys(raw, {"enforce_scopes"}, "oauth")
    enforce = raw.get("enforce_scopes", False)
    if not isinstance(enforce, bool):
        raise refusal("oauth.enforce_scopes", "policy.expected_bool")
    return enforce


def whole_number(raw: dict[str, Any], name: str, default: int, *, key: str) -> int:
    """A setting that must be a whole number of at least 1 (``[disclosure]``)."""
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise refusal(f"{key}.{name}", "policy.expected_whole_number")
    return value
