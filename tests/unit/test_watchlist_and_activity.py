"""Entity-list name matching and the 30-day activity window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.activity import ActivityCounter
from screening.watchlist import WatchlistIndex, normalize_name
from tests.factories import make_watch


@pytest.mark.parametrize(
    "variant",
    [
        "Tarim Basin Cotton Processing Co., Ltd.",
        "TARIM BASIN COTTON PROCESSING LIMITED",
        "Cotton Processing Tarim Basin Co",
        "tarim basin cotton processing",
        "Tarím Basin Cotton Processing Co. Ltd",
    ],
)
def test_name_variants_meet_in_the_normal_form(variant: str) -> None:
    index = WatchlistIndex([make_watch()])
    assert [m.record.id for m in index.match(variant, "CN")] == ["UFLPA-0001"]


def test_aliases_match_too() -> None:
    matches = WatchlistIndex([make_watch()]).match("Tarim Cotton Ltd", None)
    assert matches[0].matched_name == "Tarim Cotton"


def test_a_different_country_does_not_match_unless_allowed() -> None:
    index = WatchlistIndex([make_watch()])
    assert index.match("Tarim Cotton", "VN") == ()
    assert len(index.match("Tarim Cotton", "VN", require_same_country=False)) == 1


def test_a_list_filter_limits_matches() -> None:
    index = WatchlistIndex([make_watch()])
    assert index.match("Tarim Cotton", "CN", frozenset({"SDN"})) == ()


def test_near_misses_do_not_match() -> None:
    index = WatchlistIndex([make_watch()])
    assert index.match("Tarim Basin Cotton Trading Co., Ltd.", "CN") == ()


def test_legal_forms_and_punctuation_are_dropped() -> None:
    assert normalize_name("Golden  Harvest & Sons, Inc.") == "AND GOLDEN HARVEST SONS"


def test_activity_counts_the_last_30_days() -> None:
    counter = ActivityCounter()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for day in range(10):
        counter.record("12-3456789AB", start + timedelta(days=day))
    assert counter.entries_in_window("12-3456789AB", start + timedelta(days=5)) == 6
    for day in range(10, 40):
        counter.record("12-3456789AB", start + timedelta(days=day))
    assert counter.entries_in_window("12-3456789AB", start + timedelta(days=39)) == 30
    assert counter.entries_in_window("99-0000000AB", start) == 0


def test_activity_memory_stays_bounded_per_ior() -> None:
    counter = ActivityCounter()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day in range(365):
        counter.record("12-3456789AB", start + timedelta(days=day))
    assert len(counter._days["12-3456789AB"]) <= 31


@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    offset_minutes=st.sampled_from([0, -300, 330, 840, -720]),
)
def test_an_entry_counts_on_its_utc_day_whatever_its_offset(
    at: datetime, offset_minutes: int
) -> None:
    """Filings stamped in another offset land on the same day as the same instant in UTC."""
    local = at.astimezone(timezone(timedelta(minutes=offset_minutes)))
    in_utc, in_local = ActivityCounter(), ActivityCounter()
    in_utc.record("12-3456789AB", at)
    in_local.record("12-3456789AB", local)
    assert in_local.buckets("12-3456789AB") == in_utc.buckets("12-3456789AB")
    assert in_utc.buckets("12-3456789AB") == {int(at.timestamp()) // 86_400: 1}
