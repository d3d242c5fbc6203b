"""The web console at /console: the built single-page app, served by the same app as the API.

The console is a client of /graphql like any agency system, so this module only serves files:
the build from console/ (`npm ci && npm run build` there, or `make console`), every path under
/console falling back to index.html for the app's own routing, and /console/config.json with the
policy's purposes of use for the sign-in page. Every response carries a Content-Security-Policy
that allows this origin only: no CDN, no web font, no inline script or style.
"""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
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
from strawberry.types import Info

from api.context import Context
from auth.enforce import cursors
from auth.enforce.records import PageInfo, Person, PersonConnection, PersonEdge
from auth.identities import get_agency
from auth.policy import Policy, PolicyError
from graph.model import division_prefix, node_id
from graph.profile import Profile
from graph.records import Subgraph
from kernel import clock
from kernel.settings import Settings

ADULT_AGE = 18
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

    def __init__(self, settings: Settings, dist: Path = DIST) -> None:
        self.dist = dist.resolve()
        policy = Policy.load(settings.policy_file)
        self.config = {
            "policy_version": policy.version,
            "purposes": [{"code": code, "zh": zh} for code, zh in policy.purpose_codes.items()],
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


def console_routes(settings: Settings, dist: Path = DIST) -> list[Route]:
    console = Console(settings, dist)
    return [
        Route(PREFIX, console.redirect, methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/config.json", console.config_json, methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/{{path:path}}", console.page, methods=["GET", "HEAD"], name="console"),
    ]


# ---- what the console asks about the caller ----------------------------------------------------
# The console shows names, not ids (宁川县民政局, not ca-500248), and offers only the pages the
# caller's capabilities allow. Agency names are the member units' public names, not personal data.


@strawberry.type(description="A member agency's public name.")
class AgencyName:
    id: str
    name: str | None
    agency_type: str | None


@strawberry.type(description="The signed-in caller: agency, role, jurisdiction and capabilities.")
class Me:
    agency_id: str
    agency_name: str | None
    agency_type: str
    role: str
    jurisdiction: str
    jurisdiction_name: str | None
    capabilities: list[str]


def _capability_names(policy: Policy) -> list[str]:
    """Every capability the policy file names (the policy keeps them in one table)."""
    return sorted(policy._capabilities)  # read-only: Policy has no public list


def _agency_names(info: Info[Context, None], ids: list[str]) -> dict[str, tuple[str, str]]:
    ctx = info.context
    if ctx.sql is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for agency_id in dict.fromkeys(ids):
        agency = get_agency(ctx.sql, agency_id)
        if agency is not None:
            out[agency_id] = (agency.name, agency.agency_type)
    return out


@strawberry.type
class ConsoleQuery:
    @strawberry.field(description="Who is signed in, with the agency's name and the caller's capabilities.")
    def me(self, info: Info[Context, None]) -> Me:
        ctx = info.context
        p = ctx.principal
        if p is None:
            raise GraphQLError("not signed in", extensions={"code": "FORBIDDEN", "reason": "no_principal"})
        policy = ctx.guard.policy
        caps: list[str] = []
        if policy is not None:
            for cap in _capability_names(policy):
                try:
                    if policy.can(p, cap):
                        caps.append(cap)
                except PolicyError:
                    continue
        name = _agency_names(info, [p.agency_id]).get(p.agency_id)
        division = None
        if p.jurisdiction.isdigit():
            key = node_id("Division", p.jurisdiction)
            node = ctx.store.get_nodes([key]).get(key)
            division = node.props.get("name") if node is not None else None
        return Me(
            agency_id=p.agency_id,
            agency_name=name[0] if name else None,
            agency_type=p.agency_type,
            role=p.role,
            jurisdiction=p.jurisdiction,
            jurisdiction_name=division,
            capabilities=caps,
        )

    @strawberry.field(
        description="The children (under 18 on today's Beijing date) of a division in your scope, in id "
        "order, for the village page: one store query a page, not one per person."
    )
    def village_children(
        self, info: Info[Context, None], division: str, first: int = 500, after: str | None = None
    ) -> PersonConnection:
        guard = info.context.guard
        if len(division) != 12 or not division.isdigit():
            raise GraphQLError("a division is a 12-digit code", extensions={"code": "BAD_REQUEST"})
        if not guard.divisions_visible({division}):
            raise GraphQLError("not permitted", extensions={"code": "FORBIDDEN", "reason": "out_of_scope"})
        first = max(1, min(first, 1000))
        today = clock.today()
        try:
            born_after = today.replace(year=today.year - ADULT_AGE).isoformat()
        except ValueError:  # 29 February
            born_after = today.replace(year=today.year - ADULT_AGE, day=28).isoformat()
        store = info.context.store
        listing = f"villageChildren|{division}"
        position = cursors.unseal(info.context, listing, after)
        rows = store.child_guardians(division_prefix(division), born_after, position, limit=first)
        nodes = store.get_nodes([cid for cid, _links in rows])
        edges = []
        for cid, _links in rows:
            node = nodes.get(cid)
            # Row scope by the child's own division (each one checked, as in any list).
            if node is None or not guard.divisions_visible({str(node.props.get("division") or "")}):
                continue
            profile = Profile(node.id, Subgraph({node.id: node}, {}))
            cursor = cursors.seal(info.context, listing, cid) or ""
            edges.append(PersonEdge(cursor=cursor, node=Person(_node=node, _profile=profile)))
        # The store's position (the last child scanned, in scope or not), sealed for this caller.
        end = cursors.seal(info.context, listing, rows[-1][0]) if rows and len(rows) == first else None
        return PersonConnection(
            edges=edges, page_info=PageInfo(has_next_page=end is not None, end_cursor=end)
        )

    @strawberry.field(description="Member agencies' public names by id (unknown ids are left out).")
    def agency_names(self, info: Info[Context, None], ids: list[str]) -> list[AgencyName]:
        found = _agency_names(info, ids[:200])
        return [AgencyName(id=i, name=n, agency_type=t) for i, (n, t) in found.items()]
