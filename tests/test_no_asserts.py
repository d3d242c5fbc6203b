"""No `assert` in the packages: `python -O` strips them, so a check that guards a request (a token's
claims, a caller's principal, a record's presence) must be an explicit `if ...: raise`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("api", "auth", "connectors", "graph", "kernel", "protection", "shouhu")


def test_no_assert_statements_in_the_packages() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found += [
                f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Assert)
            ]
    assert not found, "assert statements vanish under python -O: " + ", ".join(found)
