"""Standard forms of the values every source spells its own way: names, dates, codes (pinyin: kernel.names).

A connector parses its format and then hands every name, date, sex, ID number, phone
number and division code through this module, so the same person described by the
household register, a school and a village supervisor ends up with byte-identical values
wherever the sources agree, and so a value that cannot be read raises :class:`Rejected`
with the same reason code whichever source it came from.

Also here: :class:`Reference`, the division, school and facility tables a county exports
beside its data (``reference/``), used to check division codes (current and retired),
to map retired codes to their successors, and to place a free-text address in a village.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from connectors.idnumber import InvalidIdNumber, parse_id_number
from kernel.messages import say

__all__ = [
    "CST",
    "IdCheck",
    "Reference",
    "Rejected",
    "check_id_number",
    "check_one_of",
    "clean_text",
    "given_name",
    "normalise_name",
    "parse_date",
    "parse_datetime",
    "parse_hukou_type",
    "parse_phone",
    "parse_sex",
    "validate_id_number",
]

# China Standard Time: the sources' clocks.
CST = timezone(timedelta(hours=8))


class Rejected(ValueError):
    """A record (or one of its values) that cannot be accepted, with a stable reason code.

    ``code`` is what the quarantine counts and filters by (``date.invalid``,
    ``field.missing``, ``id_number.check_digit`` ...); ``message`` says which field and
    why, for the caseworker who fixes the source.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def check_one_of(value: str, allowed: Collection[str], field: str) -> str:
    """``value`` when it is one of the words a source may write in ``field`` (``allowed``: a tuple
    of them, or a dict keyed by them), else :class:`Rejected` (``value.invalid``).

    The message names every allowed word, in the order the source documents them, so the
    clerk who fixes the record sees what to write instead.
    """
    if value not in allowed:
        raise Rejected(
            "value.invalid",
            say("reject.not_one_of", field=field, value=repr(value), allowed="、".join(allowed)),
        )
    return value


# ---- text and names -----------------------------------------------------------------------

# Middle dots of minority names typed with whatever the IME offered.
_DOTS = str.maketrans({"•": "·", "・": "·", "‧": "·", "∙": "·", "．": "·", "｡": "·", "ㆍ": "·"})


def clean_text(value: object) -> str:
    """NFKC, trimmed, inner runs of blanks collapsed; ``None`` becomes ``''``.

    NFKC folds the full-width digits and letters of Chinese IMEs into ASCII, which is
    what makes ``１３８…`` and ``138…`` the same phone number.
    """
    if value is None:
        return ""
    # str.split() splits on exactly the blanks ``\s`` matches (str.isspace): the same text as
    # re.sub(r"\s+", " ", ...).strip(), at half the cost (clean_text runs on every cell of every record).
    return " ".join(unicodedata.normalize("NFKC", value if type(value) is str else str(value)).split())


def given_name(value: object) -> str | None:
    """A person's name exactly as the source wrote it, outer blanks trimmed; ``None`` if blank.

    Stored as given, never rewritten: ``买买提 艾力`` keeps its space, ``阿依．古丽`` its dot,
    ``Ahmed Ali`` its space. Matching uses :func:`normalise_name`, computed beside it.
    """
    if value is None:
        return None
    text = str(value).strip(" \t\r\n\u3000\xa0")
    return text or None


def normalise_name(value: object) -> str | None:
    """The matching key of a name: one kind of middle dot, NFKC, no blanks in a Han name,
    single spaces between the words of a name in Latin letters. Empty is ``None``.

    Han names never contain spaces (a clerk's ``张 三`` is ``张三``; ``买买提 艾力`` is
    ``买买提艾力``); the dots are unified before NFKC, which would otherwise turn the
    full-width ``．`` into a full stop. Never stored as the name: it is only compared.
    """
    text = clean_text(str(value).translate(_DOTS) if value is not None else None).translate(_DOTS)
    if any(_is_han(ch) for ch in text):
        text = text.replace(" ", "")
    return text or None


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f"


# ---- dates ---------------------------------------------------------------------------------

_DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)
_EARLIEST = date(1900, 1, 1)


