"""The education bureau's own subgraph, as an agency would run it beside Shouhu.

It is a separate Strawberry Federation v2 service with its own data: it contributes fields to
Shouhu's `Person` and `School` entities by key, and knows nothing of Shouhu's scope rules. That is
the point of the federation test: a router stitches the two together, and whether a person is
returned at all must still be decided by the Shouhu subgraph behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.types import Info

# The bureau's records, keyed by the same ids the Shouhu graph uses (the entity keys).
ATTENDANCE: dict[str, tuple[float, int]] = {
    "person:child": (0.82, 3),
}
SCHOOLS: dict[str, str] = {
    "school:S1": "B",
}


@strawberry.federation.type(keys=["id"], description="A person, as the education bureau knows them.")
class Person:
    id: strawberry.ID

    @strawberry.field(description="Share of school days attended this term (0..1).")
    def attendance_rate(self) -> float | None:
        found = ATTENDANCE.get(str(self.id))
        return found[0] if found else None

    @strawberry.field(description="How many counselling notes the school psychologist keeps.")
    def counselling_notes_count(self) -> int | None:
        found = ATTENDANCE.get(str(self.id))
        return found[1] if found else None

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Person:
        return cls(id=id)


@strawberry.federation.type(keys=["id"], description="A school, as the education bureau knows it.")
class School:
    id: strawberry.ID

    @strawberry.field(description="The bureau's latest inspection grade.")
    def inspection_grade(self) -> str | None:
        return SCHOOLS.get(str(self.id))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> School:
        return cls(id=id)


@strawberry.type
class Query:
    @strawberry.field(description="The bureau's service name, so the subgraph has a root field of its own.")
    def education_bureau(self, info: Info) -> str:
        return "500101 education bureau"


def build_schema() -> strawberry.federation.Schema:
    """Federation 2.7, like Shouhu's, so the two compose under one supergraph version."""
    return strawberry.federation.Schema(query=Query, types=[Person, School], federation_version="2.7")


@dataclass
class Seen:
    """What reached the subgraph, as (Authorization header, query) pairs.

    The test asserts from it that the router passed the caller's own token on with the entity
    fetches it made at query time, not only that composition sent one while fetching the SDL.
    """

    requests: list[tuple[str | None, str]] = field(default_factory=list)

    def entity_fetches_by(self, authorization: str) -> int:
        return sum(1 for auth, query in self.requests if auth == authorization and "_entities" in query)


def create_app(seen: Seen | None = None) -> Starlette:
    """A plain ASGI app with POST /graphql, served by uvicorn in the test like a real service.

    It executes synchronously in-process (no GraphiQL, no subscriptions): all a router needs is
    `_service { sdl }` for composition and `_entities` for the fields it contributes.
    """
    schema = build_schema()
    seen = seen if seen is not None else Seen()

    async def graphql(request: Request) -> Response:
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"errors": [{"message": "body is not JSON"}]}, status_code=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return JSONResponse({"errors": [{"message": "missing query"}]}, status_code=400)
        seen.requests.append((request.headers.get("authorization"), payload["query"]))
        result = await schema.execute(
            payload["query"],
            variable_values=payload.get("variables") or {},
            operation_name=payload.get("operationName"),
        )
        body: dict[str, object] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(body)

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
    app.state.seen = seen
    return app
