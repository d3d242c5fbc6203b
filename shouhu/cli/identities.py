"""`shouhu agency|client|token|keys`: identity administration from the command line.

Mounted on the main `shouhu` command (shouhu/cli.py adds this Typer app without a name, so its groups
appear at top level). Each command opens only the relational store (migrating it, like `shouhu init`),
never the graph. Bad input ends in one line on stderr and exit code 2, the same contract as the rest
of the CLI; secrets are printed exactly once, by `client add`, and private keys never.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from kernel.clock import beijing
from kernel.messages import say

app = typer.Typer(add_completion=False)
agency_app = typer.Typer(no_args_is_help=True, help=say("cli.help.agency"))
client_app = typer.Typer(no_args_is_help=True, help=say("cli.help.client"))
keys_app = typer.Typer(no_args_is_help=True, help=say("cli.help.keys"))
app.add_typer(agency_app, name="agency")
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")


def fail(message: str) -> NoReturn:
    """One red line on stderr, exit 2 (what shouhu.cli.fail does; not imported from there because
    `python -m shouhu.cli` runs that module as __main__, and importing it again would build a second
    copy of the whole command tree)."""
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]{escape(say('cli.error', message=message))}[/]", highlight=False
    )
    raise typer.Exit(2)


@contextmanager
def _store() -> Iterator[Engine]:
    """The migrated relational store, or one line and exit 2 if it cannot be opened."""
    from kernel.db import DatabaseUnavailable, check_reachable, make_engine, migrate
    from kernel.settings import get_settings

    settings = get_settings()
    try:
        check_reachable(settings.sql_url)
        engine = make_engine(settings.sql_url)
        migrate(engine)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    from shouhu.cli.stores import immediate

    try:
        yield immediate(engine)
    finally:
        engine.dispose()


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


# ------------------------------------------------------------------------------------------------ agency


@agency_app.command("add", help=say("cli.help.agency.add"))
def agency_add(
    agency_id: str = typer.Option(..., "--id", help=say("cli.help.agency.add.agency_id")),
    name: str = typer.Option(..., "--name", help=say("cli.help.agency.add.name")),
    agency_type: str = typer.Option(..., "--type", help=say("cli.help.agency.add.agency_type")),
    jurisdiction: str = typer.Option(..., "--jurisdiction", help=say("cli.help.agency.add.jurisdiction")),
    institutions: list[str] = typer.Option(  # noqa: B008 (Typer's idiom)
        None,
        "--institution",
        help=say("cli.help.agency.add.institutions"),  # noqa: B008
    ),
) -> None:
    """Register a member agency."""
    from auth.identities import IdentityError, add_agency

    with _store() as engine:
        try:
            agency = add_agency(
                engine,
                agency_id=agency_id,
                name=name,
                agency_type=agency_type,
                jurisdiction=jurisdiction,
                institution_codes=institutions or [],
            )
        except IdentityError as exc:
            fail(str(exc))
    typer.echo(
        say("identity.agency_added", id=agency.id, type=agency.agency_type, jurisdiction=agency.jurisdiction)
    )


@agency_app.command("list", help=say("cli.help.agency.list"))
def agency_list(
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.agency.list.as_json")),
) -> None:
    """List member agencies."""
    from auth.identities import list_agencies

    with _store() as engine:
        rows = list_agencies(engine)
    for a in rows:
        if as_json:
            _echo_json(a.model_dump(mode="json"))
        else:
            inst = ",".join(a.institution_codes) or "-"
            typer.echo(f"{a.id}\t{a.agency_type}\t{a.jurisdiction}\t{inst}\t{a.name}")


# ------------------------------------------------------------------------------------------------ client


@client_app.command("add", help=say("cli.help.client.add"))
def client_add(
    agency: str = typer.Option(..., "--agency", help=say("cli.help.client.add.agency")),
    role: str = typer.Option(..., "--role", help=say("cli.help.client.add.role")),
    scopes: str = typer.Option(..., "--scopes", help=say("cli.help.client.add.scopes")),
    name: str = typer.Option(..., "--name", help=say("cli.help.client.add.name")),
) -> None:
    """Register a client and print its id and secret. The secret is shown this once only."""
    from auth.identities import IdentityError, add_client

    with _store() as engine:
        try:
            client_id, secret = add_client(engine, agency_id=agency, role=role, scopes=scopes, name=name)
        except IdentityError as exc:
            fail(str(exc))
    typer.echo(f"client_id: {client_id}")
    typer.echo(f"client_secret: {secret}")
    Console(stderr=True, soft_wrap=True).print(say("identity.secret_once"))


@client_app.command("list", help=say("cli.help.client.list"))
def client_list(
    agency: str = typer.Option(None, "--agency", help=say("cli.help.client.list.agency")),
) -> None:
    """List clients (never their secrets)."""
    from auth.identities import list_clients

    with _store() as engine:
        rows = list_clients(engine, agency)
    for c in rows:
        state = say("identity.client_off" if c.disabled else "identity.client_enabled")
        typer.echo(f"{c.client_id}\t{c.agency_id}\t{c.role}\t{state}\t{c.scopes}\t{c.name}")


@client_app.command("disable", help=say("cli.help.client.disable"))
def client_disable(
    client_id: str = typer.Argument(..., help=say("cli.help.client.disable.client_id")),
) -> None:
    """Stop a client from obtaining tokens (tokens it holds expire within the token lifetime)."""
    from auth.identities import IdentityError, set_client_disabled

    with _store() as engine:
        try:
            set_client_disabled(engine, client_id, True)
        except IdentityError as exc:
            fail(str(exc))
    typer.echo(say("identity.client_disabled", id=client_id))


# ------------------------------------------------------------------------------------------------- token


@app.command("token", help=say("cli.help.token"))
def token(
    client_id: str = typer.Option(..., "--client-id", help=say("cli.help.token.client_id")),
    scope: str = typer.Option(None, "--scope", help=say("cli.help.token.scope")),
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.token.as_json")),
) -> None:
    """Mint an access token for a client directly (operator/demo use; needs database access, no secret)."""
    from auth.identities import IdentityError, issue_token_for_client
    from auth.keys import SigningKeyError
    from kernel.settings import get_settings

    with _store() as engine:
        try:
            issued = issue_token_for_client(engine, get_settings(), client_id, scope=scope)
        except (IdentityError, SigningKeyError) as exc:
            fail(str(exc))
    if as_json:
        _echo_json(issued.response())
    else:
        typer.echo(issued.access_token)


# -------------------------------------------------------------------------------------------------- keys


@keys_app.command("rotate", help=say("cli.help.keys.rotate"))
def keys_rotate(
    grace_seconds: int = typer.Option(
        None, "--grace-seconds", help=say("cli.help.keys.rotate.grace_seconds")
    ),
) -> None:
    """Activate a new signing key; the previous one retires after the grace period."""
    from auth.identities import signing_passphrase
    from auth.keys import SigningKeyError, rotate
    from kernel.settings import get_settings

    settings = get_settings()
    grace = settings.signing_key_grace_seconds if grace_seconds is None else grace_seconds
    if grace < settings.token_ttl_seconds + settings.token_leeway_seconds:
        Console(stderr=True, soft_wrap=True).print(say("identity.grace_short"))
    with _store() as engine:
        try:
            new = rotate(engine, grace=timedelta(seconds=grace), passphrase=signing_passphrase(settings))
        except SigningKeyError as exc:
            fail(str(exc))
    typer.echo(say("identity.key_rotated", kid=new.kid, alg=new.alg, grace=grace))


@keys_app.command("list", help=say("cli.help.keys.list"))
def keys_list() -> None:
    """List signing keys: kid, algorithm, activation and retirement (never key material)."""
    from auth.keys import list_keys

    with _store() as engine:
        rows = list_keys(engine)
    for k in rows:
        activated = beijing(k.activated_at) if k.activated_at else "-"
        retired = beijing(k.retired_at) if k.retired_at else "-"
        typer.echo(say("identity.key_row", kid=k.kid, alg=k.alg, activated=activated, retired=retired))


@keys_app.command(
    "retire", context_settings={"ignore_unknown_options": True}, help=say("cli.help.keys.retire")
)
def keys_retire(kid: str = typer.Argument(..., help=say("cli.help.keys.retire.kid"))) -> None:
    """Retire a key at once (suspected compromise): its tokens stop validating immediately.

    A kid is a base64url thumbprint and one in 32 begins with '-'; unknown options pass through as
    the argument so the kid `keys list` printed retires as typed.
    """
    from auth.keys import SigningKeyError, retire

    with _store() as engine:
        try:
            retire(engine, kid)
        except SigningKeyError as exc:
            fail(str(exc))
    typer.echo(say("identity.key_retired", kid=kid))
