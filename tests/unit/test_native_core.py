"""The compiled core (native/) decides exactly what the Python core decides.

Both screen the same inputs and the decisions must be equal field for field and encode to
the same bytes: generated feeds, property-generated entries and IORs, every time segment of
the pack, changed parameters, a reference-data swap, hashed SSN-form IORs. The number
formatting and arithmetic the reasons depend on are compared with Python's directly.

Skipped where the module is not built, unless ENTRY_SCREENING_REQUIRE_NATIVE=1 (CI sets it,
so a build that silently failed cannot pass as a skip).
"""

from __future__ import annotations

import contextlib
import os
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from entry_screening.synthetic import FeedSpec, brokers, feed, registry, watchlist
from schemas import codec
from schemas.decision import ScreeningDecision
from schemas.entry import EntryFiling
from schemas.native_decoder import ENTRY_DECODER
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from screening import native
from screening.activity import ActivityCounter, new_activity_counter
from screening.engine import ReferenceData, Screener, decision_id, screened_event_bytes
from screening.rulepack import RulePack, read_rule_pack_data, with_overrides
from screening.rules import exam_selected
from screening.watchlist import WatchlistIndex, compact_name, normalize_name
from tests import strategies as s
from tests.factories import (
    FILED_AT,
    entry_data,
    make_broker,
    make_entry,
    make_foreign_ior,
    make_ior,
    make_line,
    make_watch,
)

if native.NATIVE is None:
    if os.environ.get("ENTRY_SCREENING_REQUIRE_NATIVE") == "1":
        raise RuntimeError("the native core is required here but is not installed")
    pytest.skip("the native core is not installed (pip install ./native)", allow_module_level=True)

NATIVE: Any = native.NATIVE


def _assert_same(compiled: ScreeningDecision, python: ScreeningDecision) -> None:
    assert compiled == python
    assert codec.encode(compiled) == codec.encode(python)
    assert screened_event_bytes(compiled) == screened_event_bytes(python)


class _Both:
    """Screens with both cores, through ``screen`` and ``screen_encoded``, and compares."""

    def __init__(self, compiled: Screener, python: Screener) -> None:
        self.compiled, self.python = compiled, python

    def screen(self, entry: EntryFiling, ior: IorRecord | None, **kwargs: Any) -> ScreeningDecision:
        a = self.compiled.screen(entry, ior, **kwargs)
        b = self.python.screen(entry, ior, **kwargs)
        _assert_same(a, b)
        decision, encoded, audit = self.compiled.screen_encoded(entry, ior, **kwargs)
        assert decision == b
        assert encoded == codec.encode(b)
        assert audit == screened_event_bytes(b)
        assert self.python.screen_encoded(entry, ior, **kwargs) == (b, encoded, audit)
        return a


def _pair(pack: RulePack, reference: ReferenceData, **kwargs: Any) -> _Both:
    compiled = Screener(pack, reference, **kwargs)
    python = Screener(pack, reference, native=False, **kwargs)
    assert (compiled.core, python.core) == ("native", "python")
    return _Both(compiled, python)


_MESSAGES: list[bytes] = []


@pytest.fixture(scope="module")
def generated() -> tuple[list[EntryFiling], dict[str, IorRecord], ReferenceData]:
    spec = FeedSpec(iors=400, entries=4_000, seed=23, malformed=40)
    rng = random.Random(spec.seed)
    broker_rows = brokers(rng, spec.brokers)
    iors = registry(rng, spec.iors, spec.start)
    _MESSAGES[:] = list(feed(spec, iors, broker_rows))
    entries = []
    for line in _MESSAGES:
        with contextlib.suppress(codec.InputRejected):
            entries.append(codec.decode(EntryFiling, line, compiled=False))
    assert len(entries) == 3_960  # the malformed ones are among the 4,000
    table = {r.ior_number: r for r in (IorRecord.model_validate(i.record) for i in iors)}
    reference = ReferenceData(
        {b["filer_code"]: BrokerRecord.model_validate(b) for b in broker_rows},
        WatchlistIndex(WatchlistRecord.model_validate(w) for w in watchlist()),
    )
    return entries, table, reference


