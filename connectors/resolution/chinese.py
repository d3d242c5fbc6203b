"""Person mentions from Chinese agency systems as a Splink record frame, and how to compare them.

The comparison set is built around what the sources actually share and how they err
(see ``connectors/synthetic/FORMATS.md`` for the injected noise, which mirrors real
exports):

- **name** — one comparison whose ordered levels are the character string, its toneless
  pinyin, its south-west-Mandarin pinyin, one character off, and pinyin Jaro-Winkler.
  Name and pinyin are never separate comparisons: they are two views of one field, and
  Fellegi-Sunter would count the same agreement twice (precision collapses when it does).
  The exact level carries a term-frequency adjustment, because 陈伟 agreeing says much
  less than 冉睿博 agreeing.
- **birth date** — exact, month and day swapped (a common entry error), two of the
  three parts agreeing, else.
- **sex**, **division** (village, else same township: stale addresses name a neighbouring
  village), **phone** (only adults carry one; it is the person's own number).
- **life stage** — adult or child, from the role (a father is an adult) or the birth
  date; it only speaks when a birth date is missing on one side, since otherwise the
  birth-date comparison already says it.

The ID number is deliberately not a comparison. Pairs where both records have a valid
one are settled without scoring (equal: same person; different: different people), and
pairs where one is missing carry no ID evidence. The valid ID numbers are instead the
*labels* the m probabilities are estimated from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from connectors.idnumber import is_valid_id_number, normalise_id_number
from connectors.mentions import ROLE_SUFFIXES, PersonMention
from connectors.resolution.spec import LinkageSpec
from kernel import clock
from kernel.names import (
    SIMILAR_PINYIN_THRESHOLD,
    fuzzy_syllable,
    name_forms,
    name_pinyin,
    normalise_name,
    split_name,
    surname_pinyin,
)

__all__ = [
    "DEFAULT_PARAMETERS",
    "PERSON_SPEC",
    "STORED_COLUMNS",
    "mention_frame",
    "mention_role",
    "mention_row",
    "normalise_phone",
    "to_frame",
]

# Roles that are always adults: parents and carers named in a child's record.
_ADULT_ROLES = frozenset({*ROLE_SUFFIXES, "related", "relatedperson", "carer", "parent"})


def mention_role(m: PersonMention) -> str:
    """``father``/``mother``/``guardian`` for a person named inside a record, else ``subject``."""
    _, sep, suffix = m.record_id.rpartition("#")
    return suffix if sep and suffix in ROLE_SUFFIXES else "subject"


@lru_cache(maxsize=262_144)
def normalise_phone(phone: str | None) -> str | None:
    """Digits only, without +86 / 0086; None when fewer than 7 digits remain.

    Cached like :func:`_name_keys`: a person's phone comes back in every system that
    knows them and on every form that names them as a parent."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits if len(digits) >= 7 else None


def _adult(m: PersonMention, role: str, today: date) -> bool | None:
    if role in _ADULT_ROLES or (m.role or "").lower() in _ADULT_ROLES:
        return True
    if m.birth_date is None:
        return None
    years = (today - m.birth_date).days / 365.2425
    if years >= 18:
        return True
    if years < 14:
        return False
    return None  # the band where "adult" depends on which day the record was made


STORED_COLUMNS: tuple[str, ...] = (
    "system",
    "record_id",
    "role",
    "name",
    "name_py",
    "name_fz",
    "surname_fz",
    "id_number",
    "sex",
    "birth_date",
    "division",
    "household_number",
    "phone",
    "adult",
    "id_claim",
    "id_status",
)
"""What the resolver keeps of a mention (``resolution_mention``), derived keys included."""


@lru_cache(maxsize=262_144)
def _name_keys(raw: str) -> tuple[str, str, str, str]:
    """The normalised name, its pinyin, fuzzy pinyin and fuzzy surname pinyin ("" when empty).

    Cached: a county's mentions share their names (a parent is named in every form of
    each child, a person appears in several systems).
    """
    name = normalise_name(raw)
    if not name:
        return "", "", "", ""
    surname, _ = split_name(name)
    py = name_pinyin(name)
    fz = " ".join(fuzzy_syllable(s) for s in py.split())
    sfz = " ".join(fuzzy_syllable(s) for s in surname_pinyin(surname).split())
    return name, py, fz, sfz


