"""The CLI's help in the operator's language: Chinese from the catalogue unless ``SHOUHU_LANGUAGE=en``.

Each command, group and option gives typer its help as ``help=say("cli.help.<path>")`` (the command
docstrings stay for readers of the code). typer's and click's own words, the section titles,
``Usage:``, ``[default: …]``, the help option and the usage errors, come from the catalogue too:
``speak_typer()`` puts them in place once, when the CLI is imported (shouhu/cli/__init__.py).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import typer
import typer.core
from rich.text import Text
from typer import _click, rich_utils

from kernel.messages import say


def help_targets(app: typer.Typer, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(command path, object with a ``help`` attribute) for every group, command and option: the
    catalogue's key of its help is ``cli.help.<path>`` (tests/test_messages.py holds them to it)."""
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        key = ".".join((*path, name))
        yield key, command
        for pname, param in inspect.signature(command.callback, eval_str=True).parameters.items():  # type: ignore[arg-type]
            for info in (param.default, *getattr(param.annotation, "__metadata__", ())):
                if isinstance(info, typer.models.ParameterInfo):
                    yield f"{key}.{pname}", info
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        if group.name:
            yield ".".join((*path, group.name)), sub.info
            yield from help_targets(sub, (*path, group.name))
        else:  # merged into the parent: its commands sit at this level
            yield from help_targets(sub, path)


# typer's rich help screen: its module constants, read when a screen is printed
_RICH_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "cli.typer.arguments",
    "OPTIONS_PANEL_TITLE": "cli.typer.options",
    "COMMANDS_PANEL_TITLE": "cli.typer.commands",
    "ERRORS_PANEL_TITLE": "cli.typer.error",
    "DEFAULT_STRING": "cli.typer.default",
    "REQUIRED_LONG_STRING": "cli.typer.required",
    "ENVVAR_STRING": "cli.typer.envvar",
    "DEPRECATED_STRING": "cli.typer.deprecated",
    "ABORTED_TEXT": "cli.typer.aborted",
    "RICH_HELP": "cli.typer.try_help",
}
# typer.core's gettext message ids (the rest of click, vendored as typer._click, has no gettext)
_GETTEXT = {
    "No such command {name!r}.": "cli.typer.no_such_command",
    "Missing command.": "cli.typer.missing_command",
    "Aborted!": "cli.typer.aborted",
    "Arguments": "cli.typer.arguments",
    "Options": "cli.typer.options",
    "Commands": "cli.typer.commands",
    "default: {default}": "cli.typer.default_plain",
    "required": "cli.typer.required_plain",
    "env var: {var}": "cli.typer.envvar_plain",
}
# click's usage errors, written as English f-strings: the catalogue's sentence for each form
_ERRORS = [
    (re.compile(r"No such option: (?P<name>.+)"), "cli.typer.no_such_option"),
    (re.compile(r"Missing option (?P<hint>\S+)\.(?P<rest>.*)"), "cli.typer.missing_option"),
    (re.compile(r"Missing argument (?P<hint>\S+)\.(?P<rest>.*)"), "cli.typer.missing_argument"),
    (re.compile(r"Got unexpected extra arguments? \((?P<args>.*)\)"), "cli.typer.extra_arguments"),
    (re.compile(r"Invalid value for (?P<hint>.+?): (?P<message>.*)"), "cli.typer.invalid_value"),
    (re.compile(r"Option (?P<name>\S+) requires (?:an argument|\d+ arguments)\."), "cli.typer.needs_value"),
    (re.compile(r"Option (?P<name>\S+) does not take a value\."), "cli.typer.takes_no_value"),
]
_SUGGESTIONS = [
    (re.compile(r"\.? Did you mean (?P<suggestions>.+)\?$"), "cli.typer.did_you_mean"),
    (re.compile(r" \(Possible options: (?P<options>.+)\)$"), "cli.typer.possible_options"),
]


def usage_error(message: str) -> str:
    """One of click's usage errors in the catalogue's words; a form it does not know as it is."""
    suffix = ""
    for pattern, key in _SUGGESTIONS:
        found = pattern.search(message)
        if found:
            message, suffix = message[: found.start()], say(key, **found.groupdict())
    for pattern, key in _ERRORS:
        found = pattern.fullmatch(message)
        if found:
            values = found.groupdict()
            rest = values.pop("rest", None)
            message = say(key, **values) + (rest or "")
            break
    return message + suffix


def _gettext(message: str) -> str:
    """typer.core's ``gettext``: its message ids in the catalogue's words."""
    return say(_GETTEXT[message]) if message in _GETTEXT else message


def speak_typer() -> None:
    """typer's and click's own words, in the help screens and usage errors, from the catalogue; and
    help text folded at the width of the screen (typer cuts a line without spaces short)."""
    for name, key in _RICH_WORDS.items():
        setattr(rich_utils, name, say(key))
    typer.core._ = _gettext

    write_usage = _click.formatting.HelpFormatter.write_usage

    def said_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, say("cli.typer.usage") if prefix is None else prefix)

    get_help_option = _click.Command.get_help_option

    def said_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = say("cli.typer.help_option")
        return option

    format_error: Callable[[Any], None] = rich_utils.rich_format_error

    def said_error(self: Any) -> None:  # a ClickException, its message in the catalogue's words
        message = usage_error(self.format_message())
        self.format_message = lambda: message
        format_error(self)

    make_text = rich_utils._make_rich_text

    def folded_text(**kwargs: Any) -> Any:  # Chinese has no spaces to wrap at: fold, not cut with "…"
        text = make_text(**kwargs)
        if isinstance(text, Text):
            text.overflow = "fold"
        return text

    rich_utils._make_rich_text = folded_text
    _click.formatting.HelpFormatter.write_usage = said_usage  # type: ignore[method-assign]
    _click.Command.get_help_option = said_help_option  # type: ignore[method-assign]
    rich_utils.rich_format_error = said_error
