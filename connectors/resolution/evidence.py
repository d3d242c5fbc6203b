"""Evidence beyond one pair of records: conflicting ID numbers, twins, and the family around a parent.

Pairwise scoring (:mod:`connectors.resolution.chinese`) judges two records on what they
say. Three things it cannot see, and this module supplies to the clustering:

- **An ID number is strong evidence, not a verdict.** A clerk who copies the co-twin's
  number onto one twin's school record makes two records share a valid number though
  everything else disagrees. :func:`id_conflicts` finds records whose number contradicts
  the rest of the record (sex or birth date other than the number's, beyond a typing slip)
  or the number's other records (a clearly different name, or a name that fits another
  identified person born the same day better: the twin pattern). Such a record loses
  its number for this run, is kept from its holder unless a reviewer joins them, and a
  review item says why.
- **Twins are a first-class case.** :func:`twin_guards` finds the twins the register
  knows (one household, one birth date, two numbers) and keeps a record without a
  number from joining a twin automatically unless its name picks that twin out: exactly
  that twin's name, or clearly closer to it than to the other's. Two names of identical
  pinyin (金瑞豪/金瑞浩) do not pick one out.
- **Collective evidence for parents.** A father named on a survey form without an ID
  number is, more often than not, the man registered in the household of the child the
  form is about. :func:`family_evidence` returns, after a first clustering, pairs
  between such a parent or carer and the adults of the households (and the spouse's)
  the form's child has been linked to, with a bonus in bits and the reason, for the
  clustering's second round.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from kernel.names import NameAgreement, compare_names, name_forms, nickname_core

__all__ = [
    "FAMILY_BONUS",
    "IdConflicts",
    "family_evidence",
    "id_conflicts",
    "twin_guards",
]

# Review reasons, shown to the caseworker who decides the item (no personal data in them).
REASON_TWIN_ID = "身份证号相同，但姓名与同日出生的另一人（同户双胞胎）更相符：疑似抄错证号，需人工核实"
REASON_NAME = "身份证号相同，但姓名明显不同：需人工核实是否同一人"
REASON_SEX = "身份证号相同，但性别与证号不符：需人工核实是否同一人"
REASON_BIRTH = "身份证号相同，但出生日期与证号不符：需人工核实是否同一人"
REASON_TWINS = "同户同日出生的双胞胎之一，姓名不足以区分：需人工核实"
REASON_FAMILY = "无身份证号的{role}经家庭关联：表单所列儿童（或其配偶）与候选人同属一户，姓名、性别相符"

_ROLE_ZH = {"father": "父亲", "mother": "母亲", "guardian": "监护人"}
_ROLE_SEX = {"father": "M", "mother": "F"}

FAMILY_BONUS = 8.0
"""Bits added for "the child (or spouse) this form names lives in the candidate's household".