@lru_cache(maxsize=262_144)
def _valid_id_number(raw: str, today: date) -> str:
    """The normalised ID number if valid on ``today``, else "" (cached like :func:`_name_keys`).

    A connector passes only verified numbers; an unverified claim never links.
    """
    idn = normalise_id_number(raw)
    return idn if idn and is_valid_id_number(idn, today=today) else ""


def mention_row(m: PersonMention, *, today: date | None = None) -> dict[str, Any]:
    """A mention reduced to what resolution compares, with its derived keys.

    Keys are recomputed from ``name`` rather than trusted from ``name_pinyin``, so the
    resolver does not depend on which pinyin function a connector used. ID numbers are
    re-validated: an invalid one becomes missing (it proves nothing, and a wrong digit
    must not link two people). ``role`` is the embedded role (father, mother, guardian)
    or ``subject``.
    """
    today = today or clock.today()
    name, py, fz, sfz = _name_keys(m.name) if m.name else ("", "", "", "")
    idn = _valid_id_number(m.id_number, today) if m.id_number else ""
    role = mention_role(m)
    division = m.division if m.division and len(m.division) == 12 and m.division.isdigit() else None
    adult = _adult(m, role, today)
    return {
        "system": m.system,
        "record_id": m.record_id,
        "role": role,
        "name": name[:100] or None,
        "name_py": py[:300] or None,
        "name_fz": fz[:300] or None,
        "surname_fz": sfz[:50] or None,
        "id_number": idn or None,
        "sex": m.sex if m.sex in ("M", "F") else None,
        "birth_date": m.birth_date,
        "division": division,
        "household_number": (m.household_number or None) and m.household_number[:32],
        "phone": normalise_phone(m.phone),
        "adult": None if adult is None else int(adult),
        # An ID number that failed validation: kept as the record's unverified claim, with
        # why, for a caseworker to see; never compared (``id_number`` above is empty then).
        "id_claim": (m.id_claim or None) and m.id_claim[:64],
        "id_status": (m.id_status or None) and m.id_status[:32],
    }


def to_frame(rows: pd.DataFrame, fresh: Sequence[bool] | np.ndarray, *, start: int = 0) -> pd.DataFrame:
    """The Splink record frame from stored-form rows (see :data:`STORED_COLUMNS`).

    ``unique_id`` is the row position (plus ``start``, for the tail of a frame built
    earlier: each row of the frame depends on its own row alone); ``fresh`` marks
    mentions not linked by an earlier run (only pairs with a fresh side are scored);
    ``grp`` is the source record a mention belongs to (a survey form and the parents it
    names share one).
    """
    rows = rows.reset_index(drop=True)
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    frame["unique_id"] = np.arange(start, start + len(rows), dtype=np.int64)
    for col in ("name", "name_py", "name_fz", "surname_fz", "sex", "division", "phone", "id_number"):
        frame[col] = _strings(rows[col])
    births = pd.to_datetime(rows["birth_date"], errors="coerce")
    frame["birth_date"] = births.dt.strftime("%Y-%m-%d").astype("string")
    frame["birth_year"] = births.dt.year.astype("Int64")
    frame["adult"] = pd.array(
        [None if pd.isna(a) else bool(a) for a in rows["adult"].tolist()], dtype="boolean"
    )
    system = rows["system"].astype(str)
    record = rows["record_id"].astype(str)
    role = rows["role"].fillna("subject").astype(str)
    base = record.where(role == "subject", record.str.rsplit("#", n=1).str[0])
    frame["grp"] = (system + "\x1f" + base).astype("string")
    forms: dict[str, tuple[str, str | None, str | None]] = {}
    given, nick, swapped = [], [], []
    for name in rows["name"].tolist():
        if isinstance(name, str) and name:
            f = forms.get(name)
            if f is None:
                f = forms[name] = name_forms(name)
            given.append(f[0] or None)
            nick.append(f[1])
            swapped.append(f[2])
        else:
            given.append(None)
            nick.append(None)
            swapped.append(None)
    frame["given"] = pd.array(given, dtype="string")
    frame["nick"] = pd.array(nick, dtype="string")
    frame["name_sorted"] = pd.array(swapped, dtype="string")
    frame["household_number"] = _strings(rows["household_number"])
    frame["role"] = role.astype("string")
    frame["fresh"] = np.asarray(fresh, dtype=bool)
    if start:
        frame.index = pd.RangeIndex(start, start + len(rows))
    return frame


