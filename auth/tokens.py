"""Our JWT access tokens (RFC 9068): issuing them, and validating them into a `Principal`.

Validation is written against the known JWT attacks rather than around a library default:

* The algorithm is pinned (`auth.keys.ALGORITHM`, RS256) before any key is looked up; the header's
  `alg` is compared with it, never used to choose one, so `none` and HS256-with-our-public-key (key
  confusion) are refused before verification, and joserfc is told the same single algorithm again.
* The key comes only from our own key ring, by `kid`. Header parameters that point elsewhere (`jku`,
  `x5u`, `jwk`, `x5c`) are refused, never followed; so is `crit` (we implement no extensions) and any
  other parameter we do not emit.
* `typ` must be `at+jwt` (RFC 9068 §4), so an ID token or another JWT signed by the same key cannot be
  replayed as an access token.
* Registered claims are checked with joserfc's `JWTClaimsRegistry` (iss and aud exact, exp/nbf/iat
  with a small leeway), then our own claims by type and value.

Every refusal raises `InvalidToken(reason)`. The reason is for logs and the audit trail only; the HTTP
layer (auth.routes) answers every refusal with the same bare `invalid_token`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwt import JWTClaimsRegistry

from auth.keys import ALGORITHM, KeyRing
from auth.principal import BreakGlass, Principal
from auth.tables import AGENCY_TYPES, Agency, Client
from kernel.settings import Settings

AT_JWT_TYPES = frozenset({"at+jwt", "application/at+jwt"})
"""`typ` values of an RFC 9068 access token (media types compare case-insensitively)."""

MAX_TOKEN_LENGTH = 8192
"""Longer tokens are refused before any decoding: ours are about 1 KB."""

# The header parameters we emit. Anything else in a token claiming to be ours is refused.
_LOCAL_HEADER_PARAMS = frozenset({"alg", "typ", "kid"})
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
_DIVISION = re.compile(r"^[0-9]{12}$")

# Claims every token of ours carries; a token without one of them is refused.
REQUIRED_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "agency",
    "agency_type",
    "role",
    "jurisdiction",
    "institutions",
)


class InvalidToken(Exception):
    """A bearer token was refused. `reason` is a short code for logs and audit, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenConfig:
    """What our tokens say about themselves: who issues them, for whom, for how long."""

    issuer: str
    audience: str
    ttl_seconds: int = 900
    leeway_seconds: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenConfig:
        return cls(
            issuer=issuer_for(settings),
            audience=settings.token_audience,
            ttl_seconds=settings.token_ttl_seconds,
            leeway_seconds=settings.token_leeway_seconds,
        )


def issuer_for(settings: Settings) -> str:
    """Our issuer identifier: SHOUHU_TOKEN_ISSUER, else the base URL the server listens on."""
    issuer = settings.token_issuer or f"http://{settings.host}:{settings.port}"
    return issuer.rstrip("/")


@dataclass(frozen=True)
class IssuedToken:
    """A freshly minted access token and what the token endpoint returns about it (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str
    jti: str

    def response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


# --------------------------------------------------------------------------------------------- parsing


def parse_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, NOT verified: only for choosing how to verify it.

    Refuses (reason "malformed") anything that is not three base64url segments of which the first two
    are JSON objects, and JSON objects with duplicate members (different parsers would disagree on which
    value counts).
    """
    if not isinstance(token, str) or not token:
        raise InvalidToken("missing_token")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed")
    parts = token.split(".")
    if not all(_SEGMENT.match(p) for p in parts):
        raise InvalidToken("malformed")
    if len(parts) == 2 and _json_segment(parts[0]).get("alg") == "none":
        # An unsigned JWT written without its trailing dot: say what it is.
        raise InvalidToken("alg_not_allowed")
    if len(parts) != 3:
        raise InvalidToken("malformed")
    # An empty signature segment passes here; check_header refuses "alg": "none" and verification
    # refuses an empty signature under any other algorithm.
    return _json_segment(parts[0]), _json_segment(parts[1])


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw, object_pairs_hook=_no_duplicates)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidToken("malformed") from None
    if not isinstance(value, dict):
        raise InvalidToken("malformed")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate member")
        out[k] = v
    return out


