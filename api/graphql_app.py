"""POST /graphql: authenticate, bound, execute under the guard, audit, answer.

No response leaves without its audit entry: if the audit log cannot be written, the request
fails closed with a clear error and no data.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from contextlib import nullcontext
from functools import lru_cache
from typing import Any

from graphql import get_operation_ast
from graphql.language import OperationDefinitionNode
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from api.cancellation import Cancellable, ClientDisconnected, RequestCancelled, TimeBudgetExceeded
from api.context import Context
from api.errors import carries_number, error_response, format_error
from api.limits import (
    MAX_JSON_DEPTH,
    SCHEMA_SCOPE,
    NestingTooDeep,
    ResponseTooLarge,
    asks_for_schema,
    check_document,
    parse_document,
    parse_json,
    schema_reader,
)
from api.rate_limit import RateLimiter
from api.request_body import load_persisted, read_capped
from auth.audit import AuditEvent, AuditLog, AuditUnavailable
from auth.audit.known import recorded_query_hash
from auth.audit.record_ids import DocumentFacts, loggable_record_ids, named_record_ids, returned_record_ids
from auth.enforce.guard import Guard
from auth.policy import Policy
from auth.principal import Principal
from auth.routes import AuthError, authenticate
from graph.port import GraphStore, writes_wait_at_most
from kernel.messages import say
from kernel.settings import Settings

log = logging.getLogger("shouhu.api")
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
DEFAULT_TIME_BUDGET = 60.0
# Error codes that are a refusal: an entry whose request served nothing and met one is a "deny"
# (a report acted on by an agency that reads it but is not its receiving agency is refused too).
REFUSALS = frozenset({"FORBIDDEN", "NOT_FOUND", "NOT_RECEIVING_AGENCY"})
"""Seconds a query may run before it is stopped server-side (`graphql_time_budget_seconds`)."""


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
        self.persisted = load_persisted(settings.persisted_operations_file)
        self.time_budget = float(getattr(settings, "graphql_time_budget_seconds", DEFAULT_TIME_BUDGET))

    async def handle(self, request: Request) -> Response:
        """Every way out of here is audited: refused tokens, refused bodies and documents, executed
        operations, cancelled ones. Only an audit log that cannot be written lets a request end
        unrecorded, and then it ends with no data (503)."""
        request_id = uuid.uuid4().hex
        principal: Principal | None = None
        if self.policy is not None:
            try:
                principal = await authenticate(request)
            except AuthError as exc:
                await run_in_threadpool(self._audit_unauthenticated, request, exc, request_id)
                raise
        refused = await self._check_request(request, principal)
        if isinstance(refused, JSONResponse):
            return await self._refuse(principal, request_id, refused)
        query, variables, operation_name = refused
        facts = document_facts(query, operation_name)
        if facts.document is not None and facts.operation is None and _has_operation(facts.document):
            # GraphQL's GetOperation (spec 6.1): several operations and no operationName, or a name
            # none of them has, is a request error. Strawberry ran the first operation instead, on
            # the record as `query anonymous` rather than as the operation that was served.
            refusal = error_response(say("api.operation_undetermined"), "BAD_REQUEST", 400)
            return await self._refuse(principal, request_id, refusal, facts.kind, facts.name, query)
        if asks_for_schema(facts.document) and not schema_reader(principal, self.settings.dev_mode):
            refusal = JSONResponse(
                {
                    "errors": [
                        {
                            "message": say("api.schema_reader", scope=SCHEMA_SCOPE),
                            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED", "reason": "schema_reader"},
                        }
                    ]
                }
            )
            return await self._refuse(principal, request_id, refusal, facts.kind, facts.name, query)
        problem = check_document(self.schema, facts, variables, self.settings)
        if problem is not None:
            message, code = problem
            return await self._refuse(
                principal, request_id, error_response(message, code, 400), facts.kind, facts.name, query
            )
        job = Cancellable()
        work = asyncio.ensure_future(
            run_in_threadpool(job.run, self._execute, principal, query, variables, facts, request_id, job)
        )
        # Mutations run to their end: their atomicity (change + audit entry in one transaction)
        # matters more than their time, and a half-run change is what cancellation would leave.
        deadline = None if facts.kind == "mutation" else time.monotonic() + self.time_budget
        while True:
            timeout = 0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
            done, _ = await asyncio.wait({work}, timeout=timeout)
            if done:
                return work.result()
            if deadline is not None and time.monotonic() >= deadline:
                job.cancel(TimeBudgetExceeded)
            elif deadline is not None and await request.is_disconnected():
                job.cancel(ClientDisconnected)

    async def _check_request(
        self, request: Request, principal: Principal | None
    ) -> JSONResponse | tuple[str, dict[str, Any], str | None]:
        """The body as (query, variables, operationName), or the refusal to answer with."""
        if request.method != "POST":
            return error_response(say("api.post_json"), "METHOD_NOT_ALLOWED", 405)
        client = principal.client_id if principal else "anonymous"
        if not self.limiter.allow(client):
            return error_response(say("api.rate_limited"), "RATE_LIMITED", 429)
        body = await read_capped(request, self.settings.graphql_max_body_bytes)
        if body is None:
            return error_response(say("api.body_too_large"), "REQUEST_TOO_LARGE", 413)
        try:
            payload = parse_json(body)
        except (ValueError, UnicodeDecodeError):
            return error_response(say("api.body_not_json"), "BAD_REQUEST", 400)
        except NestingTooDeep:
            return error_response(say("api.json_too_deep", limit=MAX_JSON_DEPTH), "BAD_REQUEST", 400)
        if isinstance(payload, list):
            return error_response(say("api.batch_refused"), "BATCH_REFUSED", 400)
        if not isinstance(payload, dict):
            return error_response(say("api.body_not_object"), "BAD_REQUEST", 400)
        query, problem = self._document(payload)
        if problem is not None:
            return problem
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return error_response(say("api.variables_not_object"), "BAD_REQUEST", 400)
        operation_name = payload.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return error_response(say("api.operation_name_not_string"), "BAD_REQUEST", 400)
        return query, variables, operation_name

    def _document(self, payload: dict[str, Any]) -> tuple[str, JSONResponse | None]:
        query = payload.get("query")
        ext = payload.get("extensions") or {}
        digest = (ext.get("persistedQuery") or {}).get("sha256Hash") if isinstance(ext, dict) else None
        if self.persisted is not None:
            if not isinstance(digest, str) or digest.lower() not in self.persisted:
                return "", error_response(say("api.persisted_only"), "PERSISTED_QUERY_NOT_FOUND", 400)
            return self.persisted[digest.lower()], None
        if not isinstance(query, str) or not query.strip():
            return "", error_response(say("api.missing_query"), "BAD_REQUEST", 400)
        return query, None

    # ---- auditing refusals -------------------------------------------------------------------
    async def _refuse(
        self,
        principal: Principal | None,
        request_id: str,
        response: JSONResponse,
        kind: str = "query",
        name: str = "anonymous",
        query: str | None = None,
    ) -> Response:
        """A request refused before execution, on the record like any other."""
        if self.audit is None or principal is None:
            return response
        code = json.loads(bytes(response.body))["errors"][0]["extensions"]["code"]
        event = AuditEvent.for_principal(
            principal,
            request_id=request_id,
            operation=f"{kind} {name}" if query is not None else "graphql.refused",
            query_hash=_query_hash(query) if query is not None else None,
            decision="deny",
            reasons=[code.lower()],
            status=response.status_code,
        )
        try:
            await run_in_threadpool(self.audit.append, event)
        except (AuditUnavailable, ValueError) as exc:
            log.error("audit append failed; request refused: %s", type(exc).__name__)
            return error_response(say("api.audit_unavailable"), "AUDIT_UNAVAILABLE", 503)
        return response

    def _audit_unauthenticated(self, request: Request, exc: AuthError, request_id: str) -> None:
        """A refused bearer token: the reason code and the sha256 of what was presented (never the
        token itself, which may be a real one replayed or mistyped). The 401 stands whether or not
        this entry could be written: an unauthenticated caller gets nothing either way."""
        if self.audit is None:
            return
        presented = request.headers.get("authorization", "").strip()
        token = presented.partition(" ")[2].strip() if " " in presented else presented
        event = AuditEvent(
            request_id=request_id,
            user=f"token-sha256:{hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()}"
            if token
            else None,
            operation="auth.bearer_refused",
            decision="deny",
            reasons=(_reason_code(exc.reason),),
            status=exc.status_code,
        )
        try:
            self.audit.append(event)
        except (AuditUnavailable, ValueError) as error:
            log.error("audit append failed for a refused token: %s", type(error).__name__)

    # ---- execution ---------------------------------------------------------------------------
    def _execute(
        self,
        principal: Principal | None,
        query: str,
        variables: dict[str, Any],
        facts: DocumentFacts,
        request_id: str,
        job: Cancellable,
    ) -> Response:
        if self.store is None:
            raise RuntimeError("the GraphQL app was started without a graph store")
        guard = Guard(self.store, principal, self.policy)
        guard.trail.asked.update(named_record_ids(self.schema, facts, variables))
        context = Context(
            guard=guard,
            principal=principal,
            store=self.store,
            audit=self.audit,
            sql=self.sql,
            settings=self.settings,
            max_response_nodes=self.settings.graphql_max_response_nodes,
        )
        try:
            writes = (
                self.audit.writes_recorded(
                    lambda: self._write_event(principal, query, facts, guard, request_id)
                )
                if self.audit is not None and principal is not None
                else nullcontext()
            )
            cancelled: str | None = None

            def stopped(
                message: str, code: str, status: int, audited: dict[str, Any] | None = None
            ) -> Response:
                """A request answered with an error and no data, audited (as `audited`, by default its
                code) like any other: no entry, no answer."""
                errors = [{"extensions": audited if audited is not None else {"code": code}}]
                return self._finish(
                    principal,
                    query,
                    facts,
                    guard,
                    request_id,
                    error_response(message, code, status),
                    errors,
                    set(),
                )

            try:
                try:
                    # A mutation waits a bounded time for the graph's writer (a sync's batch, a first
                    # load's build), then fails clearly; a read never waits for it.
                    wait = self.settings.graphql_write_wait_seconds if facts.kind == "mutation" else None
                    with writes, writes_wait_at_most(wait):
                        result = self.schema.execute_sync(
                            query,
                            variable_values=variables,
                            context_value=context,
                            operation_name=facts.operation_name,
                        )
                finally:
                    job.disarm()
            except RequestCancelled as exc:
                cancelled = exc.reason
                result = None
            except (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError):
                # Strawberry raises these instead of answering: no operation of that name (its
                # exception carries the caller's operationName), several and none named, or a
                # subscription. Answered like any other refused request, echoing nothing.
                return stopped(say("api.operation_undetermined"), "BAD_REQUEST", 400)
            except ResponseTooLarge as exc:
                # Stopped where it was; what had been built is dropped with the result. Answered like a
                # refused document (200, errors, no data), on the record like any other request.
                return stopped(
                    say("api.response_too_large", limit=f"{exc.limit:,}"), "RESPONSE_TOO_LARGE", 200
                )
            except RecursionError:
                return stopped(say("api.request_too_deep"), "BAD_REQUEST", 400)
            if cancelled is None and job.fired_reason is not None:
                cancelled, result = job.fired_reason, None
            if result is None:
                message = (
                    say("api.time_budget", seconds=f"{self.time_budget:g}")
                    if cancelled == "time_budget"
                    else say("api.client_gone")
                )
                status = 504 if cancelled == "time_budget" else 499
                return stopped(
                    message,
                    "TIME_BUDGET_EXCEEDED" if status == 504 else "CLIENT_GONE",
                    status,
                    {"code": "TIME_BUDGET_EXCEEDED", "reason": cancelled},
                )
            errors = [format_error(e, self.schema) for e in result.errors or []]
            body: dict[str, Any] = {}
            if result.data is not None or any(e.path for e in result.errors or []):
                body["data"] = result.data  # execution began: data is present, possibly null (spec 7.1.2)
            if errors:
                body["errors"] = errors
            returned = returned_record_ids(self.schema, facts, result.data)
            return self._finish(
                principal,
                query,
                facts,
                guard,
                request_id,
                JSONResponse(body, status_code=200),
                errors,
                returned,
            )
        finally:
            # The request's profiles sit in a reference cycle through the guard: left to the cyclic
            # collector, a page's ~40,000 objects were freed in a full collection every few
            # requests, 50-300 ms inside whichever request triggered it (the page p99).
            guard.release()

    def _finish(
        self,
        principal: Principal | None,
        query: str,
        facts: DocumentFacts,
        guard: Guard,
        request_id: str,
        response: JSONResponse,
        errors: list[dict[str, Any]],
        returned: set[str],
    ) -> Response:
        """The request's audit entry, then the response; no entry, no response (503)."""
        if self.audit is None or principal is None:
            return response
        try:
            event = self._event(
                principal, query, facts, guard, errors, response.status_code, request_id, returned
            )
            seq = self.audit.append(event)
        except (AuditUnavailable, ValueError) as exc:
            log.error("audit append failed; request refused: %s", type(exc).__name__)
            return error_response(say("api.audit_unavailable"), "AUDIT_UNAVAILABLE", 503)
        try:
            others = {a for r in event.records if r.startswith("person:") for a in guard.case_owners(r)} - {
                principal.agency_id
            }
            if others:  # the common case, nobody to tell, costs no database round trip
                self.audit.notify_case_owner(seq, guard.case_owners)
        except AuditUnavailable:
            log.error("case-owner notification not queued for audit entry %s", seq)
        return response

    def _write_event(
        self, principal: Principal | None, query: str, facts: DocumentFacts, guard: Guard, request_id: str
    ) -> AuditEvent:
        """The entry written inside a change's own transaction (see `AuditLog.writes_recorded`):
        who, which operation, and what the request had touched when the change committed."""
        if principal is None:
            # Changes are only made for an authenticated caller; refuse rather than write an
            # entry that names nobody (the change's transaction then rolls back).
            raise AuditUnavailable(say("audit.unavailable.no_principal"))
        return AuditEvent.for_principal(
            principal,
            request_id=request_id,
            operation=f"{facts.kind} {facts.name}",
            query_hash=_query_hash(query),
            records=loggable_record_ids(guard.trail.records),
            fields={"write": sorted(guard.trail.fields.get("write", ()))},
            decision="allow",
            reasons=["write"],
            status=200,
        )

    def _event(
        self,
        principal: Principal,
        query: str,
        facts: DocumentFacts,
        guard: Guard,
        errors: list[dict[str, Any]],
        status: int,
        request_id: str,
        returned: set[str],
    ) -> AuditEvent:
        trail = guard.trail
        served = loggable_record_ids(trail.records | returned)
        # The ids the request named are on the entry too, found or not, in scope or not; what
        # was served decides the entry's decision and size.
        touched = sorted({*served, *loggable_record_ids(trail.asked)})
        fields = {k: sorted(v) for k, v in trail.fields.items() if v}
        reasons = sorted(
            {_reason_code(r) for r in trail.reasons}
            | {_reason_code(e.get("extensions", {}).get("reason") or "") for e in errors} - {""}
        )
        if errors and not served:
            decision = (
                "deny" if any(e.get("extensions", {}).get("code") in REFUSALS for e in errors) else "error"
            )
        elif fields.get("deny") or errors:
            decision = "partial"  # masked fields count as returned; only denials make it partial
        else:
            decision = "allow"
        return AuditEvent.for_principal(
            principal,
            request_id=request_id,
            operation=f"{facts.kind} {facts.name}",
            query_hash=_query_hash(query),
            records=touched,
            fields=fields,
            decision=decision,
            reasons=reasons,
            status=status,
            result_size=sum(1 for r in served if r.startswith("person:")),
        )


