"""Standard forms: surname-aware pinyin, dates, codes, reference tables and addresses."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from connectors.mentions import PersonMention, mention_record_id
from connectors.sources.survey import parse_disability
from connectors.standardise import (
    Reference,
    Rejected,
    check_id_number,
    check_one_of,
    given_name,
    normalise_name,
    parse_date,
    parse_hukou_type,
    parse_phone,
    parse_sex,
    validate_id_number,
)
from tests import test_connectors_support as support

county = support.county


def test_names_lose_blanks_and_get_one_middle_dot() -> None:
    assert normalise_name(" 张 三 ") == "张三"
    assert normalise_name("阿依•古丽") == "阿依·古丽"
    assert normalise_name("  ") is None


def test_names_are_kept_as_given_and_keyed_for_matching() -> None:
    # The stored name is what the source wrote; only outer blanks go.
    assert given_name(" 买买提 艾力\u3000") == "买买提 艾力"
    assert given_name("阿依．古丽") == "阿依．古丽"
    assert given_name("Ahmed Ali") == "Ahmed Ali"
    assert given_name(" ") is None
    # The matching key: no blanks in a Han name, one middle dot (also for the full-width
    # full stop, which NFKC would otherwise make a '.'), single spaces between Latin words.
    assert normalise_name("买买提 艾力") == "买买提艾力"
    assert normalise_name("阿依．古丽") == normalise_name("阿依·古丽") == "阿依·古丽"
    assert normalise_name("Ahmed  Ali") == "Ahmed Ali"


@pytest.mark.parametrize(
    ("given", "status"),
    [
        ("500248 201404096988", "id_number.length"),
        ("500248140409698", "id_number.length"),
        ("5.002482014040970e+17", "id_number.number_cell"),
        ("500248201404096989", "id_number.check_digit"),
    ],
)
def test_an_invalid_id_number_is_kept_as_an_unverified_claim(given: str, status: str) -> None:
    chk = check_id_number(given, "身份证号")
    assert (chk.number, chk.claim, chk.status) == (None, given, status)
    assert "身份证号" in chk.message


def test_a_valid_id_number_is_the_key_and_no_claim() -> None:
    chk = check_id_number(" 500248201404096988 ", "身份证号")
    assert (chk.number, chk.claim, chk.status) == ("500248201404096988", None, "valid")
    assert check_id_number("", "身份证号").status is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-02-03", date(2013, 2, 3)),
        ("20130203", date(2013, 2, 3)),
        ("2013/2/3", date(2013, 2, 3)),
        ("2013年2月3日", date(2013, 2, 3)),
        ("2013-02-03T10:00:00+08:00", date(2013, 2, 3)),
        ("", None),
    ],
)
def test_dates_in_the_sources_spellings(text: str, expected: date | None) -> None:
    assert parse_date(text, "d") == expected


@pytest.mark.parametrize("text", ["不详", "0000-00-00", "2013-02-30", "2013/13/05", "13年2月", "20130732"])
def test_impossible_dates_are_rejected_not_guessed(text: str) -> None:
    with pytest.raises(Rejected) as exc:
        parse_date(text, "出生日期")
    assert exc.value.code == "date.invalid" and "出生日期" in exc.value.message


def test_required_blank_and_future_dates() -> None:
    with pytest.raises(Rejected, match=r"field\.missing"):
        parse_date("", "走访日期", required=True)
    with pytest.raises(Rejected, match="晚于今天"):
        parse_date("2030-01-01", "d", not_after=date(2024, 1, 1))


def test_codes() -> None:
    assert parse_sex("男") == "M" and parse_sex("female") == "F" and parse_sex("") is None
    with pytest.raises(Rejected, match=r"value\.invalid"):
        parse_sex("x")
    assert parse_hukou_type("农业") == "rural" and parse_hukou_type("非农业") == "urban"
    assert parse_phone("+86 138-0013-8000") == "13800138000"


def test_a_word_outside_a_fields_choices_is_rejected_naming_them_all() -> None:
    assert check_one_of("辍学", ("在读", "辍学", "休学"), "学籍状态") == "辍学"
    assert check_one_of("病假", {"旷课": "truancy", "病假": "sick_leave"}, "缺勤类型") == "病假"
    with pytest.raises(Rejected) as refused:
        check_one_of("毕业", ("在读", "辍学", "休学"), "学籍状态")
    assert refused.value.code == "value.invalid"
    assert refused.value.message == "学籍状态 '毕业' 不在可选值（在读、辍学、休学）之中"
    with pytest.raises(Rejected, match="旷课、病假"):
        check_one_of("sick_leave", {"旷课": "truancy", "病假": "sick_leave"}, "缺勤类型")


def test_id_numbers_are_normalised_or_rejected_with_the_idnumber_reason() -> None:
    assert validate_id_number("５００２４８２０１５０２１２１６９ｘ") == "50024820150212169X"
    assert validate_id_number("") is None
    with pytest.raises(Rejected) as exc:
        validate_id_number("500248201502121690")
    assert exc.value.code == "id_number.check_digit"


def test_reference_maps_retired_codes_and_places_addresses(county: Path) -> None:
    ref = Reference.load(county / "reference")
    retired = next(c for c, d in ref.divisions.items() if d.status == "retired" and d.level == "village")
    current, was_retired = ref.standard_division(retired)
    assert was_retired and ref.divisions[current].status == "current"
    with pytest.raises(Rejected, match=r"division\.unknown"):
        ref.standard_division("500248999999")
    with pytest.raises(Rejected, match=r"division\.invalid"):
        ref.standard_division("5002481")
    village = next(d for d in ref.divisions.values() if d.level == "village" and d.status == "current")
    township = ref.divisions[village.parent_code].name
    assert ref.division_of_address(f"重庆市宁川县{township}{village.name}3组5号") == village.code
    # A merged village's old name still finds the village it joined.
    old = ref.divisions[retired]
    old_township = ref.divisions[old.parent_code].name
    assert ref.division_of_address(f"重庆市宁川县{old_township}{old.name}1组2号") == current


def test_address_parsing_does_not_depend_on_the_hash_seed(county: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; the result must not."""
    code = (
        "from pathlib import Path; from connectors.standardise import Reference;"
        f"r = Reference.load(Path({str(county / 'reference')!r}));"
        "v = next(d for d in r.divisions.values() if d.level == 'village' and d.status == 'current');"
        "t = r.divisions[v.parent_code].name;"
        "print(r.division_of_address('重庆市宁川县' + t + v.name + '1组') == v.code)"
    )
    for seed in ("0", "1", "2", "3", "4", "5"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert out.stdout.strip() == "True", (seed, out.stderr)


def test_disability_text_of_the_survey() -> None:
    assert parse_disability("残疾（肢体二级）") == "physical-2"
    assert parse_disability("良好") == "none"
    assert parse_disability("重病（急性淋巴细胞白血病）") is None


def test_person_mention_ids() -> None:
    m = PersonMention("survey", mention_record_id("500248101202-0001", "father"), "father", name="高波亮")
    assert m.key == ("survey", "500248101202-0001#father")
    with pytest.raises(ValueError):
        mention_record_id("x", "uncle")
    with pytest.raises(AttributeError):
        m.name = "x"  # type: ignore[misc]
