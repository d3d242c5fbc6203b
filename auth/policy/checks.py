"""Checks of the policy file's shape, and the fields of graph/model.py it must classify.

Each helper refuses with a `PolicyError` naming the offending key, so a mistyped policy file is
refused at load with the place to fix it; what is wrong is said through the catalogue
(kernel/messages.py ``policy.*``), in Chinese unless the operator switched to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auth.policy.vocabulary import PolicyError
from graph.model import NODE_KINDS, REL_KINDS, SYSTEM_PROPS, PropType
from kernel.messages import MESSAGES, say

# The file's wildcard: every kind (`sensitivity."*"`, `masks.by_field`), every role of an agency
# type (`rules`, `who`, `capabilities`), every purpose (`purpose.classes.*.allow`).
ANY = "*"

# Properties every node and relationship has: its id and the store-maintained provenance.
COMMON_PROPS: dict[str, PropType] = {"id": PropType.STRING, **SYSTEM_PROPS}


def refusal(key: str, message: str, /, **values: object) -> PolicyError:
    """The error for key path ``key``: the catalogue's ``message`` filled in, the key named as written."""
    problem = say(message, **values)
    return PolicyError(say("policy.at", key=key, problem=problem), key=key, problem=problem)


def value_type(value: Any) -> str:
    """What kind of value the file holds (a TOML table is 表, ``dict`` in English)."""
    name = type(value).__name__
    return say(f"policy.type.{name}") if f"policy.type.{name}" in MESSAGES else name


def expect_table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise refusal(key, "policy.expected_table", got=value_type(value))
    return value


def expect_str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refusal(key, "policy.expected_text")
    return value


def expect_str_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise refusal(key, "policy.expected_text_list")
    return value


def expect_known(
    key: str, name: Any, known: Mapping[str, Any] | set[str] | tuple[str, ...], what: str
) -> None:
    """``name`` is one of ``known`` (``what`` it names, said: ``say("policy.what.class")``). A value
    of another type (a list or table where a name belongs, a number) is refused before it is looked
    up, so a mistyped file is told, not a ``TypeError``."""
    if not isinstance(name, str):
        raise refusal(key, "policy.expected_name", what=what, got=value_type(name))
    if name not in known:
        raise refusal(key, "policy.unknown_name", what=what, name=repr(name), known=", ".join(sorted(known)))


def expect_only_keys(table: Mapping[str, Any], allowed: set[str], key: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        prefix = f"{key}." if key else ""
        raise refusal(f"{prefix}{extra[0]}", "policy.unknown_key", allowed=", ".join(sorted(allowed)))


def _model_props(kind: str) -> dict[str, PropType] | None:
    if kind in NODE_KINDS:
        return NODE_KINDS[kind].props
    if kind in REL_KINDS:
        return REL_KINDS[kind].props
    return None


def all_fields() -> dict[str, dict[str, PropType]]:
    """Every kind in graph/model.py with every property a record of it can carry."""
    kinds = list(NODE_KINDS) + list(REL_KINDS)
    return {k: {**COMMON_PROPS, **(_model_props(k) or {})} for k in kinds}
