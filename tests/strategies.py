"""Hypothesis strategies for valid messages of every kind."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas import formats
from schemas.audit import AuditEvent, DeadLetter, FieldError
from schemas.decision import OUTCOMES, RuleHit, ScreeningDecision
from schemas.entry import EntryFiling
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from screening.rulepack import RULE_IDS

FILER = st.text(string.ascii_uppercase + string.digits, min_size=3, max_size=3)
money = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)
names = st.text(string.ascii_letters + " .,&-", min_size=1, max_size=60).filter(str.strip)
countries = st.sampled_from(sorted(formats.ISO_COUNTRIES))
times = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=8))]),
)
entry_numbers = st.builds(formats.entry_number_from_parts, FILER, st.integers(0, 9_999_999))
ein = st.builds(
    lambda a, b, s: f"{a:02d}-{b:07d}{s}",
    st.integers(10, 99),
    st.integers(0, 9_999_999),
    st.text("0123456789ABCDEFGHJKLMNPQRSTUVWXY", min_size=2, max_size=2),
)
cbp = st.builds(lambda a, b: f"{a:06d}-{b:05d}", st.integers(0, 999_999), st.integers(0, 99_999))
ior_numbers = st.one_of(ein, cbp, st.just("123-45-6789"))


@st.composite
def lines(draw: Any, count: int) -> list[dict[str, Any]]:
    out = []
    for number in range(1, count + 1):
        line: dict[str, Any] = {
            "line_number": number,
            "hts": draw(st.from_regex(r"\A[0-9]{4}\.[0-9]{2}\.[0-9]{4}\Z")),
            "country_of_origin": draw(countries),
            "entered_value_usd": draw(money),
        }
        if draw(st.booleans()):
            line["manufacturer_name"] = draw(names)
        if draw(st.booleans()):
            line["pga_codes"] = draw(st.lists(st.sampled_from(["FD1", "FD2", "EP1"]), max_size=2))
        if draw(st.booleans()):
            line["adcvd_case"] = "A570983001"
        out.append(line)
    return out


@st.composite
def entry_dicts(draw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "entry_number": draw(entry_numbers),
        "entry_type": draw(st.sampled_from(sorted(formats.ENTRY_TYPES))),
        "filed_at": draw(times).isoformat(),
        "port_code": draw(st.from_regex(r"\A[0-9]{4}\Z")),
        "ior_number": draw(ior_numbers),
        "entered_value_usd": draw(money),
        "lines": draw(st.integers(1, 4).flatmap(lines)),
    }
    if draw(st.booleans()):
        data["bond"] = {"type": draw(st.sampled_from("089")), "amount_usd": draw(money)}
    if draw(st.booleans()):
        data["broker_filer_code"] = draw(FILER)
    for optional in ("export_declaration_ref", "supply_chain_cert_ref"):
        if draw(st.booleans()):
            data[optional] = draw(
                st.text(string.ascii_uppercase + "-0123456789", min_size=1, max_size=20)
            )
    if draw(st.booleans()):
        data["duties_taxes_fees_usd"] = draw(money)
    return data


entries = entry_dicts().map(EntryFiling.model_validate)


@st.composite
def ior_dicts(draw: Any) -> dict[str, Any]:
    maybe_bool = st.one_of(st.none(), st.booleans())
    data: dict[str, Any] = {
        "ior_number": draw(ior_numbers),
        "name": draw(names),
        "status": draw(st.sampled_from(["active", "inactive", "voided", "suspended", "debarred"])),
        "registered_at": draw(times).isoformat(),
        "organized_in_us": draw(maybe_bool),
        "located_in_us": draw(maybe_bool),
        "controlling_owner_us_person": draw(maybe_bool),
        "us_real_property_usd": draw(st.one_of(st.none(), money)),
        "tangible_domestic_assets_usd": draw(st.one_of(st.none(), money)),
        "good_standing": draw(maybe_bool),
        "ctpat_tier": draw(st.integers(0, 3)),
        "duties_paid_12m_usd": draw(st.one_of(st.none(), money)),
        "expected_entries_per_year": draw(st.one_of(st.none(), st.integers(0, 100_000))),
        "holds_12m": draw(st.integers(0, 5)),
        "seizures_12m": draw(st.integers(0, 2)),
        "prior_suspensions": draw(st.integers(0, 2)),
    }
    if draw(st.booleans()):
        data["disclosures"] = {
            "import_volume": draw(st.booleans()),
            "ownership": draw(st.booleans()),
            "beneficial_ownership": draw(st.booleans()),
        }
    if draw(st.booleans()):
        data["continuous_bond"] = {
            "amount_usd": draw(money),
            "foreign_exception_granted": draw(st.booleans()),
        }
    if draw(st.booleans()):
        data["standing_issues"] = draw(st.lists(names, max_size=2))
    if draw(st.booleans()):
        data["beneficial_owners"] = [{"name": draw(names), "country": draw(countries)}]
    return data


iors = ior_dicts().map(IorRecord.model_validate)
brokers = st.builds(
    lambda code, name, tier: BrokerRecord(filer_code=code, name=name, ctpat_tier=tier),
    FILER,
    names,
    st.integers(0, 3),
)
watch_records = st.builds(
    lambda i, n, c, a: WatchlistRecord(id=f"W-{i}", list="UFLPA", name=n, country=c, aliases=a),
    st.integers(0, 9999),
    names,
    st.one_of(st.none(), countries),
    st.lists(names, max_size=2).map(tuple),
)
hits = st.builds(RuleHit, st.sampled_from(RULE_IDS), st.sampled_from(OUTCOMES), names, names)
decisions = st.builds(
    ScreeningDecision,
    decision_id=st.text("0123456789abcdef", min_size=32, max_size=32),
    entry_number=entry_numbers,
    entry_revision=st.integers(0, 5),
    entry_type=st.sampled_from(sorted(formats.ENTRY_TYPES)),
    port_code=st.just("2704"),
    ior_number=ior_numbers,
    ior_number_hash=st.none(),
    broker_filer_code=st.one_of(st.none(), FILER),
    entered_value_usd=money,
    outcome=st.sampled_from(OUTCOMES),
    hits=st.lists(hits, max_size=3).map(tuple),
    rule_pack_version=st.just("eo-2026-06-03.1"),
    ior_classification=st.sampled_from(["us", "foreign"]),
    failed_prongs=st.just(()),
    classification_reading=st.just("any_prong_fails"),
    risk_tier=st.one_of(st.none(), st.integers(1, 4)),
    filed_at=times,
    screened_at=times,
    trigger=st.sampled_from(["filed", "registry_change", "resolution", "deadline"]),
)
audit_events = st.builds(
    AuditEvent,
    event_id=names,
    event_type=st.just("EntryScreened"),
    subject=entry_numbers,
    occurred_at=times,
    ior_number=st.one_of(st.none(), ior_numbers),
    decision_id=st.one_of(st.none(), names),
    outcome=st.one_of(st.none(), st.sampled_from(OUTCOMES)),
    rule_ids=st.lists(st.sampled_from(RULE_IDS), max_size=3).map(tuple),
    rule_pack_version=st.one_of(st.none(), st.just("p1")),
    details=st.dictionaries(
        st.sampled_from(["a", "b"]), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), names)
    ),
)
dead_letters = st.builds(
    DeadLetter,
    error_class=st.sampled_from(["malformed", "invalid", "oversized"]),
    message=names,
    errors=st.lists(st.builds(FieldError, names, names), min_size=1, max_size=3).map(tuple),
    source=names,
    line=st.one_of(st.none(), st.integers(1, 10**6)),
    partition=st.one_of(st.none(), st.integers(0, 100)),
    offset=st.one_of(st.none(), st.integers(0, 10**9)),
)
