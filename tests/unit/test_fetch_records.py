"""The native reader of fetched records (streams/fetch_records.py) gives exactly the records
aiokafka's reader gives, and leaves to aiokafka every fetch it does not read the same way.

Property-generated fetches (batches of records with keys, values and header values
present, empty or null; log-append-time batches; a trailing partial batch; a fetch offset
anywhere, mid-batch included) are read by both, in chunks as ``FetchResult.getall`` takes
them, and compared attribute by attribute, with the next fetch offset after each chunk.
"""

from __future__ import annotations

import itertools
import os
import struct
from typing import Any

import pytest
from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.native_decoder import native_module
from streams import fetch_records
from streams.metrics import PipelineMetrics

if native_module() is None:
    if os.environ.get("ENTRY_SCREENING_REQUIRE_NATIVE") == "1":
        raise RuntimeError("the native core is required here but is not installed")
    pytest.skip("the native core is not installed (pip install ./native)", allow_module_level=True)

assert fetch_records.install()
NATIVE = fetcher.PartitionRecords  # what the fetcher now calls to make a partition's records
AIOKAFKA = fetch_records._ORIGINALS["PartitionRecords"]
KEPT_BUFFER = fetcher.MemoryRecords
TP = TopicPartition("entries.filed", 4)

maybe_bytes = st.none() | st.binary(max_size=200)
headers = st.lists(st.tuples(st.text(max_size=8), maybe_bytes), max_size=3)
record = st.tuples(maybe_bytes, maybe_bytes, headers)
batch = st.tuples(
    st.lists(st.tuples(record, st.integers(1, 3)), min_size=1, max_size=6),  # offset steps
    st.integers(0, 3),  # offsets compacted away after the last record
    st.none() | st.integers(0, 2**41),  # log-append time, or the producer's create time
)


def fetch_of(batches: list[Any], partial: int) -> bytes:
    """The batches written back to back from offset 100, each record ``step`` offsets
    after the one before (a step over 1: compacted away), and ``partial`` bytes of one
    more."""
    data, base = b"", 100
    for records, removed_tail, log_append_time in batches:
        deltas = list(itertools.accumulate(step for _, step in records))
        deltas = [d - deltas[0] for d in deltas]
        data += fetch_records.record_batch(
            base,
            [r for r, _ in records],
            log_append_time=log_append_time,
            offset_deltas=deltas,
            last_offset_delta=deltas[-1] + removed_tail,
        )
        base += deltas[-1] + removed_tail + 1
    tail = fetch_records.record_batch(base, [(b"k", b"v" * 50, [])])
    return data + tail[: min(partial, len(tail) - 1)]


def chunks(records: Any, chunk: int) -> list[Any]:
    """What the fetcher gets from ``records``: chunks of at most ``chunk`` records (as
    ``FetchResult.getall`` takes them), each with the next fetch offset after it."""
    got = []
    while True:
        taken = [fetch_records.fields_of(r) for r in itertools.islice(iter(records), chunk)]
        got.append((taken, records.next_fetch_offset))
        if len(taken) < chunk:
            return got


def read_natively(records: Any) -> bool:
    """Whether the native reader reads these records (aiokafka's class reads the rest)."""
    return type(records) is not AIOKAFKA


def aiokafkas(data: bytes, fetch_offset: int = 0, value_deserializer: Any = None) -> Any:
    return AIOKAFKA(TP, MemoryRecords(data), [], fetch_offset, None, value_deserializer, True, 0)


def natives(data: bytes, fetch_offset: int = 0, value_deserializer: Any = None) -> Any:
    return NATIVE(TP, KEPT_BUFFER(data), [], fetch_offset, None, value_deserializer, True, 0)


@settings(max_examples=300)
@given(
    batches=st.lists(batch, max_size=4),
    partial=st.integers(0, 80),
    start=st.integers(0, 60),
    chunk=st.integers(1, 8),
)
def test_the_native_reader_gives_aiokafkas_records_and_offsets(
    batches: list[Any], partial: int, start: int, chunk: int
) -> None:
    data = fetch_of(batches, partial)
    native = natives(data, 100 + start)
    assert read_natively(native)  # the native reader read it
    assert chunks(native, chunk) == chunks(aiokafkas(data, 100 + start), chunk)


