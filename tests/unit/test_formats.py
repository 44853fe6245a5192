"""The customs formats: entry numbers, IOR numbers, MIDs, HTS numbers, countries."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import formats
from schemas.entry import EntryFiling
from tests.factories import entry_data

FILER_CHARS = string.ascii_uppercase + string.digits


@pytest.mark.parametrize(
    ("body", "check"), [("ABC1234567", 6), ("9999999999", 0), ("0000000000", 0)]
)
def test_check_digit_matches_the_worked_examples(body: str, check: int) -> None:
    assert formats.entry_check_digit(body) == check


def test_dashed_and_plain_forms_give_the_dashed_form() -> None:
    assert formats.canonical_entry_number("ABC12345676") == "ABC-1234567-6"
    assert formats.canonical_entry_number("abc-1234567-6") == "ABC-1234567-6"


def test_a_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(ValueError, match="check digit is 5, expected 6"):
        formats.canonical_entry_number("ABC-1234567-5")


@pytest.mark.parametrize("bad", ["AB-1234567-6", "ABC-123456-6", "ABC_1234567_6", "ABC1234567"])
def test_malformed_entry_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="FFF-NNNNNNN-C"):
        formats.canonical_entry_number(bad)


@given(filer=st.text(FILER_CHARS, min_size=3, max_size=3), serial=st.integers(0, 9_999_999))
def test_built_entry_numbers_always_validate(filer: str, serial: int) -> None:
    number = formats.entry_number_from_parts(filer, serial)
    assert formats.canonical_entry_number(number) == number


@given(
    filer=st.text(FILER_CHARS, min_size=3, max_size=3),
    serial=st.integers(0, 9_999_999),
    position=st.integers(3, 9),
    shift=st.integers(1, 9),
)
def test_any_single_serial_digit_error_is_detected(
    filer: str, serial: int, position: int, shift: int
) -> None:
    body = f"{filer}{serial:07d}"
    changed = body[:position] + str((int(body[position]) + shift) % 10) + body[position + 1 :]
    assert formats.entry_check_digit(changed) != formats.entry_check_digit(body)


@given(
    filer=st.text(FILER_CHARS, min_size=3, max_size=3),
    serial=st.integers(0, 9_999_999),
    digit=st.integers(0, 9),
    dashed=st.booleans(),
)
def test_the_table_driven_check_agrees_with_the_reference_sum(
    filer: str, serial: int, digit: int, dashed: bool
) -> None:
    body = f"{filer}{serial:07d}"
    raw = f"{body[:3]}-{body[3:]}-{digit}" if dashed else f"{body}{digit}"
    if digit == formats.entry_check_digit(body):
        assert formats.check_entry_number(raw) == f"{body[:3]}-{body[3:]}-{digit}"
    else:
        with pytest.raises(ValueError, match=f"check digit is {digit}, expected"):
            formats.check_entry_number(raw)


@given(st.text(FILER_CHARS + "-", min_size=11, max_size=13))
def test_the_model_and_the_function_agree_on_entry_numbers(raw: str) -> None:
    try:
        expected: str | None = formats.canonical_entry_number(raw)
    except ValueError:
        expected = None
    try:
        got: str | None = EntryFiling.model_validate(entry_data(entry_number=raw)).entry_number
    except ValidationError:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("12-3456789AB", "ein"),
        ("12-345678900", "ein"),
        ("123-45-6789", "ssn"),
        ("245301-00042", "cbp"),
    ],
)
def test_the_three_ior_number_forms_are_recognised(number: str, kind: str) -> None:
    assert formats.ior_number_kind(number) == kind


@pytest.mark.parametrize(
    "bad",
    [
        "12-3456789AO",
        "12-3456789IZ",
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
        "12345-123456",
        "123456789",
    ],
)
def test_invalid_ior_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="EIN"):
        formats.ior_number_kind(bad)


def test_only_ssn_form_numbers_are_masked() -> None:
    assert formats.mask_ior_number("123-45-6789") == "***-**-6789"
    assert formats.mask_ior_number("12-3456789AB") == "12-3456789AB"
    assert formats.mask_ior_number("245301-00042") == "245301-00042"


def test_mid_is_built_as_cbp_describes() -> None:
    assert formats.build_mid("AU", "Ozrock", "92 Alice Springs Road", "Melbourne") == "AUOZR92MEL"
    # Articles are skipped and only the first two words count.
    assert formats.build_mid("CN", "The Golden Harvest Textile Co", "88 Road", "Ningbo") == (
        "CNGOLHAR88NIN"
    )


@pytest.mark.parametrize("good", ["AUOZR92MEL", "XOMAPLE12TOR", "CNGOLHAR"])
def test_valid_mids_are_accepted(good: str) -> None:
    assert formats.canonical_mid(good) == good


@pytest.mark.parametrize(
    "bad", ["CAMAPLE12TOR", "QQABC1CIT", "CNGOLHAR12345NIN", "CN", "AUOZR92MELBOURNE"]
)
def test_invalid_mids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        formats.canonical_mid(bad)


def test_hts_numbers_take_dots_or_not() -> None:
    assert formats.canonical_hts("6109100012") == "6109.10.0012"
    with pytest.raises(ValueError, match="10-digit"):
        formats.canonical_hts("6109.10")


def test_countries_are_iso_codes() -> None:
    assert len(formats.ISO_COUNTRIES) == 250  # 249 assigned codes plus XK
    assert formats.canonical_country("cn") == "CN"
    with pytest.raises(ValueError, match="ISO 3166"):
        formats.canonical_country("XX")


def test_adcvd_cases_in_either_form() -> None:
    assert formats.canonical_adcvd_case("A-570-983") == "A570983"
    assert formats.canonical_adcvd_case("A570983001") == "A570983001"
    with pytest.raises(ValueError):
        formats.canonical_adcvd_case("B-570-983")
