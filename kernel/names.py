"""Chinese personal names as entity resolution compares them: by sound, with surnames read right.

Clerks write a name they hear, so the same child appears as 张晓明 and 张小明, 陈丽 and
程丽; comparing characters would call these different people. Comparing toneless pinyin
catches them, but only if the surname is read as a surname: pypinyin reads 曾 as
*céng* ("once"), 单 as *dān*, 解 as *jiě*, 仇 as *chóu*, which are the word readings,
while the surnames are Zēng, Shàn, Xiè, Qiú. A 曾 entered as 增 by a clerk who heard
"Zeng" would then not match. :data:`SURNAME_READINGS` fixes the single-character
surnames whose surname reading differs from pypinyin's default, and
:data:`COMPOUND_SURNAMES` recognises two-character surnames (欧阳, 司马, 尉迟 …) so that
their given name is read on its own.

Three keys come out of a name, from strict to tolerant:

- :func:`name_pinyin` — toneless syllables joined by spaces (``zeng xiao ming``): the
  key stored on graph nodes and searched by caseworkers; equal keys are homophones in
  standard Mandarin.
- :func:`fuzzy_pinyin` — the same after the mergers of south-west Mandarin the county
  speaks (in/ing, en/eng, z/zh, c/ch, s/sh, n/l): 新 and 兴, 陈 and 程 agree here.
- the characters themselves, for exact agreement.

:func:`compare_names` places a pair of names on the ladder :class:`NameAgreement`; the
Splink comparison in :mod:`connectors.resolution.chinese` computes the same levels in SQL
from the precomputed keys, so the name and its pinyin are one comparison with ordered
levels and never two comparisons whose evidence would be counted twice.
"""

from __future__ import annotations

import re
import unicodedata
from enum import IntEnum
from functools import lru_cache

__all__ = [
    "COMPOUND_SURNAMES",
    "SURNAME_READINGS",
    "NameAgreement",
    "compare_names",
    "fuzzy_pinyin",
    "fuzzy_syllable",
    "given_pinyin",
    "name_forms",
    "name_pinyin",
    "nickname_core",
    "normalise_name",
    "split_name",
    "surname_pinyin",
]

# Single-character surnames whose surname reading is not pypinyin's default reading of
# the character (checked against pypinyin 0.55). Only readings that are the surname's
# standard one in 现代汉语词典 / the public-security name-romanisation practice.
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng",  # céng "once"
    "单": "shan",  # dān "single"
    "解": "xie",  # jiě "untie"
    "仇": "qiu",  # chóu "hatred"
    "区": "ou",  # qū "district"
    "查": "zha",  # chá "check"
    "朴": "piao",  # pǔ "plain"; Korean-Chinese 朴 is Piáo
    "盖": "ge",  # gài "lid"
    "翟": "zhai",  # dí
    "乐": "yue",  # lè; 乐 as a surname is mostly Yuè
    "缪": "miao",  # móu
    "秘": "bi",  # mì
    "种": "chong",  # zhǒng
    "繁": "po",  # fán
    "员": "yun",  # yuán
    "能": "nai",  # néng
    "召": "shao",  # zhào
    "隗": "wei",  # kuí
    "郇": "xun",  # huán
    "都": "du",  # dōu
    "薄": "bo",  # báo
    "藏": "zang",  # cáng
    "阚": "kan",  # pypinyin gives hǎn
    "卜": "bu",  # bo (the radish reading)
    "洗": "xian",  # xǐ "wash"
    "祭": "zhai",  # jì
    "句": "gou",  # jù
    "蕃": "pi",  # fán
    "折": "she",  # zhé
    "黑": "he",  # hēi
    "粘": "nian",  # zhān
    "角": "jue",  # jiǎo
    "长": "chang",  # zhǎng
    "重": "chong",  # zhòng
    # 覃 is deliberately left at pypinyin's tán: both Tán and Qín are in use, and in
    # Chongqing and western Hubei clerks write 覃 for 谭 (and the reverse), so tán is the
    # reading under which the two are recognised as homophones.
}

