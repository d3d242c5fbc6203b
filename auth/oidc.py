"""Access tokens from trusted external OIDC issuers (an agency's own identity provider).

Each issuer is configured explicitly (SHOUHU_TRUSTED_ISSUERS, a JSON list of `TrustedIssuer`): its
`issuer` string, where its JWKS is, the audience its tokens must name, which algorithms it signs with,
and which of its claims carry agency, agency type, role and jurisdiction. Nothing is discovered from the
token: an unlisted `iss` is refused without any network request, `jku`/`x5u` headers are refused rather
than followed, and keys come only from the configured `jwks_uri`.

JWKS documents are cached per issuer for `cache_ttl` seconds. A token with a kid not in the cache
triggers one refetch (the issuer may have rotated), but fetches per issuer are at least
`min_refetch` seconds apart: random kids in forged tokens cost us a dictionary lookup, not a request
to the issuer. A failed fetch keeps serving the keys already cached.

Symmetric algorithms are never accepted from an external issuer (a shared secret would let that
issuer's every relying party mint tokens), nor are symmetric keys from its JWKS.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError, JoseError
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from auth.identities import division_contains
from auth.principal import Principal
from auth.tables import AGENCY_TYPES
from auth.tokens import (
    AT_JWT_TYPES,
    InvalidToken,
    check_header,
    check_registered_claims,
    parse_unverified,
    scope_list,
    valid_division,
)

log = logging.getLogger("shouhu.auth.oidc")

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""What a trusted issuer may be configured to sign with. No HS*, no none."""

# Header parameters an external token may carry. x5t/x5t#S256 are common (Azure AD, ADFS) and harmless
# because they are ignored; jku, x5u, jwk, x5c, crit and anything else are refused.
_EXTERNAL_HEADER_PARAMS = frozenset({"alg", "typ", "kid", "x5t", "x5t#S256"})
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_JWKS_BYTES = 256 * 1024


class OIDCConfigError(ValueError):
    """SHOUHU_TRUSTED_ISSUERS is malformed; one line naming the entry and the problem."""


