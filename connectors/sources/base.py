"""What every source connector provides, and how its reader marks what it finds wrong.

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

The readers that file-export sources share live beside this module, one concern each:
``layout`` (columns and their synonyms), ``cursor`` (where a read of each file stopped),
``encoding``, ``csv_reader``, ``xlsx_reader``, ``json_reader``, ``folder`` (what a source
folder holds) and ``tables`` (a folder of CSV/XLSX exports, read with all of them).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention
from connectors.sources.cursor import file_digest
from connectors.standardise import Reference, Rejected
from graph.records import NodeRecord, RelRecord

__all__ = [
    "FILE_KIND",
    "REJECTED",
    "TRUNCATED",
    "DuplicateIds",
    "Emitted",
    "FileNote",
    "Interpreted",
    "Need",
    "Source",
    "SourceFolderError",
    "UnreadableFile",
    "file_record",
    "rejected_at_read",
    "with_rejection",
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


class UnreadableFile(Exception):
    """A file that cannot be read at all; ``code`` and the message go to its quarantine record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


@dataclass
class FileNote:
    """What a read did with one file of a source folder (listed in the run report)."""

    file: str
    status: str  # read | unchanged | ignored | failed | empty | stopped (the read failed in it)
    reason: str = ""
    encoding: str | None = None
    kind: str | None = None
    records: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", [], 0) or k == "status"}
