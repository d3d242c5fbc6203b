"""Shape-keeping masks: each kind's documented shape, and the edge cases that must not leak."""

from __future__ import annotations

import pytest

from auth.masking import (
    MASKS,
    TEXT_ONLY,
    apply_mask,
    keep,
    mask_address,
    mask_category,
    mask_date_year,
    mask_division_township,
    mask_icd10,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_pinyin,
    mask_region,
    null,
    redact,
)


@pytest.mark.parametrize("kind", sorted(MASKS))
def test_none_stays_none_for_every_kind(kind: str) -> None:
    assert apply_mask(kind, None) is None


def test_text_only_kinds_are_known_kinds() -> None:
    assert TEXT_ONLY.issubset(MASKS)
    assert {"keep", "null", "redact"}.isdisjoint(TEXT_ONLY)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张小明", "张*明"),
        ("张明", "张*"),
        ("欧阳娜娜", "欧**娜"),  # positional rule: no compound-surname table
        ("司马相如", "司**如"),
        ("张", "*"),
        (" 张小明 ", "张*明"),
        ("阿依古丽·买买提", "阿***·**提"),
        ("", ""),
    ],
)
def test_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked
    if value.strip():
        assert len(mask_name(value)) == len(value.strip())


def test_pinyin_keeps_surname_and_initials() -> None:
    assert mask_pinyin("ZHANG XIAOMING") == "ZHANG X*******"
    assert mask_pinyin("zhangxiaoming") == "z************"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("510104199001011234", "510***********1234"),
        ("11010519491231002X", "110***********002X"),
        ("510104900101123", "510********1123"),  # first-generation 15-digit number
        ("12345", "*****"),
        ("1234567890123", "*************"),
    ],
)
def test_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("0936-8212345", "093*****2345"),
        ("82123456", "******56"),
        ("12345", "*****"),
    ],
)
def test_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("重庆市宁川县青石镇龙桥村3组12号", "重庆市宁川县青石镇龙桥村"),
        ("甘肃省张掖市甘州区党寨镇陈家墩村五社", "甘肃省张掖市甘州区党寨镇陈家墩村"),
        ("重庆市宁川县青石镇青石东街社区8栋2单元", "重庆市宁川县青石镇青石东街社区"),
        ("重庆市宁川县城关镇北街居委会12号", "重庆市宁川县城关镇北街居委会"),
        ("红旗村民委员会", "红旗村"),
        # no village: cut to the township
        ("重庆市宁川县青石镇解放路5号", "重庆市宁川县青石镇"),
        ("江苏省镇江市句容市华阳街道华阳北路8号", "江苏省镇江市句容市华阳街道"),
        # 镇江 is a city, not a township; 新村镇 is a township, not a village
        ("江苏省镇江市丹徒区辛丰镇长林村12号", "江苏省镇江市丹徒区辛丰镇长林村"),
        ("重庆市宁川县新村镇龙桥村3组", "重庆市宁川县新村镇龙桥村"),
        ("重庆市宁川县新村镇解放路1号", "重庆市宁川县新村镇"),
        # no township either: cut to the county; nothing recognisable: hidden
        ("北京市朝阳区建国路88号", "北京市朝阳区"),
        ("龙桥村3组", "龙桥村"),
        ("解放路5号", "***"),
    ],
)
def test_address_cut_to_village(value: str, masked: str) -> None:
    assert mask_address(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("广东省深圳市", "广东省"),
        ("上海市", "上海市"),
        ("重庆市渝北区", "重庆市"),
        ("新疆维吾尔自治区乌鲁木齐市", "新疆维吾尔自治区"),
        ("深圳", "***"),
    ],
)
def test_region(value: str, masked: str) -> None:
    assert mask_region(value) == masked


def test_dates_to_year() -> None:
    assert mask_date_year("2015-03-01") == "2015"
    assert mask_date_year("2015-03-01T08:00:00+08:00") == "2015"
    assert mask_date_year("March 2015") == "***"
    assert mask_date_year("") == ""


def test_coded_values() -> None:
    assert mask_category("intellectual-2") == "intellectual"
    assert mask_category("none") == "none"
    assert mask_icd10("F84.0") == "F**.*"
    assert mask_icd10("D66") == "D**"
    assert mask_division_township("500248203201") == "500248203000"
    assert mask_division_township("5002") == "***"


def test_redact_keep_null() -> None:
    assert redact("家暴，已报警") == "***"
    assert redact("") == ""
    assert redact(True) is None  # a masked Boolean never becomes a string
    assert redact(7) is None
    assert keep(True) is True
    assert keep("F") == "F"
    assert null("anything") is None


def test_text_masks_hide_non_strings() -> None:
    assert mask_name(123) == "***"
    assert mask_phone(13812345678) == "***"


def test_unknown_mask_kind_raises() -> None:
    with pytest.raises(KeyError):
        apply_mask("rot13", "x")
