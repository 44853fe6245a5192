"""The native record-batch writer writes exactly the bytes of aiokafka's batch builder.

The screening loop hands its batches to aiokafka's ``send_batch``; whichever kind it is,
the broker must receive the same record batch (format v2): same header, same records,
same CRC. Property-generated records (keys, values and header values present or null,
timestamps in any order, with and without a producer state) are written by both and
compared byte for byte, and aiokafka's own reader must read them back.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.native_decoder import native_module
from streams.output import OutputBatch

native = native_module()
if native is None:
    if os.environ.get("ENTRY_SCREENING_REQUIRE_NATIVE") == "1":
        raise RuntimeError("the native core is required here but is not installed")
    pytest.skip("the native core is not installed (pip install ./native)", allow_module_level=True)

NO_COMPRESSION = 0
maybe_bytes = st.none() | st.binary(max_size=300)
headers = st.lists(st.tuples(st.text(max_size=12), maybe_bytes), max_size=3)
records = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2**42),  # timestamps (ms), in any order
        maybe_bytes,
        maybe_bytes,
        headers,
    ),
    min_size=1,
    max_size=40,
)


def both(batch_size: int, transactional: bool = False) -> tuple[Any, Any]:
    return (
        BatchBuilder(batch_size, NO_COMPRESSION, is_transactional=transactional),
        native.RecordBatchWriter(batch_size, transactional=transactional),
    )


@settings(max_examples=300, deadline=None)
@given(
    records,
    st.none() | st.tuples(st.integers(0, 2**40), st.integers(0, 2**15 - 1), st.integers(0, 2**30)),
    st.booleans(),
)
def test_the_same_records_make_the_same_batch(
    rows: list[Any], producer_state: tuple[int, int, int] | None, transactional: bool
) -> None:
    theirs, ours = both(1_048_576, transactional)
    for timestamp, key, value, header_list in rows:
        expected = theirs.append(timestamp=timestamp, key=key, value=value, headers=header_list)
        got = ours.append(timestamp=timestamp, key=key, value=value, headers=header_list)
        assert (expected is None) == (got is None)
    if producer_state is not None:
        theirs._set_producer_state(*producer_state)
        ours._set_producer_state(*producer_state)
    assert ours.record_count() == theirs.record_count() == len(rows)
    assert ours.size() == theirs.size()
    built = ours._build()
    assert built == theirs._build()
    assert ours._build() is built  # a retry sends the very same bytes
    read = list(DefaultRecordBatch(built))
    assert DefaultRecordBatch(built).validate_crc()
    assert [(r.timestamp, r.key, r.value, list(r.headers)) for r in read] == [
        (t, k, v, h) for t, k, v, h in rows
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=30))
@example(value_sizes=[64, 64, 64, 67, 400, 400, 400, 400])  # would fill it to the byte
def test_a_batch_is_full_at_the_same_record_as_aiokafkas(value_sizes: list[int]) -> None:
    theirs, ours = both(2_000)
    for size in value_sizes:
        value = b"v" * size
        expected = theirs.append(timestamp=1_700_000_000_000, key=b"k", value=value)
        got = ours.append(timestamp=1_700_000_000_000, key=b"k", value=value)
        assert (expected is None) == (got is None)
        if got is None:
            assert ours.closed()
            break
    assert ours._build() == theirs._build()


def test_a_record_without_a_timestamp_is_stamped_now() -> None:
    import time

    before = int(time.time() * 1000)
    writer = native.RecordBatchWriter(1_048_576)
    writer.append(timestamp=None, key=None, value=b"x")
    (record,) = list(DefaultRecordBatch(writer._build()))
    assert before <= record.timestamp <= int(time.time() * 1000)


def test_the_output_batch_starts_a_new_record_batch_when_one_is_full() -> None:
    out = OutputBatch(None, {"decisions": 2}, lambda: native.RecordBatchWriter(1_000))  # type: ignore[arg-type]
    for n in range(20):
        out.add("decisions", 3, b"key", b"%03d" % n + b"x" * 200)
    assert out.records == 20
    batches = out.batches()
    assert {(topic, partition) for topic, partition, _ in batches} == {("decisions", 1)}
    values = [r.value for _, _, batch in batches for r in DefaultRecordBatch(batch._build())]
    assert values == [b"%03d" % n + b"x" * 200 for n in range(20)]
    assert len(batches) > 1
    assert out.batches() == []


PARTITIONS = {"decisions": 3, "audit": 2, "dlq": 1}
adds = st.lists(
    st.tuples(
        st.sampled_from(sorted(PARTITIONS)),
        st.integers(min_value=0, max_value=11),
        maybe_bytes,
        maybe_bytes,
        st.none() | headers,
    ),
    max_size=60,
)


def read_back(batches: list[tuple[str, int, Any]], limit: int) -> dict[tuple[str, int], list[Any]]:
    found: dict[tuple[str, int], list[Any]] = {}
    for topic, partition, batch in batches:
        batch.close()
        raw = batch._build()
        read = list(DefaultRecordBatch(raw))
        assert len(raw) <= limit or len(read) == 1  # only a lone record may overflow
        found.setdefault((topic, partition), []).extend(
            (r.key, r.value, [(k, v) for k, v in r.headers]) for r in read
        )
    return found


@settings(max_examples=200, deadline=None)
@given(adds)
def test_the_native_output_batches_hold_what_the_python_one_holds(added: list[Any]) -> None:
    """The loop's native ``add`` (``OutputBatches``) against the Python one filling the
    same writers: same records, in the same order, on the same topic partitions."""
    limit = 700  # small, so that partitions fill and roll over to new batches
    python = OutputBatch(None, PARTITIONS, lambda: native.RecordBatchWriter(limit))  # type: ignore[arg-type]
    compiled = native.OutputBatches(PARTITIONS, limit)
    for topic, partition, key, value, record_headers in added:
        python.add(topic, partition, key, value, record_headers)
        compiled.add(topic, partition, key, value, record_headers)
    assert compiled.records == python.records == len(added)
    assert read_back(compiled.take(), limit) == read_back(python.batches(), limit)
    assert compiled.take() == []


def test_the_native_output_batches_refuse_a_topic_they_do_not_know() -> None:
    compiled = native.OutputBatches({"decisions": 2}, 1_000)
    with pytest.raises(KeyError, match="audit"):
        compiled.add("audit", 0, None, b"x")
    with pytest.raises(ValueError, match="no partitions"):
        native.OutputBatches({"decisions": 0}, 1_000)


def test_the_loop_adds_through_the_native_batches() -> None:
    out = OutputBatch(None, {"decisions": 2})  # type: ignore[arg-type]
    assert out._native is not None and out.add == out._native.add
    out.add("decisions", 5, b"k", b"v")
    ((topic, partition, batch),) = out.batches()
    assert (topic, partition, out.records) == ("decisions", 1, 1)
    assert [r.value for r in DefaultRecordBatch(batch._build())] == [b"v"]
