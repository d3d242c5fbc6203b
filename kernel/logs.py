"""Log lines never carry an exception's own text, only its kind and where it was raised.

An exception's message can quote the record being handled: a ValueError naming an ID number, an
engine error repeating a value it refused, a parser's complaint about the line it stopped at. The
service log (and a CLI command's warnings) would keep that personal data wherever logs go. So every
log record is cleaned as it is made (a log-record factory, whatever logger, handler or formatter
then takes it, uvicorn's included): an exception passed as an argument (``log.error("...: %s",
exc)``) becomes its class name, and a record's traceback keeps its frames but says of each
exception its class only. ``SHOUHU_ERROR_DETAIL=1`` keeps the text, for an operator chasing a fault.

A warning (``warnings.warn``, a library's) is printed on stderr past any log-record factory, and its
text can quote a value too: openpyxl's for a date-formatted cell holding no date quotes the number in
it, an ID number put into such a cell. Warnings are logged (logger ``py.warnings``) by their category
and the place they were raised, without their text.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from types import TracebackType
from typing import Any

from kernel.settings import Settings

_installed = False
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def withhold_exception_text(settings: Settings) -> None:
    """Clean every log record made from now on in this process (idempotent; off with error_detail)."""
    global _installed
    if _installed or settings.error_detail:
        return
    made = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = made(*args, **kwargs)
        _clean(record)
        return record

    logging.setLogRecordFactory(factory)
    warnings.showwarning = _show_warning
    _installed = True


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A warning as the log may say it: its category and where it was raised, never its text."""
    said = "%s at %s:%d (its text is withheld from the log: SHOUHU_ERROR_DETAIL)"
    logging.getLogger("py.warnings").warning(said, category.__name__, filename, lineno)


def kind(exc: BaseException) -> str:
    """An exception as the log may name it: its class, without its text."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def withheld_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and the exceptions it was raised from or during, each said by its
    class: the frames (file, line, function, source line) without any exception's message."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    lines: list[str] = []
    for i, (e, _) in enumerate(reversed(chain)):
        if i:
            lines.append(f"\n{chain[len(chain) - i][1]}\n\n")
        tb: TracebackType | None = e.__traceback__
        if tb is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(tb))
        lines.append(f"{kind(e)} (its text is withheld from the log: SHOUHU_ERROR_DETAIL)\n")
    return "".join(lines).rstrip("\n")


def _clean(record: logging.LogRecord) -> None:
    args = record.args
    if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
        record.args = tuple(kind(a) if isinstance(a, BaseException) else a for a in args)
    elif isinstance(args, dict) and any(isinstance(a, BaseException) for a in args.values()):
        record.args = {k: kind(a) if isinstance(a, BaseException) else a for k, a in args.items()}
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = withheld_traceback(record.exc_info[1])
