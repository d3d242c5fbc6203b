"""Where a file-export source stopped reading, per file, and the file facts it compares.

A sync reads only what changed since the last one: the cursor keeps, per file, how far it
was read and the digest of those bytes. Kept apart so that every reader (CSV, XLSX, JSON)
and the Source contract share one notion of "this file, as seen last time".
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.standardise import utc_from_timestamp

__all__ = [
    "FileCursor",
    "file_digest",
    "file_mtime",
    "mark_file",
    "whole_file_changed",
]


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


def whole_file_changed(path: Path, rel: str, cursor: FileCursor) -> bytes | None:
    """The file's bytes when it differs from what the cursor saw, else ``None``."""
    data = path.read_bytes()
    digest = file_digest(data)
    if cursor.files.get(rel, {}).get("sha256") == digest:
        return None
    return data


def mark_file(rel: str, data: bytes, cursor: FileCursor) -> None:
    cursor.files[rel] = {"sha256": file_digest(data), "size": len(data)}
