"""The CLI's help in the operator's language: Chinese from the catalogue unless ``SHOUHU_LANGUAGE=en``.

Typer reads help from docstrings and ``help=`` at the call; this walks the assembled app once and puts
the catalogue's text in their place, so commands keep their English help beside the code.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import typer

from kernel.messages import CLI_HELP, language


def help_targets(app: typer.Typer, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(catalogue key, object with a ``help`` attribute) for every group, command and option."""
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
        key = ".".join((*path, name))
        yield key, command
        for pname, param in inspect.signature(command.callback, eval_str=True).parameters.items():  # type: ignore[arg-type]
            infos = [param.default, *getattr(param.annotation, "__metadata__", ())]
            if len(infos) > 1:  # keep the evaluated Annotated[...]: typer would evaluate the string anew
                command.callback.__annotations__[pname] = param.annotation
            for info in infos:
                if isinstance(info, typer.models.ParameterInfo) and info.help:
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


def localise_help(app: typer.Typer) -> None:
    if language() == "en":
        return
    app.info.help = CLI_HELP["shouhu"]
    for key, target in help_targets(app):
        text = CLI_HELP.get(key)
        if text:
            target.help = text