def parse_date(
    value: object,
    field_name: str,
    *,
    required: bool = False,
    not_after: date | None = None,
) -> date | None:
    """A calendar date from the spellings the sources use, or :class:`Rejected` ``date.invalid``.

    Accepted: ``2013-02-03``, ``20130203``, ``2013/2/3``, ``2013.2.3``, ``2013年2月3日``,
    an ISO date-time (its date part), and :class:`date`/:class:`datetime` objects (Excel
    cells). ``不详``, ``2013-02-30``, ``2013/13/05``, ``13年2月`` are rejected, not guessed:
    a guessed birth date would merge the wrong children. Blank is ``None`` unless
    ``required`` (then ``field.missing``).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean_text(value)
    if not text:
        if required:
            raise Rejected("field.missing", say("reject.blank", field=field_name)) from None
        return None
    if "T" in text and len(text) > 10:
        text = text.split("T", 1)[0]
    elif " " in text and len(text) > 10:
        text = text.split(" ", 1)[0]
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                d = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
            if d < _EARLIEST:
                raise Rejected(
                    "date.invalid",
                    say("reject.date_too_early", field=field_name, value=repr(text), year=_EARLIEST.year),
                )
            if not_after is not None and d > not_after:
                raise Rejected("date.invalid", say("reject.date_future", field=field_name, value=repr(text)))
            return d
    raise Rejected("date.invalid", say("reject.not_a_date", field=field_name, value=repr(text)))


def parse_datetime(value: object, field_name: str, *, required: bool = False) -> datetime | None:
    """An aware date-time: ISO 8601 with offset, or ``YYYY-MM-DD HH:MM[:SS]`` in China time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CST)
    text = clean_text(value)
    if not text:
        if required:
            raise Rejected("field.missing", say("reject.blank", field=field_name)) from None
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        d = parse_date(text, field_name)  # raises date.invalid with the field named
        if d is None:
            raise Rejected("field.missing", say("reject.blank", field=field_name)) from None
        dt = datetime(d.year, d.month, d.day)
    return dt if dt.tzinfo else dt.replace(tzinfo=CST)


def start_of_day(d: date) -> datetime:
    """Midnight China time of ``d``: the assertion time of a record dated by day only."""
    return datetime(d.year, d.month, d.day, tzinfo=CST)


def utc_from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# ---- codes ---------------------------------------------------------------------------------

_SEX = {"男": "M", "女": "F", "male": "M", "female": "F", "m": "M", "f": "F", "1": "M", "2": "F"}


def parse_sex(value: object, field_name: str = "sex") -> str | None:
    """``'M'``/``'F'`` from 男/女, FHIR male/female, GB/T 2261 1/2; blank or unknown is ``None``."""
    text = clean_text(value).lower()
    if not text or text in ("unknown", "other", "未知", "0", "9"):
        return None
    sex = _SEX.get(text)
    if sex is None:
        raise Rejected("value.invalid", say("reject.not_a_sex", field=field_name, value=repr(text)))
    return sex


_HUKOU = {"农业": "rural", "非农业": "urban", "农村": "rural", "城镇": "urban", "居民": "urban"}


def parse_hukou_type(value: object) -> str | None:
    """``rural``/``urban`` from 农业/非农业 (the register's 户口性质)."""
    text = clean_text(value)
    if not text:
        return None
    kind = _HUKOU.get(text)
    if kind is None:
        raise Rejected("value.invalid", say("reject.hukou_kind", value=repr(text)))
    return kind


def parse_phone(value: object) -> str | None:
    """Digits only, without +86; ``None`` for blank. Not validated further: landlines vary."""
    digits = re.sub(r"\D", "", clean_text(value))
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


@dataclass(frozen=True)
class IdCheck:
    """An ID number as a record claims it, and whether it passed validation.

    ``number`` is the normalised number when valid (the only form used to match people
    deterministically); ``claim`` is the text as given when it is not, kept as an
    unverified claim with ``status`` (``id_number.length``, ``id_number.check_digit``,
    ``id_number.number_cell`` ...) so it is never silently dropped.
    """

    number: str | None = None
    claim: str | None = None
    status: str | None = None
    message: str = ""


# An ID number typed into a numeric spreadsheet cell, read back as a float (5.0024820180524…e+17).
_NUMBER_CELL = re.compile(r"^\d(?:\.\d+)?[eE]\+?1[4-7]$")


def check_id_number(value: object, field_name: str = "ID number") -> IdCheck:
    """Validate an ID number claimed by a record; a failure is kept as an unverified claim."""
    text = "" if value is None else str(value).strip()
    if not text:
        return IdCheck()
    try:
        return IdCheck(validate_id_number(text, field_name), None, "valid")
    except Rejected as exc:
        return IdCheck(None, text, exc.code, exc.message)


def validate_id_number(value: object, field_name: str = "ID number") -> str | None:
    """The normalised number when valid, ``None`` when blank; :class:`Rejected` ``id_number.<reason>``.

    The reason suffix is ``connectors.idnumber``'s code (length, characters, check_digit,
    birth_date, region), so the quarantine and the warnings count the same failures.
    """
    text = clean_text(value)
    if not text:
        return None
    if _NUMBER_CELL.match(text):
        # Excel's 5.00248200010153E+17: said as such, not as 'should be 18 characters, is 20'.
        raise Rejected(
            "id_number.number_cell", f"{field_name}: 存成了数字单元格（{text}），后几位已丢失，无法核验"
        )
    try:
        return parse_id_number(text).number
    except InvalidIdNumber as exc:
        raise Rejected(f"id_number.{exc.reason_code}", f"{field_name}: {exc.message}") from None


# ---- reference tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class DivisionRow:
    code: str
    name: str
    level: str
    parent_code: str
    status: str
    successor_code: str


@dataclass(frozen=True)
class SchoolRow:
    code: str
    name: str
    kind: str
    township_code: str