def test_a_generated_feed_gets_the_same_decisions_from_both_cores(
    baseline_pack: RulePack,
    generated: tuple[list[EntryFiling], dict[str, IorRecord], ReferenceData],
) -> None:
    entries, table, reference = generated
    both = _pair(baseline_pack, reference)
    activity = ActivityCounter()
    screened_at = datetime(2026, 12, 2, tzinfo=UTC)
    rules_hit = set()
    for entry in entries:
        ior = table.get(entry.ior_number)
        activity.record(entry.ior_number, entry.filed_at)
        decision = both.screen(entry, ior, screened_at=screened_at, activity=activity)
        rules_hit.update(decision.rule_ids)
    # The feed is only a fair comparison if it makes most rules fire.
    assert len(rules_hit) >= 15, sorted(rules_hit)
    # Each core keeps one cached profile per IOR: the native core its own conversion, and
    # not a second copy in the Python screener it asked.
    assert len(both.python._profiles) == len({e.ior_number for e in entries})
    assert both.compiled._profiles == {}


def test_filing_messages_get_the_same_decisions_and_errors_from_both_paths(
    baseline_pack: RulePack,
    generated: tuple[list[EntryFiling], dict[str, IorRecord], ReferenceData],
) -> None:
    """The hot path: bytes in, decision and its JSON out, no model between (native), against
    pydantic's model and the Python rules; the malformed messages fail alike."""
    _, table, reference = generated
    compiled = Screener(baseline_pack, reference)
    python = Screener(baseline_pack, reference, native=False)
    counts = (ActivityCounter(), ActivityCounter())
    screened_at = datetime(2026, 12, 2, tzinfo=UTC)
    rejected = 0
    for message in _MESSAGES:
        results = []
        for screener, activity in zip((compiled, python), counts, strict=True):
            try:
                results.append(
                    screener.screen_message(
                        message, table.get, screened_at=screened_at, activity=activity
                    )
                )
            except codec.InputRejected as error:
                results.append(("rejected", error.error_class, error.message))
        a, b = results
        assert a == b
        if a[0] == "rejected":
            rejected += 1
        else:
            assert a[1] == codec.encode(b[0])
            assert a[2] == screened_event_bytes(b[0])
    assert rejected == 40
    assert len(_MESSAGES) == 4_000
    # the counts the straw-IOR rule reads were kept alike
    assert all(counts[0].buckets(ior) == counts[1].buckets(ior) for ior in list(table)[:200])


class _Recorded:
    """A sink with ``OutputBatch.add``'s shape that keeps what it is given."""

    def __init__(self) -> None:
        self.records: list[tuple[str, int, bytes | None, bytes | None]] = []

    def add(self, topic: str, partition: int, key: bytes | None, value: bytes | None) -> None:
        self.records.append((topic, partition, key, value))