def check_header(
    header: Mapping[str, Any],
    *,
    algorithms: Iterable[str],
    allowed_params: Iterable[str],
    token_types: Iterable[str] = AT_JWT_TYPES,
) -> str:
    """Refuse a header we would not have produced; return its kid.

    Order matters only for the reason code: `crit` first (a critical extension we do not understand
    must fail closed, RFC 7515 §4.1.11), then the algorithm, then unexpected parameters such as
    `jku`/`x5u`/`jwk` (never fetched or used), then `typ`, then `kid`.
    """
    if "crit" in header:
        raise InvalidToken("crit_unsupported")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in set(algorithms):
        raise InvalidToken("alg_not_allowed")
    if set(header) - set(allowed_params):
        raise InvalidToken("unexpected_header")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in {t.lower() for t in token_types}:
        raise InvalidToken("wrong_typ")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("missing_kid")
    return kid


def check_registered_claims(
    claims: dict[str, Any],
    *,
    issuer: str,
    audience: str,
    leeway: int,
    now: int | None = None,
    required: Iterable[str] = ("iss", "sub", "aud", "exp"),
) -> None:
    """iss and aud exact, exp/nbf/iat against the clock with `leeway`, `required` present; via joserfc."""
    # Present is what "required" means; an empty value (an agency with no institutions) is a value.
    # joserfc would otherwise refuse [] and "" for every claim it is given options for.
    options: dict[str, Any] = {name: {"essential": True, "allow_blank": True} for name in required}
    options["iss"] = {"essential": True, "value": issuer}
    options["aud"] = {"essential": True, "value": audience}
    registry = JWTClaimsRegistry(now=now, leeway=leeway, **options)
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise InvalidToken("expired") from None
    except MissingClaimError:
        raise InvalidToken("missing_claim") from None
    except InvalidClaimError as exc:
        reason = {
            "nbf": "not_yet_valid",
            "iat": "issued_in_future",
            "iss": "wrong_issuer",
            "aud": "wrong_audience",
        }.get(exc.claim, "bad_claim")
        raise InvalidToken(reason) from None


def valid_division(code: object) -> bool:
    """A 12-digit statistical division code (ASCII digits only; structure is checked on input)."""
    return isinstance(code, str) and bool(_DIVISION.match(code))


