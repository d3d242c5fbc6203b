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

Nothing a file-export source is given goes unaccounted for: every file of its folder is
read or noted (``Source.files``, shown in the run report) as ignored, empty or unreadable;
what the reader itself finds wrong (a line no encoding reads, a row cut short, a second
row with the same record id, a file that cannot be read at all) is landed like any other
record, marked with its reason, and quarantined by ``interpret``.
"""

from __future__ import annotations

import abc
import codecs
import csv
import fnmatch
import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention
from connectors.standardise import Reference, Rejected, clean_text, utc_from_timestamp
from graph.records import NodeRecord, RelRecord
from kernel import jsontext
from kernel.messages import say

__all__ = [
    "Column",
    "Emitted",
    "FileCursor",
    "FileNote",
    "Interpreted",
    "Layout",
    "Need",
    "Source",
    "SourceFolderError",
    "UnreadableFile",
    "csv_records",
    "detect_encoding",
    "folder_files",
    "row_getter",
    "xlsx_rows",
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
        # What the last read did with each file it found (read, ignored, failed): the run report.
        self.files: list[FileNote] = []

    @property
    def system(self) -> str:
        return self.name

    @abc.abstractmethod
    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        """Records after ``cursor``; once exhausted, ``next_cursor`` is where to resume."""

    def interpret(self, row: LandedRow, ref: Reference) -> Interpreted:
        """Validate and standardise one landed record, or raise :class:`Rejected`.

        A record the reader already found wrong (a line that does not decode, a duplicate
        record id, a file that cannot be read) was landed with its reason so that it is
        accounted for; it is rejected here with that reason, and stays so on replay.
        """
        rejected_at_read(row.payload)
        return self.standardise(row, ref)

    @abc.abstractmethod
    def standardise(self, row: LandedRow, ref: Reference) -> Interpreted:
        """The source's own validation and standardisation of one record."""

    def household_context(self, rows: Sequence[LandedRow], ref: Reference) -> None:  # noqa: B027
        """Called with each batch and the loaded rows of its groups before interpretation.

        Only the household register uses it (parents are inferred per household).
        """


# ---- what the reader found wrong ------------------------------------------------------------

REJECTED = "_rejected"
"""Payload key of a record the reader landed already rejected: ``{"code": ..., "message": ...}``."""
TRUNCATED = "_truncated"
"""Payload key of a CSV row with fewer cells than its file's header: ``{"cells", "columns", "from"}``."""
FILE_KIND = "file"
"""Kind of the one record that stands for a whole file that could not be read."""


class SourceFolderError(Exception):
    """A source's folder is missing or empty: the source cannot be read at all (the message is
    for the operator, in Chinese)."""


def rejected_at_read(payload: dict[str, Any]) -> None:
    """Raise the reader's own rejection of a record, if it made one."""
    mark = payload.get(REJECTED)
    if isinstance(mark, dict):
        raise Rejected(str(mark.get("code") or "read.failed"), str(mark.get("message") or ""))


