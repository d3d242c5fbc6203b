"""What a source folder holds: the files a source reads, and the entries it never does.

Every entry of the folder is either read or listed in the run report with why not, so the
listing and the name matching are shared by every file-export source.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

from connectors.sources.base import FileNote, SourceFolderError
from kernel.messages import say

__all__ = [
    "first_match",
    "folder_files",
]


def folder_files(root: Path) -> tuple[list[tuple[Path, str]], list[FileNote]]:
    """Every regular file directly in a source folder, with its relative name, and the
    entries that are not read whatever their name (sub-folders, hidden and temporary files,
    broken links, pipes, sockets and devices), each noted with why, so the report lists every
    entry of the folder.

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
        elif path.is_symlink():  # a link whose target is gone: said, not silently passed over
            skipped.append(FileNote(rel, "ignored", say("folder.broken_link")))
        else:  # a named pipe, socket or device: reading it could block or never end
            skipped.append(FileNote(rel, "ignored", say("folder.not_a_file")))
    if not files:
        raise SourceFolderError(f"来源目录为空：{root}（没有可读取的文件）")
    return files, skipped


def first_match(rel: str, patterns: Sequence[str]) -> int | None:
    """Index of the first glob pattern that ``rel`` matches."""
    for i, pattern in enumerate(patterns):
        if fnmatch.fnmatchcase(rel, pattern):
            return i
    return None