class TrustedIssuer(BaseModel):
    """One external issuer whose access tokens we accept, and how its claims map onto a Principal.

    Claim names may be dotted paths into nested objects (`realm_access.agency`) when no top-level claim
    has the literal name. `allowed_agency_types` and `jurisdiction_within` bound what the issuer may
    assert: a county education bureau's IdP should not be able to mint a provincial police principal.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str
    jwks_uri: str
    audience: str
    agency_claim: str = "agency"
    agency_type_claim: str = "agency_type"
    role_claim: str = "role"
    jurisdiction_claim: str = "jurisdiction"
    institutions_claim: str | None = None
    client_id_claim: str = "client_id"
    algorithms: tuple[str, ...] = ("RS256",)
    token_types: tuple[str, ...] = tuple(sorted(AT_JWT_TYPES))
    allowed_agency_types: tuple[str, ...] | None = None
    jurisdiction_within: str | None = None

    @field_validator("issuer", "audience")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("jwks_uri")
    @classmethod
    def _secure_uri(cls, v: str) -> str:
        if not is_secure_or_loopback(v):
            raise ValueError("must be an https:// URL (http:// only on loopback)")
        return v

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v or not set(v) <= ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"must be a non-empty subset of {sorted(ASYMMETRIC_ALGORITHMS)}")
        return v

    @field_validator("allowed_agency_types")
    @classmethod
    def _known_types(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and not set(v) <= set(AGENCY_TYPES):
            raise ValueError(f"unknown agency types {sorted(set(v) - set(AGENCY_TYPES))}")
        return v

    @model_validator(mode="after")
    def _within(self) -> TrustedIssuer:
        if self.jurisdiction_within is not None and not valid_division(self.jurisdiction_within):
            raise ValueError("jurisdiction_within must be a 12-digit division code")
        return self


def parse_trusted_issuers(
    raw: Sequence[Mapping[str, object]], *, local_issuer: str | None = None
) -> list[TrustedIssuer]:
    """Validate the SHOUHU_TRUSTED_ISSUERS entries, or raise OIDCConfigError naming the bad one."""
    out: list[TrustedIssuer] = []
    for i, entry in enumerate(raw):
        try:
            item = TrustedIssuer.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            raise OIDCConfigError(f"SHOUHU_TRUSTED_ISSUERS[{i}] {where}: {first['msg']}") from None
        if any(o.issuer == item.issuer for o in out):
            raise OIDCConfigError(f"SHOUHU_TRUSTED_ISSUERS[{i}]: issuer {item.issuer} is listed twice")
        if local_issuer is not None and item.issuer.rstrip("/") == local_issuer.rstrip("/"):
            raise OIDCConfigError(f"SHOUHU_TRUSTED_ISSUERS[{i}]: {item.issuer} is our own issuer")
        out.append(item)
    return out


def is_secure_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


# ----------------------------------------------------------------------------------------- JWKS cache


@dataclass
class _IssuerKeys:
    keys: dict[str, jwk.Key] = field(default_factory=dict)
    fetched_at: float | None = None  # last successful fetch (monotonic)
    attempted_at: float | None = None  # last fetch attempt, successful or not
    lock: threading.Lock = field(default_factory=threading.Lock)


class JwksCache:
    """Per-issuer public keys fetched from the configured jwks_uri, with a TTL and a refetch floor.

    Thread-safe; a fetch holds the issuer's lock, so concurrent requests with a new kid wait for one
    fetch instead of each starting their own.
    """

    def __init__(
        self,
        *,
        cache_ttl: float = 300.0,
        min_refetch: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.cache_ttl = cache_ttl
        self.min_refetch = min_refetch
        self._timeout = timeout
        self._clock = clock
        self._transport = transport
        self._state: dict[str, _IssuerKeys] = {}
        self._state_lock = threading.Lock()
        self.fetches = 0  # for operators' metrics and the tests

    def key(self, issuer: TrustedIssuer, kid: str) -> jwk.Key | None:
        """The issuer's key `kid`, fetching the JWKS when stale or when the kid is new (rate limited).

        Raises InvalidToken("jwks_unavailable") when no key set has ever been fetched for the issuer.
        """
        with self._state_lock:
            state = self._state.setdefault(issuer.issuer, _IssuerKeys())
        with state.lock:
            now = self._clock()
            stale = state.fetched_at is None or now - state.fetched_at >= self.cache_ttl
            if stale and self._may_fetch(state, now):
                self._fetch(issuer, state, now)
            found = state.keys.get(kid)
            if found is None and self._may_fetch(state, now):
                self._fetch(issuer, state, now)
                found = state.keys.get(kid)
            if found is None and state.fetched_at is None:
                raise InvalidToken("jwks_unavailable")
            return found

    def _may_fetch(self, state: _IssuerKeys, now: float) -> bool:
        return state.attempted_at is None or now - state.attempted_at >= self.min_refetch

    def _fetch(self, issuer: TrustedIssuer, state: _IssuerKeys, now: float) -> None:
        state.attempted_at = now
        self.fetches += 1
        try:
            document = self._download(issuer.jwks_uri)
        except (httpx.HTTPError, ValueError) as exc:
            # Keep whatever keys we had: an issuer outage must not lock out its already-known keys.
            log.warning("JWKS fetch for %s failed: %s", issuer.issuer, _one_line(exc))
            return
        state.keys = _import_keys(document, issuer)
        state.fetched_at = now

    def _download(self, url: str) -> Any:
        with (
            httpx.Client(timeout=self._timeout, follow_redirects=False, transport=self._transport) as client,
            client.stream("GET", url, headers={"Accept": "application/jwk-set+json, application/json"}) as r,
        ):
            if r.status_code != 200:
                raise ValueError(f"HTTP {r.status_code}")
            body = b""
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("JWKS document too large")
        return json.loads(body)


def _import_keys(document: Any, issuer: TrustedIssuer) -> dict[str, jwk.Key]:
    """Public signature keys with a kid from a JWKS document; everything else is skipped, not trusted."""
    keys: dict[str, jwk.Key] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        log.warning("JWKS of %s has no keys list", issuer.issuer)
        return keys
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid, kty = entry.get("kid"), entry.get("kty")
        if not isinstance(kid, str) or not kid or kty not in ("RSA", "EC", "OKP"):
            continue  # no kid, or symmetric/unknown key type
        if entry.get("use", "sig") != "sig" or _PRIVATE_JWK_MEMBERS & set(entry):
            # An encryption key, or private material published by mistake: not a key we verify with.
            continue
        try:
            key = jwk.import_key(entry)
        except (JoseError, ValueError, TypeError):
            continue
        if kty == "RSA" and key.raw_value.key_size < 2048:  # type: ignore[union-attr]
            continue
        keys[kid] = key
    return keys


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# ------------------------------------------------------------------------------------------- verifier


class ExternalVerifier:
    """Validates access tokens of the configured external issuers into Principals."""

    def __init__(self, issuers: list[TrustedIssuer], cache: JwksCache, *, leeway: int = 30) -> None:
        self.issuers = {i.issuer: i for i in issuers}
        self.cache = cache
        self.leeway = leeway

    def trusts(self, iss: object) -> bool:
        return isinstance(iss, str) and iss in self.issuers

    def validate(self, token: str, *, now: int | None = None) -> Principal:
        """The Principal for an external token, or InvalidToken(reason). May fetch the issuer's JWKS."""
        header, unverified = parse_unverified(token)
        iss = unverified.get("iss")
        if not isinstance(iss, str) or iss not in self.issuers:
            raise InvalidToken("untrusted_issuer")
        issuer = self.issuers[iss]
        kid = check_header(
            header,
            algorithms=issuer.algorithms,
            allowed_params=_EXTERNAL_HEADER_PARAMS,
            token_types=issuer.token_types,
        )
        alg = header["alg"]
        key = self.cache.key(issuer, kid)
        if key is None:
            raise InvalidToken("unknown_kid")
        key_alg = key.get("alg")
        if key_alg is not None and key_alg != alg:
            raise InvalidToken("alg_not_allowed")
        try:
            verified = jwt.decode(token, key, algorithms=[alg])
        except BadSignatureError:
            raise InvalidToken("bad_signature") from None
        except JoseError:
            # Includes a key of the wrong type for the algorithm (an EC key for RS256).
            raise InvalidToken("malformed") from None
        claims = verified.claims
        check_registered_claims(
            claims,
            issuer=issuer.issuer,
            audience=issuer.audience,
            leeway=self.leeway,
            now=int(time.time()) if now is None else now,
            required=("iss", "sub", "aud", "exp"),
        )
        return _map_claims(claims, issuer)


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by literal name, else by dotted path into nested objects; None when absent."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _single_string(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) and value else None


