"""Known JWT attacks against `authenticate`, each sent over real HTTP to our routes on loopback.

Every forged token is built with real keys: our own signing key (taken from the key ring, as an insider
bug or a stolen token would give an attacker a correctly signed token with bad content), an attacker's
RSA key whose JWKS is served on loopback, and a trusted external issuer's key. Each refusal must be a
401 whose body and headers say `invalid_token` and nothing else; the reason the server recorded is
checked too, so a test cannot pass because the token was refused for some unrelated reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, event

from auth import keys
from auth.tokens import REQUIRED_CLAIMS
from kernel.db import check_reachable, make_engine, migrate, session
from kernel.db.tables import utcnow
from tests.test_tokens import AUDIENCE, Harness, Issuer, LiveServer, live_harness, segments, trusted_entry

GENERIC_CHALLENGE = 'Bearer realm="shouhu", error="invalid_token"'
# Headers a refusal may carry; anything else could be a side channel for the reason.
ALLOWED_HEADERS = {
    "www-authenticate",
    "cache-control",
    "pragma",
    "content-type",
    "content-length",
    "date",
    "server",
}


# ----------------------------------------------------------------------------------------- forging


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], key: RSAKey) -> str:
    """A compact JWS signed by hand with `key`: nothing in the way of odd headers (crit, jku, ...)."""
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    private = key.private_key
    assert private is not None
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def sign_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@dataclass
class Ctx:
    h: Harness
    our_kid: str
    our_key: RSAKey  # private
    retired_kid: str
    retired_key: RSAKey
    attacker: Issuer
    attacker_jwks: str
    trusted: Issuer
    valid: str  # a genuine token from the token endpoint

    def claims(self, **changes: Any) -> dict[str, Any]:
        """The claims of a genuine token, fresh times, with `changes` (None deletes a claim)."""
        now = int(time.time())
        base = {
            **segments(self.valid)[1],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": secrets.token_hex(8),
        }
        for k, v in changes.items():
            if v is None:
                base.pop(k, None)
            else:
                base[k] = v
        return base

    def header(self, **changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"alg": "RS256", "typ": "at+jwt", "kid": self.our_kid}
        for k, v in changes.items():
            if v is None:
                base.pop(k, None)
            else:
                base[k] = v
        return base

    def ours(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """Correctly signed with our active key, with the given header and claim changes."""
        return sign_rs256(header or self.header(), self.claims(**claims), self.our_key)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    tmp: Path = tmp_path_factory.mktemp("attacks")
    url = f"sqlite:///{(tmp / 'shouhu.sqlite3').as_posix()}"
    check_reachable(url)
    engine = make_engine(url)
    migrate(engine)
    trusted = Issuer("https://idp.gongan.cq.example")
    attacker = Issuer("https://idp.attacker.example")
    with LiveServer(trusted.app()) as trusted_srv, LiveServer(attacker.app()) as attacker_srv:
        entry = trusted_entry(trusted, f"{trusted_srv.url}/jwks.json")
        with live_harness(engine, tmp, [entry]) as h:
            valid = h.token()
            our_kid, our_key = h.service.keyring.signer()
            retired = keys.generate_key()
            past = utcnow() - timedelta(days=2)
            retired.activated_at, retired.retired_at = past, past + timedelta(days=1)
            with session(engine) as s:
                s.add(retired)
            yield Ctx(
                h=h,
                our_kid=our_kid,
                our_key=our_key,
                retired_kid=retired.kid,
                retired_key=RSAKey.import_key(retired.private_pem),
                attacker=attacker,
                attacker_jwks=f"{attacker_srv.url}/jwks.json",
                trusted=trusted,
                valid=valid,
            )
    engine.dispose()


def assert_refused(ctx: Ctx, r: httpx.Response, reason: str, challenge: str = GENERIC_CHALLENGE) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "invalid_token"}
    assert r.headers["www-authenticate"] == challenge
    assert set(r.headers) <= ALLOWED_HEADERS, r.headers
    assert ctx.h.reasons[-1] == reason, ctx.h.reasons
    text = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
    if reason not in ("invalid_token",):
        assert reason not in text  # the reason stays on the server


# ----------------------------------------------------------------------------------------- the attacks


def _public_pem(ctx: Ctx, fmt: serialization.PublicFormat) -> bytes:
    return ctx.our_key.public_key.public_bytes(serialization.Encoding.PEM, fmt)


def _public_jwk(ctx: Ctx) -> dict[str, Any]:
    return next(
        k for k in httpx.get(f"{ctx.h.url}/.well-known/jwks.json").json()["keys"] if k["kid"] == ctx.our_kid
    )


def _tamper_payload(ctx: Ctx) -> str:
    head, _, sig = ctx.valid.split(".")
    claims = {**segments(ctx.valid)[1], "agency_type": "public_security", "jurisdiction": "500000000000"}
    return f"{head}.{b64json(claims)}.{sig}"


def _tamper_signature(ctx: Ctx) -> str:
    head, body, sig = ctx.valid.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64(bytes(raw))}"


def _swap_signature(ctx: Ctx) -> str:
    other = ctx.h.token(scope="read:child")
    head, body, _ = ctx.valid.split(".")
    return f"{head}.{body}.{other.split('.')[2]}"


def _unsigned(ctx: Ctx, alg: str, trailing_dot: bool) -> str:
    token = f"{b64json(ctx.header(alg=alg))}.{b64json(ctx.claims())}"
    return token + "." if trailing_dot else token


def _attacker(ctx: Ctx, header: dict[str, Any], **claims: Any) -> str:
    return sign_rs256(header, ctx.claims(**claims), ctx.attacker.key)


def _external(ctx: Ctx, **claims: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ctx.trusted.issuer,
        "sub": "officer-9",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "org_id": "psb-500101",
        "org_type": "public_security",
        "realm": {"roles": ["investigator"]},
        "division": "500101000000",
        **claims,
    }


Forge = Callable[[Ctx], str]
ATTACKS: list[tuple[str, Forge, str]] = [
    # shape
    ("garbage", lambda c: "not-a-jwt", "malformed"),
    ("three-garbage-segments", lambda c: "a.b.c", "malformed"),
    ("header-is-a-json-array", lambda c: f"{b64json([])}.{c.valid.split('.', 1)[1]}", "malformed"),
    ("five-segments-jwe-shape", lambda c: c.valid + ".AAAA.BBBB", "malformed"),
    ("oversized", lambda c: c.valid + "A" * 9000, "malformed"),
    (
        "duplicate-alg-member",
        lambda c: sign_rs256(c.header(), c.claims(), c.our_key).replace(
            b64json(c.header()),
            b64(b'{"alg":"none","alg":"RS256","typ":"at+jwt","kid":"%s"}' % c.our_kid.encode()),
        ),
        "malformed",
    ),
    # time
    (
        "expired",
        lambda c: c.ours(
            iat=int(time.time()) - 2000, nbf=int(time.time()) - 2000, exp=int(time.time()) - 120
        ),
        "expired",
    ),
    ("not-yet-valid", lambda c: c.ours(nbf=int(time.time()) + 3600), "not_yet_valid"),
    ("issued-in-the-future", lambda c: c.ours(iat=int(time.time()) + 3600), "issued_in_future"),
    ("exp-is-nan-string", lambda c: c.ours(exp="NaN"), "bad_claim"),
    # who it is for / from
    ("wrong-issuer", lambda c: c.ours(iss="https://evil.example"), "wrong_issuer"),
    ("wrong-audience", lambda c: c.ours(aud="some-other-api"), "wrong_audience"),
    ("audience-list-without-us", lambda c: c.ours(aud=["a-api", "b-api"]), "wrong_audience"),
    # alg none
    ("alg-none-with-trailing-dot", lambda c: _unsigned(c, "none", True), "alg_not_allowed"),
    ("alg-none-without-trailing-dot", lambda c: _unsigned(c, "none", False), "alg_not_allowed"),
    ("alg-None-capitalised", lambda c: _unsigned(c, "None", True), "alg_not_allowed"),
    (
        "alg-none-with-a-signature",
        lambda c: _unsigned(c, "none", True) + c.valid.split(".")[2],
        "alg_not_allowed",
    ),
    # key confusion: HS256 keyed with our public key in the forms an attacker can fetch
    (
        "hs256-keyed-with-public-pem-spki",
        lambda c: sign_hs256(
            c.header(alg="HS256"), c.claims(), _public_pem(c, serialization.PublicFormat.SubjectPublicKeyInfo)
        ),
        "alg_not_allowed",
    ),
    (
        "hs256-keyed-with-public-pem-pkcs1",
        lambda c: sign_hs256(
            c.header(alg="HS256"), c.claims(), _public_pem(c, serialization.PublicFormat.PKCS1)
        ),
        "alg_not_allowed",
    ),
    (
        "hs256-keyed-with-public-jwk-json",
        lambda c: sign_hs256(c.header(alg="HS256"), c.claims(), json.dumps(_public_jwk(c)).encode()),
        "alg_not_allowed",
    ),
    ("rs512-with-our-key", lambda c: c.ours(c.header(alg="RS512")), "alg_not_allowed"),
    # keys
    ("unknown-kid", lambda c: c.ours(c.header(kid="no-such-key")), "unknown_kid"),
    ("sql-in-kid", lambda c: c.ours(c.header(kid="' OR 1=1 --")), "unknown_kid"),
    ("missing-kid", lambda c: c.ours(c.header(kid=None)), "missing_kid"),
    (
        "kid-of-a-retired-key",
        lambda c: sign_rs256(c.header(kid=c.retired_kid), c.claims(), c.retired_key),
        "retired_key",
    ),
    ("our-kid-attacker-key", lambda c: _attacker(c, c.header()), "bad_signature"),
    # integrity
    ("tampered-payload", _tamper_payload, "bad_signature"),
    ("tampered-signature", _tamper_signature, "bad_signature"),
    ("truncated-signature", lambda c: c.valid[:-20], "bad_signature"),
    ("signature-of-another-token", _swap_signature, "bad_signature"),
    ("empty-signature", lambda c: c.valid.rsplit(".", 1)[0] + ".", "bad_signature"),
    # token type
    ("typ-jwt", lambda c: c.ours(c.header(typ="JWT")), "wrong_typ"),
    ("typ-missing", lambda c: c.ours(c.header(typ=None)), "wrong_typ"),
    ("typ-id-token-like", lambda c: c.ours(c.header(typ="application/jwt")), "wrong_typ"),
    # headers that point elsewhere or change processing: refused, never followed
    (
        "jku-to-attacker-jwks",
        lambda c: _attacker(c, c.header(kid=c.attacker.kid, jku=c.attacker_jwks)),
        "unexpected_header",
    ),
    (
        "x5u-to-attacker",
        lambda c: _attacker(c, c.header(kid=c.attacker.kid, x5u=c.attacker_jwks)),
        "unexpected_header",
    ),
    (
        "embedded-attacker-jwk",
        lambda c: _attacker(c, c.header(kid=c.attacker.kid, jwk=c.attacker.key.as_dict(private=False))),
        "unexpected_header",
    ),
    ("x5c-chain", lambda c: c.ours(c.header(x5c=["MIIB"])), "unexpected_header"),
    ("crit-exp", lambda c: c.ours(c.header(crit=["exp"], exp=int(time.time()) + 60)), "crit_unsupported"),
    ("crit-b64-false", lambda c: c.ours(c.header(crit=["b64"], b64=False)), "crit_unsupported"),
    # issuers
    (
        "untrusted-issuer-own-key-jwks-reachable",
        lambda c: _attacker(c, c.header(kid=c.attacker.kid), iss=c.attacker.issuer),
        "untrusted_issuer",
    ),
    (
        "trusted-issuer-with-jku-to-attacker",
        lambda c: sign_rs256(
            {"alg": "RS256", "typ": "at+jwt", "kid": c.attacker.kid, "jku": c.attacker_jwks},
            _external(c),
            c.attacker.key,
        ),
        "unexpected_header",
    ),
    (
        "trusted-issuer-kid-signed-by-attacker",
        lambda c: sign_rs256(
            {"alg": "RS256", "typ": "at+jwt", "kid": c.trusted.kid}, _external(c), c.attacker.key
        ),
        "bad_signature",
    ),
    (
        "trusted-issuer-hs256-with-its-public-key",
        lambda c: sign_hs256(
            {"alg": "HS256", "typ": "at+jwt", "kid": c.trusted.kid},
            _external(c),
            c.trusted.key.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
        "alg_not_allowed",
    ),
    (
        "trusted-issuer-alg-none",
        lambda c: (
            f"{b64json({'alg': 'none', 'typ': 'at+jwt', 'kid': c.trusted.kid})}.{b64json(_external(c))}."
        ),
        "alg_not_allowed",
    ),
    (
        "our-iss-signed-by-trusted-issuer-key",
        lambda c: sign_rs256(
            {"alg": "RS256", "typ": "at+jwt", "kid": c.trusted.kid}, c.claims(), c.trusted.key
        ),
        "unknown_kid",
    ),
    # correctly signed by us but with values we never issue (defence in depth)
    ("agency-type-not-a-member-type", lambda c: c.ours(agency_type="superuser"), "bad_claim"),
    ("jurisdiction-not-a-division-code", lambda c: c.ours(jurisdiction="50*"), "bad_claim"),
    ("sub-differs-from-client-id", lambda c: c.ours(sub="someone-else"), "bad_claim"),
    ("institutions-not-a-list", lambda c: c.ours(institutions="5001010001"), "bad_claim"),
    *[
        (f"missing-claim-{name}", (lambda n: lambda c: c.ours(**{n: None}))(name), "missing_claim")
        for name in REQUIRED_CLAIMS
    ],
]


def test_control_a_genuine_token_is_accepted(ctx: Ctx) -> None:
    """Without this, every attack below could 'pass' because nothing is ever accepted."""
    r = ctx.h.whoami(ctx.valid)
    assert r.status_code == 200, (r.text, ctx.h.reasons)
    assert ctx.h.whoami(ctx.ours()).status_code == 200  # the forging helpers produce valid tokens
    external = sign_rs256(
        {"alg": "RS256", "typ": "at+jwt", "kid": ctx.trusted.kid}, _external(ctx), ctx.trusted.key
    )
    assert ctx.h.whoami(external).status_code == 200


@pytest.mark.parametrize(("forge", "reason"), [(f, r) for _, f, r in ATTACKS], ids=[n for n, _, _ in ATTACKS])
def test_attack_is_refused_without_detail(ctx: Ctx, forge: Forge, reason: str) -> None:
    attacker_hits = ctx.attacker.hits
    token = forge(ctx)
    assert_refused(ctx, ctx.h.whoami(token), reason)
    assert ctx.attacker.hits == attacker_hits  # the attacker's JWKS was never fetched


def test_missing_token_gets_a_bare_challenge(ctx: Ctx) -> None:
    assert_refused(ctx, ctx.h.whoami(None), "missing_token", challenge='Bearer realm="shouhu"')


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("Basic dXNlcjpwYXNz", "not_bearer"),
        ("Bearer", "malformed"),
        ("Bearer a b", "malformed"),
        ("Bearer ey<script>", "malformed"),
        ("Token abc.def.ghi", "not_bearer"),
    ],
)
def test_authorization_header_shapes_are_refused(ctx: Ctx, authorization: str, reason: str) -> None:
    r = httpx.get(f"{ctx.h.url}/whoami", headers={"Authorization": authorization})
    assert_refused(ctx, r, reason)


def test_two_authorization_headers_are_refused(ctx: Ctx) -> None:
    headers = [("Authorization", f"Bearer {ctx.valid}"), ("Authorization", "Bearer x.y.z")]
    assert_refused(ctx, httpx.get(f"{ctx.h.url}/whoami", headers=headers), "multiple_authorization_headers")


def test_token_in_query_string_is_not_accepted(ctx: Ctx) -> None:
    r = httpx.get(f"{ctx.h.url}/whoami", params={"access_token": ctx.valid})
    assert_refused(ctx, r, "missing_token", challenge='Bearer realm="shouhu"')


def test_random_kids_do_not_hammer_the_trusted_issuer(ctx: Ctx) -> None:
    ctx.h.whoami(
        sign_rs256({"alg": "RS256", "typ": "at+jwt", "kid": ctx.trusted.kid}, _external(ctx), ctx.trusted.key)
    )
    before = ctx.trusted.hits
    for _ in range(40):
        header = {"alg": "RS256", "typ": "at+jwt", "kid": secrets.token_urlsafe(16)}
        assert_refused(ctx, ctx.h.whoami(sign_rs256(header, _external(ctx), ctx.attacker.key)), "unknown_kid")
    assert ctx.trusted.hits - before <= 1  # at most one refetch within SHOUHU_JWKS_MIN_REFETCH_SECONDS


def test_random_kids_do_not_hammer_our_database(ctx: Ctx) -> None:
    engine: Engine = ctx.h.engine
    queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "signing_key" in statement:
            queries.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    started = time.monotonic()
    try:
        for _ in range(40):
            assert_refused(
                ctx, ctx.h.whoami(ctx.ours(ctx.header(kid=secrets.token_urlsafe(16)))), "unknown_kid"
            )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The reload bucket (5) plus one per second the loop took (a loaded machine takes longer): far
    # fewer than the 40 a reload per unknown kid would cost when the loop takes a few seconds.
    assert len(queries) <= 5 + int(time.monotonic() - started) + 1


@pytest.mark.parametrize("purpose", ["%0Ainjected", "case%0D%0AX-Admin: 1", "%FF%FE", "x" * 201])
def test_bad_purpose_header_is_a_bad_request(ctx: Ctx, purpose: str) -> None:
    r = ctx.h.whoami(ctx.valid, **{"X-Purpose-Of-Use": purpose})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request"}
    assert r.headers["www-authenticate"] == 'Bearer realm="shouhu", error="invalid_request"'


def test_tokens_and_secrets_never_reach_the_log(ctx: Ctx, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = ctx.h.token()
    ctx.h.whoami(token)
    ctx.h.whoami(_tamper_payload(ctx))
    assert caplog.records  # the refusal and the issuance were logged ...
    for secret in (token, ctx.valid, ctx.h.secret, token.split(".")[2]):
        assert secret not in caplog.text  # ... without the credentials
