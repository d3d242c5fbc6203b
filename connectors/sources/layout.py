"""Columns of tabular exports, and how a county's header maps onto them.

Every county names columns its own way (公民身份号码/身份证号/证件号码) and keeps only some
of them: a :class:`Layout` reads a header under its columns' synonyms and says which are
missing, and :func:`row_getter` reads a landed row under that layout. Kept apart from the
CSV and XLSX readers because both, and every tabular source, read rows the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.sources.base import TRUNCATED
from connectors.standardise import Rejected, clean_text
from kernel.messages import say

__all__ = [
    "SYNONYMS",
    "Column",
    "Layout",
    "RowReader",
    "layout_of",
    "row_getter",
]


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


def header_key(text: object) -> str:
    return clean_text(text).replace(" ", "").lstrip("*＊").rstrip("*＊")


# A note a template adds after a column's name: 姓名（必填）, 出生日期(YYYYMMDD), 身份证号【18位】.
_ANNOTATION = re.compile(r"^(.+?)[(（【\[][^()（）【】\[\]]*[)）】\]]$")


def distinct_header(header: Sequence[str]) -> tuple[list[str], list[str]]:
    """The header with a repeated column name made distinct (``户籍地址`` the second time is
    ``户籍地址（第 19 列）``), and a note naming each repeat for the file's line in the report.

    A row is read as column → value, so a name given twice kept only the last column's value
    (an export with a blank second 户籍地址 loaded every address blank, without a word). The
    first column keeps the name and is read; the others are listed as not read."""
    seen: set[str] = set()
    out: list[str] = []
    notes: list[str] = []
    for i, h in enumerate(header):
        if h and h in seen:
            notes.append(f"列名「{h}」重复：读取第一个「{h}」列，第 {i + 1} 列未读取")
            h = f"{h}（第 {i + 1} 列）"
        seen.add(h)
        out.append(h)
    return out, notes


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
        self._lookup = {header_key(n): c.name for c in self.columns for n in c.names}
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
            col = self.lookup(k)
            if col is not None and col not in out:
                out[col] = k
        if len(self._cache) < 256:
            self._cache[found] = out
        return out

    def lookup(self, name: str) -> str | None:
        """The column a header cell names: under any of its names, also with a template's note
        after the name (``姓名（必填）``, ``出生日期(YYYYMMDD)``), which is not part of it."""
        key = header_key(name)
        col = self._lookup.get(key)
        if col is None and (m := _ANNOTATION.match(key)) is not None:
            col = self._lookup.get(m[1])
        return col

    def knows(self, name: str) -> bool:
        return self.lookup(name) is not None

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
