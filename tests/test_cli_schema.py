"""`shouhu schema export` writes the served schema's SDL; no command's help is cut at 80 columns."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer.main
from graphql import parse
from typer.testing import CliRunner

from shouhu.cli import app


def test_schema_export_writes_the_sdl_agency_developers_need(tmp_path: Path) -> None:
    out = tmp_path / "sdl" / "shouhu.graphql"
    r = CliRunner().invoke(app, ["schema", "export", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "已写出" in r.output
    doc = parse(out.read_text(encoding="utf-8"))  # valid GraphQL syntax
    fields = {
        f.name.value
        for d in doc.definitions
        if getattr(d, "name", None) is not None and d.name.value == "Query"  # type: ignore[attr-defined]
        for f in d.fields  # type: ignore[attr-defined]
    }
    assert {"person", "searchPeople", "reportsInbox", "worklist", "me", "agencyNames"} <= fields
    # Printed when no file is given, the same text.
    printed = CliRunner().invoke(app, ["schema", "export"])
    assert printed.exit_code == 0 and printed.output == out.read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            found += _commands(cmd, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


COMMANDS = _commands(typer.main.get_command(app), [])  # type: ignore[arg-type]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "shouhu")
def test_help_is_not_cut_at_80_columns(path: list[str]) -> None:
    r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert r.exit_code == 0, r.output
    assert "…" not in r.output, r.output
