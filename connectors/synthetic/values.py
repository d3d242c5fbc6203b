"""How true values are written in the agencies' systems: code systems, Chinese labels, date styles.

Shared by the per-format writers (police, education, health, survey) and the truth.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from connectors.synthetic import vocab
from connectors.synthetic.population import (
    Person,
)

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OID_ID_CARD = "urn:oid:2.16.156.10011.1.3"  # 居民身份证号
OID_HEALTH_RECORD = "urn:oid:2.16.156.10011.1.2"  # 城乡居民健康档案编号
OID_OUTPATIENT = "urn:oid:2.16.156.10011.1.11"  # 门(急)诊号
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

SEX_ZH = {"M": "男", "F": "女"}
GENDER_FHIR = {"M": "male", "F": "female"}
HUKOU_ZH = {"rural": "农业", "urban": "非农业"}
DISTRESS_ZH = {
    "orphan": "孤儿",
    "de_facto_unsupported": "事实无人抚养",
    "disabled": "残疾",
    "seriously_ill": "重病",
    "dibao": "低保",
    "tekun": "特困",
}
ASSISTANCE_ZH = {"": "无", "dibao": "低保", "tekun": "特困"}
DISABILITY_ZH = {kind: zh for kind, zh, _ in vocab.DISABILITY_KINDS}
DISABILITY_ICD = {kind: icd for kind, _, icd in vocab.DISABILITY_KINDS}
SERIOUS_ZH = dict(vocab.SERIOUS_ILLNESSES)
RELATION_ROLE_CODE = {
    "父亲": ("FTH", "father"),
    "母亲": ("MTH", "mother"),
    "祖父": ("PGRFTH", "paternal grandfather"),
    "祖母": ("PGRMTH", "paternal grandmother"),
    "外祖父": ("MGRFTH", "maternal grandfather"),
    "外祖母": ("MGRMTH", "maternal grandmother"),
    "伯父": ("UNCLE", "uncle"),
    "叔叔": ("UNCLE", "uncle"),
    "舅舅": ("UNCLE", "uncle"),
    "姑姑": ("AUNT", "aunt"),
    "姨妈": ("AUNT", "aunt"),
    "伯母": ("AUNT", "aunt"),
}

_BAD_DATES = ("不详", "0000-00-00", "{y}-02-30", "{y}/13/{d:02d}", "{yy}年{m}月", "{y}{m:02d}32")


def bad_date(d: date, rng: random.Random) -> str:
    return rng.choice(_BAD_DATES).format(y=d.year, yy=d.year % 100, m=d.month, d=d.day)


def iso_date(d: date | None) -> str:
    return d.isoformat() if d else ""


def compact_date(d: date | None) -> str:
    return f"{d:%Y%m%d}" if d else ""


def cn_date(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def fhir_datetime(d: date, minutes: int) -> str:
    """A local (UTC+8) FHIR dateTime ``minutes`` after midnight of ``d``."""
    extra, minutes = divmod(minutes, 24 * 60)
    d = d + timedelta(days=extra)
    return f"{d.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00+08:00"


def age_on(p: Person, d: date) -> float:
    return (d - p.birth).days / 365.2425