def test_filing_messages_screened_into_a_batch_write_what_they_return(
    baseline_pack: RulePack,
    generated: tuple[list[EntryFiling], dict[str, IorRecord], ReferenceData],
) -> None:
    """``screen_message(into=...)``, as the screening loop calls it: the decision (to its
    outcome's topic) and its audit event land in the batch, keyed by entry number, with
    the bytes the call returns without ``into``; the native batches, a Python sink and
    the Python core all get the same records, and refused messages add nothing."""
    _, table, reference = generated
    compiled = Screener(baseline_pack, reference)
    python = Screener(baseline_pack, reference, native=False)
    topics = ("t.release", "t.hold", "t.seizure", "t.audit")
    screened_at = datetime(2026, 12, 2, tzinfo=UTC)
    expected: list[tuple[str, int, bytes | None, bytes | None]] = []
    native_batches = native.NATIVE.OutputBatches({t: 4 for t in topics}, 1_048_576)  # type: ignore[union-attr]
    sinks = {
        "native batches": native_batches,
        "python sink": _Recorded(),
        "python core": _Recorded(),
    }
    counts = {name: ActivityCounter() for name in ["plain", *sinks]}
    for n, message in enumerate(_MESSAGES[:1_500]):
        partition = n % 7
        try:
            decision, encoded, audit, *rest = compiled.screen_message(
                message, table.get, screened_at=screened_at, activity=counts["plain"]
            )
        except codec.InputRejected:
            decision = None
        else:
            key = decision.entry_number.encode()
            topic = topics[("release", "hold", "seizure_review").index(decision.outcome)]
            expected += [
                (topic, partition % 4, key, encoded),
                ("t.audit", partition % 4, key, audit),
            ]
        for name, sink in sinks.items():
            screener = python if name == "python core" else compiled
            try:
                got = screener.screen_message(
                    message,
                    table.get,
                    screened_at=screened_at,
                    activity=counts[name],
                    into=sink,
                    partition=partition,
                    topics=topics,
                )
            except codec.InputRejected:
                assert decision is None, name
                continue
            assert decision is not None, name
            assert got[0] == decision and got[3:] == tuple(rest)
            assert got[1] == got[2] == b""
    from aiokafka.record.default_records import DefaultRecordBatch

    written = [
        (topic, partition, r.key, r.value)
        for topic, partition, batch in native_batches.take()
        for r in DefaultRecordBatch(batch._build())
    ]
    for name in ("python sink", "python core"):
        recorded = sinks[name].records  # type: ignore[union-attr]
        assert [(t, p % 4, k, v) for t, p, k, v in recorded] == expected, name
    # the native batches keep each partition's order; compare partition by partition
    assert sorted(written, key=lambda r: (r[0], r[1])) == sorted(
        expected, key=lambda r: (r[0], r[1])
    )
    assert len(expected) > 2_500


@pytest.mark.parametrize(
    "as_of",
    [
        datetime(2026, 6, 1, tzinfo=UTC),  # before the order
        datetime(2026, 8, 1, tzinfo=UTC),  # before the 180-day deadline
        datetime(2026, 12, 15, 9, 30, tzinfo=UTC),  # after it
    ],
)
def test_every_segment_of_the_pack_screens_the_same(
    baseline_pack: RulePack,
    generated: tuple[list[EntryFiling], dict[str, IorRecord], ReferenceData],
    as_of: datetime,
) -> None:
    entries, table, reference = generated
    both = _pair(baseline_pack, reference)
    for entry in entries[:800]:
        ior = table.get(entry.ior_number)
        both.screen(entry, ior, screened_at=as_of, as_of=as_of, trigger="registry_change")


def test_changed_parameters_a_reference_swap_and_hashed_iors_screen_the_same(
    generated: tuple[list[EntryFiling], dict[str, IorRecord], ReferenceData],
) -> None:
    entries, table, reference = generated
    pack = with_overrides(
        read_rule_pack_data(),
        settings=(
            "BOND-SUFFICIENCY.pga_value_multiple=2.5",
            "FOREIGN-ADCVD.deposit_risk_rate=0.375",
            "RISK-TIER-EXAM.exam_rate=1.0",
            "INFORMAL-VALUE.informal_limit_usd=1999.5",
            'WATCHLIST-MATCH.lists=["UFLPA"]',
            "FOREIGN-CTPAT.min_tier=2",
            "STRAW-IOR.min_entries_30d=1",
            "STRAW-IOR.recent_registration_days=3650",
        ),
    )
    both = _pair(pack, reference, ior_hash_key=b"k" * 32)
    smaller = ReferenceData(
        {code: make_broker(filer_code=code, ctpat_tier=2) for code in list(reference.brokers)[:5]},
        WatchlistIndex(),
    )
    activity = ActivityCounter()
    for number, entry in enumerate(entries[:1500]):
        if number == 700:
            both.compiled.reference = smaller
            both.python.reference = smaller
        activity.record(entry.ior_number, entry.filed_at)
        ior = table.get(entry.ior_number)
        both.screen(entry, ior, screened_at=FILED_AT, activity=activity, basis="r1")