def with_rejection(fields: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    return {**fields, REJECTED: {"code": code, "message": message}}


def file_record(rel: str, data: bytes, code: str, message: str, at: datetime) -> RawRecord:
    """The record that stands for a file that could not be read: quarantined as one, with why."""
    payload = {
        "file": rel,
        "size": len(data),
        "sha256": file_digest(data),
        REJECTED: {"code": code, "message": message},
    }
    return RawRecord(f"file:{rel}", FILE_KIND, payload, rel, at)


@dataclass
class FileNote:
    """What a read did with one file of a source folder (listed in the run report)."""

    file: str
    status: str  # read | unchanged | ignored | failed | empty
    reason: str = ""
    encoding: str | None = None
    kind: str | None = None
    records: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", [], 0) or k == "status"}


# ---- columns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a source's tabular export: its name, what else counties call it, and
    whether a file without it can be read at all (``required``)."""

    name: str
    synonyms: tuple[str, ...] = ()
    required: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


def _header_key(text: object) -> str:
    return clean_text(text).replace(" ", "").lstrip("*＊").rstrip("*＊")


class Layout:
    """The columns of one kind of tabular record, and how a file's header maps onto them.

    Counties rename columns (公民身份号码/身份证号/证件号码) and leave out ones they do not
    keep (民族): a synonym is read as its column, a missing optional column reads as blank
    (the file is reported with a warning), and only a missing required column rejects the
    file's rows, naming the column.
    """

    def __init__(self, kind: str, columns: Sequence[Column]) -> None:
        self.kind = kind
        self.columns = tuple(columns)
        self.by_name = {c.name: c for c in self.columns}
        self._lookup = {_header_key(n): c.name for c in self.columns for n in c.names}
        self._cache: dict[tuple[str, ...], dict[str, str]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def keys_for(self, keys: Iterable[str]) -> dict[str, str]:
        """Column name → the key a row (or header) spells it with; the first spelling wins."""
        found = tuple(keys)
        cached = self._cache.get(found)
        if cached is not None:
            return cached
        out: dict[str, str] = {}
        for k in found:
            if k.startswith("_"):  # the reader's own marks (_extra, _truncated, _rejected)
                continue
            col = self._lookup.get(_header_key(k))
            if col is not None and col not in out:
                out[col] = k
        if len(self._cache) < 256:
            self._cache[found] = out
        return out

    def check(self, header: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
        """(missing required, missing optional, unknown) columns of a file's header."""
        keys = self.keys_for(header)
        missing_req = [c.name for c in self.columns if c.required and c.name not in keys]
        missing_opt = [c.name for c in self.columns if not c.required and c.name not in keys]
        known = set(keys.values())
        unknown = [h for h in header if h and h not in known and not h.startswith("_")]
        return missing_req, missing_opt, unknown

    def matches(self, header: Sequence[str]) -> bool:
        return not self.check(header)[0]

    def describe(self, name: str) -> str:
        col = self.by_name[name]
        return f"「{name}」" + (f"（也认：{'、'.join(col.synonyms)}）" if col.synonyms else "")

    def header_notes(self, header: Sequence[str]) -> list[str]:
        """Warnings about a readable header, for the file's line in the run report."""
        keys = self.keys_for(header)
        _, missing_opt, unknown = self.check(header)
        notes = [f"列「{keys[c]}」按「{c}」读取" for c in self.names if c in keys and keys[c] != c]
        if missing_opt:
            notes.append(f"缺少可选列 {'、'.join(missing_opt)}（按空值处理）")
        if unknown:
            notes.append(f"未识别的列 {'、'.join(unknown)}（未读取）")
        return notes


class RowReader:
    """Column access to one landed CSV/XLSX row under its layout (see :func:`row_getter`)."""

    def __init__(self, payload: dict[str, Any], keys: dict[str, str], what: str) -> None:
        self.payload, self.keys, self.what = payload, keys, what

    def __call__(self, col: str, required: bool = False) -> str:
        """The column's text, standardised (NFKC, blanks collapsed); ``field.missing`` if required."""
        key = self.keys.get(col)
        value = clean_text(self.payload.get(key)) if key is not None else ""
        if required and not value:
            raise Rejected("field.missing", say("reject.record_field_blank", what=self.what, field=col))
        return value

    def raw(self, col: str) -> str:
        """The column's text exactly as given, outer blanks trimmed only (names, ID numbers)."""
        key = self.keys.get(col)
        value = self.payload.get(key) if key is not None else None
        return "" if value is None else str(value).strip()


def row_getter(payload: dict[str, Any], layout: Layout, what: str) -> RowReader:
    """Column access for a CSV/XLSX row that was landed as the file's column → text.

    Raises ``row.truncated`` for a row cut short (fewer cells than its header), and
    ``column.missing`` when the file lacks a required column (naming it). The returned
    reader's ``get(col, required=False)`` reads a column under any of its names and raises
    ``field.missing`` for a blank required value; ``get.raw(col)`` is the text exactly as
    given, for names and ID numbers.
    """
    cut = payload.get(TRUNCATED)
    if isinstance(cut, dict):
        raise Rejected(
            "row.truncated",
            f"{what}: 此行只有 {cut.get('cells')} 列，表头有 {cut.get('columns')} 列，"
            f"从「{cut.get('from')}」起缺失（行被截断）",
        )
    keys = layout.keys_for(payload)
    missing = [c.name for c in layout.columns if c.required and c.name not in keys]
    if missing:
        raise Rejected("column.missing", f"{what}: 文件缺少必需列{layout.describe(missing[0])}")
    return RowReader(payload, keys, what)


# ---- files and their cursor ------------------------------------------------------------------


class FileCursor:
    """Where a file-export source stopped, per file.

    CSV exports are often appended to: for each CSV the cursor keeps the byte offset read
    up to and the SHA-256 of those bytes, and when the file still starts with exactly
    those bytes only what follows is read. A last line without a line end was read too;
    its bytes are kept (``tail``) so that it is read again, as a new version of its record,
    only if the file grows or changes after it. Any other change (or any other format)
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


# ---- encodings ------------------------------------------------------------------------------

_CANDIDATES = ("utf_8", "gb18030", "big5", "utf_16")


def detect_encoding(data: bytes, expected: str | None = None) -> str:
    """The encoding of one file's bytes: a BOM, else the first of UTF-8 and GB18030 (which
    covers GBK and GB2312) that decodes it all, else what charset-normalizer finds among the
    encodings Chinese exports use, else the one of those that decodes the most lines.

    Never guessed silently: the lines the chosen encoding cannot decode are rejected
    one by one by the readers, naming the file and the line.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "gb18030"):
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_CANDIDATES)).best()
    if best is not None and best.encoding in ("utf_8", "gb18030", "big5"):
        return {"utf_8": "utf-8", "gb18030": "gb18030", "big5": "big5"}[best.encoding]
    lines = data.split(b"\n")

    def failures(enc: str) -> int:
        bad = 0
        for line in lines:
            try:
                line.decode(enc)
            except UnicodeDecodeError:
                bad += 1
        return bad

    order = [e for e in (expected, "utf-8", "gb18030") if e]
    return min(dict.fromkeys(order), key=failures)