def scope_list(value: object) -> frozenset[str]:
    """Scopes from a `scope` claim (space-separated string, RFC 9068) or an `scp` list; else refuse."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise InvalidToken("bad_claim")


# -------------------------------------------------------------------------------------------- authority


class TokenAuthority:
    """Issues and validates our access tokens, with keys from a `KeyRing`."""

    VERIFIED_CACHE = 4096
    """Tokens whose signature was verified, remembered by their exact text (see `validate`)."""

    def __init__(self, config: TokenConfig, keyring: KeyRing) -> None:
        self.config = config
        self.keyring = keyring
        self._verified: dict[str, tuple[str, dict[str, Any], Principal]] = {}
        self._verified_lock = threading.Lock()

    def knows(self, token: str) -> bool:
        """Whether this exact token was verified by us before (it is then one of ours)."""
        return token in self._verified

    def issue(
        self,
        *,
        client: Client,
        agency: Agency,
        scopes: Iterable[str],
        now: int | None = None,
        break_glass: tuple[str, int] | None = None,
    ) -> IssuedToken:
        """Sign an access token for `client` of `agency` carrying `scopes` (already narrowed).

        The agency's claims are copied into the token so resource servers (and the policy engine) need
        no database lookup per request; the price is that a change to the agency shows up in new tokens
        only, within one token lifetime.
        """
        if client.agency_id != agency.id:
            raise ValueError("client and agency do not match")
        iat = int(time.time()) if now is None else now
        jti = secrets.token_urlsafe(16)
        scope = " ".join(sorted(set(scopes)))
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "sub": client.client_id,
            "aud": self.config.audience,
            "exp": iat + self.config.ttl_seconds,
            "iat": iat,
            "nbf": iat,
            "jti": jti,
            "client_id": client.client_id,
            "scope": scope,
            "agency": agency.id,
            "agency_type": agency.agency_type,
            "role": client.role,
            "jurisdiction": agency.jurisdiction,
            "institutions": list(agency.institution_codes),
        }
        if break_glass is not None:
            # An emergency grant (应急处置): the justification and its own expiry ride in the token,
            # which never outlives the grant.
            justification, seconds = break_glass
            claims["bg"] = {"justification": justification, "exp": iat + seconds}
            claims["exp"] = min(claims["exp"], iat + seconds)
        kid, key = self.keyring.signer()
        header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": kid}
        token = jwt.encode(header, claims, key, algorithms=[ALGORITHM], default_type=None)
        return IssuedToken(access_token=token, expires_in=claims["exp"] - iat, scope=scope, jti=jti)

    def validate(self, token: str, *, now: int | None = None) -> Principal:
        """The `Principal` a token of ours stands for, or `InvalidToken(reason)`.

        An agency system sends the same token with every request for its lifetime, and verifying
        its signature was a third of the enforcement's cost per request. A token verified once is
        remembered by its exact text (a forged or altered token is another text, verified afresh);
        every use still checks its key (unknown or retired now: refused) and its time claims (expired
        now: refused), so remembering changes what a token costs, never what it is worth.
        """
        clock = time.time() if now is None else float(now)
        now_s = int(clock)
        known = self._verified.get(token)
        if known is not None:
            kid, claims, principal = known
        else:
            header, _ = parse_unverified(token)
            kid = check_header(header, algorithms=[ALGORITHM], allowed_params=_LOCAL_HEADER_PARAMS)
        status = self.keyring.lookup(kid)
        if status is None:
            raise InvalidToken("unknown_kid")
        if status.retired_at is not None and status.retired_at.timestamp() <= clock:
            raise InvalidToken("retired_key")
        if known is None:
            try:
                verified = jwt.decode(token, status.key, algorithms=[ALGORITHM])
            except BadSignatureError:
                raise InvalidToken("bad_signature") from None
            except JoseError:
                raise InvalidToken("malformed") from None
            claims = verified.claims
        check_registered_claims(
            claims,
            issuer=self.config.issuer,
            audience=self.config.audience,
            leeway=self.config.leeway_seconds,
            now=now_s,
            required=REQUIRED_CLAIMS,
        )
        if known is not None:
            return principal
        principal = _principal_from_claims(claims)
        with self._verified_lock:
            if len(self._verified) >= self.VERIFIED_CACHE:
                self._verified.pop(next(iter(self._verified)))  # the oldest remembered
            self._verified[token] = (kid, claims, principal)
        return principal


def _principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Our own claims, checked by type and value even though we signed them: defence in depth against a
    bug in issuance, and the policy engine can then trust every field of the Principal."""
    strings = ("sub", "client_id", "agency", "agency_type", "role", "jurisdiction", "jti")
    if not all(isinstance(claims.get(k), str) and claims[k] for k in strings):
        raise InvalidToken("bad_claim")
    if claims["sub"] != claims["client_id"]:
        raise InvalidToken("bad_claim")
    if claims["agency_type"] not in AGENCY_TYPES or not valid_division(claims["jurisdiction"]):
        raise InvalidToken("bad_claim")
    institutions = claims["institutions"]
    if not isinstance(institutions, list) or not all(isinstance(i, str) for i in institutions):
        raise InvalidToken("bad_claim")
    if not isinstance(claims["scope"], str):
        raise InvalidToken("bad_claim")
    bg = claims.get("bg")
    break_glass = None
    if bg is not None:
        if not (
            isinstance(bg, dict)
            and isinstance(bg.get("justification"), str)
            and isinstance(bg.get("exp"), int)
            and not isinstance(bg.get("exp"), bool)
        ):
            raise InvalidToken("bad_claim")
        break_glass = BreakGlass(
            justification=bg["justification"],
            expires_at=datetime.fromtimestamp(bg["exp"], UTC),
            grant_id=claims["jti"],
        )
    return Principal(
        subject=claims["sub"],
        client_id=claims["client_id"],
        agency_id=claims["agency"],
        agency_type=claims["agency_type"],
        role=claims["role"],
        jurisdiction=claims["jurisdiction"],
        scopes=scope_list(claims["scope"]),
        issuer=claims["iss"],
        institution_codes=frozenset(institutions),
        break_glass=break_glass,
    )
