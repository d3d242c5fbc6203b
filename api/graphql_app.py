"""POST /graphql: authenticate, bound, execute under the guard, audit, answer.

No response leaves without its audit entry: if the audit log cannot be written, the request
fails closed with a clear error and no data.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections import defaultdict, deque
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from api.context import Context
from auth.audit import AuditEvent, AuditLog, AuditUnavailable, hash_document
from auth.enforce.guard import Guard
from auth.policy import Policy
from auth.principal import Principal
from auth.routes import authenticate
from graph.port import GraphStore
from kernel.settings import Settings

log = logging.getLogger("shouhu.api")
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.S)
# graphql-core quotes the offending value in coercion, serialization and syntax errors
# ("String cannot represent value: '甲乙'", "Variable '$n' has invalid value: …", "Expected
# value of type 'ID!', found 5101…", "Unexpected character: U+7532"). A value in a message is
# personal data in a log line or a client's error panel, so everything from the value on is cut.
_ECHOED_VALUE = (
    (re.compile(r"(cannot represent[^:]*):.*$", re.S), r"\1."),
    (re.compile(r"(invalid value)\b.*$", re.S), r"\1."),
    (re.compile(r",? but encountered error .*$", re.S), "."),
    (re.compile(r"[;,.]\s*[Ff]ound\b.*$", re.S), "."),
    (re.compile(r"(Unexpected (?:character|Name|String|BlockString|Int|Float))\b.*$", re.S), r"\1."),
    (re.compile(r"(Invalid character[^:]*):.*$", re.S), r"\1."),
    (re.compile(r"Unknown operation named\b.*$", re.S), "Unknown operation name."),
)
# The kind of an anonymous operation counts too: `mutation($id: Int!) {…}` is a change.
_OPERATION = re.compile(r"^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?")


def _error(message: str, code: str, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


class RateLimiter:
    """A sliding one-minute window per client; in process, which is what one server needs."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        hits = self._hits[client]
        while hits and now - hits[0] > 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        return True


