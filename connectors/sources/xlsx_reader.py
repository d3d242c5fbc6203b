"""Rows of an XLSX workbook: the sheet and header row that match a layout, values as text.

Kept apart from the CSV reader because a workbook is read whole (no cursor offset), its
header may sit below a title or on a later sheet, and Excel's cell types (dates, numbers)
must come back as the text a county typed.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from connectors.sources.base import FileNote, UnreadableFile, with_rejection
from connectors.sources.layout import Layout, distinct_header, header_key
from kernel.messages import say

__all__ = [
    "sheet_row",
    "xlsx_rows",
]


def sheet_row(rel: str, sheet: str | None, n: int) -> tuple[str, str]:
    """(origin, where) of a workbook row: ``学籍.xlsx:5`` and ``第 5 行``, with the sheet's name
    when a workbook has several sheets of records (row 5 is then on each of them)."""
    if sheet is None:
        return f"{rel}:{n}", f"第 {n} 行"
    return f"{rel}:{sheet}!{n}", f"工作表「{sheet}」第 {n} 行"


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
) -> Iterator[tuple[Layout, str | None, int, dict[str, Any]]]:
    """(layout, sheet, row number, column → value) of every worksheet whose header matches a layout.

    A workbook often opens with a cover or instruction sheet, and a county may put each
    township on a sheet of its own: every sheet is looked at, the header is the first of its
    first ten rows that has all the required columns of a layout, and every sheet with one is
    read (``sheet`` is its name when more than one is read, else ``None``). A header typed over
    two rows (a group label such as 学校信息 merged above its columns) is read as one. The
    other sheets are named in ``note`` as ignored. Excel date cells come back as ISO date text;
    every other value as text as typed; every header column is present (Excel stores no cell
    for a trailing blank). Raises :class:`UnreadableFile` when the file is no workbook or no
    sheet matches.
    """
    import io

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _BROKEN as exc:  # openpyxl reads each sheet's start at open: a corrupt one fails here
        kind = _other_workbook(data)
        if kind is not None:  # an .xls or .ods renamed: the clerk is told what to send instead
            raise UnreadableFile(
                "file.unreadable", say("file.old_workbook_named_xlsx", file=rel, kind=kind)
            ) from None
        raise UnreadableFile(
            "file.unreadable", f"{rel} 不是可读的 XLSX 工作簿（{type(exc).__name__}）"
        ) from None
    given = 0  # data rows given before a failure, named in its reason
    try:
        chosen, passed_over = _records_sheets(
            [found for ws in wb.worksheets if (found := _sheet_header(ws, layouts)) is not None]
        )
        if not chosen:
            wanted = "；".join("、".join(c.name for c in lay.columns if c.required) for lay in layouts)
            sheets = "、".join(ws.title for ws in wb.worksheets)
            raise UnreadableFile(
                "file.no_matching_sheet",
                f"{rel} 的工作表（{sheets}）都没有含必需列的表头（需要：{wanted}）",
            )
        several = len(chosen) > 1
        if note is not None:
            note.kind = chosen[0][3].kind
            read = {ws.title for ws, *_ in chosen}
            skipped = {ws.title for ws, *_ in passed_over}
            others = [s.title for s in wb.worksheets if s.title not in read | skipped]
            if several:
                note.notes.append(f"读取工作表 {'、'.join(f'「{ws.title}」' for ws, *_ in chosen)}")
            if others:
                note.notes.append(
                    (f"读取工作表「{chosen[0][0].title}」；" if not several else "")
                    + f"忽略工作表 {'、'.join(others)}（表头不匹配）"
                )
            if passed_over:
                names = say("workflow.list_sep").join(ws.title for ws, *_ in passed_over)
                note.notes.append(say("xlsx.guide_sheets_ignored", names=names))
        for ws, header_rows, typed, layout in chosen:
            sheet = ws.title if several else None
            header, repeats = distinct_header(typed)
            if note is not None:
                at = f"工作表「{ws.title}」" if several else ""
                first, last = header_rows
                if last > first:
                    note.notes.append(f"{at}表头在第 {first}–{last} 行（两行合并读取）")
                elif first > 1:
                    note.notes.append(f"{at}表头在第 {first} 行")
                note.notes.extend(repeats)
                note.notes.extend(layout.header_notes(header))
            uncomputed = _uncomputed(ws)
            for n, row in _data_rows(ws, header_rows[1], header):
                given += 1
                blank = [
                    header[c - 1]
                    for c in sorted(uncomputed.get(n, ()))
                    if c <= len(header) and header[c - 1] and row.get(header[c - 1]) == ""
                ]
                if blank:  # read as empty, the formula's value was never computed: not a blank cell
                    where = sheet_row(rel, sheet, n)[1]
                    row = with_rejection(
                        row,
                        "formula.uncomputed",
                        say("file.formula_uncomputed", where=where, columns="、".join(blank)),
                    )
                yield layout, sheet, n, row
    except _BROKEN as exc:
        # A workbook whose directory opens but a sheet's stream or XML is corrupt fails while its
        # rows are read: it is that file's failure (its unreadable-file record, the rows given before
        # kept and counted in the reason), never the source's, so the folder's other files are read.
        raise UnreadableFile(
            "file.unreadable", say("file.xlsx_broken", file=rel, kind=type(exc).__name__, rows=given)
        ) from None
    finally:
        wb.close()


# A formula cell (<f>) with no computed value: no <v>, or an empty one on a cell not typed as text
# (a formula whose result is the empty text is t="str" with an empty <v>, and is read as empty).
_FORMULA_CELL = re.compile(rb"<c\b([^>]*)>\s*<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')


def _uncomputed(ws: Any) -> dict[int, set[int]]:
    """Row → columns of a sheet's formula cells whose value was never computed. Excel and WPS cache
    every formula's value in the file; a program writing a workbook (openpyxl, a web system's export)
    may not, and a reader of values (data_only) then sees an empty cell: the row would load with that
    column blank. Empty for a workbook Excel or WPS saved (one scan of the sheet's XML)."""
    from openpyxl.utils import column_index_from_string

    try:
        xml = ws.parent._archive.read(ws._worksheet_path)
    except (AttributeError, KeyError):
        return {}
    found: dict[int, set[int]] = {}
    if b"<f" not in xml:
        return found
    for m in _FORMULA_CELL.finditer(xml):
        attrs = m.group(1)
        ref = _CELL_REF.search(attrs)
        if ref is None or b't="str"' in attrs:
            continue
        found.setdefault(int(ref.group(2)), set()).add(column_index_from_string(ref.group(1).decode()))
    return found


def _other_workbook(data: bytes) -> str | None:
    """The kind of a workbook that is no .xlsx, by its first bytes: Excel 97-2003's compound file
    (also WPS's .et), or an OpenDocument spreadsheet (a zip whose first member names its type)."""
    if data.startswith(bytes.fromhex("D0CF11E0A1B11AE1")):
        return "Excel 97-2003（.xls）"
    if data.startswith(b"PK") and b"application/vnd.oasis.opendocument.spreadsheet" in data[:200]:
        return "OpenDocument（.ods）"
    return None


# What a corrupt sheet raises while it is read: its compressed stream (zlib, a CRC or a truncated
# member) or its XML (ParseError and lxml's XMLSyntaxError are SyntaxErrors), or openpyxl on what
# it finds there.
_BROKEN: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    SyntaxError,
    KeyError,
    ValueError,
    OSError,
)


