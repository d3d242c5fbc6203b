"""The field-level policy: loading and validation, the decision matrix, purpose, break-glass,
row scope, masks through the policy, provenance claims, scopes and the command line."""

from __future__ import annotations

import contextlib
import copy
import re
import string
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auth.policy import DEFAULT_PATH, Policy, PolicyError, default_policy, main
from auth.policy.checks import COMMON_PROPS
from auth.policy.vocabulary import FieldDecision, ScopeFacts
from auth.principal import BreakGlass, Principal
from graph.model import NODE_KINDS, REL_KINDS, PropType
from kernel.messages import MESSAGES, say
from kernel.settings import get_settings

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

COUNTY = "500248000000"
TOWNSHIP = "500248203000"
VILLAGE_A = "500248203201"
VILLAGE_B = "500248203202"
OTHER_COUNTY_VILLAGE = "500249101201"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def who(agency_type: str, role: str, purpose: str | None = None, **kw: Any) -> Principal:
    return Principal(
        subject=f"{agency_type}/{role}",
        client_id="client",
        agency_id=kw.pop("agency_id", f"agency:{agency_type}"),
        agency_type=agency_type,
        role=role,
        jurisdiction=kw.pop("jurisdiction", COUNTY),
        purpose=purpose,
        **kw,
    )


def grant(
    minutes: float = 60, justification: str = "child found alone, injured, guardian unreachable"
) -> BreakGlass:
    return BreakGlass(
        justification=justification, expires_at=NOW + timedelta(minutes=minutes), grant_id="bg-1"
    )


# ------------------------------------------------------------------ loading and validation


def test_default_file_loads(policy: Policy) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.\d+", policy.version)
    assert default_policy().version == policy.version
    assert {
        "public",
        "identity",
        "identity_number",
        "contact",
        "address",
        "household",
        "family",
        "education",
        "health",
        "case",
        "case_investigation",
        "guardianship_intervention",
        "provenance",
        "system",
    } <= set(policy.classes)
    assert set(policy.agency_types) == {
        "civil_affairs",
        "education",
        "public_security",
        "health",
        "justice",
        "court",
        "procuratorate",
        "womens_federation",
        "disabled_persons_federation",
        "township",
        "village_committee",
        "social_work",
        "welfare_institution",
        "auditor",
        "analyst",
    }
    assert (
        policy.agency_types["village_committee"].roles["child_welfare_supervisor"].zh.startswith("儿童督导员")
    )


def test_every_model_property_is_classified(policy: Policy) -> None:
    for kinds in (NODE_KINDS, REL_KINDS):
        for name, kind in kinds.items():
            for prop in [*kind.props, *COMMON_PROPS]:
                assert policy.sensitivity(name, prop) in policy.classes, f"{name}.{prop}"


def test_some_classifications(policy: Policy) -> None:
    assert policy.sensitivity("Division", "name") == "public"
    assert policy.sensitivity("School", "name") == "public"
    assert policy.sensitivity("Person", "id_number") == "identity_number"
    assert policy.sensitivity("Person", "work_contact") == "contact"
    assert policy.sensitivity("Person", "works_away") == "family"
    assert policy.sensitivity("HealthEvent", "icd10") == "health"
    assert policy.sensitivity("Intervention", "grounds") == "guardianship_intervention"
    assert policy.sensitivity("Report", "summary") == "case_investigation"
    assert policy.sensitivity("GUARDIAN_OF", "kind") == "family"
    assert policy.sensitivity("CONCERNS", "sources") == "provenance"
    assert policy.sensitivity("Person", "id") == "system"
    with pytest.raises(PolicyError, match=r"Person\.age"):
        policy.sensitivity("Person", "age")


def _broken_copy(tmp_path: Path, pattern: str, replacement: str = "") -> Path:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    broken, n = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert n == 1, pattern
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    return path


def _unclassified(source: Path, key: str) -> str:
    """The catalogue's refusal of a policy file leaving one property without a class."""
    return say("policy.in_file", source=source, key=key, problem=say("policy.unclassified", more=""))


def test_removed_property_fails_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, r'^phone = "contact"\n')
    for language in ("zh-CN", "en"):
        with in_language(monkeypatch, language):
            with pytest.raises(PolicyError) as refused:
                Policy.load(path)
            assert str(refused.value) == _unclassified(path, "sensitivity.Person.phone")
    assert str(refused.value) == f"{path}: sensitivity.Person.phone: not classified; every property in " + (
        "graph/model.py needs a sensitivity class"
    )


def test_removed_relationship_property_fails_naming_it(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, r'^student_number = "education"\n')
    with pytest.raises(PolicyError, match=r"sensitivity\.ENROLLED_AT\.student_number"):
        Policy.load(path)


def test_new_model_property_without_a_class_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(NODE_KINDS["Person"].props, "nickname", PropType.STRING)
    with pytest.raises(PolicyError) as refused:
        Policy.load()
    assert str(refused.value) == _unclassified(DEFAULT_PATH, "sensitivity.Person.nickname")
    assert "策略文件" in str(refused.value) or get_settings().language == "en"


