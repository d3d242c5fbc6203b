"""`shouhu schema export`: the GraphQL schema as SDL, for agency developers.

Introspection is off on a production server, so agency systems get the schema as a file instead:
the same schema the app serves (every area merged, with the Federation directives a router uses).
"""

from __future__ import annotations

from pathlib import Path

import typer

from kernel.messages import say

app = typer.Typer(no_args_is_help=True, help=say("cli.help.schema"))


def sdl() -> str:
    """The served schema as SDL text, ending in a newline."""
    from api.schema import build_schema

    text = build_schema().as_str()
    return text if text.endswith("\n") else text + "\n"


@app.command("export", help=say("cli.help.schema.export"))
def export(
    out: Path | None = typer.Option(None, "--out", "-o", help=say("cli.help.schema.export.out")),  # noqa: B008
) -> None:
    """Write the schema's SDL to a file, or print it."""
    text = sdl()
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(say("schema.written", path=out, lines=len(text.splitlines())))
