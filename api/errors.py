"""What a client is told when a request fails: a code, a message, no stack, no suggestions and no
values it sent (a value echoed in an error is personal data in a log line or an error panel).

Apart from the endpoint because the schema's own error hook (api/schema.py) scrubs with it too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError
from starlette.responses import JSONResponse

from auth.enforce.errors import store_unavailable
from graph.port import GraphWriterBusy
from kernel.messages import say

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


_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_TYPE = r"[\[\]!_0-9A-Za-z]+"
_FIELD = r"@?[_A-Za-z][_.0-9A-Za-z]*"
# graphql-core's own words for a document or variables it refuses, and the catalogue's for each.
# Only names the client wrote or the schema holds (fields, arguments, types, variables: GraphQL
# names by these patterns) are carried over, never a value. Anything else the engine says is the
# catalogue's general "the query is not valid near line L, column C": a new graphql-core wording
# degrades to that, never to English.
_ENGINE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^Syntax Error:", "api.syntax_error"),
        (rf"^Cannot query field '(?P<field>{_NAME})' on type '(?P<type>{_NAME})'", "api.unknown_field"),
        (
            rf"^Unknown argument '(?P<argument>{_NAME})' on (?:field|directive) '(?P<field>{_FIELD})'",
            "api.unknown_argument",
        ),
        (
            rf"^Argument '(?P<field>{_FIELD})\((?P<argument>{_NAME}):\)' of type '{_TYPE}' is required",
            "api.argument_required",
        ),
        (rf"^Field '(?P<field>{_NAME})' of type '{_TYPE}' must have a selection", "api.needs_subfields"),
        (rf"^Field '(?P<field>{_NAME})' must not have a selection", "api.no_subfields"),
        (rf"^Unknown type '(?P<type>{_NAME})'", "api.unknown_type"),
        (rf"^Unknown fragment '(?P<name>{_NAME})'", "api.unknown_fragment"),
        (rf"^Variable '\$(?P<name>{_NAME})' is never used", "api.variable_unused"),
        (rf"^Variable '\$(?P<name>{_NAME})' is not defined", "api.variable_undefined"),
        (rf"^Variable '\$(?P<name>{_NAME})' (?:got|has|of|is of)\b", "api.variable_invalid"),
        (rf"^Value '.*' does not exist in '(?P<type>{_NAME})' enum", "api.bad_enum"),
        (rf"^Enum '(?P<type>{_NAME})' cannot represent", "api.bad_enum"),
        (rf"^Value cannot represent an? (?P<type>{_NAME})", "api.bad_value"),
        (rf"^(?P<type>{_NAME}) cannot represent", "api.bad_value"),
        (rf"^Expected value of type '(?P<type>{_TYPE})'", "api.bad_value"),
    )
)


_NOT_IN_ENUM = re.compile(rf"does not exist in '(?P<type>{_NAME})' enum")


def error_response(message: str, code: str, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def format_error(error: GraphQLError, schema: Any = None) -> dict[str, Any]:
    """Only what a client needs: message, path, code; no stack, no suggestions, no values. An error
    of the engine's own (no code of ours) says it in the catalogue's words (`engine_message`)."""
    original = getattr(error, "original_error", None)
    ext = dict(error.extensions or {})
    message = scrub(_SUGGESTION.sub("", error.message))
    if not ext and (original is None or isinstance(original, GraphQLError)):
        message = engine_message(error, schema)
    elif isinstance(original, GraphWriterBusy):
        # Nothing was written and the change may be sent again shortly: said as the resolvers
        # that catch it say it (auth.enforce.errors), not "internal error".
        unavailable = store_unavailable(cause=original)
        message, ext = unavailable.message, dict(unavailable.extensions or {})
    elif original is not None and not isinstance(original, GraphQLError):
        log.exception("resolver failed", exc_info=original)
        message, ext = say("api.internal_error"), {"code": "INTERNAL"}
    out: dict[str, Any] = {"message": message, "extensions": ext or {"code": "GRAPHQL_VALIDATION_FAILED"}}
    if error.path:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return out


def engine_message(error: GraphQLError, schema: Any = None) -> str:
    """graphql-core's refusal of a document, a variable or a value, in the catalogue's words: the
    names it concerns and where (line, column), never the value. An enum's choices are named from
    ``schema`` (a strawberry schema) when it is given. A value the API itself could not serialise
    (an error with a path) is not the client's mistake: it is said as an internal error."""
    where = error.locations[0] if error.locations else None
    if error.path:
        return say("api.internal_error")
    for pattern, key in _ENGINE:
        found = pattern.search(error.message)
        if found is None:
            continue
        names = found.groupdict()
        if any(carries_number(n) for n in names.values() if n):
            break  # a name the caller wrote with a number in it is not said back (`carries_number`)
        enum = _NOT_IN_ENUM.search(error.message) if key == "api.variable_invalid" else None
        if enum is not None:  # a variable's value that is not one of an enum's: name the choices
            key, names["type"] = "api.variable_bad_enum", enum["type"]
        if key in ("api.bad_enum", "api.variable_bad_enum"):
            names["allowed"] = _enum_values(schema, names["type"])
        elif key in ("api.syntax_error", "api.bad_value"):
            if where is None:  # said without a place (a syntax error always has one)
                return say("api.bad_value_unplaced", **names) if names else say("api.invalid_query")
            names.update(line=where.line, column=where.column)
        return say(key, **names)
    if where is None:
        return say("api.invalid_query")
    return say("api.invalid_query_at", line=where.line, column=where.column)


def carries_number(name: str) -> bool:
    """A name a caller chose (an operation's, a field's, a variable's) with six digits or more in it
    may be an ID number or a phone number written into it: it is said back in no error and put in
    no log line."""
    return sum(c.isdigit() for c in name) >= 6


def _enum_values(schema: Any, name: str) -> str:
    from graphql import GraphQLEnumType

    enum = getattr(schema, "_schema", schema).get_type(name) if schema is not None else None
    if not isinstance(enum, GraphQLEnumType):
        return "…"
    return say("workflow.list_sep").join(enum.values)


def scrub(message: str) -> str:
    for pattern, repl in _ECHOED_VALUE:
        message = pattern.sub(repl, message, count=1)
    return message
