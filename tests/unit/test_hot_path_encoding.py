"""The hot path's shortcuts produce exactly what the general code would."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from schemas import codec
from schemas.decision import ScreeningDecision
from screening.engine import screened_event, screened_event_bytes
from streams.metrics import BulkHistogram
from tests import strategies as s


@settings(max_examples=100)
@given(s.decisions)
def test_the_fast_audit_encoding_equals_the_dataclass_encoding(decision: ScreeningDecision) -> None:
    assert screened_event_bytes(decision) == codec.encode(screened_event(decision))


def test_the_bulk_histogram_exposes_what_a_histogram_would() -> None:
    values = [0.0004, 0.001, 0.003, 0.02, 0.02, 0.7, 3.0, 45.0]
    buckets = (0.001, 0.01, 0.1, 1, 10)
    plain, bulk = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("latency_seconds", "d", buckets=buckets, registry=plain)
    for value in values:
        histogram.observe(value)
    BulkHistogram("latency_seconds", "d", buckets, bulk).observe_many(values)
    expected = b"\n".join(
        line for line in generate_latest(plain).split(b"\n") if b"_created" not in line
    )
    assert generate_latest(bulk) == expected
    counted = CollectorRegistry()
    BulkHistogram("latency_seconds", "d", buckets, counted).observe_counted(Counter(values).items())
    assert generate_latest(counted) == expected
