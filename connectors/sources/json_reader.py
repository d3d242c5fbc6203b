"""JSON exports read item by item, so one bad line loses one record and not the file.

Survey forms and FHIR Bundles arrive as JSON, often written one array item (form, Bundle
entry) per line: these readers take that layout line by line, so a large export is never
one object tree, and otherwise parse the file whole, naming the line of what does not parse.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from connectors.sources.base import UnreadableFile
from connectors.sources.encoding import decode_error, detect_encoding
from kernel import jsontext

__all__ = [
    "json_array_items",
    "json_per_line",
    "json_text",
    "json_whole",
]


def json_array_items(data: bytes, rel: str) -> Iterator[tuple[int, Any]]:
    """(line number, item) of a JSON array written one item per line; any other layout
    is parsed whole (same items, line numbers then count items).

    The encoding is detected (JSON should be UTF-8, a county's may be GBK). In the one
    item per line layout, an item that does not parse is yielded as an :class:`UnreadableFile`
    for its line (the others go on); a file that parses neither way raises one, naming
    the line and column.
    """
    text = json_text(data, rel)
    lines = text.split("\n")
    if lines and lines[0].strip() == "[" and lines[-1].strip() in ("", "]"):
        yield from json_per_line(lines, rel, ("]",))
        return
    items = json_whole(text, rel)
    if not isinstance(items, list):
        items = [items]
    yield from enumerate(items, start=1)


def json_text(data: bytes, rel: str) -> str:
    """A JSON file's text in its detected encoding (UTF-8, or a county's GBK), byte order mark
    dropped; :class:`UnreadableFile` naming the line that does not decode."""
    encoding = detect_encoding(data, "utf-8")
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        bad = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile("encoding.invalid", decode_error(exc, encoding, rel, bad)) from None


def json_per_line(lines: Sequence[str], rel: str, closers: Collection[str]) -> Iterator[tuple[int, Any]]:
    """(line number, item) of the lines after the opening one, one JSON item a line (a trailing
    comma allowed), blank lines and the layout's ``closers`` passed over. A line that does not
    parse is given as an :class:`UnreadableFile` for that line and the others go on, so one bad
    line of a large export loses that record only; nor is the file ever one object tree."""
    for n, line in enumerate(lines[1:], start=2):
        s = line.strip()
        if not s or s in closers:
            continue
        try:
            yield n, jsontext.loads_exact(s.rstrip(","))
        except ValueError as exc:
            yield n, UnreadableFile("json.invalid", f"{rel} 第 {n} 行不是有效的 JSON：{exc}")


def json_whole(text: str, rel: str) -> Any:
    """A JSON file parsed whole, or :class:`UnreadableFile` naming where it stops parsing."""
    try:
        return jsontext.loads_exact(text)
    except ValueError as exc:
        raise UnreadableFile("json.invalid", f"{rel} 不是有效的 JSON：{exc}") from None
