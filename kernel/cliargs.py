"""argparse in the operator's language: its own words (usage, the help option, the section titles)
from the catalogue, for the ``python -m`` tools built on it (auth/policy/cli.py, shouhu/migrations.py).

A tool makes its parser with ``parser()`` and each command with ``command()``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from kernel.messages import say


class SaidFormatter(argparse.HelpFormatter):
    """argparse's help with its usage prefix from the catalogue."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, say("cli.args.usage") if prefix is None else prefix)


def said(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`parser` (made with add_help=False) with its titles and help option in the catalogue's words."""
    parser._positionals.title = say("cli.args.arguments")
    parser._optionals.title = say("cli.args.options")
    parser.add_argument("-h", "--help", action="help", help=say("cli.args.help"))
    return parser


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A tool's parser, argparse's words the catalogue's."""
    return said(
        argparse.ArgumentParser(
            prog=prog, description=description, formatter_class=SaidFormatter, add_help=False
        )
    )


def command(sub: Any, name: str, text: str) -> argparse.ArgumentParser:
    """A command of ``sub`` (``add_subparsers``), ``text`` its help and description."""
    return said(
        sub.add_parser(name, help=text, description=text, formatter_class=SaidFormatter, add_help=False)
    )
