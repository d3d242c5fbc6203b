"""The resident identity card number (居民身份证号码) of GB 11643-1999.

Eighteen characters: a 6-digit region code (where the number was first issued, which
need not be where the person lives now, and which may be a code retired since), an
8-digit birth date ``YYYYMMDD``, a 3-digit sequence whose parity gives the sex (odd =
male), and a check character computed with ISO 7064 MOD 11-2 (``X`` stands for 10).

Every connector validates ID numbers through this module so that a record is quarantined
for the same reason whichever source it came from; the reason codes are stable strings a
validator can count and a caseworker can read.
"""

from __future__ import annotations

import functools
import operator
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Literal

from kernel import clock
from kernel.messages import say

__all__ = [
    "PROVINCE_CODES",
    "IdNumber",
    "InvalidIdNumber",
    "ReasonCode",
    "check_digit",
    "is_valid_id_number",
    "make_id_number",
    "normalise_id_number",
    "parse_id_number",
]

# ISO 7064 MOD 11-2 weights are 2^(17-i) mod 11 for positions i = 0..16.
_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# The check character for each remainder of the weighted sum modulo 11.
_CHECK_CHARS = "10X98765432"

# Province-level codes of GB/T 2260 (including Taiwan 71, Hong Kong 81, Macao 82, whose
# residents' mainland documents use them). A number whose first two digits are not here
# was mistyped or invented.
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)

# Nobody alive was born before this; an earlier year is a typo, not a centenarian.
_EARLIEST_BIRTH = date(1900, 1, 1)

ReasonCode = Literal["length", "characters", "check_digit", "birth_date", "region"]


class InvalidIdNumber(ValueError):
    """An ID number that cannot be accepted, with a machine-readable reason.

    ``reason_code`` is one of :data:`ReasonCode`; validators put it in the quarantine
    table so that the share of each failure per source can be counted.
    """

    def __init__(self, reason_code: ReasonCode, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code: ReasonCode = reason_code
        self.message = message


@dataclass(frozen=True)
class IdNumber:
    """A parsed, valid ID number; ``number`` is the normalised 18-character form."""

    number: str
    region_code: str
    birth_date: date
    sequence: int
    sex: Literal["M", "F"]

    @property
    def province_code(self) -> str:
        return self.region_code[:2]

    def __str__(self) -> str:
        return self.number


def normalise_id_number(s: str) -> str:
    """Full-width digits and ``ｘ``/``x`` become ASCII ``0-9``/``X``; surrounding blanks go.

    Sources typed by hand (village survey forms, clinic front desks) carry IME full-width
    characters and lower-case x; these are the same number and must compare equal.
    """
    text = unicodedata.normalize("NFKC", s).strip()
    return text[:-1] + "X" if text.endswith("x") else text


@functools.lru_cache(maxsize=1 << 16)
def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits (``'X'`` for 10).

    Remembered for the last numbers asked: a sync checks each number three times or more
    (the source's standardisation, the resolver's mention, each source that names the person).
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"check_digit needs 17 ASCII digits, got {first17!r}")
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def make_id_number(region6: str, birth: date, seq3: int) -> str:
    """Compose a valid number; an odd ``seq3`` makes a man's number, an even one a woman's."""
    if len(region6) != 6 or not region6.isascii() or not region6.isdigit():
        raise ValueError(f"region code must be 6 digits, got {region6!r}")
    if not 0 <= seq3 <= 999:
        raise ValueError(f"sequence must be 0..999, got {seq3}")
    first17 = f"{region6}{birth:%Y%m%d}{seq3:03d}"
    return first17 + check_digit(first17)


def parse_id_number(
    s: str,
    *,
    today: date | None = None,
    known_regions: Collection[str] | None = None,
) -> IdNumber:
    """Validate and decompose an ID number, or raise :class:`InvalidIdNumber`.

    Checks run from the cheapest and most telling to the most semantic: ``length``,
    ``characters``, ``check_digit``, ``birth_date``, ``region``. A single mistyped digit
    anywhere is always caught by the check digit (MOD 11-2 detects every single
    substitution), so it is reported as ``check_digit`` rather than as whatever field the
    digit happened to fall in.

    ``today`` bounds the birth date (tests and replays pass a fixed day). ``known_regions``,
    when given, is the set of 6-digit region codes to accept (current and retired codes
    of a division table); without it only the province prefix is checked, because a
    person's number keeps the code of wherever it was first issued.
    """
    number = normalise_id_number(s)
    if len(number) != 18:
        hint = say("id.first_generation") if len(number) == 15 else ""
        raise InvalidIdNumber("length", say("id.length", n=len(number), hint=hint))
    first17, last = number[:17], number[17]
    if not (first17.isascii() and first17.isdigit() and (last == "X" or (last.isascii() and last.isdigit()))):
        raise InvalidIdNumber("characters", say("id.characters"))
    expected = check_digit(first17)
    if last != expected:
        raise InvalidIdNumber("check_digit", say("id.check_digit", last=last, expected=expected))
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth_date", say("id.birth_not_a_date", value=number[6:14])) from None
    if birth > (today or clock.today()):
        raise InvalidIdNumber("birth_date", say("id.birth_future", value=birth.isoformat()))
    if birth < _EARLIEST_BIRTH:
        raise InvalidIdNumber(
            "birth_date", say("id.birth_too_early", value=birth.isoformat(), year=_EARLIEST_BIRTH.year)
        )
    region = number[:6]
    if region[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber("region", say("id.province", value=region[:2]))
    if known_regions is not None and region not in known_regions:
        raise InvalidIdNumber("region", say("id.region", value=region))
    seq = int(number[14:17])
    sex: Literal["M", "F"] = "M" if seq % 2 else "F"
    return IdNumber(number=number, region_code=region, birth_date=birth, sequence=seq, sex=sex)


def is_valid_id_number(s: str, *, today: date | None = None) -> bool:
    """True when :func:`parse_id_number` accepts ``s``; for filters that need no reason."""
    try:
        parse_id_number(s, today=today)
    except InvalidIdNumber:
        return False
    return True