_REFERENCE = ReferenceData(
    {"B01": make_broker(ctpat_tier=1), "B02": make_broker(filer_code="B02", ctpat_tier=0)},
    WatchlistIndex([make_watch()]),
)


@settings(max_examples=400, deadline=None)
@given(
    entry=s.entries,
    ior=st.one_of(st.none(), s.iors),
    shipper=st.sampled_from([None, "Golden Textile", "Xinjiang Daqo New Energy Co., Ltd."]),
    activity_count=st.integers(0, 40),
)
def test_property_generated_entries_and_iors_screen_the_same(
    baseline_pack: RulePack,
    entry: EntryFiling,
    ior: IorRecord | None,
    shipper: str | None,
    activity_count: int,
) -> None:
    if ior is not None:
        ior = ior.model_copy(update={"ior_number": entry.ior_number})
    if shipper is not None:
        entry = entry.model_copy(update={"shipper_name": shipper, "shipper_country": "CN"})
    both = _pair(baseline_pack, _REFERENCE)
    activity = ActivityCounter()
    for _ in range(activity_count):
        activity.record(entry.ior_number, entry.filed_at)
    both.screen(entry, ior, screened_at=FILED_AT, activity=activity)


@pytest.mark.parametrize(
    ("entry", "ior"),
    [
        # Single-transaction bond below value + duties, and below 3x value with FDA goods.
        (make_entry(bond={"type": "9", "amount_usd": 2.5}, entered_value_usd=0.5), make_ior()),
        (
            make_entry(
                bond={"type": "9", "amount_usd": 10},
                lines=[make_line(pga_codes=["FD1"])],
                duties_taxes_fees_usd=None,
            ),
            make_ior(),
        ),
        # A foreign IOR's AD/CVD entry under a continuous bond, two cases on three lines.
        (
            make_entry(
                entry_type="03",
                lines=[
                    make_line(line_number=1, adcvd_case="A570983001", entered_value_usd=1e6),
                    make_line(line_number=2, adcvd_case="C570111002", entered_value_usd=0.1),
                    make_line(line_number=3, adcvd_case="A570983001", entered_value_usd=0.2),
                ],
            ),
            make_foreign_ior(continuous_bond={"amount_usd": 5e5}),
        ),
        # Informal entry over the limit with formal-only goods; self-filed foreign IOR.
        (
            make_entry(
                entry_type="11",
                broker_filer_code=None,
                entered_value_usd=2_500.5,
                lines=[make_line(hts="6109.10.0012"), make_line(line_number=2, hts="9999.10.0012")],
            ),
            make_foreign_ior(ctpat_tier=0),
        ),
        # Unregistered IOR, continuous bond claimed; a non-UTC filing time.
        (make_entry(filed_at="2026-12-01T23:30:00.250-05:00"), None),
        # A new IOR filing FDA goods far beyond its declared volume.
        (
            make_entry(lines=[make_line(pga_codes=["FD2"])]),
            make_ior(registered_at="2026-11-20T00:00:00Z", expected_entries_per_year=12),
        ),
    ],
)
def test_hand_picked_edges_screen_the_same(
    baseline_pack: RulePack, entry: EntryFiling, ior: IorRecord | None
) -> None:
    both = _pair(baseline_pack, _REFERENCE)
    activity = ActivityCounter()
    for _ in range(30):
        activity.record(entry.ior_number, entry.filed_at)
    decision = both.screen(entry, ior, screened_at=FILED_AT, activity=activity)
    assert decision.hits, "each edge case is chosen to make rules fire"


@settings(max_examples=2_000)
@given(amount=st.floats(min_value=0, max_value=1e13, allow_nan=False, allow_infinity=False))
@example(amount=0.5)
@example(amount=1.5)
@example(amount=2.5)
@example(amount=999_999.5)
@example(amount=-0.0)
@example(amount=1e12 + 0.5)
def test_money_is_formatted_as_python_formats_it(amount: float) -> None:
    assert NATIVE.NativeScreener.format_usd(amount) == f"${amount:,.0f}"


