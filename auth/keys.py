"""Our token-signing keys: generation, rotation with a grace period, the JWKS document, and a key ring.

One algorithm only, RS256 (RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys): every relying party and
OIDC library supports it, and having exactly one lets the validator pin it instead of trusting the
token header's `alg`. Key ids are RFC 7638 thumbprints, so a `kid` names the key material itself and
cannot be re-bound to another key.

Rotation does not invalidate tokens already issued: `rotate()` activates a new key and schedules the
previous ones to retire `grace` later (they keep verifying and stay published until then). Retiring
early (`retire()`, or `rotate(grace=0)`) is the response to a suspected key compromise.

Private keys live only in the `signing_key` table (PKCS#8 PEM, encrypted with
SHOUHU_SIGNING_KEY_PASSPHRASE when set); nothing here logs, prints or returns them except `KeyRing`'s
signer, which hands the key object to the token issuer in-process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import Engine
from sqlmodel import select

from auth.tables import SigningKey
from kernel.db import session
from kernel.db.tables import utcnow
from kernel.messages import say

ALGORITHM = "RS256"
"""The only JWS algorithm we sign with and accept for our own tokens."""
KEY_SIZE = 2048


class SigningKeyError(Exception):
    """A key operation the operator must look at (unknown kid, undecryptable key); one-line message."""


def generate_key(*, passphrase: str | None = None, now: datetime | None = None) -> SigningKey:
    """A new RSA key as an unsaved, inactive row, with kid = its RFC 7638 thumbprint."""
    key = RSAKey.generate_key(KEY_SIZE)
    kid = key.thumbprint()
    public = key.as_dict(private=False, kid=kid, alg=ALGORITHM, use="sig")
    pem = key.as_pem(private=True, password=passphrase).decode("ascii")
    return SigningKey(
        kid=kid, alg=ALGORITHM, public_jwk=dict(public), private_pem=pem, created_at=now or utcnow()
    )


def rotate(
    engine: Engine, *, grace: timedelta, passphrase: str | None = None, now: datetime | None = None
) -> SigningKey:
    """Create and activate a new signing key; schedule every other unretired key to retire after `grace`.

    Tokens signed by the previous key keep validating until it retires, which is why `grace` should be
    at least the token lifetime plus the leeway (and whatever time relying parties cache our JWKS).
    A key whose retirement is already scheduled earlier keeps its earlier date.
    """
    now = now or utcnow()
    if grace < timedelta(0):
        raise SigningKeyError(say("keys.grace_negative"))
    new = generate_key(passphrase=passphrase, now=now)
    new.activated_at = now
    retire_at = now + grace
    with session(engine) as s:
        for old in s.exec(select(SigningKey)):
            if old.retired_at is None or old.retired_at > retire_at:
                old.retired_at = retire_at
        s.add(new)
    return new


def retire(engine: Engine, kid: str, *, at: datetime | None = None) -> SigningKey:
    """Retire key `kid` at `at` (default now): from then on it neither verifies nor is published."""
    when = at or utcnow()
    with session(engine) as s:
        row = s.get(SigningKey, kid)
        if row is None:
            raise SigningKeyError(say("keys.unknown", kid=repr(kid)))
        if row.retired_at is None or row.retired_at > when:
            row.retired_at = when
        return row


def list_keys(engine: Engine) -> list[SigningKey]:
    """All keys, newest first (rows; their private PEM is not part of repr or model_dump)."""
    with session(engine) as s:
        rows = list(s.exec(select(SigningKey)))
    return sorted(rows, key=lambda r: r.created_at, reverse=True)


def active_key(engine: Engine, *, now: datetime | None = None) -> SigningKey | None:
    """The key that signs now: the most recently activated one that is not retired."""
    return _pick_active(list_keys(engine), now or utcnow())


def ensure_active_key(
    engine: Engine, *, passphrase: str | None = None, now: datetime | None = None
) -> SigningKey:
    """The active key, creating the first one on a fresh installation.

    Creating it lazily keeps `shouhu init` free of key material and makes a database restored without
    keys recover on its own. Two processes racing here may both create one; the later activation wins
    and the other stays published, which is harmless.
    """
    now = now or utcnow()
    current = active_key(engine, now=now)
    if current is not None:
        return current
    new = generate_key(passphrase=passphrase, now=now)
    new.activated_at = now
    with session(engine) as s:
        s.add(new)
    return new


def published(rows: list[SigningKey], now: datetime) -> list[SigningKey]:
    """The keys relying parties may verify with: activated (or pending) and not yet retired."""
    return [r for r in rows if not r.is_retired(now)]


def jwks(engine: Engine, *, now: datetime | None = None) -> dict[str, Any]:
    """The JWKS document (RFC 7517 §5): public parts of every key that is not retired."""
    now = now or utcnow()
    return _jwks_document(published(list_keys(engine), now))


def _jwks_document(rows: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [_public_only(r.public_jwk) for r in rows]}


# RSA public members plus the JWK metadata we publish; anything else (a private member that should never
# have been stored here) is dropped on the way out rather than trusted.
_PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "n", "e")


def _public_only(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: jwk[k] for k in _PUBLIC_MEMBERS if k in jwk}


def _pick_active(rows: list[SigningKey], now: datetime) -> SigningKey | None:
    candidates = [
        r
        for r in rows
        if r.alg == ALGORITHM
        and r.activated_at is not None
        and r.activated_at <= now
        and not r.is_retired(now)
    ]
    return max(candidates, key=lambda r: r.activated_at or now, default=None)


# ------------------------------------------------------------------------------------------------ key ring


@dataclass(frozen=True)
class KeyStatus:
    """What the key ring knows about a kid: its public key and when it retires (None: not scheduled)."""

    key: RSAKey
    retired_at: datetime | None


class KeyRing:
    """Process-local cache of our keys, so validating a token does not query the database.

    The cache is reloaded every `refresh_seconds` (to see rotations done by other processes) and on a
    kid it does not know. Unknown-kid reloads draw on a token bucket (`reload_burst` at once, then one
    per `min_reload_seconds`): a key another process has just created is found at once, while a flood
    of tokens with random kids costs at most one query per interval. Retirement is judged at validation
    time from the cached `retired_at`, so a scheduled retirement takes effect on time between reloads.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        passphrase: str | None = None,
        refresh_seconds: float = 30.0,
        min_reload_seconds: float = 1.0,
        reload_burst: int = 5,
    ) -> None:
        self.engine = engine
        self._passphrase = passphrase
        self._refresh = refresh_seconds
        self._min_reload = min_reload_seconds
        self._burst = float(reload_burst)
        self._allowance = float(reload_burst)
        self._allowance_at = time.monotonic()
        self._lock = threading.Lock()
        self._rows: list[SigningKey] = []
        self._public: dict[str, KeyStatus] = {}
        self._loaded_at: float | None = None
        self._signer: tuple[str, RSAKey] | None = None

    # -- verification

    def lookup(self, kid: str) -> KeyStatus | None:
        """The public key for `kid` (retired or not), or None when we never had such a key."""
        self._reload_if_stale()
        status = self._public.get(kid)
        if status is None and self._reload(force=False):
            status = self._public.get(kid)
        return status

    def jwks(self, now: datetime | None = None) -> dict[str, Any]:
        """The JWKS document from the cache (the endpoint serves this on every request)."""
        self._reload_if_stale()
        return _jwks_document(published(self._rows, now or utcnow()))

    # -- signing

    def signer(self, now: datetime | None = None) -> tuple[str, RSAKey]:
        """(kid, private key) of the active key, creating the first key when there is none."""
        now = now or utcnow()
        self._reload_if_stale()
        row = _pick_active(self._rows, now)
        if row is None:
            ensure_active_key(self.engine, passphrase=self._passphrase, now=now)
            self._reload(force=True)
            row = _pick_active(self._rows, now)
            if row is None:  # pragma: no cover - a key was just created
                raise SigningKeyError(say("keys.none_active"))
        with self._lock:
            if self._signer is not None and self._signer[0] == row.kid:
                return self._signer
        try:
            private = RSAKey.import_key(row.private_pem, password=self._passphrase)
        except (ValueError, TypeError):
            # Wrong or missing passphrase; the message must not echo anything about the key.
            raise SigningKeyError(say("keys.cannot_load", kid=row.kid)) from None
        signer = (row.kid, private)
        with self._lock:
            self._signer = signer
        return signer

    def ensure_key(self, now: datetime | None = None) -> None:
        """Create the first signing key if there is no active one (without loading its private key)."""
        now = now or utcnow()
        self._reload_if_stale()
        if _pick_active(self._rows, now) is None:
            ensure_active_key(self.engine, passphrase=self._passphrase, now=now)
            self._reload(force=True)

    # -- management (invalidate the cache so this process sees its own change at once)

    def rotate(self, *, grace: timedelta, now: datetime | None = None) -> SigningKey:
        new = rotate(self.engine, grace=grace, passphrase=self._passphrase, now=now)
        self._reload(force=True)
        return new

    def retire(self, kid: str, *, at: datetime | None = None) -> SigningKey:
        row = retire(self.engine, kid, at=at)
        self._reload(force=True)
        return row

    def invalidate(self) -> None:
        """Forget the cache; the next use reloads."""
        with self._lock:
            self._loaded_at = None

    # -- internals

    def _reload_if_stale(self) -> None:
        loaded = self._loaded_at
        if loaded is None or time.monotonic() - loaded >= self._refresh:
            self._reload(force=True)

    def _reload(self, *, force: bool) -> bool:
        """Reload from the database; without `force`, only if the bucket allows it. True if loaded."""
        with self._lock:
            if not force and not self._take_allowance():
                return False
            rows = list_keys(self.engine)
            public: dict[str, KeyStatus] = {}
            for r in rows:
                if r.alg != ALGORITHM:
                    continue
                public[r.kid] = KeyStatus(RSAKey.import_key(_public_only(r.public_jwk)), r.retired_at)
            self._rows, self._public, self._loaded_at = rows, public, time.monotonic()
            return True

    def _take_allowance(self) -> bool:
        if self._min_reload <= 0:
            return True
        now = time.monotonic()
        refill = (now - self._allowance_at) / self._min_reload
        self._allowance = min(self._burst, self._allowance + refill)
        self._allowance_at = now
        if self._allowance < 1.0:
            return False
        self._allowance -= 1.0
        return True