def test_records_have_a_consumer_records_attributes() -> None:
    data, fetch_offset = fetch_records.sample_fetch()
    records = list(iter(natives(data, fetch_offset)))
    assert [r.offset for r in records] == [11, 12, 13, 14]  # from the fetch offset on
    second = records[0]
    assert (second.topic, second.partition, second.key, second.value) == (
        "entries.filed",
        4,
        None,
        b'{"a":2}',
    )
    assert second.headers == (("trace", b"t1"), ("empty", None))
    assert (second.serialized_key_size, second.serialized_value_size) == (-1, 7)
    assert second.checksum is None and second.timestamp_type == 0
    stamped = records[-1]  # the log-append-time batch: the broker's time for every record
    assert (stamped.timestamp, stamped.timestamp_type) == (1_800_000_000_000, 1)


def rewrite_crc(data: bytearray) -> bytes:
    struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


def compressed_batch() -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=1,  # gzip
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    builder.append(0, timestamp=1, key=b"k", value=b"v" * 40, headers=[])
    return bytes(builder.build())


def with_attributes(bits: int) -> bytes:
    data = bytearray(fetch_records.record_batch(0, [(b"k", b"v", [])]))
    struct.pack_into(">h", data, 21, struct.unpack_from(">h", data, 21)[0] | bits)
    struct.pack_into(">q", data, 43, 7)  # a producer id, as transactional batches have
    return rewrite_crc(data)


def with_magic(magic: int) -> bytes:
    data = bytearray(fetch_records.record_batch(0, [(b"k", b"v", [])]))
    data[16] = magic
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(compressed_batch(), id="compressed"),
        pytest.param(with_attributes(0x10), id="transactional"),
        pytest.param(with_attributes(0x20), id="control"),
        pytest.param(with_magic(1), id="older-format"),
    ],
)
def test_what_the_native_reader_does_not_read_is_left_to_aiokafka(data: bytes) -> None:
    native = natives(data)
    assert not read_natively(native)
    try:
        expected: Any = [r.value for r in aiokafkas(data)]
    except Exception as error:  # whatever aiokafka does, the reader does
        with pytest.raises(type(error)):
            list(native)
    else:
        assert [r.value for r in native] == expected


def test_a_corrupt_batch_raises_aiokafkas_error_after_the_good_ones() -> None:
    good = fetch_records.record_batch(0, [(b"k", b"v", [])])
    flipped = bytearray(fetch_records.record_batch(1, [(b"k", b"value", [])]))
    flipped[-3] ^= 0xFF  # a value byte: the CRC no longer matches
    bad_length = bytearray(fetch_records.record_batch(1, [(b"k", b"value", [])]))
    bad_length[61] = 0x7E  # the record's length varint: CRC rewritten, still wrong
    for corrupt in (bytes(flipped), rewrite_crc(bad_length)):
        native = natives(good + corrupt)
        assert not read_natively(native)
        records = iter(native)
        assert next(records).value == b"v"
        with pytest.raises(CorruptRecordException):
            next(records)


def test_a_consumer_with_deserializers_keeps_aiokafkas_reader() -> None:
    data, fetch_offset = fetch_records.sample_fetch()

    def upper(value: bytes | None) -> bytes | None:
        return value and value.upper()

    native = natives(data, fetch_offset, value_deserializer=upper)
    assert not read_natively(native)
    values = [r.value for r in native]
    assert values[0] == b'{"A":2}'
    assert values == [r.value for r in aiokafkas(data, fetch_offset, value_deserializer=upper)]


def test_install_is_idempotent_and_uninstall_gives_aiokafka_its_reader_back() -> None:
    assert fetch_records.install()
    installed = fetcher.PartitionRecords
    assert fetch_records.install()
    assert fetcher.PartitionRecords is installed
    fetch_records.uninstall()
    assert fetcher.PartitionRecords is AIOKAFKA
    assert fetcher.MemoryRecords is MemoryRecords
    assert fetch_records.install()
    assert fetcher.PartitionRecords is not AIOKAFKA
    assert [r.value for r in natives(compressed_batch())] == [b"v" * 40]


def test_reads_are_counted_by_reader_and_exposed_as_a_metric() -> None:
    before = dict(fetch_records.READS)
    natives(fetch_records.sample_fetch()[0])
    natives(compressed_batch())
    natives(compressed_batch())
    counted = {reader: fetch_records.READS[reader] - before[reader] for reader in before}
    assert counted == {"native": 1, "aiokafka": 2}
    exposed = {
        sample.labels["reader"]: sample.value
        for family in PipelineMetrics().registry.collect()
        if family.name == "screening_fetches_read"
        for sample in family.samples
    }
    assert exposed == fetch_records.READS
