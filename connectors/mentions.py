"""What a source record says about one person: the unit entity resolution works on.

Every connector turns each source record that names a person into one
:class:`PersonMention` per person named in it (a pupil record also names the father,
the mother and the guardian). Entity resolution (``connectors.resolution``) receives
these, never the raw records, so it does not have to know any source's format, and the
pipeline receives back a stable person key for each ``(system, record_id)``.

The fields are already standardised by :mod:`connectors.standardise`: an ID number is
present only when it is normalised and valid (an invalid one is no evidence of identity
and would only make wrong merges: it is kept beside, in ``id_claim`` with its validation
status ``id_status``, and never compared), names are as the source wrote them (resolution
compares :func:`connectors.standardise.normalise_name` of them; ``name_pinyin`` is derived
from the name), dates are :class:`datetime.date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kernel.names import name_pinyin

__all__ = ["ROLE_SUFFIXES", "PersonMention", "mention_record_id"]

# The suffixes that name people mentioned inside another person's record.
ROLE_SUFFIXES: tuple[str, ...] = ("father", "mother", "guardian")


@dataclass(frozen=True, slots=True)
class PersonMention:
    """One person as one source record names them.

    ``system`` is the source system (``education``, ``hukou``, ``health``, ``survey``,
    ...); ``record_id`` is the source record's id, with ``#father``/``#mother``/
    ``#guardian`` appended for people named inside another record, so the pair is unique
    and stable across re-runs. ``role`` says what the person is in that record (``child``,
    ``pupil``, ``member``, ``patient``, ``father``, ``mother``, ``guardian``, ...).
    ``division`` is a 12-digit village code; ``sex`` is ``'M'`` or ``'F'``.
    """

    system: str
    record_id: str
    role: str
    name: str | None = None
    id_number: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    division: str | None = None
    household_number: str | None = None
    phone: str | None = None
    # An ID number the record claims that failed validation, as given, and why (never a key).
    id_claim: str | None = None
    id_status: str | None = None

    @property
    def name_pinyin(self) -> str | None:
        """The surname-aware toneless key of the name (:func:`kernel.names.name_pinyin`): derived,
        never passed, so every source stores the key the search and the resolver compute."""
        return name_pinyin(self.name) or None if self.name else None

    @property
    def key(self) -> tuple[str, str]:
        """The ``(system, record_id)`` pair resolution maps to a person key."""
        return (self.system, self.record_id)


def mention_record_id(record_id: str, role: str | None = None) -> str:
    """The mention id of a person named inside record ``record_id`` in ``role``.

    ``None`` (the record's own subject) gives the record id itself.
    """
    if role is None:
        return record_id
    if role not in ROLE_SUFFIXES:
        raise ValueError(f"unknown embedded role {role!r}; expected one of {ROLE_SUFFIXES}")
    return f"{record_id}#{role}"
