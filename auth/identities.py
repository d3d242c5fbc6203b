"""Agencies and their OAuth clients: registration, lookups, client authentication, demo tokens.

The CLI (auth/cli.py) and the token endpoint (auth/routes.py) both go through these functions, so input
rules live in one place: an agency type from the member-unit list, a structurally valid 12-digit
division code, RFC 6749 scope tokens. Violations raise `IdentityError` with a one-line message the CLI
shows as is.

Client secrets are 256-bit random strings shown once at creation and stored as scrypt hashes (stdlib
`hashlib.scrypt`, per-secret salt, constant-time comparison). The secret's entropy alone would make a
fast hash safe; scrypt is there so that a leaked table of weak, hand-set secrets (should an operator
ever import some) is still costly to attack.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from auth.keys import KeyRing
from auth.tables import AGENCY_TYPES, Agency, Client
from auth.tokens import IssuedToken, TokenAuthority, TokenConfig
from kernel.db import session
from kernel.messages import say
from kernel.settings import Settings


class IdentityError(ValueError):
    """Bad input or an unknown/duplicate identity; the message is one line, safe to show."""


class InvalidScope(IdentityError):
    """A token request asked for scopes outside the client's allowed set (or for none at all)."""


# ------------------------------------------------------------------------------------------- validation

_AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")
_ROLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INSTITUTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Province-level prefixes of GB/T 2260 (mainland provinces, autonomous regions, municipalities; 71
# Taiwan, 81 Hong Kong, 82 Macao).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)
# Level boundaries of the 12-digit code: province 2, city 2, county 2, township 3, village 3.
_SEGMENTS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))


def validate_division_code(code: str) -> str:
    """Return `code` if it is a well-formed 12-digit statistical division code, else IdentityError.

    Well-formed: ASCII digits, a real province prefix, and no non-zero level below a zero level (a
    village under "county 00" names nothing).
    """
    if not isinstance(code, str) or not re.fullmatch(r"[0-9]{12}", code):
        raise IdentityError(say("identity.division_digits", code=repr(code)))
    if code[:2] not in _PROVINCES:
        raise IdentityError(say("identity.division_province", code=code))
    seen_zero = False
    for start, end in _SEGMENTS:
        zero = set(code[start:end]) == {"0"}
        if seen_zero and not zero:
            raise IdentityError(say("identity.division_levels", code=code))
        seen_zero = seen_zero or zero
    return code


def division_prefix(code: str) -> str:
    """The prefix shared by a division and everything inside it (trailing zero levels cut)."""
    for digits in (2, 4, 6, 9):
        if set(code[digits:]) == {"0"}:
            return code[:digits]
    return code


def division_contains(outer: str, inner: str) -> bool:
    """Whether division `inner` lies within (or is) division `outer`."""
    return inner.startswith(division_prefix(outer))


def validate_agency_type(agency_type: str) -> str:
    if agency_type not in AGENCY_TYPES:
        raise IdentityError(
            say("identity.agency_type", type=repr(agency_type), known="、".join(AGENCY_TYPES))
        )
    return agency_type


def validate_scopes(scopes: str | Iterable[str]) -> frozenset[str]:
    """A non-empty set of RFC 6749 scope tokens, from a space-separated string or an iterable."""
    items = scopes.split() if isinstance(scopes, str) else [s for s in scopes]
    if not items:
        raise IdentityError(say("identity.scope_required"))
    for item in items:
        if not _SCOPE_TOKEN.match(item):
            raise IdentityError(say("identity.scope_invalid", scope=repr(item)))
    return frozenset(items)


