"""Shape-keeping masks for fields the policy says to show masked.

A masked value still tells the reader what kind of thing is there (a name of three
characters, an ID number from this prefecture, a phone with these last digits, a child
of this village, born in 2015) without identifying the person. That is what lets
supervisors, analysts and auditors work with records they may not read in full.

Which mask a field gets is data: ``[masks]`` in the policy file names a mask kind per
sensitivity class and overrides per property; this module only implements the kinds.
Every mask returns ``None`` for ``None`` (an absent value stays absent, a masked value
never pretends to be data that is not there), and none raises on odd input: a value that
does not have the expected shape is hidden entirely (``***``) rather than partly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HIDDEN = "***"
STAR = "*"

# Separators kept in place in names so that 阿依古丽·买买提 keeps its two-part shape.
_NAME_SEPARATORS = frozenset("·•・. -")


def keep(value: Any) -> Any:
    """The value unchanged: for coded fields (sex, status, hukou type) that are not
    identifying on their own and that statistics need, inside an otherwise masked class."""
    return value


def null(value: Any) -> None:
    """Always absent: the field's presence is allowed, its value never."""
    return None


def redact(value: Any) -> Any:
    """Free text and identifiers with no safe partial form: ``***``.

    Non-string values (booleans, counts) become ``None`` so that a GraphQL ``Boolean`` or
    ``Int`` field never receives a string.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value if value == "" else HIDDEN
    return None


def _text(mask: Callable[[str], str]) -> Callable[[Any], Any]:
    """Wrap a string mask: ``None`` stays ``None``, ``""`` stays ``""``, non-strings hidden."""

    def wrapped(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            return HIDDEN
        if value == "":
            return ""
        return mask(value)

    wrapped.__name__ = mask.__name__.lstrip("_")
    wrapped.__doc__ = mask.__doc__
    wrapped.__wrapped__ = mask  # type: ignore[attr-defined]
    return wrapped


def _name(value: str) -> str:
    """Personal name: keep the first and the last character, star the middle.

    张小明 → 张*明, 张明 → 张*, 欧阳娜娜 → 欧**娜, 张 → *. The rule is positional on
    purpose: no compound-surname list (欧阳, 司马, 上官 …) is complete, and a wrong split
    would reveal more of a given name than intended; keeping first and last is the usual
    Chinese display convention and keeps the length. Separators (·) stay in place.
    """
    chars = list(value.strip())
    n = len(chars)
    if n == 0:
        return ""
    if n == 1:
        return STAR
    if n == 2:
        return chars[0] + STAR
    middle = "".join(c if c in _NAME_SEPARATORS else STAR for c in chars[1:-1])
    return chars[0] + middle + chars[-1]


def _pinyin(value: str) -> str:
    """Romanised name: keep the first word (the surname), then only each later word's
    initial: ``ZHANG XIAOMING`` → ``ZHANG X*******``; one word keeps its first letter."""
    words = value.strip().split()
    if not words:
        return ""
    if len(words) == 1:
        w = words[0]
        return w[0] + STAR * (len(w) - 1)
    return " ".join([words[0], *(w[0] + STAR * (len(w) - 1) for w in words[1:])])


def _keep_ends(value: str, head: int, tail: int) -> str:
    return value[:head] + STAR * (len(value) - head - tail) + value[-tail:]


def _id_number(value: str) -> str:
    """Resident ID number (GB 11643): keep the first 3 (province and prefecture) and the
    last 4 characters: ``510104199001011234`` → ``510***********1234`` (18 characters),
    15-digit first-generation numbers likewise (``510104900101123`` → ``510********1123``).

    Anything else of 14 characters or more gets the same treatment; shorter values are
    starred entirely, because keeping 7 characters of a short number would reveal most of it.
    """
    s = value.strip()
    if len(s) >= 14:
        return _keep_ends(s, 3, 4)
    return STAR * len(s)


def _phone(value: str) -> str:
    """Phone: an 11-or-more-character number keeps the first 3 and last 4
    (``13812345678`` → ``138****5678``, the carriers' own convention); a shorter number
    (a local landline) keeps only its last 2; under 6 characters everything is starred."""
    s = value.strip()
    n = len(s)
    if n >= 11:
        return _keep_ends(s, 3, 4)
    if n >= 6:
        return STAR * (n - 2) + s[-2:]
    return STAR * n


_VILLAGE_MARKERS = ("村", "社区", "居委会", "嘎查")
_TOWNSHIP_MARKERS = ("街道", "乡", "镇", "苏木")
_PART_OF_TOWNSHIP_NAME = frozenset("镇乡")  # 新村镇, 上村乡: a township, not a village
_NOT_COUNTY_BEFORE_QU = frozenset("社治")  # 社区 is a community, 自治区 a province


def _after_county(s: str) -> int:
    """Where the part below the county begins: after the first 县/旗/区 (not 社区, not
    自治区), else after the first 市 (a county-level city such as 句容市), else at the start.
    Searching below the county keeps 镇江市 or a 新村 in a county's name from being read
    as a township or a village."""
    ends = [i + 1 for m in ("县", "旗") if (i := s.find(m)) >= 0]
    i = s.find("区")
    while i > 0 and s[i - 1] in _NOT_COUNTY_BEFORE_QU:
        i = s.find("区", i + 1)
    if i >= 0:
        ends.append(i + 1)
    if ends:
        return min(ends)
    i = s.find("市")
    return i + 1 if i >= 0 else 0


def _first_marker(
    s: str, start: int, markers: tuple[str, ...], skip_before: frozenset[str] = frozenset()
) -> int:
    """End index of the earliest marker at or after ``start``; -1 if none.

    A marker immediately followed by a character in ``skip_before`` is part of a longer
    name and is passed over.
    """
    best = -1
    for m in markers:
        i = s.find(m, start)
        while i >= 0 and s[i + len(m) : i + len(m) + 1] in skip_before:
            i = s.find(m, i + 1)
        if i >= 0 and (best < 0 or i + len(m) < best):
            best = i + len(m)
    return best


def _address(value: str) -> str:
    """Address cut to the village: keep up to and including the first 村 / 社区 / 居委会
    (嘎查) below the county, else up to the township (街道 / 乡 / 镇 / 苏木), else up to
    the county; an address with none of these is hidden (``***``).

    ``重庆市宁川县青石镇龙桥村3组12号`` → ``重庆市宁川县青石镇龙桥村``. The village is the
    finest place the policy lets masked readers know: enough for statistics by area and
    to route work, not enough to find a house.
    """
    s = value.strip()
    start = _after_county(s)
    end = _first_marker(s, start, _VILLAGE_MARKERS, _PART_OF_TOWNSHIP_NAME)
    if end < 0:
        end = _first_marker(s, start, _TOWNSHIP_MARKERS)
    if end < 0:
        end = start
    return s[:end] if end > 0 else HIDDEN


def _region(value: str) -> str:
    """A place far away (a parent's work destination): keep only the province
    (``广东省深圳市`` → ``广东省``, ``新疆维吾尔自治区乌鲁木齐市`` → ``新疆维吾尔自治区``,
    ``上海市浦东新区`` → ``上海市``); anything without one is hidden."""
    s = value.strip()
    end = _first_marker(s, 0, ("省", "自治区", "市"))
    return s[:end] if end > 0 else HIDDEN


def _date_year(value: str) -> str:
    """ISO date or datetime to its year: ``2015-03-01`` → ``2015`` (age band, not birthday)."""
    s = value.strip()
    return s[:4] if len(s) >= 4 and s[:4].isdigit() else HIDDEN


def _category(value: str) -> str:
    """A coded value with a grade: keep the category, drop the grade
    (``intellectual-2`` → ``intellectual``)."""
    return value.strip().split("-", 1)[0] or HIDDEN


def _icd10(value: str) -> str:
    """ICD-10 code to its letter, shape kept: ``F84.0`` → ``F**.*``, ``D66`` → ``D**``."""
    s = value.strip()
    return s[0] + "".join(STAR if c.isalnum() else c for c in s[1:])


def _division_township(value: str) -> str:
    """A 12-digit division code coarsened to its township: ``500248203201`` → ``500248203000``."""
    s = value.strip()
    if len(s) == 12 and s.isdigit():
        return s[:9] + "000"
    return HIDDEN


mask_name = _text(_name)
mask_pinyin = _text(_pinyin)
mask_id_number = _text(_id_number)
mask_phone = _text(_phone)
mask_address = _text(_address)
mask_region = _text(_region)
mask_date_year = _text(_date_year)
mask_category = _text(_category)
mask_icd10 = _text(_icd10)
mask_division_township = _text(_division_township)

SMALL_COUNT_K = 5


def small_count(value: Any, k: int = SMALL_COUNT_K) -> Any:
    """A count of people, suppressed (None) when fewer than ``k`` but more than none: a
    village-level count of 1 or 2 names the child. The policy's disclosure.min_count sets k."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < k:
        return None
    return value


# The mask kinds a policy file may name.
MASKS: dict[str, Callable[[Any], Any]] = {
    "keep": keep,
    "null": null,
    "redact": redact,
    "name": mask_name,
    "pinyin": mask_pinyin,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "address": mask_address,
    "region": mask_region,
    "date_year": mask_date_year,
    "category": mask_category,
    "icd10": mask_icd10,
    "division_township": mask_division_township,
    "small_count": small_count,
    # A record id under the deployment's pseudonym key (auth.pseudonym), applied by the
    # enforcement layer, which holds the key; anywhere else it hides the id.
    "pseudonym": redact,
}

# Kinds that only make sense for strings; the policy loader refuses them on BOOL/INT
# properties so that a masked Boolean never becomes "***".
TEXT_ONLY: frozenset[str] = frozenset(MASKS) - {"keep", "null", "redact", "small_count", "pseudonym"}


def apply_mask(kind: str, value: Any) -> Any:
    """Mask ``value`` with the named kind (``KeyError`` for an unknown kind)."""
    return MASKS[kind](value)
