"""What a masked field shows: the mask of every model property, the class and mask of every API
field that is not a property, and the fields that would give a masked value back.

Reading ``[masks]``, ``[fields]`` and ``[reconstruction]`` here resolves every field to its mask
function once, at load, so a request applies a mask with one dict lookup. The mask kinds
themselves are in ``auth.masking``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from auth.masking import MASKS, TEXT_ONLY, small_count
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
)
from auth.policy.vocabulary import ClassInfo
from graph.model import PropType
from kernel.messages import say

Mask = Callable[[Any], Any]


def load_masks(
    raw: dict[str, Any], classes: Mapping[str, ClassInfo], field_class: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, Mask]]]:
    """``[masks]``: the mask kind and function of every classified property, from
    ``by_field`` (``Kind.prop`` or ``*.prop``), else the class's ``by_class``, else redact. A
    text-only mask on a property that is not text is an error."""
    expect_only_keys(raw, {"by_class", "by_field"}, "masks")
    by_class = expect_table(raw.get("by_class", {}), "masks.by_class")
    for cls, kind in by_class.items():
        key = f"masks.by_class.{cls}"
        expect_known(key, cls, classes, say("policy.what.class"))
        expect_known(key, kind, MASKS, say("policy.what.mask"))
    by_field: dict[tuple[str, str], str] = {}
    for dotted, kind in expect_table(raw.get("by_field", {}), "masks.by_field").items():
        key = f"masks.by_field.{dotted}"
        owner, sep, prop = dotted.partition(".")
        if not sep:
            raise refusal(key, "policy.field_form")
        if owner == ANY:
            if prop not in COMMON_PROPS:
                raise refusal(key, "policy.not_common_prop_named", prop=repr(prop))
        elif owner not in field_class:
            raise refusal(key, "policy.unknown_kind_named", kind=repr(owner))
        elif prop not in field_class[owner]:
            raise refusal(key, "policy.no_prop", kind=owner, prop=repr(prop))
        expect_known(key, kind, MASKS, say("policy.what.mask"))
        by_field[owner, prop] = kind

    fields = all_fields()
    kinds: dict[str, dict[str, str]] = {}
    funcs: dict[str, dict[str, Mask]] = {}
    for kind, props in field_class.items():
        kinds[kind], funcs[kind] = {}, {}
        for prop, cls in props.items():
            if (kind, prop) in by_field:
                mask, origin = by_field[kind, prop], f"masks.by_field.{kind}.{prop}"
            elif (ANY, prop) in by_field:
                mask, origin = by_field[ANY, prop], f"masks.by_field.{ANY}.{prop}"
            else:
                mask, origin = by_class.get(cls, "redact"), f"masks.by_class.{cls}"
            if mask in TEXT_ONLY and fields[kind][prop] != PropType.STRING:
                raise refusal(
                    origin,
                    "policy.mask_for_text",
                    mask=repr(mask),
                    field=f"{kind}.{prop}",
                    type=fields[kind][prop].value,
                )
            kinds[kind][prop] = mask
            funcs[kind][prop] = MASKS[mask]
    return kinds, funcs


def load_api_fields(
    raw: dict[str, Any], raw_masks: dict[str, Any], classes: Mapping[str, ClassInfo], min_count: int
) -> tuple[dict[tuple[str, str], tuple[str, Mask]], set[tuple[str, str]]]:
    """`[fields.<GraphQL type>] <field> = "<class>"` or `{ class = "…", mask = "…" }`: the class
    of every API field that is not a graph property (workflow records, derived values, counts,
    links), and the mask it takes (the class's by default); with the fields whose mask is a
    pseudonym."""
    by_class = expect_table(expect_table(raw_masks, "masks").get("by_class", {}), "masks.by_class")
    out: dict[tuple[str, str], tuple[str, Mask]] = {}
    pseudonymised: set[tuple[str, str]] = set()
    for type_name, fields in raw.items():
        for name, spec in expect_table(fields, f"fields.{type_name}").items():
            key = f"fields.{type_name}.{name}"
            if isinstance(spec, str):
                cls, mask, cls_key = spec, None, key
            else:
                spec = expect_table(spec, key)
                expect_only_keys(spec, {"class", "mask"}, key)
                cls, cls_key = expect_str(spec.get("class"), f"{key}.class"), f"{key}.class"
                mask = expect_str(spec["mask"], f"{key}.mask") if "mask" in spec else None
            expect_known(cls_key, cls, classes, say("policy.what.class"))
            mask = mask or by_class.get(cls, "redact")
            expect_known(f"{key}.mask", mask, MASKS, say("policy.what.mask"))
            fn = MASKS[mask]
            if mask == "small_count":
                fn = functools.partial(small_count, k=min_count)
            out[type_name, name] = (cls, fn)
            if mask == "pseudonym":
                pseudonymised.add((type_name, name))
    return out, pseudonymised


def load_reconstruction(
    raw: dict[str, Any], field_class: Mapping[str, Mapping[str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """`"Kind.prop" = ["Kind.other", …]`: when the key is masked for a role, the listed fields
    are at most masked for it (they would give the masked value back). Keyed by the listed
    field, valued by the property that masks it."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for trigger, targets in raw.items():
        key = f"reconstruction.{trigger}"
        t_kind, _, t_prop = trigger.partition(".")
        if t_prop not in field_class.get(t_kind, {}):
            raise refusal(key, "policy.unclassified_prop")
        for target in expect_str_list(targets, key):
            kind, _, prop = target.partition(".")
            if prop not in field_class.get(kind, {}):
                raise refusal(key, "policy.unclassified_prop_named", field=repr(target))
            out[kind, prop] = (t_kind, t_prop)
    return out