@settings(max_examples=2_000)
@given(
    x=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    y=st.sampled_from([86_400.0, 7.0, -3.5, 0.1]),
)
def test_float_floor_division_is_pythons(x: float, y: float) -> None:
    got = NATIVE.NativeScreener.floor_div(x, y)
    assert got == x // y
    assert str(got) == str(x // y)  # the sign of a zero too


@given(entry_number=s.entry_numbers, rate=st.floats(0, 1), revision=st.integers(0, 999))
def test_sampling_and_decision_ids_are_pythons(
    entry_number: str, rate: float, revision: int
) -> None:
    assert NATIVE.NativeScreener.is_exam_selected(entry_number, rate) == exam_selected(
        entry_number, rate
    )
    assert NATIVE.NativeScreener.decision_id_of(
        entry_number, revision, "2026.06-b", "x"
    ) == decision_id(entry_number, revision, "2026.06-b", "x")


def test_the_python_core_can_be_chosen_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.CORE_VARIABLE, "python")
    assert native.load() is None
    monkeypatch.setenv(native.CORE_VARIABLE, "native")
    assert native.load() is NATIVE


def test_a_non_utc_as_of_is_read_as_python_reads_it(baseline_pack: RulePack) -> None:
    both = _pair(baseline_pack, _REFERENCE)
    entry = make_entry()
    ior = make_ior(registered_at="2026-11-30T00:00:00Z")
    for hours in (-11, -5, 0, 5.5, 13):
        zone = UTC if hours == 0 else datetime.now(UTC).astimezone().tzinfo
        as_of = datetime(2026, 11, 30, 4, 59, 59, 999_999, tzinfo=UTC) + timedelta(hours=hours)
        as_of = as_of.astimezone(zone)
        both.screen(entry, ior, screened_at=FILED_AT, as_of=as_of)


@settings(max_examples=3_000)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
@example(value=1e15 - 0.5)
@example(value=1e-4)
@example(value=0.1 + 0.2)
@example(value=-0.0)
def test_floats_are_written_as_orjson_writes_them_or_left_to_it(value: float) -> None:
    text = NATIVE.NativeScreener.format_float(value)
    if text is not None:
        assert text.encode() == orjson.dumps(value)


@settings(max_examples=1_000)
@given(text=st.text())
@example(text='\x00\x08\t\n\x0b\x0c\r\x1f\x7f"\\/é\u2028😀')
def test_strings_are_escaped_as_orjson_escapes_them(text: str) -> None:
    assert NATIVE.NativeScreener.json_string(text) == orjson.dumps(text)


@settings(max_examples=500, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(1, 1, 1),
        timezones=st.sampled_from(
            [
                UTC,
                timezone(timedelta(hours=-5)),
                timezone(timedelta(hours=5, minutes=45)),
                timezone(timedelta(seconds=30)),
                ZoneInfo("America/New_York"),
            ]
        ),
    )
)
def test_time_stamps_are_written_and_read_as_python_does(
    baseline_pack: RulePack, at: datetime
) -> None:
    """The filing time is written into the decision and read as the entry's ``as_of``."""
    both = _pair(baseline_pack, _REFERENCE)
    entry = make_entry().model_copy(update={"filed_at": at})
    both.screen(entry, make_ior(), screened_at=at)


_IORS = ("12-3456789AB", "245301-00042", "123-45-6789")
_operations = st.lists(
    st.tuples(
        st.sampled_from(["record", "record", "record", "remove", "count", "forget", "reload"]),
        st.sampled_from(_IORS),
        st.datetimes(
            min_value=datetime(2026, 1, 1),
            max_value=datetime(2026, 4, 1),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]
            ),
        ),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(operations=_operations)
def test_the_compiled_activity_counter_counts_as_the_python_one(
    operations: list[tuple[str, str, datetime]],
) -> None:
    compiled, python = NATIVE.ActivityCounter(), ActivityCounter()
    for operation, ior, at in operations:
        for counter in (compiled, python):
            if operation == "record":
                counter.record(ior, at)
            elif operation == "remove":
                counter.remove(ior, at)
            elif operation == "forget":
                counter.forget(ior)
            elif operation == "reload":
                counter.load(ior, counter.buckets(ior))
        assert compiled.entries_in_window(ior, at) == python.entries_in_window(ior, at)
        assert len(compiled) == len(python)
        for each in _IORS:
            # same days, same counts, same order (the order reaches the changelog's bytes)
            assert list(compiled.buckets(each).items()) == list(python.buckets(each).items())


