"""The ASGI application: health, the identity endpoints and GraphQL.

Stores are opened once at start-up and closed at shutdown. `enforce=False` switches the field
policy, row scope and audit off; only the benchmark uses it, to measure what they cost.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.console import console_routes, graphiql_routes, root_redirect
from api.graphql_app import GraphQLEndpoint
from api.schema import build_schema
from auth.audit import AuditLog
from auth.policy import Policy
from auth.routes import AuthError, AuthService, auth_error_handler, service_routes
from graph.port import GraphStoreError
from kernel.db import make_engine
from kernel.logs import withhold_exception_text
from kernel.settings import Settings, get_settings


async def health(request: Request) -> JSONResponse:
    """Liveness plus whether each store answers; no counts or data, so it needs no token."""
    checks: dict[str, str] = {}
    graph = request.app.state.graph
    try:
        graph.get_node("division:000000000000")
        checks["graph"] = "ok"
    except GraphStoreError:
        checks["graph"] = "unavailable"
    try:
        with request.app.state.sql.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["sql"] = "ok"
    except Exception:  # any driver error means the same thing to a health probe
        checks["sql"] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "backend": graph.backend, **checks},
        status_code=200 if ok else 503,
    )


Background = Callable[[Starlette], AbstractAsyncContextManager[None]]
"""What runs beside the API while it serves, entered once the stores are open (``app.state.graph``,
``app.state.sql``) and left before they close: the service's workers (shouhu.service)."""


def _settle_heap() -> None:
    """Move everything alive once the app has started (the pinyin tables, the schema, the policy:
    ~390,000 objects) out of the cyclic collector's reach (`gc.freeze`). Each full collection
    walked them all, 0.24 s on a quiet machine and 0.35-0.7 s under load, inside whichever request
    happened to trigger it: that was the people page's p99 (its p50 ~40 ms). Requests' own objects
    are collected as before; the frozen ones are handed back (`gc.unfreeze`) when the app stops."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    enforce: bool = True,
    background: Background | None = None,
    policy: Policy | None = None,
) -> Starlette:
    """The app. Without ``background`` it starts protection's worker itself (tests, benchmarks); the
    service passes its own, which runs that worker among the others.

    The policy (``settings.policy_file``, or ``policy`` when the caller has loaded it already) is read
    once here and the same object is handed to the API, the identity endpoints and the console: a
    file edited while the app starts cannot leave them deciding by different versions."""
    settings = settings or get_settings()
    withhold_exception_text(settings)  # the log keeps no exception's text (kernel/logs.py)
    engine = make_engine(settings.sql_url)
    policy = policy or Policy.load(settings.policy_file)
    audit = AuditLog(engine) if enforce else None
    schema = build_schema(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_cost=settings.graphql_max_cost,
        max_directives=settings.graphql_max_directives,
        # One policy for the schema, whichever way it is asked for (introspection or the
        # Federation `_service { sdl }`): the endpoint serves it to schema readers only
        # (api.limits.schema_reader), so the static rule that would refuse it to all is off.
        introspection=True,
    )
    graphql = GraphQLEndpoint(settings, schema, audit, policy if enforce else None)
    graphql.sql = engine
    # Bound to this app, so two apps in one process stay apart.
    auth = AuthService(settings, engine, policy=policy)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from protection.record import open_healed

        # The same self-healing open as every CLI command: probed in a child process first, a graph
        # that cannot be opened or lost committed writes is set aside and rebuilt from the record.
        app.state.graph = open_healed(settings, engine)
        app.state.sql = engine
        graphql.store = app.state.graph
        if background is not None:
            try:
                async with background(app):
                    _settle_heap()
                    yield
            finally:
                gc.unfreeze()
                app.state.graph.close()
                engine.dispose()
            return
        from protection.worker import start_worker  # webhook deliveries and pending graph projections

        worker = start_worker(engine, settings, app.state.graph, policy)
        _settle_heap()
        try:
            yield
        finally:
            gc.unfreeze()
            if worker is not None:
                worker.stop()
            app.state.graph.close()
            engine.dispose()

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            *service_routes(auth),
            *console_routes(policy, settings=settings),
            Route("/", root_redirect, methods=["GET", "HEAD"]),
            *graphiql_routes(settings),
        ],
        lifespan=lifespan,
        exception_handlers={AuthError: auth_error_handler},
    )
    app.state.auth = auth
    app.state.graphql = graphql  # its limits (time budget) are the app's, visible to operators and tests
    # The outbox decides each event's fields by this policy too (the service's workers take it from here).
    app.state.policy = policy
    return app