def _text(value: str, what: str, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit or _CONTROL.search(value):
        raise IdentityError(say("identity.printable", what=what, limit=limit))
    return value


def narrow_scopes(allowed: frozenset[str], requested: str | None) -> frozenset[str]:
    """The scopes to grant: all of `allowed` when nothing is requested, else the requested subset.

    Asking for anything outside `allowed` fails as a whole (RFC 6749 §5.2 invalid_scope) instead of
    being silently dropped, so a misconfigured client learns about it at once.
    """
    if requested is None:
        if not allowed:
            raise InvalidScope("the client has no scopes")
        return allowed
    try:
        wanted = validate_scopes(requested)
    except IdentityError as exc:
        raise InvalidScope(str(exc)) from None
    if not wanted <= allowed:
        raise InvalidScope("requested scope exceeds the client's scopes")
    return wanted


# -------------------------------------------------------------------------------------- client secrets

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1  # 16 MiB, ~50 ms: OWASP's scrypt baseline
_SCRYPT_MAXMEM = 64 * 1024 * 1024


def hash_secret(secret: str) -> str:
    """`scrypt$N$r$p$salt$hash` (base64url) of `secret`, with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode("utf-8"),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=32,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of `secret` against a `hash_secret` value; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            secret.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(32))


def burn_secret_check(secret: str) -> None:
    """Spend the time of one real secret check. Unknown and disabled clients go through this, so the
    response time does not tell an attacker which client ids exist."""
    verify_secret(secret, _dummy_hash())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -------------------------------------------------------------------------------------------- agencies


def add_agency(
    engine: Engine,
    *,
    agency_id: str,
    name: str,
    agency_type: str,
    jurisdiction: str,
    institution_codes: Iterable[str] = (),
) -> Agency:
    """Register a member agency. Ids are lower-case slugs (`edu-500101`): they appear in tokens and
    client ids, and one spelling per agency keeps audit queries simple."""
    if not _AGENCY_ID.match(agency_id):
        raise IdentityError(say("identity.agency_id", id=repr(agency_id)))
    codes: list[str] = []
    for code in institution_codes:
        if not _INSTITUTION.match(code):
            raise IdentityError(say("identity.institution", code=repr(code)))
        if code not in codes:
            codes.append(code)
    agency = Agency(
        id=agency_id,
        name=_text(name, "agency name"),
        agency_type=validate_agency_type(agency_type),
        jurisdiction=validate_division_code(jurisdiction),
        institution_codes=codes,
    )
    try:
        with session(engine) as s:
            if s.get(Agency, agency_id) is not None:
                raise IdentityError(say("identity.agency_exists", id=agency_id))
            s.add(agency)
    except IntegrityError:
        raise IdentityError(say("identity.agency_exists", id=agency_id)) from None
    return agency


def get_agency(engine: Engine, agency_id: str) -> Agency | None:
    with session(engine) as s:
        return s.get(Agency, agency_id)


def list_agencies(engine: Engine) -> list[Agency]:
    with session(engine) as s:
        return list(s.exec(select(Agency).order_by(col(Agency.id))))


# --------------------------------------------------------------------------------------------- clients


def add_client(
    engine: Engine, *, agency_id: str, role: str, scopes: str | Iterable[str], name: str
) -> tuple[str, str]:
    """Register a client of `agency_id`; return (client_id, secret). The secret exists only in this
    return value: it is stored hashed and cannot be shown again (issue a new client to replace it)."""
    if not _ROLE.match(role):
        raise IdentityError(say("identity.role", role=repr(role)))
    scope_set = validate_scopes(scopes)
    label = _text(name, "client name")
    secret = secrets.token_urlsafe(32)
    with session(engine) as s:
        if s.get(Agency, agency_id) is None:
            raise IdentityError(say("identity.unknown_agency", id=repr(agency_id)))
        client_id = f"{agency_id}-{secrets.token_hex(6)}"
        s.add(
            Client(
                client_id=client_id,
                agency_id=agency_id,
                name=label,
                role=role,
                scopes=" ".join(sorted(scope_set)),
                secret_hash=hash_secret(secret),
            )
        )
    return client_id, secret


def get_client(engine: Engine, client_id: str) -> Client | None:
    with session(engine) as s:
        return s.get(Client, client_id)


def list_clients(engine: Engine, agency_id: str | None = None) -> list[Client]:
    with session(engine) as s:
        query = select(Client).order_by(col(Client.client_id))
        if agency_id is not None:
            query = query.where(Client.agency_id == agency_id)
        return list(s.exec(query))


def set_client_disabled(engine: Engine, client_id: str, disabled: bool = True) -> Client:
    """Disable (or re-enable) a client: it can no longer obtain tokens. Tokens it already holds stay
    valid until they expire (at most SHOUHU_TOKEN_TTL_SECONDS)."""
    with session(engine) as s:
        row = s.get(Client, client_id)
        if row is None:
            raise IdentityError(say("identity.unknown_client", id=repr(client_id)))
        row.disabled = disabled
        return row


def client_with_agency(engine: Engine, client_id: str) -> tuple[Client, Agency] | None:
    """The client and its agency in one read, or None when the client id is unknown."""
    with session(engine) as s:
        row = s.get(Client, client_id)
        if row is None:
            return None
        agency = s.get(Agency, row.agency_id)
        if agency is None:  # pragma: no cover - the foreign key prevents it
            return None
        return row, agency


def authenticate_client(engine: Engine, client_id: str, secret: str) -> tuple[Client, Agency] | None:
    """The enabled client whose secret this is, or None. Takes one scrypt's time whatever the outcome."""
    found = client_with_agency(engine, client_id) if client_id else None
    if found is None or found[0].disabled:
        burn_secret_check(secret)
        return None
    if not verify_secret(secret, found[0].secret_hash):
        return None
    return found


# ---------------------------------------------------------------------------------------------- tokens


def issue_token_for_client(
    engine: Engine,
    settings: Settings,
    client_id: str,
    *,
    scope: str | None = None,
    keyring: KeyRing | None = None,
) -> IssuedToken:
    """Mint a token for `client_id` without its secret: for operators with database access (the demo
    and `shouhu token`), never reachable over HTTP. Disabled clients get none."""
    found = client_with_agency(engine, client_id)
    if found is None:
        raise IdentityError(say("identity.unknown_client", id=repr(client_id)))
    client, agency = found
    if client.disabled:
        raise IdentityError(say("identity.client_is_disabled", id=client_id))
    scopes = narrow_scopes(client.scope_set, scope)
    ring = keyring or keyring_for(engine, settings)
    return TokenAuthority(TokenConfig.from_settings(settings), ring).issue(
        client=client, agency=agency, scopes=scopes
    )


def keyring_for(engine: Engine, settings: Settings) -> KeyRing:
    """A key ring over `engine` with the configured passphrase."""
    return KeyRing(engine, passphrase=signing_passphrase(settings))


def signing_passphrase(settings: Settings) -> str | None:
    """SHOUHU_SIGNING_KEY_PASSPHRASE, or None when unset or empty."""
    secret = settings.signing_key_passphrase
    return (secret.get_secret_value() or None) if secret is not None else None