# Two-character surnames (复姓), with their readings. 尉迟 is Yùchí, 万俟 Mòqí, 单于
# Chányú, 长孙 Zhǎngsūn: a character-by-character reading gets them wrong.
COMPOUND_SURNAMES: dict[str, str] = {
    "欧阳": "ou yang",
    "司马": "si ma",
    "诸葛": "zhu ge",
    "上官": "shang guan",
    "尉迟": "yu chi",
    "万俟": "mo qi",
    "长孙": "zhang sun",
    "令狐": "ling hu",
    "皇甫": "huang fu",
    "公孙": "gong sun",
    "东方": "dong fang",
    "夏侯": "xia hou",
    "慕容": "mu rong",
    "宇文": "yu wen",
    "司徒": "si tu",
    "司空": "si kong",
    "西门": "xi men",
    "南宫": "nan gong",
    "澹台": "tan tai",
    "轩辕": "xuan yuan",
    "端木": "duan mu",
    "独孤": "du gu",
    "呼延": "hu yan",
    "钟离": "zhong li",
    "闻人": "wen ren",
    "赫连": "he lian",
    "申屠": "shen tu",
    "公羊": "gong yang",
    "太史": "tai shi",
    "单于": "chan yu",
    "濮阳": "pu yang",
    "淳于": "chun yu",
    "仲孙": "zhong sun",
    "拓跋": "tuo ba",
    "百里": "bai li",
    "东郭": "dong guo",
    "左丘": "zuo qiu",
    "宗政": "zong zheng",
    "公冶": "gong ye",
    "乐正": "yue zheng",
    "巫马": "wu ma",
    "亓官": "qi guan",
    "鲜于": "xian yu",
    "闾丘": "lv qiu",
    "第五": "di wu",
    "梁丘": "liang qiu",
    "漆雕": "qi diao",
    "段干": "duan gan",
}

# Separators in minority-nationality names written in Chinese characters
# (买买提·吐尔逊); they are not part of either name and vary between systems (· • ・ .).
_SEPARATORS = re.compile(r"[\s·•・.\-_]+")


