"""HTTP side of identities: the token endpoint, JWKS, RFC 8414 metadata, and bearer authentication.

Mount with::

    from auth.routes import routes, AuthError, auth_error_handler
    app = Starlette(routes=[*routes(settings, engine), ...],
                    exception_handlers={AuthError: auth_error_handler})

(or `service = AuthService(settings, engine)`, `service_routes(service)` and `app.state.auth = service`
to bind the app to its service explicitly),

and call `await authenticate(request)` in any endpoint that needs a caller.

The token endpoint is Authlib's `AuthorizationServer` with its `ClientCredentialsGrant` (client
authentication by `client_secret_basic` or `client_secret_post`, RFC 6749 §5.2 errors), wired to
Starlette here because Authlib ships no Starlette integration for the server side. The form is read
and checked here (url-encoded only, no repeated parameters, one authentication method), then Authlib
runs in a worker thread: checking a secret costs one scrypt, which must not stall the event loop.

Error responses say only what RFC 6749/6750 require: `{"error": "invalid_client"}` and friends for the
token endpoint, a bare `invalid_token` for a refused bearer token. Why a token was refused goes to the
log and `request.state.auth_failure` (for the audit log), never to the caller.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.audit import AuditEvent, AuditLog, AuditUnavailable
from auth.identities import (
    InvalidScope,
    burn_secret_check,
    client_with_agency,
    keyring_for,
    narrow_scopes,
    verify_secret,
)
from auth.keys import KeyRing
from auth.oidc import (
    ExternalVerifier,
    JwksCache,
    OIDCConfigError,
    is_secure_or_loopback,
    parse_trusted_issuers,
)
from auth.policy import Policy
from auth.principal import BreakGlass, Principal
from auth.tables import Agency, Client
from auth.tokens import InvalidToken, TokenAuthority, TokenConfig, parse_unverified
from kernel.settings import Settings

log = logging.getLogger("shouhu.auth")

TOKEN_PATH = "/oauth/token"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
PURPOSE_HEADER = "X-Purpose-Of-Use"
REALM = "shouhu"

MAX_TOKEN_REQUEST_BYTES = 4096
MAX_PURPOSE_LENGTH = 200
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 §2.1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REASON = re.compile(r"[a-z_]{1,50}")


# ------------------------------------------------------------------------------------------ the service


# Break-glass parameters of the token request being handled (justification, minutes); Authlib's
# token generation has no access to the form, and run_in_threadpool carries context variables.
_break_glass_request: ContextVar[tuple[str, str] | None] = ContextVar("break_glass_request", default=None)


class AuthConfigError(OIDCConfigError):
    """The identity settings cannot work (e.g. a plain-http public issuer); one line for the operator."""


class AuthService:
    """Everything identities need at run time, built once per app: settings, the key ring, our token
    authority, the external-issuer verifier and the Authlib server."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        keyring: KeyRing | None = None,
        policy: Policy | None = None,
    ) -> None:
        """``policy``: the app's (api.app.create_app passes the one it serves by); without it the
        file ``settings.policy_file`` names is read, for a service built on its own."""
        self.settings = settings
        self.engine = engine
        self.config = TokenConfig.from_settings(settings)
        if not is_secure_or_loopback(self.config.issuer):
            # OAuth 2.0 requires TLS for the token endpoint (RFC 6749 §3.2), and Authlib enforces it.
            raise AuthConfigError(
                f"token issuer {self.config.issuer} is neither https nor loopback: set SHOUHU_TOKEN_ISSUER "
                "to the public https URL of this server"
            )
        self.keyring = keyring or keyring_for(engine, settings)
        self.authority = TokenAuthority(self.config, self.keyring)
        issuers = parse_trusted_issuers(settings.trusted_issuers, local_issuer=self.config.issuer)
        self.external = ExternalVerifier(
            issuers,
            JwksCache(
                cache_ttl=settings.jwks_cache_ttl_seconds, min_refetch=settings.jwks_min_refetch_seconds
            ),
            leeway=settings.token_leeway_seconds,
        )
        self.server = _Server(self)
        self.policy = policy or Policy.load(settings.policy_file)
        self.audit = AuditLog(engine)
        self.throttle = TokenThrottle()

    def record_token_request(
        self, client_id: str | None, operation: str, decision: str, status: int, reasons: list[str]
    ) -> bool:
        """The token request's audit entry; False when it could not be written."""
        try:
            self.audit.append(
                AuditEvent(
                    client_id=client_id,
                    operation=operation,
                    decision=decision,
                    status=status,
                    reasons=tuple(r for r in reasons if _REASON.fullmatch(r)),
                )
            )
        except (AuditUnavailable, ValueError) as exc:
            log.error("token request not audited: %s", type(exc).__name__)
            return False
        return True

    def validate(self, token: str) -> Principal:
        """A Principal from our own token or a trusted issuer's; InvalidToken(reason) otherwise.

        The unverified `iss` only chooses which verifier runs; each verifier then checks `iss` again
        on the verified claims. A token whose kid is one of ours but whose iss is not goes to our
        verifier too, so it is refused as "wrong_issuer" rather than "untrusted_issuer".
        """
        if self.authority.knows(token):
            return self.authority.validate(token)  # verified by us before: ours
        header, unverified = parse_unverified(token)
        iss = unverified.get("iss")
        if iss == self.config.issuer:
            return self.authority.validate(token)
        if self.external.trusts(iss):
            return self.external.validate(token)
        kid = header.get("kid")
        if isinstance(kid, str) and kid and self.keyring.lookup(kid) is not None:
            return self.authority.validate(token)
        raise InvalidToken("untrusted_issuer")

    def needs_network(self, token: str) -> bool:
        """Whether validating may fetch a JWKS (an external issuer's token): then it runs in a thread."""
        if self.authority.knows(token):
            return False
        try:
            _, unverified = parse_unverified(token)
        except InvalidToken:
            return False
        return self.external.trusts(unverified.get("iss"))

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        issuer = self.config.issuer
        return dict(
            AuthorizationServerMetadata(
                {
                    "issuer": issuer,
                    "token_endpoint": issuer + TOKEN_PATH,
                    "jwks_uri": issuer + JWKS_PATH,
                    "grant_types_supported": ["client_credentials"],
                    "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
                    "response_types_supported": [],
                }
            )
        )


