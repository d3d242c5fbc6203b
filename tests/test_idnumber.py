"""GB 11643-1999 ID numbers: check digit, composition, parsing and the reason codes."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.idnumber import (
    IdNumber,
    InvalidIdNumber,
    check_digit,
    is_valid_id_number,
    make_id_number,
    normalise_id_number,
    parse_id_number,
)

# The worked example published with GB 11643-1999.
GB_EXAMPLE = "11010519491231002X"
TODAY = date(2024, 9, 30)


def _reason(s: str, **kwargs: object) -> str:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(s, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return info.value.reason_code


def test_published_example_is_valid() -> None:
    parsed = parse_id_number(GB_EXAMPLE, today=TODAY)
    assert parsed == IdNumber(
        number=GB_EXAMPLE, region_code="110105", birth_date=date(1949, 12, 31), sequence=2, sex="F"
    )
    assert parsed.province_code == "11"
    assert str(parsed) == GB_EXAMPLE


def test_check_digit_known_values() -> None:
    assert check_digit(GB_EXAMPLE[:17]) == "X"


def test_check_digit_matches_the_iso_7064_definition() -> None:
    # Independent oracle: weights 2^(17-i) mod 11, then (12 - sum mod 11) mod 11, 10 -> X.
    for first17 in ("11010519491231002", "50024820130715123", "51223919600504011", "00000000000000000"):
        total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
        value = (12 - total % 11) % 11
        assert check_digit(first17) == ("X" if value == 10 else str(value))


@pytest.mark.parametrize("bad", ["1234", "1101051949123100X", "110105194912310021X", ""])
def test_check_digit_needs_17_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        check_digit(bad)


def test_make_id_number_round_trips_and_sex_follows_parity() -> None:
    for seq, sex in ((1, "M"), (2, "F"), (999, "M"), (0, "F"), (358, "F")):
        number = make_id_number("500248", date(2012, 2, 29), seq)
        parsed = parse_id_number(number, today=TODAY)
        assert parsed.region_code == "500248"
        assert parsed.birth_date == date(2012, 2, 29)
        assert parsed.sequence == seq
        assert parsed.sex == sex


@pytest.mark.parametrize("region, seq", [("50024", 1), ("5002a8", 1), ("500248", 1000), ("500248", -1)])
def test_make_id_number_rejects_bad_parts(region: str, seq: int) -> None:
    with pytest.raises(ValueError):
        make_id_number(region, date(2010, 1, 1), seq)


def test_lower_case_x_and_full_width_are_normalised() -> None:
    assert parse_id_number(GB_EXAMPLE.lower(), today=TODAY).number == GB_EXAMPLE
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in GB_EXAMPLE)
    assert normalise_id_number(full_width) == GB_EXAMPLE
    assert parse_id_number(f"  {full_width} ", today=TODAY).number == GB_EXAMPLE
    assert parse_id_number(GB_EXAMPLE[:-1] + "ｘ", today=TODAY).number == GB_EXAMPLE


@pytest.mark.parametrize("s", ["", "110105194912310", "11010519491231002", "11010519491231002X1"])
def test_length(s: str) -> None:
    assert _reason(s) == "length"


def test_fifteen_digit_numbers_are_named_in_the_message() -> None:
    with pytest.raises(InvalidIdNumber, match="15 位"):
        parse_id_number("110105491231002", today=TODAY)


@pytest.mark.parametrize(
    "s", ["11010519491231002Y", "1101051949123100X2", "11010519491231-02X", "X1010519491231002X"]
)
def test_characters(s: str) -> None:
    assert _reason(s) == "characters"


def test_every_single_digit_substitution_fails_the_check_digit() -> None:
    number = make_id_number("500248", date(2013, 7, 15), 123)
    for pos in range(17):
        for digit in "0123456789":
            if digit == number[pos]:
                continue
            flipped = number[:pos] + digit + number[pos + 1 :]
            assert _reason(flipped) == "check_digit", flipped


def test_flipped_last_character_fails_the_check_digit() -> None:
    assert _reason(GB_EXAMPLE[:-1] + "0") == "check_digit"


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    "birth8",
    [
        "20130230",  # 30 February
        "20130229",  # not a leap year
        "20131301",  # month 13
        "20130000",  # day 0
        "20250101",  # after TODAY
        "18991231",  # before 1900
    ],
)
def test_birth_date(birth8: str) -> None:
    assert _reason(_with_check(f"500248{birth8}123")) == "birth_date"


def test_leap_day_is_a_date() -> None:
    assert parse_id_number(_with_check("50024820120229123"), today=TODAY).birth_date == date(2012, 2, 29)


@pytest.mark.parametrize("region", ["000000", "001234", "990101", "100101", "830000", "240101"])
def test_region(region: str) -> None:
    assert _reason(_with_check(f"{region}20100101123")) == "region"


def test_retired_region_codes_are_accepted_by_default_and_by_a_table_that_lists_them() -> None:
    # Chongqing people born before 1997 often carry a Sichuan (51) code.
    old = make_id_number("512239", date(1960, 5, 4), 11)
    assert parse_id_number(old, today=TODAY).region_code == "512239"
    assert parse_id_number(old, today=TODAY, known_regions={"500248", "512239"}).region_code == "512239"
    assert _reason(old, known_regions={"500248"}) == "region"


def test_error_carries_code_and_message() -> None:
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number("123", today=TODAY)
    assert info.value.reason_code == "length"
    assert "18" in info.value.message
    assert isinstance(info.value, ValueError)


def test_is_valid_id_number() -> None:
    assert is_valid_id_number(GB_EXAMPLE, today=TODAY)
    assert not is_valid_id_number(GB_EXAMPLE[:-1] + "1", today=TODAY)
