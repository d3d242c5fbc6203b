"""What every source connector provides, and the file readers they share.

A connector has two halves that run at different times:

* ``read(cursor)`` yields :class:`~connectors.landing.RawRecord` s from the source
  system (files of an export, or a server's REST search) after ``cursor``, and leaves
  the position to resume from in ``next_cursor``. It never validates: whatever the
  source sent is landed as it is, so nothing is lost when a validator is wrong.
* ``interpret(row, ref)`` turns one landed record into an :class:`Interpreted`: the
  people it names (:class:`~connectors.mentions.PersonMention`), the properties it
  claims for each, the other records' people it points at, and a function that, given
  the resolved person keys, builds the graph nodes and relationships. It raises
  :class:`~connectors.standardise.Rejected` for a record that fails the source's schema:
  that record is quarantined with the reason, and can be replayed after a fix.
"""

from __future__ import annotations

import abc
import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention
from connectors.standardise import Reference, Rejected, clean_text, utc_from_timestamp
from graph.records import NodeRecord, RelRecord

__all__ = [
    "Emitted",
    "FileCursor",
    "Interpreted",
    "Need",
    "Source",
    "csv_records",
    "row_getter",
]

KeyOf = Callable[[str], str | None]
"""Person node id (``person:<key>``) of a mention id of this source (``form-0001#father``);
``None`` only for an optional :class:`Need` that could not be resolved."""