# A template's instruction or example sheet: its header is often the data sheet's, with an example
# row (a made-up child) under it.
_GUIDE_SHEET = re.compile(r"说明|示例|样例|范例|填表|填写|例子")


def _records_sheets(found: list[_Header]) -> tuple[list[_Header], list[_Header]]:
    """The sheets of records among those whose header matches: every township's sheet, but not a
    template's instruction sheet (填表说明, 示例) nor a hidden sheet (a clerk's old copy, a
    lookup), whose example row or stale rows were read as records. Either is still read when no
    other sheet matches (a clerk who typed the records into the template's 示例 sheet). Returns
    (sheets read, sheets passed over)."""
    kept = [f for f in found if not _GUIDE_SHEET.search(f[0].title) and f[0].sheet_state == "visible"]
    if not kept:
        return found, []
    return kept, [f for f in found if f not in kept]


def _data_rows(ws: Any, header_row: int, header: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    down = _merged_down(ws, header_row)
    kept: dict[tuple[int, int], Any] = {}  # (first row, column) of a merge → its value
    for n, values in enumerate(ws.iter_rows(values_only=True, min_row=header_row + 1), start=header_row + 1):
        cells = list(values)
        if all(c in (None, "") for c in cells):
            # Nothing of its own: a row under a merge (a 备注 merged down past the last record, a
            # signature merged over three rows) is no record, whatever the merge fills in.
            continue
        for first, last, col in down:
            if first == n and col < len(cells):
                kept[(first, col)] = cells[col]
            elif first < n <= last:
                cells.extend([None] * (col + 1 - len(cells)))
                cells[col] = kept.get((first, col))
        if all(c in (None, "") for c in cells):
            continue
        row: dict[str, Any] = {h: "" for h in header if h}
        for h, v in zip(header, cells, strict=False):
            if h:
                row[h] = _cell(v)
        if len(cells) > len(header) and any(c not in (None, "") for c in cells[len(header) :]):
            row["_extra"] = json.dumps([_cell(c) for c in cells[len(header) :]], ensure_ascii=False)
        yield n, row


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+[0-9]+):([A-Z]+[0-9]+)"')


