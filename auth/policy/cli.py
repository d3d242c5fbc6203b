"""`python -m auth.policy`: print the decision matrix, or check a changed policy file."""

from __future__ import annotations

import sys
from pathlib import Path

from auth.policy.engine import Policy
from auth.policy.vocabulary import PolicyError
from kernel.messages import say


def main(argv: list[str] | None = None) -> int:
    """``table [FILE]`` prints the decision matrix; ``check FILE`` validates a file."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m auth.policy", description="Shouhu field-level authorization policy"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("table", help="print the agency × class decision matrix (Markdown)")
    table.add_argument("file", nargs="?", type=Path, default=None)
    check = sub.add_parser("check", help="validate a policy file against graph/model.py")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    try:
        policy = Policy.load(args.file)
    except PolicyError as exc:
        print(say("cli.error", message=exc), file=sys.stderr)
        return 2
    if args.command == "table":
        sys.stdout.write(policy.table_markdown())
    else:
        fields = sum(len(p) for p in policy.field_classes.values())
        roles = sum(len(t.roles) for t in policy.agency_types.values())
        print(
            f"{policy.source}: ok, version {policy.version}, {fields} fields classified, "
            f"{len(policy.agency_types)} agency types, {roles} roles"
        )
    return 0
