"""The real customs formats: entry numbers, IOR numbers, MIDs, HTS numbers, countries, codes.

Each validator takes the raw string, returns its canonical form, and raises ``ValueError``
with a sentence that says what is wrong (never echoing personal data such as an SSN). They
are plain functions so that the models, the generator and the tests share one definition.
"""

from __future__ import annotations

import re
from typing import Final, Literal

# --- entry numbers -------------------------------------------------------------------------

# Letters map to digits for the check digit: A-I -> 1-9, J-R -> 1-9, S-Z -> 2-9.
_LETTER_VALUES: Final = {
    **{chr(ord("A") + i): i + 1 for i in range(9)},
    **{chr(ord("J") + i): i + 1 for i in range(9)},
    **{chr(ord("S") + i): i + 2 for i in range(8)},
}
_CHAR_VALUES: Final = {**{str(d): d for d in range(10)}, **_LETTER_VALUES}
# Values at the doubled positions: twice the value, digits of the product summed.
_DOUBLED_VALUES: Final = {c: 2 * v - 9 if 2 * v > 9 else 2 * v for c, v in _CHAR_VALUES.items()}

ENTRY_NUMBER_PATTERN: Final = r"^([A-Z0-9]{3}-[0-9]{7}-[0-9]|[A-Z0-9]{3}[0-9]{8})$"
_ENTRY_NUMBER = re.compile(ENTRY_NUMBER_PATTERN)
ENTRY_NUMBER_REASON: Final = (
    "must be FFF-NNNNNNN-C (3-character filer code, 7-digit serial, check digit) "
    "or the same 11 characters without dashes"
)


def entry_check_digit(filer_and_serial: str) -> int:
    """Check digit over the 10 characters of filer code + serial (Luhn mod 10, letters mapped).

    Positions 2, 4, 6, 8 and 10 from the left are doubled and the digits of each product
    summed. The mapping comes from public code citing CBP's ABI specification; this is the
    one place that knows it.
    """
    if len(filer_and_serial) != 10:
        raise ValueError("needs the 3-character filer code and the 7-digit serial")
    try:
        total = sum(map(_CHAR_VALUES.__getitem__, filer_and_serial[0::2])) + sum(
            map(_DOUBLED_VALUES.__getitem__, filer_and_serial[1::2])
        )
    except KeyError as error:
        raise ValueError(f"character {error.args[0]!r} cannot appear in an entry number") from None
    return (10 - total % 10) % 10


# The hot path checks one entry number per message, so the sum is taken from tables built
# once from the same values: the filer code's part (cached per code; there are few filers),
# the first three serial digits (doubled, single, doubled) and the last four (single,
# doubled, single, doubled). Three lookups instead of ten, and the same digit as
# :func:`entry_check_digit` (a property test compares them).
_SERIAL_HEAD: Final = {
    f"{n:03d}": _DOUBLED_VALUES[f"{n:03d}"[0]]
    + _CHAR_VALUES[f"{n:03d}"[1]]
    + _DOUBLED_VALUES[f"{n:03d}"[2]]
    for n in range(1000)
}
_SERIAL_TAIL: Final = {
    f"{n:04d}": sum(
        (_CHAR_VALUES if i % 2 == 0 else _DOUBLED_VALUES)[c] for i, c in enumerate(f"{n:04d}")
    )
    for n in range(10_000)
}
_FILER_SUMS: dict[str, int] = {}


def _filer_sum(filer_code: str) -> int:
    total = _FILER_SUMS.get(filer_code)
    if total is None:
        try:
            total = (
                _CHAR_VALUES[filer_code[0]]
                + _DOUBLED_VALUES[filer_code[1]]
                + _CHAR_VALUES[filer_code[2]]
            )
        except KeyError as error:
            reason = f"character {error.args[0]!r} cannot appear in an entry number"
            raise ValueError(reason) from None
        _FILER_SUMS[filer_code] = total
    return total


