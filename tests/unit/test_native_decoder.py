"""The compiled entry decoder builds exactly pydantic's EntryFiling, or leaves the message
to pydantic: it never accepts what pydantic refuses.

Valid filings (property-generated, and the generator's feed) must come out equal field for
field, with the same value types, the same fields set and the same repr; mutated ones
(every field made wrong, missing, null, of another type, out of range, duplicated, with
unknown keys) must either come out as pydantic builds them or be declined.
"""

from __future__ import annotations

import json
import os
import random
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from entry_screening.synthetic import FeedSpec, brokers, feed, registry
from schemas import codec
from schemas.entry import EntryFiling
from schemas.native_decoder import ENTRY_DECODER
from tests import strategies as s
from tests.factories import entry_data

if ENTRY_DECODER is None:
    if os.environ.get("ENTRY_SCREENING_REQUIRE_NATIVE") == "1":
        raise RuntimeError("the native decoder is required here but is not installed")
    pytest.skip("the native core is not installed (pip install ./native)", allow_module_level=True)


def _same_values(a: Any, b: Any) -> None:
    """Equal, and of the same types all the way down (1 == 1.0, but not for a decoder)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set
        assert list(a.__dict__) == list(b.__dict__)
        for name in a.__dict__:
            _same_values(a.__dict__[name], b.__dict__[name])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same_values(x, y)
    elif isinstance(a, datetime):
        assert a == b and a.utcoffset() == b.utcoffset()
        assert type(a.tzinfo) is type(b.tzinfo)
    else:
        assert a == b or (a != a and b != b)
        if isinstance(a, float):
            assert str(a) == str(b)  # the sign of a zero too


def _compare(data: bytes) -> str:
    """'same' (both built it, identically), 'declined' (pydantic's to say) or 'refused'
    (pydantic refused it and so did the decoder)."""
    native = ENTRY_DECODER.decode(data)
    try:
        reference = EntryFiling.model_validate_json(data)
    except ValidationError:
        assert native is None, f"the native decoder accepted what pydantic refuses: {data!r}"
        return "refused"
    if native is None:
        return "declined"
    _same_values(native, reference)
    assert native == reference
    assert repr(native) == repr(reference)
    assert codec.encode(native) == codec.encode(reference)
    return "same"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=s.entry_dicts())
def test_valid_filings_are_built_as_pydantic_builds_them(data: dict[str, Any]) -> None:
    assert _compare(orjson.dumps(data)) == "same"


def test_the_generated_feed_is_decoded_natively_and_identically() -> None:
    spec = FeedSpec(iors=200, entries=3_000, seed=5, malformed=0)
    rng = random.Random(spec.seed)
    broker_rows = brokers(rng, spec.brokers)
    outcomes = [
        _compare(line) for line in feed(spec, registry(rng, spec.iors, spec.start), broker_rows)
    ]
    # Nothing the generator writes should need pydantic's path.
    assert outcomes.count("same") == len(outcomes)


_WRONG_VALUES: list[Any] = [
    None,
    "",
    " ",
    "x" * 301,
    -1,
    -0.0,
    0,
    1.5,
    1e13,
    2**64,
    True,
    [],
    {},
    "A-570-983",
    "ABC1234567-6",
    "abc-1234567-6",
    "2026-02-29T00:00:00Z",
    "2024-02-29T23:59:59.5+05:30",
    "2026-12-01T08:00:00",
    "2026-12-01T08:00:00z",
    "2026-12-01 08:00:00Z",
    "2026-12-01T08:00:00.1234567Z",
    "2026-12-01T24:00:00Z",
    "2026-12-01T08:00:00+15:00",
    "2026-12-01T08:00:00-00:00",
    "1700000000",
    "CN",
    "cn",
    "01",
    "11",
    "99",
    "9",
    "8",
    "FD1",
    ["FD1", "fd1"],
    ["FD1"] * 21,
    "12-3456789AB",
    "12-3456789AO",
    "123-45-6789",
    "666-45-6789",
    "245301-00042",
    "6109.10.0012",
    "6109100012",
    "6109.10.001",
    "CNDONHAR2387DON",
    "CNDONHAR2387DONX",
    "Ünïcødé Trading 株式会社",
    'quote " and \\ backslash',
    "tab\there",
]


def _dumps(value: Any) -> bytes:
    # the standard library's encoder: it writes integers of any size
    return json.dumps(value).encode()


@st.composite
def mutated(draw: Any) -> bytes:
    data = draw(s.entry_dicts())
    target = draw(st.sampled_from(["entry", "line", "bond"]))
    if target == "line":
        obj = draw(st.sampled_from(data["lines"]))
    elif target == "bond":
        obj = data.setdefault("bond", {"type": "9", "amount_usd": 10.0})
    else:
        obj = data
    keys = sorted({*obj, "extra_field", "revision", "shipper_name", "surety_code", "pga_codes"})
    key = draw(st.sampled_from(keys))
    action = draw(st.sampled_from(["set", "drop", "duplicate"]))
    if action == "drop":
        obj.pop(key, None)
        return _dumps(data)
    value = draw(st.sampled_from(_WRONG_VALUES))
    if action == "set":
        obj[key] = value
        return _dumps(data)
    # A key given twice: JSON allows it, the models do not say what it means.
    text = _dumps(data)
    return text[:-1] + b"," + _dumps(key) + b":" + _dumps(value) + b"}"


@settings(max_examples=1_000, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
@example(data=orjson.dumps(entry_data(entry_number="ABC12345676")))
@example(data=orjson.dumps(entry_data(revision=3, shipper_name="Acme", shipper_country="CN")))
@example(data=orjson.dumps(entry_data(filed_at="2024-02-29T23:59:59.25+05:30")))
@example(data=orjson.dumps(entry_data(filed_at="2026-12-01T08:00:00+00:00")))
@example(data=orjson.dumps(entry_data(bond={"type": "9", "amount_usd": 5, "surety_code": None})))
@example(
    data=orjson.dumps(
        entry_data(lines=[{**entry_data()["lines"][0], "adcvd_case": "a-570-983-001"}])
    )
)
@example(data=orjson.dumps(entry_data(lines=[{**entry_data()["lines"][0], "pga_codes": None}])))
@example(data=orjson.dumps(entry_data(entered_value_usd=9007199254740993)))
@example(data=orjson.dumps(entry_data(entered_value_usd=1e12)))
@example(data=orjson.dumps(entry_data(duties_taxes_fees_usd=None)))
@example(data=b'{"entry_number": "ABC-1234567-6"}')
@example(data=b"[]")
@example(data=b"not json")
def test_mutated_filings_are_built_as_pydantic_builds_them_or_left_to_it(data: bytes) -> None:
    _compare(data)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"entry_number": "ABC12345676"}, "same"),  # the plain form, given back dashed
        ({"entry_number": "ABC-1234567-5"}, "refused"),  # wrong check digit
        ({"filed_at": "2026-12-01T08:00:00.25-05:00"}, "same"),
        ({"filed_at": "2026-12-01T08:00:00"}, "refused"),  # no zone: not an aware time
        ({"lines": []}, "refused"),
        ({"extra": 1}, "refused"),
        ({"entered_value_usd": "10000"}, "declined"),  # a number as a string: pydantic's call
        ({"shipper_name": "Caf\u00e9 \u201cLe Port\u201d"}, "same"),  # non-ASCII, no escapes
    ],
)
def test_chosen_cases_go_the_expected_way(overrides: dict[str, Any], expected: str) -> None:
    assert _compare(orjson.dumps(entry_data(**overrides))) == expected


def test_escaped_strings_are_left_to_pydantic() -> None:
    data = orjson.dumps(entry_data()).replace(b"Golden Textile", b"Golden \\u0054extile")
    assert _compare(data) == "declined"
    assert codec.decode(EntryFiling, data).lines[0].manufacturer_name == "Golden Textile Co., Ltd."
