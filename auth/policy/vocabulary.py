"""The policy's vocabulary: the three decisions, the reason codes the audit log stores and the API
returns with a refused field, and the values the policy's answers are made of (`FieldDecision`,
`ScopeFacts`, `ScopeRule`, `ScopeDecision`) — apart from the engine, so that code which only
reads an answer need not know how the policy file is compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Decision = Literal["allow", "mask", "deny"]
DECISIONS: tuple[Decision, ...] = ("allow", "mask", "deny")

# Field decision reason codes.
ALLOWED = "allowed"
MASKED_BY_POLICY = "masked_by_policy"
MASKED_FOR_PURPOSE = "masked_for_purpose"  # the rule allows, the declared purpose only masks
DENIED_BY_POLICY = "denied_by_policy"
PURPOSE_REQUIRED = "purpose_required"
PURPOSE_NOT_PERMITTED = "purpose_not_permitted"
UNKNOWN_ROLE = "unknown_role"
BREAK_GLASS = "break_glass"  # visible only because of a valid break-glass grant
SCOPE_MISSING = "scope_missing"  # oauth.enforce_scopes and the token lacks the class scope
UNCLASSIFIED = "unclassified"  # a field the policy has no class for (not in graph/model.py)

# Row scope rule kinds, and the scope reason codes beyond them.
SCOPE_KINDS: tuple[str, ...] = ("jurisdiction", "village", "pupils", "patients", "referred_cases", "none")
OUT_OF_SCOPE = "out_of_scope"
INVALID_JURISDICTION = "invalid_jurisdiction"
MASKED_AGAINST_RECONSTRUCTION = "masked_against_reconstruction"


class PolicyError(ValueError):
    """The policy file is malformed or inconsistent; the message names the offending key.

    ``key`` is that key path, dotted as written in the file, and ``problem`` what is wrong with
    it in the catalogue's words (so the file's name can be put in front when it is known)."""

    def __init__(self, message: str, *, key: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.problem = message if problem is None else problem


@dataclass(frozen=True, slots=True)
class FieldDecision:
    """What to do with one field for one principal, and why (the audit stores both)."""

    decision: Decision
    reason: str
    sensitivity: str

    @property
    def visible(self) -> bool:
        """Whether any form of the value (full or masked) may be returned."""
        return self.decision != "deny"


@dataclass(frozen=True, slots=True)
class ScopeFacts:
    """What ties a record to places, institutions and agencies, for the row-scope check.

    divisions: 12-digit codes of the record's residence / registered / household village;
    school_codes: schools the child is enrolled at; facility_codes: facilities of the
    child's health events; case_agencies: agency ids its cases, interventions and
    services are referred or assigned to.
    """

    divisions: frozenset[str] = frozenset()
    school_codes: frozenset[str] = frozenset()
    facility_codes: frozenset[str] = frozenset()
    case_agencies: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ScopeRule:
    """A principal's row scope, resolved: enough for the store to filter at the source.

    ``division_prefix`` is the code prefix of the division subtree in scope (the whole
    12-digit code for a village); ``break_glass_prefix`` the wider subtree a valid
    break-glass grant opens. ``problem`` names why a configured rule contributes nothing
    (``invalid_jurisdiction``) or why nothing is in scope (``unknown_role``).
    """

    kinds: tuple[str, ...]
    division_prefix: str | None = None
    school_codes: frozenset[str] = frozenset()
    facility_codes: frozenset[str] = frozenset()
    agency_id: str | None = None
    break_glass_prefix: str | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ScopeDecision:
    """Whether a record is in the principal's slice; ``reason`` is the rule that let it in
    (``jurisdiction``, ``village``, ``pupils``, ``patients``, ``referred_cases``,
    ``break_glass``) or why not (``out_of_scope``, ``invalid_jurisdiction``, ``unknown_role``)."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class RoleInfo:
    name: str
    zh: str
    scope: tuple[str, ...]


@dataclass(frozen=True)
class AgencyTypeInfo:
    name: str
    zh: str
    scope: tuple[str, ...]
    roles: Mapping[str, RoleInfo]


@dataclass(frozen=True)
class ClassInfo:
    name: str
    zh: str
    description: str
    scope: str | None