def _map_claims(claims: dict[str, Any], issuer: TrustedIssuer) -> Principal:
    sub = claims.get("sub")
    agency = _single_string(claim(claims, issuer.agency_claim))
    agency_type = _single_string(claim(claims, issuer.agency_type_claim))
    role = _single_string(claim(claims, issuer.role_claim))
    jurisdiction = _single_string(claim(claims, issuer.jurisdiction_claim))
    if not isinstance(sub, str) or not sub or None in (agency, agency_type, role, jurisdiction):
        raise InvalidToken("missing_claim")
    if agency is None or agency_type is None or role is None or jurisdiction is None:
        raise InvalidToken("missing_claim")
    if agency_type not in AGENCY_TYPES or not valid_division(jurisdiction):
        raise InvalidToken("bad_claim")
    if issuer.allowed_agency_types is not None and agency_type not in issuer.allowed_agency_types:
        raise InvalidToken("agency_type_not_allowed")
    if issuer.jurisdiction_within is not None and not division_contains(
        issuer.jurisdiction_within, jurisdiction
    ):
        raise InvalidToken("jurisdiction_not_allowed")
    institutions: frozenset[str] = frozenset()
    if issuer.institutions_claim is not None:
        raw = claim(claims, issuer.institutions_claim)
        if raw is not None:
            if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
                raise InvalidToken("bad_claim")
            institutions = frozenset(raw)
    if "scope" in claims:
        scopes = scope_list(claims["scope"])
    elif "scp" in claims:
        scopes = scope_list(claims["scp"])
    else:
        scopes = frozenset()
    client_id = (
        _single_string(claim(claims, issuer.client_id_claim)) or _single_string(claims.get("azp")) or sub
    )
    return Principal(
        subject=sub,
        client_id=client_id,
        agency_id=agency,
        agency_type=agency_type,
        role=role,
        jurisdiction=jurisdiction,
        scopes=scopes,
        user=sub if sub != client_id else None,
        issuer=issuer.issuer,
        institution_codes=institutions,
    )
