"""Fetched records read by the native core instead of aiokafka's per-record Python.

aiokafka's fetcher reads each partition's fetched bytes through a Python generator that
checks each batch's CRC and makes a ``ConsumerRecord`` dataclass per record: 1.3-1.4 µs
a 750-byte entry in a 1 MB fetch on this project's machine, nearly a tenth of the
screening loop's thread. The native ``FetchedRecords`` reads the plain case
(uncompressed record batches of format v2, neither transactional nor control batches:
what the project's producers write) in 0.18 µs, checks the CRC too, and returns records
with every attribute of a ``ConsumerRecord`` (``topic``, ``partition``, ``offset``,
``timestamp``, ``key``, ``value``, ``headers``...). For any other fetched bytes, or a
consumer with key or value deserializers, aiokafka's own reader runs as before, errors
included.

:func:`install` has the fetcher make its ``PartitionRecords`` this way (aiokafka's own
class, untouched, for what the native reader leaves), and only after checking that
aiokafka is built the way this expects and that both readers give the same records for a
sample fetch; otherwise it leaves aiokafka as it is (an aiokafka upgrade can cost speed
here, not correctness). ``tests/unit/test_fetch_records.py`` compares the two readers on
generated fetches.
"""

from __future__ import annotations

import inspect
import logging
import struct
from typing import Any

from schemas.native_decoder import native_module

log = logging.getLogger(__name__)

# The parameters of aiokafka's PartitionRecords this was written against.
_PARTITION_RECORDS_PARAMETERS = (
    "self",
    "tp",
    "records",
    "aborted_transactions",
    "fetch_offset",
    "key_deserializer",
    "value_deserializer",
    "check_crcs",
    "isolation_level",
)
# aiokafka's own fetcher classes while the native reader is installed.
_ORIGINALS: dict[str, Any] = {}
# Fetched partition buffers read while the reader is installed, by which reader read them
# (the metric screening_fetches_read_total): aiokafka's count grows when producers
# compress or write transactions, which the native reader leaves to it.
READS: dict[str, int] = {"native": 0, "aiokafka": 0}
# What a reader is compared on.
_FIELDS = (
    "topic",
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "value",
    "checksum",
    "serialized_key_size",
    "serialized_value_size",
    "headers",
)


class KeptBuffer:
    """aiokafka's ``MemoryRecords`` for a fetched partition, with its bytes kept in reach
    (the compiled class does not show them)."""

    __slots__ = ("buffer", "has_next", "next_batch", "size_in_bytes")

    def __init__(self, data: bytes, memory_records: type[Any]) -> None:
        records = memory_records(data)
        self.buffer = data
        self.has_next = records.has_next
        self.next_batch = records.next_batch
        self.size_in_bytes = records.size_in_bytes


def _replacements(native: Any) -> tuple[Any, Any]:
    """The fetcher's two replacements: the buffer-keeping records, and what makes a
    partition's records (the native reader's when it reads the fetch, aiokafka's
    otherwise, untouched)."""
    from aiokafka.consumer import fetcher
    from aiokafka.record.memory_records import MemoryRecords

    base = fetcher.PartitionRecords

    def kept_buffer(data: bytes) -> KeptBuffer:
        return KeptBuffer(data, MemoryRecords)

    class NativePartitionRecords(base):  # type: ignore[misc, valid-type]
        """aiokafka's ``PartitionRecords`` over a native reader of the fetch."""

        def __init__(self, reader: Any, *arguments: Any) -> None:
            self._reader = reader  # before aiokafka's __init__ sets the fetch offset
            super().__init__(*arguments)
            self._records_iterator = reader

        # The reader keeps the position; aiokafka's fetcher reads it from here.
        @property
        def next_fetch_offset(self) -> int:
            offset: int = self._reader.next_fetch_offset
            return offset

        @next_fetch_offset.setter
        def next_fetch_offset(self, offset: int) -> None:
            self._reader.next_fetch_offset = offset

        def __iter__(self) -> Any:
            # FetchResult.getall loops over this: the native reader itself, with no Python
            # frame per record.
            return self._reader

    def partition_records(*arguments: Any) -> Any:
        # aiokafka's parameters (_PARTITION_RECORDS_PARAMETERS, checked at install)
        tp, records, _, fetch_offset, key_deserializer, value_deserializer, check_crcs, _ = (
            arguments
        )
        buffer = getattr(records, "buffer", None)
        reader = None
        if buffer is not None and key_deserializer is None and value_deserializer is None:
            reader = native.FetchedRecords.read(
                buffer, tp.topic, tp.partition, fetch_offset, check_crcs
            )
        READS["aiokafka" if reader is None else "native"] += 1
        if reader is None:
            return base(*arguments)
        return NativePartitionRecords(reader, *arguments)

    return kept_buffer, partition_records