def _merged_down(ws: Any, header_row: int) -> list[tuple[int, int, int]]:
    """(first row, last row, 0-based column) of every merged cell below the header.

    A clerk merges a class's 学校名称/班级 or a household's 户号 down its rows; Excel keeps the
    value in the first cell only, and openpyxl's read-only sheet reads the others as blank: the
    school or household of every row but the first was lost. Each row of a merge is read with
    the merge's value, in the merge's first column (a note merged across columns is not copied
    into the columns beside it)."""
    from openpyxl.utils.cell import coordinate_to_tuple

    archive, path = getattr(ws.parent, "_archive", None), getattr(ws, "_worksheet_path", None)
    if archive is None or path is None:
        return []
    found = []
    for a, b in _MERGE.findall(archive.read(path)):
        (r1, c1), (r2, _) = coordinate_to_tuple(a.decode()), coordinate_to_tuple(b.decode())
        if r1 > header_row and r2 > r1:
            found.append((r1, r2, c1 - 1))
    return found


_Header = tuple[Any, tuple[int, int], list[str], Layout]


def _sheet_header(ws: Any, layouts: Sequence[Layout]) -> _Header | None:
    """(sheet, (first, last) header row, header, layout) of a sheet whose header matches a layout.

    A header over two rows (``学校信息`` merged above 学校名称、年级…, the other columns' names
    merged down both rows) is the lower row's name where it has one, else the upper's; it is
    taken when the lower row names a layout column under a blank or unknown upper cell, so
    the columns under a group label are read instead of being reported missing and their row
    of names landed as a record.
    """
    rows = [
        [header_key(c) if c is not None else "" for c in values]
        for values in ws.iter_rows(values_only=True, max_row=11)
    ]
    best: tuple[int, _Header] | None = None
    for i, upper in enumerate(rows[:10]):
        lower = rows[i + 1] if i + 1 < len(rows) else []
        for layout in layouts:
            two = _two_row_header(upper, lower, layout)
            single = _trimmed(upper)
            for header, last in ((two, i + 2), (single, i + 1)):
                if header and layout.matches(header):
                    # The candidate naming the most columns: a title row above a header's first
                    # row would otherwise pass for the upper row of a header over two rows.
                    score = len(layout.keys_for(header))
                    if best is None or score > best[0]:
                        best = (score, (ws, (i + 1, last), header, layout))
    return None if best is None else best[1]


def _trimmed(header: list[str]) -> list[str]:
    header = list(header)
    while header and not header[-1]:
        header.pop()
    return header


def _two_row_header(upper: list[str], lower: list[str], layout: Layout) -> list[str] | None:
    """The header of two rows read as one, or ``None`` when ``lower`` is not a second header row.

    ``lower`` continues the header when it names a column of ``layout`` under a blank or
    unknown cell of ``upper`` and most of its cells are column names (a data row's values
    are not)."""
    filled = [c for c in lower if c]
    known = [c for c in filled if layout.knows(c)]
    if not known or len(known) * 2 <= len(filled):
        return None
    under_group = any(
        c and layout.knows(c) and not (i < len(upper) and upper[i] and layout.knows(upper[i]))
        for i, c in enumerate(lower)
    )
    if not under_group:
        return None
    width = max(len(upper), len(lower))
    lower = lower + [""] * (width - len(lower))
    upper = upper + [""] * (width - len(upper))
    merged = _trimmed([lower[i] or upper[i] for i in range(width)])
    if len(layout.keys_for(merged)) <= len(layout.keys_for(_trimmed(lower))):
        # The upper row names no column the lower row lacks: a title above a header of one row
        # (said as such, and the title is not the name of a column the header left unnamed).
        return None
    return merged
