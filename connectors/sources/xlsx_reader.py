"""Rows of an XLSX workbook: the sheet and header row that match a layout, values as text.

Kept apart from the CSV reader because a workbook is read whole (no cursor offset), its
header may sit below a title or on a later sheet, and Excel's cell types (dates, numbers)
must come back as the text a county typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from connectors.sources.base import FileNote, UnreadableFile
from connectors.sources.layout import Layout, header_key

__all__ = [
    "xlsx_rows",
]


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
                header = [header_key(c) if c is not None else "" for c in values]
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