@dataclass(frozen=True)
class FacilityRow:
    facility_id: str
    name: str
    kind: str
    division_code: str


@dataclass
class Reference:
    """A county's division, school and facility tables, and what can be derived from them.

    Empty (no reference directory configured) means "do not check codes against a
    list": division codes are then only checked for shape.
    """

    divisions: dict[str, DivisionRow] = field(default_factory=dict)
    schools: dict[str, SchoolRow] = field(default_factory=dict)
    facilities: dict[str, FacilityRow] = field(default_factory=dict)
    content_hash: str = ""
    _addr_index: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _prefixes: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def load(cls, directory: Path | None) -> Reference:
        """Read ``divisions.csv``, ``schools.csv``, ``facilities.csv`` (each optional)."""
        import hashlib

        ref = cls()
        if directory is None or not directory.is_dir():
            return ref
        digest = hashlib.sha256()
        for name in ("divisions.csv", "schools.csv", "facilities.csv"):
            path = directory / name
            if path.is_file():
                digest.update(name.encode() + b"\0" + path.read_bytes())
        ref.content_hash = digest.hexdigest()
        for row in _csv_rows(directory / "divisions.csv"):
            ref.divisions[row["code"]] = DivisionRow(
                row["code"],
                row["name"],
                row["level"],
                row.get("parent_code", ""),
                row.get("status", "current") or "current",
                row.get("successor_code", ""),
            )
        for row in _csv_rows(directory / "schools.csv"):
            ref.schools[row["school_code"]] = SchoolRow(
                row["school_code"], row["name"], row["kind"], row["township_code"]
            )
        for row in _csv_rows(directory / "facilities.csv"):
            ref.facilities[row["facility_id"]] = FacilityRow(
                row["facility_id"], row["name"], row["kind"], row["division_code"]
            )
        ref._index()
        return ref

    def _index(self) -> None:
        by_township: dict[str, dict[str, str]] = {}
        names = {d.code: d.name for d in self.divisions.values()}
        for d in self.divisions.values():
            if d.level == "village":
                current = self.current_code(d.code) or d.code
                by_township.setdefault(names.get(d.parent_code, ""), {})[d.name] = current
        self._addr_index = by_township
        # Address prefixes to strip: province, city, county names, longest first.
        upper = [d.name for d in self.divisions.values() if d.level in ("province", "city", "county")]
        # Sorted by length, then name: never by set order, which changes with the hash seed.
        self._prefixes = tuple(sorted({u for u in upper if len(u) >= 2}, key=lambda u: (-len(u), u)))

    @property
    def loaded(self) -> bool:
        return bool(self.divisions)

    def current_code(self, code: str) -> str | None:
        """The current code for ``code``: itself, or its successor when retired; ``None`` if unknown."""
        seen = 0
        row = self.divisions.get(code)
        while row is not None and row.status == "retired" and row.successor_code and seen < 8:
            code, seen = row.successor_code, seen + 1
            row = self.divisions.get(code)
        return code if row is not None else None

    def standard_division(self, value: object, field_name: str = "division code") -> tuple[str | None, bool]:
        """(current 12-digit code, was it retired) or :class:`Rejected` ``division.*``.

        Sources keep writing a merged village's old code for years; such a record is
        accepted and placed in the successor village, and the caller counts a warning.
        """
        text = clean_text(value)
        if not text:
            return None, False
        if len(text) != 12 or not text.isdigit():
            raise Rejected(
                "division.invalid", say("reject.not_12_digits", field=field_name, value=repr(text))
            )
        if not self.loaded:
            return text, False
        current = self.current_code(text)
        if current is None:
            raise Rejected("division.unknown", say("reject.division_unknown", field=field_name, value=text))
        return current, current != text

    def division_of_address(self, address: str | None) -> str | None:
        """The current village code an address names, by township and village name; else ``None``.

        Former names of merged villages resolve to the village they joined, which is how a
        stale address in a school record still lands in the right place.
        """
        text = clean_text(address).replace(" ", "")
        if not text or not self._addr_index:
            return None
        # Strip province, city and county names in whatever order the address has them,
        # longest name first at each step, until none is left at the front.
        stripped = True
        while stripped:
            stripped = False
            for prefix in self._prefixes:
                if text.startswith(prefix):
                    text, stripped = text[len(prefix) :], True
                    break
        for township, villages in self._addr_index.items():
            if township and text.startswith(township):
                rest = text[len(township) :]
                best = max((v for v in villages if rest.startswith(v)), key=len, default=None)
                return villages[best] if best else None
        return None

    def school_division(self, school_code: str | None) -> str | None:
        s = self.schools.get(school_code or "")
        return s.township_code if s else None

    def facility_by_name(self, name: str | None) -> FacilityRow | None:
        text = clean_text(name)
        for f in self.facilities.values():
            if f.name == text:
                return f
        return None

    def region_codes(self) -> set[str]:
        """The 6-digit region codes of every county-level row, current and retired."""
        return {code[:6] for code, d in self.divisions.items() if d.level == "county"}


def _csv_rows(path: Path) -> Iterable[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))
