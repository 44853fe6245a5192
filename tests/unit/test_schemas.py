"""Message models: formats enforced, clear errors naming the field, lossless round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from pydantic import TypeAdapter, ValidationError

from schemas import catalog, codec
from schemas.audit import AuditEvent, DeadLetter
from schemas.decision import ScreeningDecision
from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from tests import strategies as s
from tests.factories import entry_data, ior_data, make_entry, make_line


def rejected(data: Any, model: type = EntryFiling) -> codec.InputRejected:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(codec.InputRejected) as caught:
        codec.decode(model, raw)
    return caught.value


def fields_of(error: codec.InputRejected) -> list[str]:
    return [e.field for e in error.errors]


def test_a_valid_entry_decodes_to_its_canonical_forms() -> None:
    entry = codec.decode(EntryFiling, json.dumps(entry_data(entry_number="ABC12345676")))
    assert entry.entry_number == "ABC-1234567-6"
    assert entry.lines[0].hts == "6109.10.0012"


def test_not_json_is_malformed() -> None:
    error = rejected(b'{"entry_number": ')
    assert error.error_class == "malformed"
    assert "Invalid JSON" in error.message


def test_a_json_array_is_malformed_not_invalid() -> None:
    assert rejected(b"[1, 2]").error_class == "malformed"


def test_wrong_types_name_the_field() -> None:
    error = rejected(entry_data(entered_value_usd="a lot"))
    assert error.error_class == "invalid"
    assert fields_of(error) == ["entered_value_usd"]


def test_bad_check_digit_names_the_field_and_the_expected_digit() -> None:
    error = rejected(entry_data(entry_number="ABC-1234567-5"))
    assert error.message == "entry_number: check digit is 5, expected 6"


def test_unknown_entry_type_is_refused_in_plain_words() -> None:
    error = rejected(entry_data(entry_type="99"))
    assert error.errors[0].field == "entry_type"
    assert "not a known entry type" in error.errors[0].reason


def test_negative_money_is_refused() -> None:
    error = rejected(entry_data(duties_taxes_fees_usd=-1))
    assert fields_of(error) == ["duties_taxes_fees_usd"]
    assert "greater than or equal to 0" in error.message


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_money_is_finite(value: str) -> None:
    raw = json.dumps(entry_data()).replace(
        '"entered_value_usd": 10000.0', f'"entered_value_usd": {value}', 1
    )
    assert fields_of(rejected(raw.encode())) == ["entered_value_usd"]


def test_an_entry_needs_at_least_one_line() -> None:
    assert fields_of(rejected(entry_data(lines=[]))) == ["lines"]


def test_an_entry_has_at_most_999_lines() -> None:
    many = [make_line(line_number=n % 999 + 1) for n in range(1000)]
    error = rejected(entry_data(lines=many))
    assert error.message == "lines: Tuple should have at most 999 items after validation, not 1000"


def test_line_numbers_run_from_1_to_999() -> None:
    error = rejected(entry_data(lines=[make_line(line_number=1000)]))
    assert fields_of(error) == ["lines[0].line_number"]


def test_line_numbers_are_unique() -> None:
    error = rejected(entry_data(lines=[make_line(), make_line()]))
    assert error.errors[0].field == "lines"
    assert "unique" in error.errors[0].reason


def test_oversized_strings_are_refused() -> None:
    error = rejected(entry_data(export_declaration_ref="X" * 5000))
    assert fields_of(error) == ["export_declaration_ref"]
    assert "at most 64 characters" in error.message


def test_oversized_messages_are_refused_before_parsing() -> None:
    with pytest.raises(codec.InputRejected) as caught:
        codec.decode(EntryFiling, b" " * 2_000, max_bytes=1_000)
    assert caught.value.error_class == "oversized"


def test_unknown_fields_are_refused() -> None:
    error = rejected(entry_data(discount_code="FREESHIP"))
    assert fields_of(error) == ["discount_code"]


def test_missing_required_fields_are_each_named() -> None:
    data = entry_data()
    del data["filed_at"], data["port_code"]
    assert fields_of(rejected(data)) == ["filed_at", "port_code"]


def test_times_need_a_zone() -> None:
    assert fields_of(rejected(entry_data(filed_at="2026-12-01T12:00:00"))) == ["filed_at"]


def test_format_errors_read_as_sentences_with_the_path() -> None:
    bad_line = make_line(hts="61", country_of_origin="XX", pga_codes=["fd1"])
    error = rejected(entry_data(lines=[bad_line], ior_number="666-12-3456"))
    reasons = {e.field: e.reason for e in error.errors}
    assert reasons["lines[0].hts"].startswith("must be a 10-digit HTS number")
    assert reasons["lines[0].country_of_origin"].startswith("must be an ISO 3166-1")
    assert reasons["lines[0].pga_codes[0]"].startswith("must be an agency code")
    assert reasons["ior_number"].startswith("must be an EIN")
    # An SSN is never echoed back in an error.
    assert "666-12-3456" not in error.message


def test_models_are_frozen() -> None:
    entry = make_entry()
    with pytest.raises(ValidationError):
        entry.entry_type = "11"  # type: ignore[misc]


def test_registry_record_statuses_are_closed() -> None:
    with pytest.raises(ValidationError):
        IorRecord.model_validate(ior_data(status="dormant"))


@settings(max_examples=60)
@given(s.entries)
def test_entries_round_trip_through_the_codec(entry: EntryFiling) -> None:
    assert codec.decode(EntryFiling, codec.encode(entry)) == entry


@settings(max_examples=60)
@given(s.iors)
def test_ior_records_round_trip(record: IorRecord) -> None:
    assert codec.decode(IorRecord, codec.encode(record)) == record


@given(s.brokers, s.watch_records)
def test_reference_records_round_trip(broker: BrokerRecord, watch: WatchlistRecord) -> None:
    assert codec.decode(BrokerRecord, codec.encode(broker)) == broker
    assert codec.decode(WatchlistRecord, codec.encode(watch)) == watch


@settings(max_examples=60)
@given(s.decisions)
def test_decisions_round_trip_and_match_their_schema(decision: ScreeningDecision) -> None:
    assert TypeAdapter(ScreeningDecision).validate_json(codec.encode(decision)) == decision


@given(s.audit_events, s.dead_letters)
def test_audit_events_and_dead_letters_round_trip(event: AuditEvent, letter: DeadLetter) -> None:
    assert TypeAdapter(AuditEvent).validate_json(codec.encode(event)) == event
    assert TypeAdapter(DeadLetter).validate_json(codec.encode(letter)) == letter


def test_output_messages_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(DeadLetter).validate_python(
            {"error_class": "invalid", "message": "m", "errors": [], "source": "s", "x": 1}
        )


def test_committed_json_schemas_match_the_models() -> None:
    for name, text in catalog.rendered().items():
        path = catalog.SCHEMA_DIR / name
        assert path.is_file(), f"{path} is missing: run `make schemas`"
        assert path.read_text() == text, f"{path} is stale: run `make schemas`"


def test_every_topic_has_a_schema() -> None:
    assert set(catalog.TOPIC_MESSAGES.values()) <= set(catalog.MESSAGES)
