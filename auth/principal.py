"""Who is asking: the one value every policy decision and audit entry is made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class BreakGlass:
    """An emergency override (应急处置): justified, short-lived, always flagged for review."""

    justification: str
    expires_at: datetime
    grant_id: str


@dataclass(frozen=True)
class Principal:
    """The caller, as established from a validated access token (and request headers).

    agency_type is one of the member-unit types in the policy file (e.g. civil_affairs,
    education, public_security); jurisdiction is a 12-digit division code; scopes are OAuth
    scopes; purpose is the declared purpose of use for this request, if any.
    """

    subject: str
    client_id: str
    agency_id: str
    agency_type: str
    role: str
    jurisdiction: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    user: str | None = None
    issuer: str = ""
    purpose: str | None = None
    break_glass: BreakGlass | None = None
    # Relationship scope: codes of the institutions this agency is (school codes for a
    # school, facility codes for a hospital); a court's or agency's own id covers cases
    # referred or assigned to it.
    institution_codes: frozenset[str] = field(default_factory=frozenset)