def check_entry_number(value: str) -> str:
    """Verify the check digit of a well-formed entry number and return the dashed form.

    The models check the shape first (``ENTRY_NUMBER_PATTERN``, in pydantic's core), so
    this only runs on the 11 or 13 characters it expects.
    """
    dashed = value if len(value) == 13 else f"{value[:3]}-{value[3:10]}-{value[10]}"
    total = _filer_sum(dashed[:3]) + _SERIAL_HEAD[dashed[4:7]] + _SERIAL_TAIL[dashed[7:11]]
    expected = (10 - total % 10) % 10
    if ord(dashed[12]) - 48 != expected:
        raise ValueError(f"check digit is {dashed[12]}, expected {expected}")
    return dashed


def canonical_entry_number(raw: str) -> str:
    """``FFF-NNNNNNN-C`` from either the dashed or the plain 11-character form."""
    value = raw.strip().upper()
    if not _ENTRY_NUMBER.fullmatch(value):
        raise ValueError(ENTRY_NUMBER_REASON)
    return check_entry_number(value)


def entry_number_from_parts(filer_code: str, serial: int) -> str:
    """Build a valid entry number (used by the generator and the tests)."""
    body = f"{filer_code.upper()}{serial:07d}"
    return f"{body[:3]}-{body[3:]}-{entry_check_digit(body)}"


# --- IOR numbers ---------------------------------------------------------------------------

IorNumberKind = Literal["ein", "ssn", "cbp"]

# EIN + 2-character suffix; the suffix never uses O, I or Z (they read as 0, 1 and 2).
_EIN_FORM: Final = r"[0-9]{2}-[0-9]{7}[0-9A-HJ-NP-Y]{2}"
# SSN: area 001-899 except 666, group 01-99, serial 0001-9999 (SSA's numbering rules).
_SSN_FORM: Final = (
    r"(00[1-9]|0[1-9][0-9]|[1-5][0-9]{2}|6[0-5][0-9]|66[0-57-9]|6[7-9][0-9]|[78][0-9]{2})"
    r"-(0[1-9]|[1-9][0-9])-(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
)
# CBP-assigned: YYDDPP-NNNNN (year, district and port of assignment, sequence).
_CBP_FORM: Final = r"[0-9]{6}-[0-9]{5}"
IOR_NUMBER_PATTERN: Final = f"^({_EIN_FORM}|{_SSN_FORM}|{_CBP_FORM})$"
IOR_NUMBER_REASON: Final = (
    "must be an EIN with a 2-character suffix other than O, I or Z (NN-NNNNNNNXX), "
    "a valid SSN (NNN-NN-NNNN) or a CBP-assigned number (YYDDPP-NNNNN)"
)
_EIN = re.compile(_EIN_FORM)
_SSN = re.compile(_SSN_FORM)
_CBP = re.compile(_CBP_FORM)


def ior_number_kind(raw: str) -> IorNumberKind:
    """Which of the three IOR number forms ``raw`` is, or ``ValueError``."""
    if _EIN.fullmatch(raw):
        return "ein"
    if _SSN.fullmatch(raw):
        return "ssn"
    if _CBP.fullmatch(raw):
        return "cbp"
    raise ValueError(IOR_NUMBER_REASON)


def canonical_ior_number(raw: str) -> str:
    value = raw.strip().upper()
    ior_number_kind(value)
    return value


def is_ssn_form(ior_number: str) -> bool:
    # Only the SSN form is 11 characters long with dashes at positions 3 and 6.
    return len(ior_number) == 11 and ior_number[3] == "-" and ior_number[6] == "-"


def mask_ior_number(ior_number: str) -> str:
    """SSN-form numbers are personal data: keep only the last four digits."""
    if is_ssn_form(ior_number):
        return f"***-**-{ior_number[-4:]}"
    return ior_number


# --- countries -----------------------------------------------------------------------------

# ISO 3166-1 alpha-2 (the 249 assigned codes) plus XK, which CBP uses for Kosovo.
ISO_COUNTRIES: Final = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
        "XK",
    ]
)

# A Canadian manufacturer's MID starts with its province code instead of CA.
CANADIAN_PROVINCE_CODES: Final = frozenset(
    ["XA", "XB", "XC", "XM", "XN", "XO", "XP", "XQ", "XS", "XT", "XV", "XW", "XY"]
)


