"""The console's documents and the registry the audit log names them by are one.

An audit entry is said in the console's words (查看人员档案) only when its query hash is one of the
console's own documents (auth/audit/console_documents.json, written from console/src/documents.ts by
tools/console_documents.py). A document edited in the console without writing the registry again
would be said as 其他查询 on the log from then on, and one written outside documents.ts would never
be known: both fail here.
"""

from __future__ import annotations

import re
from pathlib import Path

from auth.audit.known import LITERALS, REGISTRY, console_documents
from tools.console_documents import console_documents as documents_in_source
from tools.console_documents import literals, operation_of, registry, text

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "console" / "src"

# A GraphQL document in a string: a named operation (`query Search(`, `mutation Merge {`), or an
# anonymous one opening a string (`"{ person(`).
DOCUMENT = re.compile(
    r"\b(?:query|mutation|subscription)\s+[A-Za-z_]\w*\s*[({]|[\"'`]\s*\{\s*[a-z]\w*\s*[({]"
)


def test_the_registry_is_the_consoles_documents() -> None:
    documents = documents_in_source()
    assert len(documents) > 60, len(documents)
    assert REGISTRY.read_text(encoding="utf-8") == text(registry(documents)), (
        "console/src/documents.ts changed: run `make console-documents`"
    )
    assert LITERALS.read_text(encoding="utf-8") == text(literals(documents)), (
        "console/src/documents.ts changed: run `make console-documents`"
    )


def test_every_document_the_console_sends_is_in_documents_ts() -> None:
    """A document written in another module would be sent but never known (said as 其他查询)."""
    outside = {
        f"{path.relative_to(SRC)}: {m.group(0)}"
        for path in SRC.rglob("*.ts")
        if path.name != "documents.ts" and "i18n" not in path.parts
        for m in DOCUMENT.finditer(path.read_text(encoding="utf-8"))
    }
    assert not outside, sorted(outside)
    assert DOCUMENT.search((SRC / "documents.ts").read_text(encoding="utf-8"))


def test_every_known_operation_is_named_in_the_console() -> None:
    codes = (SRC / "i18n" / "codes.ts").read_text(encoding="utf-8")
    group = codes[codes.index("  operation: {") :]
    named = set(re.findall(r'^\s+"((?:query|mutation) \w+)":', group, re.M))
    known = set(console_documents().values())
    assert sorted(known - named) == [], sorted(known - named)
    assert {operation_of(d) for d in documents_in_source()} == known
