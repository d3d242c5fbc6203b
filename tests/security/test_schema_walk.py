"""The schema walk (issue 10): every field of every type of the built schema has a declared
sensitivity class and is wrapped by the enforcement layer; the declared classes are pinned in
field_classes.txt, so changing one field's class fails here until the change is reviewed and the
file regenerated; and for every agency type and role of the policy, the layer decides every
field exactly as the policy rules decide its declared class."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.schema import build_schema
from auth.enforce.guard import FieldDenied, Guard
from auth.enforce.layer import GRAPH_FIELDS, _object_types, declaration, undeclared
from auth.policy import Policy
from auth.policy.vocabulary import MASKED_AGAINST_RECONSTRUCTION
from auth.principal import Principal

GOLDEN = Path(__file__).with_name("field_classes.txt")
POLICY_FILE = Path(__file__).parents[2] / "auth" / "policies" / "default.toml"


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    return build_schema()._schema


def declared(schema, policy: Policy) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    return {f"{t.name}.{n}": declaration(policy, t.name, n) for t in _object_types(schema) for n in t.fields}


def pinned() -> dict[str, str]:
    out = {}
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, cls = line.split()
            out[key] = cls
    return out


def changed(schema, policy: Policy) -> list[str]:  # type: ignore[no-untyped-def]
    now, pin = declared(schema, policy), pinned()
    return sorted(k for k in now.keys() | pin.keys() if now.get(k) != pin.get(k))


def test_every_field_of_every_type_declares_a_class(schema) -> None:  # type: ignore[no-untyped-def]
    assert undeclared(schema, Policy.load()) == []
    assert len(declared(schema, Policy.load())) > 500


def test_every_field_is_wrapped_by_the_layer(schema) -> None:  # type: ignore[no-untyped-def]
    bare = [
        f"{t.name}.{n}"
        for t in _object_types(schema)
        for n, f in t.fields.items()
        if not getattr(f.resolve, "__enforced__", False)
    ]
    assert bare == []


def test_the_declared_classes_are_the_reviewed_ones(schema) -> None:  # type: ignore[no-untyped-def]
    assert changed(schema, Policy.load()) == [], "regenerate field_classes.txt after a reviewed change"


def test_switching_one_workflow_field_to_a_weaker_class_is_caught(schema) -> None:  # type: ignore[no-untyped-def]
    """The proxy-class failure of issue 15: a case narrative read as an ordinary case field."""
    text = POLICY_FILE.read_text(encoding="utf-8")
    anchor = "[fields.ProtectionCaseFile]\n"
    head, _, rest = text.partition(anchor)
    weaker = head + anchor + rest.replace('closureReason = "case_investigation"', 'closureReason = "case"', 1)
    assert weaker != text
    assert changed(schema, Policy.loads(weaker)) == ["ProtectionCaseFile.closureReason"]


def _principals(policy: Policy) -> list[Principal]:
    return [
        Principal(
            subject=f"{atype}/{role}",
            client_id="c",
            agency_id="a",
            agency_type=atype,
            role=role,
            jurisdiction="500101000000",
            purpose=purpose,
        )
        for atype, info in policy.agency_types.items()
        for role in info.roles
        for purpose in (None, "case_work", "statistics")
    ]


def test_role_matrix_every_field_every_role(schema) -> None:  # type: ignore[no-untyped-def]
    """For each role and purpose, the layer's decision on each field (what the wrapped resolver
    does) equals the rule for the field's pinned class."""
    policy = Policy.load()
    pin = pinned()
    mismatches = []
    for principal in _principals(policy):
        guard = Guard(store=None, principal=principal, policy=policy)  # type: ignore[arg-type]
        for key, cls in pin.items():
            type_name, field_name = key.split(".")
            expected = policy.decide_class(principal, cls).decision
            graph = GRAPH_FIELDS.get((type_name, field_name))
            try:
                got = guard.decide(*graph) if graph else guard.decide_field(type_name, field_name)
            except FieldDenied:
                got = "deny"
            if graph and got == "mask" and expected == "allow":
                reason = policy.decide(principal, *graph).reason
                if reason == MASKED_AGAINST_RECONSTRUCTION:
                    continue
            if got != expected:
                mismatches.append(
                    (principal.agency_type, principal.role, principal.purpose, key, got, expected)
                )
    assert mismatches == []


if __name__ == "__main__":  # regenerate the pinned classes after a reviewed change
    s = build_schema()._schema
    print("# Type.field class — the declared sensitivity class of every field of the schema.")
    print("# Regenerate deliberately: python -m tests.security.test_schema_walk > <this file>")
    for key, cls in declared(s, Policy.load()).items():
        print(key, cls)
