"""Identity tables: member agencies, their OAuth clients, and our token-signing keys.

They register on the same `SQLModel.metadata` as `kernel.db.tables` (Alembic's env imports this module),
so `python -m shouhu.migrations revision` and `check` see them. Revision 0002 creates them.

Secrets never leave these rows in readable form: a client secret is stored only as a scrypt hash, and a
signing key's private PEM is excluded from `repr()` and `model_dump()` so that a stray log line or debug
print of a row cannot leak it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from kernel.db.tables import UTCDateTime, utcnow

# The member-unit types the policy is written against (DESIGN.md §4, the Zhangye member-unit list).
# Revision 0002 repeats this list in a CHECK constraint; adding a type needs a revision too.
AGENCY_TYPES: tuple[str, ...] = (
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
)


def _agency_type_check() -> str:
    return "agency_type IN (" + ", ".join(f"'{t}'" for t in AGENCY_TYPES) + ")"


class Agency(SQLModel, table=True):
    """A member unit of the joint meeting (联席会议): what every token's agency claims come from.

    `jurisdiction` is the 12-digit statistical division code the agency serves (row scope by area);
    `institution_codes` are the schools or facilities it *is* (row scope by relationship: pupils of my
    school, patients of my hospital).
    """

    __tablename__ = "agency"
    __table_args__ = (
        CheckConstraint(_agency_type_check(), name="agency_type"),
        CheckConstraint("length(jurisdiction) = 12", name="jurisdiction_length"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True), description="e.g. edu-500101")
    name: str = Field(sa_column=Column(String(200), nullable=False))
    agency_type: str = Field(sa_column=Column(String(40), nullable=False))
    jurisdiction: str = Field(sa_column=Column(String(12), nullable=False))
    institution_codes: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False), description="School/facility codes."
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Client(SQLModel, table=True):
    """An OAuth2 confidential client (an agency system) using the client-credentials grant.

    `scopes` is the space-separated set the client may ask for; a token request may narrow it, never
    widen it. `secret_hash` is `scrypt$N$r$p$salt$hash` (see auth.identities.hash_secret).
    """

    __tablename__ = "oauth_client"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    agency_id: str = Field(
        sa_column=Column(String(64), ForeignKey("agency.id"), nullable=False, index=True),
    )
    name: str = Field(sa_column=Column(String(200), nullable=False))
    role: str = Field(sa_column=Column(String(64), nullable=False))
    scopes: str = Field(default="", sa_column=Column(Text, nullable=False))
    secret_hash: str = Field(sa_column=Column(String(255), nullable=False), repr=False, exclude=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    disabled: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class SigningKey(SQLModel, table=True):
    """One of our token-signing keys (RSA, RS256), identified by its RFC 7638 thumbprint.

    Life cycle: created and activated by `auth.keys.rotate()`; the newest activated, unretired key signs.
    When a newer key is activated, older ones get a `retired_at` in the future (the grace period): until
    then they stay in the JWKS and still verify the tokens they signed; from then on they do neither.
    `private_pem` is PKCS#8, encrypted when SHOUHU_SIGNING_KEY_PASSPHRASE is set.
    """

    __tablename__ = "signing_key"

    kid: str = Field(sa_column=Column(String(64), primary_key=True))
    alg: str = Field(sa_column=Column(String(16), nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_pem: str = Field(sa_column=Column(Text, nullable=False), repr=False, exclude=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    activated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

    def is_retired(self, now: datetime) -> bool:
        return self.retired_at is not None and self.retired_at <= now
