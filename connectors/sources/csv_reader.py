"""Rows of a CSV export, resumed from the cursor, with nothing dropped unaccounted for.

Named ``csv_reader`` so as not to shadow the standard library's ``csv``. Read by the
table reader (``tables``) and by nothing else directly; the rules of what a broken line
becomes are in :func:`csv_records`.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from connectors.landing import RawRecord
from connectors.sources.base import TRUNCATED, FileNote, with_rejection
from connectors.sources.cursor import FileCursor, file_digest
from connectors.sources.encoding import decode_error, detect_encoding
from connectors.sources.layout import distinct_header

__all__ = [
    "as_utf8",
    "csv_records",
    "delimiter",
    "header_text",
    "read_header",
]


def csv_records(
    path: Path,
    rel: str,
    cursor: FileCursor,
    make: Callable[[dict[str, Any], str, int], RawRecord | None],
    *,
    data: bytes | None = None,
    encoding: str | None = None,
    note: FileNote | None = None,
    header_at: int = 0,
) -> Iterator[RawRecord]:
    """Rows of a CSV export from where the cursor left it, as column → text dicts.

    Physical lines are split on LF (GB18030 and UTF-8 never put that byte inside a
    character), CR and a UTF-8 BOM are dropped, and a line with an open quote is joined
    with the next. Nothing is dropped without a record saying so:

    * a row with fewer cells than the header keeps the columns it has and is marked
      (``row.truncated`` later, naming the first missing column);
    * a line the file's encoding cannot decode is landed rejected (``encoding.invalid``,
      with the file and the line);
    * the last line is read even without a line end; a quote left open at the end of the
      file (a file cut inside a field) lands that row rejected as ``row.truncated``.

    ``make(fields, origin, line)`` builds the record (or returns ``None`` to skip). The
    header is on line ``header_at + 1`` (0: the first line; a title above it is not data).
    """
    if data is None:
        data = path.read_bytes()
    encoding = encoding or detect_encoding(data)
    state = cursor.files.get(rel, {})
    start, line_no = 0, 0
    offset = int(state.get("offset", 0))
    if state and 0 < offset <= len(data) and file_digest(data[:offset]) == state.get("sha256"):
        tail = state.get("tail")
        if offset == len(data) or (tail and file_digest(data[offset:]) == tail):
            if note is not None:
                note.status = "unchanged"
            return
        start, line_no = offset, int(state.get("lines", 0))
    pre = _line_start(data, header_at)
    header_line, _, _ = data[pre:].partition(b"\n")
    header_text = header_line.decode(encoding, errors="replace")
    if header_text.startswith("\ufeff"):
        header_text = header_text[1:]
    # A name given twice would keep only its last column's value: the repeats are renamed.
    sep = delimiter(header_text)
    header, _ = distinct_header(
        [h.strip() for h in next(csv.reader([header_text.rstrip("\r")], delimiter=sep), [])]
    )
    if start == 0:
        start = pre + len(header_line) + 1 if b"\n" in data[pre:] else len(data)
        line_no = header_at + 1
    pos = start
    pending = ""
    pending_line = 0
    done, done_lines = start, line_no
    tail_sha: str | None = None

    # A row without a quote, CR or NUL, none of whose cells can pass the csv module's field size
    # limit, is its text split on commas: what csv.reader gives it, without a reader per line.
    limit = csv.field_size_limit()
    blank_rows = 0
    ncols = len(header)
    while pos < len(data):
        end = data.find(b"\n", pos)
        last = end < 0
        if last:
            end = len(data)
        raw = data[pos:end]
        line_no += 1
        pos = end + 1 if not last else end
        try:
            text = raw.decode(encoding).rstrip("\r")
        except UnicodeDecodeError as exc:
            if pending:  # the quoted field it belonged to is lost with it: say so for both
                yield from _undecodable(make, rel, pending_line, "", exc, encoding, line_no)
                pending, pending_line = "", 0
            yield from _undecodable(
                make, rel, line_no, raw.decode(encoding, "replace"), exc, encoding, line_no
            )
            if not last:
                done, done_lines = pos, line_no
            continue
        if pending:
            text = pending + "\n" + text
        if text.count('"') % 2:
            pending, pending_line = text, pending_line or line_no
            if last:
                break
            continue
        first_line = pending_line or line_no
        pending, pending_line = "", 0
        if last:
            tail_sha = file_digest(data[done:])
        else:
            done, done_lines = pos, line_no
        if not text.strip():
            continue
        if '"' in text or "\r" in text or "\x00" in text or len(text) > limit:
            cells = next(csv.reader([text], delimiter=sep))
        else:
            cells = text.split(sep)
        if not any(c.strip() for c in cells):
            blank_rows += 1  # a row of separators only (,,,,): nothing to land, said in the file's note
            continue
        fields: dict[str, Any] = dict(zip(header, cells, strict=False))
        if len(cells) > ncols:
            fields["_extra"] = json.dumps(cells[ncols:], ensure_ascii=False)
        elif len(cells) < ncols:
            fields[TRUNCATED] = {"cells": len(cells), "columns": ncols, "from": header[len(cells)]}
        rec = make(fields, f"{rel}:{first_line}", first_line)
        if rec is not None:
            yield rec
    if pending:
        # The file ends inside a quoted field: the export was cut mid-row.
        cells = next(csv.reader([pending + '"'], delimiter=sep))
        fields = {h: c for h, c in zip(header, cells, strict=False)}
        rec = make(
            with_rejection(
                fields,
                "row.truncated",
                f"{rel} 在第 {pending_line} 行的引号字段中结束：文件被截断，最后一行不完整",
            ),
            f"{rel}:{pending_line}",
            pending_line,
        )
        if rec is not None:
            yield rec
        tail_sha = file_digest(data[done:])
    if blank_rows and note is not None:
        note.notes.append(f"跳过 {blank_rows} 个空行（只有分隔符，没有内容）")
    cursor.files[rel] = {"offset": done, "lines": done_lines, "sha256": file_digest(data[:done])}
    if tail_sha is not None:
        cursor.files[rel]["tail"] = tail_sha


def _undecodable(
    make: Callable[[dict[str, Any], str, int], RawRecord | None],
    rel: str,
    line: int,
    text: str,
    exc: UnicodeDecodeError,
    encoding: str,
    bad_line: int,
) -> Iterator[RawRecord]:
    fields = with_rejection({"_line": text}, "encoding.invalid", decode_error(exc, encoding, rel, bad_line))
    rec = make(fields, f"{rel}:{line}", line)
    if rec is not None:
        yield rec


def _line_start(data: bytes, index: int) -> int:
    """The byte offset of line ``index`` (0-based) of ``data``."""
    pos = 0
    for _ in range(index):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return len(data)
        pos = nl + 1
    return pos


def read_header(data: bytes, encoding: str, at: int = 0) -> list[str]:
    """The header cells of a CSV file's line ``at`` (0-based; the first line by default)."""
    text = header_text(data, encoding, at)
    return [h.strip() for h in next(csv.reader([text], delimiter=delimiter(text)), [])]


def header_text(data: bytes, encoding: str, at: int = 0) -> str:
    """A CSV file's line ``at`` (0-based) as text, without its BOM and line end."""
    first = data[_line_start(data, at) :].partition(b"\n")[0]
    return first.decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r")


def delimiter(header: str) -> str:
    """The separator of a CSV file, from its header line: a tab when the header has tabs and no
    comma (Excel's "Unicode text" export, saved as .txt or renamed .csv), else a comma."""
    return "\t" if "\t" in header and "," not in header else ","


def as_utf8(data: bytes, encoding: str) -> tuple[bytes, str]:
    """A UTF-16 file (Excel's "Unicode text" export) as UTF-8 bytes, and the encoding to read them
    with. The reader splits lines on the LF byte, which UTF-16 puts inside characters and beside a
    NUL: read as it was, every row was quarantined as undecodable. A file that is not valid UTF-16
    throughout is left as it is (each line it cannot decode is then landed rejected, named)."""
    if codecs.lookup(encoding).name not in ("utf-16", "utf-16-le", "utf-16-be"):
        return data, encoding
    try:
        return data.decode(encoding).encode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data, encoding