About the evidence a same-village agreement gives (log2 of 0.98/0.0033): a household is
smaller than a village, but the link to it runs through another record's resolution,
which may itself be wrong, so it is not counted for more.
"""


@dataclass
class IdConflicts:
    """Records whose ID number is set aside, the pairs kept apart, and the review items."""

    demoted: set[int] = field(default_factory=set)
    guards: list[tuple[int, int, str]] = field(default_factory=list)


def _strs(frame: pd.DataFrame, column: str) -> list[str | None]:
    """A string column as a list, missing values (None, NaN, pd.NA, "") as None."""
    if column not in frame:
        return [None] * len(frame)
    return [x if isinstance(x, str) and x else None for x in frame[column].tolist()]


def birth_from_id(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def parse_birth(value: object) -> date | None:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _slip(a: date, b: date) -> bool:
    """Two birth dates a clerk could have typed one for the other (a day off, month/day swapped)."""
    if a == b or abs((a - b).days) == 1:
        return True
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return True
    parts = sum((a.year == b.year, a.month == b.month, a.day == b.day))
    return parts == 2


def name_level(a: str, b: str) -> int:
    """How well two names agree, in the order of the Splink name levels (higher is closer).

    exact 7, homophone 6, dialect homophone 5, swapped given characters 4, nickname 3,
    one character 2, similar pinyin 1, different 0.
    """
    level = compare_names(a, b)
    if level >= NameAgreement.DIALECT_HOMOPHONE:
        return {NameAgreement.EXACT: 7, NameAgreement.HOMOPHONE: 6}.get(level, 5)
    _, core_a, sorted_a = name_forms(a)
    _, core_b, sorted_b = name_forms(b)
    if sorted_a is not None and sorted_a == sorted_b:
        return 4
    given_a, given_b = name_forms(a)[0], name_forms(b)[0]
    if (core_a is not None and core_a in given_b) or (core_b is not None and core_b in given_a):
        return 3
    return 2 if level == NameAgreement.ONE_CHARACTER else int(level == NameAgreement.SIMILAR)


def _compatible(a: str, b: str) -> bool:
    """Two names a record of one person could carry (noise, not another person)."""
    return name_level(a, b) >= 1


def id_conflicts(
    frame: pd.DataFrame,
    person_keys: Sequence[str | None],
    *,
    born_that_day: Mapping[date, Sequence[tuple[str, str, str | None]]] | None = None,
) -> IdConflicts:
    """Which records' ID numbers not to trust in this run, and why.

    Among the records sharing a number, the *holders* are those of the person already
    linked to it (an earlier run's decision stands), else those whose name is the most
    common one; register entries (records with a household number) are the holders
    wherever there are any. A fresh record is set aside when its sex differs from the
    holders', its birth date from theirs beyond a typing slip, or its name is not a
    plausible variant of the holders' name, or its name fits another identified person
    born on the number's birth date better than the holders' (twins). An older record of
    another person that carries the number (a reviewer's earlier decision) is set aside
    silently.

    ``born_that_day`` is, per birth date (as the number gives it), ``(number, name,
    household)`` of every identified record with a name whose number gives that date,
    in any order: what this function reads of the records outside the numbers it
    judges. Given, ``frame`` need hold only the records of the numbers to judge; without
    it the records born that day are found in ``frame``.
    """
    out = IdConflicts()
    ids = _strs(frame, "id_number")
    names = _strs(frame, "name")
    sexes = _strs(frame, "sex")
    births = _strs(frame, "birth_date")
    fresh = frame["fresh"].to_numpy(dtype=bool)
    households = _strs(frame, "household_number")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, x in enumerate(ids):
        if isinstance(x, str) and x:
            groups[x].append(i)
    # id birth → (number, name, household) of every identified record born that day
    by_birth: dict[date, list[tuple[str, str, str | None]]] = defaultdict(list)
    multi = {x: g for x, g in groups.items() if len(g) > 1}
    if not multi:
        return out
    if born_that_day is None:
        wanted = {b for x in multi if (b := birth_from_id(x)) is not None}
        for x, g in groups.items():
            b = birth_from_id(x)
            if b in wanted:
                for i in g:
                    if (holder_name := names[i]) is not None:
                        by_birth[b].append((x, holder_name, households[i]))
    for number, members in multi.items():
        if not any(fresh[i] for i in members):
            continue
        id_birth = birth_from_id(number)
        keys = Counter(person_keys[i] for i in members if person_keys[i])
        if keys:
            holder_key = keys.most_common(1)[0][0]
            holders = [i for i in members if person_keys[i] == holder_key]
            for i in members:
                if person_keys[i] and person_keys[i] != holder_key:
                    out.demoted.add(i)
        elif registered := [i for i in members if households[i]]:
            holders = registered  # the household register is where the number was issued
        else:
            named = Counter(names[i] for i in members if names[i])
            if named:
                best = named.most_common(1)[0][0]
                holders = [i for i in members if names[i] == best]
            else:
                holders = list(members)
        holder_names = Counter(names[i] for i in holders if names[i])
        main_name = holder_names.most_common(1)[0][0] if holder_names else None
        holder_sex = {sexes[i] for i in holders if sexes[i] in ("M", "F")}
        holder_births = [b for i in holders if (b := parse_birth(births[i])) is not None] or (
            [id_birth] if id_birth is not None else []
        )
        anchor = holders[0]
        if id_birth is None:
            same_day: Sequence[tuple[str, str, str | None]] = []
        elif born_that_day is None:
            same_day = by_birth.get(id_birth, [])
        else:
            same_day = born_that_day.get(id_birth, [])
        for i in members:
            if not fresh[i] or person_keys[i] or i in holders:
                continue
            reason = None
            b = parse_birth(births[i])
            if sexes[i] in ("M", "F") and holder_sex and sexes[i] not in holder_sex:
                reason = REASON_SEX
            elif b is not None and holder_births and not any(_slip(b, h) for h in holder_births):
                reason = REASON_BIRTH
            elif (name := names[i]) and main_name and name != main_name:
                own = name_level(name, main_name)
                homes = {households[h] for h in holders if households[h]}
                # Another identified person born that day fits the name better; in the
                # holder's own household (twins) as well fits it: not the number's to decide.
                twin = any(
                    other != number
                    and other_name[:1] == name[:1]
                    and (
                        name_level(name, other_name) > own
                        or (other_home in homes and name_level(name, other_name) == own)
                    )
                    for other, other_name, other_home in same_day
                )
                if twin:
                    reason = REASON_TWIN_ID
                elif not _compatible(name, main_name):
                    reason = REASON_NAME
            if reason is not None:
                out.demoted.add(i)
                out.guards.append((i, anchor, reason))
        # A holder that is not the anchor but was judged against nothing stays as it is.
    return out


def twin_guards(frame: pd.DataFrame, registered_ids: Sequence[str | None]) -> list[tuple[int, int, str]]:
    """Pairs a record without an ID number may not join automatically because of twins.

    Twins are the register's: records with a household number and an ID number, two or
    more different numbers in one household with one birth date. A record without a
    number, born that day (or a day off), with the twins' surname, is kept from every
    twin whose name it does not single out; a record that names no twin better than
    another (identical pinyin, a nickname both share) is kept from all of them, and so
    goes to review.
    """
    ids = _strs(frame, "id_number")
    names = _strs(frame, "name")
    births = _strs(frame, "birth_date")
    households = _strs(frame, "household_number")
    sets: dict[tuple[str, str], dict[str, tuple[str, int]]] = defaultdict(dict)
    for i, (number, hh, born, name) in enumerate(zip(registered_ids, households, births, names, strict=True)):
        if (
            isinstance(number, str)
            and number
            and isinstance(hh, str)
            and hh
            and isinstance(born, str)
            and isinstance(name, str)
        ):
            sets[(hh, born)].setdefault(number, (name, i))
    twins: dict[date, list[list[tuple[str, int]]]] = defaultdict(list)
    for (_, born_on), same_day in sets.items():
        if len(same_day) > 1 and (d := parse_birth(born_on)) is not None:
            twins[d].append(list(same_day.values()))
    if not twins:
        return []
    out: list[tuple[int, int, str]] = []
    chosen: dict[tuple[date, int], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    undecided: dict[tuple[date, int], list[int]] = defaultdict(list)
    for i, (number, born, name) in enumerate(zip(ids, births, names, strict=True)):
        if number or not name:
            continue
        d = parse_birth(born)
        if d is None:
            continue
        for day in (d, d - timedelta(days=1), d + timedelta(days=1)):
            for k, members in enumerate(twins.get(day, ())):
                if not any(m[0][:1] == name[:1] or nickname_core(name) for m in members):
                    continue
                levels = [name_level(name, m[0]) for m in members]
                top = max(levels)
                best = [j for j, lv in enumerate(levels) if lv == top]
                for j, (_, rep) in enumerate(members):
                    if j not in best or len(best) > 1:
                        out.append((i, rep, REASON_TWINS))
                if len(best) == 1:
                    chosen[(day, k)][best[0]].append(i)
                else:
                    undecided[(day, k)].append(i)
    # Records that single out different twins are not one person either.
    for by_twin in chosen.values():
        picked = list(by_twin.values())
        for p in range(len(picked)):
            for q in range(p + 1, len(picked)):
                out.extend((x, y, REASON_TWINS) for x in picked[p] for y in picked[q])
    # Two records that single out no twin, written differently, may be one twin each.
    for records in undecided.values():
        for p, r in enumerate(records):
            out.extend((r, y, REASON_TWINS) for y in records[p + 1 :] if names[r] != names[y])
    return out


def family_evidence(
    frame: pd.DataFrame, labels: np.ndarray, *, bonus: float = FAMILY_BONUS
) -> tuple[pd.DataFrame, dict[tuple[int, int], str]]:
    """Pairs (parent or carer without an ID number, adult of the family's household), after pass one.

    For each such record whose person is not identified yet: the households of the
    people its form names (the child, the other parent) as the first pass linked them;
    every registered adult of those households whose sex fits the role is a candidate,
    paired with the record (and with each record of the candidate's person, so the
    clustering's median sees the bonus on all of them).
    """
    labels = np.asarray(labels, dtype=np.int64)
    empty: tuple[pd.DataFrame, dict[tuple[int, int], str]] = (
        pd.DataFrame({"l": [], "r": [], "bonus": []}),
        {},
    )
    if "role" not in frame or not len(frame):
        return empty
    has_id = _present(frame, "id_number")
    # The records the loop below judges: parents and carers without a number whose person is
    # not identified. Everything else is read for their sake only (their forms' other
    # records, those records' people, the registered adults of those people's households),
    # so the cost follows them and not the size of the frame.
    identified = _in_labels(labels, labels[has_id])
    cand = np.flatnonzero(frame["role"].isin(list(_ROLE_ZH)).to_numpy(dtype=bool) & ~has_id & ~identified)
    found = _strs_at(frame, "role", cand)
    keep = [r in _ROLE_ZH for r in found]
    cand = cand[np.array(keep, dtype=bool)] if len(cand) else cand
    roles = [r for r in found if r is not None and r in _ROLE_ZH]  # as cand
    if not len(cand):
        return empty
    grp_of = _strs_at(frame, "grp", cand)
    forms = {g for g in grp_of if g is not None}
    mates = np.flatnonzero(frame["grp"].isin(list(forms)).to_numpy(dtype=bool)) if forms else cand[:0]
    by_grp: dict[str, list[int]] = defaultdict(list)
    for j, g in zip(mates.tolist(), _strs_at(frame, "grp", mates), strict=True):
        if g is not None:
            by_grp[g].append(j)
    members = _members(labels, {int(labels[j]) for j in mates.tolist()})
    households: dict[int, str | None] = {}
    for lab_members in members.values():
        households.update(zip(lab_members, _strs_at(frame, "household_number", lab_members), strict=True))
    homes_of: list[set[str]] = []
    for i, own_group in zip(cand.tolist(), grp_of, strict=True):
        homes: set[str] = set()
        for j in by_grp.get(own_group, []) if own_group is not None else []:
            if j == i:
                continue
            for k in members[int(labels[j])]:
                hh = households[k]
                if isinstance(hh, str) and hh:
                    homes.add(hh)
        homes_of.append(homes)
    wanted = set().union(*homes_of)
    in_household: dict[str, list[int]] = defaultdict(list)
    if wanted:
        at = np.flatnonzero(
            frame["household_number"].isin(list(wanted)).to_numpy(dtype=bool)
            & has_id
            & _is_true(frame, "adult")
        )
        for c, hh in zip(at.tolist(), _strs_at(frame, "household_number", at), strict=True):
            if isinstance(hh, str) and hh:
                in_household[hh].append(c)
    if not in_household:
        return empty
    candidates = np.array(sorted({c for cs in in_household.values() for c in cs}), dtype=np.int64)
    sex_of = dict(zip(candidates.tolist(), _strs_at(frame, "sex", candidates), strict=True))
    members.update(_members(labels, {int(labels[c]) for c in candidates.tolist()} - set(members)))
    own_sex = _strs_at(frame, "sex", cand)
    pairs: dict[tuple[int, int], float] = {}
    reasons: dict[tuple[int, int], str] = {}
    for i, role, homes, sex_i in zip(cand.tolist(), roles, homes_of, own_sex, strict=True):
        sex = _ROLE_SEX.get(role) or (sex_i if sex_i in ("M", "F") else None)
        for hh in homes:
            for c in in_household.get(hh, ()):
                if sex is not None and sex_of[c] != sex:
                    continue
                for k in members[int(labels[c])]:
                    if k == i:
                        continue
                    key = (i, k) if i < k else (k, i)
                    pairs[key] = bonus
                    reasons[key] = REASON_FAMILY.format(role=_ROLE_ZH[role])
    if not pairs:
        return empty
    arr = np.array(list(pairs), dtype=np.int64)
    return pd.DataFrame({"l": arr[:, 0], "r": arr[:, 1], "bonus": list(pairs.values())}), reasons


def _in_labels(labels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``np.isin(labels, wanted)``; by a table of the label values when they are record indices
    (labels of the frame's own records, as the clustering gives them), which saves sorting the
    population's labels every batch."""
    n = len(labels)
    if n and int(labels.min()) >= 0 and int(labels.max()) < n:
        table = np.zeros(n, dtype=bool)
        table[wanted] = True
        return table[labels]
    return np.isin(labels, wanted)


def _present(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Rows whose ``column`` is a non-empty string (what :func:`_strs` keeps)."""
    col = frame[column]
    if isinstance(col.dtype, pd.StringDtype):
        return (col.notna() & col.ne("")).fillna(False).to_numpy(dtype=bool)
    return np.array([isinstance(x, str) and bool(x) for x in col.tolist()], dtype=bool)


def _is_true(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Rows whose ``column`` is True (``is True``: not 1, not missing)."""
    col = frame[column]
    if isinstance(col.dtype, pd.BooleanDtype):
        return col.eq(True).fillna(False).to_numpy(dtype=bool)
    return np.array([x is True for x in col.tolist()], dtype=bool)


def _strs_at(frame: pd.DataFrame, column: str, positions: np.ndarray | list[int]) -> list[str | None]:
    """:func:`_strs` of the rows at ``positions``."""
    if column not in frame:
        return [None] * len(positions)
    values = frame[column].array.take(np.asarray(positions, dtype=np.int64)).tolist()
    return [x if isinstance(x, str) and x else None for x in values]


def _members(labels: np.ndarray, wanted: set[int]) -> dict[int, list[int]]:
    """The records (ascending) of each label in ``wanted``."""
    out: dict[int, list[int]] = {lab: [] for lab in wanted}
    if not wanted:
        return out
    at = np.flatnonzero(np.isin(labels, np.fromiter(wanted, dtype=np.int64, count=len(wanted))))
    for i, lab in zip(at.tolist(), labels[at].tolist(), strict=True):
        out[lab].append(i)
    return out