def _strings(col: pd.Series) -> pd.Series:
    out = col.astype("string")
    return out.where(out.notna() & (out != ""), pd.NA)


def mention_frame(
    mentions: Sequence[PersonMention], *, today: date | None = None, fresh: Sequence[bool] | None = None
) -> pd.DataFrame:
    """The Splink record frame of ``mentions`` (``unique_id`` = position in ``mentions``)."""
    rows = pd.DataFrame.from_records([mention_row(m, today=today) for m in mentions], columns=STORED_COLUMNS)
    return to_frame(rows, fresh if fresh is not None else np.ones(len(mentions), dtype=bool))


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(sql: str, label: str) -> dict[str, Any]:
    return _level(sql, label, is_null_level=True)


def person_comparisons() -> list[Any]:
    """The Splink comparisons for people; see the module docstring for why each exists."""
    from splink.comparison_library import CustomComparison

    same_year = "birth_year_l = birth_year_r"
    month_l, month_r = "substr(birth_date_l, 6, 2)", "substr(birth_date_r, 6, 2)"
    day_l, day_r = "substr(birth_date_l, 9, 2)", "substr(birth_date_r, 9, 2)"
    return [
        CustomComparison(
            output_column_name="name",
            comparison_description="name: characters, pinyin, dialect pinyin, one character, similar",
            comparison_levels=[
                _null("name_l IS NULL OR name_r IS NULL", "null"),
                _level("name_l = name_r", "exact", tf_adjustment_column="name", tf_adjustment_weight=1.0),
                _level(
                    "name_py_l = name_py_r",
                    "homophone",
                    tf_adjustment_column="name_py",
                    tf_adjustment_weight=1.0,
                ),
                _level("name_fz_l = name_fz_r", "dialect homophone"),
                _level("name_sorted_l = name_sorted_r", "swapped given"),
                _level(
                    "(nick_l IS NOT NULL AND strpos(given_r, nick_l) > 0)"
                    " OR (nick_r IS NOT NULL AND strpos(given_l, nick_r) > 0)",
                    "nickname",
                ),
                _level(
                    "length(name_l) = length(name_r) AND levenshtein(name_l, name_r) = 1", "one character"
                ),
                _level(
                    f"jaro_winkler_similarity(name_py_l, name_py_r) >= {SIMILAR_PINYIN_THRESHOLD}",
                    "similar pinyin",
                ),
                _level("ELSE", "different"),
            ],
        ),
        CustomComparison(
            output_column_name="birth_date",
            comparison_description="birth date: exact, month/day swapped, a day apart, two of three parts",
            comparison_levels=[
                _null("birth_date_l IS NULL OR birth_date_r IS NULL", "null"),
                _level("birth_date_l = birth_date_r", "exact"),
                _level(
                    f"{same_year} AND {month_l} = {day_r} AND {day_l} = {month_r}", "month and day swapped"
                ),
                _level(
                    "abs(date_diff('day', CAST(birth_date_l AS DATE), CAST(birth_date_r AS DATE))) = 1",
                    "one day apart",
                ),
                _level(
                    f"({same_year} AND ({month_l} = {month_r} OR {day_l} = {day_r}))"
                    f" OR ({month_l} = {month_r} AND {day_l} = {day_r})",
                    "two of three parts",
                ),
                _level("ELSE", "different"),
            ],
        ),
        CustomComparison(
            output_column_name="sex",
            comparison_levels=[
                _null("sex_l IS NULL OR sex_r IS NULL", "null"),
                _level("sex_l = sex_r", "same"),
                _level("ELSE", "different"),
            ],
        ),
        CustomComparison(
            output_column_name="division",
            comparison_description="village, else township (stale addresses name a neighbouring village)",
            comparison_levels=[
                _null("division_l IS NULL OR division_r IS NULL", "null"),
                _level("division_l = division_r", "same village"),
                _level("substr(division_l, 1, 9) = substr(division_r, 1, 9)", "same township"),
                _level("ELSE", "different"),
            ],
        ),
        CustomComparison(
            output_column_name="phone",
            comparison_levels=[
                _null("phone_l IS NULL OR phone_r IS NULL", "null"),
                _level("phone_l = phone_r", "same"),
                _level("ELSE", "different"),
            ],
        ),
        CustomComparison(
            output_column_name="adult",
            comparison_description="adult or child; silent when both birth dates are known",
            comparison_levels=[
                _null(
                    "adult_l IS NULL OR adult_r IS NULL"
                    " OR (birth_date_l IS NOT NULL AND birth_date_r IS NOT NULL)",
                    "null",
                ),
                _level("adult_l = adult_r", "same"),
                _level("ELSE", "different"),
            ],
        ),
    ]