@contextlib.contextmanager
def in_language(monkeypatch: pytest.MonkeyPatch, language: str) -> Iterator[None]:
    """Messages said in ``language`` inside the block (settings are cached: cleared both ways)."""
    with monkeypatch.context() as m:
        if language == "en":
            m.setenv("SHOUHU_LANGUAGE", "en")
        else:
            m.delenv("SHOUHU_LANGUAGE", raising=False)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def catalogue_pattern(key: str) -> str:
    """A regular expression matching the catalogue's message ``key`` in this process's language,
    whatever fills its placeholders."""
    parts = string.Formatter().parse(say_template(key))
    return "".join(re.escape(text) + (".+?" if name is not None else "") for text, name, _, _ in parts)


def say_template(key: str) -> str:
    zh, en = MESSAGES[key]
    return en if get_settings().language == "en" else zh


def _load(data: dict[str, Any]) -> Policy:
    return Policy.from_mapping(data, source="test.toml")


@pytest.mark.parametrize(
    ("edit", "key", "problem", "english"),
    [
        (
            lambda d: d["sensitivity"].__setitem__("Pet", {"name": "identity"}),
            "sensitivity.Pet",
            "policy.unknown_model_kind",
            r"sensitivity\.Pet: unknown kind",
        ),
        (
            lambda d: d["sensitivity"]["Person"].__setitem__("nickname", "identity"),
            "sensitivity.Person.nickname",
            "policy.no_model_prop",
            r"sensitivity\.Person\.nickname: Person has no property",
        ),
        (
            lambda d: d["sensitivity"]["Person"].__setitem__("name", "secret"),
            "sensitivity.Person.name",
            "policy.unknown_name",
            r"sensitivity\.Person\.name: unknown sensitivity class 'secret'",
        ),
        (
            lambda d: d["sensitivity"]["*"].__setitem__("created_at", "system"),
            "sensitivity.*.created_at",
            "policy.not_common_prop",
            r"sensitivity\.\*\.created_at",
        ),
        (
            lambda d: d["rules"]["civil_affairs"]["*"].__setitem__("secrets", "allow"),
            "rules.civil_affairs.*.secrets",
            "policy.unknown_name",
            r"rules\.civil_affairs\.\*\.secrets: unknown sensitivity class",
        ),
        (
            lambda d: d["rules"]["civil_affairs"]["*"].__setitem__("identity", "maybe"),
            "rules.civil_affairs.*.identity",
            "policy.unknown_name",
            r"rules\.civil_affairs\.\*\.identity: unknown decision 'maybe'",
        ),
        (
            lambda d: d["rules"].__setitem__("fbi", {"*": {"identity": "allow"}}),
            "rules.fbi",
            "policy.unknown_name",
            r"rules\.fbi: unknown agency type",
        ),
        (
            lambda d: d["rules"]["court"].__setitem__("janitor", {"identity": "allow"}),
            "rules.court.janitor",
            "policy.unknown_name",
            r"rules\.court\.janitor: unknown role of court",
        ),
        (
            lambda d: d["rules"]["*"].__setitem__("judge", {"identity": "allow"}),
            "rules.*.judge",
            "policy.star_rules_role",
            r"rules\.\*\.judge",
        ),
        (
            lambda d: d["agency_types"]["court"].__setitem__("scope", ["planet"]),
            "agency_types.court.scope",
            "policy.unknown_name",
            r"agency_types\.court\.scope: unknown scope rule 'planet'",
        ),
        (
            lambda d: d["agency_types"]["court"].__setitem__("scope", ["none", "referred_cases"]),
            "agency_types.court.scope",
            "policy.scope_none_alone",
            r"agency_types\.court\.scope: 'none' cannot be combined",
        ),
        (
            lambda d: d["agency_types"]["township"].__setitem__("scope", ["village", "jurisdiction"]),
            "agency_types.township.scope",
            "policy.scope_village_in_jurisdiction",
            r"agency_types\.township\.scope: 'village' is inside 'jurisdiction'",
        ),
        (
            lambda d: d["agency_types"]["court"].__setitem__("color", "red"),
            "agency_types.court.color",
            "policy.unknown_key",
            r"agency_types\.court\.color: unknown key",
        ),
        (
            lambda d: d["agency_types"]["court"]["roles"]["judge"].pop("zh"),
            "agency_types.court.roles.judge.zh",
            "policy.expected_text",
            r"agency_types\.court\.roles\.judge\.zh",
        ),
        (
            lambda d: d["purpose"]["classes"]["health"]["allow"].append("curiosity"),
            "purpose.classes.health.allow",
            "policy.unknown_name",
            r"purpose\.classes\.health\.allow: unknown purpose code 'curiosity'",
        ),
        (
            lambda d: d["purpose"]["classes"]["health"]["allow"].append("audit"),
            "purpose.classes.health",
            "policy.purpose_allow_and_mask",
            r"purpose\.classes\.health: purpose 'audit' is in both allow and mask",
        ),
        (
            lambda d: d["purpose"]["classes"].__setitem__("gossip", {"allow": ["*"]}),
            "purpose.classes.gossip",
            "policy.unknown_name",
            r"purpose\.classes\.gossip: unknown sensitivity class",
        ),
        (
            lambda d: d["break_glass"]["who"].__setitem__("analyst", ["analyst"]),
            "break_glass.who.analyst",
            "policy.break_glass_never_type",
            r"break_glass\.who\.analyst: analyst is in break_glass\.never_agency_types",
        ),
        (
            lambda d: d["break_glass"]["upgrade_classes"].append("provenance"),
            "break_glass.upgrade_classes",
            "policy.break_glass_never_class",
            r"break_glass\.upgrade_classes: 'provenance' is in break_glass\.never_classes",
        ),
        (
            lambda d: d["break_glass"]["who"].__setitem__("court", ["janitor"]),
            "break_glass.who.court",
            "policy.unknown_name",
            r"break_glass\.who\.court: unknown role",
        ),
        (
            lambda d: d["break_glass"].__setitem__("max_duration_minutes", 0),
            "break_glass.max_duration_minutes",
            "policy.break_glass_minutes",
            r"break_glass\.max_duration_minutes",
        ),
        (
            lambda d: d["masks"]["by_class"].__setitem__("identity", "rot13"),
            "masks.by_class.identity",
            "policy.unknown_name",
            r"masks\.by_class\.identity: unknown mask kind 'rot13'",
        ),
        (
            lambda d: d["masks"]["by_field"].__setitem__("Person.works_away", "name"),
            "masks.by_field.Person.works_away",
            "policy.mask_for_text",
            r"masks\.by_field\.Person\.works_away: mask 'name' is for text but Person\.works_away is BOOL",
        ),
        (
            lambda d: d["masks"]["by_field"].__setitem__("Person.age", "keep"),
            "masks.by_field.Person.age",
            "policy.no_prop",
            r"masks\.by_field\.Person\.age",
        ),
        (
            lambda d: d["capabilities"]["read_audit_log"].__setitem__("fbi", ["*"]),
            "capabilities.read_audit_log.fbi",
            "policy.unknown_name",
            r"capabilities\.read_audit_log\.fbi: unknown agency type",
        ),
        (
            lambda d: d.__setitem__("colour", "red"),
            "colour",
            "policy.unknown_key",
            r"colour: unknown key",
        ),
        (
            lambda d: d.__setitem__("version", "latest"),
            "version",
            "policy.version_form",
            r"version: 'latest' is not of the form",
        ),
        (
            lambda d: d.__setitem__("default", "permit"),
            "default",
            "policy.unknown_name",
            r"default: unknown decision",
        ),
        (
            lambda d: d.pop("classes"),
            "classes",
            "policy.missing",
            r"classes: missing",
        ),
    ],
)
def test_invalid_policies_fail_naming_the_key(
    raw: dict[str, Any], edit: Any, key: str, problem: str, english: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key path named exactly, what is wrong in the catalogue's words: Chinese unless switched
    to English (the English wording is pinned as well)."""
    data = copy.deepcopy(raw)
    edit(data)
    for language in ("zh-CN", "en"):
        with in_language(monkeypatch, language):
            with pytest.raises(PolicyError) as refused:
                _load(data)
            said = refused.value.problem
            assert refused.value.key == key
            assert re.fullmatch(catalogue_pattern(problem), said, re.DOTALL), said
            assert str(refused.value) == say("policy.in_file", source="test.toml", key=key, problem=said)
    assert re.match(r"^test\.toml: " + english, str(refused.value))


def test_toml_syntax_error_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('version = "2026-11-25.1"\n[classes\n', encoding="utf-8")
    # Where the parser stopped, in the catalogue's words (tomllib's English before).
    with pytest.raises(PolicyError) as syntax:
        Policy.load(path)
    problem = say("config.toml_syntax", line=2, column=9)
    assert str(syntax.value) == say("policy.not_toml", source=path, problem=problem)
    with pytest.raises(PolicyError) as unreadable:
        Policy.load(tmp_path / "missing.toml")
    reason = "No such file or directory"
    assert str(unreadable.value) == say("policy.cannot_read", path=tmp_path / "missing.toml", reason=reason)


# ------------------------------------------------------------------ the decision matrix

FIELDS = [
    ("Person", "id_number"),
    ("Person", "name"),
    ("Person", "phone"),
    ("HealthEvent", "icd10"),
    ("Intervention", "grounds"),
]

# (agency type, role, purpose) → decisions for FIELDS, in order.
MATRIX = [
    (("public_security", "officer", "emergency_response"), ["allow", "allow", "allow", "mask", "allow"]),
    (
        ("village_committee", "child_welfare_supervisor", "screening"),
        ["mask", "allow", "allow", "deny", "mask"],
    ),
    (("education", "teacher", "education_support"), ["mask", "allow", "allow", "deny", "deny"]),
    (("health", "doctor", "medical_care"), ["allow", "allow", "allow", "allow", "deny"]),
    (("court", "judge", "court_proceedings"), ["allow", "allow", "mask", "mask", "allow"]),
    (("analyst", "analyst", "statistics"), ["deny", "mask", "deny", "mask", "mask"]),
    (("auditor", "auditor", "audit"), ["mask", "mask", "mask", "mask", "mask"]),
    (("civil_affairs", "caseworker", "case_work"), ["allow", "allow", "allow", "allow", "allow"]),
]


@pytest.mark.parametrize(("principal", "expected"), MATRIX, ids=[f"{m[0][0]}.{m[0][1]}" for m in MATRIX])
def test_decision_matrix(policy: Policy, principal: tuple[str, str, str], expected: list[str]) -> None:
    p = who(*principal)
    got = [policy.decide(p, kind, prop).decision for kind, prop in FIELDS]
    assert got == expected


def test_decisions_carry_reason_and_class(policy: Policy) -> None:
    officer = who("public_security", "officer", "emergency_response")
    assert policy.decide(officer, "Person", "id_number") == FieldDecision(
        "allow", "allowed", "identity_number"
    )
    assert policy.decide(officer, "HealthEvent", "icd10") == FieldDecision(
        "mask", "masked_by_policy", "health"
    )
    teacher = who("education", "teacher", "education_support")
    assert policy.decide(teacher, "HealthEvent", "icd10") == FieldDecision(
        "deny", "denied_by_policy", "health"
    )


def test_public_and_location_need_no_purpose(policy: Policy) -> None:
    for p in (who("analyst", "analyst"), who("education", "teacher"), who("auditor", "auditor")):
        assert policy.decide(p, "Division", "name").decision == "allow"
        assert policy.decide(p, "School", "name").decision == "allow"
        assert policy.decide(p, "Person", "division").decision == "allow"
        assert policy.decide(p, "Person", "id").decision == "allow"


def test_decisions_are_shared_precomputed_values(policy: Policy) -> None:
    p = who("court", "judge", "court_proceedings")
    assert policy.decide(p, "Person", "name") is policy.decide(p, "Person", "name")
    assert policy.decide(p, "Person", "name") is policy.decide(p, "Person", "sex")


def test_bound_policy_agrees_with_decide(policy: Policy) -> None:
    for (agency_type, role, purpose), _ in MATRIX:
        p = who(agency_type, role, purpose)
        bound = policy.bind(p, now=NOW)
        for kinds in (NODE_KINDS, REL_KINDS):
            for kind, spec in kinds.items():
                for prop in [*spec.props, *COMMON_PROPS]:
                    assert bound.decide(kind, prop) == policy.decide(p, kind, prop, now=NOW)


def test_unknown_agency_type_or_role_denies_everything(policy: Policy) -> None:
    for p in (who("fbi", "agent", "case_work"), who("civil_affairs", "janitor", "case_work")):
        for kind, prop in [*FIELDS, ("Division", "name")]:
            d = policy.decide(p, kind, prop)
            assert (d.decision, d.reason) == ("deny", "unknown_role")
        assert policy.in_scope(p, ScopeFacts(divisions=frozenset({VILLAGE_A}))).reason == "unknown_role"


def test_unclassified_field_fails_closed(policy: Policy) -> None:
    d = policy.decide(who("civil_affairs", "caseworker", "case_work"), "Person", "age")
    assert (d.decision, d.reason) == ("deny", "unclassified")


def test_rule_cells(policy: Policy) -> None:
    assert policy.rule("village_committee", "child_welfare_supervisor", "identity_number") == "mask"
    assert policy.rule("village_committee", "child_welfare_supervisor", "family") == "allow"
    assert policy.rule("analyst", "analyst", "identity_number") == "deny"
    assert policy.rule("court", "judge", "guardianship_intervention") == "allow"
    assert policy.rule("auditor", "auditor", "provenance") == "allow"
    assert policy.rule("health", "doctor", "health") == "allow"


# ------------------------------------------------------------------ purpose


def test_sensitive_field_without_purpose_is_denied(policy: Policy) -> None:
    caseworker = who("civil_affairs", "caseworker", None)
    d = policy.decide(caseworker, "Person", "id_number")
    assert (d.decision, d.reason) == ("deny", "purpose_required")
    assert policy.decide(caseworker, "Person", "name").reason == "purpose_required"


def test_purpose_not_permitted_for_the_class(policy: Policy) -> None:
    caseworker = who("civil_affairs", "caseworker", "statistics")
    assert (policy.decide(caseworker, "Person", "phone").reason) == "purpose_not_permitted"
    assert policy.decide(caseworker, "Report", "summary").reason == "purpose_not_permitted"
    # a purpose code the policy does not know is never permitted for a gated class
    stranger = who("civil_affairs", "caseworker", "curiosity")
    assert policy.decide(stranger, "Person", "name").reason == "purpose_not_permitted"
    assert policy.decide(stranger, "Division", "name").decision == "allow"


def test_some_purposes_only_see_a_mask(policy: Policy) -> None:
    caseworker = who("civil_affairs", "caseworker", "statistics")
    assert policy.decide(caseworker, "Person", "name") == FieldDecision(
        "mask", "masked_for_purpose", "identity"
    )
    assert policy.decide(caseworker, "Person", "id_number").decision == "mask"
    analyst = who("analyst", "analyst", "statistics")
    assert policy.decide(analyst, "Person", "name") == FieldDecision("mask", "masked_by_policy", "identity")


def test_policy_denial_comes_before_purpose(policy: Policy) -> None:
    analyst = who("analyst", "analyst", None)
    assert policy.decide(analyst, "Person", "id_number").reason == "denied_by_policy"


def test_purpose_codes(policy: Policy) -> None:
    assert {
        "screening",
        "case_work",
        "mandatory_report",
        "emergency_response",
        "assessment",
        "guardianship_intervention",
        "court_proceedings",
        "audit",
        "statistics",
    } <= set(policy.purpose_codes)


# ------------------------------------------------------------------ break-glass


def test_break_glass_upgrades_and_is_flagged(policy: Policy) -> None:
    doctor = who("health", "doctor", None, break_glass=grant())
    assert policy.break_glass_active(doctor, now=NOW)
    # mask → allow, and purpose_required → allow: both only because of the grant
    assert policy.decide(doctor, "Person", "residence_address", now=NOW) == FieldDecision(
        "allow", "break_glass", "address"
    )
    assert policy.decide(doctor, "HealthEvent", "icd10", now=NOW).reason == "break_glass"
    assert policy.decide(doctor, "Person", "works_away", now=NOW).reason == "break_glass"
    # never_classes stay as they were
    assert policy.decide(doctor, "Intervention", "grounds", now=NOW).reason == "denied_by_policy"
    assert policy.decide(doctor, "Report", "summary", now=NOW).decision == "deny"
    # a field already allowed keeps its ordinary reason
    with_purpose = who("health", "doctor", "medical_care", break_glass=grant())
    assert policy.decide(with_purpose, "HealthEvent", "icd10", now=NOW).reason == "allowed"


def test_expired_break_glass_is_ignored(policy: Policy) -> None:
    doctor = who("health", "doctor", "medical_care", break_glass=grant(minutes=-1))
    assert not policy.break_glass_active(doctor, now=NOW)
    d = policy.decide(doctor, "Person", "residence_address", now=NOW)
    assert (d.decision, d.reason) == ("mask", "masked_by_policy")


def test_break_glass_longer_than_allowed_or_unjustified_is_ignored(policy: Policy) -> None:
    assert policy.break_glass_max_duration == timedelta(hours=4)
    too_long = who("health", "doctor", "medical_care", break_glass=grant(minutes=5 * 60))
    assert policy.decide(too_long, "Person", "residence_address", now=NOW).reason == "masked_by_policy"
    unjustified = who("health", "doctor", "medical_care", break_glass=grant(justification="  "))
    assert policy.decide(unjustified, "Person", "residence_address", now=NOW).reason == "masked_by_policy"


def test_break_glass_naive_datetimes_are_utc(policy: Policy) -> None:
    naive = BreakGlass("child missing since morning", NOW.replace(tzinfo=None) + timedelta(hours=1), "bg-2")
    doctor = who("health", "doctor", "medical_care", break_glass=naive)
    assert policy.break_glass_active(doctor, now=NOW)
    assert policy.break_glass_active(doctor, now=NOW.replace(tzinfo=None))


def test_break_glass_uses_the_clock_when_now_is_not_given(policy: Policy) -> None:
    live = BreakGlass("child found alone at home", datetime.now(UTC) + timedelta(minutes=30), "bg-3")
    doctor = who("health", "doctor", None, break_glass=live)
    assert policy.decide(doctor, "Person", "residence_address").reason == "break_glass"


def test_roles_not_listed_cannot_break_glass(policy: Policy) -> None:
    for agency_type, role, purpose in [
        ("analyst", "analyst", "statistics"),
        ("auditor", "auditor", "audit"),
        ("education", "teacher", "education_support"),
    ]:
        p = who(agency_type, role, purpose, break_glass=grant())
        assert not policy.break_glass_eligible(p)
        assert not policy.break_glass_active(p, now=NOW)
        assert policy.decide(p, "Person", "name", now=NOW) == policy.decide(
            who(agency_type, role, purpose), "Person", "name"
        )


def test_break_glass_widens_row_scope_to_jurisdiction(policy: Policy) -> None:
    stranger_child = ScopeFacts(divisions=frozenset({VILLAGE_A}), facility_codes=frozenset({"H-OTHER"}))
    far_child = ScopeFacts(divisions=frozenset({OTHER_COUNTY_VILLAGE}))
    doctor = who("health", "doctor", "medical_care", institution_codes=frozenset({"H-1"}))
    assert policy.in_scope(doctor, stranger_child, now=NOW).reason == "out_of_scope"
    in_glass = replace(doctor, break_glass=grant())
    assert policy.in_scope(in_glass, stranger_child, now=NOW) == policy.in_scope(
        in_glass, stranger_child, now=NOW
    )
    decision = policy.in_scope(in_glass, stranger_child, now=NOW)
    assert (decision.allowed, decision.reason) == (True, "break_glass")
    assert not policy.in_scope(in_glass, far_child, now=NOW).allowed
    expired = replace(doctor, break_glass=grant(minutes=-5))
    assert not policy.in_scope(expired, stranger_child, now=NOW).allowed


# ------------------------------------------------------------------ row scope


def test_village_scope(policy: Policy) -> None:
    supervisor = who("village_committee", "child_welfare_supervisor", "screening", jurisdiction=VILLAGE_A)
    rule = policy.row_scope(supervisor)
    assert rule.kinds == ("village",) and rule.division_prefix == VILLAGE_A
    a = policy.in_scope(supervisor, ScopeFacts(divisions=frozenset({VILLAGE_A})))
    assert (a.allowed, a.reason) == (True, "village")
    b = policy.in_scope(supervisor, ScopeFacts(divisions=frozenset({VILLAGE_B})))
    assert (b.allowed, b.reason) == (False, "out_of_scope")
    # a record tied to both villages (registered in A, living in B) is in A's slice
    assert policy.in_scope(supervisor, ScopeFacts(divisions=frozenset({VILLAGE_B, VILLAGE_A}))).allowed


def test_village_scope_needs_a_village_code(policy: Policy) -> None:
    misconfigured = who("village_committee", "child_welfare_supervisor", "screening", jurisdiction=TOWNSHIP)
    d = policy.in_scope(misconfigured, ScopeFacts(divisions=frozenset({VILLAGE_A})))
    assert (d.allowed, d.reason) == (False, "invalid_jurisdiction")


def test_jurisdiction_scope_is_the_division_subtree(policy: Policy) -> None:
    township = who("township", "caseworker", "case_work", jurisdiction=TOWNSHIP)
    assert policy.row_scope(township).division_prefix == "500248203"
    assert policy.in_scope(township, ScopeFacts(divisions=frozenset({VILLAGE_A}))).reason == "jurisdiction"
    assert not policy.in_scope(township, ScopeFacts(divisions=frozenset({"500248204201"}))).allowed
    county = who("civil_affairs", "caseworker", "case_work", jurisdiction=COUNTY)
    assert policy.in_scope(county, ScopeFacts(divisions=frozenset({"500248204201"}))).allowed
    assert not policy.in_scope(county, ScopeFacts(divisions=frozenset({OTHER_COUNTY_VILLAGE}))).allowed
    assert not policy.in_scope(county, ScopeFacts()).allowed


def test_pupils_scope(policy: Policy) -> None:
    teacher = who("education", "teacher", "education_support", institution_codes=frozenset({"S-1", "S-2"}))
    pupil = policy.in_scope(
        teacher, ScopeFacts(divisions=frozenset({VILLAGE_A}), school_codes=frozenset({"S-2"}))
    )
    assert (pupil.allowed, pupil.reason) == (True, "pupils")
    elsewhere = ScopeFacts(divisions=frozenset({VILLAGE_A}), school_codes=frozenset({"S-9"}))
    assert policy.in_scope(teacher, elsewhere).reason == "out_of_scope"
    # a school's rows come only from enrolment, not from where the school is
    assert policy.row_scope(teacher).division_prefix is None
    # the county bureau officer's scope is the jurisdiction instead
    bureau = who("education", "bureau_officer", "education_support")
    assert policy.in_scope(bureau, elsewhere).reason == "jurisdiction"


def test_patients_scope(policy: Policy) -> None:
    doctor = who("health", "doctor", "medical_care", institution_codes=frozenset({"H-1"}))
    assert policy.in_scope(doctor, ScopeFacts(facility_codes=frozenset({"H-1"}))).reason == "patients"
    assert not policy.in_scope(doctor, ScopeFacts(facility_codes=frozenset({"H-2"}))).allowed


def test_referred_cases_scope(policy: Policy) -> None:
    court = who("court", "judge", "court_proceedings", agency_id="court:ningchuan")
    mine = ScopeFacts(
        divisions=frozenset({VILLAGE_A}), case_agencies=frozenset({"court:ningchuan", "police:1"})
    )
    assert policy.in_scope(court, mine).reason == "referred_cases"
    elsewhere = ScopeFacts(divisions=frozenset({VILLAGE_A}), case_agencies=frozenset({"court:other"}))
    assert (policy.in_scope(court, elsewhere).allowed, policy.in_scope(court, elsewhere).reason) == (
        False,
        "out_of_scope",
    )


def test_combined_scope_for_police(policy: Policy) -> None:
    police = who("public_security", "officer", "emergency_response", agency_id="police:ningchuan")
    assert policy.row_scope(police).kinds == ("jurisdiction", "referred_cases")
    assert policy.in_scope(police, ScopeFacts(divisions=frozenset({VILLAGE_A}))).reason == "jurisdiction"
    referred = ScopeFacts(
        divisions=frozenset({OTHER_COUNTY_VILLAGE}), case_agencies=frozenset({"police:ningchuan"})
    )
    assert policy.in_scope(police, referred).reason == "referred_cases"
    assert not policy.in_scope(police, ScopeFacts(divisions=frozenset({OTHER_COUNTY_VILLAGE}))).allowed
    # a broken jurisdiction disables only the jurisdiction rule
    broken = replace(police, jurisdiction="ningchuan")
    assert policy.in_scope(broken, referred).reason == "referred_cases"
    assert (
        policy.in_scope(broken, ScopeFacts(divisions=frozenset({VILLAGE_A}))).reason == "invalid_jurisdiction"
    )


def test_none_scope(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["agency_types"]["analyst"]["scope"] = ["none"]
    p = _load(data)
    analyst = who("analyst", "analyst", "statistics")
    d = p.in_scope(analyst, ScopeFacts(divisions=frozenset({VILLAGE_A})))
    assert (d.allowed, d.reason) == (False, "out_of_scope")


def test_public_kinds(policy: Policy) -> None:
    assert policy.is_public_kind("Division") and policy.is_public_kind("School")
    assert not policy.is_public_kind("Person") and not policy.is_public_kind("Household")


# ------------------------------------------------------------------ masks and values


def test_masks_through_the_policy(policy: Policy) -> None:
    assert policy.mask("Person", "name", "张小明") == "张*明"
    assert policy.mask("Person", "id_number", "510104199001011234") == "510***********1234"
    assert policy.mask("Person", "phone", "13812345678") == "138****5678"
    assert policy.mask("Person", "work_contact", "13812345678") == "138****5678"
    assert (
        policy.mask("Person", "residence_address", "重庆市宁川县青石镇龙桥村3组12号")
        == "重庆市宁川县青石镇龙桥村"
    )
    assert (
        policy.mask("RESIDES_IN", "address", "重庆市宁川县青石镇龙桥村3组12号") == "重庆市宁川县青石镇龙桥村"
    )
    assert policy.mask("Person", "birth_date", "2015-03-01") == "2015"
    assert policy.mask("Person", "works_away", True) is True
    assert policy.mask("Person", "work_destination", "广东省东莞市") == "广东省"
    assert policy.mask("Person", "disability", "intellectual-2") == "intellectual"
    assert policy.mask("HealthEvent", "icd10", "T74.1") == "T**.*"
    assert policy.mask("Intervention", "grounds", "拒不履行监护职责六个月以上") == "***"
    assert policy.mask("Report", "summary", "邻居报告：孩子独自在家") == "***"
    assert policy.mask("ENROLLED_AT", "boarding", True) is True
    assert policy.mask("Person", "name", None) is None
    assert policy.mask_kind("Person", "conflicted") == "keep"
    with pytest.raises(PolicyError):
        policy.mask("Person", "age", 9)


def test_apply_returns_value_mask_or_none(policy: Policy) -> None:
    analyst = who("analyst", "analyst", "statistics")
    d, v = policy.apply(analyst, "Person", "name", "张小明")
    assert (d.decision, v) == ("mask", "张*明")
    d, v = policy.apply(analyst, "Person", "phone", "13812345678")
    assert (d.decision, v) == ("deny", None)
    d, v = policy.apply(analyst, "Person", "sex", "F")
    assert (d.decision, v) == ("mask", "F")
    d, v = policy.apply(who("civil_affairs", "caseworker", "case_work"), "Person", "phone", "13812345678")
    assert (d.decision, v) == ("allow", "13812345678")


CLAIMS = {
    "name": [
        {"system": "survey", "record_id": "s-1", "at": "2026-01-01T00:00:00", "value": "张小明"},
        {"system": "police_hukou", "record_id": "h-1", "at": "2026-02-01T00:00:00", "value": "张晓明"},
    ],
    "id_number": [
        {
            "system": "police_hukou",
            "record_id": "h-1",
            "at": "2026-02-01T00:00:00",
            "value": "510104199001011234",
        }
    ],
    "phone": [{"system": "survey", "record_id": "s-1", "at": "2026-01-01T00:00:00", "value": "13812345678"}],
}


def test_claims_follow_each_attributes_decision(policy: Policy) -> None:
    auditor = who("auditor", "auditor", "audit")
    out = policy.redact_claims(auditor, "Person", CLAIMS)
    assert out is not None
    assert [c["value"] for c in out["name"]] == ["张*明", "张*明"]
    assert out["id_number"][0]["value"] == "510***********1234"
    assert out["name"][0]["record_id"] == "s-1"
    # the analyst may not see provenance at all
    assert policy.redact_claims(who("analyst", "analyst", "statistics"), "Person", CLAIMS) is None
    # provenance masked: values masked and source record ids hidden, denied attributes dropped
    leader = who("township", "leader", "case_work")
    out = policy.redact_claims(leader, "Person", CLAIMS)
    assert out is not None
    assert out["name"][1] == {
        "system": "police_hukou",
        "record_id": "***",
        "at": "2026-02-01T00:00:00",
        "value": "张*明",
    }
    registrar = who("public_security", "household_registrar", "screening")
    health_claims = {
        "icd10": [{"system": "health", "record_id": "x", "at": "2026", "value": "F84.0"}],
        "kind": [{"system": "health", "record_id": "x", "at": "2026", "value": "diagnosis"}],
    }
    assert policy.redact_claims(registrar, "HealthEvent", health_claims) == {}
    assert CLAIMS["name"][0]["value"] == "张小明"  # the input is not modified


# ------------------------------------------------------------------ scopes and capabilities


def test_scopes_for(policy: Policy) -> None:
    assert policy.scopes_for("Person", "id_number") == ["read:identity_number"]
    assert policy.scopes_for("Intervention", "grounds") == ["read:guardianship_intervention"]
    assert policy.scopes_for("Division", "name") == []
    assert policy.scopes_for("Person", "id") == []


def test_enforced_scopes(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["oauth"]["enforce_scopes"] = True
    p = _load(data)
    officer = who("public_security", "officer", "emergency_response", scopes=frozenset({"read:identity"}))
    assert p.decide(officer, "Person", "name").decision == "allow"
    assert p.decide(officer, "Person", "id_number") == FieldDecision(
        "deny", "scope_missing", "identity_number"
    )
    assert p.decide(officer, "Division", "name").decision == "allow"
    full = replace(officer, scopes=frozenset({"read:identity", "read:identity_number"}))
    assert p.decide(full, "Person", "id_number").decision == "allow"


def test_capabilities(policy: Policy) -> None:
    assert policy.can(who("auditor", "auditor"), "read_audit_log")
    assert not policy.can(who("analyst", "analyst"), "read_audit_log")
    assert policy.can(who("analyst", "analyst"), "read_statistics")
    assert policy.can(who("education", "teacher"), "file_mandatory_report")
    assert policy.can(who("village_committee", "child_welfare_supervisor"), "file_mandatory_report")
    assert not policy.can(who("court", "judge"), "file_mandatory_report")
    with pytest.raises(PolicyError, match="read_everything"):
        policy.can(who("auditor", "auditor"), "read_everything")


# ------------------------------------------------------------------ documentation and CLI


def test_table_markdown(policy: Policy) -> None:
    lines = policy.table_markdown().strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[3:-1] == list(policy.classes)
    roles = sum(len(t.roles) for t in policy.agency_types.values())
    assert len(lines) == 2 + roles
    rows = {tuple(c.strip() for c in line.strip("|").split("|"))[1]: line for line in lines[2:]}
    analyst = [c.strip() for c in rows["分析人员 `analyst`"].strip("|").split("|")]
    assert analyst[0] == "数据分析 `analyst`"
    assert analyst[header.index("identity_number")] == "deny"
    assert analyst[header.index("identity")] == "mask"
    assert analyst[-1] == "no"
    assert "民政部门 `civil_affairs`" in lines[2]


def test_cli_check_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEFAULT_PATH)]) == 0
    assert default_policy().version in capsys.readouterr().out  # the line itself: test_policy_cli_language.py
    broken = _broken_copy(tmp_path, r'^icd10 = "health"\n')
    assert main(["check", str(broken)]) == 2
    refused = _unclassified(broken, "sensitivity.HealthEvent.icd10")
    assert capsys.readouterr().err == say("cli.error", message=refused) + "\n"
    assert main(["table"]) == 0
    assert capsys.readouterr().out.startswith("| 成员单位 agency type |")


def test_cli_as_module(tmp_path: Path) -> None:
    broken = _broken_copy(tmp_path, r'^grounds = "guardianship_intervention"\n')
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-m", "auth.policy", "check", str(broken)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "sensitivity.Intervention.grounds" in run.stderr


def test_field_classes_are_readable_but_not_writable(
    policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    classes = policy.field_classes
    assert classes["Person"]["name"] == policy.sensitivity("Person", "name")
    with pytest.raises(TypeError):
        classes["Person"]["name"] = "public"  # type: ignore[index]
    with pytest.raises(TypeError):
        classes["Nobody"] = {}  # type: ignore[index]
    assert policy.sensitivity("Person", "name") != "public"
    assert main(["check", str(DEFAULT_PATH)]) == 0
    count = sum(len(props) for props in classes.values())
    roles = sum(len(t.roles) for t in policy.agency_types.values())
    said = say(
        "policy.cli.ok",
        source=DEFAULT_PATH,
        version=policy.version,
        fields=count,
        agency_types=len(policy.agency_types),
        roles=roles,
    )
    assert capsys.readouterr().out == said + "\n"
