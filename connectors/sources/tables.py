"""A folder of tabular exports (CSV, XLSX) read into records, with a note on every file.

The household register and the student registry are folders of such files: this puts the
folder listing, the layouts, the encoding, the CSV and XLSX readers and the cursor together
so that a tabular source only declares its :class:`TableFile` kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.landing import RawRecord
from connectors.sources.base import DuplicateIds, FileNote, UnreadableFile, file_record
from connectors.sources.csv_reader import (
    as_utf8,
    csv_records,
    delimiter,
    header_text,
    read_header,
)
from connectors.sources.cursor import FileCursor, file_digest, file_mtime, mark_file
from connectors.sources.encoding import detect_encoding, encoding_family
from connectors.sources.folder import first_match, folder_files
from connectors.sources.layout import Layout, distinct_header
from connectors.sources.xlsx_reader import sheet_row, xlsx_rows
from connectors.standardise import clean_text
from kernel.messages import say

__all__ = [
    "Asserted",
    "TableFile",
    "read_tables",
]


@dataclass(frozen=True)
class TableFile:
    """One kind of file of a tabular source: its name pattern, format, columns, record id."""

    pattern: str
    kind: str
    layout: Layout
    id_column: str
    fmt: str = "csv"  # csv | xlsx
    group_column: str | None = None


# Workbook formats the readers do not open: named when such a file is sent in place of an .xlsx.
_OLD_WORKBOOKS = {".xls": "Excel 97-2003（.xls）", ".ods": "OpenDocument（.ods）", ".et": "WPS（.et）"}


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
        # Excel's "Unicode text" export is a tab-separated .txt: read as a CSV whose header matches.
        kind = "csv" if suffix in (".txt", ".tsv") else suffix.lstrip(".")
        candidates = [f for f in formats if f.fmt == kind]
        sniffed = _sniff(path, candidates) if candidates else None
        if sniffed is not None:
            j = list(formats).index(sniffed)
            plan.append(
                (j, rel, path, sniffed, f"文件名不符合 {sniffed.pattern}，按表头识别为 {sniffed.kind}")
            )
            continue
        wanted = "、".join(dict.fromkeys(f.pattern for f in formats))
        why = f"文件名不符合本来源的格式（{wanted}）" + ("，表头也不匹配" if candidates else "")
        if suffix in _OLD_WORKBOOKS:  # not read, but the clerk is told what to send instead
            why = say("file.old_workbook", file=rel, kind=_OLD_WORKBOOKS[suffix])
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
        if path.suffix.lower() in (".csv", ".txt", ".tsv"):
            with open(path, "rb") as fh:
                head = fh.read(64 * 1024)
            enc = detect_encoding(head)
            if enc == "utf-16":  # cut at an even length: a character is two bytes
                head, enc = as_utf8(head[: len(head) // 2 * 2], enc)
                head = head.decode("utf-8", "ignore").encode("utf-8")
            else:
                enc = detect_encoding(head.rpartition(b"\n")[0] or head)
            found = ((f, header_line(head, enc, f.layout)) for f in candidates)
            return next((f for f, at in found if f.layout.matches(read_header(head, enc, at))), None)
        for f in candidates:
            try:
                next(xlsx_rows(path.read_bytes(), path.name, [f.layout]), None)
            except UnreadableFile:
                continue
            return f
    except OSError:
        return None
    return None


def header_line(data: bytes, encoding: str, layout: Layout) -> int:
    """The line (0-based) of a CSV file's header: the first, unless it lacks the layout's
    required columns and one of the next nine lines has them (a title such as
    ``宁川县户籍人口信息表`` above the header put every row in quarantine as column.missing)."""
    if layout.matches(read_header(data, encoding)):
        return 0
    return next((i for i in range(1, 10) if layout.matches(read_header(data, encoding, i))), 0)


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
    if expected and encoding_family(enc) != encoding_family(expected):
        note.notes.append(f"编码为 {enc}（本来源通常为 {expected}），已按 {enc} 读取")
    data, enc = as_utf8(data, enc)
    if data.endswith(b"\x1a"):  # DOS's end-of-file mark (Ctrl-Z) after the last row: no row
        data = data.rstrip(b"\x1a")
        note.notes.append(say("file.ctrl_z"))
    at = header_line(data, enc, fmt.layout)
    header, repeats = distinct_header(read_header(data, enc, at))
    keys = fmt.layout.keys_for(header)
    missing, _, _ = fmt.layout.check(header)
    if missing:
        note.notes.append(
            f"缺少必需列 {'、'.join(fmt.layout.describe(m) for m in missing)}：各行隔离为 column.missing"
        )
    if at:
        note.notes.append(f"表头在第 {at + 1} 行（其上 {at} 行为标题，未读取）")
    if delimiter(header_text(data, enc, at)) == "\t":
        note.notes.append(say("file.tab_separated"))
    note.notes.extend(repeats)
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

    yield from csv_records(path, rel, cursor, make, data=data, encoding=enc, note=note, header_at=at)
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
        for layout, sheet, n, row in xlsx_rows(data, rel, [fmt.layout], note):
            keys = layout.keys_for(row)
            get = _reader(row, keys)
            origin, where = sheet_row(rel, sheet, n)
            rid = clean_text(get(fmt.id_column)) or origin
            row = dupes.check(rid, where, row)
            group = clean_text(get(fmt.group_column)) if fmt.group_column else None
            at = asserted(fmt.kind, get, mtime) if asserted else mtime
            note.records += 1
            yield RawRecord(rid, fmt.kind, row, origin, at, group or None)
    except UnreadableFile as exc:
        note.status, note.reason = "failed", exc.message
        yield file_record(rel, data, exc.code, exc.message, mtime)
    mark_file(rel, data, cursor)
