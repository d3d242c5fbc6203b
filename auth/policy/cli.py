"""`python -m auth.policy`: print the decision matrix, or check a changed policy file.

Its help and its lines are in the operator's language (kernel/messages.py: Chinese unless
``SHOUHU_LANGUAGE=en``), argparse's own words (usage, the help option, the section titles) too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auth.policy.engine import Policy
from auth.policy.vocabulary import PolicyError
from kernel import cliargs
from kernel.messages import say


def _parser() -> argparse.ArgumentParser:
    parser = cliargs.parser("python -m auth.policy", say("policy.cli.description"))
    sub = parser.add_subparsers(dest="command", required=True, title=say("cli.args.commands"))
    table = _command(sub, "table")
    table.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=None,
        metavar=say("policy.cli.file"),
        help=say("policy.cli.table_file"),
    )
    check = _command(sub, "check")
    check.add_argument("file", type=Path, metavar=say("policy.cli.file"), help=say("policy.cli.check_file"))
    return parser


def _command(sub: Any, name: str) -> argparse.ArgumentParser:
    """A command, its help and description the catalogue's ``policy.cli.<name>``."""
    return cliargs.command(sub, name, say(f"policy.cli.{name}"))


def main(argv: list[str] | None = None) -> int:
    """``table [FILE]`` prints the decision matrix; ``check FILE`` validates a file."""
    args = _parser().parse_args(argv)
    try:
        policy = Policy.load(args.file)
    except PolicyError as exc:
        print(say("cli.error", message=exc), file=sys.stderr)
        return 2
    if args.command == "table":
        sys.stdout.write(policy.table_markdown())
    else:
        print(
            say(
                "policy.cli.ok",
                source=policy.source,
                version=policy.version,
                fields=sum(len(p) for p in policy.field_classes.values()),
                agency_types=len(policy.agency_types),
                roles=sum(len(t.roles) for t in policy.agency_types.values()),
            )
        )
    return 0