def _family(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {"utf-8-sig": "utf-8", "gbk": "gb18030", "gb2312": "gb18030"}.get(name, name)


def decode_error(exc: UnicodeDecodeError, encoding: str, rel: str, line: int) -> str:
    return f"{rel} 第 {line} 行不是有效的 {encoding} 文本（第 {exc.start + 1} 字节起无法解码）"


# ---- CSV ------------------------------------------------------------------------------------


def csv_records(
    path: Path,
    rel: str,
    cursor: FileCursor,
    make: Callable[[dict[str, Any], str, int], RawRecord | None],
    *,
    data: bytes | None = None,
    encoding: str | None = None,
    note: FileNote | None = None,
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

    ``make(fields, origin, line)`` builds the record (or returns ``None`` to skip).
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
    header_line, _, _ = data.partition(b"\n")
    header_text = header_line.decode(encoding, errors="replace")
    if header_text.startswith("\ufeff"):
        header_text = header_text[1:]
    header = [h.strip() for h in next(csv.reader([header_text.rstrip("\r")]), [])]
    if start == 0:
        start = len(header_line) + 1 if b"\n" in data else len(data)
        line_no = 1
    pos = start
    pending = ""
    pending_line = 0
    done, done_lines = start, line_no
    tail_sha: str | None = None

    def emit(text: str, first_line: int) -> Iterator[RawRecord]:
        if not text.strip():
            return
        cells = next(csv.reader([text]))
        fields: dict[str, Any] = {h: c for h, c in zip(header, cells, strict=False)}
        if len(cells) > len(header):
            fields["_extra"] = json.dumps(cells[len(header) :], ensure_ascii=False)
        elif len(cells) < len(header):
            fields[TRUNCATED] = {"cells": len(cells), "columns": len(header), "from": header[len(cells)]}
        rec = make(fields, f"{rel}:{first_line}", first_line)
        if rec is not None:
            yield rec

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
        text = pending + ("\n" if pending else "") + text
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
        yield from emit(text, first_line)
    if pending:
        # The file ends inside a quoted field: the export was cut mid-row.
        cells = next(csv.reader([pending + '"']))
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


def read_header(data: bytes, encoding: str) -> list[str]:
    """The header cells of a CSV file's first line."""
    first = data.partition(b"\n")[0].decode(encoding, errors="replace").lstrip("\ufeff").rstrip("\r")
    return [h.strip() for h in next(csv.reader([first]), [])]


def whole_file_changed(path: Path, rel: str, cursor: FileCursor) -> bytes | None:
    """The file's bytes when it differs from what the cursor saw, else ``None``."""
    data = path.read_bytes()
    digest = file_digest(data)
    if cursor.files.get(rel, {}).get("sha256") == digest:
        return None
    return data


def mark_file(rel: str, data: bytes, cursor: FileCursor) -> None:
    cursor.files[rel] = {"sha256": file_digest(data), "size": len(data)}


# ---- XLSX -----------------------------------------------------------------------------------


class UnreadableFile(Exception):
    """A file that cannot be read at all; ``code`` and the message go to its quarantine record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _cell(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if v is None:
        return ""
    # A number cell stays as Excel holds it: an ID number typed into one reads 5.0024820180…e+17,
    # which validation then names (id_number.number_cell) instead of a plausible wrong number.
    if not isinstance(v, str):
        return str(v)
    return v


def xlsx_rows(
    data: bytes, rel: str, layouts: Sequence[Layout], note: FileNote | None = None
) -> Iterator[tuple[Layout, int, dict[str, Any]]]:
    """(layout, row number, column → value) of the worksheet whose header matches a layout.

    A workbook often opens with a cover or instruction sheet: every sheet is looked at,
    the header is the first of its first ten rows that has all the required columns of a
    layout, and the first sheet with one is read. The other sheets are named in ``note``
    as ignored. Excel date cells come back as ISO date text; every other value as text
    as typed; every header column is present (Excel stores no cell for a trailing blank).
    Raises :class:`UnreadableFile` when the file is no workbook or no sheet matches.
    """
    import io
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(
            "file.unreadable", f"{rel} 不是可读的 XLSX 工作簿（{type(exc).__name__}）"
        ) from None
    try:
        chosen = None
        for ws in wb.worksheets:
            for n, values in enumerate(ws.iter_rows(values_only=True, max_row=10), start=1):
                header = [_header_key(c) if c is not None else "" for c in values]
                while header and not header[-1]:
                    header.pop()
                match = next((lay for lay in layouts if header and lay.matches(header)), None)
                if match is not None:
                    chosen = (ws, n, header, match)
                    break
            if chosen is not None:
                break
        if chosen is None:
            wanted = "；".join("、".join(c.name for c in lay.columns if c.required) for lay in layouts)
            sheets = "、".join(ws.title for ws in wb.worksheets)
            raise UnreadableFile(
                "file.no_matching_sheet",
                f"{rel} 的工作表（{sheets}）都没有含必需列的表头（需要：{wanted}）",
            )
        ws, header_row, header, layout = chosen
        if note is not None:
            note.kind = layout.kind
            others = [s.title for s in wb.worksheets if s.title != ws.title]
            if others:
                note.notes.append(f"读取工作表「{ws.title}」；忽略工作表 {'、'.join(others)}（表头不匹配）")
            if header_row > 1:
                note.notes.append(f"表头在第 {header_row} 行")
            note.notes.extend(layout.header_notes(header))
        for n, values in enumerate(
            ws.iter_rows(values_only=True, min_row=header_row + 1), start=header_row + 1
        ):
            cells = list(values)
            if all(c in (None, "") for c in cells):
                continue
            row: dict[str, Any] = {h: "" for h in header if h}
            for h, v in zip(header, cells, strict=False):
                if h:
                    row[h] = _cell(v)
            if len(cells) > len(header) and any(c not in (None, "") for c in cells[len(header) :]):
                row["_extra"] = json.dumps([_cell(c) for c in cells[len(header) :]], ensure_ascii=False)
            yield layout, n, row
    finally:
        wb.close()


# ---- JSON -----------------------------------------------------------------------------------


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


# ---- the source folder ----------------------------------------------------------------------


def folder_files(root: Path) -> tuple[list[tuple[Path, str]], list[FileNote]]:
    """Every regular file directly in a source folder, with its relative name, and the
    entries that are not read whatever their name (sub-folders, hidden and temporary files).

    Raises :class:`SourceFolderError` when the folder does not exist or holds no file.
    """
    if not root.exists():
        raise SourceFolderError(f"来源目录不存在：{root}")
    if not root.is_dir():
        raise SourceFolderError(f"来源路径不是目录：{root}")
    files: list[tuple[Path, str]] = []
    skipped: list[FileNote] = []
    for path in sorted(root.iterdir()):
        rel = path.name
        if path.is_dir():
            skipped.append(FileNote(rel + "/", "ignored", "子目录不读取"))
        elif rel.startswith((".", "~$")):
            skipped.append(FileNote(rel, "ignored", "隐藏文件或编辑软件的临时文件"))
        elif path.is_file():
            files.append((path, rel))
    if not files:
        raise SourceFolderError(f"来源目录为空：{root}（没有可读取的文件）")
    return files, skipped


def first_match(rel: str, patterns: Sequence[str]) -> int | None:
    """Index of the first glob pattern that ``rel`` matches."""
    for i, pattern in enumerate(patterns):
        if fnmatch.fnmatchcase(rel, pattern):
            return i
    return None


class DuplicateIds:
    """Record ids seen in one file: the second row with an id is landed rejected
    (``record.duplicate``) instead of silently replacing the first."""

    def __init__(self, rel: str, label: str) -> None:
        self.rel = rel
        self.label = label
        self.seen: dict[str, str] = {}

    def check(self, rid: str, where: str, fields: dict[str, Any]) -> dict[str, Any]:
        if REJECTED in fields:
            return fields
        first = self.seen.get(rid)
        if first is None:
            self.seen[rid] = where
            return fields
        return with_rejection(
            fields,
            "record.duplicate",
            f"{self.label} {rid} 在 {self.rel} 中重复：{where} 与 {first} 编号相同，只载入了 {first}",
        )


# ---- tabular exports (CSV, XLSX) --------------------------------------------------------------


@dataclass(frozen=True)
class TableFile:
    """One kind of file of a tabular source: its name pattern, format, columns, record id."""

    pattern: str
    kind: str
    layout: Layout
    id_column: str
    fmt: str = "csv"  # csv | xlsx
    group_column: str | None = None


Asserted = Callable[[Callable[[str], Any], datetime], datetime]
"""When a row was asserted: given the row's column reader and the file's mtime."""


def read_tables(
    root: Path,
    cursor: FileCursor,
    formats: Sequence[TableFile],
    notes: list[FileNote],
    *,
    asserted: Callable[[str, Callable[[str], Any], datetime], datetime] | None = None,
    encoding: str | None = None,
    others: Sequence[str] = (),
) -> Iterator[RawRecord]:
    """Every record of a folder of CSV/XLSX exports, and a note on every file in it.

    A file is read by the first format whose name pattern it matches; a CSV or XLSX file
    whose name matches none is read when its header matches a format's columns (counties
    name files as they like: ``学籍名单2024.csv``), else listed as ignored with why. Files
    matching ``others`` belong to another source sharing the folder. An empty file is
    listed; a file that cannot be read at all is landed as one rejected record.
    """
    files, skipped = folder_files(root)
    notes.extend(skipped)
    plan: list[tuple[int, str, Path, TableFile, str | None]] = []
    why: str | None
    for path, rel in files:
        i = first_match(rel, [f.pattern for f in formats])
        if i is not None:
            plan.append((i, rel, path, formats[i], None))
            continue
        if first_match(rel, others) is not None:
            continue
        suffix = path.suffix.lower()
        candidates = [f for f in formats if f.fmt == suffix.lstrip(".")]
        sniffed = _sniff(path, candidates) if candidates else None
        if sniffed is not None:
            j = list(formats).index(sniffed)
            plan.append(
                (j, rel, path, sniffed, f"文件名不符合 {sniffed.pattern}，按表头识别为 {sniffed.kind}")
            )
            continue
        wanted = "、".join(dict.fromkeys(f.pattern for f in formats))
        why = f"文件名不符合本来源的格式（{wanted}）" + ("，表头也不匹配" if candidates else "")
        notes.append(FileNote(rel, "ignored", why))
    for _, rel, path, fmt, why in sorted(plan, key=lambda p: (p[0], p[1])):
        note = FileNote(rel, "read", kind=fmt.kind)
        if why:
            note.notes.append(why)
        notes.append(note)
        mtime = file_mtime(path)
        data = path.read_bytes()
        if not data.strip():
            note.status, note.reason = "empty", "空文件（没有表头和记录）"
            continue
        if fmt.fmt == "csv":
            yield from _read_csv(path, rel, data, fmt, cursor, note, mtime, asserted, encoding)
        else:
            yield from _read_xlsx(rel, data, fmt, cursor, note, mtime, asserted)


def _sniff(path: Path, candidates: Sequence[TableFile]) -> TableFile | None:
    try:
        if path.suffix.lower() == ".csv":
            with open(path, "rb") as fh:
                head = fh.read(64 * 1024)
            header = read_header(head, detect_encoding(head.rpartition(b"\n")[0] or head))
            return next((f for f in candidates if f.layout.matches(header)), None)
        for f in candidates:
            try:
                next(xlsx_rows(path.read_bytes(), path.name, [f.layout]), None)
            except UnreadableFile:
                continue
            return f
    except OSError:
        return None
    return None


def _reader(fields: dict[str, Any], keys: dict[str, str]) -> Callable[[str], Any]:
    return lambda col: fields.get(keys.get(col, col))


def _read_csv(
    path: Path,
    rel: str,
    data: bytes,
    fmt: TableFile,
    cursor: FileCursor,
    note: FileNote,
    mtime: datetime,
    asserted: Callable[[str, Callable[[str], Any], datetime], datetime] | None,
    expected: str | None,
) -> Iterator[RawRecord]:
    enc = detect_encoding(data, expected)
    note.encoding = enc
    if expected and _family(enc) != _family(expected):
        note.notes.append(f"编码为 {enc}（本来源通常为 {expected}），已按 {enc} 读取")
    header = read_header(data, enc)
    keys = fmt.layout.keys_for(header)
    missing, _, _ = fmt.layout.check(header)
    if missing:
        note.notes.append(
            f"缺少必需列 {'、'.join(fmt.layout.describe(m) for m in missing)}：各行隔离为 column.missing"
        )
    note.notes.extend(fmt.layout.header_notes(header))
    dupes = DuplicateIds(rel, fmt.id_column)

    def make(fields: dict[str, Any], origin: str, line: int) -> RawRecord:
        get = _reader(fields, keys)
        rid = clean_text(get(fmt.id_column)) or origin
        fields = dupes.check(rid, f"第 {line} 行", fields)
        group = clean_text(get(fmt.group_column)) if fmt.group_column else None
        at = asserted(fmt.kind, get, mtime) if asserted else mtime
        note.records += 1
        return RawRecord(rid, fmt.kind, fields, origin, at, group or None)

    yield from csv_records(path, rel, cursor, make, data=data, encoding=enc, note=note)
    if note.status == "unchanged":
        note.notes = []  # said when the file was read; nothing was read now
    elif note.records == 0:
        note.notes.append("只有表头，没有记录")


def _read_xlsx(
    rel: str,
    data: bytes,
    fmt: TableFile,
    cursor: FileCursor,
    note: FileNote,
    mtime: datetime,
    asserted: Callable[[str, Callable[[str], Any], datetime], datetime] | None,
) -> Iterator[RawRecord]:
    if cursor.files.get(rel, {}).get("sha256") == file_digest(data):
        note.status = "unchanged"
        return
    dupes = DuplicateIds(rel, fmt.id_column)
    try:
        for layout, n, row in xlsx_rows(data, rel, [fmt.layout], note):
            keys = layout.keys_for(row)
            get = _reader(row, keys)
            rid = clean_text(get(fmt.id_column)) or f"{rel}:{n}"
            row = dupes.check(rid, f"第 {n} 行", row)
            group = clean_text(get(fmt.group_column)) if fmt.group_column else None
            at = asserted(fmt.kind, get, mtime) if asserted else mtime
            note.records += 1
            yield RawRecord(rid, fmt.kind, row, f"{rel}:{n}", at, group or None)
    except UnreadableFile as exc:
        note.status, note.reason = "failed", exc.message
        yield file_record(rel, data, exc.code, exc.message, mtime)
    mark_file(rel, data, cursor)


# Names counties give the same column; a layout takes those of its own columns.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "公民身份号码": ("身份证号", "身份证号码", "证件号码", "居民身份证号码"),
    "身份证号": ("公民身份号码", "身份证号码", "证件号码", "居民身份证号码"),
    "儿童身份证号": ("儿童身份证号码", "儿童证件号码"),
    "姓名": ("学生姓名", "人员姓名"),
    "儿童姓名": ("姓名",),
    "学籍号": ("全国学籍号", "学籍编号"),
    "出生日期": ("出生年月日",),
    "行政区划代码": ("区划代码",),
    "村代码": ("行政区划代码", "区划代码"),
    "户籍地址": ("住址", "户籍住址"),
    "学校代码": ("学校标识码",),
    "监护人联系电话": ("联系电话", "监护人电话"),
}


def layout_of(kind: str, header: Sequence[str], required: Iterable[str]) -> Layout:
    """A layout from an export's column list, the required ones and the shared synonyms."""
    need = set(required)
    unknown = need - set(header)
    if unknown:
        raise ValueError(f"required columns {sorted(unknown)} are not in the {kind} header")
    return Layout(kind, [Column(h, SYNONYMS.get(h, ()), h in need) for h in header])