def _reason_code(reason: str) -> str:
    """A reason as a log code (ASCII, no spaces), whatever raised it."""
    code = re.sub(r"[^A-Za-z0-9_.:\-]", "_", reason or "")[:100]
    return code if code[:1].isalpha() else (f"r_{code}"[:100] if code else "")


@lru_cache(maxsize=1024)
def _query_hash(query: str) -> str:
    """Agency systems send the same few documents over and over; hashing re-parses each one. A
    document that is the console's but for a literal is not recorded under the console's hash
    (auth.audit.known.recorded_query_hash)."""
    return recorded_query_hash(query)


# ---- what the document is ------------------------------------------------------------------------


def _has_operation(document: Any) -> bool:
    return any(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def document_facts(query: str, operation_name: str | None) -> DocumentFacts:
    document, parse_error = parse_document(query)
    if document is None:
        return DocumentFacts(None, None, operation_name, "query", "anonymous", parse_error)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = get_operation_ast(document, operation_name)
    if operation is not None:
        kind = operation.operation.value
        name = operation.name.value if operation.name else "anonymous"
    else:
        kinds = {op.operation.value for op in operations}
        kind = next((k for k in ("mutation", "subscription", "query") if k in kinds), "query")
        name = "anonymous"
    if not _OPERATION_NAME.fullmatch(name) or carries_number(name):
        name = "anonymous"  # a caller-chosen name is never allowed to carry data into the log
    return DocumentFacts(document, operation, operation_name, kind, name)
