"""The console's own GraphQL documents by query hash: the registry the audit log names them by.

An audit entry says what its request did in the console's words (查看人员档案) only when the request's
document is one of the console's own, known by its query hash, never by the operation name a client
chose (an agency system could name its own query `ProfileFacts`). The documents are written once, in
console/src/documents.ts; this tool bundles that module (rolldown, from the console's node_modules),
runs it in node, hashes every document it exports with the server's own `hash_document` and writes
auth/audit/console_documents.json: {query hash: "query ProfileFacts", ...}, and beside it
console_literals.json, each document's digest with its literals kept (compared by
auth.audit.known.recorded_query_hash).

    make console-documents                      # write the registry again after editing a document
    python tools/console_documents.py --check   # exit 1 when the registry is not the documents'

tests/test_console_documents.py fails when the committed registry and the documents differ.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from graphql import OperationDefinitionNode, parse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auth.audit.event import hash_document, literal_digest  # noqa: E402
from auth.audit.known import LITERALS, REGISTRY  # noqa: E402

CONSOLE = ROOT / "console"
MODULE = CONSOLE / "src" / "documents.ts"

# Every string the module exports (alone, in a list, in a record) that is a document; a function
# is refused: its documents could not be listed, and an unlisted document is said as 其他查询.
_RUNNER = """
const m = await import(process.argv[2]);
const docs = [];
function walk(name, v) {
  if (typeof v === "string") { if (/^\\s*(query|mutation|subscription)\\b/.test(v)) docs.push(v); }
  else if (Array.isArray(v)) v.forEach((x) => walk(name, x));
  else if (typeof v === "function") throw new Error(`documents.ts exports a function (${name}): export its documents instead`);
  else if (v !== null && typeof v === "object") Object.values(v).forEach((x) => walk(name, x));
}
for (const [name, v] of Object.entries(m)) walk(name, v);
process.stdout.write(JSON.stringify(docs));
"""


def console_documents() -> list[str]:
    """Every document console/src/documents.ts exports, in its text as the console sends it."""
    rolldown = CONSOLE / "node_modules" / ".bin" / "rolldown"
    if not rolldown.exists():
        raise SystemExit("the console's packages are not installed: run `make console` first")
    with tempfile.TemporaryDirectory() as tmp:
        bundle, runner = Path(tmp) / "documents.mjs", Path(tmp) / "run.mjs"
        subprocess.run(
            [str(rolldown), str(MODULE), "--format", "esm", "--platform", "neutral", "--file", str(bundle)],
            check=True,
            capture_output=True,
            cwd=CONSOLE,
        )
        runner.write_text(_RUNNER, encoding="utf-8")
        out = subprocess.run(["node", str(runner), str(bundle)], check=True, capture_output=True, text=True)
    docs: list[str] = json.loads(out.stdout)
    return docs


def operation_of(document: str) -> str:
    """`query ProfileFacts`: the kind and name of a document's one operation, as the audit log writes it."""
    ops = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].name is None:
        raise ValueError(f"a console document has one named operation: {document[:80]!r}")
    return f"{ops[0].operation.value} {ops[0].name.value}"


def registry(documents: list[str]) -> dict[str, str]:
    """{query hash: operation} of the documents, refusing two operations with one hash."""
    out: dict[str, str] = {}
    for doc in documents:
        digest, op = hash_document(doc), operation_of(doc)
        if out.get(digest, op) != op:
            raise ValueError(f"{op} and {out[digest]} have the same query hash")
        out[digest] = op
    return dict(sorted(out.items()))


def literals(documents: list[str]) -> list[str]:
    """The literal-keeping digests of the documents (auth.audit.known.recorded_query_hash compares
    with them)."""
    out = set()
    for doc in documents:
        digest = literal_digest(doc)
        if digest is None:
            raise ValueError(f"a console document does not parse: {doc[:80]!r}")
        out.add(digest)
    return sorted(out)


def text(reg: dict[str, str] | list[str]) -> str:
    return json.dumps(reg, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    documents = console_documents()
    wanted = {REGISTRY: text(registry(documents)), LITERALS: text(literals(documents))}
    if "--check" in argv:
        for path, content in wanted.items():
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                print(
                    f"{path.relative_to(ROOT)} is not the console's documents: run tools/console_documents.py"
                )
                return 1
        return 0
    for path, content in wanted.items():
        path.write_text(content, encoding="utf-8")
        print(f"{len(json.loads(content))} documents → {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
