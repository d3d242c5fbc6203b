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


def error_response(message: str, code: str, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def format_error(error: GraphQLError) -> dict[str, Any]:
    """Only what a client needs: message, path, code; no stack, no suggestions, no values."""
    original = getattr(error, "original_error", None)
    ext = dict(error.extensions or {})
    message = scrub(_SUGGESTION.sub("", error.message))
    if isinstance(original, GraphWriterBusy):
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


def scrub(message: str) -> str:
    for pattern, repl in _ECHOED_VALUE:
        message = pattern.sub(repl, message, count=1)
    return message
