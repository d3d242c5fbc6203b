"""Reading what a client sent: the request body, capped as it streams, and the persisted operations
the server accepts in place of a document (`persisted_operations_file`).

Apart from the endpoint, which only asks for the body (or None: too large) and the digest map.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request


async def read_capped(request: Request, limit: int) -> bytes | None:
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


def load_persisted(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    return {k.lower(): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