def test_the_hot_path_counts_into_the_compiled_counter(baseline_pack: RulePack) -> None:
    screener = Screener(baseline_pack, _REFERENCE)
    compiled, python = new_activity_counter(), ActivityCounter()
    assert type(compiled) is NATIVE.ActivityCounter
    for hours in range(0, 24 * 40, 7):
        at = datetime(2026, 12, 1, tzinfo=timezone(timedelta(hours=-5))) + timedelta(hours=hours)
        message = orjson.dumps(entry_data(filed_at=at.isoformat()))
        assert ENTRY_DECODER is not None and ENTRY_DECODER.decode(message) is not None
        screener.screen_message(message, {}.get, screened_at=FILED_AT, activity=compiled)
        python.record(entry_data()["ior_number"], at)
    ior = entry_data()["ior_number"]
    assert compiled.buckets(ior) == python.buckets(ior)
    assert compiled.buckets(ior)  # something was counted


_NAME_WORDS = st.sampled_from(
    [
        "Tarim", "basin", "COTTON", "Co.", "Ltd", "GmbH", "s.a.r.l.", "&", "and", "Sinkiang",
        "Peking", "canton", "(Shanshan)", "No.3", "Xin-Jiang", "", "  ", "A", "the", "42",
        "Karamay", "Deep sand", "aluminium", "o'Brien", "#", "Shen zhen", "Pvt.",
    ]
)  # fmt: skip


@settings(max_examples=2_000)
@given(
    name=st.one_of(
        st.lists(_NAME_WORDS, max_size=8).map(" ".join),
        st.text(alphabet=st.characters(max_codepoint=127), max_size=30),
    )
)
@example(name="Co. Ltd.")
@example(name="")
def test_watchlist_name_forms_are_pythons(baseline_pack: RulePack, name: str) -> None:
    """The normal forms the native core looks a name up under (it skips the Python index
    for a name under neither) are screening.watchlist's."""
    compiled = Screener(baseline_pack, _REFERENCE)
    keys = compiled._native.watchlist_name_keys(name)
    assert keys == (normalize_name(name), compact_name(name))


def test_a_name_that_is_not_ascii_is_left_to_the_python_index(baseline_pack: RulePack) -> None:
    compiled = Screener(baseline_pack, _REFERENCE)
    assert compiled._native.watchlist_name_keys("Société Générale") is None


def test_listed_names_written_every_which_way_match_in_both_cores(
    baseline_pack: RulePack,
) -> None:
    """Manufacturers and shippers named as listed, in other words and spellings, and not
    listed at all: the native core's shortcut for unlisted names changes no decision."""
    listed = [WatchlistRecord.model_validate(w) for w in watchlist()]
    reference = ReferenceData({}, WatchlistIndex(listed))
    both = _pair(baseline_pack, reference)
    rng = random.Random(5)
    matched = 0
    for record in listed:
        for name in (*record.aliases, record.name):
            words = name.replace(",", " ").split()
            variants = [
                name,
                name.upper(),
                " ".join(reversed(words)),
                "".join(words),
                f"{name} (Shanshan) Pvt",
                name.replace("Xinjiang", "Sinkiang"),
                f"{words[0]} Trading",  # not listed
                " ".join(words[:-1]),
            ]
            for variant in filter(None, variants):
                country = rng.choice([record.country, None, "VN"])
                entry = make_entry(
                    lines=[make_line(manufacturer_name=variant, country_of_origin=country or "CN")],
                    shipper_name=variant,
                    shipper_country=country,
                )
                decision = both.screen(entry, make_ior(), screened_at=FILED_AT)
                matched += "WATCHLIST-MATCH" in decision.rule_ids
    assert matched > 40
