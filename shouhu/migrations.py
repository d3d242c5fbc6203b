"""`python -m shouhu.migrations`: Alembic commands wired to the packaged migrations and `settings.sql_url`.

A helper for developers (writing revisions) and operators (upgrading by hand); `shouhu init` migrates
on its own. Errors end in one line and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from kernel import cliargs
from kernel.db.engine import DatabaseUnavailable, check_reachable, describe, make_engine
from kernel.db.schema import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    migrate,
    pending_changes,
)
from kernel.messages import say
from shouhu.tables import metadata


class UsageError(Exception):
    """A precondition the developer must fix; printed as one line."""


def next_revision_id() -> str:
    """The next sequential id ("0002" after "0001"), so files sort in the order they apply.

    Two branches that both add "0002" end up with two heads; Alembic then refuses to upgrade until
    someone renumbers one of them, which is the conflict we want to see.
    """
    script = ScriptDirectory.from_config(alembic_config())
    numbers = [int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def _revision_config(connection: Connection | None = None) -> Config:
    """The Alembic config plus post-write hooks that run ruff on the new file, when ruff is installed,
    so a generated revision passes `ruff check .` as written (autogenerate emits long lines)."""
    cfg = alembic_config(connection)
    if importlib.util.find_spec("ruff") is not None:
        cfg.set_section_option("post_write_hooks", "hooks", "ruff_format ruff_fix")
        for name, options in (("ruff_format", "format --quiet"), ("ruff_fix", "check --fix --quiet")):
            cfg.set_section_option("post_write_hooks", f"{name}.type", "module")
            cfg.set_section_option("post_write_hooks", f"{name}.module", "ruff")
            cfg.set_section_option(
                "post_write_hooks", f"{name}.options", f"{options} REVISION_SCRIPT_FILENAME"
            )
    return cfg


def _url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    from kernel.settings import get_settings

    return get_settings().sql_url


@contextmanager
def _engine_at_head(url: str | None) -> Iterator[Engine]:
    """`url`'s engine, which must already be at head; without a URL, a scratch SQLite database migrated
    to head. The scratch database makes autogenerate see exactly what the revisions create, whatever
    state the developer's own database is in, and needs no server."""
    with tempfile.TemporaryDirectory(prefix="shouhu-revision-") as tmp:
        if url is None:
            engine = make_engine(f"sqlite:///{Path(tmp, 'scratch.sqlite3').as_posix()}")
            migrate(engine)
        else:
            check_reachable(url)
            engine = make_engine(url)
        try:
            if current_revision(engine) != head_revision():
                raise UsageError(
                    f"{describe(engine.url)} is not at head; run `python -m shouhu.migrations upgrade` first"
                )
            yield engine
        finally:
            engine.dispose()


def _revision(args: argparse.Namespace) -> None:
    rev_id = next_revision_id()
    if args.empty:
        command.revision(_revision_config(), message=args.message, rev_id=rev_id)
        return
    with _engine_at_head(args.url) as engine, engine.connect() as conn:
        command.revision(_revision_config(conn), message=args.message, autogenerate=True, rev_id=rev_id)


def _check(args: argparse.Namespace) -> int:
    with _engine_at_head(args.url) as engine:
        diffs = pending_changes(engine, metadata)
    for d in diffs:
        print(d)
    print("no pending changes" if not diffs else f"{len(diffs)} pending change(s): write a revision")
    return 1 if diffs else 0


def _parser() -> argparse.ArgumentParser:
    """The commands, their help and argparse's own words from the catalogue (``migrations.cli.*``)."""
    parser = cliargs.parser("python -m shouhu.migrations", say("migrations.cli.description"))
    sub = parser.add_subparsers(dest="cmd", required=True, title=say("cli.args.commands"))

    def add(name: str, *, url: bool = True) -> argparse.ArgumentParser:
        p = cliargs.command(sub, name, say(f"migrations.cli.{name}"))
        if url:
            p.add_argument("--url", help=say("migrations.cli.url"))
        return p

    target = say("migrations.cli.target")
    add("upgrade").add_argument("revision", nargs="?", default="head", help=target)
    add("downgrade").add_argument("revision", help=target)
    add("current")
    add("check")
    add("history", url=False)
    rev = add("revision")
    rev.add_argument("-m", "--message", required=True, help=say("migrations.cli.message"))
    rev.add_argument("--empty", action="store_true", help=say("migrations.cli.empty"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    try:
        if args.cmd in ("upgrade", "downgrade", "current"):
            url = _url(args)
            check_reachable(url)
            if args.cmd == "upgrade":
                migrate(url, args.revision)
                print(f"{describe(url)} at {args.revision}")
            elif args.cmd == "downgrade":
                downgrade(url, args.revision)
                print(f"{describe(url)} at {args.revision}")
            else:
                engine = make_engine(url)
                try:
                    print(current_revision(engine) or "base (never migrated)")
                finally:
                    engine.dispose()
        elif args.cmd == "check":
            return _check(args)
        elif args.cmd == "history":
            command.history(alembic_config())
        else:
            _revision(args)
    except (DatabaseUnavailable, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
