"""The one mapping from a refusal or a failure to the GraphQL error a caller sees.

Every area's resolvers raise through here, so one kind of failure has one code everywhere: a
graph engine failure is UNAVAILABLE (never BAD_REQUEST, never with the engine's text), an absent
or out-of-scope record is one NOT_FOUND answer (ids cannot be probed), a domain refusal keeps its
own code and reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from graphql import GraphQLError

from graph.port import GraphStoreError, GraphWriterBusy
from kernel.messages import say

NOT_VISIBLE = "not_found_or_out_of_scope"
T = TypeVar("T")


def refused(message: str, code: str, reason: str | None = None, **extra: Any) -> GraphQLError:
    """A GraphQL error with its code (and reason, when there is one) in the extensions."""
    return GraphQLError(message, extensions={"code": code, **({"reason": reason} if reason else {}), **extra})


def not_found(what: str = "record") -> GraphQLError:
    """The same answer for absent and out of scope: one message per kind of record (``what``, a
    key of the catalogue's ``api.what.*``, named in the caller's language), never an id."""
    return refused(say("api.not_found", what=say(f"api.what.{what}")), "NOT_FOUND", NOT_VISIBLE)


def forbidden(reason: str = "capability_missing") -> GraphQLError:
    return refused(say("api.forbidden"), "FORBIDDEN", reason)


def bad_request(message: str, reason: str = "invalid_input") -> GraphQLError:
    return refused(message, "BAD_REQUEST", reason)


def sql_unavailable() -> GraphQLError:
    """The relational store is not configured (an app built without one): workflows cannot run."""
    return refused(say("api.sql_unavailable"), "UNAVAILABLE")


def sql_not_available() -> GraphQLError:
    """No relational store in this request's context (reason ``no_sql``)."""
    return refused(say("api.sql_not_available"), "UNAVAILABLE", "no_sql")


def store_unavailable(*, cause: BaseException | None = None) -> GraphQLError:
    """The engine's own text is not shown: it can name records and internals. Every failure of the
    store is answered alike (one code, reason and message whatever the path, or an id's existence
    would show in which path answered), except a change refused because another write held the
    writer past its wait (GraphWriterBusy): that says so in the catalogue's words, which name no
    record, so the caseworker knows to send it again. It is raised only at a write, which a request
    reaches for an existing record as it would with the writer free."""
    if isinstance(cause, GraphWriterBusy):
        return refused(str(cause), "UNAVAILABLE", "graph_busy")
    return refused(say("api.store_unavailable"), "UNAVAILABLE", "graph_error")


def from_exception(exc: Exception, default_code: str = "BAD_REQUEST") -> GraphQLError:
    """A domain refusal as a GraphQL error. Domain errors carry ``code``/``reason``/``extra``
    (protection's WorkflowError, reporting's ReportError…) and a message that is safe to show;
    one without a code is ``default_code``; a graph engine failure is always UNAVAILABLE."""
    if isinstance(exc, GraphStoreError):
        return store_unavailable(cause=exc)
    code = getattr(exc, "code", None) or default_code
    reason = getattr(exc, "reason", None) or code.lower()
    extra = getattr(exc, "extra", None) or {}
    return refused(str(exc), code, reason, **extra)


@contextmanager
def domain_errors(*kinds: type[Exception], default_code: str = "BAD_REQUEST") -> Iterator[None]:
    """Run a domain call; its refusals (``kinds``) and graph engine failures become GraphQL errors."""
    try:
        yield
    except GraphStoreError as exc:
        raise store_unavailable(cause=exc) from None
    except kinds as exc:
        raise from_exception(exc, default_code) from None


def call(fn: Callable[[], T], *kinds: type[Exception], default_code: str = "BAD_REQUEST") -> T:
    """`domain_errors` for a single expression."""
    with domain_errors(*kinds, default_code=default_code):
        return fn()
