"""What an audit entry's request was, as the console's catalogue names it.

An entry's `operation` is the name its client chose (`query ProfileFacts`): any agency system may
choose the console's names, so the name alone must never be said in the console's words (查看人员档案),
which would tell an auditor that a person file was read when the system ran a name search. What the
request was is its document, kept on the entry as `query_hash` (`hash_document`): the console's own
documents are known by their hashes, in console_documents.json, written from console/src/documents.ts
by tools/console_documents.py (tests/test_console_documents.py fails when the two differ).

The query hash leaves literals out (`hash_document`), so a document that is the console's but for a
literal (`network(start: $s, depth: 3)` where the console writes `depth: 1`) has the console's hash.
Such a request is not the console's: `recorded_query_hash` records it under a hash of its own
(derived from the shape's, never one of the console's), decided against the console documents'
literal-keeping digests (console_literals.json, written by the same tool).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from auth.audit.event import hash_document, literal_digest

REGISTRY = Path(__file__).with_name("console_documents.json")
LITERALS = Path(__file__).with_name("console_literals.json")


@lru_cache(maxsize=1)
def console_documents() -> Mapping[str, str]:
    """{query hash: operation} of every document the console sends."""
    loaded: dict[str, str] = json.loads(REGISTRY.read_text(encoding="utf-8"))
    return loaded


@lru_cache(maxsize=1)
def console_literals() -> frozenset[str]:
    """The literal-keeping digest (`literal_digest`) of every document the console sends."""
    loaded: list[str] = json.loads(LITERALS.read_text(encoding="utf-8"))
    return frozenset(loaded)


def recorded_query_hash(document: str) -> str:
    """The query hash an audit entry records for a request's document: `hash_document`'s, except for
    a document of a console document's shape whose literals are not that document's, which gets a
    hash of its own (the same for every such document of that shape), so that it is not said as the
    console's operation."""
    digest = hash_document(document)
    if digest in console_documents() and literal_digest(document) not in console_literals():
        return hashlib.sha256(f"not-console:{digest}".encode()).hexdigest()
    return digest


def known_operation(operation: str, query_hash: str | None) -> str | None:
    """The operation an entry's request is known to be, or None for any other request.

    A GraphQL request (`query X`, `mutation X`) is known when its document is one of the console's
    own (the same query hash, which covers the operation's name too); the same name on another
    document is not known, whoever sent it. The server's own entries (`token.issue`,
    `graphql.refused`: no document, a name no GraphQL request can have) are known as themselves.
    """
    if query_hash is None:
        return operation if operation and " " not in operation else None
    known = console_documents().get(query_hash)
    return known if known == operation else None