class GraphQLEndpoint:
    def __init__(
        self, settings: Settings, schema: Any, audit: AuditLog | None, policy: Policy | None
    ) -> None:
        self.settings = settings
        self.schema = schema
        self.store: GraphStore | None = None  # opened by the app's lifespan
        self.sql: Engine | None = None
        self.audit = audit
        self.policy = policy
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.persisted = _load_persisted(settings.persisted_operations_file)

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return _error("use POST with a JSON body", "METHOD_NOT_ALLOWED", 405)
        principal = await authenticate(request) if self.policy is not None else None
        client = principal.client_id if principal else "anonymous"
        if not self.limiter.allow(client):
            return _error("rate limit exceeded; slow down", "RATE_LIMITED", 429)
        body = await _read_capped(request, self.settings.graphql_max_body_bytes)
        if body is None:
            return _error("request body too large", "REQUEST_TOO_LARGE", 413)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _error("body is not JSON", "BAD_REQUEST", 400)
        if isinstance(payload, list):
            return _error(
                "batched requests are not accepted; send one operation per request", "BATCH_REFUSED", 400
            )
        if not isinstance(payload, dict):
            return _error("body must be a JSON object", "BAD_REQUEST", 400)
        query, problem = self._document(payload)
        if problem is not None:
            return problem
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return _error("variables must be an object", "BAD_REQUEST", 400)
        operation_name = payload.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return _error("operationName must be a string", "BAD_REQUEST", 400)
        return await run_in_threadpool(self._execute, principal, query, variables, operation_name)

    def _document(self, payload: dict[str, Any]) -> tuple[str, JSONResponse | None]:
        query = payload.get("query")
        ext = payload.get("extensions") or {}
        digest = (ext.get("persistedQuery") or {}).get("sha256Hash") if isinstance(ext, dict) else None
        if self.persisted is not None:
            if not isinstance(digest, str) or digest.lower() not in self.persisted:
                return "", _error("only persisted operations are accepted", "PERSISTED_QUERY_NOT_FOUND", 400)
            return self.persisted[digest.lower()], None
        if not isinstance(query, str) or not query.strip():
            return "", _error("missing query", "BAD_REQUEST", 400)
        return query, None

    def _execute(
        self, principal: Principal | None, query: str, variables: dict[str, Any], operation_name: str | None
    ) -> Response:
        if self.store is None:
            raise RuntimeError("the GraphQL app was started without a graph store")
        guard = Guard(self.store, principal, self.policy)
        context = Context(
            guard=guard,
            principal=principal,
            store=self.store,
            audit=self.audit,
            sql=self.sql,
            settings=self.settings,
        )
        try:
            result = self.schema.execute_sync(
                query, variable_values=variables, context_value=context, operation_name=operation_name
            )
        except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError):
            # Strawberry raises these instead of answering: no operation of that name (its
            # exception carries the caller's operationName), several and none named, or a
            # subscription. Answered like any other refused request, echoing nothing.
            return _error(
                "the operation to run could not be determined: name one operation of the document "
                "with operationName",
                "BAD_REQUEST",
                400,
            )
        errors = [_format(e) for e in result.errors or []]
        body: dict[str, Any] = {}
        if result.data is not None or any(e.path for e in result.errors or []):
            body["data"] = result.data  # execution began: data is present, possibly null (spec 7.1.2)
        if errors:
            body["errors"] = errors
        status = 200
        if self.audit is not None and principal is not None:
            try:
                seq = self.audit.append(self._event(principal, query, operation_name, guard, errors, status))
            except (AuditUnavailable, ValueError) as exc:
                log.error("audit append failed; request refused: %s", type(exc).__name__)
                return _error("the audit log is unavailable; request refused", "AUDIT_UNAVAILABLE", 503)
            try:
                others = {
                    a for r in guard.trail.records if r.startswith("person:") for a in guard.case_owners(r)
                } - {principal.agency_id}
                if others:  # the common case, nobody to tell, costs no database round trip
                    self.audit.notify_case_owner(seq, guard.case_owners)
            except AuditUnavailable:
                log.error("case-owner notification not queued for audit entry %s", seq)
        return JSONResponse(body, status_code=status)

    def _event(
        self,
        principal: Principal,
        query: str,
        operation_name: str | None,
        guard: Guard,
        errors: list[dict[str, Any]],
        status: int,
    ) -> AuditEvent:
        trail = guard.trail
        m = _OPERATION.match(query)
        kind = m.group(1) if m else "query"
        name = operation_name or (m.group(2) if m and m.group(2) else "anonymous")
        if not re.fullmatch(r"[_A-Za-z][_0-9A-Za-z]{0,63}", name) or sum(c.isdigit() for c in name) >= 6:
            name = "anonymous"  # a caller-chosen name is never allowed to carry data into the log
        fields = {k: sorted(v) for k, v in trail.fields.items() if v}
        reasons = sorted(trail.reasons | {e.get("extensions", {}).get("reason") for e in errors} - {None})
        if errors and not trail.records:
            decision = (
                "deny"
                if any(e.get("extensions", {}).get("code") in ("FORBIDDEN", "NOT_FOUND") for e in errors)
                else "error"
            )
        elif fields.get("deny") or errors:
            decision = "partial"  # masked fields count as returned; only denials make it partial
        else:
            decision = "allow"
        return AuditEvent.for_principal(
            principal,
            request_id=uuid.uuid4().hex,
            operation=f"{kind} {name}",
            query_hash=_query_hash(query),
            records=sorted(
                r
                for r in trail.records
                if not r.startswith(("PARENT_OF", "GUARDIAN_OF", "MEMBER_OF", "ENROLLED_AT"))
            ),
            fields=fields,
            decision=decision,
            reasons=reasons,
            status=status,
            result_size=len({r for r in trail.records if r.startswith("person:")}),
        )


@lru_cache(maxsize=1024)
def _query_hash(query: str) -> str:
    """Agency systems send the same few documents over and over; hashing re-parses each one."""
    return hash_document(query)


def _format(error: GraphQLError) -> dict[str, Any]:
    """Only what a client needs: message, path, code; no stack, no suggestions, no values."""
    original = getattr(error, "original_error", None)
    ext = dict(error.extensions or {})
    message = _scrub(_SUGGESTION.sub("", error.message))
    if original is not None and not isinstance(original, GraphQLError):
        log.exception("resolver failed", exc_info=original)
        message, ext = "internal error", {"code": "INTERNAL"}
    out: dict[str, Any] = {"message": message, "extensions": ext or {"code": "GRAPHQL_VALIDATION_FAILED"}}
    if error.path:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return out


def _scrub(message: str) -> str:
    for pattern, repl in _ECHOED_VALUE:
        message = pattern.sub(repl, message, count=1)
    return message


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is longer than ``limit``: a declared Content-Length is
    believed only when it refuses, and the stream is cut as soon as it passes the limit, so
    that an oversized body is never held in memory whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _load_persisted(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    return {k.lower(): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