def record_batch(
    base_offset: int,
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
    *,
    log_append_time: int | None = None,
    offset_deltas: list[int] | None = None,
    last_offset_delta: int | None = None,
) -> bytes:
    """A v2 record batch as a producer writes it (aiokafka's builder); with
    ``log_append_time``, as a broker with that timestamp type stamps it; with offset
    deltas that skip some or a last offset delta past the last record, as compaction
    leaves it."""
    from aiokafka.record.default_records import DefaultRecordBatchBuilder
    from aiokafka.record.util import calc_crc32c

    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    deltas = offset_deltas or list(range(len(records)))
    for delta, (key, value, headers) in zip(deltas, records, strict=True):
        builder.append(
            delta, timestamp=1_700_000_000_000 + delta, key=key, value=value, headers=headers
        )
    data = bytearray(builder.build())
    data[0:8] = struct.pack(">q", base_offset)
    # What follows rewrites header fields under the CRC, then the CRC.
    if log_append_time is not None:
        attributes = struct.unpack_from(">h", data, 21)[0] | 0x08
        struct.pack_into(">h", data, 21, attributes)
        struct.pack_into(">q", data, 35, log_append_time)
    if last_offset_delta is not None:
        struct.pack_into(">i", data, 23, last_offset_delta)
    struct.pack_into(">I", data, 17, calc_crc32c(bytes(data[21:])))
    return bytes(data)


def sample_fetch() -> tuple[bytes, int]:
    """Fetched bytes with what a reader must get right (keys and values present, empty
    and null; headers, one with a null value; a log-append-time batch; a trailing partial
    batch) and a fetch offset in the middle of the first batch."""
    first = record_batch(
        10,
        [
            (b"k0", b'{"a":1}', []),
            (None, b'{"a":2}', [("trace", b"t1"), ("empty", None)]),
            (b"k2", None, []),
            (b"", b"", [("x", b"")]),
        ],
    )
    second = record_batch(14, [(b"k4", b"v" * 700, [])], log_append_time=1_800_000_000_000)
    return first + second + first[:30], 11


def fields_of(record: Any) -> tuple[Any, ...]:
    """What two readers' records are compared on: every attribute of a ``ConsumerRecord``."""
    return tuple(getattr(record, name) for name in _FIELDS)


def read_all(partition_records: Any) -> tuple[list[tuple[Any, ...]], int]:
    """Every record a ``PartitionRecords`` gives (as :func:`fields_of`), the way
    ``FetchResult.getall`` takes them, and its final fetch offset."""
    records = [fields_of(r) for r in iter(partition_records)]
    return records, partition_records.next_fetch_offset


def install() -> bool:
    """Have aiokafka's fetcher read plain fetched batches natively, if the native core is
    installed, aiokafka is the one this was written against and both readers agree on a
    sample fetch; True if installed."""
    native = native_module()
    if native is None or not hasattr(native, "FetchedRecords"):
        return False
    try:
        from aiokafka.consumer import fetcher
        from aiokafka.structs import TopicPartition
    except ImportError:  # pragma: no cover - aiokafka is a dependency
        return False
    if "PartitionRecords" in _ORIGINALS:
        return True  # installed before
    original = fetcher.PartitionRecords
    parameters = tuple(inspect.signature(original.__init__).parameters)
    if parameters != _PARTITION_RECORDS_PARAMETERS or not hasattr(fetcher, "MemoryRecords"):
        log.info("aiokafka's fetched-record reader left as it is (not the layout expected)")
        return False
    kept_buffer, partition_records = _replacements(native)
    data, fetch_offset = sample_fetch()
    tp = TopicPartition("sample", 3)
    expected = read_all(
        original(tp, fetcher.MemoryRecords(data), [], fetch_offset, None, None, True, 0)
    )
    counted = dict(READS)  # the sample is not a fetch the metric should count
    reader = partition_records(tp, kept_buffer(data), [], fetch_offset, None, None, True, 0)
    READS.update(counted)
    if getattr(reader, "_reader", None) is None or read_all(reader) != expected:
        log.info("aiokafka's fetched-record reader left as it is (the readers differ)")
        return False
    _ORIGINALS.update(MemoryRecords=fetcher.MemoryRecords, PartitionRecords=original)
    fetcher.MemoryRecords = kept_buffer
    fetcher.PartitionRecords = partition_records
    return True


def uninstall() -> None:
    """Give aiokafka's fetcher its own reader back (the benchmark measures its ceiling
    with aiokafka as it comes)."""
    from aiokafka.consumer import fetcher

    for name, value in _ORIGINALS.items():
        setattr(fetcher, name, value)
    _ORIGINALS.clear()
