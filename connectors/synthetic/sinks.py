"""Streaming writers for the source formats: CSV, XLSX, FHIR Bundle JSON, JSON lists.

Rows go to disk as they are made, so a 200,000-person county never sits in memory.
Every writer produces the same bytes for the same calls: XLSX files are rewritten with
fixed ZIP timestamps and document dates, since openpyxl stamps the wall clock into both.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

# The fixed instant written into XLSX metadata (the ZIP format cannot store earlier than 1980).
_FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
_CORE_DATE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


class CsvSink:
    """A CSV file with a header, in the encoding and line ending of its source system."""

    def __init__(
        self, path: Path, header: Sequence[str], *, encoding: str = "utf-8", lineterminator: str = "\n"
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "w", encoding=encoding, newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file, lineterminator=lineterminator)
        self._writer.writerow(header)
        self.width = len(header)
        self.rows = 0

    def write(self, row: Sequence[Any]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class XlsxSink:
    """One worksheet written row by row (openpyxl write-only mode), made reproducible."""

    def __init__(self, path: Path, sheet: str, header: Sequence[str], *, title: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._wb = Workbook(write_only=True)
        fixed = datetime(*_FIXED_ZIP_TIME)
        self._wb.properties.created = fixed
        self._wb.properties.modified = fixed
        self._wb.properties.creator = "shouhu-synthetic"
        if title:
            self._wb.properties.title = title
        self._ws = self._wb.create_sheet(sheet)
        self._ws.append(list(header))
        self.width = len(header)
        self.rows = 0

    def write(self, row: Sequence[Any]) -> None:
        self._ws.append(list(row))
        self.rows += 1

    def close(self) -> None:
        self._wb.save(self.path)
        normalise_zip(self.path)


def normalise_zip(path: Path) -> None:
    """Rewrite a ZIP (XLSX) with fixed entry times and document dates, same order."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATE.sub(rb"\g<1>2024-01-01T00:00:00Z\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, data)
    path.write_bytes(buffer.getvalue())


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class BundleSink:
    """FHIR R4 Bundles of type ``collection``, streamed, one entry per line.

    A new file is started once ``max_entries`` is passed, but only between patients
    (:meth:`end_group`), so every reference in a bundle resolves inside it.
    """

    def __init__(self, directory: Path, stem: str, bundle_ids: Any, timestamp: str, max_entries: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.stem = stem
        self._bundle_ids = bundle_ids  # callable returning a fresh id
        self.timestamp = timestamp
        self.max_entries = max_entries
        self.files: list[tuple[Path, int]] = []  # (path, entries) of closed files
        self._file: Any = None
        self._entries = 0
        self._part = 0

    def current_name(self) -> str:
        """The file name the next entry will be written to."""
        return f"{self.stem}-{self._part + (0 if self._file is not None else 1):03d}.json"

    def _open(self) -> None:
        self._part += 1
        path = self.directory / f"{self.stem}-{self._part:03d}.json"
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in _close()
        self._path = path
        header = {
            "resourceType": "Bundle",
            "id": self._bundle_ids(),
            "meta": {"lastUpdated": self.timestamp},
            "type": "collection",
            "timestamp": self.timestamp,
        }
        self._file.write(_json(header)[:-1] + ',"entry":[\n')
        self._entries = 0

    def add(self, full_url: str, resource: dict[str, Any]) -> None:
        if self._file is None:
            self._open()
        if self._entries:
            self._file.write(",\n")
        self._file.write(_json({"fullUrl": full_url, "resource": resource}))
        self._entries += 1

    def end_group(self) -> None:
        if self._file is not None and self._entries >= self.max_entries:
            self._close()

    def _close(self) -> None:
        self._file.write("\n]}\n")
        self._file.close()
        self.files.append((self._path, self._entries))
        self._file = None

    def close(self) -> None:
        if self._file is not None:
            self._close()


def write_json_list(path: Path, items: list[dict[str, Any]]) -> None:
    """A JSON array, one item per line: valid JSON that still diffs and greps well."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        if not items:
            f.write("[]\n")
            return
        f.write("[\n")
        f.write(",\n".join(_json(item) for item in items))
        f.write("\n]\n")
