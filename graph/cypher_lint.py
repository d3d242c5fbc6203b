"""Offline Cypher checking with Neo4j's own Cypher front end.

Why this exists: the Neo4j adapter cannot be exercised against a real Neo4j
server in this workplace (no server, no network), so a typo, a removed
function or a deprecated construct in one of its statements would only show up
in production. Instead of a home-made Cypher parser, the test suite runs every
statement the adapter can send through ``@neo4j-cypher/language-support`` —
Neo4j's ANTLR grammar plus Neo4j's semantic analysis compiled to JavaScript —
via the small Node.js script ``tools/cypher-lint/lint.mjs``.

The script is run once per :func:`lint_cypher` call with all statements in one
batch, because starting Node.js and loading the analyser (~0.7 s) costs far
more than linting one statement (a few ms to tens of ms).

The statements are judged as Cypher 5 (the language of Neo4j 5 servers) unless
a statement starts with its own ``CYPHER 25`` prefix, against Neo4j's built-in
function and procedure signatures (APOC and GDS are not assumed to be
installed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CypherDiagnostic",
    "CypherLintError",
    "CypherLintUnavailable",
    "format_diagnostics",
    "lint_cypher",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
LINT_DIR = REPO_ROOT / "tools" / "cypher-lint"
LINT_SCRIPT = LINT_DIR / "lint.mjs"
# Present once `npm ci --prefix tools/cypher-lint` has run.
PACKAGE_DIR = LINT_DIR / "node_modules" / "@neo4j-cypher" / "language-support"

# lint.mjs exits with this code when it cannot load the linter package.
_EXIT_UNAVAILABLE = 3
_INSTALL_HINT = "run `make test` or `npm ci --prefix tools/cypher-lint` from the repository root"


class CypherLintUnavailable(RuntimeError):
    """Node.js or the installed linter package is missing, so nothing could be checked.

    A distinct type so that callers can tell "the checker is not installed"
    apart from "the statements are wrong" and from a crash of the checker.
    """


class CypherLintError(RuntimeError):
    """The checker ran but failed (bad input, crash, unreadable output)."""


@dataclass(frozen=True, slots=True)
class CypherDiagnostic:
    """One problem that Neo4j's Cypher front end found in one statement.

    ``severity`` is ``"error"`` (the server would reject the statement) or
    ``"warning"`` (deprecations, unknown labels/properties, performance
    notifications such as cartesian products); ``"information"`` and
    ``"hint"`` are possible but not produced today. ``line`` and ``column``
    are 1-based, like the positions in Neo4j's own error messages. ``index``
    is the statement's position in the list given to :func:`lint_cypher`, so
    that identical statements can still be told apart.
    """

    statement: str
    severity: str
    message: str
    line: int
    column: int
    index: int

    def __str__(self) -> str:
        return (
            f"[{self.index}] {self.severity} at line {self.line}, column {self.column}: "
            f"{self.message}\n    in: {self.statement}"
        )


def format_diagnostics(diagnostics: Sequence[CypherDiagnostic]) -> str:
    """Render diagnostics one per paragraph, for assertion messages in tests."""
    return "\n".join(str(d) for d in diagnostics)


def _node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise CypherLintUnavailable(
            f"Node.js (`node`) is not on PATH; install Node.js 20+, then {_INSTALL_HINT}"
        )
    if not PACKAGE_DIR.is_dir():
        raise CypherLintUnavailable(
            f"the Cypher linter's node_modules are missing ({PACKAGE_DIR} not found); {_INSTALL_HINT}"
        )
    return node


def _schema(
    labels: Collection[str],
    relationship_types: Collection[str],
    property_keys: Collection[str],
    parameters: Collection[str] | None,
) -> dict[str, object]:
    """Build the DbSchema that lint.mjs passes to ``lintCypherQuery``.

    An empty collection means "not known", so that check is skipped rather
    than every name being reported as missing. Neo4j's linter checks labels
    and relationship types together, so giving either one turns the check on
    and both lists are then taken as complete.
    """
    schema: dict[str, object] = {}
    if labels or relationship_types:
        schema["labels"] = sorted(labels)
        schema["relationshipTypes"] = sorted(relationship_types)
    if property_keys:
        schema["propertyKeys"] = sorted(property_keys)
    if parameters is not None:
        # Values are not used by the linter; only the names are checked.
        schema["parameters"] = dict.fromkeys(sorted(parameters))
    return schema


def lint_cypher(
    statements: Sequence[str],
    *,
    labels: Collection[str] = (),
    relationship_types: Collection[str] = (),
    property_keys: Collection[str] = (),
    parameters: Collection[str] | None = None,
    timeout: float = 120.0,
) -> list[CypherDiagnostic]:
    """Check Cypher statements with Neo4j's Cypher front end; return every diagnostic.

    Each element of ``statements`` is one query string as the driver would send
    it (exactly one statement; a trailing ``;`` is allowed). An empty result
    means Neo4j's parser and semantic analysis accept every statement without
    errors or warnings.

    ``labels``, ``relationship_types`` and ``property_keys`` describe the graph
    the statements run against; names outside them are reported as warnings
    (see :func:`_schema` for when each check applies). ``parameters``: ``None``
    (the default) means parameters are bound by the driver at run time and are
    not checked; a collection of names makes any other ``$name`` an error.

    Raises :class:`CypherLintUnavailable` when Node.js or the installed linter
    package is missing, and :class:`CypherLintError` when the checker itself
    fails.
    """
    if isinstance(statements, str):
        raise TypeError("lint_cypher() takes a sequence of statements, not a single string")
    statements = list(statements)
    for i, statement in enumerate(statements):
        if not isinstance(statement, str):
            raise TypeError(f"statement {i} is {type(statement).__name__}, not str")
    if not statements:
        return []

    node = _node_executable()
    payload = {
        "statements": statements,
        "schema": _schema(labels, relationship_types, property_keys, parameters),
    }
    try:
        proc = subprocess.run(
            [node, str(LINT_SCRIPT)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CypherLintError(f"{LINT_SCRIPT} did not finish within {timeout} s") from exc

    stderr = proc.stderr.strip()
    if proc.returncode == _EXIT_UNAVAILABLE:
        raise CypherLintUnavailable(
            f"{stderr or 'the Cypher linter package cannot be loaded'}; {_INSTALL_HINT}"
        )
    if proc.returncode != 0:
        raise CypherLintError(f"{LINT_SCRIPT} exited with {proc.returncode}: {stderr or '(no message)'}")

    try:
        results = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CypherLintError(f"{LINT_SCRIPT} printed invalid JSON: {proc.stdout[:500]!r}") from exc
    if not isinstance(results, list) or len(results) != len(statements):
        raise CypherLintError(
            f"{LINT_SCRIPT} did not return one result per statement ({len(statements)}): "
            f"{proc.stdout[:500]!r}"
        )

    diagnostics: list[CypherDiagnostic] = []
    for result in results:
        index = result["index"]
        for d in result["diagnostics"]:
            diagnostics.append(
                CypherDiagnostic(
                    statement=statements[index],
                    severity=d["severity"],
                    message=d["message"],
                    line=d["line"],
                    column=d["column"],
                    index=index,
                )
            )
    return diagnostics
