"""OAuth2 client credentials, our JWT access tokens, key rotation and a trusted external issuer.

Everything runs over real HTTP: our identity routes served by uvicorn on a loopback port, and a second
issuer (its own RSA key, its own JWKS) served by another uvicorn on another port. No JOSE mocks.
Tests that take `engine` run on SQLite and on a fresh PostgreSQL database (SHOUHU_SKIP_POSTGRES=1 skips
the PostgreSQL half, as in test_db.py).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, create_engine, make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth import identities, keys
from auth.keys import SigningKeyError
from auth.routes import AuthError, AuthService, auth_error_handler, authenticate, service_routes
from auth.tables import SigningKey
from auth.tokens import InvalidToken
from kernel.db import DatabaseUnavailable, check_reachable, make_engine, migrate, session
from kernel.settings import Settings

PG_ADMIN_URL = os.environ.get("SHOUHU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
EXTERNAL_ISSUER = "https://idp.gongan.cq.example"
AUDIENCE = "shouhu-api"


# ------------------------------------------------------------------------------------- live servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@dataclass
class Issuer:
    """A second, independent token issuer: its own key, its JWKS on loopback, a hit counter."""

    issuer: str
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    hits: int = 0
    extra_keys: list[RSAKey] = field(default_factory=list)

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.hits += 1
            keys_ = [k.as_dict(private=False, use="sig", alg="RS256") for k in (self.key, *self.extra_keys)]
            return JSONResponse({"keys": keys_})

        return Starlette(routes=[Route("/jwks.json", jwks)])

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        header: dict[str, Any] | None = None,
        key: RSAKey | None = None,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "sub": "police-caseworker-17",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "client_id": "jingwu-app",
            "scope": "read:child read:case",
            "org_id": "psb-500101",
            "org_type": "public_security",
            "realm": {"roles": ["investigator"]},
            "division": "500101000000",
        }
        body.update(claims or {})
        head = {"alg": "RS256", "typ": "at+jwt", "kid": self.kid, **(header or {})}
        return jwt.encode(head, body, key or self.key, algorithms=["RS256"], default_type=None)


def trusted_entry(issuer: Issuer, jwks_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "issuer": issuer.issuer,
        "jwks_uri": jwks_url,
        "audience": AUDIENCE,
        "agency_claim": "org_id",
        "agency_type_claim": "org_type",
        "role_claim": "realm.roles",
        "jurisdiction_claim": "division",
        **overrides,
    }


@dataclass
class Harness:
    """Our identity routes plus a protected endpoint, live on loopback."""

    url: str
    service: AuthService
    engine: Engine
    settings: Settings
    reasons: list[str]
    client_id: str
    secret: str

    def token_response(self, **form: str) -> httpx.Response:
        data = {"grant_type": "client_credentials", **form}
        return httpx.post(f"{self.url}/oauth/token", data=data, auth=(self.client_id, self.secret))

    def token(self, **form: str) -> str:
        r = self.token_response(**form)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def whoami(self, token: str | None, **headers: str) -> httpx.Response:
        h = dict(headers)
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return httpx.get(f"{self.url}/whoami", headers=h)


def protected_app(settings: Settings, engine: Engine, reasons: list[str]) -> Starlette:
    """Our routes plus /whoami, which answers with the Principal and records refusal reasons."""

    async def whoami(request: Request) -> Response:
        try:
            p = await authenticate(request)
        except AuthError as exc:
            reasons.append(exc.reason)
            raise
        return JSONResponse(
            {
                "subject": p.subject,
                "client_id": p.client_id,
                "agency_id": p.agency_id,
                "agency_type": p.agency_type,
                "role": p.role,
                "jurisdiction": p.jurisdiction,
                "scopes": sorted(p.scopes),
                "institution_codes": sorted(p.institution_codes),
                "issuer": p.issuer,
                "purpose": p.purpose,
                "user": p.user,
            }
        )

    service = AuthService(settings, engine)
    app = Starlette(
        routes=[*service_routes(service), Route("/whoami", whoami)],
        exception_handlers={AuthError: auth_error_handler},
    )
    app.state.auth = service
    return app


# ------------------------------------------------------------------------------------------- fixtures


def _pg_database() -> Iterator[str]:
    try:
        check_reachable(PG_ADMIN_URL)
    except DatabaseUnavailable as exc:
        if os.environ.get("SHOUHU_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL skipped (SHOUHU_SKIP_POSTGRES=1): {exc}")
        pytest.fail(f"PostgreSQL tests need the server ({exc})", pytrace=False)
    name = f"shouhu_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty relational store of each kind."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{(tmp_path / 'shouhu.sqlite3').as_posix()}"])
    else:
        urls = _pg_database()
    url = next(urls)
    check_reachable(url)
    eng = make_engine(url)
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        for _ in urls:  # finish the PostgreSQL generator: drops the database
            pass


@pytest.fixture
def idp() -> Iterator[tuple[Issuer, str]]:
    """The trusted external issuer, its JWKS live on loopback."""
    issuer = Issuer(EXTERNAL_ISSUER)
    with LiveServer(issuer.app()) as server:
        yield issuer, f"{server.url}/jwks.json"


def seed(engine: Engine) -> tuple[str, str]:
    identities.add_agency(
        engine,
        agency_id="edu-500101",
        name="重庆市万州区教育委员会",
        agency_type="education",
        jurisdiction="500101000000",
        institution_codes=["5001010001", "5001010002"],
    )
    return identities.add_client(
        engine,
        agency_id="edu-500101",
        role="registrar",
        scopes="read:child read:school write:report",
        name="学籍管理系统",
    )


@contextmanager
def live_harness(
    engine: Engine, tmp_path: Path, trusted: list[dict[str, Any]], **overrides: Any
) -> Iterator[Harness]:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path,
        token_issuer=f"http://127.0.0.1:{port}",
        trusted_issuers=trusted,
        **overrides,
    )
    client_id, secret = seed(engine)
    reasons: list[str] = []
    app = protected_app(settings, engine, reasons)
    with LiveServer(app, port) as server:
        yield Harness(server.url, app.state.auth, engine, settings, reasons, client_id, secret)


@pytest.fixture
def harness(engine: Engine, tmp_path: Path, idp: tuple[Issuer, str]) -> Iterator[Harness]:
    issuer, jwks_url = idp
    with live_harness(engine, tmp_path, [trusted_entry(issuer, jwks_url)]) as h:
        yield h


def b64json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = token.split(".")
    return b64json(head), b64json(body)


def assert_invalid_token(r: httpx.Response) -> None:
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_token"}
    assert r.headers["www-authenticate"] == 'Bearer realm="shouhu", error="invalid_token"'


# ----------------------------------------------------------------------------------- client credentials


def test_client_credentials_end_to_end(harness: Harness) -> None:
    r = harness.token_response()
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "read:child read:school write:report"
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}

    header, claims = segments(body["access_token"])
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": header["kid"]}
    assert set(claims) == {
        "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope",
        "agency", "agency_type", "role", "jurisdiction", "institutions",
    }  # fmt: skip
    assert claims["iss"] == harness.url and claims["aud"] == AUDIENCE
    assert claims["sub"] == claims["client_id"] == harness.client_id
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"]

    who = harness.whoami(body["access_token"], **{"X-Purpose-Of-Use": "%E5%BC%BA%E5%88%B6%E6%8A%A5%E5%91%8A"})
    assert who.status_code == 200, who.text
    assert who.json() == {
        "subject": harness.client_id,
        "client_id": harness.client_id,
        "agency_id": "edu-500101",
        "agency_type": "education",
        "role": "registrar",
        "jurisdiction": "500101000000",
        "scopes": ["read:child", "read:school", "write:report"],
        "institution_codes": ["5001010001", "5001010002"],
        "issuer": harness.url,
        "purpose": "强制报告",
        "user": None,
    }


def test_client_secret_post_is_accepted(harness: Harness) -> None:
    r = httpx.post(
        f"{harness.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": harness.client_id,
            "client_secret": harness.secret,
        },
    )
    assert r.status_code == 200, r.text
    assert harness.whoami(r.json()["access_token"]).status_code == 200


def test_scope_narrowing(harness: Harness) -> None:
    token = harness.token(scope="read:child")
    assert segments(token)[1]["scope"] == "read:child"
    assert harness.whoami(token).json()["scopes"] == ["read:child"]

    r = harness.token_response(scope="read:child admin:all")
    assert (r.status_code, r.json()) == (400, {"error": "invalid_scope"})
    assert r.headers["cache-control"] == "no-store"


def test_bad_secret_unknown_client_and_no_credentials_are_invalid_client(harness: Harness) -> None:
    form = {"grant_type": "client_credentials"}
    answers = [
        httpx.post(f"{harness.url}/oauth/token", data=form, auth=(harness.client_id, "wrong-secret")),
        httpx.post(f"{harness.url}/oauth/token", data=form, auth=("edu-500101-000000000000", harness.secret)),
        httpx.post(f"{harness.url}/oauth/token", data=form),
        httpx.post(
            f"{harness.url}/oauth/token",
            data={**form, "client_id": harness.client_id, "client_secret": "wrong-secret"},
        ),
    ]
    for r in answers:
        assert r.status_code == 401
        assert r.json() == {"error": "invalid_client"}  # nothing says whether the client exists
        assert r.headers["www-authenticate"] == 'Basic realm="shouhu"'
        assert r.headers["cache-control"] == "no-store"


def test_disabled_client_is_refused(harness: Harness) -> None:
    identities.set_client_disabled(harness.engine, harness.client_id)
    r = harness.token_response()
    assert (r.status_code, r.json()) == (401, {"error": "invalid_client"})
    with pytest.raises(identities.IdentityError, match="已停用"):
        identities.issue_token_for_client(harness.engine, harness.settings, harness.client_id)


def test_malformed_token_requests_follow_rfc6749(harness: Harness) -> None:
    url = f"{harness.url}/oauth/token"
    auth = (harness.client_id, harness.secret)
    cases = [
        (httpx.post(url, data={"grant_type": "password"}, auth=auth), 400, "unsupported_grant_type"),
        (httpx.post(url, data={}, auth=auth), 400, "invalid_request"),
        (httpx.post(url, json={"grant_type": "client_credentials"}, auth=auth), 400, "invalid_request"),
        (
            httpx.post(
                url,
                content="grant_type=client_credentials&grant_type=client_credentials",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=auth,
            ),
            400,
            "invalid_request",
        ),
        (  # two authentication methods at once
            httpx.post(
                url, data={"grant_type": "client_credentials", "client_secret": harness.secret}, auth=auth
            ),
            400,
            "invalid_request",
        ),
    ]
    for r, status, error in cases:
        assert (r.status_code, r.json()) == (status, {"error": error}), r.text
        assert r.headers["cache-control"] == "no-store"
    assert httpx.get(url).status_code == 405


# ----------------------------------------------------------------------------------- keys and rotation


def test_jwks_publishes_the_active_key_and_no_private_parts(harness: Harness) -> None:
    kid = segments(harness.token())[0]["kid"]
    r = httpx.get(f"{harness.url}/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jwk-set+json")
    doc = r.json()
    assert [k["kid"] for k in doc["keys"]] == [kid]
    assert set(doc["keys"][0]) == {"kty", "kid", "use", "alg", "n", "e"}
    # kid is the RFC 7638 thumbprint of the published key
    assert RSAKey.import_key(doc["keys"][0]).thumbprint() == kid

    meta = httpx.get(f"{harness.url}/.well-known/oauth-authorization-server").json()
    checked = AuthorizationServerMetadata(meta)
    # Every field we publish passes Authlib's RFC 8414 checks. `response_types_supported` is honestly
    # empty (there is no authorization endpoint), which Authlib's all-in-one validate() rejects.
    for name in ("issuer", "token_endpoint", "jwks_uri", "grant_types_supported"):
        getattr(checked, f"validate_{name}")()
    checked.validate_token_endpoint_auth_methods_supported()
    assert meta["response_types_supported"] == []
    assert meta["issuer"] == harness.url
    assert meta["token_endpoint"] == f"{harness.url}/oauth/token"
    assert meta["jwks_uri"] == f"{harness.url}/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]


def test_rotation_keeps_old_tokens_valid_until_the_old_key_retires(harness: Harness) -> None:
    before = harness.token()
    old_kid = segments(before)[0]["kid"]

    harness.service.keyring.rotate(grace=timedelta(hours=1))
    after = harness.token()
    new_kid = segments(after)[0]["kid"]
    assert new_kid != old_kid

    assert harness.whoami(before).status_code == 200  # signed before rotation, still valid
    assert harness.whoami(after).status_code == 200
    published = [k["kid"] for k in httpx.get(f"{harness.url}/.well-known/jwks.json").json()["keys"]]
    assert sorted(published) == sorted([old_kid, new_kid])

    harness.service.keyring.retire(old_kid)
    assert_invalid_token(harness.whoami(before))
    assert harness.reasons[-1] == "retired_key"
    assert harness.whoami(after).status_code == 200
    published = [k["kid"] for k in httpx.get(f"{harness.url}/.well-known/jwks.json").json()["keys"]]
    assert published == [new_kid]


def test_rotation_by_another_process_is_picked_up_on_the_new_kid(harness: Harness) -> None:
    harness.token()  # the server's key ring now caches the first key
    # What `shouhu keys rotate` + `shouhu token` do from another process: their own engine and key ring.
    other = make_engine(harness.engine.url)
    try:
        new = keys.rotate(other, grace=timedelta(hours=1))
        minted = identities.issue_token_for_client(other, harness.settings, harness.client_id)
    finally:
        other.dispose()
    assert segments(minted.access_token)[0]["kid"] == new.kid
    assert harness.whoami(minted.access_token).status_code == 200


def test_rotation_without_grace_retires_the_old_key_at_once(harness: Harness) -> None:
    before = harness.token()
    harness.service.keyring.rotate(grace=timedelta(0))
    assert_invalid_token(harness.whoami(before))
    assert harness.reasons[-1] == "retired_key"
    assert harness.whoami(harness.token()).status_code == 200


def test_private_keys_stay_out_of_reprs_and_are_encrypted_with_a_passphrase(engine: Engine) -> None:
    row = keys.rotate(engine, grace=timedelta(0), passphrase="correct horse")
    assert row.private_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "PRIVATE" not in repr(row) and "private_pem" not in row.model_dump()
    with session(engine) as s:
        stored = s.get(SigningKey, row.kid)
    assert stored is not None and "PRIVATE" not in repr(stored) and "PRIVATE" not in str(stored)

    with pytest.raises(SigningKeyError, match="SHOUHU_SIGNING_KEY_PASSPHRASE") as info:
        keys.KeyRing(engine, passphrase="wrong").signer()
    assert "\n" not in str(info.value) and "PRIVATE" not in str(info.value)
    kid, private = keys.KeyRing(engine, passphrase="correct horse").signer()
    assert kid == row.kid and private.is_private


# --------------------------------------------------------------------------------- external OIDC issuer


def test_external_issuer_is_accepted_with_claim_mapping(harness: Harness, idp: tuple[Issuer, str]) -> None:
    issuer, _ = idp
    r = harness.whoami(issuer.token(), **{"X-Purpose-Of-Use": "emergency-response"})
    assert r.status_code == 200, (r.text, harness.reasons)
    assert r.json() == {
        "subject": "police-caseworker-17",
        "client_id": "jingwu-app",
        "agency_id": "psb-500101",
        "agency_type": "public_security",
        "role": "investigator",
        "jurisdiction": "500101000000",
        "scopes": ["read:case", "read:child"],
        "institution_codes": [],
        "issuer": EXTERNAL_ISSUER,
        "purpose": "emergency-response",
        "user": "police-caseworker-17",
    }
    assert harness.whoami(issuer.token()).status_code == 200
    assert issuer.hits == 1  # the JWKS is cached


def test_external_issuer_with_wrong_audience_is_refused(harness: Harness, idp: tuple[Issuer, str]) -> None:
    issuer, _ = idp
    assert_invalid_token(harness.whoami(issuer.token({"aud": "some-other-api"})))
    assert harness.reasons == ["wrong_audience"]


def test_external_issuer_claims_outside_its_bounds_are_refused(
    engine: Engine, tmp_path: Path, idp: tuple[Issuer, str]
) -> None:
    issuer, jwks_url = idp
    entry = trusted_entry(
        issuer, jwks_url, allowed_agency_types=["public_security"], jurisdiction_within="500100000000"
    )
    with live_harness(engine, tmp_path, [entry]) as h:
        assert h.whoami(issuer.token()).status_code == 200  # 500101 lies within 5001
        assert_invalid_token(h.whoami(issuer.token({"org_type": "court"})))
        assert_invalid_token(h.whoami(issuer.token({"division": "510104000000"})))  # Chengdu, not Chongqing
        assert_invalid_token(h.whoami(issuer.token({"org_type": "superuser"})))
        assert_invalid_token(h.whoami(issuer.token({"org_id": None})))
        assert h.reasons == [
            "agency_type_not_allowed",
            "jurisdiction_not_allowed",
            "bad_claim",
            "missing_claim",
        ]


def test_external_issuer_rotation_is_seen_after_the_refetch_floor(
    engine: Engine, tmp_path: Path, idp: tuple[Issuer, str]
) -> None:
    issuer, jwks_url = idp
    with live_harness(engine, tmp_path, [trusted_entry(issuer, jwks_url)], jwks_min_refetch_seconds=0) as h:
        assert h.whoami(issuer.token()).status_code == 200
        assert issuer.hits == 1
        new_key = RSAKey.generate_key(2048, auto_kid=True)
        issuer.extra_keys.append(new_key)  # the issuer publishes a new key and signs with it
        token = issuer.token(header={"kid": new_key.kid}, key=new_key)
        assert h.whoami(token).status_code == 200  # unknown kid -> one refetch -> accepted
        assert issuer.hits == 2


# ------------------------------------------------------------------------------------- domain and input


def test_identity_input_is_validated(engine: Engine) -> None:
    seed(engine)
    bad_agencies: list[dict[str, Any]] = [
        {"agency_type": "police"},
        {"jurisdiction": "5001010000"},
        {"jurisdiction": "990101000000"},
        {"jurisdiction": "500100123000"},
        {"jurisdiction": "５００１０１０００００"},  # full-width digits
        {"agency_id": "Edu 1"},
        {"agency_id": "edu-500101"},  # exists
        {"institution_codes": ["bad code"]},
    ]
    for bad in bad_agencies:
        args = {
            "agency_id": "civ-500101",
            "name": "万州区民政局",
            "agency_type": "civil_affairs",
            "jurisdiction": "500101000000",
            **bad,
        }
        with pytest.raises(identities.IdentityError) as info:
            identities.add_agency(engine, **args)
        assert "\n" not in str(info.value)
    with pytest.raises(identities.IdentityError, match="没有单位"):
        identities.add_client(engine, agency_id="nope", role="caseworker", scopes="read:child", name="x")
    with pytest.raises(identities.IdentityError, match="权限范围"):
        identities.add_client(engine, agency_id="edu-500101", role="caseworker", scopes='a "b"', name="x")
    with pytest.raises(identities.IdentityError, match="角色"):
        identities.add_client(
            engine, agency_id="edu-500101", role="Case Worker", scopes="read:child", name="x"
        )


def test_secrets_are_scrypt_hashed_and_compared_in_constant_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import SCRYPT_N

    monkeypatch.setattr(identities, "_SCRYPT_N", SCRYPT_N)  # the product's cost, not the suite's
    client_id, secret = seed(engine)
    row = identities.get_client(engine, client_id)
    assert row is not None
    assert row.secret_hash.startswith("scrypt$16384$8$1$") and secret not in row.secret_hash
    assert secret not in repr(row) and "secret_hash" not in row.model_dump()
    assert identities.authenticate_client(engine, client_id, secret) is not None
    assert identities.authenticate_client(engine, client_id, secret + "x") is None
    assert identities.authenticate_client(engine, "nobody", secret) is None
    assert not identities.verify_secret(secret, "md5$abc")
    # Two clients with the same secret still get different hashes (per-secret salt).
    assert identities.hash_secret("s") != identities.hash_secret("s")


def test_agency_without_institutions_gets_a_valid_token(engine: Engine, tmp_path: Path) -> None:
    identities.add_agency(
        engine,
        agency_id="ps-500101",
        name="万州区公安局",
        agency_type="public_security",
        jurisdiction="500101000000",
    )
    client_id, _ = identities.add_client(
        engine, agency_id="ps-500101", role="officer", scopes="read:child", name="x"
    )
    settings = Settings(data_dir=tmp_path)
    issued = identities.issue_token_for_client(engine, settings, client_id)
    assert segments(issued.access_token)[1]["institutions"] == []
    principal = AuthService(settings, engine).validate(issued.access_token)
    assert principal.institution_codes == frozenset() and principal.agency_type == "public_security"


def test_demo_token_for_a_client_validates(engine: Engine, tmp_path: Path) -> None:
    client_id, _ = seed(engine)
    settings = Settings(data_dir=tmp_path)
    issued = identities.issue_token_for_client(engine, settings, client_id, scope="read:school")
    principal = AuthService(settings, engine).validate(issued.access_token)
    assert (principal.client_id, principal.agency_type, principal.scopes) == (
        client_id,
        "education",
        frozenset({"read:school"}),
    )
    with pytest.raises(identities.InvalidScope):
        identities.issue_token_for_client(engine, settings, client_id, scope="write:everything")
    with pytest.raises(InvalidToken) as info:
        AuthService(Settings(data_dir=tmp_path, token_audience="other"), engine).validate(issued.access_token)
    assert info.value.reason == "wrong_audience"


def test_trusted_issuer_configuration_is_checked(engine: Engine, tmp_path: Path) -> None:
    from auth.oidc import OIDCConfigError, TrustedIssuer, _import_keys, parse_trusted_issuers
    from auth.routes import AuthConfigError

    good = {"issuer": EXTERNAL_ISSUER, "jwks_uri": "https://idp.example/jwks", "audience": AUDIENCE}
    assert parse_trusted_issuers([good])[0].algorithms == ("RS256",)
    bad = [
        ({**good, "jwks_uri": "http://idp.example/jwks"}, "https"),  # plain http off loopback
        ({**good, "algorithms": ["HS256"]}, "subset"),  # shared-secret algorithms are never trusted
        ({**good, "algorithms": ["none"]}, "subset"),
        ({**good, "allowed_agency_types": ["police"]}, "unknown agency types"),
        ({**good, "jurisdiction_within": "50"}, "12-digit"),
        ({**good, "surprise": 1}, "surprise"),
    ]
    for entry, needle in bad:
        with pytest.raises(OIDCConfigError, match=needle):
            parse_trusted_issuers([entry])
    with pytest.raises(OIDCConfigError, match="twice"):
        parse_trusted_issuers([good, good])
    with pytest.raises(OIDCConfigError, match="our own issuer"):
        parse_trusted_issuers(
            [{**good, "issuer": "http://127.0.0.1:8000"}], local_issuer="http://127.0.0.1:8000"
        )
    with pytest.raises(AuthConfigError, match="SHOUHU_TOKEN_ISSUER"):
        AuthService(Settings(data_dir=tmp_path, host="0.0.0.0"), engine)

    # From a JWKS, only public signature keys with a kid are taken.
    rsa = RSAKey.generate_key(2048, auto_kid=True)
    document = {
        "keys": [
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0"},
            {**rsa.as_dict(private=True), "kid": "leaked-private"},
            {**rsa.as_dict(private=False), "kid": "enc", "use": "enc"},
            {k: v for k, v in rsa.as_dict(private=False).items() if k != "kid"},
            rsa.as_dict(private=False),
        ]
    }
    assert list(_import_keys(document, TrustedIssuer.model_validate(good))) == [rsa.kid]


def test_a_token_verified_before_is_still_checked_on_every_use(harness: Harness) -> None:
    """Verified tokens are remembered by their exact text to spare the signature check; every use
    still checks time and key, and any other text (a changed signature or claim) is verified afresh."""
    token = harness.token()
    assert harness.whoami(token).status_code == 200  # verified and remembered
    assert harness.service.authority.knows(token)
    head_, body, sig = token.split(".")
    forged_sig = f"{head_}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    assert_invalid_token(harness.whoami(forged_sig))
    claims = segments(token)[1]
    raised = (
        base64.urlsafe_b64encode(json.dumps({**claims, "role": "auditor"}, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    assert_invalid_token(harness.whoami(f"{head_}.{raised}.{sig}"))
    assert harness.reasons[-1] == "bad_signature"
    later = int(claims["exp"]) + harness.service.authority.config.leeway_seconds + 1
    with pytest.raises(InvalidToken):
        harness.service.authority.validate(token, now=later)
    assert harness.whoami(token).status_code == 200