# (m, u) per level, estimated on a 200,000-person synthetic county (seed 11: 423,734
# mentions, u from 3,000,000 random pairs, m from the pairs sharing a valid ID number),
# rounded. They stand in where the data at hand cannot train a comparison, e.g. the
# first batch of a sync, which may be the household register alone.
DEFAULT_PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "name": {
        "exact": (0.941, 1.55e-05),
        "homophone": (0.0412, 1.05e-05),
        "dialect homophone": (0.00118, 3.17e-06),
        "swapped given": (0.004, 2e-06),
        "nickname": (0.006, 4e-05),
        "one character": (0.0146, 0.00162),
        "similar pinyin": (0.001, 0.005),
        "different": (0.001, 0.993),
    },
    "birth_date": {
        "exact": (0.988, 4.36e-05),
        "month and day swapped": (0.0104, 1.43e-05),
        "one day apart": (0.004, 1.2e-04),
        "two of three parts": (0.001, 0.00458),
        "different": (0.001, 0.995),
    },
    "sex": {"same": (0.998, 0.5), "different": (0.002, 0.5)},
    "division": {
        "same village": (0.982, 0.00332),
        "same township": (0.0169, 0.0423),
        "different": (0.001, 0.954),
    },
    "phone": {"same": (0.97, 3.6e-06), "different": (0.03, 1.0)},
    "adult": {"same": (0.999, 0.739), "different": (0.001, 0.261)},
}

PERSON_SPEC = LinkageSpec(
    name="person_zh",
    version="2",
    comparisons=person_comparisons,
    blocking_rules=(
        "l.birth_date = r.birth_date",
        "l.name_fz = r.name_fz",
        "l.phone = r.phone",
        "l.division = r.division AND l.surname_fz = r.surname_fz",
    ),
    # Both sides with a valid ID number: already decided, equal or not.
    pair_condition="l.id_number IS NULL OR r.id_number IS NULL",
    identifier_column="id_number",
    label_column="id_number",
    group_column="grp",
    role_column="role",
    compatible_roles=frozenset({frozenset({"guardian", "father"}), frozenset({"guardian", "mother"})}),
    # People change phone numbers and clerks mistype the sex; the synthetic sources never
    # do either, so these disagreements are given a floor rather than learned as ~0.
    fixed_m={("phone", "different"): 0.03, ("sex", "different"): 0.002},
    default_parameters=DEFAULT_PARAMETERS,
    # Each mention has about 1.7 others of the same person in a whole county's sources.
    default_matches_per_record=1.7,
    comparison_columns={
        "name": "name",
        "birth_date": "birth_date",
        "sex": "sex",
        "division": "division",
        "phone": "phone",
        "adult": "adult",
    },
)
"""The comparison set, blocking rules and constraints for Chinese person mentions."""