COUNTRY_REASON: Final = "must be an ISO 3166-1 alpha-2 country code such as CN or DE"


def canonical_country(raw: str) -> str:
    value = raw.strip().upper()
    if value not in ISO_COUNTRIES:
        raise ValueError(COUNTRY_REASON)
    return value


# --- manufacturer ids ----------------------------------------------------------------------

_MID_SKIPPED_WORDS: Final = frozenset({"A", "AN", "AND", "OF", "THE"})
# Country (a Canadian maker uses its province code instead of CA), up to 6 letters of the
# name, up to 4 digits of the street number, up to 3 letters of the city.
_MID_PREFIXES: Final = "|".join(sorted((ISO_COUNTRIES - {"CA"}) | CANADIAN_PROVINCE_CODES))
MID_PATTERN: Final = f"^({_MID_PREFIXES})[A-Z]{{1,6}}[0-9]{{0,4}}[A-Z]{{0,3}}$"
MID_REASON: Final = (
    "must be a country (or Canadian province) code, up to 6 name letters, up to 4 street "
    "digits and up to 3 city letters, at most 15 characters (e.g. AUOZR92MEL)"
)
_MID = re.compile(MID_PATTERN)


def canonical_mid(raw: str) -> str:
    """A manufacturer id: country (or Canadian province), name letters, street number, city."""
    value = raw.strip().upper()
    if len(value) > 15 or not _MID.fullmatch(value):
        raise ValueError(MID_REASON)
    return value


def build_mid(country: str, name: str, street: str, city: str) -> str:
    """Construct a MID the way CBP's instructions describe it."""
    words = [w for w in re.findall(r"[A-Za-z]+", name.upper()) if w not in _MID_SKIPPED_WORDS]
    name_part = "".join(w[:3] for w in words[:2])
    numbers = [int(n) for n in re.findall(r"[0-9]+", street) if len(n) <= 4]
    number_part = str(max(numbers)) if numbers else ""
    city_part = "".join(re.findall(r"[A-Za-z]", city.upper()))[:3]
    return f"{country.upper()}{name_part}{number_part}{city_part}"[:15]


# --- HTS, codes ----------------------------------------------------------------------------

HTS_PATTERN: Final = r"^([0-9]{4})\.?([0-9]{2})\.?([0-9]{4})$"
HTS_REASON: Final = "must be a 10-digit HTS number (NNNN.NN.NNNN, dots optional)"
_HTS = re.compile(HTS_PATTERN)


def canonical_hts(raw: str) -> str:
    """``NNNN.NN.NNNN`` from the 10 digits with or without dots."""
    match = _HTS.fullmatch(raw.strip())
    if match is None:
        raise ValueError(HTS_REASON)
    return ".".join(match.groups())


ENTRY_TYPES: Final = frozenset(
    [
        "01",
        "02",
        "03",
        "06",
        "07",
        "08",
        "09",
        "11",
        "12",
        "13",
        "21",
        "23",
        "26",
        "31",
        "32",
        "34",
        "38",
        "51",
        "52",
        "61",
        "62",
        "63",
        "69",
        "70",
        "86",
    ]
)
INFORMAL_ENTRY_TYPES: Final = frozenset({"11", "12", "13"})


ENTRY_TYPE_REASON: Final = "is not a known entry type code (01, 11, 86, ...)"


def canonical_entry_type(raw: str) -> str:
    value = raw.strip()
    if value not in ENTRY_TYPES:
        raise ValueError(ENTRY_TYPE_REASON)
    return value


# Case type, country, case number, and the optional company suffix (the native decoder
# reads the same pattern, anchored).
ADCVD_CASE_FORM: Final = r"([AC])-?([0-9]{3})-?([0-9]{3})(?:-?([0-9]{3}))?"
_ADCVD = re.compile(ADCVD_CASE_FORM)


def canonical_adcvd_case(raw: str) -> str:
    """AD/CVD case as ACE writes it: ``A570983001`` (company suffix optional on input)."""
    match = _ADCVD.fullmatch(raw.strip().upper())
    if match is None:
        raise ValueError("must be an AD/CVD case number such as A-570-983 or A570983001")
    return "".join(part for part in match.groups() if part)