def normalise_name(name: str) -> str:
    """NFKC, no blanks or name separators, Latin letters lower-cased.

    Full-width letters typed through a Chinese input method and a stray space between
    surname and given name (张 晓明) are the same name.
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", name)).lower()


def split_name(name: str) -> tuple[str, str]:
    """(surname, given name). A compound surname is taken only when a given name follows.

    Chinese names carry no separator; nearly all surnames are one character, and the
    two-character ones are a closed list. 欧阳 alone is read as surname 欧 and given name
    阳, because a person with a compound surname and no given name does not occur.
    """
    text = normalise_name(name)
    if len(text) >= 3 and text[:2] in COMPOUND_SURNAMES:
        return text[:2], text[2:]
    return text[:1], text[1:]


@lru_cache(maxsize=65_536)
def _syllables(text: str) -> tuple[str, ...]:
    # Style.NORMAL is toneless; ü is written v (lv, nv), as ID-card romanisation does.
    # Characters pypinyin cannot read (Latin letters, digits) are kept as they are.
    # Imported here: loading its phrase dictionary is a quarter of every CLI command's start-up
    # (0.25 s CPU), and most commands (graph stats, verify, cases reproject) never read a name.
    from pypinyin import Style, lazy_pinyin

    return tuple(s for s in lazy_pinyin(text, style=Style.NORMAL, errors="default", v_to_u=False) if s)


def surname_pinyin(surname: str) -> str:
    """The surname read as a surname: the tables first, then pypinyin."""
    if surname in COMPOUND_SURNAMES:
        return COMPOUND_SURNAMES[surname]
    if surname in SURNAME_READINGS:
        return SURNAME_READINGS[surname]
    return " ".join(_syllables(surname))


def given_pinyin(given: str) -> str:
    """The given name read on its own, so a phrase across the surname boundary (解放, 曾经)
    cannot pull a character to its word reading."""
    return " ".join(_syllables(given))


@lru_cache(maxsize=262_144)
def name_pinyin(name: str) -> str:
    """Toneless pinyin syllables joined by single spaces, surname read as a surname.

    曾小明 → ``zeng xiao ming`` (pypinyin alone says ``ceng``); 张晓明 and 张小明 both give
    ``zhang xiao ming``. Empty for an empty name.
    """
    if not any(_is_han(ch) for ch in name):
        # A name in Latin letters (a foreign national's, or a test set's): its words.
        return " ".join(unicodedata.normalize("NFKC", name).lower().split())
    surname, given = split_name(name)
    return " ".join(p for p in (surname_pinyin(surname), given_pinyin(given)) if p)


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f"


# South-west Mandarin (西南官话), which the county speaks, does not distinguish these; a
# clerk hearing 兴 (xing) may write 新 (xin), 陈 (chen) may be written 程 (cheng).
_FUZZY_INITIALS: tuple[tuple[str, str], ...] = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS: tuple[tuple[str, str], ...] = (("ing", "in"), ("eng", "en"))


@lru_cache(maxsize=4096)
def fuzzy_syllable(syllable: str) -> str:
    """One toneless syllable with the south-west Mandarin mergers applied."""
    s = syllable
    for a, b in _FUZZY_INITIALS:
        if s.startswith(a) and len(s) > len(a):
            s = b + s[len(a) :]
            break
    for a, b in _FUZZY_FINALS:
        if s.endswith(a):
            s = s[: -len(a)] + b
            break
    return s


def fuzzy_pinyin(name: str) -> str:
    """:func:`name_pinyin` with :func:`fuzzy_syllable` applied to each syllable."""
    return " ".join(fuzzy_syllable(s) for s in name_pinyin(name).split())


class NameAgreement(IntEnum):
    """How far two names agree, best first (higher value = stronger agreement).

    The order is the order of the Splink comparison levels for the name.
    """

    DIFFERENT = 0
    SIMILAR = 1  # pinyin Jaro-Winkler >= 0.88: two characters off, or a dropped character
    ONE_CHARACTER = 2  # same length, one character differs (a typo, or a sibling)
    DIALECT_HOMOPHONE = 3  # same sound in south-west Mandarin (新/兴, 陈/程)
    HOMOPHONE = 4  # same toneless pinyin (晓/小)
    EXACT = 5


def _jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity; the same function DuckDB's ``jaro_winkler_similarity`` is."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    a_flags = [False] * la
    b_flags = [False] * lb
    matches = 0
    for i, ch in enumerate(a):
        lo, hi = max(0, i - window), min(lb, i + window + 1)
        for j in range(lo, hi):
            if not b_flags[j] and b[j] == ch:
                a_flags[i] = b_flags[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions = 0
    j = 0
    for i in range(la):
        if a_flags[i]:
            while not b_flags[j]:
                j += 1
            if a[i] != b[j]:
                transpositions += 1
            j += 1
    m = float(matches)
    jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def nickname_core(name: str) -> str | None:
    """The character a nickname is built on (小明, 明明, 阿明, 王小明 → 明), or None.

    Village forms often carry the name a family uses (小名/乳名) instead of the registered
    one; the common patterns are 小X, 阿X and the doubled XX, with or without the surname,
    X being a character of the registered given name (usually the last). A registered
    name can have this shape too (王婷婷), which is why a nickname is one comparison level
    with its own weight and not a rewrite of the name.
    """
    text = normalise_name(name)
    if len(text) == 2:
        head, tail = text[0], text[1]
    elif len(text) == 3 and text[:2] not in COMPOUND_SURNAMES:
        head, tail = text[1], text[2]
    else:
        return None
    if not _is_han(tail):
        return None
    if head in "小阿" or head == tail:
        return tail
    return None


def name_forms(name: str) -> tuple[str, str | None, str | None]:
    """(given characters, nickname core, swapped-order key) of a name, for the comparison levels.

    The given characters of a two-character nickname are the whole nickname (明明 has no
    surname). The swapped-order key is the surname and the given characters sorted, so
    王明志 and 王志明 share it (a clerk's transposition); None for a one-character given
    name, where there is nothing to swap.
    """
    text = normalise_name(name)
    core = nickname_core(text)
    surname, given = split_name(text)
    if core is not None and len(text) == 2:
        given = text
    swapped = surname + "".join(sorted(given)) if len(given) >= 2 and core is None else None
    return given, core, swapped


SIMILAR_PINYIN_THRESHOLD = 0.88
"""Jaro-Winkler on the pinyin key at or above which names count as :attr:`NameAgreement.SIMILAR`."""


def compare_names(a: str, b: str) -> NameAgreement:
    """Place two names on the :class:`NameAgreement` ladder.

    ``ONE_CHARACTER`` needs the same number of characters and exactly one position
    differing; that is what a mistyped character does, and also what separates two
    siblings, which is why it is a weaker level than any homophone.
    """
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return NameAgreement.DIFFERENT
    if na == nb:
        return NameAgreement.EXACT
    pa, pb = name_pinyin(na), name_pinyin(nb)
    if pa == pb:
        return NameAgreement.HOMOPHONE
    if fuzzy_pinyin(na) == fuzzy_pinyin(nb):
        return NameAgreement.DIALECT_HOMOPHONE
    if len(na) == len(nb) and sum(x != y for x, y in zip(na, nb, strict=True)) == 1:
        return NameAgreement.ONE_CHARACTER
    if _jaro_winkler(pa, pb) >= SIMILAR_PINYIN_THRESHOLD:
        return NameAgreement.SIMILAR
    return NameAgreement.DIFFERENT
