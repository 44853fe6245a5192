"""Compacted topics mirrored into every worker: the registry and the reference data.

A :class:`TopicMirror` reads every partition of a compacted topic from the beginning (or,
with the RocksDB store, from where it stopped last time), says when it has caught up with
the topic's end as it was at start (``recovered``), then keeps applying new records. Every
worker holds the whole registry this way, so any worker can screen any entry.

Why not a Faust ``GlobalTable``: on the embedded broker a worker with a ``GlobalTable``
hung at partition assignment (a plain Faust ``Table`` and agents joined in about 4 s), and
faust-streaming's own docstring warns that global tables with several workers "may cause
an app to be stuck in an infinite recovery loop". Reading the topic directly with
aiokafka's ``getmany`` also restores a large registry in bulk instead of event by event.
The mirror runs as a service of the Faust app, like the screening loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, cast

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka import client_options
from streams.replay import partitions_of
from streams.settings import Settings

log = logging.getLogger(__name__)

Change = tuple[bytes, bytes | None]  # key, new value (None: deleted)


class MirrorStore(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def apply(self, changes: list[Change], offsets: dict[int, int]) -> None: ...
    def offsets(self) -> dict[int, int]: ...
    def items(self) -> Iterator[tuple[bytes, bytes]]: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...


class MemoryStore:
    """The default store: a dict. Starts empty, so the mirror reads the topic from the start."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def apply(self, changes: list[Change], offsets: dict[int, int]) -> None:
        data = self._data
        for key, value in changes:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    def offsets(self) -> dict[int, int]:
        return {}

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(list(self._data.items()))

    def __len__(self) -> int:
        return len(self._data)

    def close(self) -> None:
        self._data.clear()


class RocksStore:
    """RocksDB on local disk (``pip install entry-screening[rocksdb]``), for registries too big
    for memory. It keeps the next offset of each partition, so a restart reads only what
    changed while the worker was down."""

    _OFFSET_PREFIX = b"\x00offset:"
    _COUNT_KEY = b"\x00count"

    def __init__(self, path: Path) -> None:
        from rocksdict import Rdict  # optional dependency

        path.mkdir(parents=True, exist_ok=True)
        self._db = Rdict(str(path))
        raw_count = self._db.get(self._COUNT_KEY)
        self._count = int(raw_count) if raw_count is not None else 0

    def get(self, key: bytes) -> bytes | None:
        value = self._db.get(key)
        return value if value is None else bytes(value)

    def apply(self, changes: list[Change], offsets: dict[int, int]) -> None:
        from rocksdict import WriteBatch

        batch = WriteBatch()
        pending: dict[bytes, bytes | None] = {}
        for key, value in changes:
            existed = (
                (pending[key] is not None) if key in pending else self._db.get(key) is not None
            )
            if value is None:
                batch.delete(key)
                self._count -= existed
            else:
                batch.put(key, value)
                self._count += not existed
            pending[key] = value
        for partition, offset in offsets.items():
            batch.put(self._OFFSET_PREFIX + str(partition).encode(), str(offset).encode())
        batch.put(self._COUNT_KEY, str(self._count).encode())
        self._db.write(batch)

    def offsets(self) -> dict[int, int]:
        found = {}
        for key, value in self._db.items(from_key=self._OFFSET_PREFIX):
            # Keys and values are always bytes here: this store writes nothing else.
            name, number = cast(bytes, key), cast(bytes, value)
            if not name.startswith(self._OFFSET_PREFIX):
                break
            found[int(name[len(self._OFFSET_PREFIX) :])] = int(number)
        return found

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._db.items():
            name = cast(bytes, key)
            if not name.startswith(b"\x00"):
                yield name, cast(bytes, value)

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        self._db.close()


def make_store(settings: Settings, name: str) -> MirrorStore:
    if settings.table_store == "rocksdb":
        return RocksStore(settings.data_dir / f"{name}.rocksdb")
    return MemoryStore()


class TopicMirror:
    """Follows one compacted topic into a store; ``recovered`` is set once caught up."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        store: MirrorStore,
        *,
        on_change: Callable[[list[Change]], None] | None = None,
        topic_wait_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.store = store
        # Called with every applied batch of changes, during recovery too.
        self.listeners: list[Callable[[list[Change]], None]] = [on_change] if on_change else []
        self.recovered = asyncio.Event()
        self.version = 0  # bumped on every applied batch, so readers can notice change
        self.last_record_ms: int | None = None
        self.recovery_seconds: float | None = None
        self._topic_wait_seconds = topic_wait_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def get(self, key: bytes) -> bytes | None:
        return self.store.get(key)

    def __len__(self) -> int:
        return len(self.store)

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_options(self.settings, role=f"mirror-{self.topic}"),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1_048_576,
        )
        await consumer.start()
        self._consumer = consumer
        partitions = await self._partitions(consumer)
        tps = [TopicPartition(self.topic, p) for p in partitions]
        consumer.assign(tps)
        stored = self.store.offsets()
        for tp in tps:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        targets = await consumer.end_offsets(tps)
        self._task = asyncio.create_task(
            self._follow(consumer, targets), name=f"mirror:{self.topic}"
        )

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[int]:
        deadline = time.monotonic() + self._topic_wait_seconds
        while True:
            partitions = await partitions_of(consumer, self.topic)
            if partitions:
                return sorted(partitions)
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"topic {self.topic!r} does not exist: run `entry-screening topics create`"
                )
            await asyncio.sleep(0.5)

    async def _follow(self, consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> None:
        """Apply every record, for ever; ``recovered`` once each partition's position has
        reached its end at start. That end is the larger of the ListOffsets answer and the
        first high-water mark fetched: the embedded broker answers ListOffsets with the last
        batch's base offset + 1 (see streams/replay.py)."""
        started = time.monotonic()
        pending = dict(targets)
        corrected: set[TopicPartition] = set()
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=50_000)
            for tp, records in batch.items():
                changes = [(r.key, r.value) for r in records if r.key is not None]
                self.apply(changes, {tp.partition: records[-1].offset + 1})
                self.last_record_ms = max(self.last_record_ms or 0, records[-1].timestamp)
            if not self.recovered.is_set():
                for tp in list(pending):
                    highwater = consumer.highwater(tp)
                    if tp not in corrected and highwater is not None:
                        pending[tp] = max(pending[tp], highwater)
                        corrected.add(tp)
                    if tp in corrected and await consumer.position(tp) >= pending[tp]:
                        del pending[tp]
                if not pending:
                    self._mark_recovered(started)

    def apply(self, changes: list[Change], offsets: dict[int, int]) -> None:
        """Store a batch of changes and the positions they reach, then tell the listeners
        (the views that cache what they decoded from the store)."""
        self.store.apply(changes, offsets)
        self.version += 1
        if changes:
            for listener in self.listeners:
                listener(changes)

    def _mark_recovered(self, started: float) -> None:
        self.recovery_seconds = time.monotonic() - started
        log.info(
            "mirror recovered",
            extra={
                "topic": self.topic,
                "records": len(self.store),
                "seconds": round(self.recovery_seconds, 3),
            },
        )
        self.recovered.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        self.store.close()