# ------------------------------------------------------------------------------- Authlib on Starlette


class _OAuthClient(ClientMixin):
    """Authlib's view of a `Client` row. An unknown id gets a stand-in that never authenticates but
    costs the same scrypt, so unknown, disabled and wrong-secret clients look alike from outside."""

    def __init__(self, client_id: str, found: tuple[Client, Agency] | None) -> None:
        self.client_id = client_id
        self.row: Client | None = found[0] if found is not None else None
        self.agency: Agency | None = found[1] if found is not None else None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if self.row is None:
            raise InvalidClientError()
        return " ".join(sorted(narrow_scopes(self.row.scope_set, scope)))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row is None or self.row.disabled:
            burn_secret_check(client_secret)
            return False
        return verify_secret(client_secret, self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _Grant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Authlib's version minus its DEBUG log line, which prints the whole access token: a bearer
        credential must not land in a log file when an operator turns on debug logging."""
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def validate_requested_scope(self) -> None:
        """The requested scope must be a subset of the client's (RFC 6749 §3.3); none means all of it."""
        client: _OAuthClient = self.request.client
        if client.row is None:
            raise InvalidClientError()
        try:
            narrow_scopes(client.row.scope_set, self.request.payload.scope)
        except InvalidScope:
            raise InvalidScopeError() from None


class _Request(OAuth2Request):
    """An OAuth2Request over a form already read and checked by the endpoint."""

    def __init__(self, uri: str, headers: Headers, form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Mapping[str, Any]
    headers: list[tuple[str, str]]


class _Server(AuthorizationServer):
    def __init__(self, service: AuthService) -> None:
        super().__init__(scopes_supported=None)
        self.service = service
        self.register_grant(_Grant)
        self.register_token_generator("client_credentials", self._generate)

    def query_client(self, client_id: str) -> _OAuthClient:
        return _OAuthClient(client_id, client_with_agency(self.service.engine, client_id))

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to store: the JWT is self-contained (issuance is audited by the caller's audit log)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal bus in this integration."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if not isinstance(request, OAuth2Request):
            raise TypeError("the token endpoint builds its OAuth2Request itself")
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> _Reply:
        return _Reply(status, body, list(headers))

    def handle_error_response(self, request: Any, error: OAuth2Error) -> _Reply:
        # Only the error code: descriptions from Authlib may reflect request values or say whether a
        # client exists, and RFC 6749 makes them optional.
        headers = [*_NO_STORE.items()]
        status = int(error.status_code)
        if status == 401:
            headers.append(("WWW-Authenticate", f'Basic realm="{REALM}"'))
        return _Reply(status, {"error": error.error}, headers)

    def _generate(
        self,
        grant_type: str,
        client: _OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        if client.row is None or client.agency is None:
            raise InvalidClientError()
        scopes = narrow_scopes(client.row.scope_set, scope)
        grant = _break_glass_request.get()
        if grant is None:
            issued = self.service.authority.issue(client=client.row, agency=client.agency, scopes=scopes)
            log.info("issued token jti=%s to client %s", issued.jti, client.client_id)
            return issued.response()
        return self._break_glass(client, scopes, grant)

    def _break_glass(
        self, client: _OAuthClient, scopes: frozenset[str], grant: tuple[str, str]
    ) -> dict[str, Any]:
        """An emergency token: only for roles the policy lets break glass, justified, short, audited."""
        if client.row is None or client.agency is None:
            raise InvalidClientError()
        justification, minutes_text = grant
        policy, agency = self.service.policy, client.agency
        who = Principal(
            subject=client.client_id,
            client_id=client.client_id,
            agency_id=agency.id,
            agency_type=agency.agency_type,
            role=client.row.role,
            jurisdiction=agency.jurisdiction,
        )
        longest = int(policy.break_glass_max_duration.total_seconds())
        try:
            seconds = min(int(minutes_text or "60") * 60, longest)
        except ValueError:
            seconds = 0
        if len(justification.strip()) < policy.break_glass_min_justification or seconds <= 0:
            self._break_glass_refused(who, "invalid_request")
            raise InvalidRequestError()
        if not policy.break_glass_eligible(who):
            self._break_glass_refused(who, "unauthorized_client")
            raise UnauthorizedClientError()
        issued = self.service.authority.issue(
            client=client.row, agency=agency, scopes=scopes, break_glass=(justification.strip(), seconds)
        )
        granted = replace(who, break_glass=BreakGlass(justification.strip(), datetime.now(UTC), issued.jti))
        try:
            self.service.audit.append(
                AuditEvent.for_principal(
                    granted,
                    operation="token.break_glass",
                    decision="allow",
                    status=200,
                    reasons=["break_glass"],
                )
            )
        except (AuditUnavailable, ValueError):
            raise InvalidRequestError() from None  # no emergency access without its record
        log.warning("break-glass token jti=%s issued to client %s", issued.jti, client.client_id)
        return issued.response()

    def _break_glass_refused(self, who: Principal, error: str) -> None:
        """A refused emergency override on the agency's record as one (token.break_glass, denied,
        the OAuth error): the token endpoint's own entry names the client alone and says nothing of
        break-glass, so the auditor, who reviews by agency, never saw the attempt."""
        try:
            self.service.audit.append(
                AuditEvent.for_principal(
                    who,
                    operation="token.break_glass",
                    decision="deny",
                    status=400,
                    reasons=["break_glass", error],
                )
            )
        except (AuditUnavailable, ValueError):
            log.error("refused break-glass request of client %s not audited", who.client_id)


def _oauth_error(error: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers=_NO_STORE)


async def _token_endpoint(service: AuthService, request: Request) -> Response:
    """The token endpoint, throttled and on the record: every request leaves an audit entry
    (issued, refused, locked out; the client id presented, never a secret), and a client id or
    source address with too many failed authentications is locked out for a while, its secret not
    even checked (see `TokenThrottle`). The lockout is judged before any credential is: from the
    Basic header's client id before the body is read, from the form's (client_secret_post) as
    soon as the form is parsed, so a locked-out client's secret is never verified (an answer that
    differed for the right secret would be the oracle the lockout is there to close)."""
    presented = _presented_client_id(request)
    source = request.client.host if request.client else "unknown"
    locked = service.throttle.locked(presented, source)
    if locked:
        return await _locked_out(service, presented, locked)
    form = await _token_form(request)
    if isinstance(form, Response):
        response = form
    else:
        posted = form.get("client_id")
        if presented is None and posted and _CLIENT_ID_FORM.fullmatch(posted):
            presented = posted  # client_secret_post names itself in the form
            locked = service.throttle.locked(presented, source)
            if locked:
                return await _locked_out(service, presented, locked)
        response = await _token_response(service, request, form)
    error = None
    if response.status_code != 200:
        try:
            error = json.loads(bytes(response.body)).get("error")
        except ValueError:
            error = "invalid_request"
    if error == "invalid_client":
        service.throttle.failed(presented, source)
    elif response.status_code == 200:
        service.throttle.succeeded(presented)
    recorded = await run_in_threadpool(
        service.record_token_request,
        presented,
        "token.issue" if response.status_code == 200 else "token.refused",
        "allow" if response.status_code == 200 else "deny",
        response.status_code,
        [str(error)] if error else ["client_credentials"],
    )
    if not recorded and response.status_code == 200:
        # A token whose issuance is not on the record is not issued.
        return _oauth_error("temporarily_unavailable", 503)
    return response


async def _locked_out(service: AuthService, client_id: str | None, seconds: float) -> Response:
    await run_in_threadpool(
        service.record_token_request, client_id, "token.locked", "deny", 429, ["locked_out"]
    )
    headers = {**_NO_STORE, "Retry-After": str(max(1, int(seconds)))}
    return JSONResponse({"error": "invalid_client"}, status_code=429, headers=headers)


async def _token_form(request: Request) -> dict[str, str] | Response:
    """The token request's form, or the refusal of a body that is not one (RFC 6749 §3.2)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error("invalid_request")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_TOKEN_REQUEST_BYTES:
            return _oauth_error("invalid_request")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return _oauth_error("invalid_request")
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:  # RFC 6749 §3.2: parameters MUST NOT be included more than once
            return _oauth_error("invalid_request")
        form[key] = value
    return form


async def _token_response(service: AuthService, request: Request, form: dict[str, str]) -> Response:
    """Authenticate the client and issue its token (Authlib), from a parsed form."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    if basic and "client_secret" in form:
        # RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
        return _oauth_error("invalid_request")
    if not form.get("grant_type"):
        return _oauth_error("invalid_request")
    justification = form.pop("break_glass_justification", None)
    minutes = form.pop("break_glass_minutes", "")
    _break_glass_request.set((justification, minutes) if justification is not None else None)
    oauth_request = _Request(service.config.issuer + TOKEN_PATH, request.headers, form)
    try:
        reply: _Reply = await run_in_threadpool(service.server.create_token_response, oauth_request)
    except InvalidRequestError:
        return _oauth_error("invalid_request")
    headers = dict(reply.headers)
    headers.pop("Content-Type", None)
    headers.update(_NO_STORE)
    return JSONResponse(dict(reply.body), status_code=reply.status, headers=headers)


_CLIENT_ID_FORM = re.compile(r"[A-Za-z0-9._:\-]{1,100}")


def _presented_client_id(request: Request) -> str | None:
    """The client id a token request presents (Basic header; the form's is read with the body), if
    it has the shape of one: an attacker chooses this string, so anything else is not logged."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        cid = unquote(decoded.partition(":")[0])
        return cid if _CLIENT_ID_FORM.fullmatch(cid) else None
    return None


class TokenThrottle:
    """Failed client authentications per client id and per source address, in a sliding window;
    `max_failures` of them lock that client id (or address) out for `lockout_seconds`.

    Per client id, so one client's secret cannot be guessed at speed from many addresses; per
    address, so one address cannot spray guesses over many client ids. In process: one server's
    memory is the state, which is what a single platform server needs (several servers would share
    it through the database)."""

    def __init__(self, max_failures: int = 5, window_seconds: float = 900, lockout_seconds: float = 900):
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.lockout_seconds = lockout_seconds
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._locked_until: dict[str, float] = {}

    def locked(self, client_id: str | None, source: str) -> float:
        """Seconds of lockout left for this client id or address (0: not locked)."""
        now = time.monotonic()
        with self._lock:
            left = [self._locked_until.get(k, 0) - now for k in self._keys(client_id, source)]
        return max([0.0, *left])

    def failed(self, client_id: str | None, source: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(client_id, source):
                hits = self._failures[key]
                hits.append(now)
                while hits and now - hits[0] > self.window_seconds:
                    hits.popleft()
                if len(hits) >= self.max_failures:
                    self._locked_until[key] = now + self.lockout_seconds
                    hits.clear()

    def succeeded(self, client_id: str | None) -> None:
        with self._lock:
            if client_id is not None:
                self._failures.pop(f"client:{client_id}", None)

    @staticmethod
    def _keys(client_id: str | None, source: str) -> list[str]:
        return [f"addr:{source}", *([f"client:{client_id}"] if client_id else [])]


# --------------------------------------------------------------------------------- bearer authentication


class AuthError(HTTPException):
    """A request without acceptable credentials. `reason` is for logs and audit only; the response
    carries RFC 6750's bare error code (`invalid_token`, or `invalid_request` for a bad purpose header).
    """

    def __init__(self, reason: str, *, error: str | None = "invalid_token", status_code: int = 401) -> None:
        challenge = f'Bearer realm="{REALM}"' + (f', error="{error}"' if error else "")
        super().__init__(
            status_code=status_code,
            detail=error or "invalid_token",
            headers={"WWW-Authenticate": challenge, **_NO_STORE},
        )
        self.reason = reason


async def auth_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for AuthError: JSON `{"error": ...}` with the RFC 6750 headers."""
    if not isinstance(exc, AuthError):
        raise exc
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


_default_service: AuthService | None = None


def service_for(request: Request) -> AuthService:
    """The AuthService of the app serving `request`: `app.state.auth` when set, else the one the last
    `routes()` call built (one app per process is the normal case)."""
    service = getattr(request.app.state, "auth", None) if "app" in request.scope else None
    if isinstance(service, AuthService):
        return service
    if _default_service is None:
        raise RuntimeError("auth.routes.routes(settings, engine) has not been called")
    return _default_service


async def authenticate(request: Request) -> Principal:
    """The caller of `request`, from its `Authorization: Bearer` token and `X-Purpose-Of-Use` header.

    Raises AuthError (401, `WWW-Authenticate: Bearer ... error="invalid_token"`) for a missing or
    refused token, with the refusal reason in `exc.reason` and `request.state.auth_failure`.
    """
    service = service_for(request)
    try:
        token = _bearer_token(request)
        if service.needs_network(token):
            principal = await run_in_threadpool(service.validate, token)
        else:
            principal = service.validate(token)
    except InvalidToken as exc:
        request.state.auth_failure = exc.reason
        log.info("bearer token refused: %s", exc.reason)
        if exc.reason == "missing_token":
            # RFC 6750 §3.1: no error code when the request carried no credentials at all.
            raise AuthError(exc.reason, error=None) from None
        raise AuthError(exc.reason) from None
    purpose = _purpose(request)
    return replace(principal, purpose=purpose)


def _bearer_token(request: Request) -> str:
    values = request.headers.getlist("authorization")
    if not values:
        raise InvalidToken("missing_token")
    if len(values) > 1:
        raise InvalidToken("multiple_authorization_headers")
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        raise InvalidToken("not_bearer")
    token = token.strip()
    if not token or not _B64TOKEN.match(token):
        raise InvalidToken("malformed")
    return token


def _purpose(request: Request) -> str | None:
    """The declared purpose of use; percent-encoded UTF-8 is decoded so it can be written in Chinese."""
    raw = request.headers.getlist(PURPOSE_HEADER)
    if not raw:
        return None
    if len(raw) > 1:
        raise AuthError("bad_purpose", error="invalid_request", status_code=400)
    try:
        decoded = unquote(raw[0], errors="strict")
    except UnicodeDecodeError:
        raise AuthError("bad_purpose", error="invalid_request", status_code=400) from None
    purpose = decoded.strip(" ")
    if not purpose:
        return None
    if len(purpose) > MAX_PURPOSE_LENGTH or _CONTROL.search(decoded):
        raise AuthError("bad_purpose", error="invalid_request", status_code=400)
    return purpose


# ------------------------------------------------------------------------------------------------ routes


def routes(settings: Settings, engine: Engine) -> list[Route]:
    """The identity endpoints, bound to a new AuthService, which also becomes the one `authenticate`
    uses unless the app sets `app.state.auth` (see `service_routes` for apps that do)."""
    global _default_service
    service = AuthService(settings, engine)
    _default_service = service
    return service_routes(service)


def service_routes(service: AuthService) -> list[Route]:
    """The identity endpoints bound to `service`. Use with `app.state.auth = service` when a process
    serves more than one app (tests do), so each app's `authenticate` finds its own service."""

    async def token(request: Request) -> Response:
        return await _token_endpoint(service, request)

    async def jwks(request: Request) -> Response:
        # A fresh installation publishes its first key before any token is asked for, so relying
        # parties that fetch the JWKS at start-up have it.
        await run_in_threadpool(service.keyring.ensure_key)
        document = await run_in_threadpool(service.keyring.jwks)
        return JSONResponse(
            document,
            media_type="application/jwk-set+json",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def metadata(request: Request) -> Response:
        return JSONResponse(service.metadata(), headers={"Cache-Control": "public, max-age=3600"})

    return [
        Route(TOKEN_PATH, token, methods=["POST"], name="oauth_token"),
        Route(JWKS_PATH, jwks, methods=["GET"], name="jwks"),
        Route(METADATA_PATH, metadata, methods=["GET"], name="oauth_metadata"),
    ]
