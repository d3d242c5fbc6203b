"""The ASGI application. Stores are opened once at start-up and closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from graph.factory import open_graph
from graph.port import GraphStoreError
from shouhu.settings import Settings, get_settings


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
        from sqlalchemy import text

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


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from shouhu.db import make_engine

        app.state.graph = open_graph(settings)
        app.state.sql = make_engine(settings.sql_url)
        try:
            yield
        finally:
            app.state.graph.close()
            app.state.sql.dispose()

    return Starlette(routes=[Route("/health", health)], lifespan=lifespan)
