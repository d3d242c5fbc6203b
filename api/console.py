"""The web console at /console: the built single-page app, served by the same app as the API.

The console is a client of /graphql like any agency system, so this module only serves files:
the build from console/ (`npm ci && npm run build` there, or `make console`), every path under
/console falling back to index.html for the app's own routing, and /console/config.json with the
policy's purposes of use for the sign-in page. Every response carries a Content-Security-Policy
that allows this origin only: no CDN, no web font, no inline script or style.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from auth.policy import Policy
from kernel.settings import Settings

DIST = Path(__file__).resolve().parent.parent / "console" / "dist"
PREFIX = "/console"

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# index.html names the hashed bundles of one build: never cached, so a new build is picked up.
NO_STORE = {"Cache-Control": "no-store"}
# Bundles are named by their content hash: they never change under one name.
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}

NOT_BUILT = (
    "The web console has not been built. Run `make console` "
    "(or `npm ci --prefix console && npm run build --prefix console`) and reload."
)


class Console:
    """Serves one build directory; looked up per request so a rebuild needs no restart."""

    def __init__(self, policy: Policy, dist: Path = DIST, settings: Settings | None = None) -> None:
        self.dist = dist.resolve()
        settings = settings or Settings()
        self.config = {
            "policy_version": policy.version,
            "purposes": [{"code": code, "zh": zh} for code, zh in policy.purpose_codes.items()],
            # How long the console waits for an answer before it says none came (api.ts).
            "request_timeout_seconds": settings.console_request_timeout_seconds,
            "long_request_timeout_seconds": settings.console_long_request_timeout_seconds,
        }

    def _file(self, path: str) -> Path | None:
        """The file at `path` inside the build, or None; never a file outside it."""
        if not path or "\x00" in path:
            return None
        target = (self.dist / path).resolve()
        if not target.is_relative_to(self.dist) or not target.is_file():
            return None
        return target

    async def page(self, request: Request) -> Response:
        index = self.dist / "index.html"
        if not index.is_file():
            return PlainTextResponse(NOT_BUILT, status_code=503, headers={**SECURITY_HEADERS, **NO_STORE})
        path = request.path_params.get("path", "")
        found = self._file(path)
        if found is not None and found != index:
            cache = IMMUTABLE if path.startswith("assets/") else NO_STORE
            return FileResponse(found, headers={**SECURITY_HEADERS, **cache})
        if path.startswith("assets/"):
            # A missing bundle is a stale page, not an app route: answering index.html would
            # hand the browser HTML as a script.
            return PlainTextResponse("not found", status_code=404, headers={**SECURITY_HEADERS, **NO_STORE})
        return FileResponse(index, media_type="text/html", headers={**SECURITY_HEADERS, **NO_STORE})

    async def config_json(self, request: Request) -> Response:
        return JSONResponse(self.config, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    async def redirect(self, request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", status_code=308)


async def root_redirect(request: Request) -> Response:
    """`GET /`: people who open the server's address land on the console."""
    return RedirectResponse(PREFIX + "/", status_code=307)


def graphiql_routes(settings: Settings) -> list[Route]:
    """GraphiQL for agency developers at /graphiql, in development mode only (SHOUHU_DEV_MODE and
    SHOUHU_GRAPHIQL both on): introspection is off otherwise, so the page would be of no use.
    The page is strawberry's, pointed at /graphql; requests carry the token and purpose of use
    the developer types into its headers pane, and pass the same policy and audit as any client."""
    if not (settings.dev_mode and settings.graphiql):
        return []
    import strawberry as _sb

    template = (Path(_sb.__file__).parent / "static" / "graphiql.html").read_text(encoding="utf-8")
    html = template.replace('window.location.href.split("?")[0]', '"/graphql"')

    async def page(request: Request) -> Response:
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})

    return [Route("/graphiql", page, methods=["GET"])]


def console_routes(policy: Policy, dist: Path = DIST, settings: Settings | None = None) -> list[Route]:
    """The console's pages and its config.json, which lists the purposes of ``policy``: the app's one
    policy object, so the sign-in page offers what the API decides by; and how long the console waits
    for an answer (``settings``: the app's)."""
    console = Console(policy, dist, settings)
    return [
        Route(PREFIX, console.redirect, methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/config.json", console.config_json, methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/{{path:path}}", console.page, methods=["GET", "HEAD"], name="console"),
    ]