@dataclass
class Emitted:
    """Graph records a source record produces besides its people's Person nodes."""

    nodes: list[NodeRecord] = field(default_factory=list)
    rels: list[RelRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Need:
    """A person named by another record of the same source that this record points at.

    An Encounter's ``subject`` is ``Patient/<id>``; an attendance row's 学籍号 is a
    student record. The pipeline finds that record (in the batch or already loaded) and
    resolves its mention too. When it cannot, ``fallback`` (a mention built from what
    this record itself says) is used, and without one the record is quarantined as
    ``reference.unresolved``.
    """

    record_id: str
    mention_id: str
    fallback: PersonMention | None = None
    # Optional: when unresolved, the record still loads and ``key_of`` gives ``None``.
    optional: bool = False


@dataclass
class Interpreted:
    """A valid record, standardised: its people, their claims, its links, its graph."""

    mentions: list[PersonMention] = field(default_factory=list)
    person_props: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs: list[Need] = field(default_factory=list)
    build: Callable[[KeyOf], Emitted] | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def add_person(self, mention: PersonMention, extra: dict[str, Any] | None = None) -> PersonMention:
        """A person this record names: the mention for entity resolution and the identity claims
        for the graph, taken from the same values so the two can never disagree."""
        self.mentions.append(mention)
        birth = mention.birth_date
        self.person_props[mention.record_id] = {
            "name": mention.name,
            "name_pinyin": mention.name_pinyin,
            "id_number": mention.id_number,
            "sex": mention.sex,
            "birth_date": birth.isoformat() if birth else None,
            **(extra or {}),
        }
        return mention


class Source(abc.ABC):
    """One source system: where its records come from and what they mean."""

    name: ClassVar[str]
    """The source's name in the CLI, the landing table and provenance (``graph.provenance``)."""
    description: ClassVar[str] = ""
    # Process a register household in one batch (see connectors.landing.pending_batch).
    whole_groups: ClassVar[bool] = False

    def __init__(self) -> None:
        self.next_cursor: str | None = None

    @property
    def system(self) -> str:
        return self.name

    @abc.abstractmethod
    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        """Records after ``cursor``; once exhausted, ``next_cursor`` is where to resume."""

    @abc.abstractmethod
    def interpret(self, row: LandedRow, ref: Reference) -> Interpreted:
        """Validate and standardise one landed record, or raise :class:`Rejected`."""

    def household_context(self, rows: Sequence[LandedRow], ref: Reference) -> None:  # noqa: B027
        """Called with each batch and the loaded rows of its groups before interpretation.

        Only the household register uses it (parents are inferred per household).
        """


# ---- rows -----------------------------------------------------------------------------------


def row_getter(
    payload: dict[str, Any], header: Sequence[str], what: str, *, min_columns: int | None = None
) -> Callable[..., str]:
    """Column access for a CSV/XLSX row that was landed as column → text.

    Raises ``row.truncated`` when the row lacks columns of ``header`` (an export cut short),
    and the returned ``get(col, required=False)`` raises ``field.missing`` for a blank
    required value, naming the column. ``min_columns`` is for spreadsheets: Excel stores
    no cell for a blank at the end of a row, so there only a row shorter than
    ``min_columns`` is cut short, and missing trailing columns read as blank.
    """
    missing = [c for c in header if c not in payload]
    if missing and min_columns is not None and len(header) - len(missing) >= min_columns:
        missing = []
    if missing:
        present = len(header) - len(missing)
        raise Rejected(
            "row.truncated", f"{what} has {present} of {len(header)} columns; missing from {missing[0]}"
        )

    def get(col: str, required: bool = False) -> str:
        value = clean_text(payload.get(col))
        if required and not value:
            raise Rejected("field.missing", f"{what}: {col} is blank")
        return value

    return get


# ---- files and their cursor ------------------------------------------------------------------


class FileCursor:
    """Where a file-export source stopped, per file.

    CSV exports are often appended to: for each CSV the cursor keeps the byte offset read
    up to and the SHA-256 of those bytes, and when the file still starts with exactly
    those bytes only what follows is read. Any other change (or any other format)
    re-reads the file; landing then skips records already landed by their content hash.
    """

    def __init__(self, text: str | None) -> None:
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        self.files: dict[str, dict[str, Any]] = dict(data.get("files", {}))

    def dump(self) -> str:
        return json.dumps({"files": self.files}, sort_keys=True, separators=(",", ":"))


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_mtime(path: Path) -> datetime:
    return utc_from_timestamp(os.stat(path).st_mtime)


def csv_records(
    path: Path,
    rel: str,
    encoding: str,
    cursor: FileCursor,
    make: Callable[[dict[str, str], str, int], RawRecord | None],
) -> Iterator[RawRecord]:
    """Rows of a CSV export from where the cursor left it, as column → text dicts.

    Physical lines are split on LF (GB18030 and UTF-8 never put that byte inside a
    character), CR and a UTF-8 BOM are dropped, and a line with an open quote is joined
    with the next. A row with fewer cells than the header keeps only the columns it has,
    which is how a validator later tells it was cut short. ``make(fields, origin, line)``
    builds the record (or returns ``None`` to skip a blank line).
    """
    data = path.read_bytes()
    state = cursor.files.get(rel, {})
    start, line_no = 0, 0
    offset = int(state.get("offset", 0))
    if state and 0 < offset <= len(data) and file_digest(data[:offset]) == state.get("sha256"):
        if offset == len(data):
            return
        start, line_no = offset, int(state.get("lines", 0))
    header_line, _, _ = data.partition(b"\n")
    header = next(csv.reader([header_line.decode(encoding).lstrip("\ufeff").rstrip("\r")]))
    header = [h.strip() for h in header]
    if start == 0:
        start = len(header_line) + 1 if b"\n" in data else len(data)
        line_no = 1
    pos = start
    pending = ""
    pending_line = 0
    done, done_lines = start, line_no
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            # A last line without LF may still be being written: leave it for next time.
            break
        text = data[pos:end].decode(encoding, errors="replace").rstrip("\r")
        line_no += 1
        pos = end + 1
        text = pending + ("\n" if pending else "") + text
        if text.count('"') % 2:
            pending, pending_line = text, pending_line or line_no
            continue
        first_line = pending_line or line_no
        pending, pending_line = "", 0
        done, done_lines = pos, line_no
        if not text.strip():
            continue
        cells = next(csv.reader([text]))
        fields = {h: c for h, c in zip(header, cells, strict=False)}
        if len(cells) > len(header):
            fields["_extra"] = json.dumps(cells[len(header) :], ensure_ascii=False)
        rec = make(fields, f"{rel}:{first_line}", first_line)
        if rec is not None:
            yield rec
    cursor.files[rel] = {"offset": done, "lines": done_lines, "sha256": file_digest(data[:done])}


def whole_file_changed(path: Path, rel: str, cursor: FileCursor) -> bytes | None:
    """The file's bytes when it differs from what the cursor saw, else ``None``."""
    data = path.read_bytes()
    digest = file_digest(data)
    if cursor.files.get(rel, {}).get("sha256") == digest:
        return None
    return data


def mark_file(rel: str, data: bytes, cursor: FileCursor) -> None:
    cursor.files[rel] = {"sha256": file_digest(data), "size": len(data)}


def xlsx_rows(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, column → value) of the first worksheet whose first row is a header.

    Excel date cells come back as ISO date text; every other value as it was typed.
    Rows shorter than the header keep only their cells (a cut-short export).
    """
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        header: list[str] | None = None
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = list(values)
            if header is None:
                while cells and cells[-1] in (None, ""):
                    cells.pop()
                header = [clean_text(c) for c in cells]
                continue
            if all(c in (None, "") for c in cells):
                continue
            row: dict[str, Any] = {}
            for h, v in zip(header, cells, strict=False):
                if isinstance(v, datetime):
                    v = v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
                elif isinstance(v, date):
                    v = v.isoformat()
                elif v is None:
                    v = ""
                elif not isinstance(v, str):
                    v = str(v)
                row[h] = v
            yield n, row
    finally:
        wb.close()


def json_array_items(data: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, item) of a JSON array written one item per line; any other layout
    is parsed whole (same items, line numbers then count items)."""
    text = data.decode("utf-8-sig")
    lines = text.split("\n")
    if lines and lines[0].strip() == "[" and lines[-1].strip() in ("", "]"):
        items: list[tuple[int, Any]] = []
        try:
            for n, line in enumerate(lines[1:], start=2):
                s = line.strip()
                if s in ("", "]"):
                    continue
                items.append((n, json.loads(s.rstrip(","))))
        except ValueError:
            items = []
        else:
            yield from items
            return
    for n, item in enumerate(json.loads(text), start=1):
        yield n, item


def source_files(root: Path, patterns: Sequence[str]) -> list[tuple[Path, str]]:
    """Files under ``root`` matching ``patterns``, in pattern then name order, with their
    path relative to ``root`` (the cursor key)."""
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and path not in seen:
                seen.add(path)
                out.append((path, path.relative_to(root).as_posix()))
    return out
